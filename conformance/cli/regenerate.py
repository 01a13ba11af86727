"""``lossmask regenerate [--check]``: rewrite the golden data from the reference, or report drift.

Exit codes: 0 nothing drifted (or regeneration succeeded), 1 ``--check`` found drift or a case failed, 2 usage.
"""

from __future__ import annotations

import argparse

from rich.markup import escape
from rich.table import Table

from ..console import make_console
from .command import add_command


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = add_command(
        sub, "regenerate", summary="rewrite the golden fixtures from the reference (or --check for drift)",
        description="""Compute every golden record with the reference and rewrite fixtures/golden atomically,
        printing what changed per family and case; with --check, write nothing and name the drifted files.

        A golden is reviewed data: read the diff before committing a regeneration. Exit 0 when nothing drifted
        (or the goldens were rewritten), 1 when --check found drift or a case failed, 2 for a usage error.""",
        examples=["lossmask regenerate --check", "lossmask regenerate --family qwen3_5",
                  "lossmask regenerate --check --case plain_answer --case single_call"])
    p.add_argument("--check", action="store_true", help="write nothing; exit 1 and name the drifted files")
    p.add_argument("--family", action="append", help="only this bundled family (repeatable)")
    p.add_argument("--case", action="append", dest="cases", help="only this case id (repeatable)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from .. import assets, regenerate
    from ..errors import UsageError

    known = assets.families()
    for fam in args.family or []:
        if fam not in known:
            raise UsageError(f"no such family {fam!r}; families: {', '.join(known)}")
    console = make_console(stderr=True)
    with console.status("regenerating goldens") as status:
        summary = regenerate.run(args.check, args.family, args.cases,
                                 progress=lambda label: status.update(f"reference on {label}"))
    out = make_console()
    table = Table(title="golden data " + ("drift (--check)" if args.check else "regenerated"))
    for col in ("family/variant", "added", "changed", "removed", "errors"):
        table.add_column(col, justify="left" if col == "family/variant" else "right")
    rows: dict[str, dict[str, int]] = {}
    for c in summary.changes:
        rows.setdefault(f"{c.family}/{c.variant}", {}).setdefault(c.kind, 0)
        rows[f"{c.family}/{c.variant}"][c.kind] += 1
    for label, counts in sorted(rows.items()):
        table.add_row(label, *(str(counts.get(k, 0)) for k in ("added", "changed", "removed", "error")))
    if rows:
        out.print(table)
    for c in summary.changes:
        verb = {"added": "new", "changed": "changed", "removed": "removed", "error": "ERROR"}[c.kind]
        out.print(f"{verb:>8}  {_rel(c.path)}" + (f"  [dim]{escape(c.detail)}[/dim]" if c.detail else ""), highlight=False, soft_wrap=True)
    errors = summary.by_kind("error")
    drift = [c for c in summary.changes if c.kind != "error"]
    out.print(f"{summary.unchanged} unchanged, {len(drift)} {'drifted' if args.check else 'written'}, "
              f"{len(errors)} errors")
    return 1 if errors or (args.check and drift) else 0


def _rel(path) -> str:
    from pathlib import Path

    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
