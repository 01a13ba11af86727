"""Locate a field without markers: render with its value perturbed and diff against the real render.

The fallback for fields whose markers change what the template renders (a tool call's name compared with a
list of built-in tools, arguments sliced by position). The field's letters are replaced by other letters of the
same case (ROT13: same length, same shape, digits and punctuation untouched), the conversation is rendered again
without any markers, and the common prefix and suffix of the two renders bound where the field is printed. One
render per such field, only on this fallback path. A field whose perturbed render is identical is not printed;
one whose perturbed render raises, or whose changed region overlaps a marked field, stays unlocated.
"""

from __future__ import annotations

import codecs
import copy
import re
from collections.abc import Mapping, Sequence
from typing import Any

from .errors import TemplateRefusal
from .markers import Field, FieldSpan
from .render import render


def rot13(value: Any) -> Any:
    if isinstance(value, str):
        return codecs.encode(value, "rot13")
    if isinstance(value, Mapping):
        return {k: rot13(v) for k, v in value.items()}
    if isinstance(value, list):
        return [rot13(v) for v in value]
    return value


def _path_keys(path: str) -> list[Any] | None:
    """``$.messages[1].tool_calls[0].function.name`` → ``[1, 'tool_calls', 0, 'function', 'name']``."""
    if not path.startswith("$.messages") or "<" in path:  # inline-reasoning pieces have no plain path
        return None
    keys: list[Any] = []
    for name, index in re.findall(r"\.([^.\[\]]+)|\[(\d+)\]", path[len("$.messages"):]):
        keys.append(int(index) if index else name)
    return keys


def _changed_region(a: str, b: str) -> tuple[int, int] | None:
    if a == b:
        return None
    n = min(len(a), len(b))
    p = 0
    while p < n and a[p] == b[p]:
        p += 1
    s = 0
    while s < n - p and a[len(a) - 1 - s] == b[len(b) - 1 - s]:
        s += 1
    return (p, len(a) - s) if len(a) - s > p else None


def locate_unmarked(tokenizer: Any, template: str, messages: Sequence[Mapping[str, Any]], tools: Any,
                    kwargs: dict[str, Any], text: str, fields: list[Field], spans: list[FieldSpan],
                    unmarked: frozenset[int]) -> list[FieldSpan]:
    out: list[FieldSpan] = []
    taken = [(s.start, s.end) for s in spans]
    for k in sorted(unmarked):
        keys = _path_keys(fields[k].path)
        if not keys:
            continue
        changed = copy.deepcopy(list(messages))
        target: Any = changed
        try:
            for key in keys[:-1]:
                target = target[key]
            target[keys[-1]] = rot13(target[keys[-1]])
        except (KeyError, IndexError, TypeError):
            continue
        try:
            other = render(tokenizer, template, changed, tools, kwargs)
        except TemplateRefusal:
            continue
        region = _changed_region(text, other)
        if region is None or any(a < region[1] and region[0] < b for a, b in taken):
            continue
        out.append(FieldSpan(k, region[0], region[1], True))
        taken.append(region)
    return out
