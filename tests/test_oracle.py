"""The reference and the independent oracle agree on every bundled template and conversation.

The oracle (reference/oracle.py) anchors assistant turns by re-rendering with a sentinel and takes the
header/suffix/end-of-turn strings from hand-written notes; the reference uses field markers and probe renders.
Agreement is checked turn by turn (header, suffix, body, end-of-turn, separator) and on the canonical mask.
"""

import json
from pathlib import Path

import pytest

from lossmask import assets
from lossmask.reference import LossmaskError, segment
from lossmask.reference.oracle import oracle_turns

NOTES = json.loads((Path(__file__).parent.parent / "fixtures" / "oracle" / "turn_structure.json").read_text())
TEMPLATES = [(f, v) for f, fam in assets.families().items() for v in fam.variant_names]


def conversations():
    """The fixture corpus when present, plus the unit-test conversations."""
    from tests.conversations import ALL

    from lossmask.bench.conversations import build

    out = [(name, msgs, tools, {}) for name, (msgs, tools) in ALL.items()]
    out.append(("bench_8_turns", *build(8), {}))  # reasoning + calls in one message (gpt-oss refuses a sentinel there)
    try:
        from lossmask.cases import load_cases
    except ImportError:
        return out
    return out + [(c.id, c.messages, c.tools, c.template_kwargs or {}) for c in load_cases()]


CONVERSATIONS = conversations()


def test_notes_cover_every_bundled_template():
    assert {(f, v) for f, vs in NOTES["templates"].items() for v in vs} == set(TEMPLATES)


@pytest.mark.parametrize("family,variant", TEMPLATES, ids=[f"{f}/{v}" for f, v in TEMPLATES])
def test_reference_agrees_with_oracle(family, variant):
    loaded = assets.load_bundled(family, variant)
    declared = NOTES["templates"][family][variant]
    compared = 0
    for name, messages, tools, kwargs in CONVERSATIONS:
        try:
            seg = segment(loaded.tokenizer, loaded.chat_template, messages, tools, kwargs)
        except LossmaskError as exc:
            with pytest.raises(LossmaskError):
                oracle_turns(loaded.tokenizer, loaded.chat_template, messages, tools, kwargs, declared)
            assert type(exc).__name__ in {"TemplateRefusal", "ConversationError"}, f"{name}: {exc}"
            continue
        expected = oracle_turns(loaded.tokenizer, loaded.chat_template, messages, tools, kwargs, declared)
        got = [(t.message, t.header, t.gen_prompt_suffix, t.body, t.end_of_turn, t.separator) for t in seg.turns]
        want = [(t.message, t.header, t.gen_prompt_suffix, t.body, t.end_of_turn, t.separator) for t in expected]
        assert got == want, f"{family}/{variant} {name}: reference {got} != oracle {want}"
        compared += 1
    assert compared > 0
