"""One generator process: start it, read its handshake, send a request, wait for its answer with a deadline.

Every way a process can misbehave becomes a :class:`Failure` for the case at hand (timeout, death by signal,
garbage, a flood of output, an answer to another request); the process is then stopped and restarted lazily,
so the run goes on with the next case.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from typing import Any

from ..errors import UsageError
from .protocol import MAX_LINE, encode, problems

HANDSHAKE_TIMEOUT = 120.0
STDERR_TAIL = 2000


@dataclass
class Failure(Exception):
    verdict: str  # timeout | error | invalid_output
    message: str


class GeneratorProcess:
    def __init__(self, spec: str, command: list[str], env: dict[str, str] | None = None) -> None:
        self.spec = spec
        self.command = command
        self.env = env
        self.proc: subprocess.Popen | None = None
        self.lines: queue.Queue = queue.Queue()
        self.stderr_tail = b""
        self.handshake: dict[str, Any] = {}
        self.restarts = 0

    # -- lifecycle ------------------------------------------------------------------------------------------
    def start(self) -> dict[str, Any]:
        self.lines = queue.Queue()
        self.stderr_tail = b""
        try:
            self.proc = subprocess.Popen(self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=subprocess.PIPE, env=self.env, start_new_session=True)
        except OSError as exc:
            raise UsageError(f"generator {self.spec!r}: cannot start {self.command[0]!r}: {exc.strerror}") from None
        threading.Thread(target=self._read_stdout, args=(self.proc, self.lines), daemon=True).start()
        threading.Thread(target=self._read_stderr, args=(self.proc,), daemon=True).start()
        first = self._next_line(HANDSHAKE_TIMEOUT, "handshake")
        try:
            hello = json.loads(first)
        except (json.JSONDecodeError, UnicodeDecodeError):
            self.stop()
            raise UsageError(f"generator {self.spec!r}: handshake is not JSON: {first[:200]!r}") from None
        if isinstance(hello, dict) and "fatal" in hello:
            self.stop()
            raise UsageError(str(hello["fatal"]))
        bad = problems("handshake", hello)
        if bad:
            self.stop()
            raise UsageError(f"generator {self.spec!r}: invalid handshake: {bad[0]}")
        self.handshake = hello
        return hello

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            try:
                stream.close()  # type: ignore[union-attr]
            except OSError:
                pass
        proc.wait()

    # -- reading ----------------------------------------------------------------------------------------
    @staticmethod
    def _read_stdout(proc: subprocess.Popen, lines: queue.Queue) -> None:
        try:
            while True:
                line = proc.stdout.readline(MAX_LINE + 1)  # type: ignore[union-attr]
                if not line:
                    break
                if len(line) > MAX_LINE and not line.endswith(b"\n"):
                    lines.put(("flood", line[:200]))
                    return
                lines.put(("line", line))
        except (OSError, ValueError):
            pass
        lines.put(("eof", b""))

    def _read_stderr(self, proc: subprocess.Popen) -> None:
        try:
            for chunk in iter(lambda: proc.stderr.read1(4096), b""):  # type: ignore[union-attr]
                self.stderr_tail = (self.stderr_tail + chunk)[-STDERR_TAIL:]
        except (OSError, ValueError):
            pass

    def _died(self) -> str:
        proc = self.proc
        code = proc.wait(timeout=5) if proc else None
        if code is not None and code < 0:
            try:
                how = f"killed by {signal.Signals(-code).name}"
            except ValueError:
                how = f"killed by signal {-code}"
        else:
            how = f"exited with status {code}"
        tail = self.stderr_tail.decode("utf-8", "replace").strip().splitlines()[-3:]
        return f"generator process {how}" + (f"; stderr: {' | '.join(tail)}" if tail else "")

    def _next_line(self, timeout: float, what: str) -> bytes:
        try:
            kind, data = self.lines.get(timeout=timeout)
        except queue.Empty:
            self.stop()
            raise Failure("timeout", f"no {what} within {timeout:g} s; the process was stopped") from None
        if kind == "line":
            return data
        if kind == "flood":
            self.stop()
            raise Failure("invalid_output", f"{what} longer than {MAX_LINE} bytes (output flood); process stopped")
        message = self._died()
        self.stop()
        raise Failure("error", message)

    # -- one request ------------------------------------------------------------------------------------
    def request(self, req: dict[str, Any], timeout: float) -> dict[str, Any]:
        if self.proc is None:
            if self.handshake:
                self.restarts += 1
            self.start()
        try:
            self.proc.stdin.write(encode(req))  # type: ignore[union-attr]
            self.proc.stdin.flush()  # type: ignore[union-attr]
        except (BrokenPipeError, OSError):
            message = self._died()
            self.stop()
            raise Failure("error", message) from None
        line = self._next_line(timeout, "response")
        try:
            resp = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError):
            self.stop()
            raise Failure("invalid_output", f"response is not JSON: {line[:120]!r}") from None
        bad = problems("response", resp)
        if bad:
            self.stop()
            raise Failure("invalid_output", f"response does not follow the protocol: {bad[0]}")
        if resp["id"] != req["id"]:
            self.stop()
            raise Failure("invalid_output", f"response answers request {resp['id']!r}, expected {req['id']!r}")
        return resp


def command_for(spec: str) -> list[str]:
    """The process to start for a generator SPEC (our worker for Python specs).

    ``-P``: the current directory is not put first on the worker's import path, where a user's own package could
    shadow lossmask or its dependencies; the worker adds it once those are imported.
    """
    from ..generators import load

    if spec.startswith("jsonl:"):
        return load(spec).command
    return [sys.executable, "-P", "-m", "lossmask.runner.worker", spec]
