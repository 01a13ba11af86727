"""Atomic file writes: nothing this project writes is ever half-written.

Why: goldens, token tables, reports (JSON, JUnit, HTML, BENCHMARKS.md regions), audit examples and the
decompressed tokenizer cache are all read by other processes, sometimes while they are being rewritten (a
parallel test run, a second ``lossmask`` invocation sharing the cache, a crash mid-write). A reader must see the
old file or the new one, never a truncated mix. So the data goes to a temporary file in the *same directory*
(same filesystem, so the rename cannot become a copy) and ``os.replace`` swaps it in; on any error the temporary
file is removed and the target is left as it was.

:func:`tempfile.mkstemp` creates the temporary file with mode 0600; it is widened to what a plain ``open()``
would give (0666 less the umask) unless ``mode`` is given, so goldens and reports are readable like any file.

Renaming only works for regular files. A target that is something else (``--junit /dev/stdout``, a FIFO, a
terminal), or a regular file reached through an open descriptor (``/dev/stdout`` redirected to a file, whose
writer would be left holding the replaced file), is written in place: a device or pipe has no old content that a
half-written file could destroy. A symlink to a regular file keeps being a symlink: its target is replaced.
"""

from __future__ import annotations

import os
import re
import stat
import tempfile
from pathlib import Path

__all__ = ["write_bytes", "write_text", "write_texts_together"]


def _default_mode() -> int:
    mask = os.umask(0)  # reading the umask means setting it; restore at once
    os.umask(mask)
    return 0o666 & ~mask


#: Names of an already open descriptor: /dev/stdout, /dev/stderr, /dev/fd/N, /proc/<pid or self>/fd/N.
_DESCRIPTOR = re.compile(r"/dev/std(?:out|err)|/dev/fd/\d+|/proc/[^/]+/fd/\d+")


def _written_in_place(path: Path) -> bool:
    """A target that exists and is not a regular file, or a regular file named through an open descriptor."""
    try:
        st = os.stat(path)  # follows symlinks: /dev/stdout is one
    except (FileNotFoundError, NotADirectoryError):
        return False
    return not stat.S_ISREG(st.st_mode) or _DESCRIPTOR.fullmatch(os.path.abspath(path)) is not None


def write_bytes(path: str | os.PathLike[str], data: bytes, *, mode: int | None = None) -> None:
    """Write ``data`` to ``path`` atomically, creating parent directories; ``mode`` sets its permissions.

    Targets that are not regular files are written in place (see the module docstring).
    """
    target = Path(path)
    if _written_in_place(target):
        with open(target, "wb") as fh:
            fh.write(data)
        return
    if target.is_symlink():  # replace what it points at, not the link
        target = Path(os.path.realpath(target))
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
