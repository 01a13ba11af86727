"""Benchmark report: the JSON document and the markdown region of BENCHMARKS.md that ``lossmask bench`` owns.

BENCHMARKS.md is shared: other tools own other marked regions (``<!-- audit:start -->`` ...). This module only
replaces the text between :data:`START` and :data:`END` (appending the region when the file has none, creating
the file when missing) and writes atomically, so a crash never leaves half a file and other regions survive.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

from ..atomic import write_text

START, END = "<!-- bench:start -->", "<!-- bench:end -->"
ROOT = Path(__file__).resolve().parents[2]
LABELS = {"reference": "reference", "reference+oracle": "reference + oracle", "per_message": "per-message"}


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {"cpus": os.cpu_count(), "cpu": cpu, "platform": platform.platform(),
            "load_average_at_start": [round(x, 2) for x in load] if load else None}


def versions() -> dict[str, str]:
    import jinja2
    import tokenizers
    import transformers

    out = {"python": platform.python_version(), "transformers": transformers.__version__,
           "tokenizers": tokenizers.__version__, "jinja2": jinja2.__version__}
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                                timeout=10)
        if commit.returncode == 0:
            out["lossmask_commit"] = commit.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return out


def json_text(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2, ensure_ascii=False) + "\n"


def write_json(path: str | os.PathLike[str], report: dict[str, Any]) -> None:
    write_text(path, json_text(report))


def replace_region(existing: str, body: str) -> str:
    """``existing`` with the bench region replaced by ``body`` (or appended when absent)."""
    region = f"{START}\n{body.rstrip()}\n{END}"
    if START in existing and END in existing.split(START, 1)[1]:
        head, rest = existing.split(START, 1)
        return head + region + rest.split(END, 1)[1]
    if not existing.strip():
        existing = "# Benchmarks\n"
    return existing.rstrip("\n") + "\n\n" + region + "\n"


def write_markdown(path: str | os.PathLike[str], report: dict[str, Any]) -> None:
    path = Path(path)
    existing = path.read_text(encoding="utf-8") if path.exists() else ""
    write_text(path, replace_region(existing, markdown(report)))


def _ratio(value: float | None) -> str:
    return f"{value:.2f}×" if value is not None else "—"


def markdown(report: dict[str, Any]) -> str:
    v, m = report["versions"], report["machine"]
    summary = report["summary"]
    lines = [
        "## lossmask bench: reference mask cost against the floor",
        "",
        f"`lossmask bench{' --quick' if report['quick'] else ''}` ({report['date']}; Python {v['python']}, "
        f"transformers {v['transformers']}, tokenizers {v['tokenizers']}, jinja2 {v['jinja2']}"
        f"{', commit ' + v['lossmask_commit'] if 'lossmask_commit' in v else ''}; {m['cpus']} CPUs, {m['cpu']}; "
        f"1-min load at start {m['load_average_at_start'][0] if m['load_average_at_start'] else '?'}).",
        "",
        "**Method.** Per family (bundled default template) a synthetic conversation of N turns (a system prompt; "
        "each turn a user message and an assistant answer with `reasoning_content`; every fourth turn a tool round: "
        "assistant reasoning + one tool call, the tool result, the final answer; `conformance/bench/conversations.py`). "
        "The floor is `apply_chat_template(tokenize=True)`: one render and one tokenization. Every method is timed in "
        "the same process, interleaved (each repetition times every method once), after a warm-up; small sizes loop "
        "each timing to ≥50 ms with the same loop count for all methods; a ratio is the method's median over the "
        f"floor's median ({report['repetitions']} repetitions). `reference` is `reference.compute` (canonical "
        "profile); `reference + oracle` adds the independent oracle (`reference/oracle.py`, one re-render per "
        "assistant message); `per-message` is `conformance/baselines/per_message.py` (one render per prefix). "
        f"Quadratic methods stop at the size where their predicted time would pass a {report['budget_seconds']:.0f} s "
        "budget per family (—). Timings come from a shared 2-core machine with other jobs running: noisy, read "
        "ratios to ±20%.",
        "",
        f"**`reference_over_floor` = {_ratio(report['reference_over_floor'])}** (median over every family and size; "
        f"target ≤ 1.5×). Medians over families: reference + oracle {_ratio(summary['median_ratios'].get('reference+oracle'))}, "
        f"per-message {_ratio(summary['median_ratios'].get('per_message'))}.",
        "",
        "| turns | " + " | ".join(LABELS.values()) + " |",
        "| ---: | " + " | ".join("---:" for _ in LABELS) + " |",
    ]
    for size, ratios in summary["per_size"].items():
        lines.append(f"| {size} | " + " | ".join(_ratio(ratios.get(k)) for k in LABELS) + " |")
    lines += ["", "Per family (ratio to the floor; floor in ms; tokens of the conversation):", "",
              "| family | turns | tokens | floor ms | reference | reference + oracle | per-message |",
              "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for fam in report["families"]:
        for row in fam["sizes"]:
            r = row["ratios"]
            lines.append(f"| {fam['family']} | {row['turns']} | {row['tokens']:,} | {row['seconds']['floor'] * 1000:.1f} | "
                         + " | ".join(_ratio(r.get(k)) for k in LABELS) + " |")
    lines += ["", "Growth (log-log slope of seconds against tokens over the three largest sizes of ≥ 8 turns each "
              "method reached; 1 = linear, 2 = quadratic):", "",
              "| family | floor | reference | reference + oracle | per-message |", "| --- | ---: | ---: | ---: | ---: |"]
    for fam in report["families"]:
        g = fam["growth"]
        lines.append(f"| {fam['family']} | " + " | ".join(f"{g[k]:.2f}" if k in g else "—"
                                                         for k in ("floor", *LABELS)) + " |")
    dropped = [f"{f['family']}: {'; '.join(f['dropped'])}" for f in report["families"] if f["dropped"]]
    lines += ["", "Conversation shape: " + ("every family rendered reasoning and tool calls as built." if not dropped
                                            else "features dropped where the template refused them: "
                                            + " / ".join(dropped))]
    if report.get("breakdown"):
        b = report["breakdown"]
        lines += ["", f"**Where the reference's time goes** ({b['family']}, {b['turns']} turns, {b['tokens']:,} tokens, "
                      f"median of {b['repetitions']}): " + ", ".join(f"{k} {v * 1000:.1f} ms" for k, v in b["seconds"].items())
                  + f". {b['note']}"]
    suite = report.get("conformance")
    if suite:
        lines += ["", f"**Conformance over all fixtures:** {suite['what']}: {suite['cases']} cases in "
                      f"{suite['seconds']:.1f} s" + (f" ({', '.join(f'{n} {k}' for k, n in suite['verdicts'].items())})"
                                                     if suite.get("verdicts") else "") + " (target < 60 s on 2 cores)."]
    return "\n".join(lines) + "\n"
