"""From fixture cases to padded training batches whose labels come from the generator's mask.

Why plain lists and no torch here: this is where a generator's output meets the corpus, and every problem
(refusal, declined case, invalid output) must become a note naming the case and family, not a crash; keeping it
torch-free lets it be tested and reused without the training stack.

The labels follow the Hugging Face convention every SFT trainer feeds to ``*ForCausalLM``: ``labels[i] =
input_ids[i]`` where the (unshifted) mask is 1, ``-100`` elsewhere and at padding; the model shifts them itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lossmask.reference.errors import LossmaskError

from .. import golden as G
from ..compare import Answered, Verdict, call, compare
from ..generators import Generator

IGNORE_INDEX = -100


@dataclass
class Example:
    """One conversation as the generator encoded it, with what the reference says it should supervise."""

    case_id: str
    input_ids: list[int]
    #: The generator's mask, normalised: 1 = token i is supervised (not shifted).
    mask: list[int]
    #: The reference mask under the profile the generator claims, when both token streams are identical.
    expected: list[int] | None
    #: The reference's supervised text runs, decoded (only when the token streams differ).
    expected_text: list[str] | None

    @property
    def diverged(self) -> bool:
        return self.expected is None


@dataclass
class Collected:
    examples: list[Example] = field(default_factory=list)
    #: Cases left out for a legitimate reason (template refusal, declined by the generator).
    skipped: list[str] = field(default_factory=list)
    #: Generator failures: exceptions and invalid outputs (these fail the smoke run).
    errors: list[str] = field(default_factory=list)


def collect(generator: Generator, loaded: Any, cases: list[Any], profile: str) -> Collected:
    """Run ``generator`` on every case that applies to ``loaded``'s family and judge it against the golden.

    The comparison core decides what each answer is (:func:`lossmask.compare.compare`); this only sorts the
    outcomes into trainable examples, cases left out for a stated reason, and generator failures.
    """
    out = Collected()
    where = f"{loaded.family}/{loaded.variant}"
    decode = lambda ids: loaded.tokenizer.decode(ids, skip_special_tokens=False)  # noqa: E731
    for case in cases:
        if not case.applies_to(loaded.family):
            continue
        answer = call(generator, loaded.tokenizer, case.messages, case.tools, case.template_kwargs)
        try:
            record = G.load_record(loaded.family, loaded.variant, case.id)
        except LossmaskError as exc:
            out.errors.append(f"{case.id} ({where}): no golden to judge against: {exc}")
            continue
        outcome = compare(record, answer, profile, decode)
        v = outcome.verdict
        if v is Verdict.UNSUPPORTED:
            out.skipped.append(f"{case.id} ({where}): unsupported by the generator: {answer.message}")
            continue
        if v is Verdict.REFUSED_AGREE:
            out.skipped.append(f"{case.id} ({where}): template refused, and so did the generator: {record.refusal}")
            continue
        if v not in _TRAINABLE or record.refused:
            out.errors.append(f"{case.id} ({where}): {_FAILURE_PHRASE.get(answer.kind, v.value + ':')} "
                              f"{outcome.message}")
            continue
        ids, mask = answer.input_ids or [], answer.mask or []
        bad = next((i for i, t in enumerate(ids) if t < 0), None)
        if bad is not None:
            out.errors.append(f"{case.id} ({where}): invalid generator output: input_ids[{bad}] is {ids[bad]}")
            continue
        if len(ids) < 2:
            out.skipped.append(f"{case.id} ({where}): {len(ids)} token(s), nothing to predict")
            continue
        same = v is not Verdict.TOKEN_DIVERGENCE
        expected_text = list(outcome.expected_supervised) if not same else None
        out.examples.append(Example(case.id, list(ids), list(mask), list(record.mask(profile)) if same else None,
                                    expected_text))
    return out


_FAILURE_PHRASE = {Answered.RAISED: "generator raised", Answered.INVALID: "invalid generator output:",
                   Answered.WRONG_LENGTH: "invalid generator output:"}
#: Outcomes whose tokens can still be trained on (a mismatch or divergence is what the smoke run then shows).
_TRAINABLE = frozenset({Verdict.PASS, Verdict.MASK_MISMATCH, Verdict.TOKEN_DIVERGENCE})


@dataclass
class PaddedBatch:
    """Right-padded rows of a few examples (lists of ints, converted to tensors by the caller)."""

    examples: list[Example]
    input_ids: list[list[int]]
    attention_mask: list[list[int]]
    labels: list[list[int]]
    #: The generator's mask, padded with 0 (what the manual cross-entropy and the counts are computed from).
    mask: list[list[int]]

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.input_ids), len(self.input_ids[0])

    @property
    def real_tokens(self) -> int:
        return sum(map(sum, self.attention_mask))


def pad(examples: list[Example], pad_id: int) -> PaddedBatch:
    width = max(len(e.input_ids) for e in examples)
    ids, att, labels, masks = [], [], [], []
    for e in examples:
        n, extra = len(e.input_ids), width - len(e.input_ids)
        ids.append(e.input_ids + [pad_id] * extra)
        att.append([1] * n + [0] * extra)
        labels.append([t if m else IGNORE_INDEX for t, m in zip(e.input_ids, e.mask)] + [IGNORE_INDEX] * extra)
        masks.append(e.mask + [0] * extra)
    return PaddedBatch(examples, ids, att, labels, masks)


def make_batches(examples: list[Example], pad_id: int, max_batch_tokens: int) -> list[PaddedBatch]:
    """Group examples by length into batches of at most ``max_batch_tokens`` padded tokens (shortest first).

    Every batch with more than one example has padding, so the padding checks are exercised; a single example
    longer than the budget gets a batch of its own.
    """
    ordered = sorted(examples, key=lambda e: (len(e.input_ids), e.case_id))
    batches: list[list[Example]] = []
    for e in ordered:
        if batches and len(e.input_ids) * (len(batches[-1]) + 1) <= max_batch_tokens:
            batches[-1].append(e)
        else:
            batches.append([e])
    return [pad(b, pad_id) for b in batches]
