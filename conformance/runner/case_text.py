"""One failing case as a few lines of plain text: the terminal's per-case detail and the JUnit failure body.

Why shared: a CI log (JUnit) and a terminal should show a maintainer the same compact context: the differing
tokens with their segment labels for a mask mismatch, both token streams from the first differing index for a
token divergence, the generator's own message for an error. Pieces are shown as Python literals (``'\\n'``) so
whitespace and special characters are visible.
"""

from __future__ import annotations

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
    if r.verdict == "mask_mismatch":
        return _mismatch(r.details)
    if r.verdict == "token_divergence" and "first_difference" in r.details:
        return _divergence(r.details)
    return []


def text(r: Result) -> str:
    return "\n".join([headline(r), *("    " + line for line in context_lines(r))])


def _mismatch(d: dict) -> list[str]:
    """Each run of differing tokens, led by the token before it, up to :data:`MAX_ROWS` rows."""
    differing = set(d.get("differing_tokens") or [])
    context = d.get("context") or []
    rows = [row for k, row in enumerate(context) if row["index"] in differing
            or (k + 1 < len(context) and context[k + 1]["index"] in differing
                and context[k + 1]["index"] == row["index"] + 1)][:MAX_ROWS]
    width = max((len(repr(row["piece"])) for row in rows), default=0)
    seg_width = max((len(row["segment"]) for row in rows), default=0)
    out = []
    for row in rows:
        mark = ">" if row["index"] in differing else " "
        out.append(f"{mark} #{row['index']:<5} {row['piece']!r:<{width}}  {row['segment']:<{seg_width}}  "
                   f"expected {row['expected']} got {row['actual']}")
    hidden = len(differing) - sum(1 for row in rows if row["index"] in differing)
    if hidden > 0:
        out.append(f"  ... {hidden} more differing tokens")
    return out


def _divergence(d: dict) -> list[str]:
    first, start = d["first_difference"], d.get("context_start", d["first_difference"])
    k = first - start
    exp, act = d.get("expected_tokens") or [], d.get("actual_tokens") or []

    def stream(tokens: list[str]) -> str:
        return " ".join(map(repr, tokens[:k])) + " | " + " ".join(map(repr, tokens[k:k + 6]))

    out = [f"first difference at token #{first}; from #{start}:",
           f"  render    {stream(exp)}", f"  generator {stream(act)}"]
    for op in (d.get("supervised_text_diff") or [])[:MAX_OPS]:
        if op["actual"] and op["expected"]:
            out.append(f"  supervised {_cut(op['expected'])} in the render, {_cut(op['actual'])} in the generator's")
        elif op["actual"]:
            out.append(f"  supervised only in the generator's: {_cut(op['actual'])}")
        else:
            out.append(f"  supervised only in the render: {_cut(op['expected'])}")
    more = len(d.get("supervised_text_diff") or []) - MAX_OPS
    if more > 0:
        out.append(f"  ... {more} more supervised-text differences")
    return out


def _cut(s: str) -> str:
    return repr(s) if len(s) <= MAX_TEXT else repr(s[:MAX_TEXT]) + f"... ({len(s)} characters)"
