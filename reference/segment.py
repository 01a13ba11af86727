"""Segment a rendered conversation: label every character with its message, part and source.

Inputs are the real render ``text``, the field spans found by :mod:`reference.markers` and the template's
:class:`~reference.structure.TemplateStructure`. For each assistant message, in order:

1. its **body** runs from its first rendered field back to just after its role header and forward to its
   end-of-turn string. The header is searched for only in template text between the previous message's last
   field and this message's first field (never inside anyone's text, so literals in user or tool content
   cannot hijack it); complete header…end-of-turn blocks the template writes there for the message (an
   empty reasoning channel) are part of the body; the generation-prompt suffix is the learned suffix when the
   text after the header starts with it;
2. the **end of turn** is the earliest learned end-of-turn string in the template text after the body's last
   field, and the **separator** the learned text that follows it;
3. template text inside the body (``\\n</think>\\n\\n``, ``<tool_call>\\n<function=``) takes the label of the
   tool call it leads into, of the reasoning or tool call it closes, or of the reasoning it opens; otherwise it
   is ``glue`` (template text no field holds, such as a think frame on a turn without reasoning).

An assistant message with no rendered field (empty content, no reasoning, no calls) is located by its header
alone, searched forward from the previous message.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Mapping, Sequence
from functools import partial
from operator import itemgetter
from typing import Any

from . import segments as S
from .conversation import message_weight
from .markers import Field, FieldSpan
from .structure import TemplateStructure


#: ``Segment`` from a 5-tuple without the named tuple's keyword-handling ``__new__`` (thousands per conversation).
_segment = partial(tuple.__new__, S.Segment)
_END = itemgetter(2)  # FieldSpan.end


def _body_glue_part(prev: str | None, nxt: str | None, text: str, one_field: bool = False) -> str:
    """The label of template text between two fields of one assistant body (``None``: the body's edge).

    Markup that opens a tool call or closes reasoning or a call belongs to that field, and so does what opens
    reasoning. Whitespace beside the answer stays ``content``: markers sit inside a field's own leading and
    trailing whitespace (so ``|trim`` behaves), which the render may keep. Anything else (a think frame on a turn
    without reasoning, a channel header before the answer, content parts printed as a list) is ``glue``: no
    field holds it. Text between two pieces of one field (``one_field``: the empty ``<think></think>`` inside an
    assistant's content, split around its reasoning) is that field's: the message holds it.
    """
    if nxt == S.TOOL_CALL:
        return S.TOOL_CALL
    if prev in (S.REASONING, S.TOOL_CALL):
        return prev
    if nxt == S.REASONING:
        return S.REASONING
    if one_field or (not text.strip() and S.CONTENT in (prev, nxt)):
        return S.CONTENT
    return S.GLUE


def _field_root(path: str) -> str:
    """A field's path without the piece suffix markers add when they split one value (``<before-reasoning>``)."""
    return path.split("<", 1)[0]


def _last_user_index(messages: Sequence[Mapping[str, Any]]) -> int:
    for i in range(len(messages) - 1, -1, -1):
        if messages[i].get("role") == "user":
            return i
    return -1


class Segmenter:
    """One conversation's segmentation (build with :meth:`run`)."""

    def __init__(self, text: str, messages: Sequence[Mapping[str, Any]], fields: list[Field],
                 spans: list[FieldSpan], structure: TemplateStructure) -> None:
        self.text = text
        self.messages = messages
        self.fields = fields
        self.spans = sorted(spans, key=itemgetter(1, 2))  # (start, end); linear when already sorted
        self.structure = structure
        self.warnings: list[str] = []
        # A field rendered twice (gpt-oss repeats a call's name in the tool turn) places its turn by its first
        # occurrence; later occurrences are template text of another message (labelled ``other``).
        # Built from the sorted spans, so each message's list is in text order.
        self.by_message: dict[int, list[FieldSpan]] = defaultdict(list)
        seen: set[int] = set()
        self.first: list[FieldSpan] = []  # first occurrences, in text order
        for span in self.spans:
            if span.field not in seen:
                seen.add(span.field)
                self.first.append(span)
                self.by_message[fields[span.field].message].append(span)

        # Field spans in text order: the bounds below look only at the fields nearest a position, and only
        # at fields positioned on the right side of it (a template may move a message, e.g. a late system
        # message rendered first), so each lookup is a short scan from a bisection.
        self.ordered = sorted((s.start, s.end, fields[s.field].message) for s in spans if s.field in seen)
        self.ordered_starts = [o[0] for o in self.ordered]

    # -- locating assistant turns -------------------------------------------------------------------------
    def _prev_bound(self, i: int, floor: int, before: int | None) -> int:
        """End of the last field of an earlier message that lies before ``before`` (and after ``floor``)."""
        k = bisect_left(self.ordered_starts, len(self.text) if before is None else before)
        best = floor
        while k > 0:
            k -= 1
            start, end, m = self.ordered[k]
            if end <= floor:
                break
            if m < i and (before is None or end <= before):
                best = max(best, end)
                break
        return best

    def _next_bound(self, i: int, after: int) -> int:
        """Start of the first field of a later message that lies at or after ``after``."""
        k = bisect_left(self.ordered_starts, after)
        while k < len(self.ordered):
            start, _, m = self.ordered[k]
            if m > i:
                return start
            k += 1
        return len(self.text)

    def _end_of_turn(self, start: int, stop: int) -> tuple[tuple[int, int], tuple[int, int]]:
        """Earliest learned end-of-turn string in ``text[start:stop]`` and the separator after it."""
        best: tuple[int, str, str] | None = None
        for end, sep in self.structure.end_markers:
            pos = self.text.find(end, start, stop)
            if pos >= 0 and (best is None or pos < best[0]):
                best = (pos, end, sep)
        if best is None:
            return (start, start), (start, start)
        pos, end, sep = best
        eot = (pos, pos + len(end))
        if sep and self.text.startswith(sep, eot[1]) and eot[1] + len(sep) <= max(stop, eot[1] + len(sep)):
            return eot, (eot[1], eot[1] + len(sep))
        return eot, (eot[1], eot[1])

    def _open_blocks(self, h: int, lo: int) -> int:
        """Move a turn's start back over complete blocks the template wrote for it before its first field.

        A block is the header, template text and a learned end-of-turn string (with its separator) directly
        followed by the header found at ``h``: gpt-oss writes ``<|start|>assistant<|channel|>analysis<|message|>
        <|end|>`` for an empty reasoning field before the final channel. The model generates that block, so it
        belongs to the message's body, not to the template text between messages. Only text after the previous
        message's last field (``lo``) is searched, so no other message's block can be taken.
        """
        st = self.structure
        ends = [e + sep for e, sep in st.end_markers if e]
        while ends:
            prev = self.text.rfind(st.header, lo, h)
            if prev < 0:
                return h
            block = self.text[prev + len(st.header):h]
            if not any(block.endswith(e) for e in ends):
                return h
            h = prev
        return h

    def _turn(self, i: int, floor: int, last_user: int) -> S.AssistantTurn | None:
        st = self.structure
        own = self.by_message.get(i, [])  # in text order: built from the sorted spans
        last = max(map(_END, own)) if own else None
        lo = self._prev_bound(i, floor, own[0].start if own else None)
        hi = self._next_bound(i, last if own else lo)
        if own:
            first = own[0].start
            h = self.text.rfind(st.header, lo, first) if st.header else -1
            if h >= 0:
                h = self._open_blocks(h, lo)
        else:
            first = last = None
            h = self.text.find(st.header, lo, hi) if st.header else -1
        if h >= 0:
            header = (h, h + len(st.header))
            x_end = header[1] + len(st.gen_prompt_suffix)
            limit = first if first is not None else hi
            if st.gen_prompt_suffix and self.text.startswith(st.gen_prompt_suffix, header[1]) and x_end <= limit:
                suffix = (header[1], x_end)
            else:
                suffix = (header[1], header[1])
            body_start = suffix[1]
        elif first is not None and not st.header and st.pre_assistant and \
                (p := self.text.rfind(st.pre_assistant, lo, first)) >= 0:
            body_start = p + len(st.pre_assistant)
            header = suffix = (body_start, body_start)
        elif first is not None:
            body_start = first
            lead = st.tool_call_lead
            if lead and self.fields[own[0].field].part == S.TOOL_CALL and self.text.startswith(lead, first - len(lead)) \
                    and first - len(lead) >= lo:
                body_start = first - len(lead)
            elif st.header:
                self.warnings.append(f"$.messages[{i}]: no assistant header before its text; body starts at its text")
            header = suffix = (body_start, body_start)
        elif not st.header:
            p = self.text.find(st.pre_assistant, lo, hi) if st.pre_assistant else -1
            if p >= 0:
                body_start = p + len(st.pre_assistant)
            else:
                # Nothing of this turn but its end-of-turn was rendered (Mistral: an empty assistant after tool
                # results). The template text before it frames the previous message, so the body is empty.
                eot = self._end_of_turn(lo, hi)[0]
                body_start = eot[0] if eot[1] > eot[0] else lo
            header = suffix = (body_start, body_start)
        elif st.end_only_in_assistant_turns and self._end_of_turn(lo, hi)[0][1] > lo:
            # Nothing but the end-of-turn was rendered (empty content, calls dropped by the template).
            body_start = self._end_of_turn(lo, hi)[0][0]
            header = suffix = (body_start, body_start)
            self.warnings.append(f"$.messages[{i}]: only the end-of-turn of this assistant turn was rendered")
        else:
            self.warnings.append(f"$.messages[{i}]: assistant turn not found in the render (nothing rendered)")
            return None
        eot, sep = self._end_of_turn(last if last is not None else body_start, hi)
        body_end = eot[0] if eot[1] > eot[0] else (last if last is not None else body_start)
        # (message, header, gen_prompt_suffix, body, end_of_turn, separator, weight, last), positionally: one
        # per assistant message, and a named tuple's keyword call costs more than the rest of this method.
        return S.AssistantTurn(i, header, suffix, (body_start, body_end), eot, sep, message_weight(self.messages[i]),
                               i > last_user)

    # -- labelling ------------------------------------------------------------------------------------------
    def run(self) -> tuple[list[S.Segment], list[S.AssistantTurn]]:
        turns: list[S.AssistantTurn] = []
        floor = 0
        last_user = _last_user_index(self.messages)
        for i, message in enumerate(self.messages):
            if message.get("role") != "assistant":
                continue
            turn = self._turn(i, floor, last_user)
            if turn is not None:
                turns.append(turn)
                floor = max(turn.span[1], floor)
        return self._label(turns), turns

    def _label(self, turns: list[S.AssistantTurn]) -> list[S.Segment]:
        fields = self.fields
        # Only first occurrences: a repeated one (gpt-oss prints the call name again in the tool message's
        # header) is template text of another message, not the field: it stays ``other``.
        out = [_segment((s.start, s.end, fields[s.field].part, fields[s.field].message, "field"))
               for s in self.first if s.end > s.start]
        for turn in turns:
            i = turn.message
            for (a, b), part in ((turn.header, S.HEADER), (turn.gen_prompt_suffix, S.GEN_PROMPT_SUFFIX),
                                 (turn.end_of_turn, S.END_OF_TURN), (turn.separator, S.SEPARATOR)):
                if b > a:
                    out.append(_segment((a, b, part, i, "template")))
            out.extend(self._body_glue(turn))
        out.sort(key=itemgetter(0, 1))  # (start, end)
        return self._fill(out)

    def _body_glue(self, turn: S.AssistantTurn) -> list[S.Segment]:
        start, end = turn.body
        text = self.text
        own = [s for s in self.by_message.get(turn.message, []) if start <= s.start and s.end <= end]
        parts = [self.fields[s.field].part for s in own]
        out = []
        cursor, prev, prev_path = start, None, None
        for span, part in zip(own, parts):
            path = _field_root(self.fields[span.field].path)
            if span.start > cursor:
                out.append(_segment((cursor, span.start,
                                     _body_glue_part(prev, part, text[cursor:span.start], path == prev_path),
                                     turn.message, "template")))
            cursor, prev, prev_path = max(cursor, span.end), part, path
        if end > cursor:
            out.append(_segment((cursor, end, _body_glue_part(prev, None, text[cursor:end]), turn.message, "template")))
        return out

    def _fill(self, segs: list[S.Segment]) -> list[S.Segment]:
        """Resolve overlaps (first wins) and label every uncovered character as template ``other``."""
        out: list[S.Segment] = []
        cursor = 0
        for seg in segs:
            start, end = seg[0], seg[1]
            if end <= cursor:
                continue
            if start > cursor:
                out.append(_segment((cursor, start, S.OTHER, None, "template")))
            elif start < cursor:
                seg = _segment((cursor, end, seg[2], seg[3], seg[4]))
            out.append(seg)
            cursor = end
        if cursor < len(self.text):
            out.append(_segment((cursor, len(self.text), S.OTHER, None, "template")))
        return out
