"""The reference mask on real tokenizers: id parity with transformers and the canonical semantics."""

import pytest

from lossmask import assets
from lossmask.reference import TemplateRefusal, compute, segment
from lossmask.reference import segments as S
from tests.conversations import ALL, EMPTY_REASONING, HIJACK, MULTI_TURN_REASONING, TOOL_FLOW, WEIGHTED

TEMPLATES = [(f, v) for f, fam in assets.families().items() for v in fam.variant_names]


def template_ids(loaded, messages, tools):
    out = loaded.tokenizer.apply_chat_template(messages, tools=tools, tokenize=True,
                                               chat_template=loaded.chat_template)
    if hasattr(out, "keys") and "input_ids" in out:  # transformers 5.x BatchEncoding
        out = out["input_ids"]
    return list(out)


def supervised_parts(seg, result):
    """The set of parts that have at least one supervised character."""
    mask = bytearray(len(seg.text))
    for t, on in enumerate(result.loss_mask):
        if on and t not in result.straddles:
            s, e = seg.offsets[t]
            mask[s:e] = b"\x01" * (e - s)
    return {x.part for x in seg.segments if any(mask[x.start:x.end])}


@pytest.mark.parametrize("family,variant", TEMPLATES, ids=[f"{f}/{v}" for f, v in TEMPLATES])
@pytest.mark.parametrize("name", list(ALL))
def test_ids_equal_apply_chat_template_and_prompt_parts_never_supervised(family, variant, name):
    loaded = assets.load_bundled(family, variant)
    messages, tools = ALL[name]
    try:
        expected = template_ids(loaded, messages, tools)
    except Exception:
        with pytest.raises(TemplateRefusal):
            segment(loaded.tokenizer, loaded.chat_template, messages, tools)
        return
    seg = segment(loaded.tokenizer, loaded.chat_template, messages, tools)
    assert seg.input_ids == expected
    result = seg.mask("canonical")
    assert len(result.loss_mask) == len(expected)
    trained = supervised_parts(seg, result)
    assert not trained & {S.SYSTEM, S.USER, S.TOOL, S.HEADER, S.GEN_PROMPT_SUFFIX, S.SEPARATOR, S.OTHER}
    # Every assistant turn with weight and generated text is supervised somewhere, end-of-turn included.
    for turn in seg.turns:
        if turn.weight and turn.body[1] > turn.body[0]:
            s, e = turn.body
            assert any(result.loss_mask[t] for t, (a, b) in enumerate(seg.offsets) if a < e and b > s)
        if turn.weight and turn.end_of_turn[1] > turn.end_of_turn[0]:
            assert S.END_OF_TURN in trained


def parts_text(seg, part, message=None):
    return [seg.text[s.start:s.end] for s in seg.segments if s.part == part and (message is None or s.message == message)]


def test_qwen3_5_multi_turn_drops_historical_reasoning_and_supervises_current():
    loaded = assets.load_bundled("qwen3_5")
    seg = segment(loaded.tokenizer, loaded.chat_template, MULTI_TURN_REASONING)
    result = seg.mask("canonical")
    assert "Add two and two." not in seg.text  # the template drops it; so must the mask
    assert result.supervised_text() == ["4.<|im_end|>", "Add three and three.\n</think>\n\n6.<|im_end|>"]
    assert parts_text(seg, S.HEADER) == ["<|im_start|>assistant\n"] * 2
    assert parts_text(seg, S.GEN_PROMPT_SUFFIX) == ["<think>\n"]
    assert parts_text(seg, S.SEPARATOR) == ["\n", "\n"]


def test_qwen3_hybrid_supervises_the_think_opener_of_the_current_turn():
    loaded = assets.load_bundled("qwen3")
    result = compute(loaded.tokenizer, loaded.chat_template, MULTI_TURN_REASONING)
    assert result.supervised_text() == ["4.<|im_end|>", "<think>\nAdd three and three.\n</think>\n\n6.<|im_end|>"]


def test_llama_header_is_not_supervised_and_eot_is():
    loaded = assets.load_bundled("llama3")
    seg = segment(loaded.tokenizer, loaded.chat_template, EMPTY_REASONING)
    assert parts_text(seg, S.HEADER) == ["<|start_header_id|>assistant<|end_header_id|>\n\n"]
    assert seg.mask().supervised_text() == ["Hello!<|eot_id|>"]


def test_a_separator_written_only_after_historical_turns_is_the_turns_separator():
    """OLMo 2 writes ``<|endoftext|>\n`` after a historical assistant turn and ``<|endoftext|>`` alone after the
    final one: the ``\n`` is that turn's separator (not supervised under canonical), not template ``other``."""
    loaded = assets.load_bundled("olmo2")
    seg = segment(loaded.tokenizer, loaded.chat_template, MULTI_TURN_REASONING)
    assert parts_text(seg, S.HEADER) == ["<|assistant|>\n"] * 2
    assert parts_text(seg, S.END_OF_TURN) == ["<|endoftext|>"] * 2
    assert parts_text(seg, S.SEPARATOR) == ["\n"]
    assert seg.text.endswith("6.<|endoftext|>")
    assert seg.mask("canonical").supervised_text() == ["4.<|endoftext|>", "6.<|endoftext|>"]


def test_qwen3_5_empty_reasoning_straddle_is_reported():
    loaded = assets.load_bundled("qwen3_5")
    seg = segment(loaded.tokenizer, loaded.chat_template, EMPTY_REASONING)
    any_rule, all_rule = seg.mask("canonical"), seg.mask("strict-straddle")
    (t,) = any_rule.straddles
    assert seg.text[slice(*seg.offsets[t])] == "\n\n"
    assert seg.token_parts()[t] == "gen_prompt_suffix+glue"  # the empty think frame: template text, no field
    assert any_rule.loss_mask[t] == 1 and all_rule.loss_mask[t] == 0
    assert all_rule.straddles == [t]


@pytest.mark.parametrize("family", ["qwen3_5", "qwen3", "qwen2_5"])
def test_chatml_literal_in_user_text_does_not_hijack_the_mask(family):
    loaded = assets.load_bundled(family)
    seg = segment(loaded.tokenizer, loaded.chat_template, HIJACK)
    runs = seg.mask().supervised_text()
    assert len(runs) == 1 and runs[0].endswith("Done.<|im_end|>")
    assert "hijacked" not in "".join(runs)


def test_separator_profile_differs_only_in_the_separator():
    loaded = assets.load_bundled("qwen3_5")
    seg = segment(loaded.tokenizer, loaded.chat_template, TOOL_FLOW, [ALL["tool_flow"][1][0]])
    canonical, slime = seg.mask("canonical"), seg.mask("slime-qwen3_5")
    diff = [t for t, (a, b) in enumerate(zip(canonical.loss_mask, slime.loss_mask)) if a != b]
    assert diff and all(seg.token_parts()[t] == S.SEPARATOR for t in diff)
    assert all(slime.loss_mask[t] == 1 for t in diff)


def test_step_loss_mask_zero_turn_is_not_supervised_and_last_turn_only():
    loaded = assets.load_bundled("qwen3")
    seg = segment(loaded.tokenizer, loaded.chat_template, WEIGHTED)
    assert seg.mask().supervised_text() == ["<think>\n\n</think>\n\nSecond.<|im_end|>"]
    weighted = [dict(m) for m in WEIGHTED]
    weighted[1].pop("step_loss_mask")
    seg = segment(loaded.tokenizer, loaded.chat_template, weighted)
    assert len(seg.mask().supervised_text()) == 2
    assert seg.mask("last-turn-only").supervised_text() == ["<think>\n\n</think>\n\nSecond.<|im_end|>"]


def test_template_refusal_is_typed():
    loaded = assets.load_bundled("qwen3_5")
    with pytest.raises(TemplateRefusal, match="No user query found in messages"):
        segment(loaded.tokenizer, loaded.chat_template, [{"role": "system", "content": "x"},
                                                          {"role": "assistant", "content": "y"}])
