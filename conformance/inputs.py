"""Read a conversation from a JSON file: a list of messages, or an object with ``messages`` and ``tools``.

Errors name the file and the JSON path, never a traceback.
"""

from __future__ import annotations

import json
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


def read_json(path: str | Path, what: str = "file") -> Any:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CaseError(f"{p}: no such {what}") from None
    except UnicodeDecodeError as exc:
        raise CaseError(f"{p}: not UTF-8 ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise CaseError(f"{p}: cannot read ({exc.strerror})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CaseError(f"{p}: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    except (RecursionError, ValueError) as exc:  # 10^5 levels deep, an integer literal past 4300 digits
        raise CaseError(f"{p}: {json_limit(exc)}") from None


def read_conversation(path: str | Path, tools_path: str | Path | None = None) -> tuple[list[dict], list[dict] | None]:
    messages, tools = parse_conversation(read_json(path, "messages file"), str(path))
    if tools_path is not None:
        tools_data = read_json(tools_path, "tools file")
        if isinstance(tools_data, dict) and "tools" in tools_data:
            tools_data = tools_data["tools"]
        try:
            validate_messages(messages, tools_data)
        except ConversationError as exc:
            raise CaseError(f"{tools_path}: {exc}") from None
        tools = tools_data
    return messages, tools


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
