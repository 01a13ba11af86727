"""Finding the processes one test (or one measurement) started: each inherits a random ``LOSSMASK_TEST_TAG``.

Shared by tests/test_isolation.py and tools/measure_isolation.py, so the figures in docs/hostile-inputs.md and
the tests count survivors the same way.
"""

from __future__ import annotations

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
