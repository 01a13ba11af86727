"""labels_batch against the golden masks: the expected labels are built here from each golden record's token ids
and stored mask (reviewed data), never from the reference's own output.

Every bundled family and template variant, every case, every profile; unshifted and pre-shifted (``shift=True``)
labels. A case the golden records as a template refusal must come back as that row's error, not as labels.
"""

from __future__ import annotations

import json
from itertools import groupby

import pytest

from lossmask import assets
from lossmask.cases import load_cases
from lossmask.golden import load_record
from lossmask.reference import PROFILES, labels, labels_batch

PAIRS = [(fam, variant) for fam, info in assets.families().items() for variant in info.variant_names]


def expected_labels(ids: list[int], mask: list[int]) -> list[int]:
    return [t if m else -100 for t, m in zip(ids, mask, strict=True)]


def expected_shifted(ids: list[int], mask: list[int]) -> list[int]:
    """Position t is trained to predict token t+1 when that token is supervised; the last position on nothing."""
    return [ids[t + 1] if mask[t + 1] else -100 for t in range(len(ids) - 1)] + ([-100] if ids else [])


@pytest.mark.parametrize(("family", "variant"), PAIRS, ids=[f"{f}/{v}" for f, v in PAIRS])
def test_labels_batch_equals_golden_masks(family, variant):
    loaded = assets.load_bundled(family, variant)
    cases = sorted((c for c in load_cases() if c.applies_to(family)), key=lambda c: json.dumps(c.template_kwargs))
    checked = refused = 0
    for kwargs_text, group in groupby(cases, key=lambda c: json.dumps(c.template_kwargs)):
        group = list(group)
        records = [load_record(family, variant, c.id) for c in group]
        conversations, tools = [c.messages for c in group], [c.tools for c in group]
        for profile in PROFILES:
            for shift in (False, True):
                cols = labels_batch(loaded.tokenizer, conversations, tools, json.loads(kwargs_text),
                                    chat_template=loaded.chat_template, profile=profile, on_error="record",
                                    shift=shift)
                for row, (case, rec) in enumerate(zip(group, records)):
                    where = f"{family}/{variant}/{case.id} profile={profile} shift={shift}"
                    if rec.refused:
                        assert cols["lossmask_error"][row] and cols["labels"][row] == [], where
                        refused += 1
                        continue
                    assert cols["lossmask_error"][row] is None, where
                    assert cols["input_ids"][row] == rec.input_ids, where
                    build = expected_shifted if shift else expected_labels
                    assert cols["labels"][row] == build(rec.input_ids, rec.masks[profile]), where
                    checked += 1
    assert checked > 0


def test_shifted_labels_of_one_conversation():
    """A hand-checked case: the supervised answer's tokens move one position left, and the last position
    (the end-of-turn token's own label) becomes -100."""
    loaded = assets.load_bundled("qwen2_5")
    case = next(c for c in load_cases() if c.applies_to("qwen2_5") and not c.template_kwargs and not c.tools)
    rec = load_record("qwen2_5", assets.DEFAULT_VARIANT, case.id)
    plain = labels(loaded.tokenizer, case.messages)
    shifted = labels(loaded.tokenizer, case.messages, shift=True)
    assert len(shifted["labels"]) == len(plain["labels"]) == len(rec.input_ids)
    assert shifted["labels"][:-1] == plain["labels"][1:] and shifted["labels"][-1] == -100
    mask = rec.masks["canonical"]
    first = mask.index(1)
    assert shifted["labels"][first - 1] == rec.input_ids[first] and plain["labels"][first - 1] == -100
