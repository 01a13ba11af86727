"""Masks and labels for many conversations at once, for dataset preparation.

    from lossmask.reference.batch import LabelsMap, labels, labels_batch
    row = labels(tokenizer, messages, tools)                    # {"input_ids": [...], "labels": [...]}
    cols = labels_batch(tokenizer, [messages_1, messages_2], [tools_1, None])
    dataset = dataset.map(LabelsMap(tokenizer), batched=True, num_proc=8, remove_columns=dataset.column_names)

Why batched: a dataset pipeline pays the per-call overheads once per batch and hands the tokenizer every text of
the batch in one ``encode_batch`` call, which the tokenizers backend spreads over its threads, as
``tokenizer(list_of_texts)`` does in a bare render-and-tokenize pipeline. Each conversation is still rendered
(once where :mod:`reference.proof` proves the template, else twice) and segmented on its own, so every row equals
:func:`reference.compute` for that conversation; ``labels`` (one conversation) is the batch path with one row.

``labels`` holds the token id where the profile supervises the token and ``ignore_index`` (-100, what PyTorch's
cross-entropy ignores) elsewhere. By default labels are not shifted (the model's loss shifts them, as in
transformers); ``shift=True`` gives them pre-shifted for trainers that compare the logits at position t with
``labels[t]`` directly (``labels[1:] + [ignore_index]``: position t is trained to predict token t+1 when that
token is supervised).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from .errors import LossmaskError
from .mask import encode_many, finish, prepare, require_offsets, segment_prepared
from .policy import CANONICAL, Policy, get_profile, supervised_intervals
from .proof import prove
from .render import bounded_template

IGNORE_INDEX = -100
ON_ERROR = ("raise", "record")


def segment_batch(tokenizer: Any, chat_template: str, conversations: Sequence[Sequence[Mapping[str, Any]]],
                  tools: Sequence[Sequence[Mapping[str, Any]] | None] | None = None,
                  template_kwargs: Mapping[str, Any] | None = None, validate: bool = True,
                  single_render: bool = True,
                  errors: tuple[type[BaseException], ...] = (LossmaskError,)) -> list[Any]:
    """:func:`reference.segment` for each conversation, tokenized in one call.

    A conversation that raises one of ``errors`` gets the exception as its result; the others still run
    (``lossmask audit`` passes ``(Exception,)``: a reference bug on one sample is counted, not fatal).
    """
    require_offsets(tokenizer)
    return list(_segment_chunk(tokenizer, chat_template, conversations, _per_row(tools, len(conversations)),
                               template_kwargs, validate, single_render, errors))


#: Conversations :func:`segment_stream` renders and tokenizes together by default. Not fewer: each tokenizer call
#: wakes the backend's worker threads, which spin before they sleep; on 20,000 audit records (2 cores) 32 at a
#: time took 31.5-36.3 s of CPU against 29.4-31.0 s for 256.
STREAM_CHUNK = 256


def segment_stream(tokenizer: Any, chat_template: str, conversations: Sequence[Sequence[Mapping[str, Any]]],
                   tools: Sequence[Sequence[Mapping[str, Any]] | None] | None = None,
                   template_kwargs: Mapping[str, Any] | None = None, validate: bool = True,
                   single_render: bool = True, errors: tuple[type[BaseException], ...] = (LossmaskError,),
                   chunk: int = STREAM_CHUNK) -> Iterator[Any]:
    """:func:`segment_batch`'s results one at a time, ``chunk`` conversations rendered and tokenized together.

    For a caller done with each segmentation before it asks for the next (``lossmask audit`` tallies it): then
    one chunk of prepared renders and one segmentation are alive, not a list of segmentations. Those are many
    small objects that outlive young collections of Python's cyclic GC and get promoted, and promotions trigger
    full collections (each walks every object of the process). Measured on 20,000 audit records (one process):
    a list of 256 at a time, 22 full collections taking 2.9-3.2 s; this, 15 taking 1.7 s.
    """
    require_offsets(tokenizer)
    tools = _per_row(tools, len(conversations))
    for start in range(0, len(conversations), chunk):
        stop = start + chunk
        yield from _segment_chunk(tokenizer, chat_template, conversations[start:stop], tools[start:stop],
                                  template_kwargs, validate, single_render, errors)


def _segment_chunk(tokenizer: Any, chat_template: str, conversations: Sequence[Sequence[Mapping[str, Any]]],
                   tools: Sequence[Any], template_kwargs: Mapping[str, Any] | None, validate: bool,
                   single_render: bool, errors: tuple[type[BaseException], ...]) -> Iterator[Any]:
    """Prepare every conversation, tokenize the texts in one call, then segment each (lazily: one at a time)."""
    found: list[Any] = []
    for messages, row_tools in zip(conversations, tools):
        try:
            found.append(prepare(tokenizer, chat_template, messages, row_tools, template_kwargs, validate,
                                 single_render))
        except errors as exc:
            found.append(exc)
    encoded = _encode_rows(tokenizer, {k: f[0] for k, f in enumerate(found) if not isinstance(f, BaseException)},
                           errors)
    for k, messages in enumerate(conversations):
        f, found[k] = found[k], None  # let each prepared render go once it is segmented
        if isinstance(f, BaseException) or isinstance(encoded[k], BaseException):
            yield f if isinstance(f, BaseException) else encoded[k]
            continue
        try:
            seg = finish(f, messages, encoded.pop(k))
        except errors as exc:
            seg = exc
        yield seg


def _encode_rows(tokenizer: Any, texts: dict[int, str], errors: tuple[type[BaseException], ...]) -> dict[int, Any]:
    """Row → ``(ids, bounds)`` for every text, in one backend call; a text the backend cannot encode gets the
    exception (then each text is encoded alone to find it)."""
    rows = list(texts)
    try:
        return dict(zip(rows, encode_many(tokenizer, [texts[k] for k in rows]) if rows else []))
    except errors:
        out: dict[int, Any] = {}
        for k in rows:
            try:
                out[k] = encode_many(tokenizer, [texts[k]])[0]
            except errors as exc:
                out[k] = exc
        return out


def labels_batch(tokenizer: Any, conversations: Sequence[Sequence[Mapping[str, Any]]],
                 tools: Sequence[Sequence[Mapping[str, Any]] | None] | None = None,
                 template_kwargs: Mapping[str, Any] | None = None, *, chat_template: str | None = None,
                 profile: Policy | str = CANONICAL, ignore_index: int = IGNORE_INDEX, on_error: str = "raise",
                 validate: bool = True, shift: bool = False) -> dict[str, list]:
    """Columns ``input_ids`` and ``labels`` for many conversations (one list per conversation).

    ``tools``: one tool list (or ``None``) per conversation. ``on_error="raise"`` raises the first conversation's
    :class:`~reference.errors.LossmaskError` with its row number; ``"record"`` gives that row empty lists and its
    one-line message in an extra ``lossmask_error`` column (``None`` on rows that worked), so a ``datasets.map``
    keeps going and the rows can be filtered out afterwards. ``shift=True``: labels pre-shifted by one
    (:func:`shift_labels`), same length as ``input_ids``.
    """
    return _columns(tokenizer, conversations, tools, template_kwargs, chat_template, profile, ignore_index, on_error,
                    validate, shift, arrays=False)


def _columns(tokenizer: Any, conversations: Sequence[Sequence[Mapping[str, Any]]], tools: Any,
             template_kwargs: Mapping[str, Any] | None, chat_template: str | None, profile: Policy | str,
             ignore_index: int, on_error: str, validate: bool, shift: bool, arrays: bool) -> dict[str, list]:
    """:func:`labels_batch`, with each row as Python lists or (``arrays``) as NumPy ``int64`` arrays."""
    if on_error not in ON_ERROR:
        raise LossmaskError(f"on_error must be one of {', '.join(ON_ERROR)}, got {on_error!r}")
    policy = get_profile(profile) if isinstance(profile, str) else profile
    template = chat_template if chat_template is not None else tokenizer.chat_template
    if not template:
        raise LossmaskError("the tokenizer has no chat template; pass chat_template=")
    row_labels = _array_labels if arrays else labels_from_mask
    empty = (lambda: np.zeros(0, dtype=np.int64)) if arrays else list
    out: dict[str, list] = {"input_ids": [], "labels": []}
    errors: list[str | None] = []
    many = len(conversations) > 1
    for row, found in _masked(tokenizer, template, conversations, _per_row(tools, len(conversations)),
                              template_kwargs, validate, policy):
        if isinstance(found, LossmaskError):
            message = (f"conversation {row}: " if many else "") + " ".join(str(found).split())
            if on_error == "raise":
                raise type(found)(message) from found
            out["input_ids"].append(empty())
            out["labels"].append(empty())
            errors.append(message)
            continue
        ids, bounds, loss_mask = found
        if arrays:
            ids = bounds.ids if bounds.ids is not None else np.array(ids, dtype=np.int64)
        row_ids = row_labels(ids, loss_mask, ignore_index)
        out["input_ids"].append(ids)
        out["labels"].append((_shift_array(row_ids, ignore_index) if arrays else shift_labels(row_ids, ignore_index))
                             if shift else row_ids)
        errors.append(None)
    if on_error == "record":
        out["lossmask_error"] = errors
    return out


#: Conversations rendered (and tokenized in one call) at a time by :func:`labels_batch`. Only each conversation's
#: text and supervised intervals wait for the tokens (see :func:`_masked`), so a chunk costs little memory and
#: leaves nothing for Python's cyclic GC to promote; a bounded chunk keeps that true for any batch size. 256 is
#: the bench's ``datasets.map`` batch: measured on 256 rows, 16/32/64/128/256 at a time took 677/665/660/661/657 ms.
CHUNK = 256


def _masked(tokenizer: Any, template: str, conversations: Sequence[Sequence[Mapping[str, Any]]], tools: Sequence[Any],
            template_kwargs: Mapping[str, Any] | None, validate: bool, policy: Policy):
    """``(row, (ids, bounds, loss_mask) or LossmaskError)`` for every conversation, :data:`CHUNK` at a time.

    The steps of :func:`reference.compute` (prepare, tokenize, segment, mask), in an order fit for a batch: each
    conversation is rendered, segmented and its supervised character intervals taken before the chunk is
    tokenized (segmentation needs the text, not the tokens), so only the text and the intervals wait for the
    tokens; a conversation's segments, fields and spans are gone before the next one renders. A row fails
    with the error ``compute`` raises first: the render's, else the tokenizer's, else the segmentation's.
    """
    require_offsets(tokenizer)
    for start in range(0, len(conversations), CHUNK):
        rows = range(start, min(start + CHUNK, len(conversations)))
        texts: dict[int, str] = {}
        pending: dict[int, Any] = {}  # row -> intervals, or the error that ends it
        for k in rows:
            messages = conversations[k]
            try:
                found = prepare(tokenizer, template, messages, tools[k], template_kwargs, validate, True)
            except LossmaskError as exc:
                pending[k] = exc
                continue
            texts[k] = found[0]
            try:
                segs, turns, _ = segment_prepared(found, messages)
                pending[k] = supervised_intervals(segs, turns, policy, len(messages))
            except LossmaskError as exc:
                pending[k] = exc
        encoded = _encode_rows(tokenizer, texts, (LossmaskError,))
        for k in rows:
            got, enc = pending.pop(k), encoded.pop(k, None)  # enc is None where the render failed
            if isinstance(enc, LossmaskError):  # the tokenizer's error comes before the segmentation's
                yield k, enc
            elif isinstance(got, LossmaskError):
                yield k, got
            else:
                ids, bounds = enc
                yield k, (ids, bounds, bounds.mask(got, policy.straddle)[0])


def _supervised_runs(loss_mask: list[int]):
    """``(start, end)`` of every run of 1s in the mask (``bytes.find``: C-level, one step per run)."""
    flags = bytes(loss_mask)
    start = flags.find(1)
    while start >= 0:
        end = flags.find(0, start)
        if end < 0:
            end = len(flags)
        yield start, end
        start = flags.find(1, end)


def _array_labels(ids: Any, loss_mask: list[int], ignore_index: int) -> Any:
    """:func:`labels_from_mask` for an ``int64`` id array, as an ``int64`` array."""
    out = np.full(len(ids), ignore_index, dtype=np.int64)
    for start, end in _supervised_runs(loss_mask):
        out[start:end] = ids[start:end]
    return out


def _shift_array(labels: Any, ignore_index: int) -> Any:
    """:func:`shift_labels` for an array."""
    if not len(labels):
        return labels
    out = np.empty_like(labels)
    out[:-1], out[-1] = labels[1:], ignore_index
    return out


def labels(tokenizer: Any, messages: Sequence[Mapping[str, Any]], tools: Sequence[Mapping[str, Any]] | None = None,
           template_kwargs: Mapping[str, Any] | None = None, *, chat_template: str | None = None,
           profile: Policy | str = CANONICAL, ignore_index: int = IGNORE_INDEX,
           shift: bool = False) -> dict[str, list[int]]:
    """``{"input_ids": [...], "labels": [...]}`` for one conversation (the batch path with one row)."""
    cols = labels_batch(tokenizer, [messages], [tools], template_kwargs, chat_template=chat_template,
                        profile=profile, ignore_index=ignore_index, shift=shift)
    try:
        return {"input_ids": cols["input_ids"][0], "labels": cols["labels"][0]}
    except IndexError:  # pragma: no cover - labels_batch returns one row per conversation
        raise LossmaskError("no row returned") from None


def labels_from_mask(input_ids: list[int], loss_mask: list[int], ignore_index: int = IGNORE_INDEX) -> list[int]:
    """The ids where the mask is 1, ``ignore_index`` elsewhere: one slice copy per supervised run (C-level)."""
    out = [ignore_index] * len(input_ids)
    for start, end in _supervised_runs(loss_mask):
        out[start:end] = input_ids[start:end]
    return out


def shift_labels(labels: list[int], ignore_index: int = IGNORE_INDEX) -> list[int]:
    """Labels for a trainer that does not shift: ``labels[1:] + [ignore_index]`` (the last position predicts
    nothing)."""
    return labels[1:] + [ignore_index] if labels else []


class LabelsMap:
    """A picklable ``datasets.map(batched=True)`` function: a batch of rows in, ``input_ids``/``labels`` out.

    Reads the ``messages`` column (and ``tools`` when present; a column holding JSON strings is decoded), so it
    works with ``num_proc`` > 1 (the tokenizer travels to each worker with the function).

    ``arrays=True`` (the default) hands ``input_ids`` and ``labels`` over as one NumPy ``int64`` array per row:
    ``datasets`` turns a list of arrays into an Arrow column directly, where a list of Python lists is first
    scanned value by value for mixed types (about a tenth of a second per 300 rows of 1,400 tokens, per column).
    The dataset holds the same values either way; ``arrays=False`` returns lists, as :func:`labels_batch` does.
    """

    def __init__(self, tokenizer: Any, *, messages: str = "messages", tools: str = "tools",
                 template_kwargs: Mapping[str, Any] | None = None, chat_template: str | None = None,
                 profile: str = CANONICAL.name, ignore_index: int = IGNORE_INDEX, on_error: str = "raise",
                 shift: bool = False, arrays: bool = True) -> None:
        self.tokenizer = tokenizer
        self.arrays = arrays
        self.messages, self.tools = messages, tools
        self.template_kwargs = dict(template_kwargs or {})
        self.chat_template, self.profile = chat_template, profile
        self.ignore_index, self.on_error, self.shift = ignore_index, on_error, shift
        _prepare_template(chat_template if chat_template is not None else getattr(tokenizer, "chat_template", None))

    def __call__(self, batch: Mapping[str, list]) -> dict[str, list]:
        conversations = [_json(m) for m in batch[self.messages]]
        tools = [_json(t) for t in batch[self.tools]] if self.tools in batch else None
        return _columns(self.tokenizer, conversations, tools, self.template_kwargs, self.chat_template,
                        self.profile, self.ignore_index, self.on_error, True, self.shift, arrays=self.arrays)


def _prepare_template(template: Any) -> None:
    """Prove the template and compile our bounded copy of it now, in the process that builds the map.

    Why: ``datasets.map(num_proc=N)`` forks its workers from this process, and what is compiled and proved here
    (per template text, process-wide) they inherit; otherwise each worker pays it on its first batch (about
    0.1 s on the dataset bench's template, per worker). A template that fails here fails again, with its row
    named, when a batch renders it, so nothing is raised here.
    """
    if not isinstance(template, str) or not template:
        return
    try:
        prove(template)
        bounded_template(template)
    except Exception:  # noqa: BLE001 - a syntax error, a refusal, a limit: the rows report it, with their numbers
        pass


def int_arrays(rows: list[list[int]]) -> list[Any]:
    """One NumPy ``int64`` array per row."""
    return [np.array(row, dtype=np.int64) for row in rows]


def _json(value: Any) -> Any:
    if isinstance(value, str):
        import json

        return json.loads(value)
    return value


def _per_row(tools: Sequence[Any] | None, n: int) -> Sequence[Any]:
    if tools is None:
        return [None] * n
    if len(tools) != n:
        raise LossmaskError(f"tools: one entry per conversation expected ({n}), got {len(tools)}")
    return tools
