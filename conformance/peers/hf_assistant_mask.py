"""transformers ``apply_chat_template(return_assistant_tokens_mask=True)`` with TRL's ``{% generation %}`` templates.

Stock templates carry no ``{% generation %}`` tags (the mask would be all zeros), so this adapter does what a
transformers user following TRL's docs does: if the tokenizer's template has no tags, take the training template
TRL ships for it (``trl.chat_template_utils.get_training_chat_template``, matched by exact text) and let
transformers compute ``assistant_masks``. Templates TRL has no training version for are declined. The token stream
is whatever the training template renders, which is why multi-turn reasoning cases show token divergences.
"""

from __future__ import annotations

from typing import Any

from ._util import need, plain, version


def training_template(tokenizer: Any) -> str:
    """The template with generation tags: the tokenizer's own, or TRL's training version of it."""
    utils = need("trl.chat_template_utils", "trl", "TRL (training templates)")
    template = tokenizer.chat_template
    if utils.has_generation_markers(template):
        return template
    try:
        patched = utils.get_training_chat_template(tokenizer)
    except ValueError as exc:
        raise NotImplementedError(f"TRL ships no training template for this chat template: {exc}") from None
    return patched or template


def generate(tokenizer: Any, messages: list[dict], tools: list[dict] | None = None,
             **template_kwargs: Any) -> tuple[list[int], list[int]]:
    out = tokenizer.apply_chat_template(messages, tools=tools, chat_template=training_template(tokenizer),
                                        tokenize=True, return_dict=True, return_assistant_tokens_mask=True,
                                        **template_kwargs)
    return plain(out["input_ids"]), plain(out["assistant_masks"])


generate.lossmask_name = "transformers-assistant-mask"  # type: ignore[attr-defined]
generate.lossmask_version = f"transformers {version('transformers')} + trl {version('trl')} templates"  # type: ignore[attr-defined]
generate.lossmask_encoding = "mask"  # type: ignore[attr-defined]
