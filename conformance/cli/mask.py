"""``lossmask mask``: the reference mask of one conversation, as a render, a per-token table or JSON."""

from __future__ import annotations

import argparse
import json
import os
import sys

from rich.table import Table
from rich.text import Text

from lossmask.reference import LossmaskError, segment

from .. import assets
from ..console import make_console
from ..errors import UsageError
from ..inputs import STDIN, load_conversation, parse_template_kwargs
from ..runner.limits import add_render_limit_args
from . import outputs
from .command import add_command

STYLE_SUPERVISED = "bold green"
STYLE_STRADDLE = "bold yellow underline"
STYLE_PROMPT = "dim"
#: Without colour (piped, NO_COLOR, TERM=dumb), supervised text is bracketed: ⟦supervised⟧, ⟪straddling token⟫.
BRACKETS = {"supervised": ("⟦", "⟧"), "straddle": ("⟪", "⟫")}


def add_tokenizer_args(p: argparse.ArgumentParser) -> None:
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--family", help="bundled family (see `lossmask families`)")
    src.add_argument("--tokenizer", metavar="DIR_OR_HUB_ID",
                     help="a local tokenizer directory (a path such as ./dir must exist) or a hub id NAMESPACE/NAME")
    p.add_argument("--variant", help="template variant of the bundled family (default: the family's template)")
    p.add_argument("--template", metavar="FILE", help="chat template file overriding the tokenizer's ('-': stdin)")


def load_tokenizer(args: argparse.Namespace) -> assets.LoadedTokenizer:
    return assets.load(args.family or args.tokenizer, variant=args.variant, template_file=args.template)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = add_command(
        sub, "mask", summary="show the reference loss mask of one conversation",
        description="""Render one conversation with a bundled family's template (or your own tokenizer directory, or
        a hub id) and show which tokens the reference supervises under a profile.

        On a terminal supervised text is green and straddling tokens (covering supervised and unsupervised
        characters) yellow; piped, or with NO_COLOR set, supervised text is wrapped in ⟦ ⟧ and straddling tokens
        in ⟪ ⟫. --tokens prints one line per token instead; --json prints ids, offsets, segment labels and the
        mask. A case file (fixtures/cases/...) passed to --messages keeps its tools and template_kwargs.""",
        examples=[
            "lossmask mask --family qwen3_5 --messages chat.json",
            "lossmask mask --family llama3 --messages chat.json --profile no-eot --tokens",
            "cat chat.json | lossmask mask --family qwen3 --messages - --json",
            "lossmask mask --tokenizer ./my-tokenizer --template chat_template.jinja --messages chat.json",
        ])
    add_tokenizer_args(p)
    p.add_argument("--messages", required=True, metavar="FILE",
                   help="JSON: a list of messages, or an object with 'messages' (and 'tools', 'template_kwargs'); "
                        "'-': standard input")
    p.add_argument("--tools", metavar="FILE", help="JSON list of tool schemas (overrides 'tools' in --messages)")
    p.add_argument("--profile", default="canonical", help="mask profile (default: canonical)")
    p.add_argument("--template-kwargs", metavar="JSON",
                   help='e.g. \'{"enable_thinking": false}\' (merged over the file\'s template_kwargs)')
    p.add_argument("--tokens", action="store_true", help="one line per token: index, id, text, segment, mask")
    outputs.add_report(p, "--json", "one JSON object instead of the render", stdout_flag=True)
    add_render_limit_args(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from lossmask.reference import render_limits

    previous = render_limits.configure(args.render_timeout, args.render_max_chars)
    try:
        return _run(args)
    finally:
        render_limits.restore(previous)


def _run(args: argparse.Namespace) -> int:
    from lossmask.reference.policy import get_profile

    stdin_users = [flag for flag, value in (("--messages", args.messages), ("--tools", args.tools),
                                            ("--template", args.template)) if value == STDIN]
    if len(stdin_users) > 1:
        raise UsageError(f"{' and '.join(stdin_users)} both read standard input ('-'); give one of them a file")
    outputs.preflight(args, ["--json"])
    policy = get_profile(args.profile)
    loaded = load_tokenizer(args)
    conversation = load_conversation(args.messages, args.tools)
    kwargs = {**conversation.template_kwargs, **parse_template_kwargs(args.template_kwargs)}
    try:
        seg = segment(loaded.tokenizer, loaded.chat_template, conversation.messages, conversation.tools, kwargs)
    except LossmaskError as exc:  # template refusals and segmentation limits: name the file and template
        raise type(exc)(f"{args.messages} ({loaded.label}): {exc}") from None
    result = seg.mask(policy)
    parts = seg.token_parts()
    pieces = [seg.text[s:e] for s, e in seg.offsets]
    if args.json is not None:
        outputs.write(args.json, json.dumps({
            "family": loaded.family, "variant": loaded.variant, "rebuilt_tokenizer": loaded.rebuilt,
            "profile": policy.name, "template_kwargs": kwargs, "text": seg.text, "input_ids": seg.input_ids,
            "offsets": [list(o) for o in seg.offsets], "segments": parts, "loss_mask": result.loss_mask,
            "straddles": [{"index": t, "id": seg.input_ids[t], "piece": pieces[t], "segments": parts[t]}
                          for t in result.straddles],
            "char_segments": [{"start": s.start, "end": s.end, "part": s.part, "message": s.message,
                               "source": s.source} for s in seg.segments],
            "warnings": seg.warnings,
        }, ensure_ascii=False) + "\n")
        return 0
    console = make_console()
    straddles = set(result.straddles)
    if loaded.rebuilt:
        console.print("[yellow]note:[/] this family's tokenizer is a faithful rebuild, not the published file")
    if args.tokens:
        table = Table("#", "id", "text", "segment", "mask", box=None, pad_edge=False)
        for t, piece in enumerate(pieces):
            mark = f"{result.loss_mask[t]}" + (" straddle" if t in straddles else "")
            table.add_row(str(t), str(seg.input_ids[t]), repr(piece), parts[t], mark)
        console.print(table)
    elif _colour(console):
        rendered = Text()
        for t, piece in enumerate(pieces):
            style = STYLE_STRADDLE if t in straddles else STYLE_SUPERVISED if result.loss_mask[t] else STYLE_PROMPT
            rendered.append(piece, style=style)
        console.print(rendered)
        console.print()
        console.print(Text.assemble(("supervised", STYLE_SUPERVISED), "  ", ("straddling", STYLE_STRADDLE), "  ",
                                    ("not supervised", STYLE_PROMPT)))
    else:
        console.print(Text(bracketed(pieces, result.loss_mask, straddles)), soft_wrap=True)
        console.print()
        console.print(Text("⟦supervised⟧  ⟪straddling token⟫  (no colour: output is not a terminal, or NO_COLOR)"))
    n = len(seg.input_ids)
    console.print(f"{loaded.label} · profile {policy.name} · {n} tokens, {sum(result.loss_mask)} supervised, "
                  f"{len(result.straddles)} straddling" + (f" · {len(seg.warnings)} warnings" if seg.warnings else ""),
                  highlight=False)
    for w in seg.warnings:
        console.print(f"[yellow]warning:[/] {w}", highlight=False)
    return 0


def _colour(console) -> bool:
    """Colour only on a terminal that wants it (rich already honours NO_COLOR, TERM=dumb and pipes)."""
    return console.is_terminal and not console.no_color and os.environ.get("TERM") != "dumb" and sys.stdout.isatty()


def bracketed(pieces: list[str], mask: list[int], straddles: set[int]) -> str:
    """The render with each supervised run in ⟦ ⟧ and each straddling token in ⟪ ⟫."""
    out: list[str] = []
    inside = False
    for t, piece in enumerate(pieces):
        if t in straddles:
            if inside:
                out.append(BRACKETS["supervised"][1])
                inside = False
            out.append(BRACKETS["straddle"][0] + piece + BRACKETS["straddle"][1])
            continue
        if mask[t] and not inside:
            out.append(BRACKETS["supervised"][0])
            inside = True
        elif not mask[t] and inside:
            out.append(BRACKETS["supervised"][1])
            inside = False
        out.append(piece)
    if inside:
        out.append(BRACKETS["supervised"][1])
    return "".join(out)
