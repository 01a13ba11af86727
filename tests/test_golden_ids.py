"""Every golden's ids are what ``apply_chat_template(tokenize=True)`` returns on this transformers line.

tests/test_lines.py checks the goldens against the tokenizer files' own encoding; this checks them against what a
trainer gets from transformers for the same conversation, template and kwargs: equal ids for every rendered
golden, and a raised error for every refused one. The conformance matrix runs this file on every cell.
"""

from __future__ import annotations

import pytest

from lossmask import assets
from lossmask import golden as G
from lossmask.cases import load_cases

CASES = {c.id: c for c in load_cases()}
KEYS = G.expected_keys(list(CASES.values()))
TEMPLATES = sorted({(f, v) for f, v, _ in KEYS})


def chat_template_ids(tokenizer, case) -> list[int]:
    out = tokenizer.apply_chat_template(case.messages, tools=case.tools, tokenize=True,
                                        **(case.template_kwargs or {}))
    if hasattr(out, "keys") and "input_ids" in out:  # transformers 5.x returns a BatchEncoding
        out = out["input_ids"]
    return list(out)


@pytest.mark.parametrize("family,variant", TEMPLATES, ids=[f"{f}/{v}" for f, v in TEMPLATES])
def test_golden_ids_equal_apply_chat_template(family, variant):
    loaded = assets.load_bundled(family, variant)
    rendered = refused = 0
    for f, v, case_id in KEYS:
        if (f, v) != (family, variant):
            continue
        golden, case = G.load_golden(f, v, case_id), CASES[case_id]
        if golden["outcome"] == "refused":
            with pytest.raises(Exception):  # noqa: B017 - templates raise TemplateError, TypeError, ValueError...
                chat_template_ids(loaded.tokenizer, case)
            refused += 1
            continue
        assert chat_template_ids(loaded.tokenizer, case) == golden["input_ids"], f"{f}/{v}/{case_id}"
        rendered += 1
    assert rendered > 0, f"{family}/{variant}: no rendered golden to compare"
    assert rendered + refused == len([k for k in KEYS if k[:2] == (family, variant)])
