"""Data-level findings: properties of the conversation itself, checked before (and without) any render.

Why separate from the render-level checks: these hold even for samples the template refuses, and they are pure
functions of the messages and the tokenizer's vocabulary, so they are cheap and easy to test on their own.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from lossmask.reference.conversation import REASONING_KEYS

LITERAL_IN_TEXT = "template-literal-in-non-assistant-text"
EMPTY_ASSISTANT = "empty-assistant-turn"
STRADDLE = "straddling-token"
NO_SUPERVISED = "no-supervised-token"
SEGMENTATION_WARNING = "segmentation-warning"
PARTS_AS_REPR = "content-parts-as-repr"
PARTS_DROPPED = "content-parts-dropped"
GENERATOR_DIVERGENCE = "generator-token-divergence"
GENERATOR_MISMATCH = "generator-mask-mismatch"
GENERATOR_ERROR = "generator-error"
GENERATOR_TIMEOUT = "generator-timeout"
GENERATOR_UNSUPPORTED = "generator-unsupported"
GENERATOR_INVALID_OUTPUT = "generator-invalid-output"
#: The generator's ids differ from the reference's exactly as this transformers' AutoTokenizer makes them differ
#: (``lossmask doctor`` names the cause): the environment, not the generator.
ENVIRONMENT = "environment"


def special_tokens(tokenizer: Any) -> list[str]:
    """The tokenizer's special tokens (added tokens flagged special, plus the named ones), longest first."""
    found = {t for t in getattr(tokenizer, "all_special_tokens", []) or [] if isinstance(t, str) and t}
    for added in (getattr(tokenizer, "added_tokens_decoder", None) or {}).values():
        if getattr(added, "special", False) and getattr(added, "content", ""):
            found.add(added.content)
    return sorted(found, key=lambda t: (-len(t), t))


class LiteralScanner:
    """Find special-token strings inside text. A first-character prefilter keeps the common case one pass."""

    def __init__(self, literals: Iterable[str]) -> None:
        literals = list(literals)
        self.first = frozenset(t[0] for t in literals)
        self.pattern = re.compile("|".join(map(re.escape, literals))) if literals else None

    def find(self, text: str) -> str | None:
        if self.pattern is None or not any(c in text for c in self.first):
            return None
        match = self.pattern.search(text)
        return match.group(0) if match else None


def texts(value: Any) -> Iterable[str]:
    """The strings of a content value: a string, or the text parts of a content-part list."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for part in value:
            if isinstance(part, Mapping) and isinstance(part.get("text"), str):
                yield part["text"]


def literal_in_non_assistant_text(messages: Sequence[Mapping[str, Any]], scanner: LiteralScanner) -> str | None:
    """``"$.messages[i].content: '<|im_start|>'"`` for the first special-token literal outside assistant turns."""
    for i, message in enumerate(messages):
        if message.get("role") == "assistant":
            continue
        for text in texts(message.get("content")):
            literal = scanner.find(text)
            if literal is not None:
                return f"$.messages[{i}].content contains {literal!r}"
    return None


def empty_assistant_turn(messages: Sequence[Mapping[str, Any]]) -> str | None:
    """The first assistant message with no text, no reasoning and no tool calls (it would train only a stop token)."""
    for i, message in enumerate(messages):
        if message.get("role") != "assistant" or message.get("tool_calls"):
            continue
        if any(t.strip() for t in texts(message.get("content"))):
            continue
        if any(isinstance(message.get(k), str) and message[k].strip() for k in REASONING_KEYS):
            continue
        return f"$.messages[{i}]: assistant message with no content, reasoning or tool calls"
    return None


def content_parts(messages: Sequence[Mapping[str, Any]], text: str) -> tuple[str, str] | None:
    """``(finding, detail)`` for the first text part the render prints as data or drops; ``None`` otherwise.

    Content given as parts (``[{"type": "text", "text": ...}]``) is joined by some templates, but others print
    the list itself (``{{ content }}``: the Python repr, or its JSON) or skip non-string content, so the model is
    trained to write ``[{'type': 'text', ...}]`` or on a turn without the text. Found by plain search of the
    render for the part's serialised forms and for its text.
    """
    for i, message in enumerate(messages):
        content = message.get("content")
        if not isinstance(content, list):
            continue
        for j, part in enumerate(content):
            if not isinstance(part, Mapping) or not isinstance(part.get("text"), str) or not part["text"].strip():
                continue
            serialised = (repr(dict(part)), json.dumps(part, ensure_ascii=False), json.dumps(part))
            if any(form in text for form in serialised):
                return PARTS_AS_REPR, (f"$.messages[{i}].content[{j}]: the render prints the part itself "
                                       f"({message.get('role')} text as a Python/JSON object), not its text")
            if part["text"].strip() not in text:
                return PARTS_DROPPED, f"$.messages[{i}].content[{j}].text: not in the render (the template drops it)"
    return None
