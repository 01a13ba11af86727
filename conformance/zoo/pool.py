"""Zoo worker processes: every template renders in a child process with a deadline and a memory ceiling.

Why processes: the corpus is 786 third-party templates. Jinja's sandbox stops attribute escapes but not a loop
that never ends or a string multiplied into gigabytes, and a template must not be able to stop the run or
exhaust the machine. Each worker (``spawn``: no state inherited from the parent) sets ``RLIMIT_AS`` before it
loads anything, then classifies one template at a time. A template that overruns its deadline, or a worker that
dies (a MemoryError the interpreter could not survive, a signal), costs that template a one-line problem
(``timeout`` / ``worker_died``); the worker is replaced and the run goes on. A template the reference's own
render limits stop (``lossmask.reference.render_limits``, usually well before the deadline) is a
``render_limit`` problem of that template.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any

from .corpus import ZooTemplate
from .records import TemplateOutcome

#: Seconds one template (all its scenarios, invariant checks included) may take.
DEFAULT_TIMEOUT = 120.0
#: Address-space ceiling per worker, MiB (the bundled tokenizers take about 1 GiB).
DEFAULT_MEMORY_MB = 6144


@dataclass(frozen=True)
class Limits:
    timeout: float = DEFAULT_TIMEOUT
    memory_mb: int = DEFAULT_MEMORY_MB


def _serve(conn: Connection, memory_mb: int) -> None:
    """Child process: classify templates received on ``conn`` until it is closed."""
    import resource

    limit = memory_mb * 1024 * 1024
    try:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ValueError, OSError):  # a lower hard limit is already in force: keep it
        pass
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    from lossmask.reference.render_limits import RenderLimitExceeded

    from . import choose, classify

    pool = choose.candidates()
    conn.send(("ready", None))
    while True:
        try:
            template = conn.recv()
        except EOFError:
            return
        if template is None:
            return
        try:
            outcome = classify.run_template(template, pool)
        except MemoryError:
            outcome = _problem(template, "memory", f"exceeded the {memory_mb} MiB memory ceiling")
        except RenderLimitExceeded as exc:  # the reference's own render limits stopped it first
            outcome = _problem(template, "render_limit", str(exc))
        except Exception as exc:  # classify catches per scenario; this is the last guard for the worker
            outcome = _problem(template, "worker_error", f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
                               if str(exc) else type(exc).__name__)
        conn.send(("done", outcome))


def _problem(t: ZooTemplate, kind: str, message: str) -> TemplateOutcome:
    return TemplateOutcome(t.name, t.origin, t.repo, t.sha256, problem=message, problem_kind=kind)


class _Worker:
    def __init__(self, ctx: Any, limits: Limits) -> None:
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_serve, args=(child, limits.memory_mb), daemon=True)
        self.process.start()
        child.close()
        self.job: ZooTemplate | None = None
        self.started = 0.0
        self.ready = False

    def give(self, template: ZooTemplate) -> None:
        self.job, self.started = template, time.monotonic()
        self.conn.send(template)

    def stop(self) -> None:
        try:
            self.conn.send(None)
        except (OSError, ValueError):
            pass
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.conn.close()

    def kill(self) -> None:
        self.process.kill()
        self.process.join()
        self.conn.close()


#: Seconds a fresh worker may take to load every bundled tokenizer before it counts as dead.
STARTUP_TIMEOUT = 300.0


def run(templates: Iterable[ZooTemplate], workers: int, limits: Limits,
        on_start: Callable[[ZooTemplate], None] | None = None) -> Iterator[TemplateOutcome]:
    """Classify every template in worker processes; yields outcomes as they finish (any order)."""
    ctx = mp.get_context("spawn")
    queue = list(templates)[::-1]
    pool = [_Worker(ctx, limits) for _ in range(max(1, min(workers, len(queue))))]
    born = {id(w): time.monotonic() for w in pool}
    try:
        while queue or any(w.job is not None for w in pool):
            for w in pool:
                if w.ready and w.job is None and queue:
                    template = queue.pop()
                    if on_start:
                        on_start(template)
                    w.give(template)
            ready = wait([w.conn for w in pool], timeout=1.0)
            now = time.monotonic()
            for k, w in enumerate(pool):
                if w.conn in ready:
                    try:
                        kind, payload = w.conn.recv()
                    except (EOFError, OSError):
                        kind, payload = "died", None
                    if kind == "ready":
                        w.ready = True
                        continue
                    if kind == "done":
                        w.job = None
                        yield payload
                        continue
                    job = w.job
                    code = w.process.exitcode
                    w.kill()
                    pool[k] = _Worker(ctx, limits)
                    born[id(pool[k])] = time.monotonic()
                    if job is not None:
                        yield _problem(job, "worker_died", f"the worker process died (exit code {code}) while "
                                       f"rendering it")
                    elif not queue:
                        continue
                    else:
                        raise RuntimeError(f"a zoo worker died while starting (exit code {code})")
                elif w.job is not None and now - w.started > limits.timeout:
                    job = w.job
                    w.kill()
                    pool[k] = _Worker(ctx, limits)
                    born[id(pool[k])] = time.monotonic()
                    yield _problem(job, "timeout", f"did not finish within {limits.timeout:g} s (all scenarios)")
                elif not w.ready and now - born[id(w)] > STARTUP_TIMEOUT:
                    raise RuntimeError(f"a zoo worker did not start within {STARTUP_TIMEOUT:g} s")
    finally:
        for w in pool:
            w.stop()
