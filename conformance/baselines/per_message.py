"""The legacy per-message mask strategy, as a generator: the speed and conformance comparison point.

Strategy (faithful to verl 0.5-0.6 ``MultiTurnSFTDataset``, ``../shared/research/peers.md`` §5, and what slime's
``qwen3`` path produces): for every message ``i``

1. render the prefix ``messages[:i+1]`` (tools passed to every render) and tokenize it;
2. message ``i``'s piece is that token list past the length of the previous prefix's tokens. The legacy code
   assumes the previous prefix is a token prefix of this one and slices by length anyway when it is not;
3. an assistant piece is supervised after its generation prompt (the tokens that
   ``render(messages[:i], add_generation_prompt=True)`` adds), through the end of the piece (so the end-of-turn
   marker and any separator after it are trained); other roles, and messages whose weight
   (``step_loss_mask``, ``loss_weight``...) is 0, are not;
4. a prefix the template refuses (Qwen3.5 raises "No user query found" on ``[system]``; Llama 3 refuses tools
   without a user message) is not a piece boundary: that message joins the next piece.

Why this and not slime's "render each message alone after a dummy user": both keep every assistant turn's
reasoning, because each is rendered as the last message, but the dummy-user trick needs templates that accept
two consecutive user turns and a default-system probe, which several bundled templates refuse; prefix renders
work on every bundled family. They are also the costly shape the benchmark has to show: ``n`` renders of
growing prefixes, so the work grows quadratically with the number of turns.

Consequence on templates that rewrite history (Qwen3/Qwen3.5 drop earlier reasoning once a later user turn
exists): the stream keeps historical reasoning and loses the start of the next user turn, so it differs from the
full render; the runner reports that as ``token_divergence``. On templates without rewrites, single-turn ids
equal ``apply_chat_template(tokenize=True)``.

Rendering goes through :func:`reference.render.render` only to pin the date that Llama 3 and gpt-oss print.
"""

from __future__ import annotations

from typing import Any

from lossmask.reference.conversation import message_weight
from lossmask.reference.errors import TemplateRefusal
from lossmask.reference.render import render

lossmask_name = "per-message baseline (prefix renders, legacy)"
lossmask_version = "0.1.0"


def _encode(tokenizer: Any, text: str) -> list[int]:
    return list(tokenizer(text, add_special_tokens=False)["input_ids"]) if text else []


def _prefix_ids(tokenizer: Any, messages: list[dict], tools: Any, kwargs: dict, gen: bool = False) -> list[int] | None:
    """Tokens of ``messages`` rendered alone, or None when the template refuses that prefix."""
    try:
        return _encode(tokenizer, render(tokenizer, tokenizer.chat_template, messages, tools, kwargs, gen))
    except TemplateRefusal:
        return None


def generate(tokenizer: Any, messages: list[dict], tools: list[dict] | None = None,
             **template_kwargs: Any) -> tuple[list[int], list[int]]:
    ids: list[int] = []
    mask: list[int] = []
    previous: list[int] = []  # tokens of the last prefix the template accepted
    pending: list[int] = []  # indices of messages whose prefix was refused, waiting for the next boundary
    last = len(messages) - 1
    for i, message in enumerate(messages):
        current = _prefix_ids(tokenizer, messages[: i + 1], tools, template_kwargs)
        if current is None:
            if i == last:  # the whole conversation is refused: the template's own refusal is the answer
                render(tokenizer, tokenizer.chat_template, messages, tools, template_kwargs)
            pending.append(i)
            continue
        piece = current[len(previous):]
        trained = message.get("role") == "assistant" and message_weight(message) != 0 and not pending
        start = len(piece)
        if trained:
            with_prompt = _prefix_ids(tokenizer, messages[:i], tools, template_kwargs, gen=True) if i else None
            start = max(0, len(with_prompt) - len(previous)) if with_prompt is not None else 0
        ids += piece
        mask += [0] * min(start, len(piece)) + [1] * max(0, len(piece) - start)
        previous, pending = current, []
    return ids, mask


generate.lossmask_name = lossmask_name  # type: ignore[attr-defined]
generate.lossmask_version = lossmask_version  # type: ignore[attr-defined]
