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
from typing import Any

#: Tokens shown on each side of a differing token; gaps shorter than MIN_FOLD are shown rather than folded.
AROUND = 6
MIN_FOLD = 16
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
    """Tokens without differences, folded: shown as runs (one span per supervision change), not token boxes."""

    tokens: int
    runs: tuple[tuple[str, str], ...]  # (who, text)


@dataclass
class RenderView:
    blocks: list[Token | Fold]
    differing: int

    @property
    def uses(self) -> set[str]:
        out = {b.who for b in self.blocks if isinstance(b, Token) and b.who}
        out |= {who for b in self.blocks if isinstance(b, Fold) for who, _ in b.runs if who}
        if any(isinstance(b, Token) and b.differs for b in self.blocks):
            out.add("differs")
        if any(isinstance(b, Token) and any(p.symbol for p in b.pieces) for b in self.blocks):
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


def mask_render(golden: dict[str, Any], expected: list[int], actual: list[int]) -> RenderView:
    """The render of a mask mismatch: token boxes around each difference, folds elsewhere."""
    text, offsets, segments = golden["text"], golden["offsets"], golden["segments"]
    n = len(offsets)
    differing = [i for i in range(n) if expected[i] != actual[i]]
    shown = [False] * n
    for i in differing:
        for j in range(max(0, i - AROUND), min(n, i + AROUND + 1)):
            shown[j] = True
    # Short gaps between shown regions are shown too: a fold must save more than it costs to open.
    i = 0
    while i < n:
        if shown[i]:
            i += 1
            continue
        j = i
        while j < n and not shown[j]:
            j += 1
        if j - i < MIN_FOLD:
            shown[i:j] = [True] * (j - i)
        i = j
    blocks: list[Token | Fold] = []
    diff_set = set(differing)
    i = 0
    while i < n:
        if shown[i]:
            s, e = offsets[i]
            differs = i in diff_set
            piece = text[s:e]
            blocks.append(Token(i, segments[i], _who(expected[i], actual[i]), differs,
                                visible(piece) if differs else (Piece(piece),)))
            i += 1
            continue
        j = i
        while j < n and not shown[j]:
            j += 1
        blocks.append(Fold(j - i, tuple(_runs(text, offsets, expected, actual, i, j))))
        i = j
    return RenderView(blocks, len(differing))


def _runs(text: str, offsets: list, expected: list[int], actual: list[int], lo: int, hi: int):
    who, start = _who(expected[lo], actual[lo]), offsets[lo][0]
    for k in range(lo + 1, hi):
        w = _who(expected[k], actual[k])
        if w != who:
            yield who, text[start:offsets[k][0]]
            who, start = w, offsets[k][0]
    yield who, text[start:offsets[hi - 1][1]]


def divergence(details: dict[str, Any]) -> DivergenceView:
    """Both token streams from ``context_start``, aligned by index, and the supervised-text difference."""
    first, start = details["first_difference"], details.get("context_start", details["first_difference"])
    exp, act = details.get("expected_tokens") or [], details.get("actual_tokens") or []

    def cells(tokens: list[str], mask: list[int] | None, other: list[str]) -> list[StreamCell]:
        mask = mask or []
        return [StreamCell(start + k, visible(t), bool(mask[k]) if k < len(mask) else False,
                           start + k >= first and (k >= len(other) or other[k] != t))
                for k, t in enumerate(tokens)]

    view = DivergenceView(first, cells(exp, details.get("expected_token_mask"), act),
                          cells(act, details.get("actual_token_mask"), exp))
    for op in details.get("supervised_text_diff") or []:
        where = "both" if op["expected"] and op["actual"] else "generator" if op["actual"] else "render"
        view.ops.append(TextDiff(where, visible(op["expected"]), visible(op["actual"]),
                                 len(op["expected"]) + len(op["actual"])))
    return view
