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
from ..runner.limits import add_limit_args, add_render_limit_args, from_args, whole_number
from . import outputs
from .command import add_command


REPORTS = ("--json", "--junit", "--html")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = add_command(
        sub, "check", summary="score a mask generator against the golden fixtures",
        description="""Run a mask generator on every golden record (family x template variant x case) in isolated
        worker processes, with a deadline per case, and compare its ids and mask with the goldens under a profile;
        failures are explained and grouped by cause.

        SPEC is reference, an entry point in the lossmask.generators group, module:function (found from the
        current directory too), path/to/file.py:function, or jsonl:COMMAND for a process of any language speaking
        JSON lines. Exit 0 when every record passes (or is declined), 1 when any fails, 2 for a usage error (an
        unknown generator, family, category, case or profile, or a report path that cannot be written), found
        before any case runs.""",
        examples=[
            "lossmask check mypkg.masks:get_loss_mask",
            "lossmask check ./masks.py:generate --family qwen3_5 --category multi_turn --profile slime-qwen3_5",
            "lossmask check 'jsonl:node my_generator.mjs' --json report.json --junit junit.xml --html report.html",
            "lossmask check reference --json - > report.json",
        ])
    p.add_argument("spec", metavar="SPEC", nargs="?", default=os.environ.get("LOSSMASK_GENERATOR", "reference"),
                   help="the generator (default: $LOSSMASK_GENERATOR or reference)")
    p.add_argument("--profile", help="compare under this profile (default: the one the generator claims)")
    p.add_argument("--family", action="append", help="only this family (repeatable)")
    p.add_argument("--category", action="append", help="only this category (repeatable)")
    p.add_argument("--case", action="append", dest="cases", help="only this case id (repeatable)")
    add_limit_args(p, "seconds a case may take, from the moment it is handed to the generator, before the "
                   "process is stopped (default 60)")
    add_render_limit_args(p, "in the generator process (reference, and generators built on lossmask.reference)")
    p.add_argument("--jobs", type=whole_number(1), default=min(2, os.cpu_count() or 1), help="generator processes in parallel")
    outputs.add_report(p, "--json", "the JSON report", "--json-report")
    outputs.add_report(p, "--junit", "JUnit XML")
    outputs.add_report(p, "--html", "a self-contained HTML page")
    p.add_argument("--max-failures", type=int, default=10, metavar="N",
                   help="failing cases explained one by one after the summary by cause (default 10; 0: none)")
    p.add_argument("--details", type=int, dest="max_failures", default=argparse.SUPPRESS, help=argparse.SUPPRESS)  # the old spelling
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..runner import Selection, reports
    from ..runner import run as run_generator
    from ..runner.html_report import render_html
    from ..runner.engine import HARNESS_ERROR
    from ..runner.terminal import print_run

    outputs.preflight(args, REPORTS)
    # a report on standard output keeps it clean: the summary goes to stderr then
    console = make_console(stderr=outputs.any_on_stdout(args, REPORTS))
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
    if args.json:
        outputs.write(args.json, reports.json_text(outcome))
    if args.junit:
        outputs.write(args.junit, reports.junit_xml(outcome))
    if args.html:
        outputs.write(args.html, render_html(outcome))
    print_run(console, outcome, args.max_failures)
    harness = [r for r in outcome.results if r.message.startswith(HARNESS_ERROR)]
    if harness:
        first = harness[0]
        console.print(f"[red]harness error[/]: lossmask itself failed while judging {len(harness)} case(s), "
                      f"listed as not_judged (first {first.family}/{first.variant} {first.case}: "
                      f"{first.message.removeprefix(HARNESS_ERROR + ': ')})", highlight=False, soft_wrap=True)
    return 1 if any(r.failed for r in outcome.results) else 0
