"""Measure the seed's claim: on multi-turn reasoning conversations, does the full-render mask (qwen3_5-style)
train fewer tokens than the per-message mask (qwen3-style), and by how much?

Why measure it here: the seed asserted the Qwen3.5 mask "reduces wasted training tokens" without a number.
Templates that drop the reasoning of historical assistant turns render a shorter sequence than per-message
rendering (which keeps every turn's reasoning and supervises it). The saving is counted two ways: sequence
tokens (compute per step) and trained tokens (the mask's sum), each as full-render / per-message.
Torch-free: it only renders and tokenizes.
"""

from __future__ import annotations

from typing import Any

from lossmask.reference import compute

from .. import assets

#: Turn counts of the synthetic conversations (growth with history length).
SYNTHETIC_TURNS = (2, 4, 8, 16)


def has_reasoning_history(messages: list[dict[str, Any]]) -> bool:
    """At least two assistant turns, and one before the last carries reasoning (field or inline think block)."""
    assistant = [m for m in messages if m.get("role") == "assistant"]
    return len(assistant) >= 2 and any(
        m.get("reasoning_content") or "<think>" in str(m.get("content") or "") for m in assistant[:-1])


def synthetic_reasoning(turns: int) -> list[dict[str, Any]]:
    """A deterministic ``turns``-turn arithmetic chat where every assistant turn reasons first."""
    messages: list[dict[str, Any]] = [{"role": "system", "content": "You are a careful assistant."}]
    for k in range(1, turns + 1):
        a, b = 17 * k, 23 + k
        messages.append({"role": "user", "content": f"Question {k}: what is {a} times {b}?"})
        messages.append({"role": "assistant",
                         "reasoning_content": (f"We need {a} × {b}. Split {b} into {b - b % 10} and {b % 10}: "
                                               f"{a} × {b - b % 10} = {a * (b - b % 10)}, {a} × {b % 10} = "
                                               f"{a * (b % 10)}. Adding them gives {a * b}. Check by estimating: "
                                               f"about {round(a, -1)} × {b} ≈ {round(a, -1) * b}, close enough."),
                         "content": f"{a} × {b} = {a * b}."})
    return messages


#: The per-message (qwen3-style) baseline measured against the full render unless another SPEC is given.
BASELINE = "lossmask.baselines.per_message:generate"


def per_message_generator(spec: str = BASELINE) -> Any:
    """The per-message side as a resolved generator, or ``None`` when the default baseline is not in this checkout
    (a SPEC the user named explicitly must resolve: its error propagates)."""
    from ..errors import UsageError
    from ..generators import load

    try:
        return load(spec)
    except UsageError:
        if spec != BASELINE:
            raise
        return None


def _measure(per_message: Any, loaded: Any, name: str, messages: list[dict], tools: Any,
             kwargs: dict) -> dict[str, Any]:
    row: dict[str, Any] = {"conversation": name,
                           "assistant_turns": sum(m.get("role") == "assistant" for m in messages)}
    try:
        full = compute(loaded.tokenizer, loaded.chat_template, messages, tools, kwargs, "canonical")
        ids, mask = per_message(loaded.tokenizer, messages, tools, kwargs)
    except Exception as exc:  # a refusal on either side is reported for this conversation only
        return {**row, "error": f"{type(exc).__name__}: {exc}"}
    return {**row, "per_message": {"tokens": len(ids), "trained": int(sum(mask))},
            "full_render": {"tokens": len(full.input_ids), "trained": int(sum(full.loss_mask))}}


def _totals(rows: list[dict[str, Any]]) -> dict[str, Any]:
    ok = [r for r in rows if "error" not in r]
    tot = {side: {k: sum(r[side][k] for r in ok) for k in ("tokens", "trained")} for side in ("per_message", "full_render")}
    pm, fr = tot["per_message"], tot["full_render"]
    return {**tot, "conversations": len(ok),
            "tokens_ratio": round(fr["tokens"] / pm["tokens"], 4) if pm["tokens"] else None,
            "trained_ratio": round(fr["trained"] / pm["trained"], 4) if pm["trained"] else None}


def measure(families: list[str], cases: list[Any], baseline: str = BASELINE) -> dict[str, Any]:
    """Per family: fixture multi-turn reasoning cases and synthetic chats, per-message vs full-render counts."""
    per_message = per_message_generator(baseline)
    if per_message is None:
        return {"available": False, "note": f"the per-message baseline {BASELINE} is not in this checkout; "
                                            "nothing measured"}
    out: dict[str, Any] = {"available": True, "baseline": {"spec": per_message.spec, "name": per_message.name},
                           "families": {}}
    for family in families:
        loaded = assets.load_bundled(family)
        fixture = [_measure(per_message, loaded, c.id, c.messages, c.tools, c.template_kwargs)
                   for c in cases if c.applies_to(family) and has_reasoning_history(c.messages)]
        synthetic = [_measure(per_message, loaded, f"synthetic_{n}_turns", synthetic_reasoning(n), None, {})
                     for n in SYNTHETIC_TURNS]
        out["families"][family] = {"fixture": {"rows": fixture, "total": _totals(fixture)},
                                   "synthetic": {"rows": synthetic, "total": _totals(synthetic)}}
    return out
