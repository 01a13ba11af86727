"""Atomic file writes: nothing this project writes is ever half-written.

Why: goldens, token tables, reports (JSON, JUnit, HTML, BENCHMARKS.md regions), audit examples and the
decompressed tokenizer cache are all read by other processes, sometimes while they are being rewritten (a
parallel test run, a second ``lossmask`` invocation sharing the cache, a crash mid-write). A reader must see the
old file or the new one, never a truncated mix. So the data goes to a temporary file in the *same directory*
(same filesystem, so the rename cannot become a copy) and ``os.replace`` swaps it in; on any error the temporary
file is removed and the target is left as it was.

The temporary file is created by :func:`tempfile.mkstemp`, so the written file has mode 0600 unless ``mode`` is
given.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["write_bytes", "write_text"]


def write_bytes(path: str | os.PathLike[str], data: bytes, *, mode: int | None = None) -> None:
    """Write ``data`` to ``path`` atomically, creating parent directories; ``mode`` sets its permissions."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text(path: str | os.PathLike[str], text: str, *, mode: int | None = None) -> None:
    """Write ``text`` as UTF-8 with ``\\n`` line endings (on every platform) to ``path`` atomically."""
    write_bytes(path, text.encode("utf-8"), mode=mode)
