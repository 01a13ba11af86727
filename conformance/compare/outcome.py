"""The vocabulary of a comparison: what a generator answered (:class:`Answer`) and what that means against one
golden record (:class:`Outcome`, with its :class:`Verdict`).

Why typed and in one module: a verdict used to be a string computed in four places (the worker, the runner, the
audit, the smoke run), each with its own exception mapping, and reports parsed the human sentences back. Now
:func:`lossmask.compare.compare` is the one function that turns an answer into an outcome, and every consumer
(terminal, JSON, JUnit, HTML, pytest, PEERS.md) reads these fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NamedTuple


class Verdict(StrEnum):
    """What one generator answer means against one golden record.

    ``pass`` is only ever a generator's tokens and mask equal to a rendered golden. A decline is ``unsupported``
    whatever the golden says. Raising where the template itself refuses the conversation is ``refused_agree``:
    not a failure, and not a pass either (there was no mask to get right).
    """

    PASS = "pass"
    REFUSED_AGREE = "refused_agree"
    MASK_MISMATCH = "mask_mismatch"
    TOKEN_DIVERGENCE = "token_divergence"
    LENGTH_MISMATCH = "length_mismatch"
    INVALID_OUTPUT = "invalid_output"
    ERROR = "error"
    TIMEOUT = "timeout"
    UNSUPPORTED = "unsupported"
    #: The generator's answer differs from the golden exactly as this environment (the installed transformers)
    #: makes the record differ (see :func:`lossmask.compare.core.attribute_environment`): not a pass, and not
    #: the generator's fault. It fails a run, so an environment that changes records is never green.
    ENVIRONMENT = "environment"
    #: The harness could not judge the answer (no golden for the case, a corrupt golden): not the generator's
    #: fault, never counted for or against it, always reported.
    NOT_JUDGED = "not_judged"

    @property
    def failed(self) -> bool:
        return self in FAILING

    @property
    def ran(self) -> bool:
        """The generator ran on the case (it did not decline) and the harness judged the answer."""
        return self not in (Verdict.UNSUPPORTED, Verdict.NOT_JUDGED)


VERDICTS = tuple(v.value for v in Verdict)
#: Verdicts that fail a run (exit code 1, a failed test, a failure in JUnit).
FAILING = frozenset({Verdict.MASK_MISMATCH, Verdict.TOKEN_DIVERGENCE, Verdict.LENGTH_MISMATCH,
                     Verdict.INVALID_OUTPUT, Verdict.ERROR, Verdict.TIMEOUT, Verdict.ENVIRONMENT, Verdict.NOT_JUDGED})
#: Failing verdicts that are not the generator's doing (counted apart from its failures).
NOT_THE_GENERATORS = frozenset({Verdict.ENVIRONMENT, Verdict.NOT_JUDGED})


class Answered(StrEnum):
    """What the generator did with one case."""

    RETURNED = "returned"  # tokens and a mask (normalised to 0/1 per token)
    DECLINED = "declined"  # NotImplementedError / protocol "unsupported"
    RAISED = "raised"  # any other exception (or protocol "error")
    INVALID = "invalid"  # returned something that is not an (input_ids, mask) pair of ints
    WRONG_LENGTH = "wrong_length"  # mask and ids of different lengths
    TIMED_OUT = "timed_out"  # no answer before the deadline; the process was stopped
    CRASHED = "crashed"  # the process died (signal, exit) or broke the protocol mid-answer


@dataclass(frozen=True)
class Answer:
    kind: Answered
    #: The generator's own words: the decline reason, the exception, what was invalid.
    message: str = ""
    input_ids: list[int] | None = None
    mask: list[int] | None = None

    @classmethod
    def returned(cls, input_ids: list[int], mask: list[int]) -> Answer:
        return cls(Answered.RETURNED, "", list(input_ids), list(mask))


class TokenRow(NamedTuple):
    """One token shown in context: where it is, what it is, and who supervises it."""

    index: int
    id: int
    piece: str
    segment: str
    expected: int
    actual: int


class TextOp(NamedTuple):
    """One difference between the supervised text of the render and of the generator (difflib opcodes)."""

    op: str  # replace | delete | insert
    expected: str
    actual: str


@dataclass(frozen=True)
class Outcome:
    """One generator answer judged against one golden record. Fields not relevant to a verdict stay empty."""

    verdict: Verdict
    #: One line naming what happened, for people; programs read the fields below.
    message: str
    answer: Answered | None = None
    #: The generator's own words (decline reason, exception, what was invalid); empty when it returned tokens.
    generator_message: str = ""
    #: ``rendered`` or ``refused`` (what the template did); ``None`` when there was no golden to read.
    golden: str | None = None
    #: First token index where the generator's tokens (divergence) or mask (mismatch) differ from the golden.
    first_difference: int | None = None
    expected_length: int | None = None
    actual_length: int | None = None
    #: Segment label -> tokens the generator supervises that the profile does not (mask mismatch).
    over_supervised: dict[str, int] = field(default_factory=dict)
    #: Segment label -> tokens the profile supervises that the generator does not (mask mismatch).
    under_supervised: dict[str, int] = field(default_factory=dict)
    #: Shipped profiles whose mask equals the generator's (other than the one compared under).
    matching_profiles: tuple[str, ...] = ()
    #: Knobs in which the first matching profile differs from the compared one: name -> [compared, matching].
    differing_knobs: dict[str, list[Any]] = field(default_factory=dict)
    differing_tokens: tuple[int, ...] = ()
    context: tuple[TokenRow, ...] = ()
    #: Token divergence: decoded tokens of both streams from ``context_start`` to a few past the difference.
    context_start: int | None = None
    expected_tokens: tuple[str, ...] = ()
    actual_tokens: tuple[str, ...] = ()
    #: Who supervises each of those tokens (the profile's mask, the generator's), so a page can colour them.
    expected_token_mask: tuple[int, ...] = ()
    actual_token_mask: tuple[int, ...] = ()
    supervised_text_diff: tuple[TextOp, ...] = ()
    expected_supervised: tuple[str, ...] = ()
    actual_supervised: tuple[str, ...] = ()
    #: The generator's mask (mask mismatch), for pages that colour the render.
    actual_mask: tuple[int, ...] | None = None
    #: What the environment check found about this record's family under the installed transformers (empty:
    #: fine). Kept on every verdict, pass included: users of this transformers are affected whatever the
    #: generator does. Only :func:`~lossmask.compare.core.attribute_environment` turns it into a verdict.
    environment: tuple[str, ...] = ()

    @property
    def failed(self) -> bool:
        return self.verdict.failed

    def details(self) -> dict[str, Any]:
        """The fields as JSON (``$.results[*].details`` in report.schema.json; ``environment`` is written beside
        it, as ``$.results[*].environment``)."""
        return {
            "answer": self.answer.value if self.answer else None, "generator_message": self.generator_message,
            "golden": self.golden,
            "first_difference": self.first_difference, "expected_length": self.expected_length,
            "actual_length": self.actual_length, "over_supervised": dict(self.over_supervised),
            "under_supervised": dict(self.under_supervised), "matching_profiles": list(self.matching_profiles),
            "differing_knobs": {k: list(v) for k, v in self.differing_knobs.items()},
            "differing_tokens": list(self.differing_tokens), "context": [r._asdict() for r in self.context],
            "context_start": self.context_start, "expected_tokens": list(self.expected_tokens),
            "actual_tokens": list(self.actual_tokens), "expected_token_mask": list(self.expected_token_mask),
            "actual_token_mask": list(self.actual_token_mask),
            "supervised_text_diff": [op._asdict() for op in self.supervised_text_diff],
            "expected_supervised": list(self.expected_supervised), "actual_supervised": list(self.actual_supervised),
            "actual_mask": list(self.actual_mask) if self.actual_mask is not None else None,
        }

    @classmethod
    def from_json(cls, verdict: str, message: str, details: dict[str, Any], environment: list[str] | None = None) -> Outcome:
        """The outcome a report wrote (format 2; ``environment`` is the result's own key); how PEERS.md reads
        results back."""
        d = details
        return cls(
            verdict=Verdict(verdict), message=message, answer=Answered(d["answer"]) if d.get("answer") else None,
            generator_message=d.get("generator_message") or "", golden=d.get("golden"), first_difference=d.get("first_difference"),
            expected_length=d.get("expected_length"), actual_length=d.get("actual_length"),
            over_supervised=dict(d.get("over_supervised") or {}), under_supervised=dict(d.get("under_supervised") or {}),
            matching_profiles=tuple(d.get("matching_profiles") or ()),
            differing_knobs={k: list(v) for k, v in (d.get("differing_knobs") or {}).items()},
            differing_tokens=tuple(d.get("differing_tokens") or ()),
            context=tuple(TokenRow(**r) for r in d.get("context") or ()), context_start=d.get("context_start"),
            expected_tokens=tuple(d.get("expected_tokens") or ()), actual_tokens=tuple(d.get("actual_tokens") or ()),
            expected_token_mask=tuple(d.get("expected_token_mask") or ()),
            actual_token_mask=tuple(d.get("actual_token_mask") or ()),
            supervised_text_diff=tuple(TextOp(**op) for op in d.get("supervised_text_diff") or ()),
            expected_supervised=tuple(d.get("expected_supervised") or ()),
            actual_supervised=tuple(d.get("actual_supervised") or ()),
            actual_mask=tuple(d["actual_mask"]) if d.get("actual_mask") is not None else None,
            environment=tuple(environment or ()),
        )
