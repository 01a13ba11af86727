"""``compare(record, answer, profile) -> Outcome``: the only function that decides a verdict.

The counting rules it implements (README "Counting rules", FIXTURES.md):

* a decline (``NotImplementedError``, protocol ``unsupported``) is ``unsupported``, whatever the golden says:
  the generator did not run, so it is neither a pass nor a failure, and "applicable" never includes it;
* where the template refuses the conversation, raising is ``refused_agree`` (agreeing with the template), and
  returning tokens is a ``token_divergence`` (a mask for a conversation the model can never be shown);
* ``pass`` is tokens equal to the render and a mask equal to the profile's, nothing else;
* with an environment check (``env``), a divergence or a raise that the installed transformers explains exactly
  is ``environment`` (:func:`attribute_environment`); its notes ride on every outcome of that family.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Protocol

from ..errors import CaseError
from ..record import GoldenRecord
from . import explain
from .outcome import Answer, Answered, Outcome, Verdict

Decode = Callable[[list[int]], str]


class EnvironmentCheck(Protocol):
    """What :mod:`lossmask.environment` found about the installed transformers (``Environment``)."""

    def notes(self, family: str) -> list[str]: ...
    def explains(self, family: str, variant: str, case: str, ids: list[int]) -> bool: ...
    def refuses(self, family: str, variant: str, case: str) -> bool: ...

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
            env: EnvironmentCheck | None = None) -> Outcome:
    """Judge ``answer`` against ``record`` under ``profile`` (and, given ``env``, attribute what it explains).

    ``decode`` turns token ids into text (the tokenizer's ``decode``); it is only called to explain a token
    divergence, so callers may pass a function that loads the tokenizer lazily.
    """
    notes = tuple(env.notes(record.family)) if env is not None else ()
    outcome = _judge(record, answer, profile, decode, notes)
    return attribute_environment(outcome, record, answer, env) if notes else outcome


def attribute_environment(outcome: Outcome, record: GoldenRecord, answer: Answer,
                          env: EnvironmentCheck | None) -> Outcome:
    """``environment`` instead of a failing verdict when the environment check explains the difference exactly.

    Exactly: the generator's ids are what this transformers makes of the record (``AutoTokenizer``'s ids for the
    golden text, or the file's ids for this line's different render), or the template refuses here what the
    golden renders and the generator raised. Anything else stays the generator's verdict.
    """
    if env is None or not outcome.environment:
        return outcome
    f, v, c = record.key
    if outcome.verdict is Verdict.ERROR and answer.kind is Answered.RAISED:
        explained = env.refuses(f, v, c)
    elif outcome.verdict is Verdict.TOKEN_DIVERGENCE and answer.input_ids is not None and not record.refused:
        explained = env.explains(f, v, c, answer.input_ids)
    else:
        return outcome
    if not explained:
        return outcome
    was = outcome.message.split("\n")[0][:120]
    return replace(outcome, verdict=Verdict.ENVIRONMENT,
                   message=f"{outcome.environment[0]} (was {outcome.verdict.value}: {was}); run `lossmask doctor`")


def _judge(record: GoldenRecord, answer: Answer, profile: str, decode: Decode | None,
           env: tuple[str, ...]) -> Outcome:
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
