"""The generator supervisor on its own: stop signals at any moment, and the generator's exit status passed on.

These start ``supervise.py`` exactly as the harness does (``python -I -S supervise.py PARENT MEMORY -- ...``) with
a small program as the generator, so a failure here is the supervisor's, not the runner's.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid

import pytest

from lossmask.runner import supervise

from .procs import survivors, tagged

#: A generator that forks three sleepers in sessions of their own (no process-group signal reaches them), says
#: "ready" once they run, and sleeps. The sleepers hold none of our pipes, so a failure reads as one.
FORKS_SLEEPERS = (
    "import subprocess, sys, time\n"
    "for _ in range(3):\n"
    "    subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'], start_new_session=True,\n"
    "                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
    "print('ready', flush=True)\n"
    "time.sleep(120)\n")


def start(program: str, tag: str = "") -> subprocess.Popen:
    """The supervisor and everything under it carry ``LOSSMASK_TEST_TAG=tag`` (tests/procs.py finds them)."""
    return subprocess.Popen([sys.executable, "-I", "-S", supervise.__file__, str(os.getpid()), "0", "--",
                             sys.executable, "-c", program], env={**os.environ, "LOSSMASK_TEST_TAG": tag},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)


def test_a_storm_of_stop_signals_still_kills_the_whole_tree():
    """Before, the supervisor stopped by raising from a signal handler; a second SIGTERM landing in its cleanup
    (the harness's stop, then the parent-death signal) killed it by its own exception with the tree still
    running: 5 of 20 such storms left the sleepers behind. Now stop signals wait, blocked, to be read."""
    for _ in range(20):
        tag = uuid.uuid4().hex
        proc = start(FORKS_SLEEPERS, tag)
        assert proc.stdout.readline() == b"ready\n"
        assert len(supervise.descendants(proc.pid)) == 4  # the generator and its three sleepers
        deadline = time.monotonic() + 30
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                os.kill(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                break
        _, err = proc.communicate(timeout=30)
        left = survivors(tag)
        for survivor in tagged(tag):
            survivor.kill()
        assert not left, f"left running: {left}; supervisor stderr: {err.decode()[-300:]!r}"
        assert proc.returncode == 1 and err == b""  # stopped: status 1, and nothing escaped onto stderr


@pytest.mark.parametrize("program, code", [
    ("import sys; sys.exit(7)", 7),
    ("import os, signal; os.kill(os.getpid(), signal.SIGTERM)", -signal.SIGTERM),
    # SIGKILL has no disposition to reset: before, setting one raised and the harness read "status 1"
    # instead of "killed by SIGKILL" (which it reports with the memory limit)
    ("import os, signal; os.kill(os.getpid(), signal.SIGKILL)", -signal.SIGKILL),
])
def test_the_generators_exit_status_is_the_supervisors(program, code):
    proc = start(program)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code and err == b""
