"""Our renders' shortcut attribute lookups (reference.attribute_lookup) answer exactly as Jinja's sandbox does.

The expected output of every template here is what a plain ``ImmutableSandboxedEnvironment`` (Jinja's own code,
no shortcut) renders from the same data, so a shortcut that answered differently, for a value or for a refusal,
fails here.
"""

from __future__ import annotations

import copy

import pytest
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedEnvironment

from lossmask.reference import attribute_lookup


class Row(dict):
    """A dict subclass with an attribute of its own: the dict shortcut must not apply to it."""

    role = "attribute, not item"


DATA = {
    "messages": [
        {"role": "user", "content": "  Hi. ", "items": "an item named like a dict method"},
        {"role": "assistant", "content": "Hello.", "tool_calls": [{"function": {"name": "f", "arguments": {}}}]},
    ],
    "row": Row(role="item"),
    "text": "a,b",
    "number": 3,
}

TEMPLATES = {
    "keys": "{% for m in messages %}{{ m.role }}:{{ m.content }}{% endfor %}",
    "missing_key_is_undefined": "{{ messages[0].missing is defined }}|{{ messages[0].missing | default('d') }}",
    "key_named_like_a_method": "{{ messages[0].items is callable }}|{{ messages[0]['items'] }}",
    "dict_method": "{% for k, v in messages[1].tool_calls[0].function.items() %}{{ k }}{% endfor %}",
    "dict_get": "{{ messages[0].get('role') }}",
    "subclass_attribute_first": "{{ row.role }}",
    "str_methods": "{{ messages[0].content.strip() }}|{{ text.split(',') | join('+') }}|{{ text.startswith('a') }}",
    "loop": "{% for m in messages %}{{ loop.index0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }}{% endfor %}",
    "namespace": "{% set ns = namespace(seen=false) %}{% for m in messages %}{% if m.role == 'user' %}"
                 "{% set ns.seen = true %}{% endif %}{% endfor %}{{ ns.seen }}",
    "number_attribute": "{{ number.real }}|{{ number.bit_length() }}",
    "list_method": "{{ messages.index(messages[1]) }}",
    "format": "{{ 'x{}y'.format(number) }}",
    "dict_mutation": "{{ messages[0].pop('role') }}",
    "list_mutation": "{{ messages.append(1) }}",
    "private": "{{ text.__class__.__mro__ }}",
    "underscore": "{{ text._x }}",
    "loop_internal": "{% for m in messages %}{{ loop.__class__.__mro__ }}{% endfor %}",
    "namespace_internal": "{% set ns = namespace(a=1) %}{{ ns.__init__.__globals__ }}",
    "strict_missing": "{{ messages[0].missing.deeper }}",
}


def _outcome(env, source: str) -> tuple[str, str]:
    try:
        return "ok", env.from_string(source).render(**copy.deepcopy(DATA))  # a mutation must not leak
    except (SecurityError, UndefinedError) as exc:
        return type(exc).__name__, str(exc)


@pytest.mark.parametrize("kind", [ImmutableSandboxedEnvironment, SandboxedEnvironment])
@pytest.mark.parametrize("name", list(TEMPLATES))
def test_shortcut_lookups_render_and_refuse_as_jinja_does(kind, name):
    plain = kind()
    fast = kind().overlay()
    attribute_lookup.install(fast)
    source = TEMPLATES[name]
    assert _outcome(fast, source) == _outcome(plain, source)
    assert _outcome(fast, source) == _outcome(plain, source)  # a second time: now from remembered verdicts


def test_the_remembered_verdicts_are_not_installed_over_a_custom_check():
    class Strict(ImmutableSandboxedEnvironment):
        def is_safe_attribute(self, obj, attr, value):
            return attr != "strip" and super().is_safe_attribute(obj, attr, value)

    env = Strict().overlay()
    attribute_lookup.install(env)
    assert "is_safe_attribute" not in vars(env)
    with pytest.raises(SecurityError):
        env.from_string("{{ text.strip() }}").render(**DATA)


def test_a_refusal_in_the_plain_sandbox_is_a_refusal_here():
    # guards the parametrised test above: the refusing templates really are refused, not equal by accident
    for name in ("dict_mutation", "list_mutation", "private", "loop_internal"):
        assert _outcome(ImmutableSandboxedEnvironment(), TEMPLATES[name])[0] == "SecurityError", name
