"""The resource limits of a generator process, with their defaults, validation and command-line flags.

Why one place: ``check`` and ``audit --generator`` run generators in the same isolated workers, so they take the
same limits with the same names (docs/hostile-inputs.md lists them). A limit that is zero, negative, not a
number or infinite is a usage error, never a silently empty run.
"""

from __future__ import annotations

import argparse
import math
import os
from dataclasses import dataclass

from ..errors import UsageError

#: Address-space limit of a generator process (RLIMIT_AS), MiB. The reference's worker with transformers and four
#: bundled tokenizers loaded (gpt_oss, qwen3_5, deepseek_v4, mistral_nemo) peaks at 0.65 GiB of address space on
#: 2 CPUs; thread pools and malloc arenas reserve more on machines with more CPUs, hence the headroom.
DEFAULT_MEMORY_MIB = int(os.environ.get("LOSSMASK_GENERATOR_MEMORY_MIB", "8192"))
DEFAULT_TIMEOUT = 60.0
#: Start-up (interpreter, imports, handshake) and tokenizer preparation are not part of any case's deadline.
DEFAULT_STARTUP_TIMEOUT = 120.0
DEFAULT_PREPARE_TIMEOUT = 300.0


def positive_seconds(value: float, flag: str) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) or value <= 0:
        raise UsageError(f"{flag} {value!r}: must be a finite number of seconds greater than 0")
    return float(value)


@dataclass(frozen=True)
class Limits:
    timeout: float = DEFAULT_TIMEOUT
    startup_timeout: float = DEFAULT_STARTUP_TIMEOUT
    prepare_timeout: float = DEFAULT_PREPARE_TIMEOUT
    memory_mib: int = DEFAULT_MEMORY_MIB
    #: The reference's render limits inside the generator process (``reference`` and generators built on
    #: lossmask.reference); None: that process's default (``$LOSSMASK_RENDER_TIMEOUT`` / ``..._MAX_CHARS``).
    render_seconds: float | None = None
    render_max_chars: int | None = None

    def __post_init__(self) -> None:
        positive_seconds(self.timeout, "--timeout")
        if self.render_seconds is not None:
            positive_seconds(self.render_seconds, "--render-timeout")
        if self.render_max_chars is not None and (isinstance(self.render_max_chars, bool)
                                                  or not isinstance(self.render_max_chars, int)
                                                  or self.render_max_chars < 1):
            raise UsageError(f"--render-max-chars {self.render_max_chars!r}: must be a whole number >= 1")
        positive_seconds(self.startup_timeout, "--startup-timeout")
        positive_seconds(self.prepare_timeout, "--prepare-timeout")
        if isinstance(self.memory_mib, bool) or not isinstance(self.memory_mib, int) or self.memory_mib < 0:
            raise UsageError(f"--memory-limit {self.memory_mib!r}: must be a whole number of MiB (0 = no limit)")

    @property
    def memory_bytes(self) -> int:
        return self.memory_mib * 1024 * 1024

    def render_env(self) -> dict[str, str]:
        """The environment variables that set these render limits in a generator process."""
        out = {}
        if self.render_seconds is not None:
            out["LOSSMASK_RENDER_TIMEOUT"] = repr(float(self.render_seconds))
        if self.render_max_chars is not None:
            out["LOSSMASK_RENDER_MAX_CHARS"] = str(self.render_max_chars)
        return out


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: must be a finite number of seconds greater than 0")
    return value


def whole_number(minimum: int):
    """An argparse type: a whole number of at least ``minimum``."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{text!r}: must be at least {minimum}")
        return value

    return parse


def add_limit_args(p: argparse.ArgumentParser, timeout_help: str) -> None:
    """The generator limits as flags (argparse rejects bad values: exit 2 with one line)."""
    p.add_argument("--timeout", type=_seconds, default=DEFAULT_TIMEOUT, help=timeout_help)
    p.add_argument("--startup-timeout", type=_seconds, default=DEFAULT_STARTUP_TIMEOUT,
                   help=f"seconds a generator process may take to start (default {DEFAULT_STARTUP_TIMEOUT:g}); "
                   "not counted in any case's time")
    p.add_argument("--prepare-timeout", type=_seconds, default=DEFAULT_PREPARE_TIMEOUT,
                   help=f"seconds a worker may take to load a tokenizer (default {DEFAULT_PREPARE_TIMEOUT:g}); "
                   "not counted in any case's time")
    p.add_argument("--memory-limit", type=whole_number(0), default=DEFAULT_MEMORY_MIB, metavar="MIB",
                   help=f"address-space limit of each generator process in MiB (default {DEFAULT_MEMORY_MIB}; "
                   "0 = none)")


def from_args(args: argparse.Namespace) -> Limits:
    return Limits(timeout=args.timeout, startup_timeout=args.startup_timeout, prepare_timeout=args.prepare_timeout,
                  memory_mib=args.memory_limit, render_seconds=getattr(args, "render_timeout", None),
                  render_max_chars=getattr(args, "render_max_chars", None))


def add_render_limit_args(p: argparse.ArgumentParser, where: str = "") -> None:
    """Limits of the reference's own template renders (see lossmask.reference.render_limits)."""
    from lossmask.reference import render_limits as R

    where = f" {where}" if where else ""
    p.add_argument("--render-timeout", type=_seconds, default=None, metavar="SECONDS",
                   help=f"seconds one template render{where} may take (default {R.DEFAULT_SECONDS:g}; "
                   "$LOSSMASK_RENDER_TIMEOUT)")
    p.add_argument("--render-max-chars", type=whole_number(1), default=None, metavar="N",
                   help=f"characters a render{where} (or any value it builds) may reach "
                   f"(default {R.DEFAULT_MAX_CHARS:,}; $LOSSMASK_RENDER_MAX_CHARS)")

