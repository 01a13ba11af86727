"""Render a conversation exactly as transformers does, with the date pinned and template errors typed.

Rendering goes through ``tokenizer.apply_chat_template(tokenize=False)`` so the text is byte-for-byte what a
trainer using transformers would see: the same sandboxed Jinja environment (``ImmutableSandboxedEnvironment``),
the same input normalisation (5.x drops ``None``-valued keys and aliases reasoning fields) and the same globals.
Templates that print today's date (Llama 3.x, gpt-oss) call the ``strftime_now`` global; transformers 5.x turns
callables passed as template kwargs into inert strings, so the pin is installed in the compiled template's own
environment (:func:`pin_date`). It therefore also applies to any generator that renders the same template in the
same process, which is what makes their token ids comparable with ours.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping, Sequence
from typing import Any

from . import render_limits
from .errors import TemplateRefusal
from .render_limits import RenderLimitExceeded

#: The date every render uses unless the caller pins another (goldens depend on it).
PINNED_DATE = _dt.date(2026, 1, 15)


def pinned_strftime(fmt: str) -> str:
    return PINNED_DATE.strftime(fmt)


def pin_date(chat_template: str) -> None:
    """Make ``strftime_now`` in this template return :data:`PINNED_DATE` (idempotent, per template text).

    Raises :class:`TemplateRefusal` when the template does not compile (a Jinja syntax error).
    """
    try:
        from transformers.utils.chat_template_utils import _compile_jinja_template
    except ImportError:  # pragma: no cover - very old transformers
        return
    render_limits.scan(chat_template)  # constant expressions Jinja would fold into gigabytes while compiling
    try:
        compiled = _compile_jinja_template(chat_template)
        if compiled.globals.get("strftime_now") is pinned_strftime:
            return
    except Exception as exc:  # TemplateSyntaxError, or an ImportError for a missing jinja2
        line = getattr(exc, "lineno", None)
        first = (str(exc).strip().splitlines() or [""])[0]
        raise TemplateRefusal(f"template does not compile ({type(exc).__name__}: {first}"
                              + (f", template line {line})" if line else ")")) from None
    compiled.environment.globals["strftime_now"] = pinned_strftime
    compiled.globals["strftime_now"] = pinned_strftime


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
        bounded = render_limits.prepare(chat_template)  # our own compiled copy, with the render limits
        pin_date(bounded)
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
    if name in {"TemplateError", "TemplateRuntimeError"}:
        return f"template refused the conversation: {message}"
    if name == "SecurityError":
        return f"template blocked by the sandbox: {message}"
    return f"template failed ({name}): {message}"
