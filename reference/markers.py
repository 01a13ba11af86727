"""Field markers: find where every message field lands in the render, from one extra render.

Each field's value is rewritten as ``leading-whitespace + OPEN + core + CLOSE + trailing-whitespace`` with
OPEN/CLOSE private-use code points unique to the field. Whitespace stays outside the markers so ``|trim``,
``strip`` and ``lstrip('\\n')`` act on the value exactly as on the original, and the markers are not whitespace,
letters or JSON-escaped characters, so the template treats the marked value like the real one. After rendering,
removing the markers must give back the real render character for character (checked by the caller); the
marker positions are then exact field spans. A field the template drops has no markers, a field it renders twice
has two spans.

Fields of non-assistant messages are marked too, so system/user/tool text is labelled exactly and a template
literal inside user text can never be mistaken for template output. Templates that test the *edges* of such
text (``content.startswith('<tool_response>')``) see the markers; for them the caller retries with assistant
fields only (``scope="assistant"``).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping, Sequence
from functools import partial
from itertools import accumulate, repeat
from operator import itemgetter
from typing import Any, NamedTuple

from . import segments as S
from .conversation import REASONING_KEYS

_BASE = 0xF0000  # Supplementary Private Use Area-A: never produced by tokenizers' normalisers.
_LIMIT = 0xFFFFD
MARKER_RE = re.compile("[\U000F0000-\U000FFFFD]")
#: A marker as a template's own serialiser may print it: Python's repr (``str(list)``, ``{{ dict }}``) writes
#: ``\U000fxxxx`` for these non-printable code points, JSON with ``ensure_ascii`` a surrogate pair.
ESCAPED_MARKER_RE = re.compile(r"\\U000f[0-9a-f]{4}|\\udb[89ab][0-9a-f]\\ud[c-f][0-9a-f]{2}")
_ANY_MARKER_RE = re.compile(f"{MARKER_RE.pattern}|{ESCAPED_MARKER_RE.pattern}")
_SPLIT_RE = re.compile(f"({MARKER_RE.pattern})")
_SPLIT_ANY_RE = re.compile(f"({_ANY_MARKER_RE.pattern})")
_SPLIT_UTF8_RE = re.compile(rb"(\xf3[\xb0-\xbf][\x80-\xbf][\x80-\xbf])")  # U+F0000..U+FFFFF in UTF-8
_MAX_FIELD = (_LIMIT - 1 - _BASE) // 2  # the last k whose CLOSE marker fits
_CACHED = 4096
_OPEN = [chr(_BASE + 2 * k) for k in range(_CACHED)]
_CLOSE = [chr(_BASE + 2 * k + 1) for k in range(_CACHED)]
#: Lone surrogates: valid in a Python string (and as JSON escapes), not Unicode text; no tokenizer takes them.
SURROGATE_RE = re.compile("[\ud800-\udfff]")
#: Inline reasoning convention of reasoning datasets (R1-style): ``<think>…</think>`` at the start of content.
THINK_OPEN, THINK_CLOSE = "<think>", "</think>"
_ROLE_PART = {"system": S.SYSTEM, "developer": S.SYSTEM, "user": S.USER, "tool": S.TOOL, "ipython": S.TOOL,
              "function": S.TOOL}


class MarkerOverflow(ValueError):
    """Too many fields for the marker alphabet (data holding marker code points is refused by ``segment``)."""


class Field(NamedTuple):
    message: int
    part: str
    path: str


class FieldSpan(NamedTuple):
    field: int  # index into the field table
    start: int
    end: int
    complete: bool  # False when only one of the two markers survived the template


#: ``FieldSpan`` from a 4-tuple, without the named tuple's ``__new__`` (one per marker pair of a render).
_fieldspan = partial(tuple.__new__, FieldSpan)


class _Marker:
    def __init__(self, skip: frozenset[int] = frozenset()) -> None:
        self.fields: list[Field] = []
        self.skip = skip

    def wrap(self, value: str, message: int, part: str, path: str) -> str:
        k = len(self.fields)
        if value and not value[0].isspace() and not value[-1].isspace() and not self.skip:
            # The common case, nothing to strip around the text: the same markers, without the three strips.
            if k > _MAX_FIELD:
                raise MarkerOverflow("more than 32767 fields in one conversation")
            self.fields.append(Field(message, part, path))
            if k < _CACHED:
                return f"{_OPEN[k]}{value}{_CLOSE[k]}"
            return f"{chr(_BASE + 2 * k)}{value}{chr(_BASE + 2 * k + 1)}"
        core = value.strip()
        if not core:
            return value  # whitespace-only or empty: marking it would change its truthiness
        if k > _MAX_FIELD:
            raise MarkerOverflow("more than 32767 fields in one conversation")
        self.fields.append(Field(message, part, path))
        if k in self.skip:  # numbered like every other field, rendered as it is (see ``mark``)
            return value
        lead = value[: len(value) - len(value.lstrip())]
        trail = value[len(value.rstrip()):]
        return f"{lead}{chr(_BASE + 2 * k)}{core}{chr(_BASE + 2 * k + 1)}{trail}"

    def text(self, value: Any, message: int, part: str, path: str) -> Any:
        if isinstance(value, str):
            return self.wrap(value, message, part, path)
        if isinstance(value, list):  # content parts: mark the text parts only
            out = []
            for j, item in enumerate(value):
                if isinstance(item, Mapping) and item.get("type", "text") == "text" and isinstance(item.get("text"), str):
                    item = {**item, "text": self.wrap(item["text"], message, part, f"{path}[{j}].text")}
                out.append(item)
            return out
        return value

    def assistant_content(self, value: Any, message: int, path: str) -> Any:
        if not isinstance(value, str) or THINK_CLOSE not in value:
            return self.text(value, message, S.CONTENT, path)
        head, _, tail = value.partition(THINK_CLOSE)
        before, sep, reasoning = head.rpartition(THINK_OPEN)
        middle, _, after = tail.rpartition(THINK_CLOSE) if THINK_CLOSE in tail else ("", "", tail)
        # Text before an inline ``<think>`` is the assistant's too: left unmarked it would read as template
        # text, and a header literal inside it would be taken for the turn's real header.
        marked_before = self.wrap(before, message, S.CONTENT, f"{path}<before-reasoning>")
        marked_reasoning = self.wrap(reasoning, message, S.REASONING, f"{path}<reasoning>")
        marked_after = self.wrap(after, message, S.CONTENT, path)
        rest = f"{middle}{THINK_CLOSE}" if middle or THINK_CLOSE in tail else ""
        return f"{marked_before}{sep}{marked_reasoning}{THINK_CLOSE}{rest}{marked_after}"

    def arguments(self, value: Any, message: int, path: str) -> Any:
        if isinstance(value, str):
            return self.wrap(value, message, S.TOOL_CALL, path)
        if isinstance(value, Mapping):
            return {k: self.arguments(v, message, f"{path}.{k}") for k, v in value.items()}
        if isinstance(value, list):
            return [self.arguments(v, message, f"{path}[{j}]") for j, v in enumerate(value)]
        return value


def _copy_call(call: Any) -> Any:
    if not isinstance(call, Mapping):
        return call
    out = dict(call)
    if isinstance(out.get("function"), Mapping):
        out["function"] = dict(out["function"])
    return out


def mark(messages: Sequence[Mapping[str, Any]], scope: str = "all",
         skip: frozenset[int] = frozenset()) -> tuple[list[dict[str, Any]], list[Field]]:
    """Return marked copies of the messages and the field table (marker k ↔ ``fields[k]``).

    Fields numbered in ``skip`` keep their number and table entry but are left unmarked: a field whose markers
    change what the template renders is located no better than a field the template drops, and the rest of
    the conversation is still marked (the caller's fallback, see ``reference.mask.segment``).
    """
    marker = _Marker(skip)
    out: list[dict[str, Any]] = []
    for i, message in enumerate(messages):
        # Shallow copies of exactly what gets rewritten (the message, its calls and their functions); the
        # rest is shared with the caller's data and never mutated. A deep copy cost more than the marking.
        msg = dict(message)
        if isinstance(msg.get("tool_calls"), list):
            msg["tool_calls"] = [_copy_call(c) for c in msg["tool_calls"]]
        role = msg.get("role")
        base = f"$.messages[{i}]"
        if role == "assistant":
            for key in REASONING_KEYS:
                if isinstance(msg.get(key), str):
                    msg[key] = marker.wrap(msg[key], i, S.REASONING, f"{base}.{key}")
            msg["content"] = marker.assistant_content(msg.get("content"), i, f"{base}.content")
            if msg.get("content") is None and "content" not in message:
                msg.pop("content")
            for j, call in enumerate(msg.get("tool_calls") or []):
                fn = call.get("function", call)
                where = f"{base}.tool_calls[{j}]" + (".function" if "function" in call else "")
                if isinstance(fn.get("name"), str):
                    fn["name"] = marker.wrap(fn["name"], i, S.TOOL_CALL, f"{where}.name")
                if "arguments" in fn:
                    fn["arguments"] = marker.arguments(fn["arguments"], i, f"{where}.arguments")
        elif scope == "all" and "content" in msg:
            msg["content"] = marker.text(msg["content"], i, _ROLE_PART.get(role, S.OTHER), f"{base}.content")
        out.append(msg)
    return out, marker.fields


def may_hold_marker(text: str) -> bool:
    """False only when ``text`` cannot hold a marker: on CPython a string without a character above U+FFFF is
    stored with at most two bytes per character, which its size shows in O(1); the regex search it spares is
    tested character by character (the costliest part of checking a conversation's data)."""
    if sys.implementation.name != "cpython":
        return True
    return sys.getsizeof(text) >= 4 * len(text)


def reserved_path(messages: Sequence[Mapping[str, Any]], tools: Sequence[Any] | None = None,
                  pattern: re.Pattern[str] = MARKER_RE) -> str | None:
    """JSON path of the first string in the data matching ``pattern``, by default a marker code point
    (``None``: none does).

    Called only when the real render contains one (a single regex search per conversation), so the cost of
    walking the data is paid on failure only.
    """
    def walk(value: Any, path: str) -> str | None:
        if isinstance(value, str):
            return path if pattern.search(value) else None
        if isinstance(value, Mapping):
            items = ((f"{path}.{k}", v) for k, v in value.items())
        elif isinstance(value, list | tuple):
            items = ((f"{path}[{j}]", v) for j, v in enumerate(value))
        else:
            return None
        return next((hit for p, v in items if (hit := walk(v, p))), None)

    return walk(list(messages), "$.messages") or walk(list(tools or []), "$.tools")


def _code(marker: str) -> int:
    """The marker number of a raw or escaped marker."""
    if len(marker) == 1:
        return ord(marker) - _BASE
    if marker[1] == "U":
        return int(marker[2:], 16) - _BASE
    high, low = int(marker[2:6], 16), int(marker[8:12], 16)
    return 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00) - _BASE


def _split_utf8(marked_text: str) -> tuple[str, list[int], Any] | None:
    """Raw markers found in the UTF-8 bytes of the render: ``(clean text, marker numbers, lengths of the text
    before each marker)``; ``None`` when the render holds U+FFFFE/U+FFFFF (plane-15 code points that are not
    markers), left to the code-point regex.

    Why bytes: every marker's UTF-8 form starts with the byte F3 followed by B0-BF, which the regex engine finds
    with a literal-prefix search; a character class over code points above U+FFFF is tested character by
    character and cost several times as much on a long render. UTF-8 is self-synchronising, so a match is always
    a whole character.
    """
    raw = marked_text.encode("utf-8", "surrogatepass")
    parts = _SPLIT_UTF8_RE.split(raw)
    if len(parts) == 1:
        return marked_text, [], ()
    texts = parts[0::2]
    codes = [c - _BASE for c in map(ord, b"".join(parts[1::2]).decode("utf-8"))]
    if max(codes) > _LIMIT - _BASE:
        return None
    clean = b"".join(texts).decode("utf-8", "surrogatepass")
    if clean.isascii():  # one byte per character: lengths are byte lengths
        lengths: Any = map(len, texts[:-1])
    else:
        lengths = [len(t.decode("utf-8", "surrogatepass")) if not t.isascii() else len(t) for t in texts[:-1]]
    return clean, codes, lengths


def strip(marked_text: str, escaped: bool = False) -> tuple[str, list[FieldSpan]]:
    """Remove markers; return the clean text and the field spans in clean-text offsets.

    With ``escaped``, markers the template printed through repr or ASCII JSON (:data:`ESCAPED_MARKER_RE`)
    are removed too. The caller allows it only when the real render holds no such escape of its own, so a
    literal ``\\U000f…`` in someone's text can never be taken for a marker.
    """
    found = None if escaped else _split_utf8(marked_text)
    if found is None:
        parts = (_SPLIT_ANY_RE if escaped else _SPLIT_RE).split(marked_text)  # text, marker, ..., text
        if len(parts) == 1:
            return marked_text, []
        texts = parts[0::2]
        clean = "".join(texts)
        codes = [ord(c) - _BASE for c in parts[1::2]] if not escaped else [_code(c) for c in parts[1::2]]
        lengths = map(len, texts[:-1])
    else:
        clean, codes, lengths = found
        if not codes:
            return marked_text, []
    # Each marker's clean offset is the length of the text before it: C-level accumulate, no per-match objects.
    positions = list(accumulate(lengths))
    opens, closes = codes[0::2], codes[1::2]
    if len(opens) == len(closes) and closes == [c + 1 for c in opens] and not any(c & 1 for c in opens):
        # Every field printed whole, one after another (what a proved template renders): each OPEN is followed
        # by its CLOSE, so the pairs are the spans, already in text order. The loop below gives the same.
        return clean, list(map(_fieldspan, zip([c >> 1 for c in opens], positions[0::2], positions[1::2],
                                               repeat(True))))
    events = list(zip(codes, positions))
    spans: list[FieldSpan] = []
    open_at: dict[int, int] = {}
    last = 0  # clean offset of the previous marker event (bounds an orphan marker)
    span = _fieldspan
    for code, pos in events:
        k, is_close = divmod(code, 2)
        if not is_close:
            if k in open_at:  # opened twice without closing: close the first at this point
                spans.append(span((k, open_at.pop(k), pos, False)))
            open_at[k] = pos
        elif k in open_at:
            spans.append(span((k, open_at.pop(k), pos, True)))
        else:
            spans.append(span((k, last, pos, False)))
        last = pos
    for k, start in open_at.items():
        nxt = [p for _, p in events if p > start]
        spans.append(FieldSpan(k, start, nxt[0] if nxt else len(clean), False))
    spans.sort(key=itemgetter(1, 2))  # (start, end)
    return clean, spans
