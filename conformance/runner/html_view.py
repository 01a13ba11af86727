"""What the HTML page shows of one case, as plain data for the template (``templates/report.html.j2``).

Why this shape:

* a mask mismatch is the render with every token in its own box (token boundaries visible), coloured by who
  supervises it (both, the profile only, the generator only); only the region around each differing token is
  shown, the rest folds into a ``<details>`` a reader can open, so an agent trajectory of 20,000 tokens costs a
  few lines, not 76 KB of page;
* where supervision differs, whitespace and invisible characters are drawn (``⏎`` ``␣`` ``⇥`` ``⟨U+200B⟩``) so a
  supervised separator ``\\n`` is a visible box, not an empty coloured span;
* a token divergence is both token streams side by side, aligned by index from a few tokens before the first
  difference, each coloured by its own mask, and the supervised-text difference with whitespace drawn;
* an error, timeout or invalid answer shows what the generator said: there is no generator mask to colour.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

from ..compare import Outcome
from ..record import GoldenRecord

#: Tokens shown on each side of a differing token; gaps shorter than MIN_FOLD are shown rather than folded.
AROUND = 6
MIN_FOLD = 16
#: Regions of differences shown unfolded; later ones fold (an agent trajectory repeats one difference per turn).
MAX_REGIONS = 6
#: Characters of one supervised-text difference shown before the rest folds.
OP_PREVIEW = 240

SYMBOLS = {" ": "␣", "\n": "⏎", "\t": "⇥", "\r": "␍"}


@dataclass(frozen=True)
class Piece:
    """A run of characters; ``symbol`` runs are drawn stand-ins for whitespace or invisible characters."""

    text: str
    symbol: bool = False


@dataclass(frozen=True)
class Token:
    index: int
    segment: str
    #: ``both`` | ``expected`` (profile only) | ``generator`` (generator only) | ``""`` (neither)
    who: str
    differs: bool
    pieces: tuple[Piece, ...]


@dataclass(frozen=True)
class Fold:
    """Tokens folded away: runs of text (one per change of supervision) and, for the differing tokens a fold
    holds (past :data:`MAX_REGIONS`), their token boxes with whitespace drawn."""

    tokens: int
    differing: int
    items: tuple[tuple[str, str] | Token, ...]  # (who, text) runs and Tokens


@dataclass
class RenderView:
    blocks: list[Token | Fold]
    differing: int

    @property
    def uses(self) -> set[str]:
        tokens = [b for b in self.blocks if isinstance(b, Token)]
        tokens += [t for b in self.blocks if isinstance(b, Fold) for t in b.items if isinstance(t, Token)]
        out = {t.who for t in tokens if t.who}
        out |= {item[0] for b in self.blocks if isinstance(b, Fold) for item in b.items
                if isinstance(item, tuple) and item[0]}
        if any(t.differs for t in tokens):
            out.add("differs")
        if any(p.symbol for t in tokens for p in t.pieces):
            out.add("symbol")
        return out


@dataclass(frozen=True)
class StreamCell:
    index: int
    pieces: tuple[Piece, ...]
    supervised: bool
    #: the two streams hold different tokens at this index
    differs: bool


@dataclass(frozen=True)
class TextDiff:
    """One difference of supervised text: ``where`` is ``generator`` (only the generator trains on it),
    ``render`` (only the render's mask does) or ``both`` (each side has its own text there)."""

    where: str
    expected: tuple[Piece, ...]
    actual: tuple[Piece, ...]
    characters: int

    @property
    def long(self) -> bool:
        return self.characters > OP_PREVIEW


@dataclass
class DivergenceView:
    first: int
    render: list[StreamCell]
    generator: list[StreamCell]
    ops: list[TextDiff] = field(default_factory=list)

    @property
    def uses(self) -> set[str]:
        return {"stream", "symbol"}


def visible(text: str) -> tuple[Piece, ...]:
    """``text`` with whitespace and invisible characters drawn; a newline keeps its line break after ``⏎``."""
    out: list[Piece] = []
    plain: list[str] = []

    def flush() -> None:
        if plain:
            out.append(Piece("".join(plain)))
            plain.clear()

    for ch in text:
        symbol = SYMBOLS.get(ch)
        if symbol is None and unicodedata.category(ch) in {"Cc", "Cf", "Zs", "Zl", "Zp", "Co", "Cs"}:
            symbol = f"⟨U+{ord(ch):04X}⟩"
        if symbol is None:
            plain.append(ch)
            continue
        flush()
        out.append(Piece(symbol, True))
        if ch == "\n":
            plain.append("\n")
    flush()
    return tuple(out)


def _who(expected: int, actual: int) -> str:
    return "both" if expected and actual else "expected" if expected else "generator" if actual else ""


def mask_render(record: GoldenRecord, expected: list[int], actual: list[int]) -> RenderView:
    """The render of a mask mismatch: token boxes around the first :data:`MAX_REGIONS` differences, folds
    elsewhere (the last fold holds every later difference, still boxed)."""
    text, offsets, segments = record.text, record.offsets, record.segments
    n = len(offsets)
    differing = [i for i in range(n) if expected[i] != actual[i]]
    diff_set = set(differing)
    shown = [False] * n
    regions, last = 0, -(10 ** 9)
    for i in differing:
        if i - last > 2 * AROUND + MIN_FOLD:
            regions += 1
            if regions > MAX_REGIONS:
                break
        last = i
        for j in range(max(0, i - AROUND), min(n, i + AROUND + 1)):
            shown[j] = True
    # Short gaps between shown regions are shown too: a fold must save more than it costs to open.
    i = 0
    while i < n:
        j = i
        while j < n and shown[j] == shown[i]:
            j += 1
        if not shown[i] and j - i < MIN_FOLD and not (j == n and regions > MAX_REGIONS):
            shown[i:j] = [True] * (j - i)
        i = j

    def token(k: int) -> Token:
        s, e = offsets[k]
        differs = k in diff_set
        return Token(k, segments[k], _who(expected[k], actual[k]), differs,
                     visible(text[s:e]) if differs else (Piece(text[s:e]),))

    blocks: list[Token | Fold] = []
    i = 0
    while i < n:
        if shown[i]:
            blocks.append(token(i))
            i += 1
            continue
        j = i
        while j < n and not shown[j]:
            j += 1
        items: list[tuple[str, str] | Token] = []
        lo = i
        for k in [k for k in differing if i <= k < j] + [j]:
            if k > lo:
                items.extend(_runs(text, offsets, expected, actual, lo, k))
            if k < j:
                items.append(token(k))
            lo = k + 1
        blocks.append(Fold(j - i, sum(1 for k in differing if i <= k < j), tuple(items)))
        i = j
    return RenderView(blocks, len(differing))


def _runs(text: str, offsets: list, expected: list[int], actual: list[int], lo: int, hi: int):
    """Tokens ``lo:hi`` as (who, text) runs, one per change of supervision."""
    who, start = _who(expected[lo], actual[lo]), offsets[lo][0]
    for k in range(lo + 1, hi):
        w = _who(expected[k], actual[k])
        if w != who:
            yield who, text[start:offsets[k][0]]
            who, start = w, offsets[k][0]
    yield who, text[start:offsets[hi - 1][1]]


def divergence(o: Outcome) -> DivergenceView:
    """Both token streams from ``context_start``, aligned by index, and the supervised-text difference."""
    first = o.first_difference or 0
    start = o.context_start if o.context_start is not None else first
    exp, act = list(o.expected_tokens), list(o.actual_tokens)

    def cells(tokens: list[str], mask: list[int] | None, other: list[str]) -> list[StreamCell]:
        mask = mask or []
        return [StreamCell(start + k, visible(t), bool(mask[k]) if k < len(mask) else False,
                           start + k >= first and (k >= len(other) or other[k] != t))
                for k, t in enumerate(tokens)]

    view = DivergenceView(first, cells(exp, list(o.expected_token_mask), act),
                          cells(act, list(o.actual_token_mask), exp))
    for op in o.supervised_text_diff:
        where = "both" if op.expected and op.actual else "generator" if op.actual else "render"
        view.ops.append(TextDiff(where, visible(op.expected), visible(op.actual), len(op.expected) + len(op.actual)))
    return view
