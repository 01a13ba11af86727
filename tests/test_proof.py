"""The single-render proof (reference/proof*.py): what it must refuse, what it may accept, and the data guards.

Every adversarial template below does something to message text that deleting markers does not commute with;
the proof must refuse it (so the reference renders twice). Where a conversation exists on which the marked
render, markers deleted, differs from the real render, it is given as a *witness* and checked: the refusal is
then not just caution, skipping the real render there would be wrong. Transparent templates must be proved, and
on them the single render must give what the double render gives, ids equal to ``apply_chat_template``.
"""

from __future__ import annotations

import dataclasses

import pytest

from lossmask import assets
from lossmask.reference import LossmaskError, SegmentationError, markers, segment
from lossmask.reference.proof import admits, prove
from lossmask.reference.render import render

LOOP = "{% for m in messages %}<|im_start|>{{ m.role }}\n[[BODY]]<|im_end|>\n{% endfor %}"


def in_loop(body: str) -> str:
    return LOOP.replace("[[BODY]]", body)


def chat(*texts: str) -> list[dict]:
    roles = ["user", "assistant"]
    return [{"role": roles[i % 2], "content": t} for i, t in enumerate(texts)]


#: (why, template, witness conversation or None).
ADVERSARIAL = [
    ("field compared with a computed value", in_loop("{% if m.content == m.role %}SAME{% endif %}{{ m.content }}"),
     chat("user", "x")),
    ("two fields compared", "{% if messages[0].content == messages[1].content %}SAME{% endif %}"
     + in_loop("{{ m.content }}"), chat("same", "same")),
    ("sliced", in_loop("{{ m.content[1:] }}"), chat("hello", "world")),
    ("indexed", in_loop("{{ m.content[0] }}"), chat("hello", "world")),
    ("first character", in_loop("{{ m.content|first }}"), chat("hello", "world")),
    ("length tested", in_loop("{% if m.content|length > 3 %}LONG {% endif %}{{ m.content }}"), chat("abc", "x")),
    ("length compared with a non-zero number", in_loop("{% if m.content|length == 3 %}3 {% endif %}"),
     chat("abc", "x")),
    ("length printed", in_loop("{{ m.content|length }}"), chat("abc", "x")),
    ("filtered |center", in_loop("{{ m.content|center(12) }}"), chat("abc", "x")),
    ("filtered |truncate", in_loop("{{ m.content|truncate(8) }}"), chat("abcdefghijklmnop", "x")),
    ("filtered |upper", in_loop("{{ m.content|upper }}"), None),
    ("filtered |replace by a computed value", in_loop("{{ m.content|replace(m.role, '') }}"), None),
    ("printed through |trim with non-whitespace characters", in_loop("{{ m.content|trim('x') }}"),
     chat("xhix", "y")),
    ("stripped of non-whitespace characters", in_loop("{{ m.content.lstrip('<') }}"), chat("<<hi", "y")),
    ("used in a condition on text built from fields",
     in_loop("{% set t = m.role ~ ':' ~ m.content %}{% if t == 'user:hi' %}HI {% endif %}{{ m.content }}"),
     chat("hi", "x")),
    ("startswith on text built from fields",
     in_loop("{% if (m.role ~ m.content).startswith('userA') %}A {% endif %}{{ m.content }}"),
     chat("Abc", "x")),
    ("startswith a computed value", in_loop("{% if m.content.startswith(m.role) %}R {% endif %}{{ m.content }}"),
     chat("user says", "x")),
    ("counting the empty string", in_loop("{{ m.content.count('') }}"), chat("abc", "x")),
    ("searched with rfind('')", in_loop("{{ m.content.rfind('') }}"), chat("abc", "x")),
    ("membership of a field in a list", in_loop("{% if m.content in ['hi', 'yo'] %}GREET {% endif %}"),
     chat("hi", "x")),
    ("ordered", in_loop("{% if m.content < 'm' %}EARLY {% endif %}{{ m.content }}"), chat("abc", "x")),
    ("characters iterated", in_loop("{% for c in m.content %}{{ loop.index }}{% endfor %}"), chat("abc", "x")),
    ("a message printed as a dict", in_loop("{{ m }}"), chat("abc", "x")),
    ("a message printed through |string", in_loop("{{ m|string }}"), chat("abc", "x")),
    ("tojson escaping non-ASCII", in_loop("{{ m.content|tojson(ensure_ascii=true) }}"), chat("abc", "x")),
    ("tojson output sliced past its brackets", in_loop("{{ (m.content|tojson)[1:3] }}"), chat("abc", "x")),
    ("tojson output cut at the end past its bracket", in_loop("{{ (m.content|tojson)[:-2] }}"),
     chat("abc", "x")),
    ("joined text length-tested", "{% if messages|map(attribute='content')|join|length > 4 %}LONG{% endif %}"
     + in_loop("{{ m.content }}"), chat("ab", "c")),
    ("whitespace split", in_loop("{{ m.content.split()|length }}"), None),
    ("%-formatting", in_loop("{{ '%s' % m.content }}"), None),
    ("message text through varargs", "{% macro f() %}{{ varargs|length }}{% endmacro %}" + in_loop("{{ f(m.content) }}"),
     None),
    ("a call block", "{% macro f() %}{{ caller() }}{% endmacro %}" + in_loop("{% call f() %}{{ m.content }}{% endcall %}"),
     None),
    ("a recursive loop", in_loop("{% for x in [1] recursive %}{{ m.content }}{% endfor %}"), None),
    ("random", in_loop("{{ [m.content, 'x']|random }}"), None),
    ("selectattr with a computed value", "{% set u = messages|selectattr('content', 'equalto', messages[0].role)|list %}"
     + in_loop("{{ m.content }}") + "{{ u|length }}", chat("user", "x")),
    ("a namespace holding text compared", "{% set ns = namespace(c='') %}" + in_loop(
        "{% set ns.c = m.content %}{% if ns.c == m.role %}SAME {% endif %}{{ m.content }}"), chat("user", "x")),
]


@pytest.fixture(scope="module")
def tokenizer():
    return assets.load_bundled("qwen2_5").tokenizer


@pytest.mark.parametrize("why,template,witness", ADVERSARIAL, ids=[a[0] for a in ADVERSARIAL])
def test_adversarial_template_takes_the_double_render(tokenizer, why, template, witness):
    proof = prove(template)
    assert not proof.holds, f"{why}: proved transparent ({proof.describe()})"
    assert proof.reason.startswith("line "), proof.reason
    if witness is None:
        return
    real = render(tokenizer, template, witness)
    marked_messages, _ = markers.mark(witness)
    try:
        stripped, _ = markers.strip(render(tokenizer, template, marked_messages))
    except Exception:  # the marked render fails where the real one renders: also a difference
        return
    assert stripped != real, f"{why}: the witness renders the same marked and real; pick one that does not"
    # The reference still gets it right: it renders twice and refuses or segments as the double render does.
    try:
        seg = segment(tokenizer, template, witness)
    except LossmaskError:  # refused (a probe or the check failed): never a wrong segmentation
        return
    assert seg.renders == 2 and seg.text == real


TRANSPARENT = [
    ("|trim", in_loop("{{ m.content|trim }}")),
    (".strip() and .lstrip('\\n')", in_loop("{{ m.content.strip() }}|{{ m.content.lstrip('\\n') }}")),
    ("is string narrowing", in_loop("{% if m.content is string %}{{ m.content }}{% else %}"
                                    "{% for p in m.content %}{{ p.text }}{% endfor %}{% endif %}")),
    ("truthiness and |length > 0", in_loop("{% if m.content and m.content|length > 0 %}{{ m.content }}{% endif %}")),
    ("|tojson", in_loop("{{ m.content|tojson }}")),
    ("tojson of a mapping cut at its closing brace", in_loop("{{ ({'c': m.content}|tojson)[:-1] }}}")),
    ("guarded startswith/in/split", in_loop("{% if m.content.startswith('<x>') or '</y>' in m.content %}T"
                                            "{% endif %}{{ m.content.split('</y>')[-1] }}")),
    ("messages compared", in_loop("{% if m == messages[-1] %}LAST {% endif %}{{ m.content }}")),
    ("a macro printing a field", "{% macro show(c) %}{{ c|trim }}{% endmacro %}" + in_loop("{{ show(m.content) }}")),
]
SAMPLES = [chat("Hello there", "  Hi!\n"), chat("a", "b", "c <x> d", "e"), chat("What is 2+2?", "4.", "Why?", "Math.")]


@pytest.mark.parametrize("why,template", TRANSPARENT, ids=[t[0] for t in TRANSPARENT])
def test_transparent_template_is_proved_and_renders_once_exactly(tokenizer, why, template):
    proof = prove(template)
    assert proof.holds, f"{why}: {proof.reason}"
    single_seen = False
    for messages in SAMPLES:
        one = segment(tokenizer, template, messages)
        two = segment(tokenizer, template, messages, single_render=False)
        single_seen |= one.renders == 1
        assert two.renders == 2
        assert one.text == render(tokenizer, template, messages)
        expected = tokenizer.apply_chat_template(messages, chat_template=template, tokenize=True)
        expected = list(expected["input_ids"] if hasattr(expected, "keys") else expected)
        assert one.input_ids == expected
        assert _fields(one) == _fields(two)
    assert single_seen, f"{why}: no sample took the single render"


def _fields(seg) -> dict:
    out = dataclasses.asdict(seg)
    out.pop("renders")
    return out


def test_guard_literal_in_the_data_sends_the_conversation_to_the_double_render(tokenizer):
    template = in_loop("{% if m.content.startswith('<x>') %}TAGGED {% endif %}{{ m.content }}")
    proof = prove(template)
    assert proof.holds and proof.guards == frozenset({"<x>"})
    clean, tagged = chat("plain", "text"), chat("<x> tagged", "text")
    assert admits(proof, clean, None) and not admits(proof, tagged, None)
    assert segment(tokenizer, template, clean).renders == 1
    seg = segment(tokenizer, template, tagged)
    assert seg.renders == 2 and seg.text == render(tokenizer, template, tagged)


@pytest.mark.parametrize("why,messages,tools", [
    ("content parts", [{"role": "user", "content": [{"type": "text", "text": "hi"}]}], None),
    ("inline reasoning", [{"role": "user", "content": "q"}, {"role": "assistant", "content": "<think>r</think>a"}],
     None),
    ("a marker code point in a tool schema", chat("q"), [{"type": "function", "function": {
        "name": "f", "description": "bad \U000F0003 text", "parameters": {}}}]),
    ("a marker code point in a tool call id", [{"role": "user", "content": "q"}, {
        "role": "assistant", "content": "", "tool_calls": [{"id": "a\U000F0001", "type": "function",
                                                           "function": {"name": "f", "arguments": {}}}]}], None),
    ("an object the walk cannot read", [{"role": "user", "content": "q", "extra": object()}], None),
])
def test_data_outside_the_proof_model_is_not_admitted(why, messages, tools):
    assert not admits(prove(in_loop("{{ m.content }}")), messages, tools), why


def test_reserved_code_points_are_refused_with_their_path_on_both_paths(tokenizer):
    template = in_loop("{{ m.content }}{{ m.tool_calls[0].id if m.tool_calls }}")
    messages = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "", "tool_calls": [
        {"id": "a\U000F0001", "type": "function", "function": {"name": "f", "arguments": {}}}]}]
    for single in (True, False):
        with pytest.raises(SegmentationError, match=r"\$\.messages\[1\]\.tool_calls\[0\]\.id"):
            segment(tokenizer, template, messages, single_render=single)


def test_equal_messages_send_a_comparing_template_to_the_double_render(tokenizer):
    template = in_loop("{% if m == messages[-1] %}LAST {% endif %}{{ m.content }}")
    proof = prove(template)
    assert proof.holds and proof.distinct_messages
    same = chat("again", "ok", "again", "ok")
    assert not admits(proof, same, None)
    # The double render sees the difference itself (marked messages are all distinct) and marks what it can.
    seg = segment(tokenizer, template, same)
    assert seg.renders == 2 and seg.text == render(tokenizer, template, same)


def test_string_arguments_take_the_double_render_where_the_proof_needs_objects():
    loaded = assets.load_bundled("deepseek_v4")
    proof = prove(loaded.chat_template)
    assert proof.holds and proof.objects_as_arguments, proof.describe()
    call = {"role": "assistant", "content": "", "tool_calls": [
        {"type": "function", "function": {"name": "f", "arguments": '{"a": 1}'}}]}
    assert not admits(proof, [{"role": "user", "content": "q"}, call], None)


def test_every_bundled_default_template_is_proved():
    """The bench's templates take the single render; a variant may not (its reason is reported)."""
    for name, fam in assets.families().items():
        loaded = assets.load_bundled(name)
        assert prove(loaded.chat_template).holds, f"{name}: {prove(loaded.chat_template).reason}"
