"""``lossmask audit DATA``: scan a whole SFT dataset with the reference (and optionally a generator).

Counts what the template refuses, what validation rejects (by reason), what the data does that fools mask
generators (template literals in user/tool text, empty assistant turns, straddling tokens, samples with nothing
supervised) and, with ``--generator``, where a generator disagrees with the reference. Exit code 0 when the
audit ran (its findings are information, not failures), 2 on a usage error.
"""

from __future__ import annotations

import argparse
import os

from ..audit.analyse import AuditConfig
from ..audit.engines import DEFAULT_CHUNK
from ..audit.run import ENGINES, audit, write_examples
from ..audit.summary import print_summary
from ..errors import UsageError
from ..inputs import parse_template_kwargs
from ..jsontext import json_text
from ..audit.readers import DEFAULT_MAX_SAMPLE_BYTES
from ..runner.limits import add_limit_args, add_render_limit_args, from_args
from . import outputs
from .command import add_command
from .mask import add_tokenizer_args


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = add_command(
        sub, "audit", summary="audit a dataset (JSONL, parquet, datasets dir) with the reference mask",
        description="""Stream a whole SFT dataset through the reference with bounded memory and count what the
        template refuses, what validation rejects (by reason; a bad line by its line number, never fatal), what
        the data does that fools mask generators (template literals in user or tool text, empty assistant turns,
        straddling tokens, samples with nothing supervised) and, with --generator, where a generator disagrees
        with the reference; also the tokens supervised under every profile and conversations per second. One
        worker, N workers and Ray give identical numbers.

        Exit 0 when the audit ran (its findings are information, not failures), 2 for a usage error.""",
        examples=["lossmask audit data.jsonl --family qwen3_5",
                  "lossmask audit data.parquet --family llama3 --generator mypkg.masks:generate --workers 8 "
                  "--json report.json",
                  "zcat data.jsonl.gz | lossmask audit - --tokenizer ./my-tokenizer --json - > report.json",
                  "lossmask audit data/ --family qwen3 --engine ray --examples-out bad/"])
    p.add_argument("data", metavar="DATA", help="JSONL file (.gz ok; '-': JSON lines on standard input), parquet "
                   "file or directory, or a `datasets` save_to_disk directory")
    add_tokenizer_args(p)
    p.add_argument("--profile", default="canonical", help="profile for findings (default: canonical); supervised "
                   "token totals are reported for every profile")
    p.add_argument("--template-kwargs", metavar="JSON", help='e.g. \'{"enable_thinking": false}\'')
    p.add_argument("--generator", metavar="SPEC", help="also run this generator on every sample and compare "
                   "(reference | entry point | module:function | path.py:function | jsonl:COMMAND)")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                   help="worker processes (default: the CPU count)")
    p.add_argument("--engine", choices=ENGINES, default="local", help="local process pool or Ray (default: local)")
    p.add_argument("--ray-address", metavar="ADDR", help="Ray cluster to join (default: $RAY_ADDRESS, else local)")
    p.add_argument("--limit", type=int, metavar="N", help="audit only the first N samples")
    p.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK, help=f"samples per task (default {DEFAULT_CHUNK})")
    outputs.add_report(p, "--json", "the report as JSON (with '-', no summary)")
    p.add_argument("--examples-out", metavar="DIR", help="write the example samples of each problem as JSONL files")
    p.add_argument("--examples", type=int, default=5, metavar="N", help="example samples kept per problem (5)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--max-sample-bytes", type=int, default=DEFAULT_MAX_SAMPLE_BYTES, metavar="N",
                   help=f"longest JSONL line parsed; longer ones are counted as oversized-sample errors without "
                   f"being read into memory (default {DEFAULT_MAX_SAMPLE_BYTES:,})")
    add_limit_args(p, "seconds the --generator may take per sample before its process is stopped (default 60)")
    add_render_limit_args(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import sys

    if args.examples < 0:
        raise UsageError("--examples must be at least 0")
    if args.template == "-":
        raise UsageError("--template -: the audit's workers read the template themselves; give a file")
    outputs.preflight(args, ["--json"])
    if args.examples_out:
        outputs.check_writable("--examples-out", os.path.join(args.examples_out, "probe.jsonl"))
    config = AuditConfig(
        tokenizer=args.family or args.tokenizer, variant=args.variant, template_file=args.template,
        profile=args.profile, template_kwargs=tuple(sorted(parse_template_kwargs(args.template_kwargs).items())),
        generator=args.generator, examples_per_kind=args.examples, keep_samples=bool(args.examples_out),
        limits=from_args(args), render_seconds=args.render_timeout, render_max_chars=args.render_max_chars,
    )
    to_stdout = args.json == "-"
    show = not args.no_progress and not to_stdout and sys.stderr.isatty()
    report, tally = audit(args.data, config, engine=args.engine, workers=args.workers, limit=args.limit,
                          chunk_size=args.chunk_size, show_progress=show, ray_address=args.ray_address,
                          max_sample_bytes=args.max_sample_bytes)
    if args.examples_out:
        try:
            write_examples(args.examples_out, tally)
        except OSError as exc:
            raise UsageError(f"{exc.filename or args.examples_out}: cannot write ({exc.strerror or exc})") from None
    text = json_text(report, indent=2) + "\n"  # lone surrogates from the data as JSON escapes
    if args.json:
        outputs.write(args.json, text)
    if not to_stdout:
        print_summary(report, examples_dir=args.examples_out)
    return 0
