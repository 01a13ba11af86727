"""Report outputs of every subcommand: one spelling, ``-`` for standard output, checked before any work starts.

Every subcommand that writes a report takes it as ``--json PATH`` / ``--junit PATH`` / ``--html PATH`` /
``--markdown PATH`` (old spellings stay as aliases), where ``-`` means standard output. Each target is checked when
the command starts (:func:`preflight`), so a path that cannot be written is one line and exit code 2 before any
case runs, not a traceback after the whole run. Files are written atomically, and targets that are not regular
files (``/dev/stdout``, a FIFO) in place (:mod:`lossmask.atomic`).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable
from pathlib import Path

from ..atomic import write_text
from ..errors import UsageError

STDOUT = "-"


def add_report(p: argparse.ArgumentParser, flag: str, what: str, *aliases: str, stdout_flag: bool = False) -> None:
    """``flag PATH`` writes ``what`` there (``-``: standard output). ``stdout_flag``: the flag alone means ``-``
    (for commands whose ``--json`` used to be a switch)."""
    extra = {"nargs": "?", "const": STDOUT} if stdout_flag else {}
    alias = f"; {', '.join(aliases)} is an older spelling" if aliases else ""
    bare = " (alone: standard output)" if stdout_flag else ""
    action = p.add_argument(flag, *aliases, dest=flag.lstrip("-").replace("-", "_"), metavar="PATH",
                            help=f"write {what} to PATH ('-': standard output){bare}{alias}", **extra)
    action.lossmask_report = True  # type: ignore[attr-defined]  # (tests/test_cli.py finds report options by it)


def preflight(args: argparse.Namespace, flags: Iterable[str]) -> None:
    """Check every report target named on the command line: writable, and at most one on standard output."""
    given = [(flag, getattr(args, flag.lstrip("-").replace("-", "_"), None)) for flag in flags]
    given = [(flag, value) for flag, value in given if value is not None]
    on_stdout = [flag for flag, value in given if value == STDOUT]
    if len(on_stdout) > 1:
        raise UsageError(f"{' and '.join(on_stdout)} both write to standard output ('-'); give one of them a file")
    for flag, value in given:
        if value != STDOUT:
            check_writable(flag, value)


def any_on_stdout(args: argparse.Namespace, flags: Iterable[str]) -> bool:
    return any(getattr(args, f.lstrip("-").replace("-", "_"), None) == STDOUT for f in flags)


def check_writable(flag: str, path: str) -> None:
    """A one-line :class:`UsageError` unless ``path`` can be written (created with its parents, or replaced)."""
    target = Path(path)
    if not path:
        raise UsageError(f"{flag}: empty path")
    if target.exists():
        if target.is_dir():
            raise UsageError(f"{flag} {path}: is a directory")
        if not os.access(target, os.W_OK):
            raise UsageError(f"{flag} {path}: not writable (permission denied)")
        if target.is_file() and not _writable_dir(Path(os.path.realpath(target)).parent):
            raise UsageError(f"{flag} {path}: its directory is not writable, so the file cannot be replaced")
        return
    ancestor = Path(os.path.abspath(target)).parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise UsageError(f"{flag} {path}: cannot be created, {ancestor} is not a directory")
    if not _writable_dir(ancestor):
        raise UsageError(f"{flag} {path}: cannot be created, {ancestor} is not writable (permission denied)")


def _writable_dir(directory: Path) -> bool:
    return os.access(directory, os.W_OK | os.X_OK)


def write(path: str, text: str) -> None:
    """``text`` to ``path`` (atomically) or, for ``-``, to standard output."""
    if path == STDOUT:
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        write_text(path, text)
