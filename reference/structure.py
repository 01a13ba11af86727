"""Learn a template's assistant-turn structure from a few probe renders (cached per template and kwargs).

Nothing here knows any family's marker strings. Four facts are read off the template itself:

* the **generation prompt** ``G``: ``render([u], add_generation_prompt=True)`` minus ``render([u])``;
* the **role header** ``H``: the part of ``G`` that a *historical* assistant turn also starts with (in
  ``[u, a, u, a]`` the first assistant turn); the rest of ``G`` is the **generation-prompt suffix** ``X``
  (Qwen3.5 ``<think>\\n``), present in the prompt at inference but not written by the model;
* the **end-of-turn** strings ``E``: the special token that closes an assistant turn, read from the tail of a
  final turn (the last special token before the end of the render: what the model emits to stop), from the
  glue after a historical turn (the first special token after its content) and from a final tool-call turn;
* the **separator** ``S``: template text after ``E`` in a final turn (ChatML ``\\n``), or in a historical one
  where the template writes it only there (OLMo 2).

Special tokens are those the tokenizer's added vocabulary flags ``special``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from . import markers
from .cache import PerObjectCache
from .errors import PROBE_REFUSED, LossmaskError
from .render import render

PROBE_SYSTEM = "Probe instructions."
PROBE_USER = "Probe question one."
PROBE_USER_2 = "Probe question two."
PROBE_ANSWER = "Probe answer one."
PROBE_ANSWER_2 = "Probe answer two."
PROBE_RESULT = "Probe result one."
PROBE_TOOL = {"type": "function", "function": {"name": "probe_lookup", "description": "Look something up.",
              "parameters": {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}}}
PROBE_CALL = {"id": "call00001", "type": "function", "function": {"name": "probe_lookup", "arguments": {"query": "probe value"}}}


@dataclass(frozen=True)
class TemplateStructure:
    generation_prompt: str
    header: str
    gen_prompt_suffix: str
    #: (end-of-turn string, separator written after it), most specific first.
    end_markers: tuple[tuple[str, str], ...]
    #: Template text between a user's text and a historical assistant's text (used when ``header`` is empty,
    #: as in Mistral's ``[/INST]``: the assistant body starts after it).
    pre_assistant: str = ""
    #: Template text a tool-call-only turn writes before its first call (Mistral ``[TOOL_CALLS][{"name": "``):
    #: where no header or ``pre_assistant`` marks the turn (after tool results), the body starts this far back.
    tool_call_lead: str = ""
    #: True when no user or tool message's frame contains an end-of-turn string, so one found in template text
    #: after them belongs to an assistant turn even when that turn rendered nothing else (DeepSeek V3 writes
    #: only ``<｜end▁of▁sentence｜>`` for an empty assistant turn after tool output).
    end_only_in_assistant_turns: bool = False
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "generation_prompt": self.generation_prompt,
            "header": self.header,
            "gen_prompt_suffix": self.gen_prompt_suffix,
            "end_markers": [list(pair) for pair in self.end_markers],
            "pre_assistant": self.pre_assistant,
            "tool_call_lead": self.tool_call_lead,
            "end_only_in_assistant_turns": self.end_only_in_assistant_turns,
            "notes": list(self.notes),
        }


def special_ids(tokenizer: Any) -> frozenset[int]:
    ids = {i for i, tok in getattr(tokenizer, "added_tokens_decoder", {}).items() if getattr(tok, "special", False)}
    ids.update(getattr(tokenizer, "all_special_ids", []) or [])
    return frozenset(ids)


def _special_pieces(tokenizer: Any, text: str) -> list[tuple[int, int]]:
    """Character spans of special tokens in ``text``."""
    if not text:
        return []
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    ids, offsets = enc["input_ids"], enc["offset_mapping"]
    specials = special_ids(tokenizer)
    return [(s, e) for t, (s, e) in zip(ids, offsets) if t in specials and e > s]


@dataclass(frozen=True)
class ProbeShape:
    """How probe conversations are dressed, so that a template insisting on a form accepts them.

    The plain shape (string contents, no system message, no tools beyond the tool probe's) works for most
    templates. When it is refused, :func:`learn` probes again in the shape of the conversation being
    segmented: a system message first if it has one, text parts for the roles it gives parts, its tools on
    every probe (templates that list tools unconditionally, read a system message or index content parts).
    """

    system: bool = False
    parts_roles: frozenset[str] = frozenset()
    tools: tuple[Any, ...] = ()

    @classmethod
    def like(cls, messages: Any, tools: Any) -> ProbeShape:
        roles = frozenset(m.get("role") for m in messages if isinstance(m.get("content"), list))
        first = messages[0].get("role") if messages else None
        return cls(first in {"system", "developer"}, roles, tuple(tools or ()))

    @property
    def offset(self) -> int:
        return 1 if self.system else 0

    def key(self) -> str:
        return json.dumps([self.system, sorted(self.parts_roles), list(self.tools)], sort_keys=True, default=repr)

    def dress(self, messages: list[dict]) -> list[dict]:
        out = [{"role": "system", "content": self._content("system", PROBE_SYSTEM)}] if self.system else []
        for m in messages:
            if isinstance(m.get("content"), str) and m["content"] and m.get("role") in self.parts_roles:
                m = {**m, "content": self._content(m["role"], m["content"])}
            out.append(m)
        return out

    def _content(self, role: str, text: str) -> Any:
        return [{"type": "text", "text": text}] if role in self.parts_roles else text

    def with_tools(self, tools: list | None) -> list | None:
        merged = [*(tools or []), *(t for t in self.tools if t not in (tools or []))]
        return merged or None


PLAIN = ProbeShape()


def _render(tokenizer: Any, template: str, messages: list[dict], tools: Any, kwargs: dict, shape: ProbeShape,
            add_generation_prompt: bool = False) -> str:
    return render(tokenizer, template, shape.dress(messages), shape.with_tools(tools), kwargs,
                  add_generation_prompt=add_generation_prompt)


def _marked_render(tokenizer: Any, template: str, messages: list[dict], tools: Any, kwargs: dict,
                   shape: ProbeShape = PLAIN) -> tuple[str, list, list]:
    """Text, field spans and field table of a marked probe render (message indices those of ``messages``)."""
    marked, fields = markers.mark(shape.dress(messages))
    text, spans = markers.strip(render(tokenizer, template, marked, shape.with_tools(tools), kwargs))
    shift = shape.offset
    fields = [markers.Field(f.message - shift, f.part, f.path) for f in fields]
    return text, [s for s in spans if fields[s.field].message >= 0], fields


def _tail_after_last_field(tokenizer: Any, template: str, messages: list[dict], tools: Any, kwargs: dict,
                           shape: ProbeShape = PLAIN):
    text, spans, fields = _marked_render(tokenizer, template, messages, tools, kwargs, shape)
    last = max((s.end for s in spans if s.field >= 0), default=None)
    return (text[last:] if last is not None else ""), text, spans, fields


def _split_end(tokenizer: Any, tail: str, which: str) -> tuple[str, str] | None:
    pieces = _special_pieces(tokenizer, tail)
    if not pieces:
        return None
    s, e = pieces[-1] if which == "last" else pieces[0]
    return tail[s:e], tail[e:]


def learn(tokenizer: Any, template: str, template_kwargs: dict | None = None, messages: Any = None,
          tools: Any = None) -> TemplateStructure:
    """Probe the template; cached on (tokenizer, template, kwargs[, probe shape]).

    Probes are plain first; when the template refuses them and ``messages`` is given, they are repeated in
    that conversation's shape (:class:`ProbeShape`), and that structure is cached for that shape.
    """
    kw = json.dumps(template_kwargs, sort_keys=True, default=repr) if template_kwargs else "{}"
    try:
        return _learn_cached(tokenizer, template, kw, template_kwargs, PLAIN)
    except LossmaskError:
        shape = ProbeShape.like(messages, tools) if messages is not None else PLAIN
        if shape == PLAIN:
            raise
    return _learn_cached(tokenizer, template, kw, template_kwargs, shape)


def _learn_cached(tokenizer: Any, template: str, kw: str, kwargs: dict | None,
                  shape: ProbeShape) -> TemplateStructure:
    """One probe run per (tokenizer, template, kwargs, shape) while the tokenizer lives; a refusal is cached too
    (raised again)."""

    def probe() -> TemplateStructure | LossmaskError:
        try:
            return _learn(tokenizer, template, dict(kwargs or {}), shape)
        except LossmaskError as exc:
            return type(exc)(*exc.args, kind=exc.kind)  # without its traceback, whose frames would keep the tokenizer alive

    found = _CACHE.get(tokenizer, (template, kw, shape.key()), probe)
    if isinstance(found, LossmaskError):
        raise type(found)(*found.args, kind=found.kind) from None
    return found


#: Per tokenizer (weakly held): a structure, or the refusal, per (template, kwargs, probe shape).
_CACHE: PerObjectCache[TemplateStructure | LossmaskError] = PerObjectCache(per_object=64)


def _learn(tokenizer: Any, template: str, kwargs: dict, shape: ProbeShape) -> TemplateStructure:
    notes: list[str] = [] if shape == PLAIN else ["probed in the conversation's shape (the plain probes were refused)"]
    user = [{"role": "user", "content": PROBE_USER}]
    try:
        plain = _render(tokenizer, template, user, None, kwargs, shape)
        prompted = _render(tokenizer, template, user, None, kwargs, shape, add_generation_prompt=True)
    except LossmaskError as exc:
        raise LossmaskError(f"cannot probe the template with a one-user conversation: {exc}",
                            kind=PROBE_REFUSED) from None
    if prompted.startswith(plain):
        gen = prompted[len(plain):]
    else:
        gen = ""
        notes.append("generation prompt is not an extension of the plain render; header taken as empty")

    convo = [
        {"role": "user", "content": PROBE_USER},
        {"role": "assistant", "content": PROBE_ANSWER},
        {"role": "user", "content": PROBE_USER_2},
        {"role": "assistant", "content": PROBE_ANSWER_2},
    ]
    try:
        text, spans, fields = _marked_render(tokenizer, template, convo, None, kwargs, shape)
    except LossmaskError as exc:
        # A template can refuse a second exchange it never sees in the data (a code path the conversation
        # does not take): learn from one exchange, with the header taken as the generation prompt.
        notes.append(f"template refuses a two-exchange probe ({exc}); structure learned from one exchange")
        try:
            text, spans, fields = _marked_render(tokenizer, template, convo[:2], None, kwargs, shape)
        except LossmaskError as exc2:
            raise LossmaskError(f"cannot probe the template with a one-exchange conversation: {exc2}",
                                kind=PROBE_REFUSED) from None
    by_message = {}
    for span in spans:
        by_message.setdefault(fields[span.field].message, []).append(span)
    header = gen
    pre_assistant = ""
    hist_end: tuple[str, str] | None = None
    if 1 in by_message and 0 in by_message and 2 in by_message:
        a1 = min(s.start for s in by_message[1])
        u1_end = max(s.end for s in by_message[0])
        glue = text[u1_end:a1]
        # The historical turn starts where the glue begins to agree with the generation prompt.
        header = _historical_header(tokenizer, glue, gen)
        pre_assistant = glue
        after = text[max(s.end for s in by_message[1]): min(s.start for s in by_message[2])]
        hist_end = _split_end(tokenizer, after, "first")
    else:
        notes.append("historical probe fields not all rendered; header = generation prompt")
    suffix = gen[len(header):]

    ends: list[tuple[str, str]] = []
    tail = text[max(s.end for s in by_message.get(3, by_message.get(1, spans))):] if spans else ""
    last_end = _split_end(tokenizer, tail, "last")
    if last_end:
        ends.append(last_end)
    if hist_end:
        final_sep = last_end[1] if last_end and last_end[0] == hist_end[0] else ""
        lead = text[:min(s.start for s in by_message[0])]
        sep = _historical_separator(hist_end[1], lead, final_sep)
        if last_end and last_end[0] == hist_end[0]:
            ends[0] = (hist_end[0], sep)
        else:
            ends.append((hist_end[0], sep))
    lead = ""
    frames = [pre_assistant] if 1 in by_message else []
    try:
        tool_convo = [{"role": "user", "content": PROBE_USER},
                      {"role": "assistant", "content": "", "tool_calls": [PROBE_CALL]}]
        tool_tail, tool_text, tool_spans, tool_fields = _tail_after_last_field(
            tokenizer, template, tool_convo, [PROBE_TOOL], kwargs, shape)
        tool_end = _split_end(tokenizer, tool_tail, "last")
        if tool_end and tool_end[0] not in {e for e, _ in ends}:
            ends.append(tool_end)
        lead = _tool_call_lead(tool_text, tool_spans, tool_fields, header, suffix, pre_assistant)
        frames.extend(_tool_frames(tokenizer, template, kwargs, shape))
    except LossmaskError as exc:
        notes.append(f"template refuses a tool-call probe ({exc}); tool-call end-of-turn not learned")
    if not ends:
        notes.append("no special token ends an assistant turn: end-of-turn is empty")
    only_assistant = bool(ends) and bool(frames) and not any(e in f for e, _ in ends for f in frames)
    return TemplateStructure(gen, header, suffix, tuple(ends), pre_assistant, lead, only_assistant, tuple(notes))


def _tool_call_lead(text: str, spans: list, fields: list, header: str, suffix: str, pre_assistant: str) -> str:
    """Template text between the start of a tool-call-only assistant body and its first call field."""
    user_end = max((s.end for s in spans if fields[s.field].message == 0), default=None)
    first = min((s.start for s in spans if fields[s.field].message == 1), default=None)
    if user_end is None or first is None:
        return ""
    glue = text[user_end:first]
    if header and header in glue:
        start = glue.rfind(header) + len(header)
        return glue[start + len(suffix):] if glue.startswith(suffix, start) else glue[start:]
    if pre_assistant and glue.startswith(pre_assistant):
        return glue[len(pre_assistant):]
    return ""


def _tool_frames(tokenizer: Any, template: str, kwargs: dict, shape: ProbeShape) -> list[str]:
    """Template text between a tool result's text and the next assistant text (the tool message's frame)."""
    convo = [{"role": "user", "content": PROBE_USER},
             {"role": "assistant", "content": "", "tool_calls": [PROBE_CALL]},
             {"role": "tool", "tool_call_id": PROBE_CALL["id"], "content": PROBE_RESULT},
             {"role": "assistant", "content": PROBE_ANSWER}]
    text, spans, fields = _marked_render(tokenizer, template, convo, [PROBE_TOOL], kwargs, shape)
    tool_end = max((s.end for s in spans if fields[s.field].message == 2), default=None)
    answer = min((s.start for s in spans if fields[s.field].message == 3), default=None)
    if tool_end is None or answer is None or answer < tool_end:
        return []
    return [text[tool_end:answer]]


def _historical_separator(rest: str, user_lead: str, final_sep: str) -> str:
    """The separator a historical turn writes after its end-of-turn string.

    ``rest`` is the template text from that end-of-turn string to the next user message's text: the separator
    followed by the user message's frame. The frame is what the render also writes before the first user
    message, so the separator is what remains of ``rest`` once its longest common suffix with ``user_lead`` is
    cut off (OLMo 2 writes ``\n`` after ``<|endoftext|>`` in historical turns only). A default system prompt
    can make that suffix swallow the separator (Qwen2.5's ``<|im_end|>\n<|im_start|>user\n``), so the final
    turn's separator wins when ``rest`` starts with it and it is the longer of the two.
    """
    common = 0
    while common < min(len(rest), len(user_lead)) and rest[len(rest) - 1 - common] == user_lead[len(user_lead) - 1 - common]:
        common += 1
    own = rest[:len(rest) - common]
    if final_sep and rest.startswith(final_sep) and len(final_sep) >= len(own):
        return final_sep
    return own


def _historical_header(tokenizer: Any, glue: str, gen: str) -> str:
    """The longest prefix of ``gen`` found in the glue before a historical turn's content.

    The prefix must cover at least ``gen``'s first token, so a stray character never passes for a header.
    """
    if not gen:
        return ""
    enc = tokenizer(gen, add_special_tokens=False, return_offsets_mapping=True)
    first_token_end = max(1, enc["offset_mapping"][0][1]) if enc["input_ids"] else len(gen)
    for k in range(len(gen), first_token_end - 1, -1):
        if gen[:k] in glue:
            return gen[:k]
    return ""
