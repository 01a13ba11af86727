"""The terminal summary of an audit: the numbers of the JSON report, readable in ten seconds.

Why this shape: one headline (how many samples, how many unusable, how fast), the token budget per profile,
then errors and findings sorted by count, each with a few sample indices (and line numbers) to look at.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from ..console import make_console


def _pct(n: int, d: int) -> str:
    return f"{100 * n / d:.1f}%" if d else "-"


def _where(items: list[dict[str, Any]]) -> str:
    """Where to look: line numbers for JSONL, sample (row) indices otherwise."""
    if not items:
        return ""
    if items[0].get("line"):
        return "line " + ", ".join(str(ex["line"]) for ex in items)
    return "row " + ", ".join(str(ex["index"]) for ex in items)


def print_summary(report: dict[str, Any], console: Console | None = None, examples_dir: str | None = None) -> None:
    console = console or make_console()
    tok = report["tokenizer"]
    label = tok["family"] if tok["variant"] == "default" else f"{tok['family']}/{tok['variant']}"
    samples, errors = report["samples"], report["errors"]
    gen = report.get("generator")
    console.print(f"[bold]lossmask audit[/] {report['data']} ({report['format']}) · {label}"
                  + (" [yellow](rebuilt tokenizer)[/]" if tok["rebuilt_tokenizer"] else "")
                  + f" · profile {report['profile']}" + (f" · generator {gen['name']}" if gen else ""))
    env = report.get("environment")
    if env and env["status"] != "fine":
        console.print(f"[magenta]environment[/] {env['summary']}" + (f" · fix: {env['fix']}" if env["fix"] else ""),
                      highlight=False, soft_wrap=True)
    rate = report.get("conversations_per_second")
    console.print(f"{samples:,} samples · {report['rendered']:,} rendered · "
                  f"[{'red' if errors['total'] else 'green'}]{errors['total']:,} rejected "
                  f"({_pct(errors['total'], samples)})[/] · {rate or 0:,.0f} conversations/s "
                  f"({report['engine']}, {report['workers']} worker{'s' if report['workers'] != 1 else ''}, "
                  f"{report['elapsed_seconds']:.1f} s)")
    tokens = report["tokens"]
    sup = " · ".join(f"{name} {n:,} ({_pct(n, tokens['all'])})" for name, n in tokens["supervised"].items())
    console.print(f"tokens {tokens['all']:,}; supervised: {sup}")
    examples = report["examples"]
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    table.add_column("samples", justify="right", no_wrap=True, min_width=7)
    table.add_column("share", justify="right", no_wrap=True, min_width=6)
    table.add_column("problem", no_wrap=True, overflow="ellipsis", max_width=50)
    table.add_column("e.g.", no_wrap=True, overflow="ellipsis", max_width=20)
    for reason, n in errors["by_reason"].items():
        ex = examples.get(reason, [])
        table.add_row(f"{n:,}", _pct(n, samples), f"[red]error[/] {reason}", _where(ex[:3]))
    for name, n in sorted(report["findings"].items(), key=lambda kv: -kv[1]):
        ex = examples.get(name, [])
        table.add_row(f"{n:,}", _pct(n, samples), f"[yellow]finding[/] {name}", _where(ex[:3]))
    if table.row_count:
        console.print(table)
    else:
        console.print("[green]no errors and no findings[/]")
    if examples_dir:
        console.print(f"example samples written to {examples_dir}/")
