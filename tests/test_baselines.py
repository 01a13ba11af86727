"""The per-message baseline: right stream where the template does not rewrite history, wrong where it does."""

import pytest

from lossmask import assets
from lossmask.baselines.per_message import generate
from lossmask.reference import TemplateRefusal
from tests.conversations import EMPTY_REASONING, MULTI_TURN_REASONING, TOOL_FLOW, WEATHER_TOOL


def template_ids(loaded, messages, tools=None):
    out = loaded.tokenizer.apply_chat_template(messages, tools=tools, tokenize=True,
                                               chat_template=loaded.chat_template)
    if hasattr(out, "keys") and "input_ids" in out:  # transformers 5.x BatchEncoding
        out = out["input_ids"]
    return list(out)


def test_single_turn_ids_equal_the_template():
    loaded = assets.load_bundled("qwen3_5")
    ids, mask = generate(loaded.tokenizer, EMPTY_REASONING)
    assert ids == template_ids(loaded, EMPTY_REASONING)
    assert len(mask) == len(ids)
    # The user turn is not trained; the assistant answer is (legacy: through the end of the piece).
    user_len = len(template_ids(loaded, EMPTY_REASONING[:1]))
    assert not any(mask[:user_len]) and mask[-1] == 1
    assert "Hello!" in loaded.tokenizer.decode([t for t, m in zip(ids, mask) if m])


def test_multi_turn_reasoning_diverges_on_qwen3_5():
    loaded = assets.load_bundled("qwen3_5")
    ids, mask = generate(loaded.tokenizer, MULTI_TURN_REASONING)
    full = template_ids(loaded, MULTI_TURN_REASONING)
    assert ids != full
    # The first turn's reasoning, dropped by the full render, is kept in the per-message stream.
    assert "Add two and two." not in loaded.tokenizer.decode(full)
    assert "Add two and two." in loaded.tokenizer.decode(ids)
    assert len(mask) == len(ids)


def test_tool_flow_runs_on_every_family_whose_template_renders_it():
    """Gemma 2/3 ("roles must alternate") and Mistral Small 3.1 refuse the tool role: there the baseline passes
    the template's refusal on."""
    refused = set()
    for name in assets.families():
        loaded = assets.load_bundled(name)
        try:
            template_ids(loaded, TOOL_FLOW, [WEATHER_TOOL])
        except Exception:  # noqa: BLE001 - the template's own refusal, whatever its type
            with pytest.raises(TemplateRefusal):
                generate(loaded.tokenizer, TOOL_FLOW, tools=[WEATHER_TOOL])
            refused.add(name)
            continue
        ids, mask = generate(loaded.tokenizer, TOOL_FLOW, tools=[WEATHER_TOOL])
        assert len(ids) == len(mask) > 0 and any(mask), name
    assert refused == {"gemma3", "gemma2", "mistral_tekken"}
