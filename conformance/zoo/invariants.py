"""Invariants checked on every segmented zoo render, without trusting the reference's own field spans.

For a render the reference segmented, with its ``canonical`` mask:

* ``ids``: the reference's ids equal ``apply_chat_template(tokenize=True)``;
* ``assistant_field``: every assistant field the render contains is supervised. Whether the render contains a
  field is decided by a **perturbation diff**: the field's letters are rotated (same length, same shape), the
  conversation is rendered again and the two renders' common prefix and suffix bound where the field is printed.
  If they differ, at least one occurrence of the field's text inside that region must be wholly supervised;
* ``non_assistant_text``: no character of any system, user or tool text is inside a supervised token (a token
  the reference reports as straddling is counted apart, as ``straddles_into_other_text``);
* ``outside_assistant_turn``: every supervised token lies inside an assistant turn, found independently: the
  gaps between consecutive non-assistant texts (located by sequential search, as the oracle does) that have an
  assistant message between them in message order;
* ``empty_reasoning``: where an assistant message's reasoning field is empty and the template renders something
  for it (the render differs from one without the key), the characters it adds after the turn's header are
  supervised (the model generates that block), except characters of the generation prompt.

Every check that could not be made (a field printed transformed, so its text is not found in the region) is
counted as ``not_located``, never as a pass.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lossmask.reference.conversation import REASONING_KEYS
from lossmask.reference.errors import LossmaskError
from lossmask.reference.render import render

Path = tuple[Any, ...]  # keys into the messages list: (i, "content") or (i, "tool_calls", 0, "function", "name")


@dataclass
class Checks:
    """Counts of every check made on one render, and the violations (one line each)."""

    fields_rendered: int = 0
    fields_not_rendered: int = 0
    fields_supervised: int = 0
    not_located: int = 0
    other_texts_checked: int = 0
    straddles_into_other_text: int = 0
    empty_reasoning_blocks: int = 0
    violations: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class FieldRef:
    path: Path
    needles: tuple[str, ...]  # what must be found (and supervised) in the render
    perturbed: Any  # the value to render instead, to find where the field lands

    @property
    def json_path(self) -> str:
        out = "$.messages"
        for p in self.path:
            out += f"[{p}]" if isinstance(p, int) else f".{p}"
        return out


def rotate(text: str) -> str:
    """Each ASCII letter moved one place on (z→a): same length, same shape, another value."""
    out = []
    for ch in text:
        if "a" <= ch <= "z":
            out.append(chr((ord(ch) - 97 + 1) % 26 + 97))
        elif "A" <= ch <= "Z":
            out.append(chr((ord(ch) - 65 + 1) % 26 + 65))
        else:
            out.append(ch)
    return "".join(out)


def _leaves(value: Any) -> Iterator[tuple[Path, str]]:
    if isinstance(value, str):
        yield (), value
    elif isinstance(value, Mapping):
        for k, v in value.items():
            for p, s in _leaves(v):
                yield (k, *p), s
    elif isinstance(value, list):
        for j, v in enumerate(value):
            for p, s in _leaves(v):
                yield (j, *p), s


def _rotated_leaves(value: Any) -> Any:
    if isinstance(value, str):
        return rotate(value)
    if isinstance(value, Mapping):
        return {k: _rotated_leaves(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rotated_leaves(v) for v in value]
    return value


def _text_fields(i: int, key: str, value: Any) -> Iterator[FieldRef]:
    if isinstance(value, str) and value.strip():
        yield FieldRef((i, key), (value.strip(),), rotate(value))
    elif isinstance(value, list):
        for j, part in enumerate(value):
            if isinstance(part, Mapping) and isinstance(part.get("text"), str) and part["text"].strip():
                yield FieldRef((i, key, j, "text"), (part["text"].strip(),), rotate(part["text"]))


def assistant_fields(messages: Sequence[Mapping[str, Any]]) -> Iterator[FieldRef]:
    for i, m in enumerate(messages):
        if m.get("role") != "assistant":
            continue
        yield from _text_fields(i, "content", m.get("content"))
        for key in REASONING_KEYS:
            yield from _text_fields(i, key, m.get(key))
        for j, call in enumerate(m.get("tool_calls") or []):
            fn_path: Path = (i, "tool_calls", j, "function") if "function" in call else (i, "tool_calls", j)
            fn = call.get("function", call)
            name = fn.get("name")
            if isinstance(name, str) and name:
                yield FieldRef((*fn_path, "name"), (name,), rotate(name))
            args = fn.get("arguments")
            if isinstance(args, str):
                parsed = json.loads(args)
                needles = tuple(s for _, s in _leaves(parsed) if s.strip())
                if needles:
                    yield FieldRef((*fn_path, "arguments"), needles, json.dumps(_rotated_leaves(parsed)))
            elif isinstance(args, Mapping):
                for p, s in _leaves(args):
                    if s.strip():
                        yield FieldRef((*fn_path, "arguments", *p), (s,), rotate(s))


def other_texts(messages: Sequence[Mapping[str, Any]]) -> Iterator[tuple[int, str]]:
    """(message index, text) of every system, user and tool text."""
    for i, m in enumerate(messages):
        if m.get("role") == "assistant":
            continue
        content = m.get("content")
        if isinstance(content, str) and content.strip():
            yield i, content.strip()
        elif isinstance(content, list):
            for part in content:
                if isinstance(part, Mapping) and isinstance(part.get("text"), str) and part["text"].strip():
                    yield i, part["text"].strip()


def _set(messages: list[dict[str, Any]], path: Path, value: Any) -> None:
    target: Any = messages
    for p in path[:-1]:
        target = target[p]
    target[path[-1]] = value


def diff_region(a: str, b: str) -> tuple[int, int] | None:
    """``[p, q)`` of ``a`` outside the common prefix and suffix of ``a`` and ``b``; ``None`` when equal."""
    if a == b:
        return None
    p = len(os.path.commonprefix([a, b]))
    s = len(os.path.commonprefix([a[p:][::-1], b[p:][::-1]]))
    return p, len(a) - s


def _occurrences(text: str, needle: str, lo: int = 0, hi: int | None = None) -> Iterator[int]:
    hi = len(text) if hi is None else hi
    pos = text.find(needle, lo, hi)
    while pos >= 0:
        yield pos
        pos = text.find(needle, pos + 1, hi)


class Supervision:
    """Which characters of the render the mask supervises, token by token."""

    def __init__(self, text: str, offsets: Sequence[tuple[int, int]], mask: Sequence[int],
                 straddles: Sequence[int]) -> None:
        self.text = text
        self.offsets = offsets
        self.mask = mask
        self.straddle_set = set(straddles)
        self.char = bytearray(len(text))  # 1 supervised, 2 supervised through a reported straddle
        for t, ((a, b), m) in enumerate(zip(offsets, mask)):
            if m:
                self.char[a:b] = (b"\x02" if t in self.straddle_set else b"\x01") * (b - a)

    def wholly(self, a: int, b: int) -> bool:
        return b > a and all(self.char[a:b])

    def touched(self, a: int, b: int) -> tuple[bool, bool]:
        """(any character supervised by a plain token, any only through a reported straddle)."""
        chunk = self.char[a:b]
        return 1 in chunk, 2 in chunk


Renderer = Callable[[list[dict[str, Any]]], str]


def check(text: str, messages: Sequence[Mapping[str, Any]], sup: Supervision, renderer: Renderer,
          generation_prompt: str = "") -> Checks:
    """Run the field, other-text and turn checks (``renderer`` renders a modified copy of the messages).

    ``generation_prompt`` is what ``add_generation_prompt=True`` adds after a one-user render: text in the
    prompt at inference, which the empty-reasoning check does not require to be supervised.
    """
    out = Checks()
    _check_assistant_fields(text, messages, sup, renderer, out)
    windows = _assistant_windows(text, messages)
    _check_other_texts(text, messages, sup, out)
    _check_turns(sup, windows, out)
    _check_empty_reasoning(text, messages, sup, renderer, windows, generation_prompt, out)
    return out


def _render_or_none(renderer: Renderer, messages: list[dict[str, Any]]) -> str | None:
    try:
        return renderer(messages)
    except LossmaskError:
        return None


def _check_assistant_fields(text: str, messages: Sequence[Mapping[str, Any]], sup: Supervision,
                            renderer: Renderer, out: Checks) -> None:
    for ref in assistant_fields(messages):
        changed = copy.deepcopy(list(messages))
        _set(changed, ref.path, ref.perturbed)
        other = _render_or_none(renderer, changed)
        region = diff_region(text, other) if other is not None else None
        if other is not None and region is None:
            out.fields_not_rendered += 1
            continue
        out.fields_rendered += 1
        lo, hi = region if region else (0, len(text))
        located = True
        for needle in ref.needles:
            # An occurrence inside the changed region, extended by the needle's length on both sides so an
            # occurrence the diff cut through (a shared first letter) is still seen.
            spots = list(_occurrences(text, needle, max(0, lo - len(needle)), min(len(text), hi + len(needle))))
            if not spots:
                located = False
                continue
            if not any(sup.wholly(p, p + len(needle)) for p in spots):
                out.violations.append(f"assistant_field: {ref.json_path} {needle!r} is rendered at {spots[0]} "
                                      f"but not supervised under canonical")
                break
        else:
            if located:
                out.fields_supervised += 1
        if not located:
            out.not_located += 1


def _check_other_texts(text: str, messages: Sequence[Mapping[str, Any]], sup: Supervision, out: Checks) -> None:
    for i, needle in other_texts(messages):
        for p in _occurrences(text, needle):
            out.other_texts_checked += 1
            plain, through_straddle = sup.touched(p, p + len(needle))
            role = messages[i].get("role")
            if plain:
                out.violations.append(f"non_assistant_text: {role} text of $.messages[{i}] at {p} is supervised")
            elif through_straddle:
                out.straddles_into_other_text += 1


def _assistant_windows(text: str, messages: Sequence[Mapping[str, Any]]) -> list[tuple[int, int]]:
    """Gaps between non-assistant texts (every occurrence, in render order) that belong to an assistant turn.

    A gap belongs to one when an assistant field's text occurs in it, when the texts bounding it come from
    messages with an assistant message between them (in message order), or when it is the tail of a render
    whose last message is an assistant's. Templates that move messages (a system prompt printed in the last
    user turn) are handled by the first rule; empty assistant turns by the other two.
    """
    spans = sorted((p, p + len(needle), i) for i, needle in other_texts(messages) for p in _occurrences(text, needle))
    needles = [n for ref in assistant_fields(messages) for n in ref.needles]
    n = len(messages)
    bounds = [(0, 0, -1), *spans, (len(text), len(text), n)]
    windows = []
    for (_, end_a, m_a), (start_b, _, m_b) in zip(bounds, bounds[1:]):
        if start_b <= end_a:
            continue
        between = range(min(m_a, m_b) + 1, max(m_a, m_b))
        if any(text.find(x, end_a, start_b) >= 0 for x in needles) \
                or any(messages[k].get("role") == "assistant" for k in between if 0 <= k < n) \
                or (m_b == n and n and messages[-1].get("role") == "assistant"):
            windows.append((end_a, start_b))
    return windows


def _check_turns(sup: Supervision, windows: list[tuple[int, int]], out: Checks) -> None:
    for t, ((a, b), m) in enumerate(zip(sup.offsets, sup.mask)):
        if not m or b <= a or t in sup.straddle_set:
            continue
        if not any(lo <= a and b <= hi for lo, hi in windows):
            out.violations.append(f"outside_assistant_turn: supervised token {t} {sup.text[a:b]!r} at {a} lies "
                                  f"outside every assistant turn")
            return  # one line per render is enough to name the problem


def _check_empty_reasoning(text: str, messages: Sequence[Mapping[str, Any]], sup: Supervision,
                           renderer: Renderer, windows: list[tuple[int, int]], generation_prompt: str,
                           out: Checks) -> None:
    for i, m in enumerate(messages):
        if m.get("role") != "assistant":
            continue
        for key in REASONING_KEYS:
            if isinstance(m.get(key), str) and not m[key].strip():
                without = copy.deepcopy(list(messages))
                without[i].pop(key)
                other = _render_or_none(renderer, without)
                region = diff_region(text, other) if other is not None else None
                if region is None or region[1] <= region[0]:
                    continue
                # Only what the block adds inside an assistant turn (a template may also switch its system
                # prompt on the key's presence: that text is the prompt's, not the model's).
                inside = [(max(lo, region[0]), min(hi, region[1])) for lo, hi in windows
                          if max(lo, region[0]) < min(hi, region[1])]
                if not inside:
                    continue
                out.empty_reasoning_blocks += 1
                prompt = bytearray(len(text))  # characters of the generation prompt: in the prompt, not generated
                for p in _occurrences(text, generation_prompt) if generation_prompt else ():
                    prompt[p:p + len(generation_prompt)] = b"\x01" * len(generation_prompt)
                missed = [c for lo, hi in inside for c in range(lo, hi) if not sup.char[c] and not prompt[c]]
                if missed:
                    out.violations.append(f"empty_reasoning: $.messages[{i}].{key} is empty but renders "
                                          f"{text[inside[0][0]:inside[-1][1]]!r} at {inside[0][0]}; "
                                          f"{len(missed)} of its characters are not supervised")


def renderer_for(tokenizer: Any, template: str, tools: Any, kwargs: Mapping[str, Any]) -> Renderer:
    def run(messages: list[dict[str, Any]]) -> str:
        return render(tokenizer, template, messages, tools, dict(kwargs))
    return run


def generation_prompt(tokenizer: Any, template: str, messages: Sequence[Mapping[str, Any]], tools: Any,
                      kwargs: Mapping[str, Any]) -> str:
    """What ``add_generation_prompt=True`` appends to the conversation's first user message ("" if unknown)."""
    first = next((dict(m) for m in messages if m.get("role") == "user"), None)
    if first is None:
        return ""
    try:
        plain = render(tokenizer, template, [first], tools, dict(kwargs))
        prompted = render(tokenizer, template, [first], tools, dict(kwargs), add_generation_prompt=True)
    except LossmaskError:
        return ""
    return prompted[len(plain):] if prompted.startswith(plain) else ""
