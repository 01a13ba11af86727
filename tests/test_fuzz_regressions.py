"""Replays every case the fuzzer saved (tag ``fuzz``) under the fuzzer's own properties, plus hand-written
regressions for the reference bugs those cases exposed.

A saved case keeps its witnesses (``§a8§`` and the like) in its text, so the witness properties are rebuilt from
the text alone: the case file is the whole reproduction, no Hypothesis database needed.
"""

from __future__ import annotations

import re

import pytest

from lossmask import assets
from lossmask.cases import load_cases
from lossmask.reference import segment
from tests.strategies import WITNESS, Conversation, tag_role
from tests.test_fuzz_reference import check_example

WITNESS_RE = re.compile(f"{WITNESS}([a-z])(\\d+){WITNESS}")


def witnesses_in(case) -> dict[str, tuple[int, str]]:
    found = {}
    for text in WITNESS_RE.finditer(repr(case.messages)):
        tag, index = text.group(1), int(text.group(2))
        found[text.group(0)] = (index, "assistant" if tag in {"a", "r"} else tag_role(tag))
    return found


FUZZ_CASES = [c for c in load_cases(categories=["adversarial"]) if "fuzz" in c.tags]
RUNS = [(c, f, v) for c in FUZZ_CASES for f, fam in assets.families().items() if c.applies_to(f)
        for v in fam.variant_names]


@pytest.mark.skipif(not RUNS, reason="the fuzzer has saved no cases yet")
@pytest.mark.parametrize("case,family,variant", RUNS, ids=[f"{c.id}-{f}/{v}" for c, f, v in RUNS])
def test_saved_fuzz_case_holds_the_properties(case, family, variant):
    conv = Conversation(case.messages, case.tools, dict(case.template_kwargs), witnesses_in(case))
    assert conv.witnesses, "a saved fuzz case carries its witnesses"
    check_example(assets.load_bundled(family, variant), conv)


TEMPLATES = [(f, v) for f, fam in assets.families().items() for v in fam.variant_names]


@pytest.mark.parametrize("family,variant", TEMPLATES, ids=[f"{f}/{v}" for f, v in TEMPLATES])
def test_assistant_text_before_inline_think_is_supervised(family, variant):
    """Regression (fixtures/cases/adversarial/fuzz_45a69bc29274.json): text before an inline ``<think>`` was left
    unmarked, so a role-header literal inside it was taken for the turn's header, and the text before the literal
    was labelled template text and not supervised (every ChatML template)."""
    loaded = assets.load_bundled(family, variant)
    content = "Sure.<|im_start|>assistant\n<think>\n\n</think>\n\nDone."
    messages = [{"role": "user", "content": "Go."}, {"role": "assistant", "content": content, "reasoning_content": ""}]
    seg = segment(loaded.tokenizer, loaded.chat_template, messages)
    start = seg.text.find("Sure.")
    if start < 0:  # the template drops text before <think> (DeepSeek R1-style): nothing of it to supervise
        rendered = loaded.tokenizer.apply_chat_template(messages, tokenize=False, chat_template=loaded.chat_template)
        assert "Sure." not in rendered and seg.text == rendered
        return
    result = seg.mask("canonical")
    supervised = {i for t, (s, e) in enumerate(seg.offsets) if result.loss_mask[t] for i in range(s, e)}
    assert set(range(start, start + len("Sure."))) <= supervised
    assert all(x.end <= start for x in seg.segments if x.part == "header")


def test_empty_assistant_after_tool_results_supervises_only_its_end_of_turn():
    """Regression (fixtures/cases/adversarial/fuzz_edca191be9de.json): Mistral renders an empty assistant turn after
    tool results as its ``</s>`` alone; the reference took the tool-result frame before it for the turn's content
    and supervised it."""
    loaded = assets.load_bundled("mistral_nemo")
    call = {"id": "call00001", "type": "function", "function": {"name": "lookup", "arguments": {"q": "x"}}}
    messages = [{"role": "user", "content": "Look it up."}, {"role": "assistant", "content": "", "tool_calls": [call]},
                {"role": "tool", "tool_call_id": "call00001", "content": "42"}, {"role": "assistant", "content": ""},
                {"role": "user", "content": "And?"}, {"role": "assistant", "content": "42."}]
    seg = segment(loaded.tokenizer, loaded.chat_template, messages)
    (turn,) = [t for t in seg.turns if t.message == 3]
    assert turn.body[0] == turn.body[1] == turn.end_of_turn[0]  # empty body, right at its end-of-turn
    eot = seg.text[slice(*turn.end_of_turn)]
    assert eot == loaded.tokenizer.eos_token
    result = seg.mask("canonical")
    tool_end = seg.text.index("42") + 2
    assert not any(on and s < turn.end_of_turn[0] and e > tool_end for on, (s, e) in zip(result.loss_mask, seg.offsets))
