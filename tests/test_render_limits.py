"""Render limits: a template that loops, multiplies or pads its way to hours or gigabytes is one clear error.

Each hostile template is refused quickly with :class:`RenderLimitExceeded` (one line from ``lossmask mask``,
a counted ``render-limit`` error in ``lossmask audit``), while every bundled template renders exactly what
``apply_chat_template`` renders, and a render of the template's own text by anyone else is untouched.
"""

from __future__ import annotations

import json
import time

import pytest

from lossmask import assets
from lossmask.audit import AuditConfig, audit
from lossmask.cli import main
from lossmask.reference import render_limits
from lossmask.reference.render import render
from lossmask.reference.render_limits import RenderLimitExceeded

CHAT = [{"role": "user", "content": "Hi."}, {"role": "assistant", "content": "Hello."}]
HOSTILE = {
    "nested_range": ("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}{{ 'x' }}",
                     "rendered for more than 1 s"),
    "lipsum": ("{{ lipsum(10**7) }}", "to lipsum on template line 1"),
    "lipsum_runtime": ("{% set n = 10**6 %}{{ lipsum(n) }}", "asks lipsum for a text of"),
    "constant_multiplication": ("{{ 'x' * 10**10 }}", "in a constant expression on template line 1"),
    "multiplication": ("{% set n = 10**10 %}{{ 'x' * n }}", "multiplies a sequence to a value of 10,000,000,000"),
    "power": ("{% set n = 10 %}{{ n ** (10**10) }}", "raises an integer to the power 10,000,000,000"),
    "doubling": ("{% set ns = namespace(s='x') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
                 "stores in namespace attribute 's' a value"),
    "filter_width": ("{{ 'x'|center(10**10) }}", "passes 10,000,000,000 to center"),
    "method_width": ("{% set n = 10**10 %}{{ 'x'.ljust(n) }}", "passes 10,000,000,000 to ljust()"),
    "percent_width": ("{% set f = '%10000000000d' %}{{ f % 1 }}", "formats with a field width of 10,000,000,000"),
    "format_width": ("{{ '{:>10000000000}'.format(1) }}", "formats with a field width of 10,000,000,000"),
    "output": ("{% for i in range(100000) %}{% for j in range(1000) %}" + "x" * 10_000 + "{% endfor %}{% endfor %}",
               "renders an output of"),
}


@pytest.fixture
def short_limits():
    previous = render_limits.configure(seconds=1.0, max_chars=8 * 1024 * 1024)
    yield
    render_limits.restore(previous)


@pytest.mark.parametrize("name", list(HOSTILE))
def test_each_hostile_template_is_refused_quickly(short_limits, name):
    template, fragment = HOSTILE[name]
    tok = assets.load_bundled("qwen2_5").tokenizer
    started = time.monotonic()
    with pytest.raises(RenderLimitExceeded) as info:
        render(tok, template, CHAT)
    assert fragment in str(info.value) and "\n" not in str(info.value)
    assert time.monotonic() - started < 10


@pytest.mark.parametrize("name", ["nested_range", "constant_multiplication", "filter_width"])
def test_mask_with_a_hostile_template_file_is_one_line(tmp_path, capsys, name):
    template = tmp_path / f"{name}.jinja"
    template.write_text(HOSTILE[name][0])
    chat = tmp_path / "chat.json"
    chat.write_text(json.dumps(CHAT))
    started = time.monotonic()
    assert main(["mask", "--family", "qwen2_5", "--template", str(template), "--messages", str(chat),
                 "--render-timeout", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("lossmask mask: error: ") and "render" in err
    assert time.monotonic() - started < 30
    assert render_limits.current() == render_limits.RenderLimits()  # the CLI restored the defaults


def test_audit_counts_render_limit_errors_and_goes_on(tmp_path):
    template = tmp_path / "slow.jinja"
    template.write_text("{% if 'slow' in messages[0].content %}{% for i in range(100000) %}{% for j in range(100000)"
                        " %}{% endfor %}{% endfor %}{% endif %}{% for m in messages %}<{{ m.role }}>{{ m.content }}"
                        "</{{ m.role }}>{% endfor %}")
    slow = [{"role": "user", "content": "slow, please"}, CHAT[1]]
    data = tmp_path / "data.jsonl"
    data.write_text("\n".join(json.dumps(slow if i % 2 else CHAT) for i in range(4)) + "\n")
    report, _ = audit(data, AuditConfig(tokenizer="qwen2_5", template_file=str(template), render_seconds=0.5))
    assert report["samples"] == 4 and report["rendered"] == 2
    assert report["errors"]["by_kind"] == {"render-limit": 2}


def test_check_sets_the_render_limits_of_the_generator_process(capsys):
    """``check --render-max-chars`` reaches the reference's renders in the (isolated) generator process: every
    case is that case's error naming the limit; a bad value is a usage error before anything runs."""
    from lossmask.runner import Selection, run
    from lossmask.runner.limits import Limits

    sel = Selection(families=["qwen2_5"], case_ids=["plain_answer", "user_last"])
    outcome = run("reference", sel, limits=Limits(render_max_chars=20))
    assert [r.verdict for r in outcome.results] == ["error", "error"]
    assert all("past the render size limit of 20 (--render-max-chars)" in r.message for r in outcome.results)
    for flag, value in (("--render-timeout", "0"), ("--render-timeout", "nan"), ("--render-max-chars", "0")):
        with pytest.raises(SystemExit) as info:
            main(["check", "reference", flag, value])
        assert info.value.code == 2 and flag in capsys.readouterr().err


def test_every_bundled_template_renders_exactly_as_transformers_does():
    for name, fam in assets.families().items():
        for variant in fam.variant_names:
            loaded = assets.load_bundled(name, variant)
            tok = loaded.tokenizer
            for chat in (CHAT, CHAT + [{"role": "user", "content": "  Again?\n"}]):
                want = tok.apply_chat_template(chat, tokenize=False, chat_template=loaded.chat_template)
                assert render(tok, loaded.chat_template, chat) == want, (name, variant)


def test_renders_of_the_template_by_others_are_untouched():
    from transformers.utils.chat_template_utils import _compile_jinja_template

    loaded = assets.load_bundled("qwen2_5")
    render(loaded.tokenizer, loaded.chat_template, CHAT)
    theirs = _compile_jinja_template(loaded.chat_template)
    assert not getattr(theirs, "lossmask_bounded", False)
    assert theirs.environment.intercepted_binops == frozenset()
    assert theirs.environment.globals["range"] is not render_limits._bounded_range
    ours = _compile_jinja_template(render_limits.bounded_text(loaded.chat_template))
    assert ours.lossmask_bounded and ours.environment is not theirs.environment


@pytest.mark.parametrize("template", ["x\n", "x\r\n", "{% if true %}\n  y\n{% endif %}\n", "  {% if true %}z{% endif %}"])
def test_the_suffix_changes_no_render(template):
    tok = assets.load_bundled("qwen2_5").tokenizer
    assert render(tok, template, CHAT) == tok.apply_chat_template(CHAT, tokenize=False, chat_template=template)
