"""The single render (marked render only, proved exact by reference/proof.py) against the double render.

On every bundled template (all variants) the single render must give exactly the double render's segmentation
(text, ids, offsets, segments, turns, warnings), ids equal to ``apply_chat_template(tokenize=True)``, and the same
refusal when there is one: on every fixture case, and on generated conversations (tests/strategies.py, fixed
seeds; ``LOSSMASK_SINGLE_RENDER_EXAMPLES`` in total, default 1,500). Generated conversations often carry template
literals the proofs guard against, so the strategy here also draws literal-free text, and each proved template
must take the single render at least once: the test cannot pass by always rendering twice.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import os
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from lossmask import assets
from lossmask.cases import load_cases
from lossmask.reference import LossmaskError, segment
from lossmask.reference.proof import prove
from tests.strategies import conversations

TEMPLATES = [(f, v) for f, fam in assets.families().items() for v in fam.variant_names]
TOTAL = int(os.environ.get("LOSSMASK_SINGLE_RENDER_EXAMPLES") or 1_500)
PER_TEMPLATE = max(1, math.ceil(TOTAL / len(TEMPLATES)))


def outcome(loaded, messages, tools, kwargs, single: bool):
    """``("ok", fields, renders)`` or ``("refused", error type and text, 0)``."""
    try:
        seg = segment(loaded.tokenizer, loaded.chat_template, messages, tools, kwargs, single_render=single)
    except LossmaskError as exc:
        return "refused", f"{type(exc).__name__}: {exc}", 0
    fields = dataclasses.asdict(seg)
    fields.pop("renders")
    return "ok", fields, seg.renders


def template_ids(loaded, messages, tools, kwargs) -> list[int]:
    out = loaded.tokenizer.apply_chat_template(messages, tools=tools, tokenize=True,
                                               chat_template=loaded.chat_template, **kwargs)
    return list(out["input_ids"] if hasattr(out, "keys") else out)


def check(loaded, messages, tools, kwargs) -> int:
    """Assert the two paths agree; return how many renders the default path used (0: refused)."""
    one = outcome(loaded, messages, tools, kwargs, True)
    two = outcome(loaded, messages, tools, kwargs, False)
    assert two[0] != "ok" or two[2] == 2
    assert one[:2] == two[:2], "single and double render differ"
    if one[0] == "ok":
        assert one[1]["input_ids"] == template_ids(loaded, messages, tools, kwargs)
    return one[2]


@pytest.mark.parametrize("family,variant", TEMPLATES, ids=[f"{f}/{v}" for f, v in TEMPLATES])
def test_single_and_double_render_agree_on_every_fixture_case(family, variant):
    loaded = assets.load_bundled(family, variant)
    renders = Counter()
    for case in load_cases():
        if case.families and family not in case.families:
            continue
        renders[check(loaded, case.messages, case.tools, case.template_kwargs)] += 1
    if prove(loaded.chat_template).holds:
        assert renders[1] > 0, f"{family}/{variant}: proved, yet no fixture case took the single render"
    else:
        assert renders[1] == 0


#: Text without template literals (the guards' business): the single render must be exercised.
PLAIN_TEXT = st.text(st.sampled_from("abcdefgh ijkl\nmnop qrst .,!?:;-é中😀"), min_size=0, max_size=24)


@st.composite
def plain_conversations(draw):
    n = draw(st.integers(1, 4))
    messages = []
    if draw(st.booleans()):
        messages.append({"role": "system", "content": draw(PLAIN_TEXT)})
    for t in range(n):
        messages.append({"role": "user", "content": draw(PLAIN_TEXT) or "q"})
        answer = {"role": "assistant", "content": draw(PLAIN_TEXT)}
        if draw(st.booleans()):
            answer["reasoning_content"] = draw(PLAIN_TEXT)
        messages.append(answer)
    return messages


@pytest.mark.parametrize("family,variant", TEMPLATES, ids=[f"{f}/{v}" for f, v in TEMPLATES])
def test_single_and_double_render_agree_on_generated_conversations(family, variant):
    loaded = assets.load_bundled(family, variant)
    label = f"{family}/{variant}"
    renders = Counter()

    @settings(max_examples=PER_TEMPLATE, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])
    @given(pick=st.one_of(conversations().map(lambda c: (c.messages, c.tools, c.template_kwargs)),
                          plain_conversations().map(lambda m: (m, None, {}))))
    def agree(pick):
        messages, tools, kwargs = pick
        renders[check(loaded, messages, tools, kwargs)] += 1

    seed(int.from_bytes(hashlib.sha256(label.encode()).digest()[:8], "big"))(agree)()
    if prove(loaded.chat_template).holds:
        assert renders[1] > 0, f"{label}: proved, yet no generated conversation took the single render"
