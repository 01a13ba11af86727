"""A deliberately NON-conformant generator: the legacy per-message strategy, kept readable on purpose.

Several trainers (verl 0.5-0.6, torchtune's HF path, NeMo-RL; see ``../shared/research/peers.md`` §5-6) build
a multi-turn sample message by message:

1. render each prefix ``messages[:i+1]`` with the chat template;
2. the *increment* of message ``i`` is the part of that render past the previous render's length;
3. tokenize each increment on its own and concatenate the tokens;
4. supervise every token of an assistant increment, its role header (``<|im_start|>assistant\\n``) included.

Two things go wrong, and ``lossmask check`` names both:

- ``token_divergence``: templates that rewrite history (Qwen3/Qwen3.5 drop the reasoning of earlier assistant
  turns once a later user turn exists) render a prefix differently from the same messages inside the full
  conversation, so the concatenated stream is not what the model sees at inference. Tokenizing increments
  separately can also split differently from tokenizing the whole text.
- ``mask_mismatch``: even where the stream is right, the header is supervised and, where the template closes a
  turn with a separator (``\\n`` after ``<|im_end|>``), so is the separator.

Run it: ``lossmask check examples/nonconformant/per_message.py:generate`` (expected results: examples/README.md).
Rendering goes through :func:`reference.render.render` only to pin the date that Llama 3 and gpt-oss templates
print (otherwise every case on those families would diverge for a reason that has nothing to do with masking).
"""

from __future__ import annotations

from typing import Any

from lossmask.reference.render import render

lossmask_name = "per-message (legacy, non-conformant example)"


def _encode(tokenizer: Any, text: str) -> list[int]:
    return list(tokenizer(text, add_special_tokens=False)["input_ids"]) if text else []


def generate(tokenizer: Any, messages: list[dict], tools: list[dict] | None = None,
             **template_kwargs: Any) -> tuple[list[int], list[int]]:
    ids: list[int] = []
    mask: list[int] = []
    previous = ""
    for i, message in enumerate(messages):
        text = render(tokenizer, tokenizer.chat_template, messages[: i + 1], tools, template_kwargs)
        # The legacy assumption: the previous render is a prefix of this one. It is not when the template
        # rewrites history; the string slice is taken anyway, as the legacy code does.
        increment = text[len(previous):]
        tokens = _encode(tokenizer, increment)
        ids += tokens
        mask += [1 if message.get("role") == "assistant" else 0] * len(tokens)
        previous = text
    return ids, mask


generate.lossmask_name = lossmask_name  # type: ignore[attr-defined]
generate.lossmask_version = "0.1.0"  # type: ignore[attr-defined]
