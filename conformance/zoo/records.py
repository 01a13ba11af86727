"""Typed records of a zoo run: one per template, one per (template, scenario), and the run's summary.

Plain dataclasses, written to JSON with :func:`dataclasses.asdict`; ZOO.md and the terminal table read these
fields, never the sentences inside them. ``reason_kind`` is the stable key a reason is ranked by; ``reason`` is
the one-line text for people.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from .invariants import Checks

Status = Literal["segmented", "refused", "declined", "error"]
STATUSES: tuple[Status, ...] = ("segmented", "refused", "declined", "error")


@dataclass
class GenerationComparison:
    """The reference's canonical mask against transformers' ``return_assistant_tokens_mask`` on one render."""

    agree: bool
    tokens: int
    #: Tokens where the two masks differ, by class: ``hf_only:<segment label>`` (transformers supervises, the
    #: reference does not) or ``reference_only:<segment label>``.
    differences: dict[str, int] = field(default_factory=dict)
    error: str | None = None  # transformers raised (then nothing was compared)


@dataclass
class ScenarioOutcome:
    scenario: str
    status: Status
    reason: str | None = None
    reason_kind: str | None = None
    tokens: int = 0
    supervised_tokens: int = 0
    marking: str | None = None
    warnings: list[str] = field(default_factory=list)
    checks: Checks | None = None
    generation: GenerationComparison | None = None
    #: For conversations with content parts: how the template rendered them (joined | as_repr | dropped).
    content_parts: str | None = None


@dataclass
class TemplateOutcome:
    name: str
    origin: str
    repo: str | None
    sha256: str
    family: str | None = None  # the bundled tokenizer it was rendered with
    how: str | None = None  # own | family | markers | fallback (see choose.py)
    markers: list[str] = field(default_factory=list)
    uncovered: list[str] = field(default_factory=list)
    header: str | None = None  # the assistant header the reference learned (a style key)
    has_generation_tags: bool = False
    #: A problem with the template itself (unreadable, hash mismatch, does not compile, timed out): one line.
    problem: str | None = None
    problem_kind: str | None = None
    seconds: float = 0.0
    scenarios: list[ScenarioOutcome] = field(default_factory=list)


@dataclass
class Summary:
    templates: int
    rendered: int  # (template, scenario) pairs the template rendered: segmented + declined
    segmented: int
    declined: int
    refused: int
    errors: int  # (template, scenario) pairs not run: template unusable, timed out, worker died
    invariant_violations: int
    segmented_share: float  # segmented / rendered
    scenarios: int
    generation_templates: int
    generation_compared: int
    generation_agree: int
