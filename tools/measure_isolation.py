"""Measure the isolation figures of docs/hostile-inputs.md: how fast ``lossmask check`` stops on SIGTERM, SIGINT
and SIGKILL with hanging process trees, what a hang, a ``setsid`` orphan and a generator sleeping half the
timeout get, and that no process survives any of them.

Run from the repository root with the test dependencies installed (psutil)::

    python tools/measure_isolation.py                   # all of them
    python tools/measure_isolation.py SIGTERM sleeper   # some (audit:SIGTERM:2 = audit --workers 2, SIGTERM)

Every process a run starts inherits a random ``LOSSMASK_TEST_TAG``; "left" counts live tagged processes 2 s
after the run ended. Figures depend on the machine's load: the doc states the load they were taken under.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path


ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
SCRATCH = Path(tempfile.mkdtemp(prefix="lossmask-isolation-"))
HOSTILE = "tests.generators.hostile"
sys.path.insert(0, str(ROOT))
from tests.procs import deliverable_sigint, tagged  # noqa: E402 - the same survivor count as the tests


def fresh() -> tuple[str, Path]:
    tag = uuid.uuid4().hex
    directory = SCRATCH / tag
    directory.mkdir()
    return tag, directory


def env(tag: str, directory: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "LOSSMASK_TEST_TAG": tag, "LOSSMASK_TEST_DIR": str(directory), "PYTHONPATH": str(ROOT),
            **extra}


def left_after(tag: str) -> int:
    time.sleep(2)
    alive = tagged(tag)
    for p in alive:
        p.kill()
    return len(alive)


def check(tag: str, directory: Path, *argv: str, **extra: str) -> tuple[subprocess.CompletedProcess, float, dict]:
    started = time.monotonic()
    proc = subprocess.run([PY, "-m", "lossmask", "check", *argv, "--json", str(directory / "r.json")], cwd=ROOT,
                          env=env(tag, directory, **extra), capture_output=True, text=True)
    return proc, time.monotonic() - started, json.loads((directory / "r.json").read_text())


def stop(sig: signal.Signals) -> None:
    tag, directory = fresh()
    proc = subprocess.Popen([PY, "-m", "lossmask", "check", f"{HOSTILE}:hangs_with_children", "--family", "qwen2_5",
                             "--jobs", "2", "--timeout", "300"], cwd=ROOT, env=env(tag, directory),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    while sum(1 for x in directory.iterdir() if x.name.startswith("hanging")) < 2:
        time.sleep(0.1)
    time.sleep(1.0)  # let both trees finish forking
    before = len(tagged(tag))
    sent = time.monotonic()
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    seconds = time.monotonic() - sent
    last = err.strip().splitlines()[-1:] if err.strip() else []
    print(f"{sig.name}: {before} tagged processes before; rc {proc.returncode} after {seconds:.2f} s; "
          f"{left_after(tag)} left 2 s later; stderr: {last}", flush=True)


def audit_stop(sig: signal.Signals, workers: int) -> None:
    tag, directory = fresh()
    data = directory / "data.jsonl"
    data.write_text("".join(json.dumps([{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": "a"}])
                            + "\n" for i in range(4)))
    proc = subprocess.Popen([PY, "-m", "lossmask", "audit", str(data), "--family", "qwen2_5", "--generator",
                             f"{HOSTILE}:hangs_with_children", "--workers", str(workers), "--chunk-size", "1",
                             "--timeout", "300", "--no-progress"], cwd=ROOT, env=env(tag, directory),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    while sum(1 for x in directory.iterdir() if x.name.startswith("hanging")) < workers:
        time.sleep(0.1)
    time.sleep(1.0)
    before = len(tagged(tag))
    sent = time.monotonic()
    proc.send_signal(sig)
    try:
        _, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:  # pool workers still hold stderr: the audit did not stop its processes
        proc.kill()
        err = "did not stop within 60 s"
    seconds = time.monotonic() - sent
    last = err.strip().splitlines()[-1:] if err.strip() else []
    print(f"audit --workers {workers} {sig.name}: {before} tagged processes before; rc {proc.returncode} after "
          f"{seconds:.2f} s; {left_after(tag)} left 2 s later; stderr: {last}", flush=True)


def orphan() -> None:
    tag, directory = fresh()
    proc, seconds, report = check(tag, directory, f"{HOSTILE}:leaves_setsid_grandchild", "--family", "qwen2_5",
                                  "--case", "plain_answer", "--case", "user_last", "--jobs", "1")
    spawned = sum(1 for x in directory.iterdir() if x.name.startswith("spawned"))
    print(f"setsid grandchild: rc {proc.returncode} in {seconds:.1f} s, verdicts "
          f"{[x['verdict'] for x in report['results']]}, grandchildren spawned {spawned}, "
          f"{left_after(tag)} left 2 s later", flush=True)


def hang() -> None:
    tag, directory = fresh()
    proc, seconds, report = check(tag, directory, f"{HOSTILE}:hangs_with_children", "--family", "qwen2_5", "--case",
                                  "plain_answer", "--case", "user_last", "--jobs", "1", "--timeout", "2")
    gen = report["generator"]
    print(f"hang with a process tree at --timeout 2: rc {proc.returncode} in {seconds:.1f} s, "
          f"{[(x['verdict'], x.get('seconds')) for x in report['results']]}, startup {gen['startup_seconds']} s "
          f"over {gen['restarts'] + 1} starts, {left_after(tag)} left 2 s later", flush=True)


def sleeper() -> None:
    tag, directory = fresh()
    proc, seconds, report = check(tag, directory, f"{HOSTILE}:sleeps_half_the_timeout", "--family", "qwen2_5",
                                  "--family", "llama3", "--family", "gpt_oss", "--category", "single_turn",
                                  "--timeout", "3", "--jobs", "1", LOSSMASK_TEST_SLEEP="1.5")
    times = [x.get("seconds", 0) for x in report["results"]]
    gen = report["generator"]
    print(f"sleeper 1.5 s at --timeout 3 --jobs 1: rc {proc.returncode} in {seconds:.1f} s, "
          f"{dict(Counter(x['verdict'] for x in report['results']))} of {len(report['results'])}, case seconds "
          f"{min(times):.2f}-{max(times):.2f}, startup {gen['startup_seconds']} s, prepare {gen['prepare_seconds']} s, "
          f"restarts {gen['restarts']}", flush=True)


def main() -> None:
    if {"-h", "--help"} & set(sys.argv[1:]):
        print(__doc__.strip())
        return
    deliverable_sigint()
    try:
        for what in sys.argv[1:] or ["sleeper", "orphan", "hang", "SIGTERM", "SIGINT", "SIGKILL", "audit:SIGTERM:2",
                                     "audit:SIGINT:2", "audit:SIGKILL:2", "audit:SIGTERM:1"]:
            if what.startswith("audit:"):
                _, sig, workers = what.split(":")
                audit_stop(signal.Signals[sig], int(workers))
            elif what.startswith("SIG"):
                stop(signal.Signals[what])
            elif what in ("sleeper", "orphan", "hang"):
                {"sleeper": sleeper, "orphan": orphan, "hang": hang}[what]()
            else:
                sys.exit(f"measure_isolation: unknown measurement {what!r} (see --help)")
    finally:
        shutil.rmtree(SCRATCH, ignore_errors=True)


if __name__ == "__main__":
    main()
