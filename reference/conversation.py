"""Validate a conversation before any template sees it, and read per-message training weights.

Why validate here: a template given malformed data fails with an unhelpful Jinja error, or worse renders
something plausible. Every problem is reported with a JSON path (``$.messages[3].tool_calls[0].function``) so a
user with a million-line dataset can find it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from .errors import ConversationError

ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "ipython", "function"})
#: Per-message training-weight keys used by SFT frameworks (slime, verl, axolotl, ms-swift, tinker...).
WEIGHT_KEYS = ("step_loss_mask", "train", "training", "weight", "loss", "trainable")
REASONING_KEYS = ("reasoning_content", "thinking", "reasoning")


def json_limit(exc: Exception) -> str:
    """Why valid-looking JSON could not be used: nested past Python's recursion limit, or an integer literal
    past its digit limit (``sys.get_int_max_str_digits()``, 4300 by default). One line, no advice to change
    interpreter settings."""
    if isinstance(exc, RecursionError):
        return "nested too deeply for Python's JSON parser (recursion limit)"
    first = str(exc).split(";")[0].strip()
    return f"beyond Python's JSON limits ({first})"


def message_weight(message: Mapping[str, Any]) -> float:
    """The training weight of a message: the first weight key present; missing means 1.

    A weight is a finite number >= 0 (or a boolean); NaN, infinities and negative weights are rejected rather
    than read as "supervised", which is what a truthiness test would make of them.
    """
    for key in WEIGHT_KEYS:
        if key in message and message[key] is not None:
            value = message[key]
            if isinstance(value, bool):
                return 1.0 if value else 0.0
            if isinstance(value, (int, float)):
                try:
                    weight = float(value)
                except OverflowError:  # an int too large for a float
                    weight = float("inf")
                if not math.isfinite(weight) or weight < 0:
                    raise ConversationError(f"{key}: a weight must be a finite number >= 0, got {value!r}")
                return weight
            if isinstance(value, str) and value.strip() in {"0", "1"}:
                return float(value.strip())
            raise ConversationError(f"{key}: a weight must be a number or boolean, got {type(value).__name__}")
    return 1.0


def _check_text(value: Any, path: str, allow_none: bool = True) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, str):
        return
    if isinstance(value, list):
        for j, part in enumerate(value):
            if not isinstance(part, Mapping) or not isinstance(part.get("type", "text"), str):
                raise ConversationError(f"{path}[{j}]: a content part must be an object with a string 'type'")
            if part.get("type", "text") == "text" and not isinstance(part.get("text"), str):
                raise ConversationError(f"{path}[{j}].text: a text part needs a string 'text'")
        return
    raise ConversationError(f"{path}: must be a string, a list of content parts or null, got {type(value).__name__}")


def _check_tool_call(call: Any, path: str) -> None:
    if not isinstance(call, Mapping):
        raise ConversationError(f"{path}: a tool call must be an object, got {type(call).__name__}")
    fn = call.get("function", call)
    where = f"{path}.function" if "function" in call else path
    if not isinstance(fn, Mapping):
        raise ConversationError(f"{where}: must be an object with 'name' and 'arguments'")
    if not isinstance(fn.get("name"), str) or not fn.get("name"):
        raise ConversationError(f"{where}.name: a tool call needs a non-empty string name")
    args = fn.get("arguments", {})
    if isinstance(args, str):
        try:
            json.loads(args)
        except json.JSONDecodeError as exc:
            raise ConversationError(f"{where}.arguments: not valid JSON ({exc.msg} at char {exc.pos})") from None
        except (RecursionError, ValueError) as exc:
            raise ConversationError(f"{where}.arguments: {json_limit(exc)}") from None
    elif args is not None and not isinstance(args, Mapping):
        raise ConversationError(f"{where}.arguments: must be an object or a JSON string, got {type(args).__name__}")


def _is_mapping(value: Any) -> bool:
    return type(value) is dict or isinstance(value, Mapping)  # the exact-type test spares an ABC check per field


def validate_messages(messages: Any, tools: Any = None, path: str = "$") -> None:
    """Raise :class:`ConversationError` naming the first malformed JSON path, else return ``None``.

    Runs on every conversation the reference masks, so the common case (plain dicts and strings) takes the
    cheap tests first and builds a path string only when something is wrong.
    """
    if not isinstance(messages, Sequence) or isinstance(messages, (str, bytes)):
        raise ConversationError(f"{path}.messages: must be a list of messages, got {type(messages).__name__}")
    if not messages:
        raise ConversationError(f"{path}.messages: the conversation is empty")
    for i, message in enumerate(messages):
        if not _is_mapping(message):
            raise ConversationError(f"{path}.messages[{i}]: a message must be an object, got {type(message).__name__}")
        role = message.get("role")
        if not isinstance(role, str) or role not in ROLES:
            where = f"{path}.messages[{i}]"
            if not isinstance(role, str):
                raise ConversationError(f"{where}.role: missing or not a string")
            raise ConversationError(f"{where}.role: unknown role {role!r} (known: {', '.join(sorted(ROLES))})")
        content = message.get("content")
        if content is not None and type(content) is not str:
            _check_text(content, f"{path}.messages[{i}].content")
        for key in REASONING_KEYS:
            value = message.get(key)
            if value is not None and not isinstance(value, str):
                raise ConversationError(f"{path}.messages[{i}].{key}: must be a string or null")
        calls = message.get("tool_calls")
        if calls is not None:
            where = f"{path}.messages[{i}]"
            if role != "assistant":
                raise ConversationError(f"{where}.tool_calls: only assistant messages carry tool calls")
            if not isinstance(calls, list):
                raise ConversationError(f"{where}.tool_calls: must be a list")
            for j, call in enumerate(calls):
                _check_tool_call(call, f"{where}.tool_calls[{j}]")
        try:
            message_weight(message)
        except ConversationError as exc:
            raise ConversationError(f"{path}.messages[{i}].{exc}") from None
    if tools is not None:
        if not isinstance(tools, list):
            raise ConversationError(f"{path}.tools: must be a list of tool schemas, got {type(tools).__name__}")
        for j, tool in enumerate(tools):
            if not isinstance(tool, Mapping):
                raise ConversationError(f"{path}.tools[{j}]: a tool must be an object")
            fn = tool.get("function", tool)
            if not isinstance(fn, Mapping) or not isinstance(fn.get("name"), str):
                raise ConversationError(f"{path}.tools[{j}].function.name: a tool schema needs a string name")
