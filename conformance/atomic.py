"""Atomic file writes: nothing this project writes is ever half-written.

Why: goldens, token tables, reports (JSON, JUnit, HTML, BENCHMARKS.md regions), audit examples and the
decompressed tokenizer cache are all read by other processes, sometimes while they are being rewritten (a
parallel test run, a second ``lossmask`` invocation sharing the cache, a crash mid-write). A reader must see the
old file or the new one, never a truncated mix. So the data goes to a temporary file in the *same directory*
(same filesystem, so the rename cannot become a copy) and ``os.replace`` swaps it in; on any error the temporary
file is removed and the target is left as it was.

:func:`tempfile.mkstemp` creates the temporary file with mode 0600; it is widened to what a plain ``open()``
would give (0666 less the umask) unless ``mode`` is given, so goldens and reports are readable like any file.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["write_bytes", "write_text", "write_texts_together"]


def _default_mode() -> int:
    mask = os.umask(0)  # reading the umask means setting it; restore at once
    os.umask(mask)
    return 0o666 & ~mask


def write_bytes(path: str | os.PathLike[str], data: bytes, *, mode: int | None = None) -> None:
    """Write ``data`` to ``path`` atomically, creating parent directories; ``mode`` sets its permissions."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, _default_mode() if mode is None else mode)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text(path: str | os.PathLike[str], text: str, *, mode: int | None = None) -> None:
    """Write ``text`` as UTF-8 with ``\\n`` line endings (on every platform) to ``path`` atomically."""
    write_bytes(path, text.encode("utf-8"), mode=mode)


def write_texts_together(files: list[tuple[str | os.PathLike[str], str]]) -> None:
    """Write several UTF-8 files as one unit: every temporary file is complete before the first rename.

    A failure while writing leaves every target as it was. The renames happen in the order given, so the
    file that says a unit is complete goes last (a golden's JSON after its token table): a crash between two
    renames leaves a newer companion beside an older last file, which a reader that checks one against the
    other (``regenerate --check``) detects.
    """
    temps: list[tuple[str, Path]] = []
    try:
        for path, text in files:
            target = Path(path)
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
            temps.append((tmp, target))
            with os.fdopen(fd, "wb") as fh:
                fh.write(text.encode("utf-8"))
            os.chmod(tmp, _default_mode())
        for tmp, target in temps:
            os.replace(tmp, target)
    except BaseException:
        for tmp, _ in temps:
            Path(tmp).unlink(missing_ok=True)
        raise
