"""``lossmask families``: the bundled tokenizer families, their template variants and provenance."""

from __future__ import annotations

import argparse
import json

from rich.markup import escape
from rich.table import Table

from .. import assets
from ..console import make_console
from . import outputs
from .command import add_command


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = add_command(
        sub, "families", summary="list bundled tokenizer families, variants and provenance",
        description="""The tokenizer families bundled with lossmask (loaded offline, checked against sha256), the
        template variants of each, the models they cover, where the files came from and their licences. A
        tokenizer that is a faithful rebuild rather than the published file is marked.""",
        examples=["lossmask families", "lossmask families --json", "lossmask families --json families.json"])
    outputs.add_report(p, "--json", "JSON instead of the table", stdout_flag=True)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    outputs.preflight(args, ["--json"])
    fams = assets.families()
    if args.json is not None:
        outputs.write(args.json, json.dumps({
            name: {"variants": f.variant_names, "models": f.models, "tokenizer_source": f.tokenizer_source,
                   "template_source": f.template_source, "license": f.license, "rebuilt": f.rebuilt}
            for name, f in fams.items()
        }, indent=2, ensure_ascii=False) + "\n")
        return 0
    table = Table(title="Bundled tokenizer families (offline, sha256-verified)", show_lines=True)
    for col in ("family", "variants", "models", "tokenizer", "licence"):
        table.add_column(col, overflow="fold")
    for name, f in fams.items():
        source = f.tokenizer_source.split(": ", 1)[-1].split(". ")[0] if f.rebuilt else f.tokenizer_source
        # Sources and model names hold brackets ([SYSTEM_PROMPT], [ARGS]) that rich would read as markup.
        tok = ("[bold red]REBUILT, not the published file:[/] " if f.rebuilt else "") + escape(source)
        table.add_row(name, escape("\n".join(f.variant_names)), escape(f.models), tok, escape(f.license))
    make_console().print(table)
    return 0
