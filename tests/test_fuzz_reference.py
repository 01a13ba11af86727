"""Property-based fuzzing of the reference mask on every bundled template (all variants).

Properties, for every generated conversation the template accepts:

1. the reference's ids equal ``apply_chat_template(tokenize=True)``, and the reference refuses (typed
   :class:`TemplateRefusal`) exactly when the template raises;
2. no supervised token covers a character of system, user or tool text, judged twice: by the reference's own
   labels and, independently, by witnesses (``tests/strategies.py``) found in the render by string search;
3. every weighted assistant turn with generated text in the render has a supervised token, and every character
   of an assistant witness that survives the template is supervised (not at all under weight 0);
4. each profile differs from ``canonical`` only on tokens its differing knobs govern.

Default CI: ``LOSSMASK_FUZZ_EXAMPLES`` (default 10,000) rendered-and-checked examples in total, split evenly
over the templates, seeded per template so CI is reproducible. ``nox -s fuzz`` runs 100,000 with random seeds
(``LOSSMASK_FUZZ_PROFILE=lossmask-fuzz``). A falsifying example is saved as
``fixtures/cases/adversarial/fuzz_<hash>.json`` (``LOSSMASK_FUZZ_SAVE=0`` turns that off; see
``tests/fuzz_report.py``) and replayed from then on by ``tests/test_fuzz_regressions.py``.
"""

from __future__ import annotations

import hashlib
import math
import os

import pytest
from hypothesis import HealthCheck, given, reject, seed, settings

from lossmask import assets
from lossmask.reference import PROFILES, TemplateRefusal, segment
from lossmask.reference import segments as S
from lossmask.reference.conversation import message_weight
from tests import fuzz_report
from tests.strategies import conversations

TEMPLATES = [(f, v) for f, fam in assets.families().items() for v in fam.variant_names]
TOTAL = int(os.environ.get("LOSSMASK_FUZZ_EXAMPLES") or 10_000)
PER_TEMPLATE = max(1, math.ceil(TOTAL / len(TEMPLATES)))
#: ``lossmask-ci`` (fixed seeds, no database) or ``lossmask-fuzz`` (random seeds, example database; ``nox -s fuzz``).
PROFILE = os.environ.get("LOSSMASK_FUZZ_PROFILE") or "lossmask-ci"

_COMMON = dict(deadline=None, print_blob=True,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])
# CI: a fixed seed per template (see the test), no example database: every run checks the same examples.
settings.register_profile("lossmask-ci", database=None, **_COMMON)
settings.register_profile("lossmask-fuzz", derandomize=False, **_COMMON)

PROMPT_PARTS = frozenset({S.SYSTEM, S.USER, S.TOOL})
KNOB_PART = {"supervise_header": S.HEADER, "supervise_gen_prompt_suffix": S.GEN_PROMPT_SUFFIX,
             "supervise_reasoning": S.REASONING, "supervise_content": S.CONTENT,
             "supervise_tool_calls": S.TOOL_CALL, "supervise_glue": S.GLUE, "supervise_end_of_turn": S.END_OF_TURN,
             "supervise_separator": S.SEPARATOR}


def template_ids(loaded, conv) -> list[int]:
    out = loaded.tokenizer.apply_chat_template(conv.messages, tools=conv.tools, tokenize=True,
                                               chat_template=loaded.chat_template, **conv.template_kwargs)
    if hasattr(out, "keys") and "input_ids" in out:  # transformers 5.x BatchEncoding; 4.x returns a list
        out = out["input_ids"]
    return list(out)


def char_mask(seg, loss_mask) -> bytearray:
    out = bytearray(len(seg.text))
    for on, (s, e) in zip(loss_mask, seg.offsets):
        if on:
            out[s:e] = b"\x01" * (e - s)
    return out


def occurrences(text: str, needle: str) -> list[int]:
    found, at = [], text.find(needle)
    while at >= 0:
        found.append(at)
        at = text.find(needle, at + 1)
    return found


def check_witnesses(seg, conv, supervised: bytearray) -> None:
    for w, (i, role) in conv.witnesses.items():
        for at in occurrences(seg.text, w):
            covered = supervised[at:at + len(w)]
            if role != "assistant":
                assert not any(covered), f"{role} text of message {i} is supervised: {w!r} at {at}"
            elif message_weight(conv.messages[i]) == 0:
                assert not any(covered), f"weight-0 assistant message {i} is supervised: {w!r} at {at}"
            else:
                assert all(covered), f"assistant text of message {i} is not supervised: {w!r} at {at}"


def check_labels(seg, result, parts: list[list[str]]) -> None:
    for t, on in enumerate(result.loss_mask):
        if on:
            assert not PROMPT_PARTS & set(parts[t]), f"token {t} {parts[t]} supervised under {result.policy.name}"
    last = max((turn.message for turn in seg.turns), default=None)
    for turn in seg.turns:
        if result.policy.turns == "last" and turn.message != last:
            continue
        generated = [x for x in seg.segments if x.message == turn.message and x.source == "field"
                     and x.part in S.BODY_PARTS and x.end > x.start]
        if turn.weight and generated:
            lo, hi = min(x.start for x in generated), max(x.end for x in generated)
            assert any(on for on, (a, b) in zip(result.loss_mask, seg.offsets) if a < hi and b > lo), \
                f"assistant message {turn.message} has generated text but no supervised token"


def diff_is_explained(t, seg, parts, base, other, knobs) -> bool:
    for knob, (mine, theirs) in knobs.items():
        if knob in KNOB_PART and KNOB_PART[knob] in parts[t]:
            on_side = other if theirs else base
            if on_side.loss_mask[t] == 1:
                return True
        elif knob == "straddle" and (t in base.straddles or t in other.straddles):
            return True
        elif knob == "turns":
            last = max(turn.message for turn in seg.turns)
            s, e = seg.offsets[t]
            if any(turn.message != last and turn.span[0] < e and s < turn.span[1] for turn in seg.turns):
                return True
        elif knob == "respect_weights" and any(turn.weight == 0 for turn in seg.turns):
            return True
    return False


#: Each profile's knobs that differ from canonical's (computed once: ``asdict`` is not free).
DIFFERING_KNOBS = {name: PROFILES["canonical"].differing_knobs(policy) for name, policy in PROFILES.items()}


def check_profiles(seg, parts) -> None:
    base = seg.mask("canonical")
    for name, policy in PROFILES.items():
        other = seg.mask(policy)
        check_labels(seg, other, parts)
        knobs = DIFFERING_KNOBS[name]
        for t, (a, b) in enumerate(zip(base.loss_mask, other.loss_mask)):
            if a != b:
                assert diff_is_explained(t, seg, parts, base, other, knobs), \
                    f"profile {name} differs from canonical at token {t} ({parts[t]}) outside its knobs {sorted(knobs)}"


def check_example(loaded, conv) -> str:
    """Run every property; return "checked", or reject the example when the template refuses it."""
    try:
        expected, refused = template_ids(loaded, conv), None
    except Exception as exc:  # whatever the template raises, the reference must turn into TemplateRefusal
        expected, refused = None, exc
    try:
        seg = segment(loaded.tokenizer, loaded.chat_template, conv.messages, conv.tools, conv.template_kwargs)
    except TemplateRefusal as exc:
        assert refused is not None, f"reference refused a conversation the template renders: {exc}"
        return "refused"
    assert refused is None, f"template raised {type(refused).__name__}: {refused} but the reference rendered"
    assert seg.input_ids == expected, "reference ids differ from apply_chat_template(tokenize=True)"
    canonical = seg.mask("canonical")
    parts = [p.split("+") for p in seg.token_parts()]
    check_labels(seg, canonical, parts)
    check_witnesses(seg, conv, char_mask(seg, canonical.loss_mask))
    check_profiles(seg, parts)
    return "checked"


@pytest.mark.parametrize("family,variant", TEMPLATES, ids=[f"{f}/{v}" for f, v in TEMPLATES])
def test_reference_properties_hold_on_generated_conversations(family, variant):
    loaded = assets.load_bundled(family, variant)
    label = f"{family}/{variant}"
    last: list = []

    @settings(settings.get_profile(PROFILE), max_examples=PER_TEMPLATE)
    @given(conv=conversations())
    def properties(conv):
        last[:] = [conv]
        outcome = check_example(loaded, conv)
        fuzz_report.record(label, outcome)
        if outcome == "refused":
            reject()

    if PROFILE == "lossmask-ci":  # reproducible, but different conversations for each template
        properties = seed(int.from_bytes(hashlib.sha256(label.encode()).digest()[:8], "big"))(properties)
    try:
        properties()
    except Exception as exc:
        if last and os.environ.get("LOSSMASK_FUZZ_SAVE", "1") != "0":
            conv = last[0]
            path = fuzz_report.save_failure(conv.messages, conv.tools, conv.template_kwargs, family, variant, exc)
            exc.add_note(f"falsifying example saved as {path}")
        raise
