"""The fixed scenario set every zoo template is rendered with.

Why these seven: together they exercise every field the reference marks (content, reasoning, tool-call names and
arguments in both encodings, tool results, content parts) and the one structural feature per-message generators
get wrong (history). Every text is distinct from every other and from template syntax, so the zoo's invariant
checks can find each field in the render by plain search without trusting the reference's own spans.
Tool-call ids are 9 alphanumerics because Mistral-style templates refuse anything else.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

SYSTEM = "You answer questions about astronomy briefly."
USER_1 = "Which planet has the longest day?"
ANSWER_1 = "Venus has the longest day."
REASONING_1 = "A sidereal day on Venus lasts longer than its year."
USER_2 = "How long is that day in Earth days?"
ANSWER_2 = "About two hundred forty three Earth days."
REASONING_2 = "The rotation period is roughly two hundred forty three days."
TOOL_USER = "What is the weather in Lisbon today?"
TOOL_NAME = "get_weather"
TOOL_ARGS = {"city": "Lisbon", "unit": "celsius"}
TOOL_RESULT = "Sunny and twenty one degrees."
TOOL_ANSWER = "It is sunny in Lisbon, twenty one degrees."
CALL_ID = "call00042"
PARTS_USER = "Name a moon of Jupiter."
PARTS_ANSWER = "Europa is a moon of Jupiter."

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": TOOL_NAME,
        "description": "Current weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
            "required": ["city"],
        },
    },
}


@dataclass(frozen=True)
class Scenario:
    """One conversation rendered with every zoo template."""

    id: str
    description: str
    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]] | None = None
    template_kwargs: dict[str, Any] = field(default_factory=dict)


def _tool_flow(arguments: Any) -> list[dict[str, Any]]:
    call = {"id": CALL_ID, "type": "function", "function": {"name": TOOL_NAME, "arguments": arguments}}
    return [
        {"role": "user", "content": TOOL_USER},
        {"role": "assistant", "content": "", "tool_calls": [call]},
        {"role": "tool", "tool_call_id": CALL_ID, "name": TOOL_NAME, "content": TOOL_RESULT},
        {"role": "assistant", "content": TOOL_ANSWER},
    ]


def _parts(text: str) -> list[dict[str, str]]:
    return [{"type": "text", "text": text}]


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("chat", "one user question, one plain answer",
             [{"role": "user", "content": USER_1}, {"role": "assistant", "content": ANSWER_1}]),
    Scenario("reasoning", "one answer with reasoning_content",
             [{"role": "user", "content": USER_1},
              {"role": "assistant", "reasoning_content": REASONING_1, "content": ANSWER_1}]),
    Scenario("empty_reasoning", "an answer whose reasoning_content is empty (templates may still write a block)",
             [{"role": "user", "content": USER_1}, {"role": "assistant", "reasoning_content": "", "content": ANSWER_1}]),
    Scenario("tool_dict", "a tool call with arguments as a dict, its result, a final answer",
             _tool_flow(dict(TOOL_ARGS)), [WEATHER_TOOL]),
    Scenario("tool_string", "the same tool call with arguments as a JSON string",
             _tool_flow(json.dumps(TOOL_ARGS)), [WEATHER_TOOL]),
    Scenario("content_parts", "user and assistant content given as a list of text parts",
             [{"role": "user", "content": _parts(PARTS_USER)}, {"role": "assistant", "content": _parts(PARTS_ANSWER)}]),
    Scenario("multi_turn", "system prompt and two exchanges with reasoning (history the template may rewrite)",
             [{"role": "system", "content": SYSTEM},
              {"role": "user", "content": USER_1},
              {"role": "assistant", "reasoning_content": REASONING_1, "content": ANSWER_1},
              {"role": "user", "content": USER_2},
              {"role": "assistant", "reasoning_content": REASONING_2, "content": ANSWER_2}]),
)


def by_id(scenario_id: str) -> Scenario:
    for s in SCENARIOS:
        if s.id == scenario_id:
            return s
    raise KeyError(scenario_id)
