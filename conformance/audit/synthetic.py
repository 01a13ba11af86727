"""Synthetic JSONL datasets with planted problems, for the audit's tests and benchmark.

Why planted: the audit's claim is that it counts every problem exactly, so the test data must say what it
contains. Each plant is one kind of sample whose expected effect under the bundled ``qwen3_5`` template and the
``canonical`` profile follows from how that template renders (see each plant's note); everything else is a
clean conversation that triggers nothing. Clean conversations always end with an assistant turn that has
reasoning: with empty reasoning Qwen3.5 renders ``<think>\\n\\n</think>\\n\\n`` and the ``\\n\\n`` token straddles
the prompt boundary, which is itself a plant.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import findings as F
from . import tally as T

WEATHER_TOOL = {"type": "function", "function": {
    "name": "get_weather", "description": "Get the weather for a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
WORDS = ("alpha beta gamma delta river mountain cloud number answer question market price city weather "
         "train model token loss mask window garden piano 世界 数据 🙂").split()
CITIES = ("Paris", "Tokyo", "Lima", "Oslo", "Cairo")


def _text(rng: random.Random, lo: int, hi: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(lo, hi))).capitalize() + "."


def clean(rng: random.Random, literal: str = "") -> Any:
    """1-3 user/assistant rounds, sometimes a system prompt or a tool round; the last turn has reasoning."""
    messages: list[dict] = []
    if rng.random() < 0.3:
        messages.append({"role": "system", "content": _text(rng, 3, 8)})
    rounds = rng.randint(1, 3)
    tools = None
    for r in range(rounds):
        messages.append({"role": "user", "content": _text(rng, 3, 20)})
        if r == rounds - 1 and rng.random() < 0.25:
            tools = [WEATHER_TOOL]
            city = rng.choice(CITIES)
            messages.append({"role": "assistant", "content": "", "reasoning_content": "Look it up.",
                             "tool_calls": [{"type": "function", "function": {
                                 "name": "get_weather", "arguments": {"city": city}}}]})
            messages.append({"role": "tool", "content": f"{rng.randint(-5, 35)}C in {city}"})
        messages.append({"role": "assistant", "content": _text(rng, 2, 30), "reasoning_content": _text(rng, 2, 12)})
    return {"messages": messages, "tools": tools} if tools else messages


def refusal(rng: random.Random, literal: str = "") -> Any:
    """A truncated trajectory with no user message: Qwen3.5 raises "No user query found in messages."."""
    return [{"role": "system", "content": _text(rng, 3, 8)},
            {"role": "assistant", "content": _text(rng, 2, 9), "reasoning_content": "Go."}]


def literal_in_user(rng: random.Random, literal: str) -> Any:
    """A special-token literal inside user text; the rest is clean."""
    messages = clean(rng)
    messages = messages["messages"] if isinstance(messages, dict) else messages
    first_user = next(m for m in messages if m["role"] == "user")
    first_user["content"] = f"Please repeat: {literal}assistant {first_user['content']}"
    return messages


def empty_assistant(rng: random.Random, literal: str = "") -> Any:
    """An empty *historical* assistant turn (renders as header + end-of-turn; no straddle there)."""
    return [{"role": "user", "content": _text(rng, 3, 9)}, {"role": "assistant", "content": ""},
            {"role": "user", "content": _text(rng, 3, 9)},
            {"role": "assistant", "content": _text(rng, 2, 9), "reasoning_content": "Answer now."}]


def weight_zero(rng: random.Random, literal: str = "") -> Any:
    """Every assistant turn carries ``step_loss_mask: 0``: nothing is supervised."""
    messages = clean(rng)
    messages = messages["messages"] if isinstance(messages, dict) else messages
    for m in messages:
        if m["role"] == "assistant":
            m["step_loss_mask"] = 0
    return messages


def straddle(rng: random.Random, literal: str = "") -> Any:
    """The last assistant turn has no reasoning: the ``\\n\\n`` token straddles the gen-prompt suffix and content."""
    return [{"role": "user", "content": _text(rng, 3, 9)}, {"role": "assistant", "content": _text(rng, 2, 9)}]


def invalid_role(rng: random.Random, literal: str = "") -> Any:
    """A role no template knows: rejected by validation before rendering."""
    return [{"role": "bot", "content": _text(rng, 2, 5)}, {"role": "assistant", "content": "x"}]


BAD_JSON = object()


def bad_json(rng: random.Random, literal: str = "") -> Any:
    """A line cut in the middle (a truncated write): not valid JSON."""
    return BAD_JSON


@dataclass(frozen=True)
class Plant:
    make: Callable[[random.Random, str], Any]
    #: Expected counts per sample of this kind: finding names, or error kinds prefixed with ``error:``.
    expect: tuple[str, ...]


PLANTS: dict[str, Plant] = {
    "refusal": Plant(refusal, ("error:" + T.TEMPLATE_REFUSAL,)),
    "bad_json": Plant(bad_json, ("error:" + T.INVALID_LINE,)),
    "invalid_role": Plant(invalid_role, ("error:" + T.INVALID_CONVERSATION,)),
    "literal_in_user": Plant(literal_in_user, (F.LITERAL_IN_TEXT,)),
    "empty_assistant": Plant(empty_assistant, (F.EMPTY_ASSISTANT,)),
    "weight_zero": Plant(weight_zero, (F.NO_SUPERVISED,)),
    "straddle": Plant(straddle, (F.STRADDLE,)),
}


def line_of(sample: Any) -> str:
    if sample is BAD_JSON:
        return '[{"role": "user", "content": "cut he'
    return json.dumps(sample, ensure_ascii=False)


def samples(n: int, plant_every: int = 0, seed: int = 0, literal: str = "<|im_start|>") -> Iterator[tuple[str, str]]:
    """``(kind, jsonl line)`` for ``n`` samples; every ``plant_every``-th sample is a plant (round robin)."""
    rng = random.Random(seed)
    kinds = list(PLANTS)
    planted = 0
    for i in range(n):
        if plant_every and i % plant_every == plant_every - 1:
            kind = kinds[planted % len(kinds)]
            planted += 1
            yield kind, line_of(PLANTS[kind].make(rng, literal))
        else:
            yield "clean", line_of(clean(rng))


def write_jsonl(path: str | Path, n: int, plant_every: int = 0, seed: int = 0,
                literal: str = "<|im_start|>") -> Counter:
    """Write the dataset (one line per sample, streamed) and return how many samples of each kind it holds."""
    kinds: Counter = Counter()
    with open(path, "w", encoding="utf-8") as fh:
        for kind, line in samples(n, plant_every, seed, literal):
            kinds[kind] += 1
            fh.write(line + "\n")
    return kinds


def expected_counts(kinds: Counter) -> tuple[Counter, Counter]:
    """(findings, error kinds) the audit must report for a dataset with these sample kinds."""
    found, errors = Counter(), Counter()
    for kind, n in kinds.items():
        for effect in PLANTS[kind].expect if kind in PLANTS else ():
            if effect.startswith("error:"):
                errors[effect.removeprefix("error:")] += n
            else:
                found[effect] += n
    return found, errors
