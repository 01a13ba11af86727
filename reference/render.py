"""Render a conversation exactly as transformers does, with the date pinned and template errors typed.

Rendering goes through ``tokenizer.apply_chat_template(tokenize=False)`` so the text is byte-for-byte what a
trainer using transformers would see: the same sandboxed Jinja environment (``ImmutableSandboxedEnvironment``),
the same input normalisation (5.x drops ``None``-valued keys and aliases reasoning fields) and the same globals,
except one: templates that print today's date (Llama 3.x, gpt-oss) call the ``strftime_now`` global, and goldens
need a fixed date. transformers 5.x turns callables passed as template kwargs into inert strings, and the global
lives in an environment transformers compiles once per template text and shares with every caller in the
process, so changing it there would change the date in the user's own renders of the same template. Instead
:func:`pinned_template` defines ``strftime_now`` inside the template text itself: a different text, compiled into
its own cache entry, used by our renders only. Nothing outside them changes.
"""

from __future__ import annotations

import datetime as _dt
import functools
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from . import render_limits
from .errors import TemplateRefusal
from .render_limits import RenderLimitExceeded

#: The date every render uses (goldens depend on it).
PINNED_DATE = _dt.date(2026, 1, 15)

#: strftime directives (C89 and the common POSIX/glibc ones) and what they print for PINNED_DATE at midnight.
_DIRECTIVES = "aAbBcCdDeFgGhHIjmMnprRStTuUVwWxXyYzZ"


def pinned_strftime(fmt: str) -> str:
    """``strftime_now`` for :data:`PINNED_DATE` (midnight), as a Python function: what the pinned macro prints."""
    return _dt.datetime.combine(PINNED_DATE, _dt.time()).strftime(fmt)


#: A call of ``strftime_now`` with a plain string literal (no escapes) as its format: the templates' own calls.
_LITERAL_CALL = re.compile(r"""strftime_now\(\s*(?:'([^'\\]*)'|"([^"\\]*)")\s*\)""")


@functools.lru_cache(maxsize=1)
def _directive_values() -> dict[str, str]:
    values = {c: pinned_strftime("%" + c) for c in _DIRECTIVES}
    values["%"] = "%"
    return values


def macro_prints(fmt: str) -> str:
    """What the macro's directive-by-directive loop prints for ``fmt`` (the same steps, in Python)."""
    values, out, pct = _directive_values(), [], False
    for c in fmt:
        if pct:
            out.append(values.get(c, "%" + c))
            pct = False
        elif c == "%":
            pct = True
        else:
            out.append(c)
    return "".join(out) + ("%" if pct else "")


def _strftime_macro(literals: tuple[str, ...] = ()) -> str:
    """A one-line Jinja macro ``strftime_now(format)`` printing :data:`PINNED_DATE`, directive by directive.

    Why a table of ``literals`` in front of the loop: a template calls it with its own constant formats (Llama 3.x
    ``"%d %b %Y"``), and looking those up costs one dict access instead of a Jinja loop per character (about half
    of a small Llama 3 render). The table holds :func:`macro_prints` of each literal, the loop's own output.
    """
    table = json.dumps(_directive_values(), ensure_ascii=True)
    known = json.dumps({fmt: macro_prints(fmt) for fmt in literals}, ensure_ascii=True)
    loop = ("{%- set d = " + table + " -%}"
            "{%- set ns = namespace(out='', pct=false) -%}{%- for c in format -%}"
            "{%- if ns.pct -%}{%- set ns.out = ns.out ~ (d[c] if c in d else '%' ~ c) -%}{%- set ns.pct = false -%}"
            "{%- elif c == '%' -%}{%- set ns.pct = true -%}{%- else -%}{%- set ns.out = ns.out ~ c -%}{%- endif -%}"
            "{%- endfor -%}{{- ns.out ~ ('%' if ns.pct else '') -}}")
    if literals:
        loop = ("{%- set known = " + known + " -%}{%- if format is string and format in known -%}"
                "{{- known[format] -}}{%- else -%}" + loop + "{%- endif -%}")
    return "{%- macro strftime_now(format) -%}" + loop + "{%- endmacro %}{{ '' }}"


@functools.lru_cache(maxsize=64)
def pinned_template(chat_template: str) -> str:
    """``chat_template`` with ``strftime_now`` defined in it to print :data:`PINNED_DATE`; unchanged when the
    template never calls it.

    The prefix is one line (template error line numbers stay those of the file) and ends with an expression tag,
    so ``trim_blocks`` cannot swallow a newline the template starts with. Cached: the same string object comes
    back for the same template, so transformers' compiled-template cache hashes it once, not on every render.
    """
    if "strftime_now" not in chat_template:
        return chat_template
    literals = sorted({a or b for a, b in _LITERAL_CALL.findall(chat_template)})
    return _strftime_macro(tuple(literals)) + chat_template


def check_template(chat_template: str) -> None:
    """Compile ``chat_template`` as transformers would; a Jinja syntax error is a :class:`TemplateRefusal`."""
    try:
        from transformers.utils.chat_template_utils import _compile_jinja_template
    except ImportError:  # pragma: no cover - very old transformers
        return
    render_limits.scan(chat_template)  # constant expressions Jinja would fold into gigabytes while compiling
    try:
        _compile_jinja_template(chat_template)
    except Exception as exc:  # TemplateSyntaxError, or an ImportError for a missing jinja2
        raise TemplateRefusal(describe_template_error(exc)) from None


def bounded_template(chat_template: str) -> str:
    """The text our renders hand transformers: the date pinned, scanned, and compiled (once per text) into our
    own bounded copy (:func:`render_limits.prepare`). Raises what the scan or Jinja's compiler raises."""
    return render_limits.prepare(pinned_template(chat_template))


def render(
    tokenizer: Any,
    chat_template: str,
    messages: Sequence[Mapping[str, Any]],
    tools: Sequence[Mapping[str, Any]] | None = None,
    template_kwargs: Mapping[str, Any] | None = None,
    add_generation_prompt: bool = False,
) -> str:
    """Return the rendered text; raise :class:`TemplateRefusal` when the template raises."""
    kwargs = dict(template_kwargs or {})
    try:
        bounded = bounded_template(chat_template)  # our own compiled copy, with limits
        with render_limits.limited():
            text = tokenizer.apply_chat_template(
                list(messages),
                tools=list(tools) if tools else None,
                chat_template=bounded,
                tokenize=False,
                add_generation_prompt=add_generation_prompt,
                **kwargs,
            )
    except RenderLimitExceeded:
        raise
    except Exception as exc:  # Jinja TemplateError, TypeError from filters, ValueError from transformers...
        raise TemplateRefusal(describe_template_error(exc)) from exc
    if not isinstance(text, str):  # defensive: some versions wrap single conversations in a list
        text = text[0]
    return text


def describe_template_error(exc: BaseException) -> str:
    name = type(exc).__name__
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if name == "TemplateSyntaxError" or isinstance(exc, ImportError):
        line = getattr(exc, "lineno", None)
        return f"template does not compile ({name}: {message}" + (f", template line {line})" if line else ")")
    if name in {"TemplateError", "TemplateRuntimeError"}:
        return f"template refused the conversation: {message}"
    if name == "SecurityError":
        return f"template blocked by the sandbox: {message}"
    return f"template failed ({name}): {message}"
