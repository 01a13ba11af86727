"""Synthetic long conversations for the benchmark: N turns with reasoning and tool calls.

Why synthetic: the fixture cases are short on purpose (one behaviour each); the benchmark needs the shape of
agent trajectories, hundreds of turns, to show how cost grows. A *turn* is one user message and the assistant's
answer; every fourth turn is a tool round (assistant reasoning + one tool call, the tool result, then the final
answer). Every assistant message carries ``reasoning_content``. Text is deterministic (seeded), so every run and
every method sees the same conversation.

:func:`shape_for` checks that the family's template renders the full shape (reasoning + tool calls) and drops
a feature only when the template refuses it, returning the reason, so the report can say what each family got.
"""

from __future__ import annotations

import random
from typing import Any

WEATHER_TOOL = {"type": "function", "function": {
    "name": "get_weather", "description": "Get the current weather for a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
WORDS = ("alpha beta gamma delta river mountain cloud number answer question market price city weather train "
         "model token loss mask window garden piano history report table value result step plan check").split()
CITIES = ("Paris", "Tokyo", "Lima", "Oslo", "Cairo", "Quito")

#: Feature sets tried in order: the full shape first, then without tools, then without reasoning, then plain;
#: each with a system message, then (templates that refuse the system role, such as Gemma 2's) without one.
SHAPES = tuple({"reasoning": r, "tools": t, "system": sys_}
               for sys_ in (True, False) for r, t in ((True, True), (True, False), (False, True), (False, False)))


def _text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def build(turns: int, feats: dict[str, bool] | None = None, seed: int = 0) -> tuple[list[dict], list[dict] | None]:
    """``(messages, tools)`` for ``turns`` user/assistant turns with the given features (default: all)."""
    feats = feats or SHAPES[0]
    rng = random.Random(seed)
    system = "You are a careful assistant. " + _text(rng, 12)  # drawn either way: the rest stays the same text
    messages: list[dict] = [{"role": "system", "content": system}] if feats.get("system", True) else []
    uses_tools = False
    for t in range(turns):
        messages.append({"role": "user", "content": f"Question {t}: " + _text(rng, 25)})
        if feats["tools"] and t % 4 == 3:
            uses_tools = True
            call_id = f"call{t:05d}"[-9:].rjust(9, "0")  # 9 alphanumerics: Mistral's tool-call id format
            city = CITIES[t % len(CITIES)]
            call = {"role": "assistant", "content": "", "tool_calls": [{"id": call_id, "type": "function",
                    "function": {"name": "get_weather", "arguments": {"city": city}}}]}
            if feats["reasoning"]:
                call["reasoning_content"] = f"I need the weather in {city}. " + _text(rng, 15)
            messages.append(call)
            messages.append({"role": "tool", "tool_call_id": call_id, "content": f"{city}: 18C, sunny, wind 3 m/s"})
        answer = {"role": "assistant", "content": f"Answer {t}: " + _text(rng, 60)}
        if feats["reasoning"]:
            answer["reasoning_content"] = _text(rng, 40)
        messages.append(answer)
    return messages, ([WEATHER_TOOL] if uses_tools else None)


def shape_for(tokenizer: Any, chat_template: str) -> tuple[dict[str, bool], list[str]]:
    """The richest feature set this template renders *and* the reference segments, plus why anything was dropped.

    Probed on 8 turns (two tool rounds, reasoning on every assistant message): long enough to exercise history.
    """
    from lossmask.reference import LossmaskError, segment

    notes: list[str] = []
    for feats in SHAPES:
        messages, tools = build(8, feats)
        try:
            segment(tokenizer, chat_template, messages, tools)
        except LossmaskError as exc:
            notes.append(f"{_describe(feats)}: {' '.join(str(exc).split())[:200]}")
            continue
        return feats, notes
    raise LossmaskError("the template renders none of the benchmark shapes: " + "; ".join(notes))


def _describe(feats: dict[str, bool]) -> str:
    on = [name for name, value in feats.items() if value]
    return "with " + " and ".join(on) if on else "plain"
