"""``lossmask mask``: the reference mask of one conversation, shown as a coloured render or as JSON."""

from __future__ import annotations

import argparse
import json

from rich.text import Text

from lossmask.reference import LossmaskError, segment

from .. import assets
from ..console import make_console
from ..inputs import parse_template_kwargs, read_conversation
from ..runner.limits import add_render_limit_args

STYLE_SUPERVISED = "bold green"
STYLE_STRADDLE = "bold yellow underline"
STYLE_PROMPT = "dim"


def add_tokenizer_args(p: argparse.ArgumentParser) -> None:
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--family", help="bundled family (see `lossmask families`)")
    src.add_argument("--tokenizer", metavar="DIR_OR_HUB_ID", help="a local tokenizer directory or a hub id")
    p.add_argument("--variant", help="template variant of the bundled family (default: the family's template)")
    p.add_argument("--template", metavar="FILE", help="chat template file overriding the tokenizer's")


def load_tokenizer(args: argparse.Namespace) -> assets.LoadedTokenizer:
    return assets.load(args.family or args.tokenizer, variant=args.variant, template_file=args.template)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("mask", help="show the reference loss mask of one conversation")
    add_tokenizer_args(p)
    p.add_argument("--messages", required=True, metavar="FILE",
                   help="JSON: a list of messages, or an object with 'messages' (and 'tools')")
    p.add_argument("--tools", metavar="FILE", help="JSON list of tool schemas (overrides 'tools' in --messages)")
    p.add_argument("--profile", default="canonical", help="mask profile (default: canonical)")
    p.add_argument("--template-kwargs", metavar="JSON", help='e.g. \'{"enable_thinking": false}\'')
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the coloured render")
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

    policy = get_profile(args.profile)
    loaded = load_tokenizer(args)
    messages, tools = read_conversation(args.messages, args.tools)
    kwargs = parse_template_kwargs(args.template_kwargs)
    try:
        seg = segment(loaded.tokenizer, loaded.chat_template, messages, tools, kwargs)
    except LossmaskError as exc:  # template refusals and segmentation limits: name the file and template
        raise type(exc)(f"{args.messages} ({loaded.label}): {exc}") from None
    result = seg.mask(policy)
    parts = seg.token_parts()
    pieces = [seg.text[s:e] for s, e in seg.offsets]
    if args.json:
        print(json.dumps({
            "family": loaded.family, "variant": loaded.variant, "rebuilt_tokenizer": loaded.rebuilt,
            "profile": policy.name, "text": seg.text, "input_ids": seg.input_ids,
            "offsets": [list(o) for o in seg.offsets], "segments": parts, "loss_mask": result.loss_mask,
            "straddles": [{"index": t, "id": seg.input_ids[t], "piece": pieces[t], "segments": parts[t]}
                          for t in result.straddles],
            "char_segments": [{"start": s.start, "end": s.end, "part": s.part, "message": s.message,
                               "source": s.source} for s in seg.segments],
            "warnings": seg.warnings,
        }, ensure_ascii=False))
        return 0
    console = make_console()
    rendered = Text()
    straddles = set(result.straddles)
    for t, piece in enumerate(pieces):
        style = STYLE_STRADDLE if t in straddles else STYLE_SUPERVISED if result.loss_mask[t] else STYLE_PROMPT
        rendered.append(piece, style=style)
    if loaded.rebuilt:
        console.print("[yellow]note:[/] this family's tokenizer is a faithful rebuild, not the published file")
    console.print(rendered)
    console.print()
    legend = Text.assemble(("supervised", STYLE_SUPERVISED), "  ", ("straddling", STYLE_STRADDLE), "  ",
                           ("not supervised", STYLE_PROMPT))
    console.print(legend)
    n = len(seg.input_ids)
    console.print(f"{loaded.label} · profile {policy.name} · {n} tokens, {sum(result.loss_mask)} supervised, "
                  f"{len(result.straddles)} straddling" + (f" · {len(seg.warnings)} warnings" if seg.warnings else ""))
    for w in seg.warnings:
        console.print(f"[yellow]warning:[/] {w}")
    return 0
