"""One self-contained HTML page: the summary table and, for each failing case, its render with the expected
and the generator's supervised spans (no scripts, no external assets)."""

from __future__ import annotations

import html
from collections import Counter
from pathlib import Path

from .. import golden as G
from ..atomic import write_text
from ..compare import Verdict
from .engine import Run
from ..record import GoldenRecord
from .reports import tally

STYLE = """body{font:14px system-ui,sans-serif;margin:2em;max-width:80em}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}th:first-child,td:first-child{text-align:left}
pre{white-space:pre-wrap;word-break:break-all;background:#fafafa;border:1px solid #ddd;padding:.5em}
.both{background:#b7e4c7}.exp{background:#ffd6a5;text-decoration:underline}.act{background:#ffadad}
.fail{color:#b00}.legend span{padding:0 .4em;margin-right:.5em}"""


def _render(record: GoldenRecord, actual: tuple[int, ...] | None, profile: str) -> str:
    """The render with each token coloured: supervised by both, only expected, only the generator's."""
    expected = record.mask(profile)
    out = []
    for i in range(len(record.input_ids)):
        piece = html.escape(record.piece(i))
        a, b = expected[i], (actual[i] if actual is not None else expected[i])
        cls = "both" if a and b else "exp" if a else "act" if b else ""
        out.append(f'<span class="{cls}" title="{i} {record.segments[i]}">{piece}</span>' if cls else piece)
    return "".join(out)


def write_html(run: Run, path: str | Path) -> None:
    s = tally(run)
    rows = Counter((r.family, r.variant, r.verdict) for r in run.results)
    labels = sorted({(r.family, r.variant) for r in run.results})
    verdicts = sorted({r.verdict.value for r in run.results})
    parts = [f"<!doctype html><meta charset=utf-8><title>lossmask: {html.escape(run.generator['name'])}</title>",
             f"<style>{STYLE}</style>",
             f"<h1>lossmask check: {html.escape(run.generator['name'])} {html.escape(run.generator['version'])}</h1>",
             f"<p>profile <b>{html.escape(run.profile)}</b> · {s.total} cases · {s.ran} ran · {s.passed} passed · "
             f"{s.refused_agree} refused like the template (not passes) · {s.declined} declined · "
             f"<span class=fail>{s.failed} failed</span>"
             + (f" · {s.not_judged} not judged" if s.not_judged else "") + f" · {run.seconds:.1f} s</p>",
             "<table><tr><th>family/variant</th>" + "".join(f"<th>{v}</th>" for v in verdicts) + "</tr>"]
    for fam, var in labels:
        parts.append(f"<tr><td>{fam}/{var}</td>" + "".join(f"<td>{rows.get((fam, var, v), '')}</td>" for v in verdicts) + "</tr>")
    parts.append("</table><p class=legend><span class=both>supervised by both</span><span class=exp>expected only</span>"
                 "<span class=act>generator only</span></p>")
    for r in run.results:
        if not r.failed:
            continue
        parts.append(f"<h3 id='{html.escape(r.family)}-{html.escape(r.variant)}-{r.case}'>{html.escape(r.family)}/"
                     f"{html.escape(r.variant)} · {r.case} · <span class=fail>{r.verdict}</span></h3>"
                     f"<p>{html.escape(r.message)}</p>")
        try:
            record = G.load_record(r.family, r.variant, r.case)
            record.mask(r.profile)
        except Exception:  # noqa: BLE001 - the page still lists the failure
            continue
        if record.refused:
            continue
        o = r.outcome
        actual = o.actual_mask if o.verdict is Verdict.MASK_MISMATCH else None
        parts.append(f"<pre>{_render(record, actual, r.profile)}</pre>")
        if o.verdict is Verdict.TOKEN_DIVERGENCE:
            exp = html.escape(repr(list(o.expected_supervised)))
            act = html.escape(repr(list(o.actual_supervised)))
            parts.append(f"<p>expected supervised: <code>{exp}</code><br>generator supervised: <code>{act}</code></p>")
    write_text(Path(path), "\n".join(parts) + "\n")
