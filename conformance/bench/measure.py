"""What the benchmark measures, per family and conversation size, and how ratios are summarised.

Methods (all on the family's bundled default template, same conversation, same process):

- ``floor``: ``tokenizer.apply_chat_template(messages, tools=..., tokenize=True)`` — one render, one
  tokenization; the least any mask generator must do;
- ``reference``: :func:`reference.compute` (canonical profile);
- ``reference+oracle``: ``reference.compute`` plus the independent oracle (:func:`reference.oracle.oracle_turns`),
  i.e. what a cross-checked run costs;
- ``per_message``: the per-message baseline (:mod:`lossmask.baselines.per_message`), prefix renders;
- ``hf_floor``/``hf_assistant_mask``, ``slime_qwen3_5``: other generators, when installed (:mod:`.peers`);
  ``hf_assistant_mask``'s ratio is to ``hf_floor`` (the same template's floor).

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
from lossmask.reference.token_bounds import why_offsets

from .. import assets
from ..baselines.per_message import generate as per_message
from . import conversations, peers
from .timing import Method, measure

STANDARD_SIZES = (2, 8, 32, 128, 256)
QUICK_SIZES = (2, 8, 32)
QUICK_FAMILIES = ("qwen3_5", "llama3", "gpt_oss")
METHODS = ("floor", "reference", "reference+oracle", "per_message", "hf_floor", "hf_assistant_mask", "slime_qwen3_5")
QUADRATIC = frozenset({"reference+oracle", "per_message"})
#: The method a ratio is taken against (default: the family's floor).
RATIO_BASE = {"hf_assistant_mask": "hf_floor"}
NOTES = assets.FIXTURES / "oracle" / "turn_structure.json"


def _methods(family: str, loaded: Any, messages: list[dict], tools: Any,
             declared: dict | None) -> tuple[dict[str, Callable[[], object]], dict[str, str]]:
    """The callables of one (family, size), and why any method is not available."""
    tok, tpl = loaded.tokenizer, loaded.chat_template
    fns: dict[str, Callable[[], object]] = {
        "floor": lambda: tok.apply_chat_template(messages, tools=tools, tokenize=True, chat_template=tpl),
        "reference": lambda: compute(tok, tpl, messages, tools),
        "per_message": lambda: per_message(tok, messages, tools),
    }
    missing: dict[str, str] = {}

    def with_oracle() -> object:
        compute(tok, tpl, messages, tools)
        return oracle_turns(tok, tpl, messages, tools, {}, declared or {})

    if declared is None:
        missing["reference+oracle"] = f"no oracle notes for {family} in {NOTES.name}"
    else:
        fns["reference+oracle"] = with_oracle
    hf, why = peers.hf_methods(family, tok, messages, tools)
    fns.update(hf)
    if not hf:
        missing["hf_floor"] = missing["hf_assistant_mask"] = why
    slime, why = peers.slime_method(family, tok, messages, tools)
    if slime is None:
        missing["slime_qwen3_5"] = why
    else:
        fns["slime_qwen3_5"] = slime
    return fns, missing


def bench_family(family: str, sizes: Sequence[int], reps: int, budget: float,
                 log: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    """Every size for one family; methods keep their budget across sizes (so quadratic ones drop out)."""
    loaded = assets.load_bundled(family)
    feats, dropped = conversations.shape_for(loaded.tokenizer, loaded.chat_template)
    notes = json.loads(NOTES.read_text())["templates"]
    declared = notes.get(family, {}).get(loaded.variant)
    current: dict[str, Any] = {}
    methods = [Method(name, lambda name=name: current[name](), quadratic=name in QUADRATIC) for name in METHODS]
    rows = []
    for size in sizes:
        messages, tools = conversations.build(size, feats)
        fns, missing = _methods(family, loaded, messages, tools, declared)
        current.update(fns)
        for m in methods:
            if m.name in missing and not m.skipped:
                m.skipped = f"not measured: {missing[m.name]}"
        seg = segment(loaded.tokenizer, loaded.chat_template, messages, tools)
        sample = measure(methods, size, reps, budget)
        floor = sample.median("floor")
        row: dict[str, Any] = {"turns": size, "messages": len(messages), "tokens": len(seg.input_ids),
                               "renders": seg.renders, "offsets": "lengths" if seg.bounds.from_lengths else "tokenizer",
                               "seconds": {}, "ratios": {}, "repetitions": {}, "loops": sample.loops,
                               "skipped": dict(sample.skipped)}
        for name in METHODS:
            median = sample.median(name)
            if median is None:
                continue
            row["seconds"][name] = round(median, 6)
            row["repetitions"][name] = len(sample.seconds[name])
            base = sample.median(RATIO_BASE.get(name, "floor"))
            if name != "floor" and base:
                row["ratios"][name] = round(median / base, 3)
        log(f"{family} {size:>4} turns {len(seg.input_ids):>6} tokens  floor {floor * 1000:8.1f} ms  "
            + "  ".join(f"{k} {v:.2f}x" for k, v in row["ratios"].items()))
        rows.append(row)
    return {"family": family, "variant": loaded.variant, "rebuilt_tokenizer": loaded.rebuilt,
            "offsets_from_tokenizer": why_offsets(loaded.tokenizer), "features": feats,
            "dropped": dropped, "sizes": rows, "growth": growth(rows)}


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
    from lossmask.reference.conversation import validate_messages
    from lossmask.reference.mask import encode
    from lossmask.reference.proof import admits, prove
    from lossmask.reference.render import render

    loaded = assets.load_bundled(family)
    tok, tpl = loaded.tokenizer, loaded.chat_template
    feats, _ = conversations.shape_for(tok, tpl)
    messages, tools = conversations.build(turns, feats)
    marked_messages, _ = markers.mark(messages, scope="all")
    marked = render(tok, tpl, marked_messages, tools)
    text, _ = markers.strip(marked)
    proof = prove(tpl)
    steps: dict[str, Callable[[], object]] = {
        "floor (apply_chat_template tokenize=True)": lambda: tok.apply_chat_template(
            messages, tools=tools, tokenize=True, chat_template=tpl),
        "reference.compute": lambda: compute(tok, tpl, messages, tools),
        "render": lambda: render(tok, tpl, messages, tools),
        "validate + proof's data check": lambda: (validate_messages(messages, tools), admits(proof, messages, tools)),
        "mark fields": lambda: markers.mark(messages, scope="all"),
        "render with field markers": lambda: render(tok, tpl, marked_messages, tools),
        "strip markers": lambda: markers.strip(marked),
        "encode (ids and token bounds)": lambda: encode(tok, text),
    }
    methods = [Method(name, fn) for name, fn in steps.items()]
    sample = measure(methods, turns, reps, budget=float("inf"))
    seconds = {name: round(sample.median(name) or 0.0, 6) for name in steps}
    parts = ("validate + proof's data check", "mark fields", "render with field markers", "strip markers",
             "encode (ids and token bounds)")
    rest = seconds["reference.compute"] - sum(seconds[k] for k in parts)
    seconds["segmentation + masking (the rest)"] = round(max(rest, 0.0), 6)
    renders = compute(tok, tpl, messages, tools).segmentation.renders
    note = (f"This template is proved ({proof.describe()}) and the conversation admitted, so the reference renders "
            "once, with field markers, and skips the real render." if renders == 1 else
            f"The reference renders twice here ({proof.describe()}).")
    return {"family": family, "turns": turns, "tokens": len(encode(tok, text)[0]), "repetitions": reps,
            "renders": renders, "seconds": seconds, "note": note}
