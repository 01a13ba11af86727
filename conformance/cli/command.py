"""How a subcommand presents itself: a one-line summary for ``lossmask --help``, a plain-text description and
worked examples in its own ``--help``. One helper so every subcommand looks the same (tests/test_cli.py checks
each one: a description, examples, no reStructuredText markup)."""

from __future__ import annotations

import argparse
import textwrap
from collections.abc import Sequence


def add_command(sub: argparse._SubParsersAction, name: str, *, summary: str, description: str,
                examples: Sequence[str]) -> argparse.ArgumentParser:
    """A subparser whose ``--help`` shows ``description`` (wrapped) and ``examples`` (one command a line)."""
    body = "\n\n".join(textwrap.fill(" ".join(par.split()), 100) for par in description.strip().split("\n\n"))
    epilog = "examples:\n" + "\n".join(f"  {e}" for e in examples)
    return sub.add_parser(name, help=summary, description=body, epilog=epilog,
                          formatter_class=argparse.RawDescriptionHelpFormatter)
