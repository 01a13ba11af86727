"""Mask generators under test: how a SPEC string becomes a callable, and how its output is normalised.

The simplest generator a maintainer writes works as is (the shape of slime's ``get_loss_mask``)::

    def generate(tokenizer, messages, tools=None, **template_kwargs) -> tuple[list[int], list[int]]

Optional attributes on the function declare more (see :mod:`.normalise`): ``lossmask_encoding`` (``mask``,
``labels``, ``shifted``, ``inverted``), ``lossmask_profile`` (the profile it claims), ``lossmask_name`` and
``lossmask_version``. Raising ``NotImplementedError`` declines a case (verdict ``unsupported``).
"""

from .normalise import ENCODINGS, InvalidOutput, LengthMismatch, Unsupported, normalise
from .resolve import Generator, load

__all__ = ["ENCODINGS", "Generator", "InvalidOutput", "LengthMismatch", "Unsupported", "load", "normalise"]
