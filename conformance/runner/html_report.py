"""The HTML report of a run: one self-contained page a maintainer navigates (``templates/report.html.j2``).

The summary says what failed and why: failures grouped by cause (:mod:`.causes`) with every failing case one
link away, and a template x category table whose cells link to their cases. Each failing case is a collapsible
``<details>`` showing what :mod:`.html_view` makes of it. The page has no external resources and works without
JavaScript; a small inline script only filters cases and opens the one a link points at.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import jinja2

from .. import golden as G
from ..atomic import write_text
from ..compare import Answered, Outcome, Tally, Verdict
from ..compare.outcome import NOT_THE_GENERATORS
from ..errors import CaseError
from . import html_view
from .case_text import count_of
from .causes import CauseGroup, decline_groups, environment_findings, failure_groups, part_counts
from .engine import Run
from .reports import summary
from .verdict import FAILING, Result

CATEGORIES = ("single_turn", "multi_turn", "tool_call", "adversarial")
#: Up to this many failing cases, every case is open when the page loads.
OPEN_UP_TO = 12


@dataclass
class CaseView:
    anchor: str
    result: Result
    group: CauseGroup
    render: html_view.RenderView | None = None
    divergence: html_view.DivergenceView | None = None
    #: Why a case shows no render (its golden could not be read), or the template's refusal.
    note: str = ""

    @property
    def uses(self) -> set[str]:
        view = self.render or self.divergence
        return view.uses if view else set()


@dataclass
class Cell:
    """One template x category cell under the counting rules: ``passed/ran``, ``–`` when nothing ran."""

    passed: int
    ran: int
    total: int
    failed: int
    anchor: str | None


def anchor(*parts: str) -> str:
    """An id from names: characters outside ``[A-Za-z0-9_.-]`` become ``_`` (ids and fragments stay plain)."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", "-".join(parts))


def case_anchor(r: Result) -> str:
    return anchor("c", r.family, r.variant, r.case)


def _case_view(r: Result, group: CauseGroup) -> CaseView:
    view = CaseView(case_anchor(r), r, group)
    o = r.outcome
    if o.verdict is Verdict.TOKEN_DIVERGENCE and o.first_difference is not None:
        view.divergence = html_view.divergence(o)
    elif o.verdict is Verdict.MASK_MISMATCH and o.actual_mask is not None:
        try:
            record = G.load_record(r.family, r.variant, r.case)
            expected = record.mask(r.profile)
        except CaseError as exc:
            view.note = f"the render cannot be shown: {exc}"
        else:
            view.render = html_view.mask_render(record, expected, list(o.actual_mask))
    return view


def page_model(run: Run) -> dict:
    results = run.results
    failures = failure_groups(results)
    cases = [_case_view(r, g) for g in failures for r in g.results]
    order = {(r.family, r.variant, r.case): i for i, r in enumerate(results)}
    cases.sort(key=lambda c: order[c.result.family, c.result.variant, c.result.case])
    templates = list(dict.fromkeys((r.family, r.variant) for r in results))
    table = {}
    for fam, var in templates:
        row = {}
        for cat in CATEGORIES:
            rs = [r for r in results if (r.family, r.variant, r.category) == (fam, var, cat)]
            bad = [r for r in rs if r.failed]
            t = Tally.of(r.verdict for r in rs)
            row[cat] = Cell(t.passed, t.ran, t.total, len(bad), anchor("t", fam, var, cat) if bad else None)
        table[f"{fam}/{var}"] = row
    sections: dict[str, dict[str, list[CaseView]]] = {}
    for c in cases:
        r = c.result
        sections.setdefault(f"{r.family}/{r.variant}", {}).setdefault(r.category, []).append(c)
    uses = set().union(*(c.uses for c in cases)) if cases else set()
    return {"run": run, "summary": summary(run), "failures": failures, "parts": part_counts(failures), "declines": decline_groups(results),
            "table": table, "categories": CATEGORIES, "sections": sections, "cases": cases, "uses": uses,
            "open_all": len(cases) <= OPEN_UP_TO, "failing": FAILING, "anchor": anchor, "case_anchor": case_anchor,
            "not_the_generators": NOT_THE_GENERATORS,
            "environment": environment_findings(run),
            "passed": [r for r in results if r.verdict is Verdict.PASS],
            "other": [r for r in results if not r.failed and r.verdict not in {Verdict.PASS, Verdict.UNSUPPORTED}]}


#: What the generator did, for a case that has no mask to show (read from the typed answer, never the message).
ANSWERED = {
    Answered.RAISED: "the generator raised", Answered.CRASHED: "the generator process failed",
    Answered.TIMED_OUT: "the generator did not answer in time", Answered.INVALID: "the generator returned invalid output",
    Answered.WRONG_LENGTH: "the generator returned a mask and ids of different lengths",
    Answered.RETURNED: "the generator returned tokens", Answered.DECLINED: "the generator declined",
}
GOLDEN = {"rendered": "the template renders this conversation", "refused": "the template refuses this conversation"}


def answered_phrase(o: Outcome) -> str:
    """``the generator raised; the template renders this conversation``: the answer kind and the golden's outcome;
    for ``not_judged`` and ``environment``, who the verdict is about."""
    if o.verdict is Verdict.NOT_JUDGED:
        return "the harness could not judge this case (not counted for or against the generator)"
    parts = [ANSWERED.get(o.answer, "no answer") if o.answer else "no answer"]
    if o.golden in GOLDEN:
        parts.append(GOLDEN[o.golden])
    if o.verdict is Verdict.ENVIRONMENT:
        parts.append("the installed transformers makes the record differ exactly so (not the generator's failure)")
    return "; ".join(parts)


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("lossmask.runner", "templates"),
                             autoescape=True, trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    env.filters["count_of"] = count_of
    env.globals["answered_phrase"] = answered_phrase
    return env



def render_html(run: Run) -> str:
    return _environment().get_template("report.html.j2").render(page_model(run))


def write_html(run: Run, path: str | Path) -> None:
    write_text(Path(path), render_html(run))
