"""Where each token of an encoding lies in the text: the tokenizer's own offsets, or the running sum of token lengths.

Why two sources: asking the tokenizers backend for offsets costs twice. ``encode_batch`` tracks every character
through normalisation and pre-tokenisation, and handing the offsets to Python builds one tuple per token; together
that is 15-25% of a tokenization (measured on the bundled families, 2 to 128 turns). ``encode_batch_fast`` gives
the same ids without tracking offsets. For a tokenizer whose pipeline leaves every character where it was, the
offsets follow from the ids alone: token ``t`` covers exactly ``length(t)`` characters, right after the previous
token, so the offsets are the running sum of token lengths (:class:`Lengths`).

When that holds, and why it is checked rather than assumed:

* **the pipeline** (read from the backend's own components, once per tokenizer): no normaliser, or only ones that
  map one character to one character (a one-character ``Replace``: SentencePiece's space to ``▁``; the Unicode
  normal forms, identity on ASCII text, so those tokenizers take this path for ASCII texts only); pre-tokenizers
  that split (``Split``, ``Punctuation``, ``Digits``) and ``ByteLevel`` without an added prefix space (a split that
  *removes* what it does not match, OLMo 2's inverted one, is taken for ASCII texts through byte-level BPE only,
  where a removed character would make the sum short); a BPE model (an encoding holding a *fused* unknown token,
  which can cover a run of characters, takes the offsets); added tokens matched without stripping whitespace; no
  post-processor that trims offsets; no padding or truncation set on the backend. Anything else takes the
  tokenizer's offsets.
* **the lengths**: a byte-level token's length is the number of bytes it stands for (its vocabulary string has one
  character per byte), any other token's the length of its vocabulary string, an added token's that of its
  content. None is shorter than what it covers (a byte is at most one character; a byte-fallback ``<0x..>`` or an
  unknown-token string is longer than the character it covers), so the lengths add up to the text's length only
  when every token covers exactly its length: that sum is checked for every text, and a text that fails it (a
  non-ASCII text through byte-level BPE, say) is encoded again with offsets.
* **the first text** of each tokenizer object is also encoded with offsets and compared; one difference and that
  tokenizer never takes this path again.

Offsets are character offsets into the Python string (code points), as the tokenizers backend reports them.
"""

from __future__ import annotations

import json
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from itertools import compress, count, starmap
from operator import ge, itemgetter
from typing import Any

import numpy as np

from .cache import PerObjectCache

_START, _END = itemgetter(0), itemgetter(1)

#: A length no token has: an id missing from the table makes the sum fail instead of guessing.
_UNKNOWN = 1 << 48


class TokenBounds:
    """Character offsets of one encoding's tokens, as a list of ``(start, end)`` on demand.

    On the lengths path the bounds are one NumPy ``int64`` array of token starts (``starts[t]`` where token t
    starts, ``starts[-1]`` the text's length; no token is empty), and ``ids`` the encoding's ids as an ``int64``
    array, built to look the lengths up and kept so a dataset column (:class:`reference.batch.LabelsMap`) need not
    convert the ids again. ``offsets`` is always a list of Python ``(int, int)``.
    """

    __slots__ = ("_offsets", "_starts", "ids")

    def __init__(self, offsets: list[tuple[int, int]] | None = None, starts: Sequence[int] | None = None,
                 ids: Any = None) -> None:
        self._offsets = offsets
        self._starts = None if starts is None else np.asarray(starts, dtype="int64")
        self.ids = ids

    @property
    def offsets(self) -> list[tuple[int, int]]:
        if self._offsets is None:
            starts = self._starts.tolist()
            self._offsets = list(zip(starts, starts[1:]))
        return self._offsets

    @property
    def from_lengths(self) -> bool:
        return self._starts is not None

    def __len__(self) -> int:
        return len(self._starts) - 1 if self._starts is not None else len(self._offsets)

    def __eq__(self, other: object) -> bool:  # the same offsets, whichever source they came from
        return isinstance(other, TokenBounds) and self.offsets == other.offsets

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"TokenBounds({len(self)} tokens, from {'lengths' if self.from_lengths else 'offsets'})"

    def mask(self, intervals: list[tuple[int, int]], straddle: str) -> tuple[list[int], list[int]]:
        """Tokens inside merged character ``intervals`` (1) and the tokens only partly inside one (straddles).

        Span arithmetic, not a loop over tokens: each interval's tokens are found by bisection and set with one
        slice assignment; only the tokens at its two edges are examined for straddling. A token without
        characters is never inside an interval. ``straddle="all"`` leaves straddling tokens unsupervised.
        """
        if self._starts is not None:
            return _mask_from_starts(self._starts, intervals, straddle)
        return _mask_from_offsets(self.offsets, intervals, straddle)


def _mask_from_starts(starts: Any, intervals: list[tuple[int, int]],
                      straddle: str) -> tuple[list[int], list[int]]:
    n = len(starts) - 1
    mask = [0] * n
    straddles: list[int] = []
    if not intervals:
        return mask, straddles
    edges = np.asarray(intervals, dtype="int64")
    # Both bisections of every interval in two C calls: the first token ending after a (a token's end is the
    # next one's start), the first token starting at or after b.
    los = np.searchsorted(starts[1:], edges[:, 0], side="right")
    his = np.searchsorted(starts[:n], edges[:, 1], side="left")
    first_starts, after_ends = starts[los].tolist(), starts[his].tolist()
    for (a, b), lo, hi, lo_start, hi_start in zip(intervals, los.tolist(), his.tolist(), first_starts, after_ends):
        if lo >= hi:
            continue
        mask[lo:hi] = [1] * (hi - lo)
        # Tokens are contiguous and never empty here: only the first can start before a, only the last end after b.
        for t, partial in ((lo, lo_start < a), (hi - 1, hi_start > b)):
            if partial:  # a token can straddle two intervals: each one leaves it out under "all"
                straddles.append(t)
                if straddle == "all":
                    mask[t] = 0
    return mask, sorted(set(straddles))


def _mask_from_offsets(offsets: Sequence[tuple[int, int]], intervals: list[tuple[int, int]],
                       straddle: str) -> tuple[list[int], list[int]]:
    mask = [0] * len(offsets)
    straddles: set[int] = set()
    if not intervals:
        return mask, []
    # One C-level pass (starmap/compress) rather than a comprehension: this runs over every token.
    zero_width = list(compress(count(), starmap(ge, offsets)))
    for a, b in intervals:
        lo = bisect_right(offsets, a, key=_END)  # first token ending after a
        hi = bisect_left(offsets, b, key=_START)  # first token starting at/after b
        if lo >= hi:
            continue
        mask[lo:hi] = [1] * (hi - lo)
        edge = set()
        t = lo
        while t < hi and offsets[t][0] < a:
            edge.add(t)
            t += 1
        t = hi - 1
        while t >= lo and offsets[t][1] > b:
            edge.add(t)
            t -= 1
        for t in edge:
            if offsets[t][1] > offsets[t][0]:
                straddles.add(t)
                if straddle == "all":
                    mask[t] = 0
        if zero_width:
            for z in zero_width[bisect_left(zero_width, lo):bisect_left(zero_width, hi)]:
                mask[z] = 0
    return mask, sorted(straddles)


# -- lengths -----------------------------------------------------------------------------------------------------
def _state(component: Any) -> dict | None:
    return None if component is None else json.loads(component.__getstate__())


def _components(state: dict | None, key: str) -> list[dict]:
    if state is None:
        return []
    if state.get("type") == "Sequence":
        return [c for sub in state.get(key, []) for c in _components(sub, key)]
    return [state]


_UNICODE_FORMS = frozenset({"NFC", "NFD", "NFKC", "NFKD"})


def pipeline_problem(backend: Any) -> tuple[str | None, bool]:
    """``(why not, ascii_only)`` for the lengths path; ``why not`` is ``None`` when it applies."""
    ascii_only = byte_level = removes = False
    try:
        normalizers = _components(_state(backend.normalizer), "normalizers")
        pre = _components(_state(backend.pre_tokenizer), "pretokenizers")
        post = _components(_state(backend.post_processor), "processors")
    except Exception as exc:  # noqa: BLE001 - a component that cannot describe itself: use the offsets
        return f"pipeline not readable ({type(exc).__name__})", False
    for n in normalizers:
        kind = n.get("type")
        if kind in _UNICODE_FORMS:
            ascii_only = True
        elif kind == "Replace":
            pattern = (n.get("pattern") or {}).get("String")
            if not (isinstance(pattern, str) and len(pattern) == 1 and len(n.get("content") or "") == 1):
                return "normalizer Replace is not one character for one", False
        else:
            return f"normalizer {kind} may move characters", False
    for p in pre:
        kind = p.get("type")
        if kind == "ByteLevel":
            if p.get("add_prefix_space"):
                return "pre-tokenizer ByteLevel adds a prefix space", False
            byte_level = True
        elif kind in ("Split", "Punctuation"):
            if p.get("behavior") == "Removed":
                removes = True  # what it removes leaves a gap, which ASCII byte-level lengths cannot hide
        elif kind != "Digits":
            return f"pre-tokenizer {kind} may drop or add characters", False
    for p in post:
        kind = p.get("type")
        if kind in ("ByteLevel", "RobertaProcessing") and p.get("trim_offsets"):
            return f"post-processor {kind} trims offsets", False
        if kind not in ("ByteLevel", "RobertaProcessing", "TemplateProcessing", "BertProcessing"):
            return f"post-processor {kind} may change offsets", False
    model = backend.model
    if type(model).__name__ != "BPE":
        return f"model {type(model).__name__} is not BPE", False
    for token in backend.get_added_tokens_decoder().values():
        if token.lstrip or token.rstrip:
            return f"added token {token.content!r} strips whitespace", False
    if removes:
        if not byte_level:
            return "a pre-tokenizer removes characters", False
        ascii_only = True
    return None, ascii_only


def fused_unknown(backend: Any) -> int | None:
    """The unknown token's id where the model fuses runs of unknown characters into one (such a token can cover
    more characters than its string has: an encoding holding it takes the offsets)."""
    model = backend.model
    unk = getattr(model, "unk_token", None)
    return backend.token_to_id(unk) if unk and getattr(model, "fuse_unk", False) else None


class Lengths(dict):
    """Token id → characters it covers, filled on first use of each id (a fresh tokenizer pays per id seen).

    :meth:`of` looks up a whole encoding at once in a NumPy table beside the dict (``-1``: not looked up yet),
    one gather instead of a dict lookup per token; ids the table has not seen go through the dict first.
    """

    def __init__(self, backend: Any) -> None:
        super().__init__()
        self.backend = backend
        self.added = {i: len(t.content) or _UNKNOWN for i, t in backend.get_added_tokens_decoder().items()}
        self.table = np.full(backend.get_vocab_size(with_added_tokens=True), -1, dtype="int64")

    def of(self, ids: Any) -> Any:
        """The length of every id of ``ids`` (an ``int64`` array) as an ``int64`` array."""
        table = self.table
        if len(ids) and int(ids.max()) >= len(table):  # an id past the vocabulary size the backend reported
            grown = np.full(int(ids.max()) + 1, -1, dtype="int64")
            grown[:len(table)] = table
            self.table = table = grown
        found = table[ids]
        if len(found) and found.min() < 0:
            for token_id in set(ids[found < 0].tolist()):  # not np.unique: its first call imports numpy.ma (68 ms)
                table[token_id] = self[token_id]
            found = table[ids]
        return found

    def __missing__(self, token_id: int) -> int:
        length = self.added.get(token_id)
        if length is None:
            piece = self.backend.id_to_token(token_id)
            length = _UNKNOWN if not piece else len(piece)  # byte-level: one character per byte
        self[token_id] = length
        return length


class _Plan:
    __slots__ = ("backend", "lengths", "ascii_only", "unknown", "verified", "why_not")

    def __init__(self, backend: Any) -> None:
        self.backend = backend
        why, self.ascii_only = pipeline_problem(backend)
        self.unknown = fused_unknown(backend) if why is None else None
        self.why_not = why
        self.lengths = Lengths(backend) if why is None else None
        self.verified = False


#: One plan per tokenizer object and backend (a tokenizer whose backend is swapped gets a new one; an object that
#: cannot be weakly referenced gets a fresh plan per call, so each call checks its first text).
_PLANS: PerObjectCache[_Plan] = PerObjectCache(per_object=1)


def _plan(tokenizer: Any, backend: Any) -> _Plan:
    return _PLANS.get(tokenizer, backend, lambda: _Plan(backend))


def why_offsets(tokenizer: Any) -> str | None:
    """Why this tokenizer's offsets come from the backend (``None``: from token lengths where the sum holds)."""
    backend = getattr(tokenizer, "_tokenizer", None)
    if backend is None or not hasattr(backend, "encode_batch_fast"):
        return "no tokenizers backend with encode_batch_fast"
    return _plan(tokenizer, backend).why_not


def encode_bounds(tokenizer: Any, backend: Any, texts: list[str]) -> list[tuple[list[int], TokenBounds]]:
    """Ids and bounds for ``texts`` (``add_special_tokens=False``), one ``encode_batch_fast`` call for the texts
    whose lengths hold, one ``encode_batch`` call (with offsets) for the rest."""
    plan = _plan(tokenizer, backend) if hasattr(backend, "encode_batch_fast") else None
    if plan is None or plan.lengths is None or backend.padding is not None or backend.truncation is not None:
        return [(e.ids, TokenBounds(e.offsets)) for e in backend.encode_batch(texts, add_special_tokens=False)]
    out: list[Any] = [None] * len(texts)
    rows = [k for k, t in enumerate(texts) if not plan.ascii_only or t.isascii()]
    lengths, unknown = plan.lengths, plan.unknown
    if rows:
        fast = backend.encode_batch_fast([texts[k] for k in rows], add_special_tokens=False)
        for k, enc in zip(rows, fast):
            ids = enc.ids
            if unknown is not None and unknown in ids:
                continue
            id_array = np.array(ids, dtype=np.int64)
            token_lengths = lengths.of(id_array)
            if len(ids) and token_lengths.max() >= _UNKNOWN:  # a token of unknown length (and no int64 overflow)
                continue
            starts = np.zeros(len(ids) + 1, dtype=np.int64)
            np.cumsum(token_lengths, out=starts[1:])
            if int(starts[-1]) == len(texts[k]):
                out[k] = (ids, TokenBounds(starts=starts, ids=id_array))
    rest = [k for k, o in enumerate(out) if o is None]
    if rest:
        for k, enc in zip(rest, backend.encode_batch([texts[k] for k in rest], add_special_tokens=False)):
            out[k] = (enc.ids, TokenBounds(enc.offsets))
    if not plan.verified and len(rest) < len(texts):
        k = next(k for k, o in enumerate(out) if o[1].from_lengths)
        enc = backend.encode_batch([texts[k]], add_special_tokens=False)[0]
        if enc.ids != out[k][0] or enc.offsets != out[k][1].offsets:  # never seen: the argument above is wrong
            plan.lengths, plan.why_not = None, "token lengths disagreed with the tokenizer's offsets"
            return encode_bounds(tokenizer, backend, texts)
        plan.verified = True
    return out
