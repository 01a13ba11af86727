"""A generator whose only difference from the reference is dropping the last token: what a transformers line
that tokenizes differently could make of a record. tests/test_environment.py tells the runner that this very
difference is the environment's, and checks that the verdict says so only then."""

from __future__ import annotations

from lossmask.reference import compute


def drops_last_token(tokenizer, messages, tools=None, **kw):
    r = compute(tokenizer, tokenizer.chat_template, messages, tools, kw, "canonical")
    return list(r.input_ids)[:-1], list(r.loss_mask)[:-1]
