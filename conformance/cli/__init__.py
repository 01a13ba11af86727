"""The ``lossmask`` command line. One module per subcommand, each with ``add_parser`` and ``run``.

Every :class:`~reference.errors.LossmaskError` becomes one line on stderr and exit code 2; a subcommand
returns 0 (success) or 1 (a check found failures).
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys

# transformers prints advisory warnings (no PyTorch, tokenizer class notes) that are noise for this tool.
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")

#: Subcommand modules, in help order. A module missing from this checkout is skipped.
COMMANDS = ("families", "mask", "check", "doctor", "regenerate", "smoke", "bench", "audit", "zoo")


def installed(name: str) -> str:
    """The installed version of a distribution (read from its metadata, without importing it)."""
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def version_line() -> str:
    """``lossmask X (transformers Y, tokenizers Z, Python V)``: what a bug report needs."""
    from lossmask import __version__

    return (f"lossmask {__version__} (transformers {installed('transformers')}, tokenizers {installed('tokenizers')}, "
            f"Python {sys.version.split()[0]})")


#: Commands whose results depend on the installed transformers/tokenizers (they render, or compare renders).
VERSION_SENSITIVE = frozenset({"mask", "check", "regenerate", "smoke", "bench", "audit", "zoo"})


def matrix_warning() -> str | None:
    """One line when the installed (transformers, tokenizers) pair is no cell of the tested matrix
    (:mod:`lossmask.matrix`, the list the noxfile's conformance sessions are made from)."""
    from lossmask import matrix

    transformers, tokenizers = installed("transformers"), installed("tokenizers")
    if matrix.in_matrix(transformers, tokenizers):
        return None
    cells = ", ".join(f"{c.transformers}/{c.tokenizers}" for c in matrix.CELLS)
    return (f"lossmask: warning: transformers {transformers} with tokenizers {tokenizers} is outside the tested "
            f"matrix ({cells}); renders can differ from the goldens (`lossmask doctor` checks this environment)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lossmask", description="Conformance suite for SFT loss masks on real tokenizers and chat templates.",
        epilog="`lossmask COMMAND --help` describes a command, with examples. Exit codes: 0 success, 1 a check "
               "found failures (or the harness itself failed, named), 2 usage error (one line on stderr).",
    )
    parser.add_argument("--version", action="version", version=version_line())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"{__name__}.{name}":
                continue
            raise
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    from lossmask.reference.errors import LossmaskError

    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command in VERSION_SENSITIVE:
        warning = matrix_warning()
        if warning:
            print(warning, file=sys.stderr)
    previous = _terminate_on_sigterm()
    try:
        return int(args.run(args) or 0)
    except LossmaskError as exc:
        one_line = " ".join(str(exc).split())  # the contract is one line, whatever a library put in it
        print(f"lossmask {args.command}: error: {one_line}", file=sys.stderr)
        return getattr(exc, "exit_code", 2)
    except KeyboardInterrupt:
        print(f"lossmask {args.command}: interrupted", file=sys.stderr)
        return 130
    except Terminated:
        print(f"lossmask {args.command}: terminated (SIGTERM); every generator process was stopped", file=sys.stderr)
        return 143
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


class Terminated(BaseException):
    """SIGTERM, raised in the main thread so the runner's cleanup (stopping every process tree) runs."""


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated


def _terminate_on_sigterm():
    """While a command runs, SIGTERM unwinds like Ctrl-C instead of killing us with workers still running."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, _raise_terminated)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
