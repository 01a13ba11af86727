"""``lossmask check SPEC``: score a mask generator against the golden fixtures.

SPEC is ``reference``, an entry point in group ``lossmask.generators``, ``module:function``,
``path/to/file.py:function`` or ``jsonl:COMMAND ...``. Exit 0 when no case fails (declined cases and agreed
template refusals are not failures, nor passes), 1 when any case fails or could not be judged, 2 for usage
errors (unknown generator, family, case or profile).
"""

from __future__ import annotations

import argparse
import os
from collections import Counter, defaultdict

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from ..console import make_console

CATEGORIES = ("single_turn", "multi_turn", "tool_call", "adversarial")
VERDICT_STYLE = {"pass": "green", "unsupported": "yellow", "refused_agree": "cyan", "not_judged": "magenta", "mask_mismatch": "red", "token_divergence": "red",
                 "length_mismatch": "red", "invalid_output": "red", "error": "red", "timeout": "red"}


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("check", help="score a mask generator against the golden fixtures", description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("spec", metavar="SPEC", nargs="?", default=os.environ.get("LOSSMASK_GENERATOR", "reference"),
                   help="the generator (default: $LOSSMASK_GENERATOR or reference)")
    p.add_argument("--profile", help="compare under this profile (default: the one the generator claims)")
    p.add_argument("--family", action="append", help="only this family (repeatable)")
    p.add_argument("--category", action="append", help="only this category (repeatable)")
    p.add_argument("--case", action="append", dest="cases", help="only this case id (repeatable)")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds per case before the generator is stopped")
    p.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1), help="generator processes in parallel")
    p.add_argument("--json-report", metavar="PATH", help="write the JSON report here")
    p.add_argument("--junit", metavar="PATH", help="write JUnit XML here")
    p.add_argument("--html", metavar="PATH", help="write a self-contained HTML page here")
    p.add_argument("--details", type=int, default=20, help="failing cases to explain in the terminal (default 20)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..runner import Selection, reports
    from ..runner import run as run_generator
    from ..runner.html_report import write_html

    console = make_console()
    sel = Selection(args.family, args.category, args.cases)
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.fields[last]}"), TimeRemainingColumn(), console=make_console(stderr=True),
                  transient=True) as progress:
        task = progress.add_task(f"checking {args.spec}", total=None, last="")

        def tick(result) -> None:
            progress.update(task, advance=1, last=f"{result.family}/{result.variant} {result.case}")

        from ..runner.engine import select

        progress.update(task, total=len(select(sel)))
        outcome = run_generator(args.spec, sel, args.profile, args.timeout, args.jobs, tick)
    if args.json_report:
        reports.write_json(outcome, args.json_report)
    if args.junit:
        reports.write_junit(outcome, args.junit)
    if args.html:
        write_html(outcome, args.html)
    _print(console, outcome, args.details)
    return 1 if any(r.failed for r in outcome.results) else 0


def _print(console: Console, outcome, details: int) -> None:
    from ..compare import Tally, Verdict

    gen = outcome.generator
    by: dict[str, dict[str, Tally]] = defaultdict(lambda: defaultdict(Tally))
    for r in outcome.results:
        by[f"{r.family}/{r.variant}"][r.category].add(r.verdict)
        by[f"{r.family}/{r.variant}"]["*"].add(r.verdict)
    table = Table(title=f"{gen['name']} {gen['version']} · profile {outcome.profile} · cells: passed/ran",
                  title_justify="left")
    table.add_column("family/variant")
    for c in CATEGORIES:
        table.add_column(c, justify="right")
    table.add_column("declined", justify="right")
    table.add_column("refused like template", justify="right")
    for label, cats in by.items():
        cells = []
        for c in CATEGORIES:
            t = cats.get(c)
            if t is None:
                cells.append("")
            elif not t.ran:
                cells.append("[yellow]–[/]")  # every record declined: nothing ran, nothing passed
            else:
                cells.append(f"[{'red' if t.failed or t.not_judged else 'green'}]{t.cell()}[/]")
        row = cats["*"]
        table.add_row(label, *cells, f"[yellow]{row.declined}[/]" if row.declined else "",
                      str(row.refused_agree) if row.refused_agree else "")
    console.print(table)
    failing = [r for r in outcome.results if r.failed]
    for r in failing[:details]:
        style = VERDICT_STYLE.get(r.verdict, "red")
        o = r.outcome
        console.print(f"[{style}]{r.verdict}[/] {r.family}/{r.variant} [bold]{r.case}[/] ({r.category}): {r.message}",
                      highlight=False, soft_wrap=True)
        for row in o.context[:6]:
            console.print(f"    #{row.index:<5} {row.piece!r:<20} {row.segment:<22} expected {row.expected} "
                          f"got {row.actual}", highlight=False)
        if o.verdict is Verdict.TOKEN_DIVERGENCE and o.context_start is not None:
            console.print(f"    from #{o.context_start}: expected {list(o.expected_tokens)!r}", highlight=False)
            console.print(f"    {' ' * len(str(o.context_start))}        got      {list(o.actual_tokens)!r}",
                          highlight=False)
    if len(failing) > details:
        console.print(f"... and {len(failing) - details} more failing cases (see --json-report / --html)")
    total = Tally.of(r.verdict for r in outcome.results)
    line = ", ".join(f"[{VERDICT_STYLE.get(v, 'red')}]{n} {v}[/]" for v, n in total.verdicts.most_common())
    console.print(f"{total.total} cases in {outcome.seconds:.1f} s: {total.passed} passed of {total.ran} that ran "
                  f"({total.declined} declined, {total.refused_agree} refused like the template); {line}",
                  highlight=False)
