"""The reference loss mask: render → segment → policy → mask, for any template.

``compute(tokenizer, template, messages, tools, template_kwargs, profile)`` returns a :class:`MaskResult` whose
``input_ids`` equal ``apply_chat_template(messages, tools=tools, tokenize=True)`` and whose ``loss_mask`` is the
chosen profile applied to the segmentation. Cost: one marked render where :mod:`reference.proof` shows it exact
(else two: the real one and the marked one, checked against each other) and one tokenisation, whose token
offsets come from token lengths where :mod:`reference.token_bounds` shows they follow from the ids, else from the
tokenizer; segmentation and masking are span arithmetic over the field spans.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from . import markers
from . import segments as S
from .conversation import validate_messages
from .errors import LossmaskError, SegmentationError, TemplateRefusal
from .perturb import locate_unmarked
from .policy import CANONICAL, Policy, get_profile, supervised_intervals
from .proof import admits, prove
from .render import render
from .segment import Segmenter
from .structure import TemplateStructure, learn
from .token_bounds import TokenBounds, encode_bounds


@dataclass
class Segmentation:
    """Everything that does not depend on the policy: computed once, masked under many profiles."""

    text: str
    input_ids: list[int]
    #: Where each token lies in ``text`` (:mod:`reference.token_bounds`); ``offsets`` lists them.
    bounds: TokenBounds
    segments: list[S.Segment]
    turns: list[S.AssistantTurn]
    structure: TemplateStructure
    n_messages: int
    marking: str
    warnings: list[str] = field(default_factory=list)
    #: 1: the marked render alone (proved exact for this template and conversation); 2: real + marked, checked.
    renders: int = 2

    @property
    def offsets(self) -> list[tuple[int, int]]:
        """``(start, end)`` character offsets (code points) of every token, built on first use."""
        return self.bounds.offsets

    def token_parts(self) -> list[str]:
        """One label per token: the parts its characters belong to, joined with '+' when it straddles parts."""
        out: list[str] = []
        segs = self.segments
        j = 0
        for start, end in self.offsets:
            while j < len(segs) and segs[j].end <= start:
                j += 1
            if end <= start:
                out.append(segs[j].part if j < len(segs) else S.OTHER)
                continue
            names: list[str] = []
            k = j
            while k < len(segs) and segs[k].start < end:
                if segs[k].part not in names:
                    names.append(segs[k].part)
                k += 1
            out.append("+".join(names) or S.OTHER)
        return out

    def token_messages(self) -> list[int | None]:
        """The message each token's first character belongs to (``None`` for template text)."""
        out: list[int | None] = []
        starts = [s.start for s in self.segments]
        for start, _ in self.offsets:
            k = max(0, bisect_right(starts, start) - 1)
            out.append(self.segments[k].message if self.segments else None)
        return out

    def mask(self, policy: Policy | str = CANONICAL) -> MaskResult:
        policy = get_profile(policy) if isinstance(policy, str) else policy
        intervals = supervised_intervals(self.segments, self.turns, policy, self.n_messages)
        mask, straddles = self.bounds.mask(intervals, policy.straddle)
        return MaskResult(self, policy, mask, straddles)


@dataclass
class MaskResult:
    segmentation: Segmentation
    policy: Policy
    loss_mask: list[int]
    #: Token indices covering both supervised and unsupervised characters.
    straddles: list[int]

    @property
    def input_ids(self) -> list[int]:
        return self.segmentation.input_ids

    @property
    def text(self) -> str:
        return self.segmentation.text

    def supervised_text(self) -> list[str]:
        """The decoded text of each maximal run of supervised tokens (by character offsets)."""
        runs, text, offsets = [], self.segmentation.text, self.segmentation.offsets
        start = None
        for i, m in enumerate([*self.loss_mask, 0]):
            if m and start is None:
                start = i
            elif not m and start is not None:
                runs.append(text[offsets[start][0]:offsets[i - 1][1]])
                start = None
        return runs


def encode(tokenizer: Any, text: str) -> tuple[list[int], TokenBounds]:
    """Token ids and where each token lies, encoded as ``apply_chat_template(tokenize=True)`` does.

    The tokenizers backend's ``encode_batch`` (or ``encode_batch_fast``: the same ids without offset tracking,
    where :mod:`reference.token_bounds` shows the offsets follow from token lengths) is the call transformers
    itself makes, so the ids are the same by construction.
    """
    return encode_many(tokenizer, [text])[0]


def encode_many(tokenizer: Any, texts: list[str]) -> list[tuple[list[int], TokenBounds]]:
    """:func:`encode` for many texts in one backend call (the tokenizers backend spreads it over its threads);
    each text's ids are what encoding it alone gives."""
    backend = getattr(tokenizer, "_tokenizer", None)
    if backend is not None and hasattr(backend, "encode_batch"):
        return encode_bounds(tokenizer, backend, texts)
    out = []
    for text in texts:
        enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        out.append((list(enc["input_ids"]), TokenBounds([tuple(o) for o in enc["offset_mapping"]])))
    return out


def require_offsets(tokenizer: Any) -> None:
    """Segmentation maps characters to tokens, so a tokenizer that cannot report offsets cannot be masked.

    Accepted: a tokenizers-backed tokenizer (``_tokenizer.encode``) or one that says ``is_fast``; slow
    (Python) tokenizers raise a typed error here instead of a ``KeyError``/``NotImplementedError`` later.
    """
    backend = getattr(tokenizer, "_tokenizer", None)
    if (backend is not None and hasattr(backend, "encode")) or getattr(tokenizer, "is_fast", False) is True:
        return
    raise SegmentationError(f"{type(tokenizer).__name__} has no offset support (character offsets are needed to "
                            f"map the render to tokens; use a fast, tokenizers-backed tokenizer)", kind="no_offsets")


def segment(tokenizer: Any, chat_template: str, messages: Sequence[Mapping[str, Any]],
            tools: Sequence[Mapping[str, Any]] | None = None,
            template_kwargs: Mapping[str, Any] | None = None, validate: bool = True,
            single_render: bool = True) -> Segmentation:
    """Attribute every character of the render to a message field or the template.

    Two renders, the real one and one with field markers, checked against each other; or, when
    :func:`reference.proof.prove` shows for this template that the check cannot fail and the conversation meets
    the proof's data assumptions, the marked render alone (``single_render=False`` forces the two renders).
    """
    require_offsets(tokenizer)
    found = prepare(tokenizer, chat_template, messages, tools, template_kwargs, validate, single_render)
    return finish(found, messages, encode(tokenizer, found[0]))


def prepare(tokenizer: Any, chat_template: str, messages: Sequence[Mapping[str, Any]],
            tools: Sequence[Mapping[str, Any]] | None, template_kwargs: Mapping[str, Any] | None,
            validate: bool = True, single_render: bool = True) -> tuple:
    """Everything :func:`segment` does before tokenizing: ``(text, marking, structure, renders)``.

    Split out so :mod:`reference.batch` can tokenize many conversations' texts in one call.
    """
    if validate:
        validate_messages(messages, tools)
    kwargs = dict(template_kwargs or {})
    found = None
    if single_render and admits(prove(chat_template), messages, tools):
        found = _marked_only(tokenizer, chat_template, messages, tools, kwargs)
    if found is None:
        found = _checked(tokenizer, chat_template, messages, tools, kwargs)
    if markers.SURROGATE_RE.search(found[0]):  # no tokenizer takes one: name the field instead of a TypeError
        where = markers.reserved_path(messages, tools, markers.SURROGATE_RE) or "the template's own text"
        raise SegmentationError(f"{where}: contains a lone surrogate (U+D800..U+DFFF), which is not Unicode text "
                                "and cannot be tokenized", kind="lone_surrogate")
    return found


def segment_prepared(found: tuple, messages: Sequence[Mapping[str, Any]]) -> tuple[list, list, list[str]]:
    """``(segments, turns, warnings)`` of a prepared render: segmentation needs the text, not the tokens."""
    text, marking, structure, _ = found
    fields, spans = marking.fields, marking.spans
    segmenter = Segmenter(text, messages, fields, spans, structure)
    segs, turns = segmenter.run()
    warnings = list(segmenter.warnings)
    warnings.extend(f"field {fields[s.field].path} was only partly delimited by the template"
                    for s in spans if not s.complete)
    warnings.extend(f"field {fields[k].path} left unmarked: marking it changes the render (the template "
                    f"inspects its value); " + ("located by a perturbation diff" if k in marking.located else
                                                "its text counts as template text of its turn")
                    for k in marking.unmarked)
    return segs, turns, warnings


def finish(found: tuple, messages: Sequence[Mapping[str, Any]], encoded: tuple) -> Segmentation:
    """Segment a prepared render given its ``(ids, offsets)``: the part of :func:`segment` after tokenizing."""
    segs, turns, warnings = segment_prepared(found, messages)
    ids, bounds = encoded
    return Segmentation(found[0], ids, bounds, segs, turns, found[2], len(messages), found[1].scope, warnings,
                        found[3])


def _marked_only(tokenizer: Any, chat_template: str, messages: Sequence[Mapping[str, Any]], tools: Any,
                 kwargs: dict[str, Any]) -> tuple | None:
    """The marked render alone (proved exact); ``None`` when anything goes wrong, so the checked path decides
    with its own error messages (a template refusal, a marker overflow, a structure probe that fails)."""
    try:
        marked_messages, fields = markers.mark(messages, scope="all")
        marked = render(tokenizer, chat_template, marked_messages, tools, kwargs)
        structure = learn(tokenizer, chat_template, kwargs, messages, tools)
    except (LossmaskError, markers.MarkerOverflow):
        return None
    # Escaped markers need no handling: the proof refuses templates that print marked text through repr or
    # ASCII JSON, so any escape-like text here is in the real render too (where the checked path keeps it).
    text, spans = markers.strip(marked)
    return text, _Marking(fields, spans, "all"), structure, 1


def _checked(tokenizer: Any, chat_template: str, messages: Sequence[Mapping[str, Any]], tools: Any,
             kwargs: dict[str, Any]) -> tuple:
    """The real render, then marked renders until one, markers removed, is the real render (``_mark_faithfully``)."""
    text = render(tokenizer, chat_template, messages, tools, kwargs)
    if markers.may_hold_marker(text) and markers.MARKER_RE.search(text):
        where = markers.reserved_path(messages, tools) or "the template's own text"
        raise SegmentationError(f"{where}: contains private-use code points U+F0000..U+FFFFD, which the "
                                f"reference reserves for field markers", kind="reserved_code_points")
    structure = learn(tokenizer, chat_template, kwargs, messages, tools)
    return text, _mark_faithfully(tokenizer, chat_template, messages, tools, kwargs, text), structure, 2


@dataclass(frozen=True)
class _Marking:
    fields: list[markers.Field]
    spans: list[markers.FieldSpan]
    scope: str  # all | assistant | partial
    unmarked: tuple[int, ...] = ()
    located: tuple[int, ...] = ()  # unmarked fields found by a perturbation diff instead


def _mark_faithfully(tokenizer: Any, chat_template: str, messages: Sequence[Mapping[str, Any]],
                     tools: Sequence[Mapping[str, Any]] | None, kwargs: dict[str, Any], text: str) -> _Marking:
    """Field spans from a marked render that, markers removed, is the real render character for character.

    Tried in order: every field marked; assistant fields only (templates that test the edges of user or tool
    text); then, when a template compares a field's value (a tool call's name against its built-in tools) or
    otherwise reacts to markers, the largest set of fields whose markers leave the render unchanged, found by
    bisection. Fields left out are rendered as they are and located like fields the template drops: their
    characters become template text of the turn around them. Markers the template escaped (a repr of content
    parts, ASCII JSON) are recognised when the real render holds no such escape itself.
    """
    escaped = not markers.ESCAPED_MARKER_RE.search(text)

    def attempt(scope: str, skip: frozenset[int] = frozenset()):
        try:
            marked_messages, fields = markers.mark(messages, scope=scope, skip=skip)
        except markers.MarkerOverflow as exc:
            raise SegmentationError(str(exc), kind="marker_overflow") from None
        try:
            marked = render(tokenizer, chat_template, marked_messages, tools, kwargs)
        except TemplateRefusal:  # markers sent the template down a branch that raises: not faithful
            return fields, [], None
        clean, spans = markers.strip(marked, escaped)
        return fields, spans, clean

    tried = {}
    for scope in ("all", "assistant"):
        fields, spans, clean = tried[scope] = attempt(scope)
        if clean == text:
            return _Marking(fields, spans, scope)
    all_fields, _, first_clean = tried["all"]
    first_clean = first_clean or ""
    n = len(all_fields)

    def faithful(keep: frozenset[int]) -> bool:
        return attempt("all", frozenset(range(n)) - keep)[2] == text

    keep = _largest_faithful(list(range(n)), frozenset(), faithful)
    if not keep:
        at = next((i for i, (a, b) in enumerate(zip(first_clean, text)) if a != b), min(len(first_clean), len(text)))
        raise SegmentationError(
            f"the template renders marked fields differently from the real ones (first difference at "
            f"character {at}: {text[max(0, at - 20):at + 20]!r}), whichever fields are marked",
            kind="markers_change_render",
        )
    skip = frozenset(range(n)) - keep
    fields, spans, _ = attempt("all", skip)
    located = locate_unmarked(tokenizer, chat_template, messages, tools, kwargs, text, fields, spans, skip)
    return _Marking(fields, sorted([*spans, *located], key=itemgetter(1, 2)), "partial", tuple(sorted(skip)),
                    tuple(s.field for s in located))


def _largest_faithful(candidates: list[int], base: frozenset[int], faithful) -> frozenset[int]:
    """The candidates that can be marked together with ``base`` (bisection: about 2·k·log n renders for k bad)."""
    if not candidates:
        return base
    if faithful(base | frozenset(candidates)):
        return base | frozenset(candidates)
    if len(candidates) == 1:
        return base
    mid = len(candidates) // 2
    left = _largest_faithful(candidates[:mid], base, faithful)
    return _largest_faithful(candidates[mid:], left, faithful)


def compute(tokenizer: Any, chat_template: str, messages: Sequence[Mapping[str, Any]],
            tools: Sequence[Mapping[str, Any]] | None = None, template_kwargs: Mapping[str, Any] | None = None,
            profile: Policy | str = CANONICAL) -> MaskResult:
    """The reference mask of one conversation under one profile."""
    return segment(tokenizer, chat_template, messages, tools, template_kwargs).mask(profile)
