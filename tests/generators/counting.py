"""Generators for the counting rules (tests/test_counting.py): each is right or silent in one exact way, so the
expected counts follow from the goldens alone, never from the code under test."""

from __future__ import annotations

from lossmask.reference import TemplateRefusal, compute


def declines_everything(tokenizer, messages, tools=None, **kw):
    raise NotImplementedError("this generator supports nothing")


def declines_refusals(tokenizer, messages, tools=None, **kw):
    """Right wherever the template renders; declines (NotImplementedError) where the template refuses."""
    try:
        r = compute(tokenizer, tokenizer.chat_template, messages, tools, kw, "canonical")
    except TemplateRefusal as exc:
        raise NotImplementedError(f"declined: the template refuses ({exc})") from None
    return list(r.input_ids), list(r.loss_mask)


def raises_on_refusals(tokenizer, messages, tools=None, **kw):
    """Right wherever the template renders; lets the template's refusal propagate where it refuses."""
    r = compute(tokenizer, tokenizer.chat_template, messages, tools, kw, "canonical")
    return list(r.input_ids), list(r.loss_mask)


def trains_answer_not_glue(tokenizer, messages, tools=None, **kw):
    """The canonical mask less the template glue (think frames no field holds): right about the answer, wrong only
    about template text, so an explanation must name glue, never answer text."""
    from lossmask.reference import segment

    seg = segment(tokenizer, tokenizer.chat_template, messages, tools, kw)
    mask = seg.mask("canonical").loss_mask
    return list(seg.input_ids), [0 if "glue" in p.split("+") else m for p, m in zip(seg.token_parts(), mask)]
