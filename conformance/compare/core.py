"""``compare(record, answer, profile) -> Outcome``: the only function that decides a verdict.

The counting rules it implements (README "Counting rules", FIXTURES.md):

* a decline (``NotImplementedError``, protocol ``unsupported``) is ``unsupported``, whatever the golden says:
  the generator did not run, so it is neither a pass nor a failure, and "applicable" never includes it;
* where the template refuses the conversation, raising is ``refused_agree`` (agreeing with the template), and
  returning tokens is a ``token_divergence`` (a mask for a conversation the model can never be shown);
* ``pass`` is tokens equal to the render and a mask equal to the profile's, nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ..errors import CaseError
from ..record import GoldenRecord
from . import explain
from .outcome import Answer, Answered, Outcome, Verdict

Decode = Callable[[list[int]], str]

#: Answers that are verdicts by themselves, whatever the golden.
_DIRECT = {
    Answered.DECLINED: (Verdict.UNSUPPORTED, "declined: {}"),
    Answered.TIMED_OUT: (Verdict.TIMEOUT, "{}"),
    Answered.CRASHED: (Verdict.ERROR, "{}"),
    Answered.INVALID: (Verdict.INVALID_OUTPUT, "{}"),
    Answered.WRONG_LENGTH: (Verdict.LENGTH_MISMATCH, "{}"),
}


def not_judged(message: str, answer: Answer | None = None, environment: Sequence[str] = ()) -> Outcome:
    """The harness could not judge (no golden, a corrupt golden): reported, never counted for the generator."""
    return Outcome(Verdict.NOT_JUDGED, message, answer.kind if answer else None,
                   generator_message=answer.message if answer else "", environment=tuple(environment))


def compare(record: GoldenRecord, answer: Answer, profile: str, decode: Decode | None = None,
            environment: Sequence[str] = ()) -> Outcome:
    """Judge ``answer`` against ``record`` under ``profile``.

    ``decode`` turns token ids into text (the tokenizer's ``decode``); it is only called to explain a token
    divergence, so callers may pass a function that loads the tokenizer lazily.
    """
    env = tuple(environment)
    golden = record.outcome
    base = dict(answer=answer.kind, generator_message=answer.message, golden=golden, environment=env)
    if answer.kind in _DIRECT:
        verdict, template = _DIRECT[answer.kind]
        return Outcome(verdict, template.format(answer.message), **base)
    if answer.kind is Answered.RAISED:
        if record.refused:
            return Outcome(Verdict.REFUSED_AGREE, f"refused like the template ({record.refusal}); the generator "
                           f"raised {answer.message}", **base)
        return Outcome(Verdict.ERROR, answer.message, **base)
    ids, mask = answer.input_ids or [], answer.mask or []
    if record.refused:
        return Outcome(Verdict.TOKEN_DIVERGENCE, f"the template refuses this conversation ({record.refusal}) "
                       "but the generator returned tokens", actual_length=len(ids), **base)
    try:
        expected = record.mask(profile)
    except CaseError as exc:
        return not_judged(str(exc), answer, env)
    sizes = dict(expected_length=len(record.input_ids), actual_length=len(ids))
    if ids != record.input_ids:
        fields, message = explain.token_divergence(record, ids, mask, profile, decode or _ids_as_text)
        return Outcome(Verdict.TOKEN_DIVERGENCE, message, **base, **sizes, **fields)
    if mask != expected:
        fields, message = explain.mask_mismatch(record, mask, profile)
        return Outcome(Verdict.MASK_MISMATCH, message, **base, **sizes, **fields)
    return Outcome(Verdict.PASS, "", **base, **sizes)


def _ids_as_text(ids: list[int]) -> str:
    return " ".join(f"<{t}>" for t in ids)
