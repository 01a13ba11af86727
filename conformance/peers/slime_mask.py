"""slime's ``MultiTurnLossMaskGenerator`` (``slime/utils/mask_utils.py``), for whichever API a checkout has.

slime is not on PyPI (the PyPI package named ``slime`` is unrelated), so users put a checkout of THUDM/slime on
``PYTHONPATH``. The adapter finds the ``slime`` package without importing it (its ``__init__`` may pull in
Megatron or torch) and loads ``slime/utils/mask_utils.py`` by path; that module needs only transformers.

What a checkout offers is read from its code with :mod:`ast` (:func:`read_api`), never by searching its text:

* the merged layout, ``MultiTurnLossMaskGenerator(tokenizer, tokenizer_type)`` whose ``get_loss_mask``
  dispatches on ``self.tokenizer_type``: one generator per type it compares against (``generate_qwen``, slime's
  default, ``generate_qwen3``, ``generate_qwen3_5`` since PR #1742, ``generate_distill_qwen``);
* the redesign of PR #1994, ``MultiTurnLossMaskGenerator(tokenizer, chat_template_kwargs=...)`` with no
  ``tokenizer_type`` and ``get_loss_mask_result`` as the entry point its SFT rollout calls:
  :func:`generate_chat_template` drives that entry point.

A generator the checkout does not offer declines every case with one line naming what the checkout does offer,
and ``python -m lossmask.peers.slime_mask specs`` prints the specs worth running (``nox -s "peers(slime)"``).
``qwen3_5`` and ``distill_qwen`` hard-code Qwen ChatML and DeepSeek-distill markers, so they decline templates
without them; ``qwen`` and ``qwen3`` run everywhere, as slime's scripts use them for other models too.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

HOWTO = "put a THUDM/slime checkout on PYTHONPATH (slime is not on PyPI; PyPI's 'slime' is unrelated)"
CLASS = "MultiTurnLossMaskGenerator"
#: The two layouts :func:`read_api` recognises.
TOKENIZER_TYPE, CHAT_TEMPLATE = "tokenizer_type", "chat_template"


@dataclass(frozen=True)
class SlimeApi:
    """What one checkout's ``mask_utils.py`` offers, read from its syntax tree."""

    path: Path
    layout: str | None  # TOKENIZER_TYPE | CHAT_TEMPLATE | None (unrecognised)
    init_params: tuple[str, ...]
    #: Types ``get_loss_mask`` dispatches on (merged layout), in source order.
    tokenizer_types: tuple[str, ...] = ()

    def describe(self) -> str:
        if self.layout == TOKENIZER_TYPE:
            return f"tokenizer_type in {{{', '.join(self.tokenizer_types)}}}"
        if self.layout == CHAT_TEMPLATE:
            return f"no tokenizer_type: {CLASS}({', '.join(self.init_params)}) with get_loss_mask_result (PR #1994 layout)"
        return f"an unrecognised {CLASS} API ({', '.join(self.init_params) or 'no __init__'})"


def read_api(path: Path) -> SlimeApi:
    """Parse ``mask_utils.py`` and say which layout it has and which tokenizer types it dispatches on."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    cls = next((n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == CLASS), None)
    if cls is None:
        return SlimeApi(path, None, ())
    methods = {n.name: n for n in cls.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    init = methods.get("__init__")
    params = tuple(a.arg for a in [*init.args.args, *init.args.kwonlyargs][1:]) if init else ()
    if "tokenizer_type" in params and "get_loss_mask" in methods:
        return SlimeApi(path, TOKENIZER_TYPE, params, _dispatched_types(methods["get_loss_mask"]))
    if "tokenizer_type" not in params and "get_loss_mask_result" in methods:
        return SlimeApi(path, CHAT_TEMPLATE, params)
    return SlimeApi(path, None, params)


def _dispatched_types(fn: ast.AST) -> tuple[str, ...]:
    """String constants ``self.tokenizer_type`` is compared with (``==`` or ``in (...)``) inside ``fn``."""
    found: list[str] = []
    for node in ast.walk(fn):
        if not isinstance(node, ast.Compare):
            continue
        sides = [node.left, *node.comparators]
        if not any(isinstance(s, ast.Attribute) and s.attr == "tokenizer_type" for s in sides):
            continue
        for side in sides:
            values = side.elts if isinstance(side, (ast.Tuple, ast.List, ast.Set)) else [side]
            found += [v.value for v in values if isinstance(v, ast.Constant) and isinstance(v.value, str)]
    return tuple(dict.fromkeys(found))


@functools.cache
def _locate() -> Path:
    spec = importlib.util.find_spec("slime")
    if spec is None or not spec.submodule_search_locations:
        raise NotImplementedError(f"slime is not importable: {HOWTO}")
    for root in spec.submodule_search_locations:
        path = Path(root) / "utils" / "mask_utils.py"
        if path.is_file():
            return path
    raise NotImplementedError(f"the 'slime' package on sys.path ({list(spec.submodule_search_locations)}) has no "
                              f"utils/mask_utils.py, so it is not THUDM/slime: {HOWTO}")


@functools.cache
def _api() -> SlimeApi:
    return read_api(_locate())


@functools.cache
def _module() -> ModuleType:
    path = _locate()
    name = "slime.utils.mask_utils"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location("lossmask_peer_slime_mask_utils", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def checkout_version() -> str:
    """The checkout's git commit (or $LOSSMASK_SLIME_VERSION, or the path when it is not a git checkout)."""
    if os.environ.get("LOSSMASK_SLIME_VERSION"):
        return os.environ["LOSSMASK_SLIME_VERSION"]
    try:
        root = _locate().parent.parent.parent
    except NotImplementedError:
        return "not installed"
    try:
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "--short=9", "HEAD"], capture_output=True,
                             text=True, timeout=10)
        if out.returncode == 0 and out.stdout.strip():
            return f"git {out.stdout.strip()}"
    except (OSError, subprocess.SubprocessError):
        pass
    return f"checkout {root}"


def _require(layout: str, wanted: str) -> SlimeApi:
    api = _api()
    if api.layout != layout:
        raise NotImplementedError(f"this slime checkout ({checkout_version()}) has {api.describe()}; "
                                  f"{wanted} does not apply to it")
    return api


def _applicable(tokenizer: Any, tokenizer_type: str) -> None:
    template = tokenizer.chat_template or ""
    if tokenizer_type == "qwen3_5" and "<|im_start|>" not in template:
        raise NotImplementedError("slime's qwen3_5 mask searches for Qwen ChatML markers this template lacks")
    if tokenizer_type == "distill_qwen" and "<｜Assistant｜>" not in tokenizer.get_added_vocab():
        raise NotImplementedError("slime's distill_qwen mask is for DeepSeek-R1-Distill tokenizers")


def _tag(generate: Callable, name: str) -> Callable:
    generate.lossmask_name = name  # type: ignore[attr-defined]
    generate.lossmask_version = checkout_version()  # type: ignore[attr-defined]
    generate.lossmask_encoding = "mask"  # type: ignore[attr-defined]
    return generate


def _make(tokenizer_type: str) -> Callable[..., tuple[list[int], list[int]]]:
    def generate(tokenizer: Any, messages: list[dict], tools: list[dict] | None = None,
                 **template_kwargs: Any) -> tuple[list[int], list[int]]:
        api = _require(TOKENIZER_TYPE, f"tokenizer_type {tokenizer_type!r}")
        if tokenizer_type not in api.tokenizer_types:
            raise NotImplementedError(f"this slime checkout ({checkout_version()}) has no tokenizer_type "
                                      f"{tokenizer_type!r} ({api.describe()})")
        _applicable(tokenizer, tokenizer_type)
        kwargs: dict[str, Any] = {}
        if template_kwargs:
            if "chat_template_kwargs" not in api.init_params:
                raise NotImplementedError("this slime checkout takes no chat_template_kwargs "
                                          f"(case sets {sorted(template_kwargs)})")
            kwargs["chat_template_kwargs"] = template_kwargs
        generator = _module().MultiTurnLossMaskGenerator(tokenizer, tokenizer_type=tokenizer_type, **kwargs)
        ids, mask = generator.get_loss_mask(messages, tools=tools)
        return list(ids), list(mask)

    generate.__name__ = f"generate_{tokenizer_type}"
    return _tag(generate, f"slime-{tokenizer_type}")


def generate_chat_template(tokenizer: Any, messages: list[dict], tools: list[dict] | None = None,
                           **template_kwargs: Any) -> tuple[list[int], list[int]]:
    """PR #1994's entry point, as its SFT rollout calls it: ``get_loss_mask_result(messages, tools)``."""
    _require(CHAT_TEMPLATE, "the chat-template generator (PR #1994 layout)")
    generator = _module().MultiTurnLossMaskGenerator(tokenizer, chat_template_kwargs=template_kwargs or None)
    result = generator.get_loss_mask_result(messages, tools=tools)
    return list(result.token_ids), list(result.loss_mask)


_tag(generate_chat_template, "slime-chat-template")
TOKENIZER_TYPES = ("qwen", "qwen3", "qwen3_5", "distill_qwen")
generate_qwen = _make("qwen")
generate_qwen3 = _make("qwen3")
generate_qwen3_5 = _make("qwen3_5")
generate_distill_qwen = _make("distill_qwen")
#: slime's default ``--loss-mask-type``.
generate = generate_qwen


def specs(api: SlimeApi) -> list[str]:
    """The ``slime_mask:...`` generators worth running on a checkout with ``api`` (each one it offers)."""
    if api.layout == TOKENIZER_TYPE:
        return [f"slime_mask:generate_{t}" for t in api.tokenizer_types if t in TOKENIZER_TYPES]
    if api.layout == CHAT_TEMPLATE:
        return ["slime_mask:generate_chat_template"]
    return []


def main(argv: list[str]) -> int:
    """``python -m lossmask.peers.slime_mask specs [CHECKOUT]``: one spec per line, or one line saying why none."""
    if not argv or argv[0] != "specs":
        print("usage: python -m lossmask.peers.slime_mask specs [CHECKOUT]", file=sys.stderr)
        return 2
    path = Path(argv[1]) / "slime" / "utils" / "mask_utils.py" if len(argv) > 1 else None
    try:
        api = read_api(path) if path else _api()
    except (OSError, SyntaxError, NotImplementedError) as exc:
        print(f"no slime mask generator to run: {exc}", file=sys.stderr)
        return 1
    found = specs(api)
    if not found:
        print(f"{api.path}: {api.describe()}; no adapter drives it", file=sys.stderr)
        return 1
    print("\n".join(found))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
