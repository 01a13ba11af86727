"""A correct generator (the reference) that takes seconds to import, as a framework that loads a model or
compiles kernels at import does: tests/test_report_verdicts.py checks that no case's time (JSON ``seconds``,
JUnit ``time``) includes that start-up."""

from __future__ import annotations

import time

from lossmask.reference import compute

#: Seconds spent at import; larger than any one case of the reference takes, so a start-up counted in a case shows.
STARTUP_SECONDS = 3.0
time.sleep(STARTUP_SECONDS)


def generate(tokenizer, messages, tools=None, **kw):
    r = compute(tokenizer, tokenizer.chat_template, messages, tools, kw, "canonical")
    return list(r.input_ids), list(r.loss_mask)
