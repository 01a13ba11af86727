"""A generator whose only difference from the reference is dropping the last token: what a transformers line
that tokenizes differently could make of a record. tests/test_environment.py tells the runner that this very
difference is the environment's, and checks that the verdict says so only then."""

from __future__ import annotations

from lossmask.reference import compute


def drops_last_token(tokenizer, messages, tools=None, **kw):
    r = compute(tokenizer, tokenizer.chat_template, messages, tools, kw, "canonical")
    return list(r.input_ids)[:-1], list(r.loss_mask)[:-1]


def autotokenizer_ids(tokenizer, messages, tools=None, **kw):
    """What a framework that loads the tokenizer with ``AutoTokenizer`` gets: the reference's render encoded by
    ``AutoTokenizer.from_pretrained`` on the directory it was handed (the mask is the reference's where the ids
    agree, all zeros where they do not: only the ids matter to the environment attribution)."""
    from transformers import AutoTokenizer

    r = compute(tokenizer, tokenizer.chat_template, messages, tools, kw, "canonical")
    user = AutoTokenizer.from_pretrained(tokenizer.name_or_path, local_files_only=True)
    ids = list(user(r.text, add_special_tokens=False)["input_ids"])
    return (ids, list(r.loss_mask)) if ids == list(r.input_ids) else (ids, [0] * len(ids))
