"""Render limits: a template may not take more than a few seconds or build more than a few million characters.

Why: a chat template is untrusted code, and Jinja's sandbox stops escapes, not work. ``{% for i in range(100000)
%}{% for j in range(100000) %}`` renders for hours, ``lipsum(10**7)`` for minutes, ``'x' * 10**10`` allocates 10 GB
(at compile time: Jinja folds constant expressions while compiling), ``{% set ns.s = ns.s ~ ns.s %}`` doubles a
string until memory runs out. A dataset audit renders a million conversations; one such template must cost one
clear error, not the machine.

How, without changing what any render prints and without touching anyone else's renders:

1. **Before compiling**, the template's syntax tree is scanned for constant expressions Jinja would fold: a
   string or list multiplied past the output limit, a power with a huge exponent, a constant argument past the
   output limit to a filter or call. Such a template is refused (:class:`RenderLimitExceeded`).
2. **Our renders use their own compiled copy.** The template text gets a suffix that prints nothing
   (``{{ '' }}``, placed before a trailing newline so Jinja's trailing-newline rule is unchanged), so
   transformers compiles it into a cache entry of its own. That entry is recompiled once in an overlay of
   transformers' own environment (same settings, filters, globals and extensions) that intercepts ``*``, ``**``
   and ``%`` (size-checked), checks every call and filter (deadline; integer arguments and results past the
   output limit), bounds ``range`` (the deadline is checked at every step), ``lipsum`` and ``namespace``
   assignments, and assembles the output chunk by chunk against the size limit and the deadline. Its attribute
   lookups take :mod:`reference.attribute_lookup`'s shortcuts (Jinja's own answers, with less work). Renders of
   the template's own text, by a user or a generator in the same process, are untouched.

Not bounded here: a single C-level operation that is slow or large on its own without passing through any of
these hooks (e.g. a regular-expression filter added by a future transformers). The process limits of the
generator workers (memory, deadline) still apply there. Defaults: :data:`DEFAULT_SECONDS` per render and
:data:`DEFAULT_MAX_CHARS` characters of output or of any intermediate value; ``LOSSMASK_RENDER_TIMEOUT`` and
``LOSSMASK_RENDER_MAX_CHARS`` set them for a process, :func:`configure` (and the CLI's ``--render-timeout`` /
``--render-max-chars``) for a run.
"""

from __future__ import annotations

import functools
import math
import os
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import islice
from typing import Any

from . import attribute_lookup
from .errors import LossmaskError

DEFAULT_SECONDS = float(os.environ.get("LOSSMASK_RENDER_TIMEOUT", "10"))
DEFAULT_MAX_CHARS = int(os.environ.get("LOSSMASK_RENDER_MAX_CHARS", str(64 * 1024 * 1024)))
#: The largest exponent a template may raise an integer to (``10 ** 10000`` is instant; ``10 ** 10**10`` is not).
MAX_EXPONENT = 10_000
SUFFIX = "{{ '' }}"
_WIDTH = re.compile(r"\d+")


class RenderLimitExceeded(LossmaskError):
    """The template would take longer, or build more text, than the render limits allow."""

    kind = "render_limit"


@dataclass(frozen=True)
class RenderLimits:
    seconds: float = DEFAULT_SECONDS
    max_chars: int = DEFAULT_MAX_CHARS

    def __post_init__(self) -> None:
        if not (isinstance(self.seconds, (int, float)) and math.isfinite(self.seconds) and self.seconds > 0):
            raise RenderLimitExceeded(f"render time limit {self.seconds!r}: must be a finite number of seconds > 0")
        if isinstance(self.max_chars, bool) or not isinstance(self.max_chars, int) or self.max_chars < 1:
            raise RenderLimitExceeded(f"render size limit {self.max_chars!r}: must be a whole number >= 1")


_current = RenderLimits()


class _Deadline(threading.local):
    """This thread's render deadline (``time.monotonic()`` seconds): infinite outside :func:`limited`, so the
    check the hooks make on every call is one clock read and one comparison."""

    at: float = math.inf


_local = _Deadline()
_monotonic = time.monotonic


def configure(seconds: float | None = None, max_chars: int | None = None) -> RenderLimits:
    """Set this process's render limits; returns the previous ones (pass them back to restore)."""
    global _current
    previous = _current
    _current = RenderLimits(previous.seconds if seconds is None else seconds,
                            previous.max_chars if max_chars is None else max_chars)
    return previous


def restore(limits: RenderLimits) -> None:
    global _current
    _current = limits


def current() -> RenderLimits:
    return _current


# -- while rendering -------------------------------------------------------------------------------------------
@contextmanager
def limited() -> Iterator[None]:
    """Arm the deadline for the render inside this block (nested blocks keep the outer deadline)."""
    outermost = _local.at == math.inf
    if outermost:
        _local.at = _monotonic() + _current.seconds
    try:
        yield
    finally:
        if outermost:
            _local.at = math.inf


def _tick() -> None:
    if _monotonic() > _local.at:
        raise RenderLimitExceeded(f"the template rendered for more than {_current.seconds:g} s (render time limit; "
                                  "--render-timeout)")


def _too_big(what: str, size: int | float) -> RenderLimitExceeded:
    return RenderLimitExceeded(f"the template {what} of {size:,.0f} characters, past the render size limit of "
                               f"{_current.max_chars:,} (--render-max-chars)")


def _huge_arg(args: tuple, kwargs: dict) -> int | None:
    """An integer argument past the output limit (a width, a count), else None. Runs on every call: kept lean."""
    limit = _current.max_chars
    for value in args:
        if type(value) is int and (value > limit or value < -limit):
            return value
    for value in kwargs.values():
        if type(value) is int and (value > limit or value < -limit):
            return value
    return None


def _passes(value: int, what: str) -> RenderLimitExceeded:
    return RenderLimitExceeded(f"the template passes {value:,} to {what}, past the render size limit of "
                               f"{_current.max_chars:,} (--render-max-chars)")


_SIZED = frozenset({str, list, tuple})


def _oversized(value: Any) -> bool:
    return type(value) in _SIZED and len(value) > _current.max_chars


def _product_size(left: Any, right: Any) -> float | None:
    """Characters/items ``left * right`` would build (sequence times int), else None."""
    for seq, n in ((left, right), (right, left)):
        if isinstance(seq, (str, list, tuple)) and isinstance(n, int) and not isinstance(n, bool):
            return len(seq) * max(n, 0)
    return None


def _format_problem(fmt: Any) -> str | None:
    """A format string (``%`` or ``str.format``) asking for a field width past the output limit."""
    if not isinstance(fmt, str):
        return None
    widths = _WIDTH.findall(fmt)
    widest = max((int(w) for w in widths if len(w) < 20), default=0)
    if any(len(w) >= 20 for w in widths) or widest > _current.max_chars:
        return f"formats with a field width of {widest:,}, a value"
    return None


def _binop_problem(op: str, left: Any, right: Any) -> str | None:
    limit = _current.max_chars
    if op == "*":
        size = _product_size(left, right)
        if size is not None and size > limit:
            return f"multiplies a sequence to a value of {size:,} characters"
        if all(isinstance(v, int) and not isinstance(v, bool) for v in (left, right)) \
                and left.bit_length() + right.bit_length() > 8 * limit:
            return "multiplies integers to a value"
    elif op == "**":
        if isinstance(left, int) and isinstance(right, int) and not isinstance(right, bool) and abs(left) > 1 \
                and right > MAX_EXPONENT:
            return f"raises an integer to the power {right:,} (at most {MAX_EXPONENT:,}), a value"
    elif op == "%":
        return _format_problem(left)
    return None


#: Callables whose receiver is a format string (``'{:>9}'.format``): their field widths are checked first.
_FORMATS = frozenset({"format", "format_map"})

#: Jinja's own operator table (``SandboxedEnvironment.default_binop_table``), bound on first use.
_BINOPS: dict[str, Any] = {}


def _binop(context: Any, op: str, left: Any, right: Any) -> Any:
    _tick()
    problem = _binop_problem(op, left, right)
    if problem:
        raise RenderLimitExceeded(f"the template {problem} past the render limits (--render-max-chars)")
    return _BINOPS[op](left, right)


class _Range:
    """``range`` with the same indexing and length, whose iteration checks the render deadline."""

    def __init__(self, inner: range) -> None:
        self._inner = inner

    def __iter__(self) -> Iterator[int]:
        for i in self._inner:
            _tick()
            yield i

    def __len__(self) -> int:
        return len(self._inner)

    def __getitem__(self, key: Any) -> Any:
        item = self._inner[key]
        return _Range(item) if isinstance(item, range) else item

    def __contains__(self, item: Any) -> bool:
        return item in self._inner

    def __reversed__(self) -> Iterator[int]:
        return iter(_Range(self._inner[::-1]))

    def __eq__(self, other: Any) -> bool:
        return self._inner == (other._inner if isinstance(other, _Range) else other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(self._inner)


def _bounded_range(*args: Any) -> _Range:
    from jinja2.sandbox import safe_range

    return _Range(safe_range(*args))


def _bounded_lipsum(n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> Any:  # noqa: A002
    from jinja2.utils import generate_lorem_ipsum

    if isinstance(n, int) and isinstance(max, int) and n * max * 12 > _current.max_chars:
        raise _too_big("asks lipsum for a text", n * max * 12)
    return generate_lorem_ipsum(n, html, min, max)


def _bounded_namespace(base: type) -> type:
    class BoundedNamespace(base):  # type: ignore[misc, valid-type]
        def __setitem__(self, name: str, value: Any) -> None:
            _tick()
            if _oversized(value):
                raise _too_big(f"stores in namespace attribute {name!r} a value", len(value))
            base.__setitem__(self, name, value)

    return BoundedNamespace


def _bounded_filter(name: str, fn: Any) -> Any:
    is_format = name == "format"

    @functools.wraps(fn)  # keeps Jinja's pass_context / pass_eval_context markers
    def bounded(*args: Any, **kwargs: Any) -> Any:
        _tick()
        if len(args) > 1 or kwargs:  # most filters take the value alone (``|trim``, ``|tojson``)
            huge = _huge_arg(args[1:], kwargs)
            if huge is not None:
                raise _passes(huge, f"filter {name!r}")
        if is_format:
            value = next((a for a in args if isinstance(a, str)), None)  # after any context argument
            problem = _format_problem(value)
            if problem:
                raise RenderLimitExceeded(f"the template {problem} past the render limits (--render-max-chars)")
        result = fn(*args, **kwargs)
        if _oversized(result):
            raise _too_big(f"builds with filter {name!r} a value", len(result))
        return result

    return bounded


def _concat(parts: Any) -> str:
    """Join the render's output chunks, checking size and deadline every 256 chunks (in C: ``islice``/``map``)."""
    parts = iter(parts)
    out: list[str] = []  # chunks so far
    size = 0
    limit = _current.max_chars
    while True:
        chunk = list(islice(parts, 256))
        size += sum(map(len, chunk))
        if size > limit:
            raise _too_big("renders an output", size)
        _tick()
        if len(chunk) < 256:  # the last chunk (a macro's output is usually the first and last)
            return "".join(chunk) if not out else "".join(out + chunk)
        out += chunk


def _harden(compiled: Any, text: str) -> None:
    """Recompile ``text`` in a bounded overlay of its environment and make ``compiled`` that template."""
    from jinja2.sandbox import SandboxedEnvironment

    _BINOPS.update(SandboxedEnvironment.default_binop_table)
    base = compiled.environment
    env = base.overlay()
    env.intercepted_binops = frozenset({"*", "**", "%"})
    env.call_binop = _binop
    env.globals = {**base.globals, "range": _bounded_range, "lipsum": _bounded_lipsum}
    if isinstance(base.globals.get("namespace"), type):
        env.globals["namespace"] = _bounded_namespace(base.globals["namespace"])
    env.filters = {name: _bounded_filter(name, fn) for name, fn in base.filters.items()}
    sandboxed_call = type(env).call.__get__(env)

    def call(context: Any, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        _tick()
        if args or kwargs:  # most calls in a chat template take no argument (``.strip()``, ``.items()``)
            huge = _huge_arg(args, kwargs)
            if huge is not None:
                raise _passes(huge, f"{getattr(obj, '__name__', type(obj).__name__)}()")
        if getattr(obj, "__name__", None) in _FORMATS:
            problem = _format_problem(getattr(getattr(obj, "__wrapped__", obj), "__self__", None))
            if problem:
                raise RenderLimitExceeded(f"the template {problem} past the render limits (--render-max-chars)")
        result = sandboxed_call(context, obj, *args, **kwargs)
        if _oversized(result):
            raise _too_big(f"builds with {getattr(obj, '__name__', 'a call')}() a value", len(result))
        return result

    env.call = call
    env.concat = _concat
    attribute_lookup.install(env)
    hardened = env.from_string(text)
    compiled.__dict__.update(hardened.__dict__)
    compiled.lossmask_bounded = True


# -- before compiling ------------------------------------------------------------------------------------------
class _Unknown(Exception):
    pass


def _const(node: Any) -> Any:
    """The value Jinja would fold this node to, computed without building anything huge; _Unknown if none."""
    from jinja2 import nodes

    if isinstance(node, nodes.Const):
        return node.value
    if isinstance(node, (nodes.Neg, nodes.Pos)):
        value = _const(node.node)
        if not isinstance(value, (int, float)):
            raise _Unknown
        return -value if isinstance(node, nodes.Neg) else value
    if isinstance(node, (nodes.List, nodes.Tuple)):
        return [_const(item) for item in node.items]
    if isinstance(node, nodes.BinExpr):
        left, right = _const(node.left), _const(node.right)
        problem = _binop_problem(node.operator, left, right)
        if problem:
            raise RenderLimitExceeded(f"the template {problem} past the render limits, in a constant expression on "
                                      f"template line {node.lineno} (--render-max-chars)")
        from jinja2.sandbox import SandboxedEnvironment

        try:
            return SandboxedEnvironment.default_binop_table[node.operator](left, right)
        except Exception:  # noqa: BLE001 - what Jinja would not fold either
            raise _Unknown from None
    raise _Unknown


_SCANNED: set[tuple[str, int]] = set()


def scan(source: str) -> None:
    """Refuse a template whose constant expressions would build something past the limits while compiling
    (once per template text and size limit)."""
    key = (source, _current.max_chars)
    if key in _SCANNED:
        return
    _scan(source)
    _SCANNED.add(key)


def _scan(source: str) -> None:
    from jinja2 import nodes
    from transformers.utils.chat_template_utils import _compile_jinja_template

    parser_env = _compile_jinja_template("").environment  # transformers' settings and extensions
    try:
        tree = parser_env.parse(source)
    except Exception:  # noqa: BLE001 - a syntax error is reported by the real compile, with its line
        return
    for node in tree.find_all((nodes.BinExpr, nodes.Filter, nodes.Call)):
        if isinstance(node, nodes.BinExpr):
            try:
                _const(node)
            except _Unknown:
                pass
            continue
        for arg in [*node.args, *(kw.value for kw in node.kwargs)]:
            try:
                value = _const(arg)
            except _Unknown:
                continue
            if isinstance(value, int) and not isinstance(value, bool) and abs(value) > _current.max_chars:
                callee = getattr(node, "name", None) or getattr(getattr(node, "node", None), "name", None) \
                    or getattr(getattr(node, "node", None), "attr", None) or "a call"
                raise RenderLimitExceeded(f"the template passes {value:,} to {callee} on template line {node.lineno}, "
                                          f"past the render size limit of {_current.max_chars:,} (--render-max-chars)")


def bounded_text(chat_template: str) -> str:
    """The text our renders pass to transformers: the template plus a suffix that prints nothing."""
    for newline in ("\r\n", "\n", "\r"):
        if chat_template.endswith(newline):  # Jinja drops one trailing newline: keep it the last character
            return chat_template[: -len(newline)] + SUFFIX + newline
    return chat_template + SUFFIX


_PREPARED: dict[str, str] = {}


def prepare(chat_template: str) -> str:
    """Scan the template, compile our bounded copy of it (once per text) and return the text to render with."""
    from transformers.utils.chat_template_utils import _compile_jinja_template

    text = _PREPARED.get(chat_template)
    if text is None:  # the same str object each time: its hash is computed once, lookups stay cheap
        text = bounded_text(chat_template)
        scan(text)
        if len(_PREPARED) > 4096:
            _PREPARED.clear()
        _PREPARED[chat_template] = text
    compiled = _compile_jinja_template(text)  # transformers' cache: an entry only our renders use
    if not getattr(compiled, "lossmask_bounded", False):  # first use, or evicted and recompiled
        _harden(compiled, text)
    return text
