"""Hypothesis strategies for conversations that real SFT data contains, for fuzzing the reference mask.

Why these shapes: templates are most fragile where datasets are messiest (tool-call flows with string or nested
arguments, reasoning given as a field or inline ``<think>``, whitespace a template trims, text in any script,
and chat-template literals pasted into user or tool text). Roles follow the orders real trajectories have
(optional system, user/assistant rounds, assistant tool calls answered by tool messages); a small share of
irregular orders (no user, system not first, consecutive assistants, tool first) makes templates refuse, which
the properties accept only as a typed :class:`~reference.errors.TemplateRefusal`.

Every non-empty text field carries a **witness**: a short nonce such as ``§u3§`` (message 3, a user) built from
a character the text alphabet never produces. The properties find witnesses in the render by plain string
search, which is independent of the reference's own segmentation: a user witness must never be supervised, an
assistant witness that survives the template must be supervised unless its turn has weight 0.

Template literals are not hard-coded: they are the bundled tokenizers' special tokens that the templates
actually write (found by rendering a probe conversation), the learned role headers and end-of-turn strings, and
the inline-reasoning delimiters the reference itself recognises.
"""

from __future__ import annotations

import functools
import json
import string
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

from lossmask.reference.markers import THINK_CLOSE, THINK_OPEN

#: The witness delimiter; excluded from every generated alphabet so witnesses are unique in the render.
WITNESS = "§"
#: Whitespace that templates trim, strip or keep: leading and trailing pieces around generated text.
EDGE_WHITESPACE = ("", "", "", " ", "\n", "\n\n", "  \n", "\t", " \n ")
ID_ALPHABET = string.ascii_letters + string.digits
NAME_ALPHABET = string.ascii_lowercase + "_"


@dataclass
class Conversation:
    """One generated example: what the reference and ``apply_chat_template`` both receive."""

    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]] | None = None
    template_kwargs: dict[str, Any] = field(default_factory=dict)
    #: witness → (message index, role of the message that holds it).
    witnesses: dict[str, tuple[int, str]] = field(default_factory=dict)


def _probe_conversation() -> tuple[list[dict], list[dict]]:
    from tests.conversations import TOOL_FLOW, WEATHER_TOOL

    return [{"role": "system", "content": "Be brief."}, *TOOL_FLOW], [WEATHER_TOOL]


@functools.cache
def template_literals() -> tuple[str, ...]:
    """Special tokens the bundled templates write, plus learned headers and end-of-turn strings (sorted)."""
    from lossmask import assets
    from lossmask.reference.render import render
    from lossmask.reference.structure import learn

    found: set[str] = {THINK_OPEN, THINK_CLOSE}
    messages, tools = _probe_conversation()
    for name, fam in assets.families().items():
        for variant in fam.variant_names:
            loaded = assets.load_bundled(name, variant)
            tok = loaded.tokenizer
            specials = {t.content for t in tok.added_tokens_decoder.values() if t.special and t.content.strip()}
            try:
                text = render(tok, loaded.chat_template, messages, tools)
            except Exception:  # a template refusing the probe still contributes its learned structure
                text = ""
            found.update(s for s in specials if s in text)
            structure = learn(tok, loaded.chat_template, {})
            found.update(x for x in (structure.header, structure.generation_prompt) if x.strip())
            found.update(end for end, _ in structure.end_markers if end.strip())
    return tuple(sorted(found))


ALPHABET = st.one_of(
    st.characters(min_codepoint=0x20, max_codepoint=0x7E),  # ASCII, incl. JSON and Jinja punctuation
    st.characters(min_codepoint=0x4E00, max_codepoint=0x4FFF),  # CJK ideographs
    st.characters(min_codepoint=0x1F300, max_codepoint=0x1F64F),  # emoji
    st.characters(min_codepoint=0x0300, max_codepoint=0x036F),  # combining marks
    st.sampled_from("\n\t éßñ€—"),
)
# Strategies are built once: building them inside every draw costs more than the reference itself.
TEXT = st.text(ALPHABET, max_size=16)
SHORT_TEXT = st.text(ALPHABET, max_size=6)
EDGE = st.sampled_from(EDGE_WHITESPACE)
CALL_ID = st.text(ID_ALPHABET, min_size=9, max_size=9)
KEY = st.text(NAME_ALPHABET, min_size=1, max_size=8)
TOOL_NAME = st.text(NAME_ALPHABET, min_size=1, max_size=10).filter(lambda s: s.strip("_"))
ARGUMENT_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6),
              st.floats(allow_nan=False, allow_infinity=False, width=32), st.text(ALPHABET, max_size=10)),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEY, inner, max_size=3),
    max_leaves=6,
)
ARGUMENTS = st.dictionaries(KEY, ARGUMENT_VALUES, max_size=3)


def chance(draw: st.DrawFn, n: int, k: int = 1) -> bool:
    """True with probability k/n, shrinking to False: a falsifying example shrinks towards the plain path."""
    return draw(st.integers(0, n - 1)) >= n - k


@functools.cache
def literal_strategy() -> st.SearchStrategy[str]:
    return st.sampled_from(template_literals())


@st.composite
def texts(draw: st.DrawFn, witness: str | None = None) -> str:
    """Text with optional template literals inside, edge whitespace around, and the witness in the middle."""
    pieces = [draw(TEXT)]
    if chance(draw, 4):
        pieces.append(draw(literal_strategy()))
        pieces.append(draw(SHORT_TEXT))
    if witness is not None:
        pieces.insert(draw(st.integers(0, len(pieces))), witness)
    return draw(EDGE) + "".join(pieces) + draw(EDGE)


class _Builder:
    """Draws one conversation message by message, numbering witnesses by message index."""

    def __init__(self, draw: st.DrawFn) -> None:
        self.draw = draw
        self.messages: list[dict[str, Any]] = []
        self.witnesses: dict[str, tuple[int, str]] = {}
        self.calls: dict[str, dict[str, Any]] = {}

    def witness(self, tag: str) -> str:
        i = len(self.messages)
        w = f"{WITNESS}{tag}{i}{WITNESS}"
        self.witnesses[w] = (i, "assistant" if tag in {"a", "r"} else tag_role(tag))
        return w

    def text_field(self, tag: str) -> str:
        return self.draw(texts(self.witness(tag)))

    def plain(self, role: str, tag: str) -> None:
        if role == "user" and chance(self.draw, 25):  # content parts instead of a string
            content: Any = [{"type": "text", "text": self.text_field(tag)}]
        else:
            content = self.text_field(tag)
        self.messages.append({"role": role, "content": content})

    def assistant(self, with_calls: bool) -> list[str]:
        draw, msg = self.draw, {"role": "assistant"}
        style = draw(st.sampled_from(["none", "none", "field", "field", "inline", "empty_field"]))
        body = draw(st.sampled_from(["text"] * 6 + ["empty", "null" if with_calls else "empty"]))
        content = self.text_field("a") if body == "text" else "" if body == "empty" else None
        if style == "field":
            msg["reasoning_content"] = self.text_field("r")
        elif style == "empty_field":
            msg["reasoning_content"] = ""
        elif style == "inline":
            reasoning = self.text_field("r")
            content = f"{THINK_OPEN}{draw(EDGE)}{reasoning}{THINK_CLOSE}{draw(EDGE)}{content or ''}"
        msg["content"] = content
        ids: list[str] = []
        if with_calls:
            msg["tool_calls"] = []
            for _ in range(draw(st.sampled_from([1, 1, 1, 2]))):
                call_id, name, args = draw(CALL_ID), draw(TOOL_NAME), draw(ARGUMENTS)
                if chance(draw, 5):  # OpenAI style: arguments as a JSON string
                    args = json.dumps(args, ensure_ascii=draw(st.booleans()))
                msg["tool_calls"].append({"id": call_id, "type": "function",
                                          "function": {"name": name, "arguments": args}})
                self.calls[name] = json.loads(args) if isinstance(args, str) else args
                ids.append(call_id)
        weight = draw(st.sampled_from([None, None, None, 0, 1]))
        if weight is not None:
            msg["step_loss_mask"] = weight
        self.messages.append(msg)
        return ids

    def tool_results(self, ids: list[str]) -> None:
        for call_id in ids:
            self.plain("tool", "t")
            self.messages[-1]["tool_call_id"] = call_id

    def tools(self) -> list[dict[str, Any]] | None:
        if not self.calls or not self.draw(st.booleans()):
            return None
        return [{"type": "function", "function": {
            "name": name, "description": f"Tool {name}.",
            "parameters": {"type": "object", "properties": {k: {} for k in args}, "required": sorted(args)[:1]}}}
            for name, args in sorted(self.calls.items())]


def tag_role(tag: str) -> str:
    return {"s": "system", "u": "user", "t": "tool"}[tag]


IRREGULAR = ("no_user", "system_not_first", "consecutive_assistants", "tool_first", "assistant_first")


@st.composite
def conversations(draw: st.DrawFn) -> Conversation:
    """A conversation in a valid role order (about 9 in 10) or one of the irregular orders templates refuse."""
    b = _Builder(draw)
    irregular = draw(st.sampled_from(IRREGULAR)) if chance(draw, 10) else None
    if irregular == "tool_first":
        b.tool_results([draw(CALL_ID)])
    elif irregular == "assistant_first":
        b.assistant(with_calls=False)
    if chance(draw, 5, 2) and irregular != "system_not_first":
        b.plain(draw(st.sampled_from(["system"] * 5 + ["developer"])), "s")
    rounds = draw(st.integers(1, 3))
    for r in range(rounds):
        if irregular != "no_user":
            b.plain("user", "u")
        if irregular == "system_not_first" and r == 0:
            b.plain("system", "s")
        ids = b.assistant(with_calls=chance(draw, 3))
        if ids:
            b.tool_results(ids)
            if r < rounds - 1 or not chance(draw, 4):
                b.assistant(with_calls=False)
        if irregular == "consecutive_assistants" and r == 0:
            b.assistant(with_calls=False)
    if irregular != "no_user" and chance(draw, 7):
        b.plain("user", "u")  # the conversation ends with a user turn
    kwargs = draw(st.sampled_from([{}, {}, {"enable_thinking": True}, {"enable_thinking": False}]))
    return Conversation(b.messages, b.tools(), kwargs, b.witnesses)
