"""A generator that renders the template itself, through ``tokenizer.apply_chat_template``, as most trainers do
(and takes its mask from the reference). Its ids equal the goldens' on date-printing templates only if the
process it runs in prints the goldens' pinned date (tests/test_side_effects.py)."""

from __future__ import annotations

from lossmask.reference import compute


def generate(tokenizer, messages, tools=None, **template_kwargs):
    ids = tokenizer.apply_chat_template(messages, tools=tools, tokenize=True, **template_kwargs)
    if not isinstance(ids, list):  # transformers 5.x returns a BatchEncoding
        ids = ids["input_ids"]
    mask = compute(tokenizer, tokenizer.chat_template, messages, tools, template_kwargs).loss_mask
    return list(ids), list(mask)
