"""Map the real tokenizer's ids onto a compact vocabulary for CPU runs.

Why: a tiny model over the full 151k–248k vocabulary spends nearly all its time in the embedding and output
projection (~70 s for 30 steps on one CPU thread, research/ecosystem.md §6) while the checks only need the ids
that occur. Remapping the ids used by the batches onto ``0..k-1`` keeps every check identical (the mask, the
positions and the targets are unchanged; only the row of the output matrix differs) and runs 25–100× faster.
Checks that name tokens always go back to the real ids.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class VocabMap:
    """``to_model[real_id]`` → model id; ``size`` is the model's vocabulary size."""

    to_model: dict[int, int] | None
    size: int

    @property
    def compact(self) -> bool:
        return self.to_model is not None

    def encode(self, rows: list[list[int]]) -> list[list[int]]:
        if self.to_model is None:
            return rows
        m = self.to_model
        return [[m[t] for t in row] for row in rows]

    def encode_labels(self, rows: list[list[int]], ignore_index: int) -> list[list[int]]:
        if self.to_model is None:
            return rows
        m = self.to_model
        return [[t if t == ignore_index else m[t] for t in row] for row in rows]


def compact(rows: Iterable[list[int]]) -> VocabMap:
    """The ids occurring in ``rows`` (padding included), sorted, mapped onto ``0..k-1``."""
    used = sorted({t for row in rows for t in row})
    return VocabMap({t: i for i, t in enumerate(used)}, len(used))


def full(tokenizer_size: int, rows: Iterable[list[int]]) -> VocabMap:
    """The real vocabulary (grown when a generator emits an id past ``len(tokenizer)``)."""
    top = max((t for row in rows for t in row), default=-1)
    return VocabMap(None, max(tokenizer_size, top + 1))
