"""Generators that misbehave on purpose, one way each, to prove every misbehaviour gets its verdict and the
harness survives (tests/test_runner.py). They wrap the reference so the only defect is the one named."""

from __future__ import annotations

import os
import time

from lossmask.reference import compute


def _good(tokenizer, messages, tools=None, **kw):
    r = compute(tokenizer, tokenizer.chat_template, messages, tools, kw, "canonical")
    return list(r.input_ids), list(r.loss_mask)


def raises(tokenizer, messages, tools=None, **kw):
    raise RuntimeError("boom: this generator always fails")


def hangs(tokenizer, messages, tools=None, **kw):
    time.sleep(3600)


def aborts(tokenizer, messages, tools=None, **kw):
    os.abort()


def wrong_length(tokenizer, messages, tools=None, **kw):
    ids, mask = _good(tokenizer, messages, tools, **kw)
    return ids, mask[:-1]


def non_binary(tokenizer, messages, tools=None, **kw):
    ids, mask = _good(tokenizer, messages, tools, **kw)
    return ids, [2 * m for m in mask]


def wrong_type(tokenizer, messages, tools=None, **kw):
    ids, mask = _good(tokenizer, messages, tools, **kw)
    return "".join(map(str, ids)), mask


def prints_to_stdout(tokenizer, messages, tools=None, **kw):
    print("debug output that must not corrupt the protocol")
    return _good(tokenizer, messages, tools, **kw)


def declines(tokenizer, messages, tools=None, **kw):
    raise NotImplementedError("tool calls are not supported")


def supervises_separator(tokenizer, messages, tools=None, **kw):
    """slime's merged qwen3_5 behaviour: canonical plus the '\\n' after end-of-turn."""
    r = compute(tokenizer, tokenizer.chat_template, messages, tools, kw, "slime-qwen3_5")
    return list(r.input_ids), list(r.loss_mask)


def as_labels(tokenizer, messages, tools=None, **kw):
    ids, mask = _good(tokenizer, messages, tools, **kw)
    return ids, [t if m else -100 for t, m in zip(ids, mask)]


as_labels.lossmask_encoding = "labels"


def as_shifted(tokenizer, messages, tools=None, **kw):
    ids, mask = _good(tokenizer, messages, tools, **kw)
    return ids, mask[1:]


as_shifted.lossmask_encoding = "shifted"


def shifted_but_undeclared(tokenizer, messages, tools=None, **kw):
    ids, mask = _good(tokenizer, messages, tools, **kw)
    return ids, [*mask[1:], 0]


def per_message(tokenizer, messages, tools=None, **kw):
    """The legacy strategy: each assistant turn rendered as the continuation of its own prefix, concatenated."""
    ids, mask, prev_text = [], [], ""
    template = tokenizer.chat_template
    for i, m in enumerate(messages):
        text = tokenizer.apply_chat_template(messages[: i + 1], tools=tools, tokenize=False, **kw)
        piece = text[len(prev_text):] if text.startswith(prev_text) else text
        toks = tokenizer(piece, add_special_tokens=False)["input_ids"]
        ids += toks
        mask += [1 if m["role"] == "assistant" else 0] * len(toks)
        prev_text = text
    del template
    return ids, mask


def ignores_template(tokenizer, messages, tools=None, **kw):
    """Tokenises the message texts without the template: returns tokens even where the template refuses."""
    ids = tokenizer("\n".join(str(m.get("content") or "") for m in messages), add_special_tokens=False)["input_ids"]
    return ids, [1] * len(ids)
