"""Typed errors of the harness. Each carries a one-line message that names what was wrong and where.

The CLI turns every :class:`LossmaskError` into one line on stderr and exit code 2 (1 for a
:class:`HarnessError`, which fails a run rather than rejecting its input); nothing here should ever reach a user
as a traceback.
"""

from __future__ import annotations


from lossmask.reference.errors import ConversationError, LossmaskError, SegmentationError, TemplateRefusal

__all__ = [
    "AssetError", "CaseError", "ConversationError", "HarnessError", "LossmaskError", "SegmentationError", "TemplateRefusal",
    "UsageError",
]


class AssetError(LossmaskError):
    """A bundled or user tokenizer/template could not be loaded or failed its hash check."""


class CaseError(LossmaskError):
    """A conversation or case file is malformed; the message names the file, case and JSON path."""


class UsageError(LossmaskError):
    """Bad command-line or API usage (unknown family, profile, generator...)."""


class HarnessError(LossmaskError):
    """The harness itself failed (a lost case, a crash while judging): the run fails with exit code 1, named."""

    exit_code = 1
