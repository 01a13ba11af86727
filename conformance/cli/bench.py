"""``lossmask bench``: how much the reference mask costs against one render + tokenization, and how it grows.

The command line only; measurement lives in :mod:`lossmask.bench.measure`, the report in
:mod:`lossmask.bench.report`.
"""

from __future__ import annotations

import argparse
import datetime
import sys
from typing import Any

from lossmask.reference.errors import LossmaskError

from ..errors import UsageError
from . import outputs
from .command import add_command


def add_parser(sub: Any) -> None:
    p = add_command(
        sub, "bench", summary="benchmark the reference against one render + tokenization",
        description="""Time the reference mask against the floor, one apply_chat_template(tokenize=True) (one
        render and one tokenization), and against a per-message baseline, transformers' assistant-token mask on
        TRL's training templates (when trl is installed) and slime's qwen3_5 mask (when LOSSMASK_SLIME_CHECKOUT is
        set), on synthetic conversations of growing length for each family; which bundled templates the reference
        renders once (proved) or twice; a per-step breakdown of the reference; dataset preparation (lossmask's
        batched labels against a bare render + tokenize pipeline and TRL's SFTTrainer preparation, conversations/s
        and peak memory); and the time of a conformance run over all fixtures. Timings compare methods within one
        run on one machine; a shared machine makes them noisy (--clock cpu is steadier there).

        Writes a JSON report and, with --markdown, the bench region of a markdown file such as BENCHMARKS.md
        (its other regions are kept). Exit 0, or 1 when a family could not be measured.""",
        examples=["lossmask bench --quick --json -", "lossmask bench --json bench.json --markdown BENCHMARKS.md",
                  "lossmask bench --family qwen3_5 --sizes 2,32,256 --reps 3 --no-conformance --no-dataset",
                  "LOSSMASK_SLIME_CHECKOUT=/tmp/slime lossmask bench --clock cpu --dataset-conversations 4000"])
    p.add_argument("--quick", action="store_true", help="a smaller set (3 families, up to 32 turns)")
    outputs.add_report(p, "--json", "the JSON report")
    outputs.add_report(p, "--markdown", "the bench region of a markdown file such as BENCHMARKS.md (its other "
                       "regions are kept)")
    p.add_argument("--family", action="append", help="only this family (repeatable; default: all bundled)")
    p.add_argument("--sizes", help="comma-separated turn counts (default 2,8,32,128,256; --quick 2,8,32)")
    p.add_argument("--reps", type=int, help="repetitions per measurement (default 5; --quick 3)")
    p.add_argument("--budget", type=float, help="seconds per quadratic method per family (default 30; --quick 10)")
    p.add_argument("--no-conformance", action="store_true", help="skip timing the conformance run over all fixtures")
    p.add_argument("--no-breakdown", action="store_true", help="skip the per-step breakdown of the reference")
    p.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                   help="time with wall clock (default) or this process's CPU time (steadier on a shared machine)")
    p.add_argument("--no-dataset", action="store_true", help="skip the dataset-preparation benchmark")
    p.add_argument("--dataset-conversations", type=int,
                   help="conversations in the dataset benchmark (default 2000; --quick 300)")
    p.add_argument("--dataset-workers", help="comma-separated datasets.map worker counts (default 1 and the CPU "
                   "count, at most 4; --quick 1)")
    p.add_argument("--dataset-family", default="qwen3", help="family of the dataset benchmark (default qwen3)")
    p.add_argument("--dataset-reps", type=int, help="repetitions of each dataset run (default 3; --quick 1)")
    p.set_defaults(run=run)


def _sizes(text: str | None, quick: bool) -> tuple[int, ...]:
    from ..bench.measure import QUICK_SIZES, STANDARD_SIZES

    if not text:
        return QUICK_SIZES if quick else STANDARD_SIZES
    try:
        sizes = tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise UsageError(f"--sizes: expected comma-separated integers, got {text!r}") from None
    if not sizes or min(sizes) < 1:
        raise UsageError(f"--sizes: turn counts must be positive, got {text!r}")
    return tuple(sorted(set(sizes)))


def _workers(text: str | None, quick: bool) -> tuple[int, ...]:
    import os

    if not text:
        return (1,) if quick else tuple(sorted({1, min(4, os.cpu_count() or 1)}))
    try:
        workers = tuple(sorted({int(x) for x in text.split(",") if x.strip()}))
    except ValueError:
        raise UsageError(f"--dataset-workers: expected comma-separated integers, got {text!r}") from None
    if not workers or min(workers) < 1:
        raise UsageError(f"--dataset-workers: worker counts must be positive, got {text!r}")
    return workers


def _command(args: argparse.Namespace) -> str:
    """The command line that reproduces this run (options that were given)."""
    parts = ["lossmask bench"]
    for flag in ("quick", "no_conformance", "no_breakdown", "no_dataset"):
        if getattr(args, flag):
            parts.append("--" + flag.replace("_", "-"))
    for flag in ("sizes", "reps", "budget", "dataset_conversations", "dataset_workers", "dataset_reps"):
        if getattr(args, flag) is not None:
            parts.append(f"--{flag.replace('_', '-')} {getattr(args, flag)}")
    parts += [f"--family {f}" for f in args.family or []]
    if args.dataset_family != "qwen3":
        parts.append(f"--dataset-family {args.dataset_family}")
    if args.clock != "wall":
        parts.append(f"--clock {args.clock}")
    return " ".join(parts)


def run(args: argparse.Namespace) -> int:
    from .. import assets
    from ..bench import dataset, measure, paths, report, suite, timing

    outputs.preflight(args, ["--json", "--markdown"])
    known = assets.families()
    families = args.family or (list(measure.QUICK_FAMILIES) if args.quick else list(known))
    for fam in families:
        if fam not in known:
            raise UsageError(f"no such family {fam!r}; families: {', '.join(known)}")
    sizes = _sizes(args.sizes, args.quick)
    reps = args.reps or (3 if args.quick else 5)
    budget = args.budget or (10.0 if args.quick else 30.0)
    if reps < 1 or budget <= 0:
        raise UsageError("--reps must be ≥ 1 and --budget > 0")
    if args.dataset_family not in known:
        raise UsageError(f"--dataset-family: no such family {args.dataset_family!r}; families: {', '.join(known)}")
    workers = _workers(args.dataset_workers, args.quick)
    count = args.dataset_conversations or (300 if args.quick else 2000)
    dataset_reps = args.dataset_reps or (1 if args.quick else 3)
    if count < 1 or dataset_reps < 1:
        raise UsageError("--dataset-conversations and --dataset-reps must be ≥ 1")
    timing.use_clock(args.clock)

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    doc: dict[str, Any] = {"date": datetime.date.today().isoformat(), "quick": args.quick, "sizes": list(sizes),
                           "command": _command(args),
                           "clock": args.clock, "repetitions": reps, "budget_seconds": budget,
                           "machine": report.machine(), "versions": report.versions(), "families": [], "errors": [],
                           "paths": paths.template_paths()}
    for fam in families:
        try:
            doc["families"].append(measure.bench_family(fam, sizes, reps, budget, log))
        except LossmaskError as exc:  # one family's template refusing every shape must not stop the others
            line = " ".join(str(exc).split())
            doc["errors"].append(f"{fam}: {line}")
            log(f"lossmask bench: {fam}: {line}")
    doc["summary"] = measure.summarise(doc["families"])
    doc["reference_over_floor"] = doc["summary"]["median_ratios"].get("reference")
    doc["per_size"] = doc["summary"]["per_size"]
    if not args.no_breakdown and doc["families"]:
        target = "qwen3_5" if "qwen3_5" in families else families[0]
        doc["breakdown"] = measure.breakdown(target, max(sizes), reps)
    if not args.no_dataset:
        log(f"dataset preparation: {count} conversations, workers {', '.join(map(str, workers))} ...")
        doc["dataset"] = dataset.bench_dataset(args.dataset_family, count, workers, dataset_reps, log)
    if not args.no_conformance:
        log("timing the conformance run over all fixtures ...")
        doc["conformance"] = suite.time_suite(families=None if not args.family else families)
    doc["machine"]["load_average_at_end"] = report.machine()["load_average_at_start"]
    if args.json:
        outputs.write(args.json, report.json_text(doc))
    if args.markdown and args.markdown != outputs.STDOUT:
        report.write_markdown(args.markdown, doc)
    print(report.markdown(doc), file=sys.stderr if args.json == outputs.STDOUT else sys.stdout)
    return 1 if doc["errors"] else 0
