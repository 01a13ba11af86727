"""Errors the reference raises. One line each, naming the message index and field involved."""

from __future__ import annotations


class LossmaskError(Exception):
    """Base class of every user-facing error in lossmask (reference and harness).

    ``kind`` is a stable key for the reason (reports count and rank by it, never by the sentence): the class
    default, or one given where the error is raised.
    """

    kind = "error"

    def __init__(self, *args: object, kind: str | None = None) -> None:
        super().__init__(*args)
        if kind is not None:
            self.kind = kind


class ConversationError(LossmaskError):
    """The conversation is malformed (wrong types, unknown roles, bad tool calls); names the JSON path."""

    kind = "malformed_conversation"


class TemplateRefusal(LossmaskError):
    """The chat template itself refused the conversation (``raise_exception`` or a Jinja/type error)."""

    kind = "template_refused"


class SegmentationError(LossmaskError):
    """The template's output could not be attributed to message fields (a reference limitation, reported).

    Kinds (each a documented limitation, docs/limitations.md): ``no_offsets``, ``reserved_code_points``,
    ``marker_overflow``, ``markers_change_render``.
    """

    kind = "segmentation"


#: The kind of a LossmaskError raised because the template refuses the reference's probe conversations.
PROBE_REFUSED = "probe_refused"
