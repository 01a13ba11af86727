"""Failures grouped by cause: "supervises the role header and the separator after end-of-turn: 136 records,
8 templates" instead of 136 lines one by one.

Why a module of its own: the terminal summary, the HTML page, the JSON report and the tests must agree on what a
cause is, so it is decided once, here, from the typed fields of each result's comparison (the verdict, the parts
over and under supervised, how the supervised text differs) and never from the one-line message a person reads.
The only text a cause carries verbatim is a generator's own error message, compared whole, never parsed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ..compare import Answered, Outcome, Verdict
from ..compare.explain import phrase
from .verdict import Result


class Divergence(StrEnum):
    """How a token divergence changes what is trained on (from the supervised-text diff)."""

    REFUSED = "refused"  # the template refuses the conversation; the generator returned tokens anyway
    EXTRA_TEXT = "extra_text"  # supervised text the render does not contain
    MISSING_TEXT = "missing_text"  # supervised text of the render the generator does not supervise
    BOTH = "both"
    TOKENS_ONLY = "tokens_only"  # the same supervised text, tokenized differently


DIVERGENCE_TITLES = {
    Divergence.REFUSED: "returns tokens for a conversation the template refuses",
    Divergence.EXTRA_TEXT: "token stream differs from the render and trains on text the render does not contain",
    Divergence.MISSING_TEXT: "token stream differs from the render and misses supervised text the render has",
    Divergence.BOTH: "token stream differs from the render; supervised text differs both ways",
    Divergence.TOKENS_ONLY: "token stream differs from the render; same supervised text, tokenized differently",
}
VERDICT_TITLES = {
    "length_mismatch": "returns a mask and ids of different lengths", "invalid_output": "returns invalid output",
    "timeout": "does not answer within the deadline", "unsupported": "declines",
    "not_judged": "could not be judged by the harness", "refused_agree": "raises where the template refuses",
    "environment": "differs exactly as this transformers makes the record differ (the environment, not the generator)",
}


@dataclass(frozen=True, order=True)
class Cause:
    """What went wrong, as a value: two results with equal causes are fixed by the same change."""

    verdict: str
    #: Segment labels the generator supervises that the profile does not (mask mismatch), sorted.
    over: tuple[str, ...] = ()
    #: Segment labels the profile supervises that the generator does not (mask mismatch), sorted.
    under: tuple[str, ...] = ()
    divergence: Divergence | None = None
    #: The generator's own words (errors and declines), verbatim.
    said: str = ""
    #: What the generator did (:class:`~lossmask.compare.Answered`) where one verdict covers several: an ``error``
    #: is an exception it raised or its process failing (a crash, a broken protocol).
    answered: str = ""

    @property
    def title(self) -> str:
        if self.verdict == "mask_mismatch":
            clauses = []
            if self.over:
                clauses.append("supervises " + _and(phrase(p) for p in self.over))
            if self.under:
                clauses.append("does not supervise " + _and(phrase(p) for p in self.under))
            return "; ".join(clauses) or "mask differs"
        if self.divergence is not None:
            return DIVERGENCE_TITLES[self.divergence]
        if self.verdict == "error":
            return f"the generator process fails: {self.said}" if self.answered == Answered.CRASHED else f"raises {self.said}"
        title = VERDICT_TITLES.get(self.verdict, self.verdict)
        return f"{title}: {self.said}" if self.said else title


def _and(items: Iterable[str]) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def cause_of(result: Result) -> Cause:
    """The cause of one result, from its typed comparison fields."""
    o = result.outcome
    if o.verdict is Verdict.MASK_MISMATCH:
        return Cause(o.verdict.value, tuple(sorted(o.over_supervised)), tuple(sorted(o.under_supervised)))
    if o.verdict is Verdict.TOKEN_DIVERGENCE:
        return Cause(o.verdict.value, divergence=_divergence(o))
    if o.verdict in (Verdict.ERROR, Verdict.UNSUPPORTED, Verdict.NOT_JUDGED, Verdict.REFUSED_AGREE):
        return Cause(o.verdict.value, said=o.generator_message or o.message,
                     answered=o.answer.value if o.verdict is Verdict.ERROR and o.answer else "")
    if o.verdict is Verdict.ENVIRONMENT:
        return Cause(o.verdict.value, said=(o.environment or ("",))[0])
    return Cause(o.verdict.value)


def _divergence(o: Outcome) -> Divergence:
    if o.golden == "refused" or o.first_difference is None:
        return Divergence.REFUSED
    extra = any(op.actual for op in o.supervised_text_diff)
    missing = any(op.expected for op in o.supervised_text_diff)
    if extra and missing:
        return Divergence.BOTH
    return Divergence.EXTRA_TEXT if extra else Divergence.MISSING_TEXT if missing else Divergence.TOKENS_ONLY


@dataclass(frozen=True)
class CauseGroup:
    """Every result with one cause, in run order; ``slug`` names it in pages and reports."""

    slug: str
    cause: Cause
    results: tuple[Result, ...]

    @property
    def templates(self) -> list[str]:
        return sorted({f"{r.family}/{r.variant}" for r in self.results})

    @property
    def by_template(self) -> list[tuple[str, list[Result]]]:
        """The group's results per template (``family/variant``), in run order."""
        out: dict[str, list[Result]] = {}
        for r in self.results:
            out.setdefault(f"{r.family}/{r.variant}", []).append(r)
        return list(out.items())

    @property
    def profiles(self) -> Counter[str]:
        """How often each shipped profile matches the generator's mask in this group (mask mismatch)."""
        return Counter(r.outcome.matching_profiles[0] for r in self.results if r.outcome.matching_profiles)

    def to_json(self) -> dict:
        return {"cause": self.slug, "verdict": self.cause.verdict, "title": self.cause.title,
                "records": len(self.results), "templates": self.templates,
                "over_supervised": list(self.cause.over), "under_supervised": list(self.cause.under),
                "divergence": self.cause.divergence.value if self.cause.divergence else None,
                "answered": self.cause.answered,
                "cases": [f"{r.family}/{r.variant}/{r.case}" for r in self.results]}


def group(results: Sequence[Result], prefix: str = "cause") -> list[CauseGroup]:
    """``results`` grouped by cause, most records first (ties by title), slugs ``prefix-1``, ``prefix-2``..."""
    by: dict[Cause, list[Result]] = {}
    for r in results:
        by.setdefault(cause_of(r), []).append(r)
    ordered = sorted(by.items(), key=lambda kv: (-len(kv[1]), kv[0].title))
    return [CauseGroup(f"{prefix}-{i}", cause, tuple(rs)) for i, (cause, rs) in enumerate(ordered, 1)]


@dataclass(frozen=True)
class PartCount:
    """How many failing records supervise (``over``) or miss (``under``) one part, across all causes."""

    direction: str  # over | under
    part: str
    records: int
    templates: int

    @property
    def title(self) -> str:
        return ("supervises " if self.direction == "over" else "does not supervise ") + phrase(self.part)


def part_counts(groups: Sequence[CauseGroup]) -> list[PartCount]:
    """Per part over- or under-supervised, the records and templates concerned (a record counts under each of
    its parts, so these counts overlap; the groups themselves do not)."""
    seen: dict[tuple[str, str], list[Result]] = {}
    for g in groups:
        for direction, parts in (("over", g.cause.over), ("under", g.cause.under)):
            for part in parts:
                seen.setdefault((direction, part), []).extend(g.results)
    out = [PartCount(d, p, len(rs), len({(r.family, r.variant) for r in rs})) for (d, p), rs in seen.items()]
    return sorted(out, key=lambda c: (-c.records, c.direction, c.part))


def failure_groups(results: Sequence[Result]) -> list[CauseGroup]:
    return group([r for r in results if r.failed], "cause")


def decline_groups(results: Sequence[Result]) -> list[CauseGroup]:
    return group([r for r in results if r.verdict is Verdict.UNSUPPORTED], "declined")


@dataclass(frozen=True)
class EnvironmentFinding:
    """One family the environment check flagged: its one-line finding and the records judged ``environment``."""

    family: str
    summary: str
    records: int


def environment_findings(run: Any) -> list[EnvironmentFinding]:
    """What the run's environment check (:class:`lossmask.environment.Environment`) found wrong, per family, with
    how many of the run's records it explains; empty when it found nothing or none ran. The terminal and the
    HTML page print these same lines."""
    env = run.environment
    if env is None or env.ok:
        return []
    return [EnvironmentFinding(h.family, h.summary(env.versions),
                               sum(r.verdict is Verdict.ENVIRONMENT for r in run.results if r.family == h.family))
            for h in env.families if not h.ok]
