"""Explain a disagreement in terms a maintainer can act on.

* mask mismatch (same tokens, different mask): which shipped profile the generator's mask equals, and which
  segments (header, separator, reasoning...) it supervises that the expected profile does not, or misses;
* token divergence: the first differing index with the tokens around it, and the supervised text of both sides
  aligned by characters (what the generator trains on that the real render never shows, and vice versa).
"""

from __future__ import annotations

import difflib
from collections import Counter
from typing import Any

from lossmask.reference.policy import PROFILES, get_profile

#: How a segment label reads in an explanation.
PHRASES = {
    "header": "the role header", "gen_prompt_suffix": "the generation-prompt suffix", "reasoning": "reasoning",
    "content": "answer text", "tool_call": "tool calls", "end_of_turn": "the end-of-turn token",
    "separator": "the separator after end-of-turn", "system": "system text", "user": "user text",
    "tool": "tool output", "other": "template text outside assistant turns",
}


def piece(golden: dict[str, Any], i: int) -> str:
    s, e = golden["offsets"][i]
    return golden["text"][s:e]


def context(golden: dict[str, Any], indices: list[int], mask: list[int], width: int = 2) -> list[dict[str, Any]]:
    """Tokens around the given indices: index, id, piece, segment, expected and actual supervision."""
    shown = sorted({j for i in indices for j in range(max(0, i - width), min(len(mask), i + width + 1))})
    return [{"index": j, "id": golden["input_ids"][j], "piece": piece(golden, j), "segment": golden["segments"][j],
             "expected": None, "actual": mask[j]} for j in shown]


def matching_profiles(golden: dict[str, Any], mask: list[int]) -> list[str]:
    return [name for name, m in golden["masks"].items() if m == mask]


def mask_mismatch(golden: dict[str, Any], mask: list[int], profile: str) -> dict[str, Any]:
    expected = golden["masks"][profile]
    diff = [i for i, (a, b) in enumerate(zip(expected, mask)) if a != b]
    extra = Counter(golden["segments"][i] for i in diff if mask[i])
    missing = Counter(golden["segments"][i] for i in diff if not mask[i])
    clauses = []
    if extra:
        clauses.append("supervises " + ", ".join(f"{phrase(s)} ({n})" for s, n in extra.most_common()))
    if missing:
        clauses.append("does not supervise " + ", ".join(f"{phrase(s)} ({n})" for s, n in missing.most_common()))
    matches = [m for m in matching_profiles(golden, mask) if m != profile]
    summary = "; ".join(clauses)
    if matches:
        knobs = get_profile(profile).differing_knobs(get_profile(matches[0]))
        summary += f": matches profile {matches[0]} (knobs: {', '.join(f'{k}={v[1]}' for k, v in knobs.items())})"
    else:
        summary += ": matches no shipped profile"
    ctx = context(golden, diff[:8], mask)
    for row in ctx:
        row["expected"] = expected[row["index"]]
    return {"summary": summary, "differing_tokens": diff, "matching_profiles": matches, "context": ctx,
            "over_supervised": dict(extra), "under_supervised": dict(missing), "actual_mask": mask}


def phrase(segment: str) -> str:
    """How a segment label (``+``-joined when a token straddles parts) reads in a sentence."""
    return " + ".join(PHRASES.get(p, p) for p in segment.split("+"))


def supervised_runs(text_of, ids: list[int], mask: list[int]) -> list[str]:
    runs, start = [], None
    for i, m in enumerate([*mask, 0]):
        if m and start is None:
            start = i
        elif not m and start is not None:
            runs.append(text_of(ids[start:i]))
            start = None
    return runs


#: Tokens of both streams shown after the first difference of a token divergence.
DIVERGENCE_WINDOW = 12


def token_divergence(golden: dict[str, Any], ids: list[int], mask: list[int], profile: str,
                     tokenizer: Any) -> dict[str, Any]:
    want = golden["input_ids"]
    first = next((i for i, (a, b) in enumerate(zip(want, ids)) if a != b), min(len(want), len(ids)))
    decode = lambda toks: tokenizer.decode(toks, skip_special_tokens=False)  # noqa: E731
    exp_runs = supervised_runs(decode, want, golden["masks"][profile])
    act_runs = supervised_runs(decode, ids, mask)
    exp_text, act_text = "".join(exp_runs), "".join(act_runs)
    ops = []
    for tag, a0, a1, b0, b1 in difflib.SequenceMatcher(None, exp_text, act_text, autojunk=False).get_opcodes():
        if tag != "equal":
            ops.append({"op": tag, "expected": exp_text[a0:a1], "actual": act_text[b0:b1]})
    lo = max(0, first - 3)
    summary = (f"token stream differs from the template's render at index {first} "
               f"(expected {len(want)} tokens, got {len(ids)})")
    if ops:
        extra = sum(len(o["actual"]) for o in ops)
        missing = sum(len(o["expected"]) for o in ops)
        summary += f"; supervised text: {extra} characters only in the generator's, {missing} only in the render's"
    hi = first + DIVERGENCE_WINDOW
    return {
        "summary": summary, "first_difference": first,
        "expected_tokens": [decode([t]) for t in want[lo:hi]],
        "actual_tokens": [decode([t]) for t in ids[lo:hi]],
        # who supervises each token shown, so a page can colour both streams
        "expected_token_mask": golden["masks"][profile][lo:hi], "actual_token_mask": mask[lo:hi],
        "context_start": lo, "supervised_text_diff": ops[:20],
        "expected_supervised": exp_runs, "actual_supervised": act_runs,
    }


__all__ = ["PROFILES", "context", "mask_mismatch", "matching_profiles", "token_divergence"]
