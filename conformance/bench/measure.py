"""What the benchmark measures, per family and conversation size, and how ratios are summarised.

Methods (all on the family's bundled default template, same conversation, same process):

- ``floor``: ``tokenizer.apply_chat_template(messages, tools=..., tokenize=True)`` — one render, one
  tokenization; the least any mask generator must do;
- ``reference``: :func:`reference.compute` (canonical profile);
- ``reference+oracle``: ``reference.compute`` plus the independent oracle (:func:`reference.oracle.oracle_turns`),
  i.e. what a cross-checked run costs;
- ``per_message``: the per-message baseline (:mod:`lossmask.baselines.per_message`), prefix renders.

A ratio is the method's median seconds over the floor's median seconds for the same (family, size).
``reference_over_floor`` is the median of the reference ratios over every (family, size) measured.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from lossmask.reference import compute, segment
from lossmask.reference.oracle import oracle_turns

from .. import assets
from ..baselines.per_message import generate as per_message
from . import conversations
from .timing import Method, measure

STANDARD_SIZES = (2, 8, 32, 128, 256)
QUICK_SIZES = (2, 8, 32)
QUICK_FAMILIES = ("qwen3_5", "llama3", "gpt_oss")
METHODS = ("floor", "reference", "reference+oracle", "per_message")
NOTES = assets.FIXTURES / "oracle" / "turn_structure.json"


def _methods(loaded: Any, messages: list[dict], tools: Any, declared: dict | None) -> list[Callable[[], object]]:
    tok, tpl = loaded.tokenizer, loaded.chat_template

    def floor() -> object:
        return tok.apply_chat_template(messages, tools=tools, tokenize=True, chat_template=tpl)

    def reference() -> object:
        return compute(tok, tpl, messages, tools)

    def with_oracle() -> object:
        compute(tok, tpl, messages, tools)
        return oracle_turns(tok, tpl, messages, tools, {}, declared or {})

    def baseline() -> object:
        return per_message(tok, messages, tools)

    return [floor, reference, with_oracle, baseline]


def bench_family(family: str, sizes: Sequence[int], reps: int, budget: float,
                 log: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    """Every size for one family; methods keep their budget across sizes (so quadratic ones drop out)."""
    loaded = assets.load_bundled(family)
    feats, dropped = conversations.shape_for(loaded.tokenizer, loaded.chat_template)
    notes = json.loads(NOTES.read_text())["templates"]
    declared = notes.get(family, {}).get(loaded.variant)
    current: dict[str, Any] = {}
    methods = [Method(name, lambda name=name: current[name](), quadratic=name in ("reference+oracle", "per_message"))
               for name in METHODS]
    if declared is None:
        methods[2].skipped = f"no oracle notes for {family} in {NOTES.name}"
    rows = []
    for size in sizes:
        messages, tools = conversations.build(size, feats)
        current.update(zip(METHODS, _methods(loaded, messages, tools, declared)))
        tokens = len(segment(loaded.tokenizer, loaded.chat_template, messages, tools).input_ids)
        sample = measure(methods, size, reps, budget)
        floor = sample.median("floor")
        row: dict[str, Any] = {"turns": size, "messages": len(messages), "tokens": tokens, "seconds": {},
                               "ratios": {}, "repetitions": {}, "loops": sample.loops,
                               "skipped": dict(sample.skipped)}
        for name in METHODS:
            median = sample.median(name)
            if median is None:
                continue
            row["seconds"][name] = round(median, 6)
            row["repetitions"][name] = len(sample.seconds[name])
            if name != "floor" and floor:
                row["ratios"][name] = round(median / floor, 3)
        log(f"{family} {size:>4} turns {tokens:>6} tokens  floor {floor * 1000:8.1f} ms  "
            + "  ".join(f"{k} {v:.2f}x" for k, v in row["ratios"].items()))
        rows.append(row)
    return {"family": family, "variant": loaded.variant, "rebuilt_tokenizer": loaded.rebuilt, "features": feats, "dropped": dropped,
            "sizes": rows, "growth": growth(rows)}


def growth(rows: list[dict[str, Any]]) -> dict[str, float]:
    """Log-log slope of seconds against tokens over the three largest measured sizes of ≥ 8 turns.

    1 = linear, 2 = quadratic. Small sizes are left out because fixed per-call costs flatten the slope there;
    quadratic methods that ran out of budget are fitted on the sizes they reached.
    """
    out = {}
    for name in METHODS:
        points = [(r["tokens"], r["seconds"][name]) for r in rows if r["turns"] >= 8 and name in r["seconds"]][-3:]
        if len(points) >= 2 and all(s > 0 for _, s in points):
            xs = [math.log(t) for t, _ in points]
            ys = [math.log(s) for _, s in points]
            mx, my = statistics.fmean(xs), statistics.fmean(ys)
            den = sum((x - mx) ** 2 for x in xs)
            if den:
                out[name] = round(sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den, 2)
    return out


def summarise(families: list[dict[str, Any]]) -> dict[str, Any]:
    """Median ratios over the whole measured set, overall and per size."""
    per_size: dict[str, dict[str, float]] = {}
    overall: dict[str, float] = {}
    for name in METHODS[1:]:
        values = [r["ratios"][name] for f in families for r in f["sizes"] if name in r["ratios"]]
        if values:
            overall[name] = round(statistics.median(values), 3)
        sizes = sorted({r["turns"] for f in families for r in f["sizes"]})
        for size in sizes:
            at = [r["ratios"][name] for f in families for r in f["sizes"] if r["turns"] == size and name in r["ratios"]]
            if at:
                per_size.setdefault(str(size), {})[name] = round(statistics.median(at), 3)
    return {"median_ratios": overall, "per_size": per_size}


def breakdown(family: str, turns: int, reps: int) -> dict[str, Any]:
    """Split one ``reference.compute`` into its steps, timed separately (medians), to say what costs what."""
    from lossmask.reference import markers
    from lossmask.reference.mask import encode
    from lossmask.reference.render import render

    loaded = assets.load_bundled(family)
    tok, tpl = loaded.tokenizer, loaded.chat_template
    feats, _ = conversations.shape_for(tok, tpl)
    messages, tools = conversations.build(turns, feats)
    text = render(tok, tpl, messages, tools)
    marked_messages, _ = markers.mark(messages, scope="all")
    steps: dict[str, Callable[[], object]] = {
        "floor (apply_chat_template tokenize=True)": lambda: tok.apply_chat_template(
            messages, tools=tools, tokenize=True, chat_template=tpl),
        "reference.compute": lambda: compute(tok, tpl, messages, tools),
        "render": lambda: render(tok, tpl, messages, tools),
        "render with field markers": lambda: render(tok, tpl, markers.mark(messages, scope="all")[0], tools),
        "encode with offsets": lambda: encode(tok, text),
    }
    del marked_messages
    methods = [Method(name, fn) for name, fn in steps.items()]
    sample = measure(methods, turns, reps, budget=float("inf"))
    seconds = {name: round(sample.median(name) or 0.0, 6) for name in steps}
    rest = seconds["reference.compute"] - sum(seconds[k] for k in ("render", "render with field markers",
                                                                    "encode with offsets"))
    seconds["segmentation + masking (the rest)"] = round(max(rest, 0.0), 6)
    share = (seconds["render"] + seconds["render with field markers"]) / max(seconds["reference.compute"], 1e-9)
    note = (f"The two renders are {share:.0%} of the reference's time; the design renders twice (the real text, "
            "then with field markers, and checks that stripping the markers gives the real text back), so its "
            "ratio cannot go below (2 renders + encode) / (1 render + encode) without dropping that check.")
    return {"family": family, "turns": turns, "tokens": len(encode(tok, text)[0]), "repetitions": reps,
            "seconds": seconds, "note": note}
