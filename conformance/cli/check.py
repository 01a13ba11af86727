"""``lossmask check SPEC``: score a mask generator against the golden fixtures.

SPEC is ``reference``, an entry point in group ``lossmask.generators``, ``module:function``,
``path/to/file.py:function`` or ``jsonl:COMMAND ...``. Exit 0 when every case passes (or is declined), 1 when
any case fails, 2 for usage errors (unknown generator, family, case or profile).
"""

from __future__ import annotations

import argparse
import os
from collections import Counter, defaultdict

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from ..console import make_console
from ..runner.limits import add_limit_args, from_args

VERDICT_STYLE = {"pass": "green", "unsupported": "yellow", "mask_mismatch": "red", "token_divergence": "red",
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
    add_limit_args(p, "seconds a case may take, from the moment it is handed to the generator, before the "
                   "process is stopped (default 60)")
    p.add_argument("--jobs", type=_jobs, default=min(2, os.cpu_count() or 1), help="generator processes in parallel")
    p.add_argument("--json-report", metavar="PATH", help="write the JSON report here")
    p.add_argument("--junit", metavar="PATH", help="write JUnit XML here")
    p.add_argument("--html", metavar="PATH", help="write a self-contained HTML page here")
    p.add_argument("--details", type=int, default=20, help="failing cases to explain in the terminal (default 20)")
    p.set_defaults(run=run)


def _jobs(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: at least 1")
    return value


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
        outcome = run_generator(args.spec, sel, args.profile, args.timeout, args.jobs, tick, limits=from_args(args))
    if args.json_report:
        reports.write_json(outcome, args.json_report)
    if args.junit:
        reports.write_junit(outcome, args.junit)
    if args.html:
        write_html(outcome, args.html)
    _print(console, outcome, args.details)
    harness = [r for r in outcome.results if "harness_error" in r.details]
    if harness:
        first = harness[0]
        console.print(f"[red]harness error[/]: lossmask itself failed while judging {len(harness)} case(s) "
                      f"(first {first.family}/{first.variant} {first.case}: {first.details['harness_error']})",
                      highlight=False, soft_wrap=True)
    return 1 if any(r.failed for r in outcome.results) else 0


def _print(console: Console, outcome, details: int) -> None:
    gen = outcome.generator
    by = defaultdict(Counter)
    categories = ["single_turn", "multi_turn", "tool_call", "adversarial"]
    for r in outcome.results:
        by[f"{r.family}/{r.variant}"][r.category, r.failed] += 1
    table = Table(title=f"{gen['name']} {gen['version']} · profile {outcome.profile}", title_justify="left")
    table.add_column("family/variant")
    for c in categories:
        table.add_column(c, justify="right")
    for label, counts in by.items():
        cells = []
        for c in categories:
            bad, total = counts[c, True], counts[c, True] + counts[c, False]
            cells.append("" if not total else f"[{'red' if bad else 'green'}]{total - bad}/{total}[/]")
        table.add_row(label, *cells)
    console.print(table)
    failing = [r for r in outcome.results if r.failed]
    for r in failing[:details]:
        style = VERDICT_STYLE.get(r.verdict, "red")
        console.print(f"[{style}]{r.verdict}[/] {r.family}/{r.variant} [bold]{r.case}[/] ({r.category}): {r.message}",
                      highlight=False, soft_wrap=True)
        for row in r.details.get("context", [])[:6]:
            console.print(f"    #{row['index']:<5} {row['piece']!r:<20} {row['segment']:<22} expected {row['expected']} "
                          f"got {row['actual']}", highlight=False)
        if r.verdict == "token_divergence" and "expected_tokens" in r.details:
            console.print(f"    from #{r.details['context_start']}: expected {r.details['expected_tokens']!r}", highlight=False)
            console.print(f"    {' ' * len(str(r.details['context_start']))}        got      {r.details['actual_tokens']!r}", highlight=False)
    if len(failing) > details:
        console.print(f"... and {len(failing) - details} more failing cases (see --json-report / --html)")
    counts = Counter(r.verdict for r in outcome.results)
    line = ", ".join(f"[{VERDICT_STYLE.get(v, 'red')}]{n} {v}[/]" for v, n in counts.most_common())
    console.print(f"{len(outcome.results)} cases in {outcome.seconds:.1f} s: {line}", highlight=False)
