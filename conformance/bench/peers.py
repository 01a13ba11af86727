"""Other mask generators timed beside the reference in ``lossmask bench``, when they are installed.

- ``hf_assistant_mask``: transformers ``apply_chat_template(return_assistant_tokens_mask=True, return_dict=True)``
  on the template TRL trains on (TRL's training template, with ``{% generation %}`` tags; the stock templates
  have none). Its ratio is to ``hf_floor``, ``apply_chat_template(tokenize=True)`` of that same template, timed
  beside it, so a template that renders more (TRL's keep reasoning in history) does not count against it.
  Needs ``trl`` importable (``nox -s bench`` installs it); otherwise, or where TRL has no training template for
  the family, the method is reported as not measured, with the reason.
- ``slime_qwen3_5``: slime's ``MultiTurnLossMaskGenerator(tokenizer, "qwen3_5").get_loss_mask`` (through
  :mod:`lossmask.peers.slime_mask`, slime's own code) on the qwen3_5 family, when ``LOSSMASK_SLIME_CHECKOUT``
  points at a THUDM/slime checkout (slime is not on PyPI).
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import Any

SLIME_FAMILIES = ("qwen3_5",)


@functools.cache
def training_template(family: str) -> tuple[str | None, str]:
    """TRL's training template for the family's bundled tokenizer, or ``(None, why not)``."""
    from .. import assets
    from .dataset import training_template as trl_template

    return trl_template(assets.load_bundled(family).tokenizer)


def hf_methods(family: str, tokenizer: Any, messages: list[dict], tools: Any) -> tuple[dict[str, Callable], str]:
    """``{"hf_floor": fn, "hf_assistant_mask": fn}`` or ``({}, why not)``."""
    template, why = training_template(family)
    if template is None:
        return {}, why

    def hf_floor() -> object:
        return tokenizer.apply_chat_template(messages, tools=tools, tokenize=True, chat_template=template)

    def hf_mask() -> object:
        return tokenizer.apply_chat_template(messages, tools=tools, tokenize=True, chat_template=template,
                                             return_dict=True, return_assistant_tokens_mask=True)

    return {"hf_floor": hf_floor, "hf_assistant_mask": hf_mask}, why


def slime_method(family: str, tokenizer: Any, messages: list[dict], tools: Any) -> tuple[Callable | None, str]:
    checkout = os.environ.get("LOSSMASK_SLIME_CHECKOUT")
    if family not in SLIME_FAMILIES:
        return None, f"slime's qwen3_5 mask is for {', '.join(SLIME_FAMILIES)}"
    if not checkout:
        return None, "LOSSMASK_SLIME_CHECKOUT is not set (slime is not on PyPI; point it at a THUDM/slime checkout)"
    if checkout not in sys.path:
        sys.path.insert(0, checkout)
    try:
        from ..peers import slime_mask

        slime_mask._locate()
    except Exception as exc:  # noqa: BLE001 - a bad checkout is a reported skip, not a bench crash
        return None, f"slime checkout not usable: {' '.join(str(exc).split())[:160]}"

    def slime() -> object:
        return slime_mask.generate_qwen3_5(tokenizer, messages, tools)

    return slime, f"slime {slime_mask.checkout_version()}"
