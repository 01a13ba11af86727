"""One generator process: start it under its supervisor, read its handshake, prepare a tokenizer, answer a case.

Every way a process can misbehave becomes a :class:`Failure` for the case at hand (timeout, death by signal,
garbage, a flood of output, an answer to another request); the process is then stopped and restarted lazily,
so the run goes on with the next case.

Why no reader threads: the pipes are read with ``poll`` against a deadline, and the process's death is seen
through a pidfd, so nothing here can block on a descendant that keeps a pipe open (a ``setsid`` grandchild),
and stopping a process from another thread (Ctrl-C) only sends a signal. Every process runs under
:mod:`.supervise`, which kills its whole tree when it is stopped or when the generator exits.

Deadlines: the handshake (start-up: interpreter, imports) and ``prepare`` (loading a tokenizer, once per
template per process) have their own limits and are timed separately; a case's deadline starts when its request
is written.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from ..errors import UsageError
from . import supervise
from .limits import Limits
from .protocol import MAX_LINE, encode, problems

STDERR_TAIL = 2000
#: How long a stopped supervisor may take to kill its tree before the harness kills what it can find itself.
STOP_GRACE = 5.0


@dataclass
class Failure(Exception):
    verdict: str  # timeout | error | invalid_output
    message: str


@dataclass
class Timings:
    """Seconds spent outside cases: start-ups (handshakes) and tokenizer preparation."""

    startups: int = 0
    startup_seconds: float = 0.0
    prepares: int = 0
    prepare_seconds: float = 0.0
    prepared: set = field(default_factory=set)


class GeneratorProcess:
    def __init__(self, spec: str, command: list[str], env: dict[str, str] | None = None,
                 limits: Limits | None = None) -> None:
        self.spec = spec
        self.command = command
        self.env = env
        self.limits = limits or Limits()
        self.proc: subprocess.Popen | None = None
        self.pidfd: int | None = None
        self.buffer = b""
        self.stderr_tail = b""
        self.handshake: dict[str, Any] = {}
        self.restarts = 0
        self.timings = Timings()
        self.cancelled = threading.Event()
        self._lock = threading.Lock()

    # -- lifecycle ------------------------------------------------------------------------------------------
    def start(self) -> dict[str, Any]:
        """Start the process and read its handshake; a failure here is a :class:`Failure` (``error``)."""
        if self.cancelled.is_set():
            raise Failure("error", "the run was interrupted")
        self.buffer, self.stderr_tail = b"", b""
        argv = [sys.executable, "-I", "-S", supervise.__file__, str(os.getpid()), str(self.limits.memory_bytes),
                "--", *self.command]
        t0 = time.perf_counter()
        with self._lock:
            self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                         env=self.env, start_new_session=True, bufsize=0)
            try:
                self.pidfd = os.pidfd_open(self.proc.pid)
            except (AttributeError, OSError):  # no pidfds (old kernel, not Linux): poll with a short interval
                self.pidfd = None
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            os.set_blocking(stream.fileno(), False)  # type: ignore[union-attr]
        line = self._next_line(self.limits.startup_timeout, "handshake")
        try:
            hello = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError):
            self.stop()
            raise Failure("error", f"handshake is not JSON: {line[:200]!r}") from None
        if isinstance(hello, dict) and "fatal" in hello:  # our worker could not resolve the spec
            self.stop()
            raise UsageError(" ".join(str(hello["fatal"]).split()))
        bad = problems("handshake", hello)
        if bad:
            self.stop()
            raise Failure("error", f"invalid handshake: {bad[0]}")
        self.handshake = {k: clean_text(v) for k, v in hello.items()}
        self.timings.startups += 1
        self.timings.startup_seconds += time.perf_counter() - t0
        self.timings.prepared = set()
        return self.handshake

    def first_start(self) -> dict[str, Any]:
        """The run's first start: a generator that cannot even say hello is a usage error (exit 2), not a verdict."""
        try:
            return self.start()
        except Failure as exc:
            raise UsageError(f"generator {self.spec!r} did not start: {exc.message}") from None

    def kill(self) -> None:
        """Stop the process tree; safe from any thread (the owner's read then sees the death)."""
        with self._lock:
            proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        try:
            proc.send_signal(signal.SIGTERM)  # the supervisor kills the whole tree, then exits
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=STOP_GRACE)
        except subprocess.TimeoutExpired:  # a wedged supervisor: kill what can be found from here
            supervise._signal_all(supervise.descendants(proc.pid), signal.SIGKILL)
            proc.kill()
            proc.wait()

    def stop(self) -> None:
        """Kill the tree and release the pipes (the owner thread only)."""
        self.kill()
        with self._lock:
            proc, self.proc = self.proc, None
            pidfd, self.pidfd = self.pidfd, None
        if proc is None:
            return
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            try:
                stream.close()  # type: ignore[union-attr]
            except OSError:
                pass
        if pidfd is not None:
            os.close(pidfd)
        proc.wait()

    # -- reading ----------------------------------------------------------------------------------------
    def _drain(self, fd: int, into_stdout: bool) -> bool:
        """Read what is available; False at end of file."""
        while True:
            try:
                chunk = os.read(fd, 1 << 20)
            except BlockingIOError:
                return True
            except OSError:
                return False
            if not chunk:
                return False
            if into_stdout:
                self.buffer += chunk
                if b"\n" in chunk or len(self.buffer) > MAX_LINE:
                    return True
            else:
                self.stderr_tail = (self.stderr_tail + chunk)[-STDERR_TAIL:]

    def _died(self, wait: float = STOP_GRACE, when: str = "") -> str:
        proc = self.proc
        code = None
        if proc is not None:
            try:
                code = proc.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                code = None
        if code is None:
            how = "closed its output"
        elif code < 0:
            try:
                how = f"killed by {signal.Signals(-code).name}"
            except ValueError:
                how = f"killed by signal {-code}"
        else:
            how = f"exited with status {code}"
        if code is not None and code < 0 and -code in (signal.SIGKILL, signal.SIGSEGV, signal.SIGABRT, signal.SIGBUS) \
                and self.limits.memory_bytes:
            how += f" (memory limit {self.limits.memory_mib} MiB)"
        tail = self.stderr_tail.decode("utf-8", "replace").strip().splitlines()[-3:]
        return f"generator process {how}{when}" + (f"; stderr: {' | '.join(tail)}" if tail else "")

    def _take_line(self) -> bytes | None:
        at = self.buffer.find(b"\n")
        if at < 0:
            return None
        line, self.buffer = self.buffer[: at + 1], self.buffer[at + 1:]
        return line

    def _next_line(self, timeout: float, what: str, payload: bytes = b"") -> bytes:
        """Write ``payload`` (if any) and read one line, all within ``timeout`` seconds."""
        proc = self.proc
        assert proc is not None
        out_fd, err_fd = proc.stdout.fileno(), proc.stderr.fileno()  # type: ignore[union-attr]
        in_fd = proc.stdin.fileno()  # type: ignore[union-attr]
        poller = select.poll()
        poller.register(out_fd, select.POLLIN)
        poller.register(err_fd, select.POLLIN)
        if self.pidfd is not None:
            poller.register(self.pidfd, select.POLLIN)
        pending = memoryview(payload)
        if pending:
            poller.register(in_fd, select.POLLOUT)
        open_fds = {out_fd, err_fd}
        deadline = time.monotonic() + timeout
        while True:
            line = self._take_line()
            if line is not None:
                return line
            if len(self.buffer) > MAX_LINE:
                self.stop()
                raise Failure("invalid_output", f"{what} longer than {MAX_LINE} bytes (output flood); process stopped")
            left = deadline - time.monotonic()
            if left <= 0:
                self.stop()
                raise Failure("timeout", f"no {what} within {timeout:g} s; the process was stopped")
            slice_s = left if self.pidfd is not None else min(left, 0.05)
            events = poller.poll(max(1, int(slice_s * 1000)))
            dead = self.pidfd is not None and any(fd == self.pidfd for fd, _ in events)
            for fd, ev in events:
                if fd == in_fd:
                    try:
                        pending = pending[os.write(in_fd, pending):]
                    except BlockingIOError:
                        pass
                    except OSError:  # the reader is gone: its death follows
                        pending = pending[:0]
                    if not pending:
                        poller.unregister(in_fd)
                elif fd in open_fds and not self._drain(fd, fd == out_fd):
                    poller.unregister(fd)
                    open_fds.discard(fd)
            if self.pidfd is None:
                dead = proc.poll() is not None
            if dead or out_fd not in open_fds:
                self._drain(out_fd, True)
                self._drain(err_fd, False)
                line = self._take_line()
                if line is not None:
                    return line
                message = self._died(min(1.0, max(0.0, deadline - time.monotonic())) if not dead else STOP_GRACE,
                                     " before its handshake" if what == "handshake" else "")
                self.stop()
                if self.cancelled.is_set():
                    raise Failure("error", "the run was interrupted")
                raise Failure("error", message)

    # -- one request ------------------------------------------------------------------------------------
    def _exchange(self, req: dict[str, Any], timeout: float, what: str) -> dict[str, Any]:
        line = self._next_line(timeout, what, encode(req))
        try:
            resp = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
            self.stop()
            raise Failure("invalid_output", f"{what} is not JSON: {line[:120]!r}") from None
        except ValueError as exc:  # e.g. an integer literal past Python's digit limit
            self.stop()
            raise Failure("invalid_output", f"{what} is not usable JSON ({exc})") from None
        bad = problems("response", resp)
        if bad:
            self.stop()
            raise Failure("invalid_output", f"{what} does not follow the protocol: {bad[0]}")
        if resp["id"] != req["id"]:
            self.stop()
            raise Failure("invalid_output", f"{what} answers request {resp['id']!r}, expected {req['id']!r}")
        for key in ("error", "unsupported", "invalid"):
            if key in resp:
                resp[key] = clean_text(resp[key])
        return resp

    def ensure_started(self) -> None:
        if self.proc is None:
            if self.handshake:
                self.restarts += 1
            self.start()

    def prepare(self, req: dict[str, Any]) -> None:
        """Let a worker that asks for it (handshake ``"prepare": true``) load the case's tokenizer untimed."""
        self.ensure_started()
        if not self.handshake.get("prepare"):
            return
        key = (req["tokenizer_dir"], req["family"], req["variant"], req["chat_template"])
        if key in self.timings.prepared:
            return
        prep = {"id": f"prepare:{req['family']}/{req['variant']}", "prepare": True,
                **{k: req[k] for k in ("family", "variant", "tokenizer_dir", "chat_template")}}
        t0 = time.perf_counter()
        resp = self._exchange(prep, self.limits.prepare_timeout, "tokenizer preparation")
        self.timings.prepares += 1
        self.timings.prepare_seconds += time.perf_counter() - t0
        if "error" in resp:
            raise Failure("error", f"preparing the tokenizer failed: {resp['error']}")
        self.timings.prepared.add(key)

    def request(self, req: dict[str, Any], timeout: float) -> dict[str, Any]:
        """Send one case and wait for its answer; the deadline starts when the request is written."""
        self.prepare(req)
        return self._exchange(req, timeout, "response")


def worker_env(limits: Limits | None = None) -> dict[str, str]:
    """The environment of a generator process: ours, with transformers quiet and ``limits``' render limits."""
    # The worker finds modules in the current directory itself, after importing lossmask (see worker.py).
    env = dict(os.environ)
    env.setdefault("TRANSFORMERS_VERBOSITY", "error")
    env.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    if limits is not None:
        env.update(limits.render_env())
    return env


def clean_text(value: Any) -> Any:
    """A generator's string made safe to print and to write as UTF-8: lone surrogates become ``\\udXXX``."""
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    return value


def command_for(spec: str) -> list[str]:
    """The process to start for a generator SPEC (our worker for Python specs).

    ``-P``: the current directory is not put first on the worker's import path, where a user's own package could
    shadow lossmask or its dependencies; the worker adds it once those are imported.
    """
    import shutil

    from ..generators import load

    if spec.startswith("jsonl:"):
        command = load(spec).command
        if shutil.which(command[0]) is None:
            raise UsageError(f"generator {spec!r}: cannot start {command[0]!r}: not found or not executable")
        return command
    return [sys.executable, "-P", "-m", "lossmask.runner.worker", spec]
