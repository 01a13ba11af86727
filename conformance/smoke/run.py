"""One smoke run per family: collect the generator's masks, check every batch, overfit the first, summarise.

Why a fresh model per family and checks before training: the gradient checks are exact at any weights, and a
freshly initialised model makes the loss-curve numbers comparable between runs and devices.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass
from typing import Any

from .. import assets
from ..errors import UsageError
from . import models, vocab
from .batch import collect, make_batches
from .checks import CHECKS, check_batch
from .train import FALL_RATIO, overfit

#: Relative tolerance of the loss comparison: float32 on CPU; bf16 weights on CUDA (both sides use float logits).
RTOL = {"cpu": 1e-5, "cuda": 1e-3}


@dataclass(frozen=True)
class Settings:
    device: str = "auto"  # auto | cpu | cuda
    steps: int = 30
    full_vocab: bool | None = None  # None: full on CUDA, compact on CPU
    max_batch_tokens: int = 4096
    model: str = "auto"  # auto | qwen3 | qwen3_5
    seed: int = 0


def resolve_device(choice: str) -> Any:
    """``auto`` → CUDA when present, else CPU; CPU runs pin one thread (multi-threaded tiny models thrash)."""
    import torch

    if choice not in ("auto", "cpu", "cuda"):
        raise UsageError(f"--device {choice!r}: expected auto, cpu or cuda")
    if choice == "cuda" and not torch.cuda.is_available():
        raise UsageError(f"--device cuda: no CUDA device visible to torch {torch.__version__}")
    use_cuda = choice == "cuda" or (choice == "auto" and torch.cuda.is_available())
    if not use_cuda:
        torch.set_num_threads(1)
    return torch.device("cuda" if use_cuda else "cpu")


def device_info(device: Any) -> dict[str, Any]:
    import torch
    import transformers

    name = torch.cuda.get_device_name(device) if device.type == "cuda" else (platform.processor() or platform.machine())
    return {"type": device.type, "name": name, "threads": torch.get_num_threads(),
            "dtype": "bfloat16" if device.type == "cuda" else "float32",
            "torch": torch.__version__, "transformers": transformers.__version__}


def run_family(generator: Any, family: str, variant: str, cases: list[Any], device: Any,
               settings: Settings) -> dict[str, Any]:
    """Everything the report needs about one (family, variant): checks, failures, counts, loss curve, speed."""
    loaded = assets.load_bundled(family, variant)
    collected = collect(generator, loaded, cases, generator.profile)
    arch = models.arch_for_family(family) if settings.model == "auto" else settings.model
    failures: dict[str, list[str]] = {}
    if collected.errors:
        failures["generator_ran_cleanly"] = list(collected.errors)
    out: dict[str, Any] = {
        "family": family, "variant": variant, "rebuilt_tokenizer": loaded.rebuilt, "model": arch,
        "cases": [e.case_id for e in collected.examples], "skipped": collected.skipped,
    }
    if not collected.examples:
        failures.setdefault("generator_ran_cleanly", []).append(f"{family}/{variant}: no case produced a mask")
        return {**out, "checks": {c: False for c in CHECKS}, "failures": failures}
    tok = loaded.tokenizer
    pad_id = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id or 0
    batches = make_batches(collected.examples, pad_id, settings.max_batch_tokens)
    rows = [r for b in batches for r in b.input_ids]
    full = settings.full_vocab if settings.full_vocab is not None else device.type == "cuda"
    vmap = vocab.full(len(tok), rows) if full else vocab.compact(rows)

    import torch

    model = models.build(arch, vmap.size, settings.seed).to(device)
    if device.type == "cuda":
        model = model.to(torch.bfloat16)
    per_batch = []
    for b in batches:
        res = check_batch(model, b, vmap, device, tok, RTOL[device.type])
        per_batch.append(res)
        for check, messages in res.failures.items():
            failures.setdefault(check, []).extend(messages)
    model.zero_grad(set_to_none=True)
    trained = overfit(model, batches[0], vmap, device, settings.steps)
    if not trained.loss_fell:
        curve = trained.loss_curve
        failures["loss_falls"] = [f"overfitting {len(batches[0].examples)} conversations for {settings.steps} steps: "
                                  f"loss {curve[0]:.3f} → {curve[-1]:.3f}, expected below {FALL_RATIO:.0%} of the start"
                                  if curve else "no training step was run (--steps 0)"]
    return {
        **out,
        "checks": {c: c not in failures for c in CHECKS},
        "failures": failures,
        "vocab": {"compact": vmap.compact, "size": vmap.size, "tokenizer_size": len(tok)},
        "parameters": models.parameter_count(model),
        "batches": [{"cases": [e.case_id for e in b.examples], "shape": list(b.shape), "real_tokens": b.real_tokens,
                     "loss": r.loss, "manual_loss": r.manual_loss, "trained_tokens": r.trained_tokens,
                     "labelled_tokens": r.labelled_tokens, "mask_sum": r.mask_sum}
                    for b, r in zip(batches, per_batch)],
        "trained_tokens": {"gradient_rows": sum(r.trained_tokens for r in per_batch),
                           "labels_after_shift": sum(r.labelled_tokens for r in per_batch),
                           "mask_sum": sum(r.mask_sum for r in per_batch),
                           "sequence_tokens": sum(b.real_tokens for b in batches)},
        "training": {"cases": [e.case_id for e in batches[0].examples], "shape": list(batches[0].shape),
                     "steps": settings.steps, "loss_curve": [round(v, 5) for v in trained.loss_curve],
                     "seconds": round(trained.seconds, 4), "tokens_per_step": trained.tokens_per_step,
                     "trained_tokens_per_step": trained.trained_tokens_per_step,
                     "tokens_per_s": round(trained.tokens_per_s, 1),
                     "trained_tokens_per_s": round(trained.trained_tokens_per_s, 1)},
    }
