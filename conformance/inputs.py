"""Read a conversation from a JSON file (``-``: standard input): a list of messages, or an object with
``messages`` and optionally ``tools`` and ``template_kwargs`` (so a case file from ``fixtures/cases`` renders as
its golden was rendered).

Errors name the file and the JSON path, never a traceback.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lossmask.reference.conversation import json_limit, validate_messages
from lossmask.reference.errors import ConversationError

from .errors import CaseError


def parse_conversation(data: Any, where: str) -> tuple[list[dict], list[dict] | None]:
    if isinstance(data, list):
        messages, tools = data, None
    elif isinstance(data, dict):
        if "messages" not in data:
            raise CaseError(f"{where}: $.messages: missing (expected a list of messages or an object with 'messages')")
        messages, tools = data["messages"], data.get("tools")
    else:
        raise CaseError(f"{where}: $: expected a list of messages or an object with 'messages', got {type(data).__name__}")
    try:
        validate_messages(messages, tools)
    except ConversationError as exc:
        raise CaseError(f"{where}: {exc}") from None
    return messages, tools


#: What stands for standard input where a file is read.
STDIN = "-"


@dataclass(frozen=True)
class Conversation:
    messages: list[dict]
    tools: list[dict] | None = None
    template_kwargs: dict[str, Any] = field(default_factory=dict)


def read_json(path: str | Path, what: str = "file") -> Any:
    if str(path) == STDIN:
        try:
            text = sys.stdin.read()
        except UnicodeDecodeError as exc:
            raise CaseError(f"<stdin>: not UTF-8 ({exc.reason} at byte {exc.start})") from None
        return _loads(text, "<stdin>")
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CaseError(f"{p}: no such {what}") from None
    except UnicodeDecodeError as exc:
        raise CaseError(f"{p}: not UTF-8 ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise CaseError(f"{p}: cannot read ({exc.strerror})") from None
    return _loads(text, str(p))


def _loads(text: str, where: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CaseError(f"{where}: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    except (RecursionError, ValueError) as exc:  # 10^5 levels deep, an integer literal past 4300 digits
        raise CaseError(f"{where}: {json_limit(exc)}") from None


def read_conversation(path: str | Path, tools_path: str | Path | None = None) -> tuple[list[dict], list[dict] | None]:
    """``(messages, tools)`` of a conversation file; :func:`load_conversation` also gives its template kwargs."""
    found = load_conversation(path, tools_path)
    return found.messages, found.tools


def load_conversation(path: str | Path, tools_path: str | Path | None = None) -> Conversation:
    """The conversation in ``path`` (``-``: standard input); ``tools_path`` replaces its tools."""
    where = "<stdin>" if str(path) == STDIN else str(path)
    data = read_json(path, "messages file")
    messages, tools = parse_conversation(data, where)
    kwargs = data.get("template_kwargs") if isinstance(data, dict) else None
    if kwargs is not None and not isinstance(kwargs, dict):
        raise CaseError(f"{where}: $.template_kwargs: expected an object, got {type(kwargs).__name__}")
    if tools_path is not None:
        tools_data = read_json(tools_path, "tools file")
        if isinstance(tools_data, dict) and "tools" in tools_data:
            tools_data = tools_data["tools"]
        try:
            validate_messages(messages, tools_data)
        except ConversationError as exc:
            raise CaseError(f"{tools_path}: {exc}") from None
        tools = tools_data
    return Conversation(messages, tools, dict(kwargs or {}))


def parse_template_kwargs(raw: str | None) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise CaseError(f"--template-kwargs: not valid JSON ({exc.msg})") from None
    except (RecursionError, ValueError) as exc:
        raise CaseError(f"--template-kwargs: {json_limit(exc)}") from None
    if not isinstance(value, dict):
        raise CaseError("--template-kwargs: must be a JSON object")
    return value
