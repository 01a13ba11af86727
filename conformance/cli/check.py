"""``lossmask check SPEC``: score a mask generator against the golden fixtures.

SPEC is ``reference``, an entry point in group ``lossmask.generators``, ``module:function``,
``path/to/file.py:function`` or ``jsonl:COMMAND ...``. Exit 0 when every case passes (or is declined), 1 when
any case fails, 2 for usage errors (unknown generator, family, case or profile).
"""

from __future__ import annotations

import argparse
import os

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from ..console import make_console
from ..runner.limits import add_limit_args, from_args


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
    p.add_argument("--max-failures", type=int, default=10, metavar="N",
                   help="failing cases explained one by one after the summary by cause (default 10; 0: none)")
    p.add_argument("--details", type=int, dest="max_failures", default=argparse.SUPPRESS, help=argparse.SUPPRESS)  # the old spelling
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
    from ..runner.terminal import print_run

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
    print_run(console, outcome, args.max_failures)
    harness = [r for r in outcome.results if "harness_error" in r.details]
    if harness:
        first = harness[0]
        console.print(f"[red]harness error[/]: lossmask itself failed while judging {len(harness)} case(s) "
                      f"(first {first.family}/{first.variant} {first.case}: {first.details['harness_error']})",
                      highlight=False, soft_wrap=True)
    return 1 if any(r.failed for r in outcome.results) else 0
