"""slime's ``MultiTurnLossMaskGenerator(tokenizer, tokenizer_type).get_loss_mask(messages, tools)``.

slime is not on PyPI (the PyPI package named ``slime`` is unrelated), so users put a checkout of THUDM/slime on
``PYTHONPATH``. The adapter finds the ``slime`` package without importing it (its ``__init__`` may pull in
Megatron or torch) and loads ``slime/utils/mask_utils.py`` by path; that module needs only transformers. When no
checkout is found, or the ``slime`` found is not THUDM's, every case is declined with a message saying so.

One generator per ``tokenizer_type``: ``generate_qwen`` (slime's default), ``generate_qwen3``, ``generate_qwen3_5``
and ``generate_distill_qwen``. A checkout whose generator lacks a type (``qwen3_5`` arrived in PR #1742) declines.
``qwen3_5`` and ``distill_qwen`` hard-code Qwen ChatML and DeepSeek-distill markers, so they decline templates
without them; ``qwen`` and ``qwen3`` run everywhere, as slime's scripts use them for other models too.
"""

from __future__ import annotations

import functools
import importlib.util
import inspect
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

HOWTO = "put a THUDM/slime checkout on PYTHONPATH (slime is not on PyPI; PyPI's 'slime' is unrelated)"


@functools.cache
def _locate() -> Path:
    spec = importlib.util.find_spec("slime")
    if spec is None or not spec.submodule_search_locations:
        raise NotImplementedError(f"slime is not importable: {HOWTO}")
    for root in spec.submodule_search_locations:
        path = Path(root) / "utils" / "mask_utils.py"
        if path.is_file():
            return path
    raise NotImplementedError(f"the 'slime' package on sys.path ({list(spec.submodule_search_locations)}) has no "
                              f"utils/mask_utils.py, so it is not THUDM/slime: {HOWTO}")


@functools.cache
def _module() -> ModuleType:
    path = _locate()
    name = "slime.utils.mask_utils"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location("lossmask_peer_slime_mask_utils", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def checkout_version() -> str:
    """The checkout's git commit (or $LOSSMASK_SLIME_VERSION, or the path when it is not a git checkout)."""
    if os.environ.get("LOSSMASK_SLIME_VERSION"):
        return os.environ["LOSSMASK_SLIME_VERSION"]
    try:
        root = _locate().parent.parent.parent
    except NotImplementedError:
        return "not installed"
    try:
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, timeout=10)
        if out.returncode == 0 and out.stdout.strip():
            return f"git {out.stdout.strip()}"
    except (OSError, subprocess.SubprocessError):
        pass
    return f"checkout {root}"


def _applicable(tokenizer: Any, tokenizer_type: str) -> None:
    template = tokenizer.chat_template or ""
    if tokenizer_type == "qwen3_5" and "<|im_start|>" not in template:
        raise NotImplementedError("slime's qwen3_5 mask searches for Qwen ChatML markers this template lacks")
    if tokenizer_type == "distill_qwen" and "<｜Assistant｜>" not in tokenizer.get_added_vocab():
        raise NotImplementedError("slime's distill_qwen mask is for DeepSeek-R1-Distill tokenizers")


def _make(tokenizer_type: str) -> Callable[..., tuple[list[int], list[int]]]:
    def generate(tokenizer: Any, messages: list[dict], tools: list[dict] | None = None,
                 **template_kwargs: Any) -> tuple[list[int], list[int]]:
        cls = _module().MultiTurnLossMaskGenerator
        if tokenizer_type not in inspect.getsource(cls.get_loss_mask):
            raise NotImplementedError(f"this slime checkout ({checkout_version()}) has no tokenizer_type "
                                      f"{tokenizer_type!r}")
        _applicable(tokenizer, tokenizer_type)
        kwargs: dict[str, Any] = {}
        if template_kwargs:
            if "chat_template_kwargs" not in inspect.signature(cls).parameters:
                raise NotImplementedError("this slime checkout takes no chat_template_kwargs "
                                          f"(case sets {sorted(template_kwargs)})")
            kwargs["chat_template_kwargs"] = template_kwargs
        generator = cls(tokenizer, tokenizer_type=tokenizer_type, **kwargs)
        ids, mask = generator.get_loss_mask(messages, tools=tools)
        return list(ids), list(mask)

    generate.__name__ = f"generate_{tokenizer_type}"
    generate.lossmask_name = f"slime-{tokenizer_type}"  # type: ignore[attr-defined]
    generate.lossmask_version = checkout_version()  # type: ignore[attr-defined]
    generate.lossmask_encoding = "mask"  # type: ignore[attr-defined]
    return generate


TOKENIZER_TYPES = ("qwen", "qwen3", "qwen3_5", "distill_qwen")
generate_qwen = _make("qwen")
generate_qwen3 = _make("qwen3")
generate_qwen3_5 = _make("qwen3_5")
generate_distill_qwen = _make("distill_qwen")
#: slime's default ``--loss-mask-type``.
generate = generate_qwen
