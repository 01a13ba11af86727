"""A generator that uses the richer contract: it returns *labels* (-100 = not trained) and declares it.

This is a wrapper around :func:`reference.compute`, so it is conformant by construction; the point is to show
what a framework registers, not to compute masks differently. A real framework would put its own masking code
here and keep the attributes: ``lossmask_encoding = "labels"`` tells the runner to read the second value as
labels (each entry -100 or the token id itself), ``lossmask_profile`` names the profile it claims, and
``lossmask_name``/``lossmask_version`` label the reports. The entry point in ``pyproject.toml``
(group ``lossmask.generators``, name ``example-labels``) is how ``lossmask check example-labels`` finds it.
"""

from __future__ import annotations

from typing import Any

from lossmask.reference import compute

IGNORE_INDEX = -100


def labels(tokenizer: Any, messages: list[dict], tools: list[dict] | None = None,
           **template_kwargs: Any) -> tuple[list[int], list[int]]:
    """``(input_ids, labels)`` for one conversation, rendered with ``tokenizer.chat_template``."""
    result = compute(tokenizer, tokenizer.chat_template, messages, tools, template_kwargs, "canonical")
    ids = list(result.input_ids)
    return ids, [t if m else IGNORE_INDEX for t, m in zip(ids, result.loss_mask)]


labels.lossmask_encoding = "labels"  # type: ignore[attr-defined]
labels.lossmask_profile = "canonical"  # type: ignore[attr-defined]
labels.lossmask_name = "example-labels"  # type: ignore[attr-defined]
labels.lossmask_version = "0.1.0"  # type: ignore[attr-defined]
