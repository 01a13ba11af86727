"""One forward/backward pass over a padded batch and the assertions on what the optimiser actually sees.

Why gradients on the per-position logits: position ``t`` predicts token ``t+1``, and the gradient of the loss
with respect to ``logits[t]`` is exactly zero unless that prediction is trained (cross-entropy with
``ignore_index`` multiplies the row by 0). So "which rows have a non-zero gradient" is the ground truth of which
tokens were trained, independent of how the labels were built. Comparing those rows with the mask (and the
targets with the reference mask of the profile the generator claims) catches a mask shifted by one, a
pre-shifted mask that the model shifts again, supervised padding and an untrainable first token.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..compare import first_difference
from .batch import IGNORE_INDEX, PaddedBatch
from .vocab import VocabMap

#: Check names, in report order (``loss_falls`` is added by :mod:`.train`).
CHECKS = (
    "generator_ran_cleanly",
    "loss_equals_manual_ce",
    "no_gradient_off_mask",
    "no_gradient_on_padding",
    "gradient_on_every_supervised_token",
    "trained_tokens_equal_mask_sum",
    "trained_targets_match_profile",
    "loss_falls",
)
#: How many offending positions one check lists per batch (the rest are counted).
MAX_EXAMPLES = 5


@dataclass
class BatchResult:
    loss: float
    manual_loss: float
    trained_tokens: int
    labelled_tokens: int
    mask_sum: int
    failures: dict[str, list[str]] = field(default_factory=dict)

    def fail(self, check: str, message: str) -> None:
        self.failures.setdefault(check, []).append(message)


def _piece(tokenizer: Any, token_id: int) -> str:
    return repr(tokenizer.decode([token_id]))


def _runs(indices: list[int]) -> list[list[int]]:
    runs: list[list[int]] = []
    for i in indices:
        if runs and runs[-1][-1] == i - 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    return runs


def _limited(items: list[str]) -> list[str]:
    extra = len(items) - MAX_EXAMPLES
    return items[:MAX_EXAMPLES] + ([f"... and {extra} more"] if extra > 0 else [])


def check_batch(model: Any, batch: PaddedBatch, vmap: VocabMap, device: Any, tokenizer: Any,
                rtol: float) -> BatchResult:
    """Run one step's forward/backward (no optimiser update) and check it against the batch's masks."""
    import torch

    x = torch.tensor(vmap.encode(batch.input_ids), device=device)
    att = torch.tensor(batch.attention_mask, device=device)
    labels = torch.tensor(vmap.encode_labels(batch.labels, IGNORE_INDEX), device=device)
    mask = torch.tensor(batch.mask, device=device, dtype=torch.bool)

    model.zero_grad(set_to_none=True)
    out = model(input_ids=x, attention_mask=att, labels=labels)
    logits = out.logits
    logits.retain_grad()
    out.loss.backward()

    # Manual cross-entropy from the mask itself, not from the labels: position t predicts x[t+1] iff mask[t+1].
    lg = logits.detach().float()[:, :-1]
    wanted = mask[:, 1:]
    nll = torch.logsumexp(lg, -1) - lg.gather(-1, x[:, 1:].unsqueeze(-1)).squeeze(-1)
    manual = nll[wanted].mean() if wanted.any() else torch.tensor(float("nan"))

    rows = (logits.grad != 0).any(-1)  # (B, T): which positions' predictions were trained
    expected = torch.zeros_like(rows)
    expected[:, :-1] = wanted
    padded = att == 0
    res = BatchResult(loss=float(out.loss.detach()), manual_loss=float(manual),
                      trained_tokens=int(rows.sum()), labelled_tokens=int((labels[:, 1:] != IGNORE_INDEX).sum()),
                      mask_sum=sum(sum(e.mask) for e in batch.examples))
    names = [e.case_id for e in batch.examples]

    if not wanted.any():
        res.fail("loss_equals_manual_ce", f"batch of {', '.join(names)}: no supervised token to compare")
    elif not torch.isclose(out.loss.detach().float(), manual.to(out.loss.device), rtol=rtol, atol=1e-6):
        res.fail("loss_equals_manual_ce", f"batch of {', '.join(names)}: model loss {res.loss:.6f} "
                 f"!= cross-entropy over the masked next-token targets {res.manual_loss:.6f}")

    rows_l, expected_l, padded_l = rows.cpu().tolist(), expected.cpu().tolist(), padded.cpu().tolist()
    off, pad_hits, missing = [], [], []
    for b, ex in enumerate(batch.examples):
        ids = batch.input_ids[b]
        for t, (got, want, is_pad) in enumerate(zip(rows_l[b], expected_l[b], padded_l[b])):
            if got and is_pad:
                pad_hits.append(f"{ex.case_id}: padded position {t} received gradient")
            elif got and not want:
                target = _piece(tokenizer, ids[t + 1]) if t + 1 < len(ex.input_ids) else "(past the end)"
                off.append(f"{ex.case_id}: position {t} (predicting {target}) received gradient "
                           f"but the mask does not supervise token {t + 1}")
            elif want and not got:
                missing.append(f"{ex.case_id}: token {t + 1} {_piece(tokenizer, ids[t + 1])} is supervised "
                               f"but position {t} received no gradient")
        if ex.mask and ex.mask[0]:
            res.fail("trained_tokens_equal_mask_sum", f"{ex.case_id}: the mask supervises token 0 "
                     f"{_piece(tokenizer, ids[0])}, which no next-token loss can train")
        _check_targets(res, ex, [t + 1 for t, got in enumerate(rows_l[b]) if got], tokenizer)
    for check, items in (("no_gradient_off_mask", off), ("no_gradient_on_padding", pad_hits),
                         ("gradient_on_every_supervised_token", missing)):
        for message in _limited(items):
            res.fail(check, message)
    if not (res.trained_tokens == res.labelled_tokens == res.mask_sum):
        res.fail("trained_tokens_equal_mask_sum", f"batch of {', '.join(names)}: {res.trained_tokens} positions "
                 f"trained, {res.labelled_tokens} labels after the shift, mask sum {res.mask_sum}")
    return res


def _check_targets(res: BatchResult, ex: Any, trained: list[int], tokenizer: Any) -> None:
    """The tokens the loss actually pushed towards must be the ones the claimed profile supervises."""
    if ex.expected is not None:
        want = [i for i, m in enumerate(ex.expected) if m]
        if trained != want:
            extra = sorted(set(trained) - set(want))
            lacking = sorted(set(want) - set(trained))
            detail = []
            if extra:
                detail.append("trained but not supervised by the profile: " + ", ".join(
                    f"{i} {_piece(tokenizer, ex.input_ids[i])}" for i in extra[:MAX_EXAMPLES]))
            if lacking:
                detail.append("supervised by the profile but not trained: " + ", ".join(
                    f"{i} {_piece(tokenizer, ex.input_ids[i])}" for i in lacking[:MAX_EXAMPLES]))
            res.fail("trained_targets_match_profile", f"{ex.case_id}: " + "; ".join(detail))
        return
    got_text = [tokenizer.decode([ex.input_ids[i] for i in run]) for run in _runs(trained)]
    if got_text != ex.expected_text:
        first = first_difference(got_text, ex.expected_text) or 0
        a = got_text[first] if first < len(got_text) else "(none)"
        b = ex.expected_text[first] if first < len(ex.expected_text) else "(none)"
        res.fail("trained_targets_match_profile", f"{ex.case_id}: token stream differs from the template's render "
                 f"and the trained text differs at run {first}: trained {a!r}, profile supervises {b!r}")
