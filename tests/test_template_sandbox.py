"""Chat templates are untrusted code: rendering is sandboxed, and an escape attempt is a clean refusal.

Templates come from model repositories and users' files. Rendering goes through transformers' Jinja
``ImmutableSandboxedEnvironment``; these tests pin that a template reaching for Python internals (the classic
``''.__class__.__mro__`` and ``cycler.__init__.__globals__`` escapes) is refused with one typed line, and that the
payload it carries (creating a file) never runs.
"""

from __future__ import annotations

import json

import pytest

from lossmask import assets
from lossmask.cli import main
from lossmask.reference import TemplateRefusal, segment

CHAT = [{"role": "user", "content": "Hi."}, {"role": "assistant", "content": "Hello."}]
PLAIN = "{% for m in messages %}<{{ m.role }}>{{ m.content }}</{{ m.role }}>{% endfor %}"

#: Escape attempts. ``{mark}`` is a file the payload would create if it ran.
ESCAPES = {
    "str_mro": "{{ ''.__class__.__mro__ }}",
    "subclasses": "{% for c in [].__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
    "cycler_globals": "{{ cycler.__init__.__globals__.os.system('touch {mark}') }}",
    "joiner_globals": "{{ joiner.__init__.__globals__['os'].popen('touch {mark}').read() }}",
    "namespace_globals": "{{ namespace.__init__.__globals__ }}",
    "transformers_global": "{{ raise_exception.__globals__['__builtins__']['exec']('open(\"{mark}\", \"w\")') }}",
    "message_dict_class": "{{ messages[0].__class__.__init__.__globals__ }}",
    "format_escape": "{{ '{0.__class__.__mro__}'.format('') }}",
    # the lookups reference.attribute_lookup answers from a remembered verdict must still be refused
    "dict_mutation": "{{ messages[0].clear() }}",
    "list_mutation": "{{ messages.append('x') }}",
    "loop_class": "{% for m in messages %}{{ loop.__class__.__init__.__globals__ }}{% endfor %}",
    "namespace_class": "{% set ns = namespace(a=1) %}{{ ns.__class__.__init__.__globals__ }}",
    "str_private": "{{ 'x'.__len__() }}",
}


@pytest.mark.parametrize("name", list(ESCAPES))
def test_escape_attempt_is_a_sandbox_refusal_and_runs_nothing(tmp_path, name):
    mark = tmp_path / "escaped"
    template = PLAIN + ESCAPES[name].replace("{mark}", str(mark))
    loaded = assets.load_bundled("qwen2_5")
    with pytest.raises(TemplateRefusal) as info:
        segment(loaded.tokenizer, template, CHAT)
    message = str(info.value)
    assert message.startswith("template blocked by the sandbox: ") and "unsafe" in message and "\n" not in message
    assert not mark.exists()


def test_escape_attempt_from_a_template_file_is_one_line_exit_2(tmp_path, capsys):
    mark = tmp_path / "escaped"
    template = tmp_path / "evil.jinja"
    template.write_text(PLAIN + ESCAPES["cycler_globals"].replace("{mark}", str(mark)))
    chat = tmp_path / "chat.json"
    chat.write_text(json.dumps(CHAT))
    assert main(["mask", "--family", "qwen2_5", "--template", str(template), "--messages", str(chat)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"{chat} (qwen2_5): template blocked by the sandbox: access to attribute '__init__'" in err
    assert not mark.exists()


def test_the_same_template_without_the_escape_renders():
    """Control: the refusal comes from the escape, not from the template scaffolding around it."""
    loaded = assets.load_bundled("qwen2_5")
    seg = segment(loaded.tokenizer, PLAIN, CHAT)
    assert seg.text == "<user>Hi.</user><assistant>Hello.</assistant>"
