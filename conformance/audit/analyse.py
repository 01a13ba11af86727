"""Analyse one chunk of records: decode, validate, segment with the reference, compare a generator; count.

``analyse_chunk(config, records) -> Tally`` is the one function every engine runs (in-process, in a process
pool, or as a Ray task), so every engine gives the same numbers. Per-process state (the tokenizer, the literal
scanner, the generator) is built once per worker from the picklable :class:`AuditConfig`. Nothing a sample
does can stop the chunk: every failure is a counted error or finding.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from lossmask.reference import PROFILES, get_profile, render_limits, segment_stream
from lossmask.reference.conversation import json_limit, validate_messages
from lossmask.reference.errors import ConversationError, LossmaskError, SegmentationError, TemplateRefusal

from .. import golden as G
from ..compare import Outcome, Verdict, compare
from ..runner.limits import Limits
from . import findings as F
from . import tally as T
from .attribution import SampleEnvironment, load_user_tokenizer
from .isolated import IsolatedGenerator
from .readers import BadBytes, Record


@dataclass(frozen=True)
class AuditConfig:
    """Everything a worker needs to rebuild its state; hashable so workers cache state per config."""

    tokenizer: str
    variant: str | None = None
    template_file: str | None = None
    profile: str = "canonical"
    template_kwargs: tuple[tuple[str, Any], ...] = ()
    generator: str | None = None
    examples_per_kind: int = 5
    keep_samples: bool = False
    #: Limits of the generator's worker processes (per-sample deadline, memory, start-up).
    limits: Limits = field(default_factory=Limits)
    #: Limits of the reference's renders (None: the process default, see lossmask.reference.render_limits).
    render_seconds: float | None = None
    render_max_chars: int | None = None
    #: The environment check's note when ``AutoTokenizer`` mis-tokenizes the audited tokenizer on this
    #: transformers (set by :func:`lossmask.audit.run.audit`): generator answers it explains exactly are judged
    #: ``environment`` (:mod:`lossmask.audit.attribution`), not the generator's divergence.
    environment: tuple[str, ...] = ()

    def kwargs(self) -> dict[str, Any]:
        return dict(self.template_kwargs)


@dataclass
class WorkerState:
    loaded: Any
    scanner: F.LiteralScanner
    generator: Any = None
    profiles: dict[str, Any] = field(default_factory=dict)
    #: ``AutoTokenizer`` as users load it, only where the environment check flagged it (loaded on first need).
    user_tokenizer: Any = None

    def autotokenizer(self) -> Any:
        if self.user_tokenizer is None:
            self.user_tokenizer = load_user_tokenizer(self.loaded)
        return self.user_tokenizer


_STATE: dict[AuditConfig, WorkerState] = {}


def state_for(config: AuditConfig) -> WorkerState:
    state = _STATE.get(config)
    if state is not None and state.generator is not None and state.generator.owner != os.getpid():
        state = None  # inherited through fork from the parent: this process starts its own generator worker
    if state is None:
        from .. import assets

        if config.render_seconds is not None or config.render_max_chars is not None:
            render_limits.configure(config.render_seconds, config.render_max_chars)  # this audit process's renders
        loaded = assets.load(config.tokenizer, variant=config.variant, template_file=config.template_file)
        get_profile(config.profile)  # unknown profile: one clear error before any sample
        generator = IsolatedGenerator(config.generator, loaded, config.limits) if config.generator else None
        state = WorkerState(loaded, F.LiteralScanner(F.special_tokens(loaded.tokenizer)), generator,
                            dict(PROFILES))
        _STATE[config] = state
    return state


def carry_state(old: AuditConfig, new: AuditConfig) -> None:
    """Let ``new`` (``old`` with the environment note added) use the state ``old`` built in this process, so
    its generator worker is not started twice."""
    if old in _STATE:
        _STATE[new] = _STATE.pop(old)


def close_generators() -> None:
    """Stop the generator workers this process started (the audit is over, or its pool is about to fork)."""
    for state in _STATE.values():
        if state.generator is not None and state.generator.owner == os.getpid():
            state.generator.close()


def decode(record: Record) -> tuple[str, str] | tuple[list, list | None]:
    """``(messages, tools)``, or ``(error kind, message)`` strings when the record is not a conversation."""
    data = record.payload
    if isinstance(data, BadBytes):
        return data.kind, data.reason
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except json.JSONDecodeError as exc:
            return T.INVALID_LINE, f"not valid JSON ({exc.msg})"
        except (RecursionError, ValueError) as exc:  # 10^5 levels deep, an integer literal past 4300 digits
            return T.INVALID_LINE, json_limit(exc)
    if isinstance(data, list):
        return data, None
    if isinstance(data, Mapping) and "messages" in data:
        messages, tools = data["messages"], data.get("tools")
        try:  # columnar formats often store nested fields as JSON strings
            messages = json.loads(messages) if isinstance(messages, str) else messages
            tools = json.loads(tools) if isinstance(tools, str) else tools
        except json.JSONDecodeError as exc:
            return T.INVALID_RECORD, f"$.messages/$.tools: a JSON-string column is not valid JSON ({exc.msg})"
        except (RecursionError, ValueError) as exc:
            return T.INVALID_RECORD, f"$.messages/$.tools: a JSON-string column is {json_limit(exc)}"
        return messages, tools
    what = "an object without 'messages'" if isinstance(data, Mapping) else type(data).__name__
    return T.INVALID_RECORD, f"$: expected a list of messages or an object with 'messages', got {what}"


def screen_record(state: WorkerState, config: AuditConfig, record: Record, out: T.Tally) -> tuple | None:
    """Decode and validate one record and count the data findings; ``(messages, tools)`` when it can be masked."""
    out.samples += 1
    index, line, payload = record.index, record.line, record.payload
    decoded = decode(record)
    if isinstance(decoded[0], str):
        out.error(decoded[0], decoded[1], index, line, payload)
        return None
    messages, tools = decoded
    try:
        validate_messages(messages, tools)
    except ConversationError as exc:
        out.error(T.INVALID_CONVERSATION, str(exc), index, line, payload)
        return None
    literal = F.literal_in_non_assistant_text(messages, state.scanner)
    if literal:
        out.finding(F.LITERAL_IN_TEXT, index, line, literal, payload)
    empty = F.empty_assistant_turn(messages)
    if empty:
        out.finding(F.EMPTY_ASSISTANT, index, line, empty, payload)
    return messages, tools


def tally_segmentation(state: WorkerState, config: AuditConfig, record: Record, messages: list,
                       tools: list | None, seg: Any, out: T.Tally) -> None:
    """Count one record's reference result (a Segmentation, or the exception it raised)."""
    index, line, payload = record.index, record.line, record.payload
    if isinstance(seg, TemplateRefusal):
        out.error(T.TEMPLATE_REFUSAL, str(seg), index, line, payload)
        return
    if isinstance(seg, render_limits.RenderLimitExceeded):
        out.error(T.RENDER_LIMIT, str(seg), index, line, payload)
        return
    if isinstance(seg, (SegmentationError, LossmaskError)):
        out.error(T.SEGMENTATION_ERROR, str(seg), index, line, payload)
        return
    if isinstance(seg, Exception):  # a reference bug on one odd sample is counted, never fatal to the audit
        out.error(T.REFERENCE_ERROR, f"{type(seg).__name__}: {seg}", index, line, payload)
        return
    out.rendered += 1
    out.tokens += len(seg.input_ids)
    masks = {}
    for name, policy in state.profiles.items():
        masks[name] = seg.mask(policy)
        out.supervised[name] += sum(masks[name].loss_mask)
    primary = masks[config.profile]
    if primary.straddles:
        t = primary.straddles[0]
        out.finding(F.STRADDLE, index, line, f"token {t} {seg.text[slice(*seg.offsets[t])]!r} straddles "
                    f"{seg.token_parts()[t]}", payload)
    if not any(primary.loss_mask):
        out.finding(F.NO_SUPERVISED, index, line, f"no token supervised under {config.profile}", payload)
    if seg.warnings:
        out.finding(F.SEGMENTATION_WARNING, index, line, seg.warnings[0], payload)
    parts = F.content_parts(messages, seg.text)
    if parts:
        out.finding(parts[0], index, line, parts[1], payload)
    if state.generator is not None:
        compare_generator(state, config, seg, masks, messages, tools, record, out)


#: How a comparison outcome reads as an audit finding (passes and agreed refusals are not findings).
FINDING_OF = {
    Verdict.UNSUPPORTED: F.GENERATOR_UNSUPPORTED, Verdict.INVALID_OUTPUT: F.GENERATOR_INVALID_OUTPUT,
    Verdict.LENGTH_MISMATCH: F.GENERATOR_INVALID_OUTPUT, Verdict.ERROR: F.GENERATOR_ERROR,
    Verdict.TIMEOUT: F.GENERATOR_TIMEOUT, Verdict.NOT_JUDGED: F.GENERATOR_ERROR,
    Verdict.TOKEN_DIVERGENCE: F.GENERATOR_DIVERGENCE, Verdict.MASK_MISMATCH: F.GENERATOR_MISMATCH,
    Verdict.ENVIRONMENT: F.ENVIRONMENT,
}


def compare_generator(state: WorkerState, config: AuditConfig, seg: Any, masks: dict, messages: list,
                      tools: list | None, record: Record, out: T.Tally) -> None:
    """Run the generator (in its isolated worker) on one sample and judge it with the comparison core against
    the reference's render."""
    gen = state.generator
    claimed = getattr(gen, "profile", None)
    claimed = claimed if claimed in masks else config.profile
    answer = gen(record.index, messages, tools, config.kwargs())
    expected = G.record_of(seg, masks, state.loaded.family, state.loaded.variant, f"sample {record.index}")
    decode = lambda ids: state.loaded.tokenizer.decode(ids, skip_special_tokens=False)  # noqa: E731
    env = SampleEnvironment(config.environment, seg.text, state.autotokenizer) if config.environment else None
    outcome = compare(expected, answer, claimed, decode, env=env)
    kind = FINDING_OF.get(outcome.verdict)
    if kind is not None:
        out.finding(kind, record.index, record.line, _finding_message(outcome, claimed), record.payload)


def _finding_message(outcome: Outcome, profile: str) -> str:
    if outcome.verdict is Verdict.TOKEN_DIVERGENCE:
        return (f"first differing token {outcome.first_difference} (generator {outcome.actual_length} tokens, "
                f"reference {outcome.expected_length})")
    if outcome.verdict is Verdict.MASK_MISMATCH:
        return (f"{len(outcome.differing_tokens)} tokens differ from {profile} (first {outcome.first_difference}): "
                f"{outcome.message}")
    if outcome.verdict is Verdict.UNSUPPORTED:
        return outcome.message.removeprefix("declined: ")
    return outcome.message


def analyse_chunk(config: AuditConfig, records: Iterable[Record]) -> T.Tally:
    """Screen every record, segment the maskable ones in batches (:func:`reference.segment_stream`: one tokenizer
    call per 256 conversations, as dataset preparation does), and count each record's result as it comes (a
    segmentation is dropped once counted: holding a whole chunk of them made the GC walk the process more)."""
    state = state_for(config)
    out = T.Tally(config.examples_per_kind, config.keep_samples)
    pending = []
    for record in records:
        try:
            screened = screen_record(state, config, record, out)
        except Exception as exc:  # noqa: BLE001 - one odd sample is a counted error, never the end of the audit
            _unexpected(exc, record, out)
            continue
        if screened is not None:
            pending.append((record, *screened))
    if not pending:
        return out
    loaded = state.loaded
    results = segment_stream(loaded.tokenizer, loaded.chat_template, [m for _, m, _ in pending],
                             [t for _, _, t in pending], config.kwargs(), validate=False, errors=(Exception,))
    for (record, messages, tools), seg in zip(pending, results):
        try:
            tally_segmentation(state, config, record, messages, tools, seg, out)
        except Exception as exc:  # noqa: BLE001
            _unexpected(exc, record, out)
    return out


def _unexpected(exc: Exception, record: Record, out: T.Tally) -> None:
    message = " ".join(f"{type(exc).__name__}: {exc}".split())[:500]
    out.error(T.REFERENCE_ERROR, message, record.index, record.line, record.payload)
