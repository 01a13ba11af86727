"""``lossmask smoke``: train tiny Qwen3 / Qwen3.5 models on a generator's masks and check the loss and gradients.

Checks per family: the model's loss equals a manual cross-entropy over the supervised next-token targets; no
gradient reaches unsupervised or padded positions and every supervised token gets one; the trained-token count
equals the mask's sum; the tokens actually trained are the ones the claimed profile supervises; the loss falls
below half its start when overfitting a fixed batch. Also measures per-message vs full-render token counts on
multi-turn reasoning conversations. CPU: one thread, compact vocabulary. CUDA: full vocabulary, bf16.
Needs torch (``pip install 'lossmask-conformance[smoke]'``). Exit 0 when every check passes, 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import time

from ..console import make_console
from ..errors import UsageError
from . import outputs
from .command import add_command

DEFAULT_FAMILIES = ("qwen3", "qwen3_5")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = add_command(
        sub, "smoke", summary="tiny-model SFT smoke run on a generator's masks (needs torch)",
        description="""Train tiny Qwen3 / Qwen3.5 models, built from config over the real vocabulary, on the
        fixture conversations with labels from the generator's mask, and check what the optimiser sees: the
        loss equals a cross-entropy computed from the mask; no gradient reaches unsupervised or padded positions
        and every supervised token gets one; the trained-token count equals the mask's sum; the trained tokens
        are those the claimed profile supervises; the loss falls below half its start when overfitting one batch.
        It also measures per-message against full-render token counts on multi-turn reasoning conversations.

        CPU: one thread and a compact vocabulary; CUDA: the full vocabulary in bf16. Needs torch
        (pip install 'lossmask-conformance[smoke]'). Exit 0 when every check passes, 1 otherwise, 2 for a
        usage error.""",
        examples=["lossmask smoke", "lossmask smoke --generator mypkg.masks:get_loss_mask --family qwen3_5 --json smoke.json",
                  "lossmask smoke --device cuda --steps 60"])
    p.add_argument("--generator", metavar="SPEC", default=os.environ.get("LOSSMASK_GENERATOR", "reference"),
                   help="generator spec as for `lossmask check` (default: $LOSSMASK_GENERATOR or reference)")
    p.add_argument("--family", action="append",
                   help=f"bundled family (repeatable; default: {', '.join(DEFAULT_FAMILIES)})")
    p.add_argument("--variant", default="default", help="template variant of each family (default: default)")
    p.add_argument("--model", choices=("auto", "qwen3", "qwen3_5"), default="auto",
                   help="tiny model architecture (auto: Qwen3.5 for qwen3_5 families, else Qwen3)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument("--steps", type=int, default=30, help="overfitting steps (default 30)")
    p.add_argument("--full-vocab", action="store_true", default=None,
                   help="use the tokenizer's full vocabulary on CPU too (slow; default on CUDA)")
    p.add_argument("--max-batch-tokens", type=int, default=4096, help="padded tokens per checked batch")
    p.add_argument("--category", action="append", help="only cases of this category (repeatable)")
    p.add_argument("--baseline", metavar="SPEC", default=None,
                   help="per-message generator measured against the full render "
                        "(default: lossmask.baselines.per_message:generate)")
    p.add_argument("--no-savings", action="store_true", help="skip the per-message vs full-render measurement")
    outputs.add_report(p, "--json", "the JSON report")
    p.add_argument("--quiet", action="store_true", help="no terminal summary")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        import torch  # noqa: F401
    except ImportError:
        raise UsageError("lossmask smoke needs torch: pip install 'lossmask-conformance[smoke]' "
                         "(CPU wheel: pip install torch --index-url https://download.pytorch.org/whl/cpu)") from None
    from .. import assets, cases, generators
    from ..smoke import report, savings
    from ..smoke.run import Settings, device_info, resolve_device, run_family

    outputs.preflight(args, ["--json"])
    if args.steps < 0:
        raise UsageError(f"--steps {args.steps}: must be >= 0")
    families = args.family or list(DEFAULT_FAMILIES)
    known = assets.families()
    for fam in families:
        if fam not in known:
            raise UsageError(f"unknown family {fam!r}; bundled: {', '.join(known)}")
    from ..generators.pinned_date import pin_for_generators

    pin_for_generators()  # the generator renders in this process: with the date the reference pins
    generator = generators.load(args.generator)
    if generator.fn is None:
        raise UsageError(f"generator {args.generator!r} is a subprocess (jsonl:); the smoke run needs an in-process "
                         "generator (module:function, file.py:function or an entry point)")
    settings = Settings(device=args.device, steps=args.steps, full_vocab=args.full_vocab,
                        max_batch_tokens=args.max_batch_tokens, model=args.model)
    start = time.perf_counter()
    device = resolve_device(args.device)
    corpus = cases.load_cases(categories=args.category)
    runs = [run_family(generator, fam, args.variant, corpus, device, settings) for fam in families]
    measured = ({"available": False, "note": "skipped (--no-savings)"} if args.no_savings
                else savings.measure(families, corpus, args.baseline or savings.BASELINE))
    doc = report.document(generator, device_info(device), settings, runs, measured, time.perf_counter() - start)
    if args.json:
        outputs.write(args.json, report.json_text(doc))
    if not args.quiet:
        report.print_summary(doc, make_console(stderr=args.json == outputs.STDOUT))
    return 0 if doc["passed"] else 1
