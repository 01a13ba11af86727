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

from lossmask.reference import PROFILES, get_profile, render_limits, segment
from lossmask.reference.conversation import json_limit, validate_messages
from lossmask.reference.errors import ConversationError, LossmaskError, SegmentationError, TemplateRefusal

from ..generators import InvalidOutput, Unsupported
from ..runner.limits import Limits
from . import findings as F
from . import tally as T
from .isolated import GeneratorRaised, GeneratorTimeout, IsolatedGenerator
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

    def kwargs(self) -> dict[str, Any]:
        return dict(self.template_kwargs)


@dataclass
class WorkerState:
    loaded: Any
    scanner: F.LiteralScanner
    generator: Any = None
    profiles: dict[str, Any] = field(default_factory=dict)


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


def analyse_record(state: WorkerState, config: AuditConfig, record: Record, out: T.Tally) -> None:
    out.samples += 1
    index, line, payload = record.index, record.line, record.payload
    decoded = decode(record)
    if isinstance(decoded[0], str):
        out.error(decoded[0], decoded[1], index, line, payload)
        return
    messages, tools = decoded
    try:
        validate_messages(messages, tools)
    except ConversationError as exc:
        out.error(T.INVALID_CONVERSATION, str(exc), index, line, payload)
        return
    literal = F.literal_in_non_assistant_text(messages, state.scanner)
    if literal:
        out.finding(F.LITERAL_IN_TEXT, index, line, literal, payload)
    empty = F.empty_assistant_turn(messages)
    if empty:
        out.finding(F.EMPTY_ASSISTANT, index, line, empty, payload)
    loaded = state.loaded
    try:
        seg = segment(loaded.tokenizer, loaded.chat_template, messages, tools, config.kwargs(), validate=False)
    except TemplateRefusal as exc:
        out.error(T.TEMPLATE_REFUSAL, str(exc), index, line, payload)
        return
    except render_limits.RenderLimitExceeded as exc:
        out.error(T.RENDER_LIMIT, str(exc), index, line, payload)
        return
    except (SegmentationError, LossmaskError) as exc:
        out.error(T.SEGMENTATION_ERROR, str(exc), index, line, payload)
        return
    except Exception as exc:  # a reference bug on one odd sample is counted, never fatal to the audit
        out.error(T.REFERENCE_ERROR, f"{type(exc).__name__}: {exc}", index, line, payload)
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


def compare_generator(state: WorkerState, config: AuditConfig, seg: Any, masks: dict, messages: list,
                      tools: list | None, record: Record, out: T.Tally) -> None:
    gen = state.generator
    index, line, payload = record.index, record.line, record.payload
    try:
        ids, mask = gen(index, messages, tools, config.kwargs())
    except Unsupported as exc:
        out.finding(F.GENERATOR_UNSUPPORTED, index, line, str(exc) or "declared unsupported", payload)
        return
    except InvalidOutput as exc:
        out.finding(F.GENERATOR_INVALID_OUTPUT, index, line, str(exc), payload)
        return
    except GeneratorTimeout as exc:
        out.finding(F.GENERATOR_TIMEOUT, index, line, str(exc), payload)
        return
    except GeneratorRaised as exc:  # raised, crashed, exited: a finding, never an audit crash
        out.finding(F.GENERATOR_ERROR, index, line, str(exc), payload)
        return
    ids, mask = list(ids), list(mask)
    if ids != seg.input_ids:
        at = next((i for i, (a, b) in enumerate(zip(ids, seg.input_ids)) if a != b), min(len(ids), len(seg.input_ids)))
        out.finding(F.GENERATOR_DIVERGENCE, index, line, f"first differing token {at} "
                    f"(generator {len(ids)} tokens, reference {len(seg.input_ids)})", payload)
        return
    claimed = getattr(gen, "profile", None)
    claimed = claimed if claimed in masks else config.profile
    reference = masks[claimed]
    if mask != reference.loss_mask:
        diff = [i for i, (a, b) in enumerate(zip(mask, reference.loss_mask)) if a != b]
        out.finding(F.GENERATOR_MISMATCH, index, line, f"{len(diff)} tokens differ from {claimed} "
                    f"(first {diff[0] if diff else len(mask)})", payload)


def analyse_chunk(config: AuditConfig, records: Iterable[Record]) -> T.Tally:
    state = state_for(config)
    out = T.Tally(config.examples_per_kind, config.keep_samples)
    for record in records:
        try:
            analyse_record(state, config, record, out)
        except Exception as exc:  # noqa: BLE001 - one odd sample is a counted error, never the end of the audit
            message = " ".join(f"{type(exc).__name__}: {exc}".split())[:500]
            out.error(T.REFERENCE_ERROR, message, record.index, record.line, record.payload)
    return out
