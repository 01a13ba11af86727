"""Which bundled template a tokenizer carries, for frameworks that select behaviour by a template *name*.

LLaMA-Factory, ms-swift, torchtune and slime do not read the tokenizer's Jinja template: the user names a
template type (``template: qwen3``, ``--loss-mask-type qwen3_5``...). The generator contract only hands us a
tokenizer whose ``chat_template`` is the variant under test, so adapters recognise it by exact text against the
bundled templates and map it to the name a user of that framework would pick. An unknown template is declined.
"""

from __future__ import annotations

import functools
from typing import Any

from lossmask import assets


@functools.cache
def _by_text() -> dict[str, tuple[str, str]]:
    table: dict[str, tuple[str, str]] = {}
    for name, fam in assets.families().items():
        for variant in fam.variant_names:
            table.setdefault(assets.bundled_template(name, variant), (name, variant))
    return table


def identify(tokenizer: Any) -> tuple[str, str] | None:
    """``(family, variant)`` of the bundled template the tokenizer carries, or None."""
    template = tokenizer.chat_template
    if isinstance(template, dict):
        template = template.get("default")
    return _by_text().get(template) if isinstance(template, str) else None


def require_name(tokenizer: Any, names: dict[tuple[str, str] | str, str], framework: str) -> tuple[str, str, str]:
    """``(family, variant, framework_name)``; ``names`` maps ``(family, variant)`` or ``family`` to the name.

    Raises NotImplementedError (verdict ``unsupported``) when the template is unknown or has no counterpart.
    """
    found = identify(tokenizer)
    if found is None:
        raise NotImplementedError(f"{framework} selects templates by name; this chat template is not a bundled one")
    fam, variant = found
    name = names.get((fam, variant)) or names.get((fam, "*"))
    if name is None and variant == assets.DEFAULT_VARIANT:
        name = names.get(fam)
    if name is None:
        raise NotImplementedError(f"{framework} has no template for {fam}/{variant}")
    return fam, variant, name
