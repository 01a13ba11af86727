"""The pinned ``strftime_now``: a template's own literal formats are looked up, any other goes through the loop,
and both print what the loop prints (hand-checked dates beside them, so this is not the code checking itself)."""

from __future__ import annotations

import pytest
from transformers.utils.chat_template_utils import _compile_jinja_template

from lossmask.reference.render import pinned_template

# (format, what 15 January 2026 at midnight prints), written by hand
FORMATS = [
    ("%d %b %Y", "15 Jan 2026"),  # Llama 3.x
    ("%Y-%m-%d", "2026-01-15"),  # gpt-oss
    ("%A, %B %d, %Y", "Thursday, January 15, 2026"),
    ("%H:%M", "00:00"),
    ("100%%", "100%"),
    ("%Q and a trailing %", "%Q and a trailing %"),  # unknown directive kept; a lone % at the end kept
    ("", ""),
]


def _render(template: str) -> str:
    return _compile_jinja_template(pinned_template(template)).render()


@pytest.mark.parametrize("fmt, expected", FORMATS)
def test_a_literal_format_and_the_loop_print_the_same_date(fmt, expected):
    literal = "{{ strftime_now('" + fmt + "') }}"
    dynamic = "{%- set f = '" + fmt + "' -%}{{ strftime_now(f) }}"  # not a literal call: the loop
    assert "set known" in pinned_template(literal) and "set known" not in pinned_template(dynamic)
    assert _render(literal) == _render(dynamic) == expected


def test_a_format_that_is_not_a_template_literal_still_uses_the_loop():
    template = "{{ strftime_now('%d %b %Y') }}|{% set f = '%Y-%m-%d' %}{{ strftime_now(f) }}"
    assert _render(template) == "15 Jan 2026|2026-01-15"
