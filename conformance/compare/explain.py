"""Explain a disagreement in terms a maintainer can act on, as fields of an :class:`~.outcome.Outcome`.

* mask mismatch (same tokens, different mask): the segments (header, separator, reasoning...) the generator
  supervises that the profile does not, or misses, and which shipped profile its mask equals;
* token divergence: the first differing index with the tokens around it, and the supervised text of both sides
  aligned by characters (what the generator trains on that the real render never shows, and vice versa).

The one-line messages are built here from those fields, never the other way round.
"""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from lossmask.reference.policy import get_profile

from ..record import GoldenRecord
from .outcome import TextOp, TokenRow

#: How a segment label reads in an explanation.
PHRASES = {
    "header": "the role header", "gen_prompt_suffix": "the generation-prompt suffix", "reasoning": "reasoning",
    "content": "answer text", "tool_call": "tool calls",
    "glue": "template glue (template text inside the turn that no field holds)",
    "end_of_turn": "the end-of-turn token",
    "separator": "the separator after end-of-turn", "system": "system text", "user": "user text",
    "tool": "tool output", "other": "template text outside assistant turns",
}


def first_difference(a: Sequence[Any], b: Sequence[Any]) -> int | None:
    """The first index where ``a`` and ``b`` differ (the shorter length when one is a prefix); ``None`` if equal."""
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return None if len(a) == len(b) else min(len(a), len(b))


def phrase(segment: str) -> str:
    """``gen_prompt_suffix+content`` → ``the generation-prompt suffix + answer text``."""
    return " + ".join(PHRASES.get(p, p) for p in segment.split("+"))


def context(record: GoldenRecord, indices: Sequence[int], expected: Sequence[int], actual: Sequence[int],
            width: int = 2) -> tuple[TokenRow, ...]:
    """Tokens around the given indices: index, id, piece, segment, expected and actual supervision."""
    n = len(actual)
    shown = sorted({j for i in indices for j in range(max(0, i - width), min(n, i + width + 1))})
    return tuple(TokenRow(j, record.input_ids[j], record.piece(j), record.segments[j], expected[j], actual[j])
                 for j in shown)


def matching_profiles(record: GoldenRecord, mask: Sequence[int]) -> list[str]:
    return [name for name, m in record.masks.items() if m == mask]


def mask_mismatch(record: GoldenRecord, mask: list[int], profile: str) -> tuple[dict[str, Any], str]:
    """Outcome fields and message for a mask that differs from ``record.mask(profile)`` over the same tokens."""
    expected = record.mask(profile)
    diff = [i for i, (a, b) in enumerate(zip(expected, mask)) if a != b]
    over = Counter(record.segments[i] for i in diff if mask[i])
    under = Counter(record.segments[i] for i in diff if not mask[i])
    matches = [m for m in matching_profiles(record, mask) if m != profile]
    knobs = get_profile(profile).differing_knobs(get_profile(matches[0])) if matches else {}
    fields = {
        "first_difference": diff[0] if diff else None, "over_supervised": dict(over.most_common()),
        "under_supervised": dict(under.most_common()), "matching_profiles": tuple(matches),
        "differing_knobs": {k: list(v) for k, v in knobs.items()}, "differing_tokens": tuple(diff),
        "context": context(record, diff[:8], expected, mask), "actual_mask": tuple(mask),
    }
    return fields, mask_message(fields["over_supervised"], fields["under_supervised"], matches,
                                fields["differing_knobs"])


def mask_message(over: dict[str, int], under: dict[str, int], matches: Sequence[str],
                 knobs: dict[str, list[Any]]) -> str:
    clauses = []
    if over:
        clauses.append("supervises " + ", ".join(f"{phrase(s)} ({n})" for s, n in over.items()))
    if under:
        clauses.append("does not supervise " + ", ".join(f"{phrase(s)} ({n})" for s, n in under.items()))
    summary = "; ".join(clauses)
    if matches:
        return summary + f": matches profile {matches[0]} (knobs: {', '.join(f'{k}={v[1]}' for k, v in knobs.items())})"
    return summary + ": matches no shipped profile"


def supervised_runs(decode: Callable[[list[int]], str], ids: Sequence[int], mask: Sequence[int]) -> list[str]:
    """The decoded text of each maximal run of supervised tokens."""
    runs, start = [], None
    for i, m in enumerate([*mask, 0]):
        if m and start is None:
            start = i
        elif not m and start is not None:
            runs.append(decode(list(ids[start:i])))
            start = None
    return runs


#: Tokens of both streams shown after the first difference of a token divergence.
DIVERGENCE_WINDOW = 12


def token_divergence(record: GoldenRecord, ids: list[int], mask: list[int], profile: str,
                     decode: Callable[[list[int]], str]) -> tuple[dict[str, Any], str]:
    """Outcome fields and message for a token stream that differs from ``record.input_ids``."""
    want = record.input_ids
    first = first_difference(want, ids)
    first = 0 if first is None else first
    exp_runs = supervised_runs(decode, want, record.mask(profile))
    act_runs = supervised_runs(decode, ids, mask)
    exp_text, act_text = "".join(exp_runs), "".join(act_runs)
    ops = tuple(TextOp(tag, exp_text[a0:a1], act_text[b0:b1])
                for tag, a0, a1, b0, b1 in difflib.SequenceMatcher(None, exp_text, act_text, autojunk=False).get_opcodes()
                if tag != "equal")
    lo, hi = max(0, first - 3), first + DIVERGENCE_WINDOW
    fields = {
        "first_difference": first, "context_start": lo,
        "expected_tokens": tuple(decode([t]) for t in want[lo:hi]),
        "actual_tokens": tuple(decode([t]) for t in ids[lo:hi]),
        # who supervises each token shown, so a page can colour both streams
        "expected_token_mask": tuple(record.mask(profile)[lo:hi]), "actual_token_mask": tuple(mask[lo:hi]),
        "supervised_text_diff": ops[:20], "expected_supervised": tuple(exp_runs), "actual_supervised": tuple(act_runs),
    }
    return fields, divergence_message(first, len(want), len(ids), ops)


def divergence_message(first: int, expected_length: int, actual_length: int, ops: Sequence[TextOp]) -> str:
    summary = (f"token stream differs from the template's render at index {first} "
               f"(expected {expected_length} tokens, got {actual_length})")
    if ops:
        extra = sum(len(o.actual) for o in ops)
        missing = sum(len(o.expected) for o in ops)
        summary += f"; supervised text: {extra} characters only in the generator's, {missing} only in the render's"
    return summary
