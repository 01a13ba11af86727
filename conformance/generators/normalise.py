"""Turn whatever a generator returned into ``(input_ids, mask)`` with 0/1 per token, or say exactly why not.

Peers disagree on output format: 0/1 masks, labels with -100, masks already shifted for next-token loss, and
inverted masks (1 = ignore). The declared encoding says which; every check names the offending index and value.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

IGNORE_INDEX = -100
ENCODINGS = {
    "mask": "loss_mask[i] = 1 when token i is supervised",
    "labels": "labels[i] = input_ids[i] when supervised, -100 otherwise",
    "shifted": "mask[i] = 1 when token i+1 is supervised (aligned for next-token loss); length n (last 0) or n-1",
    "inverted": "mask[i] = 1 when token i is ignored",
}


class Unsupported(Exception):
    """The generator declined the case (it raised ``NotImplementedError``)."""


class InvalidOutput(Exception):
    """The generator returned something that is not a valid (input_ids, mask) pair."""


class LengthMismatch(InvalidOutput):
    """The mask (or labels) does not have one value per input id."""


#: Token ids are unsigned 32-bit in every tokenizer backend; anything outside cannot be a token.
MAX_TOKEN_ID = 2**32 - 1


def _as_list(value: Any, what: str, token_ids: bool = False) -> list:
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise InvalidOutput(f"{what} is a {type(value).__name__}, expected a list of ints")
    out = list(value)
    for i, v in enumerate(out):
        if isinstance(v, bool) or not isinstance(v, int):
            raise InvalidOutput(f"{what}[{i}] is {_short(v)} ({type(v).__name__}), expected an int")
        if token_ids and not 0 <= v <= MAX_TOKEN_ID:
            raise InvalidOutput(f"{what}[{i}] is {_short(v)}, not a token id (0 to {MAX_TOKEN_ID})")
    return out


def _short(value: Any) -> str:
    text = repr(value) if not isinstance(value, int) or value.bit_length() < 200 else f"an int of {value.bit_length()} bits"
    return text if len(text) <= 60 else text[:57] + "..."


def split_pair(result: Any) -> tuple[Any, Any]:
    """Accept ``(ids, mask)``, ``[ids, mask]`` or a mapping with ``input_ids`` and ``loss_mask``/``labels``."""
    if isinstance(result, dict):
        ids = result.get("input_ids")
        second = next((result[k] for k in ("loss_mask", "labels", "mask") if k in result), None)
        if ids is None or second is None:
            raise InvalidOutput(f"returned a mapping with keys {sorted(result)}; expected input_ids and loss_mask or labels")
        return ids, second
    if isinstance(result, (tuple, list)) and len(result) == 2:
        return result[0], result[1]
    raise InvalidOutput(f"returned {type(result).__name__}, expected a pair (input_ids, loss_mask)")


def normalise(result: Any, encoding: str = "mask") -> tuple[list[int], list[int]]:
    """``(input_ids, mask)`` with ``mask[i] = 1`` when token ``i`` is supervised; raise InvalidOutput otherwise."""
    if encoding not in ENCODINGS:
        raise InvalidOutput(f"declares lossmask_encoding={encoding!r}; known: {', '.join(ENCODINGS)}")
    raw_ids, raw_second = split_pair(result)
    ids = _as_list(raw_ids, "input_ids", token_ids=True)
    second = _as_list(raw_second, "labels" if encoding == "labels" else "loss_mask")
    n = len(ids)
    if encoding == "labels":
        if len(second) != n:
            raise LengthMismatch(f"labels has {len(second)} values for {n} input_ids")
        mask = []
        for i, (t, lab) in enumerate(zip(ids, second)):
            if lab == IGNORE_INDEX:
                mask.append(0)
            elif lab == t:
                mask.append(1)
            else:
                raise InvalidOutput(f"labels[{i}] is {lab}, neither -100 nor input_ids[{i}]={t}")
        return ids, mask
    if encoding == "shifted":
        if len(second) == n - 1:
            second = [*second, 0]
        if len(second) != n:
            raise LengthMismatch(f"shifted mask has {len(second)} values for {n} input_ids (expected {n} or {n - 1})")
        _check_binary(second)
        return ids, [0, *second[:-1]]
    if len(second) != n:
        raise LengthMismatch(f"loss_mask has {len(second)} values for {n} input_ids")
    _check_binary(second)
    return ids, ([1 - v for v in second] if encoding == "inverted" else second)


def _check_binary(mask: list[int]) -> None:
    for i, v in enumerate(mask):
        if v not in (0, 1):
            raise InvalidOutput(f"loss_mask[{i}] is {v}, expected 0 or 1")
