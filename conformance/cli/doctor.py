"""``lossmask doctor``: does this environment load and render the bundled tokenizers the way the goldens say?

Exit codes: 0 everything is fine, 1 something tokenizes or renders differently (or cannot load), 2 usage.
"""

from __future__ import annotations

import argparse
import json

from rich.table import Table

from ..console import make_console
from . import outputs
from .command import add_command

STYLE = {"fine": "green", "tokenizes_differently": "red", "renders_differently": "red", "cannot_load": "red"}


DESCRIPTION = """
For the installed transformers and tokenizers, load every bundled family the way users do (AutoTokenizer on the
directory), compare its ids with the tokenizer file's own `tokenizers` encoding on the fixture texts, and render
every chat template on the corpus against the goldens of this transformers line. Per family: fine,
tokenizes_differently (how many texts, the class AutoTokenizer built, the fix) or renders_differently.
Where the tokenizer files alone load wrongly, the same files are also loaded beside a config.json naming the
model's model_type (the "model directory" column: some transformers lines map the model type to the right
class, so loading from the model's own directory is right while a tokenizer-only directory is not).
--tokenizer runs the tokenization check on your own tokenizer instead.

Exit codes: 0 everything is fine, 1 something tokenizes or renders differently (or cannot load), 2 usage.
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = add_command(
        sub, "doctor", summary="check that this transformers loads and renders the tokenizers as the goldens say",
        description=DESCRIPTION,
        examples=["lossmask doctor", "lossmask doctor --family deepseek_v3 --json -",
                  "lossmask doctor --json doctor.json", "lossmask doctor --tokenizer ./my-model"])
    p.add_argument("--family", action="append", help="only this bundled family (repeatable)")
    p.add_argument("--tokenizer", metavar="DIR_OR_HUB_ID", action="append",
                   help="check this tokenizer instead of the bundled ones (a directory, or a hub id with network; "
                        "repeatable)")
    outputs.add_report(p, "--json", "the findings as JSON (no table when it is standard output)", stdout_flag=True)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from .. import assets, environment

    outputs.preflight(args, ["--json"])
    for fam in args.family or []:
        assets.family(fam)  # an unknown name is a one-line usage error (exit 2) naming the bundled families
    status = make_console(stderr=True)
    with status.status("checking the environment"):
        if args.tokenizer:
            env = environment.Environment(environment.installed_versions(), "", None,
                                          tuple(environment.check_tokenizer(t) for t in args.tokenizer))
        else:
            env = environment.check(args.family)
    if args.json:
        outputs.write(args.json, json.dumps(env.to_json(), indent=2, ensure_ascii=False) + "\n")
        if args.json == outputs.STDOUT:
            return 0 if env.ok else 1
    _print(env, bool(args.tokenizer))
    return 0 if env.ok else 1


def _print(env, own: bool) -> None:
    out = make_console()
    v = env.versions
    where = f"matrix cell {env.cell}" if env.cell else "[yellow]outside the tested matrix[/]"
    out.print(f"transformers {v['transformers']}, tokenizers {v['tokenizers']}, jinja2 {v['jinja2']} · {where}"
              + ("" if own else f" · goldens: {env.line}"), highlight=False)
    table = Table(title_justify="left")
    for col in ("family", "status", "AutoTokenizer class", "texts differing", "model directory",
                "renders differing"):
        table.add_column(col, justify="right" if col.endswith("differing") else "left")
    for h in env.families:
        t, m = h.tokenization, h.model_dir
        table.add_row(h.family, f"[{STYLE[h.status]}]{h.status}[/]", t.loaded_class if t else "–",
                      f"{t.differing}/{t.texts}" if t else "–",
                      f"{m.loaded_class} {m.differing}/{m.texts}" if m else "–",
                      "–" if own else f"{len(h.render_drift)}/{h.renders}")
    out.print(table)
    for h in env.families:
        if not h.ok:
            out.print(f"[red]✗[/] {h.summary(env.versions)}", highlight=False, soft_wrap=True)
            if h.tokenization and h.tokenization.example:
                out.print(f"    first difference: {h.tokenization.example}", highlight=False, soft_wrap=True)
            if h.fix:
                out.print(f"    fix: {h.fix}", highlight=False, soft_wrap=True)
    bad = sum(not h.ok for h in env.families)
    out.print(f"{len(env.families) - bad} fine, {bad} with problems", highlight=False)
