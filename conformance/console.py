"""The one place the command line's rich consoles are made.

Why: with no terminal attached (a CI job, output captured by a runner) and ``COLUMNS`` unset, rich falls back to
80 columns and squeezes tables into ellipses (``qwen3/…``, ``tokens…`` in the ``lossmask smoke`` table), so a CI
log cannot show the results. When rich can find no terminal width at all, the console is
:data:`WIDTH_WITHOUT_TERMINAL` columns wide instead. When a terminal is attached, or ``COLUMNS`` is set, rich's
own width is kept. JSON outputs never go through a console.
"""

from __future__ import annotations

import os

from rich.console import Console

__all__ = ["WIDTH_WITHOUT_TERMINAL", "make_console"]

#: Width for output with no terminal: the ``lossmask smoke`` table (about 106 columns) fits untruncated.
WIDTH_WITHOUT_TERMINAL = 120


def _terminal_width_known() -> bool:
    """Whether rich could size the output: ``COLUMNS`` is set or a standard stream is a terminal (as rich checks)."""
    if os.environ.get("COLUMNS", "").isdigit():
        return True
    for fd in (0, 1, 2):
        try:
            columns = os.get_terminal_size(fd).columns
        except (AttributeError, ValueError, OSError):  # not a terminal
            continue
        return columns > 0  # a pseudo-terminal can report 0: rich then falls back to 80 as well
    return False


def make_console(*, stderr: bool = False) -> Console:
    """A rich console on stdout (or stderr), :data:`WIDTH_WITHOUT_TERMINAL` columns wide when no terminal says."""
    console = Console(stderr=stderr)
    if not console.is_jupyter and not _terminal_width_known():
        console.width = WIDTH_WITHOUT_TERMINAL
    return console
