"""The reference registered as a mask generator (entry point ``reference`` in group ``lossmask.generators``).

It has the plain contract every generator must at least offer:
``generate(tokenizer, messages, tools=None, **template_kwargs) -> (input_ids, loss_mask)``, rendering with
``tokenizer.chat_template`` under the ``canonical`` profile.
"""

from __future__ import annotations

from typing import Any

from .mask import compute

#: Richer-contract attributes the runner reads when present.
lossmask_profile = "canonical"
lossmask_encoding = "mask"


def generate(tokenizer: Any, messages: list[dict], tools: list[dict] | None = None,
             **template_kwargs: Any) -> tuple[list[int], list[int]]:
    result = compute(tokenizer, tokenizer.chat_template, messages, tools, template_kwargs, "canonical")
    return result.input_ids, result.loss_mask


generate.lossmask_profile = lossmask_profile  # type: ignore[attr-defined]
generate.lossmask_encoding = lossmask_encoding  # type: ignore[attr-defined]
