"""Small helpers the adapters share: importing a framework with a clear 'not installed' message, versions."""

from __future__ import annotations

import importlib
from importlib import metadata
from typing import Any


def need(module: str, dist: str, framework: str) -> Any:
    """Import ``module`` or raise NotImplementedError naming the package to install (verdict ``unsupported``)."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise NotImplementedError(f"{framework} is not installed here ({exc}); install {dist} (nox -s peers)") from None


def version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def plain(value: Any) -> list[int]:
    """A flat list of ints from a list, tensor or nested [1, n] batch."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    if value and isinstance(value[0], list):
        if len(value) != 1:
            raise ValueError(f"expected one sequence, got a batch of {len(value)}")
        value = value[0]
    return [int(v) for v in value]
