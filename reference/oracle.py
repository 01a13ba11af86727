"""An independent second oracle for assistant-turn boundaries, used to cross-check the reference.

The reference finds fields with private-use markers and learns the template's header, suffix and end-of-turn
strings from probe renders. This oracle shares neither step:

* each assistant message is **anchored by a sentinel diff**: its content is replaced by a sentinel, the
  conversation re-rendered, and the common prefix and suffix of the two renders bound where the content sits
  (one render per assistant message, as slime's proposed rewrite #1994 does);
* non-assistant text is skipped by a **sequential string search** for each message's text in order;
* header, generation-prompt suffix, end-of-turn strings, separator and the empty blocks a template writes
  for an empty reasoning field come from **hand-written per-family notes**
  (``fixtures/oracle/turn_structure.json``), read off the template texts by a person.

It is slow (quadratic in turns) and only meant for tests; the reference must agree with it on every case.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .conversation import REASONING_KEYS
from .errors import TemplateRefusal
from .render import render

Span = tuple[int, int]


@dataclass(frozen=True)
class OracleTurn:
    message: int
    header: Span
    gen_prompt_suffix: Span
    body: Span
    end_of_turn: Span
    separator: Span


def _common_prefix(a: str, b: str, limit: int) -> int:
    lo, hi = 0, limit
    while lo < hi:  # binary search on slice equality: C-speed comparisons
        mid = (lo + hi + 1) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _common_suffix(a: str, b: str, limit: int) -> int:
    lo, hi = 0, limit
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[len(a) - mid:] == b[len(b) - mid:]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _texts(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value.strip()] if value.strip() else []
    if isinstance(value, list):
        return [p["text"].strip() for p in value
                if isinstance(p, Mapping) and isinstance(p.get("text"), str) and p["text"].strip()]
    return []


def _reasoning_texts(message: Mapping[str, Any]) -> list[str]:
    out = [message[k].strip() for k in REASONING_KEYS if isinstance(message.get(k), str) and message[k].strip()]
    content = message.get("content")
    if isinstance(content, str) and "</think>" in content:
        inline = content.split("</think>")[0].split("<think>")[-1].strip()
        if inline:
            out.append(inline)
    return out


def _call_names(message: Mapping[str, Any]) -> list[str]:
    names = []
    for call in message.get("tool_calls") or []:
        fn = call.get("function", call) if isinstance(call, Mapping) else {}
        if isinstance(fn.get("name"), str):
            names.append(fn["name"])
    return names


def oracle_turns(tokenizer: Any, chat_template: str, messages: Sequence[Mapping[str, Any]],
                 tools: Sequence[Mapping[str, Any]] | None, template_kwargs: Mapping[str, Any] | None,
                 declared: Mapping[str, Any]) -> list[OracleTurn]:
    """Assistant turn boundaries found with sentinel diffs and the declared per-family strings."""
    text = render(tokenizer, chat_template, messages, tools, template_kwargs)
    if (template_kwargs or {}).get("enable_thinking") is False:
        declared = {**declared, **declared.get("when_thinking_off", {})}
    header, suffix = declared["header"], declared["gen_prompt_suffix"]
    ends, sep, prompt_ends = declared["end_of_turn"], declared["separator"], declared.get("prompt_end", [])
    turns: list[OracleTurn] = []
    cursor = 0
    for i, message in enumerate(messages):
        if message.get("role") != "assistant":
            for piece in _texts(message.get("content")):
                # Templates print tool output verbatim or as a JSON string (gpt-oss): look for both.
                for form in (piece, json.dumps(piece, ensure_ascii=False)[1:-1]):
                    pos = text.find(form, cursor)
                    if pos >= 0:
                        cursor = pos + len(form)
                        break
            continue
        probe = [copy.deepcopy(dict(m)) for m in messages]
        probe[i]["content"] = f"\u27e6oracle sentinel {i}\u27e7"
        try:
            other = render(tokenizer, chat_template, probe, tools, template_kwargs)
        except TemplateRefusal:  # gpt-oss refuses content beside thinking and calls: anchor on other text
            other = text
        pieces = [*_reasoning_texts(message), *_call_names(message)]
        if other != text:
            p = _common_prefix(text, other, min(len(text), len(other)))
            q = len(text) - _common_suffix(text, other, min(len(text), len(other)) - p)
        else:  # the template does not render this message's content: anchor on its other text
            found = [(pos, pos + len(piece)) for piece in pieces if (pos := text.find(piece, cursor)) >= 0]
            if not found:
                continue
            p, q = min(a for a, _ in found), max(b for _, b in found)
        first = p
        for piece in pieces:
            pos = text.find(piece, cursor, p)
            if pos >= 0:
                first = min(first, pos)
        h = text.rfind(header, cursor, first) if header else -1
        for block in declared.get("empty_blocks", []) if h >= 0 else []:
            # An empty reasoning block written before the text's own header belongs to the same turn.
            while h - len(header) - len(block) >= cursor and text.startswith(header + block, h - len(header) - len(block)):
                h -= len(header) + len(block)
        if h >= 0:
            head = (h, h + len(header))
            x = (head[1], head[1] + len(suffix)) if suffix and text.startswith(suffix, head[1]) else (head[1], head[1])
        else:
            cut = max((text.rfind(e, cursor, first) + len(e) for e in prompt_ends if text.rfind(e, cursor, first) >= 0),
                      default=first)
            head = x = (cut, cut)
        found = [(text.find(e, max(q, x[1])), e) for e in ends]
        found = [(pos, e) for pos, e in found if pos >= 0]
        if found:
            pos, e = min(found)
            eot = (pos, pos + len(e))
            sp = (eot[1], eot[1] + len(sep)) if sep and text.startswith(sep, eot[1]) else (eot[1], eot[1])
        else:
            eot = sp = (q, q)
        turns.append(OracleTurn(i, head, x, (x[1], eot[0]), eot, sp))
        cursor = max(cursor, sp[1])
    return turns
