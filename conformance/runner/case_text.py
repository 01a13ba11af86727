"""One failing case as a few lines of plain text: the terminal's per-case detail and the JUnit failure body.

Why shared: a CI log (JUnit) and a terminal should show a maintainer the same compact context: the differing
tokens with their segment labels for a mask mismatch, both token streams from the first differing index for a
token divergence, the generator's own message for an error. Pieces are shown as Python literals (``'\\n'``) so
whitespace and special characters are visible.
"""

from __future__ import annotations

from ..compare import Outcome, Verdict
from .verdict import Result

#: Token rows shown for a mask mismatch; supervised-text differences shown for a token divergence.
MAX_ROWS = 10
MAX_OPS = 3
#: Characters of one supervised-text difference shown before it is cut.
MAX_TEXT = 100


def count_of(n: int, noun: str) -> str:
    """``1 record``, ``2 records``."""
    return f"{n} {noun if n == 1 else noun + 's'}"


def headline(r: Result) -> str:
    return f"{r.verdict} {r.family}/{r.variant} {r.case} ({r.category}): {r.message}"


def context_lines(r: Result) -> list[str]:
    """The lines under the headline (none for verdicts whose message says it all)."""
    o = r.outcome
    if o.verdict is Verdict.MASK_MISMATCH:
        return _mismatch(o)
    if o.verdict is Verdict.TOKEN_DIVERGENCE and o.first_difference is not None:
        return _divergence(o)
    return []


def text(r: Result) -> str:
    return "\n".join([headline(r), *("    " + line for line in context_lines(r))])


def _mismatch(o: Outcome) -> list[str]:
    """Each run of differing tokens, led by the token before it, up to :data:`MAX_ROWS` rows."""
    differing = set(o.differing_tokens)
    context = o.context
    rows = [row for k, row in enumerate(context) if row.index in differing
            or (k + 1 < len(context) and context[k + 1].index in differing
                and context[k + 1].index == row.index + 1)][:MAX_ROWS]
    width = max((len(repr(row.piece)) for row in rows), default=0)
    seg_width = max((len(row.segment) for row in rows), default=0)
    out = []
    for row in rows:
        mark = ">" if row.index in differing else " "
        out.append(f"{mark} #{row.index:<5} {row.piece!r:<{width}}  {row.segment:<{seg_width}}  "
                   f"expected {row.expected} got {row.actual}")
    hidden = len(differing) - sum(1 for row in rows if row.index in differing)
    if hidden > 0:
        out.append(f"  ... {hidden} more differing tokens")
    return out


def _divergence(o: Outcome) -> list[str]:
    first = o.first_difference or 0
    start = o.context_start if o.context_start is not None else first
    k = first - start
    exp, act = list(o.expected_tokens), list(o.actual_tokens)

    def stream(tokens: list[str]) -> str:
        return " ".join(map(repr, tokens[:k])) + " | " + " ".join(map(repr, tokens[k:k + 6]))

    out = [f"first difference at token #{first}; from #{start}:",
           f"  render    {stream(exp)}", f"  generator {stream(act)}"]
    for op in o.supervised_text_diff[:MAX_OPS]:
        if op.actual and op.expected:
            out.append(f"  supervised {_cut(op.expected)} in the render, {_cut(op.actual)} in the generator's")
        elif op.actual:
            out.append(f"  supervised only in the generator's: {_cut(op.actual)}")
        else:
            out.append(f"  supervised only in the render: {_cut(op.expected)}")
    more = len(o.supervised_text_diff) - MAX_OPS
    if more > 0:
        out.append(f"  ... {more} more supervised-text differences")
    return out


def _cut(s: str) -> str:
    return repr(s) if len(s) <= MAX_TEXT else repr(s[:MAX_TEXT]) + f"... ({len(s)} characters)"
