"""Errors the reference raises. One line each, naming the message index and field involved."""

from __future__ import annotations


class LossmaskError(Exception):
    """Base class of every user-facing error in lossmask (reference and harness)."""


class ConversationError(LossmaskError):
    """The conversation is malformed (wrong types, unknown roles, bad tool calls); names the JSON path."""


class TemplateRefusal(LossmaskError):
    """The chat template itself refused the conversation (``raise_exception`` or a Jinja/type error)."""


class SegmentationError(LossmaskError):
    """The template's output could not be attributed to message fields (a reference limitation, reported)."""
