"""Every bundled tokenizer, as we load it, encodes exactly as its own tokenizer.json does, on this transformers line.

A config can make ``AutoTokenizer`` rebuild a correct file's pre-tokenizer (OLMo 2's ``GPT2Tokenizer`` on 5.x), so
the golden ids are checked three ways on every golden render: against ``apply_chat_template(tokenize=True)``
(what a trainer gets), against ``tokenizers.Tokenizer.from_file`` on the bundled file (the file's own encoding,
no transformers in between) and against the loaded tokenizer's plain ``__call__``. A refused golden must still be
refused by ``apply_chat_template``. The conformance matrix runs this file on every transformers line.
"""

from __future__ import annotations

import functools

import pytest
from tokenizers import Tokenizer

from lossmask import assets
from lossmask import golden as G
from lossmask.cases import load_cases

CASES = {c.id: c for c in load_cases()}
KEYS = G.expected_keys(list(CASES.values()))
TEMPLATES = sorted({(f, v) for f, v, _ in KEYS})


@functools.cache
def file_tokenizer(family: str) -> Tokenizer:
    return Tokenizer.from_file(str(assets.materialize(family) / "tokenizer.json"))


def chat_template_ids(tokenizer, case) -> list[int]:
    out = tokenizer.apply_chat_template(case.messages, tools=case.tools, tokenize=True,
                                        **(case.template_kwargs or {}))
    if hasattr(out, "keys") and "input_ids" in out:  # transformers 5.x returns a BatchEncoding
        out = out["input_ids"]
    return list(out)


@pytest.mark.parametrize("family,variant", TEMPLATES, ids=[f"{f}/{v}" for f, v in TEMPLATES])
def test_golden_ids_equal_apply_chat_template_and_the_files_own_encoding(family, variant):
    loaded = assets.load_bundled(family, variant)
    raw = file_tokenizer(family)
    rendered = refused = 0
    for f, v, case_id in KEYS:
        if (f, v) != (family, variant):
            continue
        golden, case = G.load_golden(f, v, case_id), CASES[case_id]
        where = f"{f}/{v}/{case_id}"
        if golden["outcome"] == "refused":
            with pytest.raises(Exception):  # noqa: B017 - templates raise TemplateError, TypeError, ValueError...
                chat_template_ids(loaded.tokenizer, case)
            refused += 1
            continue
        ids = golden["input_ids"]
        assert chat_template_ids(loaded.tokenizer, case) == ids, f"{where}: apply_chat_template(tokenize=True)"
        assert raw.encode(golden["text"], add_special_tokens=False).ids == ids, f"{where}: tokenizer.json itself"
        assert loaded.tokenizer(golden["text"], add_special_tokens=False)["input_ids"] == ids, f"{where}: __call__"
        rendered += 1
    assert rendered > 0, f"{family}/{variant}: no rendered golden to compare"
    assert rendered + refused == len([k for k in KEYS if k[:2] == (family, variant)])


def test_the_loader_field_picks_the_transformers_class():
    """OLMo 2's config names GPT2Tokenizer; it is loaded with PreTrainedTokenizerFast, which keeps the file's
    pipeline on every line. Unknown loaders are refused with the manifest path."""
    assert assets.family("olmo2").loader == "PreTrainedTokenizerFast"
    assert assets.family("qwen3").loader == "AutoTokenizer"
    with pytest.raises(assets.AssetError, match=r"families\.x\.loader is 'Magic'; known loaders"):
        assets._loader_name("x", {"loader": "Magic"})
