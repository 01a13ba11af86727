"""The smoke run's outputs: one JSON document (written atomically) and a short terminal summary.

Why one document for CI and people alike: the JSON carries ``passed`` and ``checks`` (name → bool) for machines,
and the loss curve, trained-token counts, tokens/s and the device for the benchmark page; the terminal shows
the same facts and explains every failing check in one line per offending position.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from ..atomic import write_text
from ..console import make_console
from .checks import CHECKS


def document(generator: Any, device: dict[str, Any], settings: Any, runs: list[dict[str, Any]],
             savings: dict[str, Any], seconds: float) -> dict[str, Any]:
    checks = {c: bool(runs) and all(r["checks"][c] for r in runs) for c in CHECKS}
    return {
        "passed": all(checks.values()),
        "checks": checks,
        "device": device,
        "generator": {"spec": generator.spec, "name": generator.name, "version": generator.version,
                      "profile": generator.profile, "encoding": generator.encoding},
        "settings": {"steps": settings.steps, "max_batch_tokens": settings.max_batch_tokens,
                     "model": settings.model, "seed": settings.seed},
        "runs": runs,
        "per_message_vs_full_render": savings,
        "seconds": round(seconds, 2),
    }


def json_text(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=1, ensure_ascii=False) + "\n"


def write_json(path: str, doc: dict[str, Any]) -> None:
    write_text(Path(path), json_text(doc))


def print_summary(doc: dict[str, Any], console: Console | None = None) -> None:
    console = console or make_console()
    dev = doc["device"]
    table = Table(title=f"lossmask smoke · generator {doc['generator']['name']} · {dev['type']} ({dev['name']}, "
                        f"{dev['dtype']}, {dev['threads']} thread(s))")
    for col in ("family", "model", "vocab", "cases", "trained / tokens", "loss first → last", "tokens/s", "checks"):
        table.add_column(col, justify="right" if col in ("cases", "tokens/s") else "left")
    for r in doc["runs"]:
        ok = sum(r["checks"].values())
        style = "green" if ok == len(r["checks"]) else "red"
        tr, curve = r.get("trained_tokens"), r.get("training", {}).get("loss_curve") or []
        table.add_row(
            f"{r['family']}/{r['variant']}", r["model"],
            (f"{'compact' if r['vocab']['compact'] else 'full'} {r['vocab']['size']}") if "vocab" in r else "-",
            str(len(r["cases"])), f"{tr['mask_sum']} / {tr['sequence_tokens']}" if tr else "-",
            f"{curve[0]:.3f} → {curve[-1]:.3f}" if curve else "-",
            f"{r['training']['tokens_per_s']:.0f}" if "training" in r else "-",
            f"[{style}]{ok}/{len(r['checks'])}[/]")
    console.print(table)
    for r in doc["runs"]:
        for check, messages in r["failures"].items():
            console.print(f"[red]FAIL[/] {r['family']}/{r['variant']} {check}")
            for m in messages:
                console.print(f"    {m}", markup=False, highlight=False)
        for note in r["skipped"]:
            console.print(f"[dim]skipped: {note}[/]", highlight=False)
    print_savings(doc["per_message_vs_full_render"], console)
    verdict = "[green]passed[/]" if doc["passed"] else "[red]FAILED[/]"
    console.print(f"smoke {verdict} in {doc['seconds']:.1f} s")


def print_savings(savings: dict[str, Any], console: Console) -> None:
    if not savings.get("available"):
        console.print(f"[yellow]per-message vs full-render:[/] {savings.get('note', 'not measured')}")
        return
    table = Table(title="per-message (qwen3-style) vs full-render (qwen3_5-style) masks, multi-turn reasoning")
    for col in ("family", "set", "convs", "tokens pm → full", "ratio", "trained pm → full", "ratio"):
        table.add_column(col)
    for family, sets in savings["families"].items():
        for name, data in sets.items():
            t = data["total"]
            table.add_row(family, name, str(t["conversations"]),
                          f"{t['per_message']['tokens']} → {t['full_render']['tokens']}", str(t["tokens_ratio"]),
                          f"{t['per_message']['trained']} → {t['full_render']['trained']}", str(t["trained_ratio"]))
            for row in data["rows"]:
                if "error" in row:
                    console.print(f"[yellow]{family} {row['conversation']}:[/] {row['error']}", highlight=False)
    console.print(table)
