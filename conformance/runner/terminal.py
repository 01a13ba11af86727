"""What ``lossmask check`` prints: the template x category table, the failures grouped by cause (records,
templates, one example each), then the detail of a limited number of failing cases, then one line of counts.

Why causes before cases: 500 failing records usually have three or four causes; a maintainer fixes causes, so
the terminal says "190 records, 7 templates: supervises the role header" before any single case. The detail
shows the first case of each cause before the rest, so even a short ``--max-failures`` covers every cause.
"""

from __future__ import annotations

from collections import defaultdict

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..compare import Tally, Verdict
from . import case_text
from .case_text import count_of
from .causes import CauseGroup, environment_findings, failure_groups, part_counts
from .engine import Run
from .verdict import Result

CATEGORIES = ("single_turn", "multi_turn", "tool_call", "adversarial")
VERDICT_STYLE = {Verdict.PASS: "green", Verdict.UNSUPPORTED: "yellow", Verdict.REFUSED_AGREE: "cyan",
                 Verdict.ENVIRONMENT: "magenta"}


def style(verdict: str, failed: bool) -> str:
    return VERDICT_STYLE.get(Verdict(verdict), "red" if failed else "cyan")


def print_run(console: Console, run: Run, max_failures: int) -> None:
    console.print(template_table(run))
    print_environment(console, run)
    groups = failure_groups(run.results)
    if groups:
        console.print(cause_table(groups))
        parts = part_counts(groups)
        if len(parts) > 1:
            console.print("by part (a record counts under each part it gets wrong): " + "; ".join(
                f"{p.title} {p.records} ({count_of(p.templates, 'template')})" for p in parts), highlight=False)
        shown = detail_order(groups, run.results)[:max(0, max_failures)]
        for r in shown:
            print_case(console, r)
        hidden = sum(len(g.results) for g in groups) - len(shown)
        if hidden > 0:
            console.print(f"... and {hidden} more failing cases (--max-failures N shows more; --html PATH shows all)",
                          highlight=False)
    total = Tally.of(r.verdict for r in run.results)
    line = Text(f"{total.total} cases in {run.seconds:.1f} s: {total.passed} passed of {total.ran} that ran "
                f"({total.declined} declined, {total.refused_agree} refused like the template); ")
    for i, (v, n) in enumerate(total.verdicts.most_common()):
        if i:
            line.append(", ")
        line.append(f"{n} {v}", style=style(v, v.failed))
    console.print(line)


def print_environment(console: Console, run: Run) -> None:
    """One line per family the environment check flagged, with how many records it explains."""
    for f in environment_findings(run):
        console.print(Text("environment ", style="magenta") + Text(
            f"{f.summary}; {count_of(f.records, 'record')} judged `environment` (`lossmask doctor`: the fix)"),
            soft_wrap=True)


def template_table(run: Run) -> Table:
    """Per template and category ``passed/ran`` (counting rules: a declined case is not in ran, an agreed
    template refusal is in ran but never in passed); ``–`` where every case was declined."""
    gen = run.generator
    by: dict[str, dict[str, Tally]] = defaultdict(lambda: defaultdict(Tally))
    for r in run.results:
        by[f"{r.family}/{r.variant}"][r.category].add(r.verdict)
        by[f"{r.family}/{r.variant}"]["*"].add(r.verdict)
    table = Table(title=f"{gen['name']} {gen['version']} · profile {run.profile} · cells: passed/ran",
                  title_justify="left")
    table.add_column("family/variant")
    for c in CATEGORIES:
        table.add_column(c, justify="right")
    table.add_column("declined", justify="right")
    table.add_column("refused like template", justify="right")
    for label, cats in by.items():
        cells: list = []
        for c in CATEGORIES:
            t = cats.get(c)
            if t is None:
                cells.append("")
            elif not t.ran:
                cells.append(Text("–", style="yellow"))  # every case declined: nothing ran, nothing passed
            else:
                cells.append(Text(t.cell(), style="red" if t.failed or t.not_judged else "green"))
        row = cats["*"]
        table.add_row(label, *cells, Text(str(row.declined), style="yellow") if row.declined else "",
                      str(row.refused_agree) if row.refused_agree else "")
    return table


def cause_table(groups: list[CauseGroup]) -> Table:
    failing = sum(len(g.results) for g in groups)
    apart = Tally.of(r.verdict for g in groups for r in g.results)
    title = f"{count_of(failing, 'failing record')}, {count_of(len(groups), 'cause')}"
    if apart.environment or apart.not_judged:
        title += (f" ({apart.failed} the generator's, {apart.environment} explained by the environment, "
                  f"{apart.not_judged} not judged by the harness)")
    table = Table(title=title, title_justify="left")
    table.add_column("records", justify="right")
    table.add_column("templates", justify="right")
    table.add_column("cause", overflow="fold")
    table.add_column("example", overflow="fold")
    for g in groups:
        first = g.results[0]
        profile = g.profiles.most_common(1)
        title = Text(g.cause.verdict, style="red").append(" " + g.cause.title, style="default")
        if profile:
            title.append(f" (= profile {profile[0][0]})", style="dim")
        table.add_row(str(len(g.results)), str(len(g.templates)), title,
                      f"{first.family}/{first.variant} {first.case}")
    return table


def detail_order(groups: list[CauseGroup], results: list[Result]) -> list[Result]:
    """The first case of each cause, then every other failing case in the order the run produced them."""
    firsts = [g.results[0] for g in groups]
    chosen = {id(r) for r in firsts}
    return firsts + [r for r in results if r.failed and id(r) not in chosen]


def print_case(console: Console, r: Result) -> None:
    head = Text(r.verdict, style=style(r.verdict, r.failed))
    head.append(f" {r.family}/{r.variant} ").append(r.case, style="bold").append(f" ({r.category}): {r.message}")
    console.print(head, soft_wrap=True)
    for line in case_text.context_lines(r):
        console.print(Text("    " + line), soft_wrap=True)
