"""Finding the processes one test (or one measurement) started: each inherits a random ``LOSSMASK_TEST_TAG``.

Shared by tests/test_isolation.py and tools/measure_isolation.py, so the figures in docs/hostile-inputs.md and
the tests count survivors the same way.
"""

from __future__ import annotations

import signal
import time

import psutil


def tagged(tag: str) -> list[psutil.Process]:
    """Live (not zombie) processes whose environment carries ``LOSSMASK_TEST_TAG=tag``."""
    out = []
    for proc in psutil.process_iter(["pid"]):
        try:
            if proc.status() != psutil.STATUS_ZOMBIE and proc.environ().get("LOSSMASK_TEST_TAG") == tag:
                out.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return out


def survivors(tag: str, wait: float = 5.0) -> list[str]:
    """What is still alive after ``wait`` seconds (cleanup after SIGKILL is asynchronous, so allow a moment)."""
    deadline = time.monotonic() + wait
    while True:
        alive = tagged(tag)
        if not alive or time.monotonic() > deadline:
            return [" ".join(p.cmdline())[:120] for p in alive if p.is_running()]
        time.sleep(0.1)


def deliverable_sigint() -> None:
    """Make SIGINT reach the processes started after this call.

    Why: a process started in the background by a non-interactive shell (``cmd &``, ``nohup``, some CI runners)
    inherits SIGINT *ignored*, and Python then keeps it ignored, so a CLI started from here would not react to
    Ctrl-C at all: the SIGINT tests would measure how they were launched, not lossmask. A handler (unlike an
    ignored disposition) is reset by exec, so the CLI starts with Python's default SIGINT handling. Call it in
    the main thread.
    """
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
