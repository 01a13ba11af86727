"""Run one generator over the selected (family, variant, case) triples in isolated worker processes.

Each worker thread owns one generator process and takes tasks from a shared queue, grouped by template so a
process loads each tokenizer once. The harness never runs generator code itself.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lossmask.reference.errors import LossmaskError

from .. import assets
from .. import golden as G
from ..cases import Case, load_cases
from ..compare import compare, from_failure, from_response, not_judged
from ..errors import HarnessError, UsageError
from .limits import Limits, positive_seconds
from .process import STOP_GRACE, Failure, GeneratorProcess, command_for, worker_env
from .verdict import Result


#: How a case's message starts when the harness itself failed while judging it: the case is ``not_judged``
#: (listed, never counted for the generator) and the run fails, named.
HARNESS_ERROR = "harness error while judging this case"


@dataclass
class Selection:
    families: list[str] | None = None
    categories: list[str] | None = None
    case_ids: list[str] | None = None


@dataclass
class Run:
    spec: str
    generator: dict[str, Any]
    profile: str
    results: list[Result]
    seconds: float
    #: The environment check the results were attributed with (None: none ran).
    environment: Any = None


def select(sel: Selection) -> list[tuple[str, str, Case]]:
    known = assets.families()
    for fam in sel.families or []:
        if fam not in known:
            raise UsageError(f"no such family {fam!r}; families: {', '.join(known)}")
    cases = load_cases(sel.categories, sel.case_ids)
    return [(f, v, c) for f, v, cid in G.expected_keys(cases) if not sel.families or f in sel.families
            for c in cases if c.id == cid]


def run(spec: str, sel: Selection, profile: str | None = None, timeout: float = 60.0, jobs: int = 1,
        progress: Callable[[Result], None] | None = None, limits: Limits | None = None, env: Any = "check") -> Run:
    """Score ``spec`` on the selected cases: every selected record gets exactly one verdict, or this raises.

    ``env``: an :class:`~lossmask.environment.Environment` to attribute differences to, ``"check"`` (default)
    to run the environment check on the selected families first, or None for no attribution. Raises
    :class:`UsageError` for bad options or a generator that cannot start, :class:`HarnessError` when the harness
    itself lost a case (the count of verdicts differs from the count of selected records).
    """
    from lossmask.reference.policy import get_profile

    limits = limits or Limits(timeout=positive_seconds(timeout, "--timeout"))
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise UsageError(f"--jobs {jobs!r}: must be a whole number of processes, at least 1")
    tasks = select(sel)
    if env == "check":
        from .. import environment

        env = environment.check(sorted({f for f, _, _ in tasks}))
    # transformers resolves names lazily; resolve them here, before worker threads may load tokenizers at once.
    from transformers import AutoTokenizer  # noqa: F401

    command = command_for(spec)
    process_env = worker_env(limits)
    procs = [GeneratorProcess(spec, command, process_env, limits) for _ in range(max(1, min(jobs, len(tasks))))]
    threads: list[threading.Thread] = []
    crashes: list[str] = []
    results: list[Result] = []
    started = time.perf_counter()
    try:
        hello = procs[0].first_start()
        claimed = profile or hello.get("profile") or "canonical"
        get_profile(claimed)
        encoding = hello.get("encoding", "mask")
        todo: queue.Queue = queue.Queue()
        for task in tasks:
            todo.put(task)
        lock = threading.Lock()

        def work(proc: GeneratorProcess) -> None:
            try:
                while not proc.cancelled.is_set():
                    try:
                        family, variant, case = todo.get_nowait()
                    except queue.Empty:
                        return
                    result = _guarded(proc, family, variant, case, encoding, claimed, limits.timeout, env)
                    with lock:
                        results.append(result)
                    if progress:
                        progress(result)
            except BaseException as exc:  # noqa: BLE001 - named in the HarnessError below, never silent
                crashes.append(f"{type(exc).__name__}: {exc}")
            finally:
                proc.stop()

        threads = [threading.Thread(target=work, args=(p,), daemon=True, name=f"lossmask-worker-{i}")
                   for i, p in enumerate(procs)]
        for t in threads:
            t.start()
        for t in threads:
            while t.is_alive():
                t.join(0.2)  # short joins: Ctrl-C and SIGTERM reach the main thread at once
    except BaseException:
        _cancel(procs, threads)
        raise
    finally:
        for p in procs:
            if not any(t.is_alive() for t in threads):
                p.stop()
    if len(results) != len(tasks):
        done = {(r.family, r.variant, r.case) for r in results}
        missing = [f"{f}/{v}/{c.id}" for f, v, c in tasks if (f, v, c.id) not in done]
        raise HarnessError(f"{len(tasks)} records selected but {len(results)} verdicts produced; "
                           f"no verdict for {', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}"
                           + (f" ({crashes[0]})" if crashes else ""))
    order = {(f, v, c.id): i for i, (f, v, c) in enumerate(tasks)}
    results.sort(key=lambda r: order[(r.family, r.variant, r.case)])
    timings = [p.timings for p in procs]
    gen = {"spec": spec, "name": hello["name"], "version": hello["version"],
           "encoding": hello.get("declared_encoding", encoding), "profile": hello.get("profile", "canonical"),
           "restarts": sum(p.restarts for p in procs),
           "startup_seconds": round(sum(t.startup_seconds for t in timings), 3),
           "prepare_seconds": round(sum(t.prepare_seconds for t in timings), 3)}
    return Run(spec, gen, claimed, results, time.perf_counter() - started, env)


def _cancel(procs: list[GeneratorProcess], threads: list[threading.Thread]) -> None:
    """Interrupted (Ctrl-C, SIGTERM, an error): stop every process tree, then let the threads finish."""
    for p in procs:
        p.cancelled.set()
    for p in procs:
        p.kill()
    for t in threads:
        t.join(STOP_GRACE * 2)


def _guarded(proc: GeneratorProcess, family: str, variant: str, case: Case, encoding: str, profile: str,
             timeout: float, env: Any = None) -> Result:
    """One case's verdict, whatever happens in the harness's own code on the way (a harness error is named)."""
    try:
        return _one(proc, family, variant, case, encoding, profile, timeout, env)
    except Exception as exc:  # noqa: BLE001 - a bug in judging must cost one case, named, never the run
        proc.stop()
        notes = env.notes(family) if env is not None else ()
        return Result(case=case.id, family=family, variant=variant, category=case.category, profile=profile,
                      outcome=not_judged(f"{HARNESS_ERROR}: {type(exc).__name__}: {exc}", environment=notes))


def handshake(spec: str) -> dict[str, Any]:
    """Start the generator as a run would, read its handshake and stop it: a :class:`UsageError` when it cannot
    be resolved or started, before anything else is done with it."""
    proc = GeneratorProcess(spec, command_for(spec), worker_env())
    try:
        return proc.first_start()
    finally:
        proc.stop()


def _one(proc: GeneratorProcess, family: str, variant: str, case: Case, encoding: str, profile: str,
         timeout: float, env: Any = None) -> Result:
    base = dict(case=case.id, family=family, variant=variant, category=case.category, profile=profile)
    try:
        record = G.load_record(family, variant, case.id)
        req = {"id": f"{family}/{variant}/{case.id}", "family": family, "variant": variant,
               "tokenizer_dir": str(assets.materialize(family)),
               "chat_template": assets.bundled_template(family, variant), "messages": case.messages,
               "tools": case.tools, "template_kwargs": case.template_kwargs}
    except LossmaskError as exc:  # no golden, a corrupt golden or asset: the harness cannot judge this case
        notes = env.notes(family) if env is not None else ()
        return Result(**base, outcome=not_judged(f"{case.path}: {exc}", environment=notes))
    seconds = 0.0
    try:
        proc.prepare(req)  # start-up and tokenizer loading: untimed, outside the case's deadline
        t0 = time.perf_counter()
        try:
            answer = from_response(proc.request(req, timeout), encoding)
        finally:
            seconds = time.perf_counter() - t0
    except Failure as exc:
        answer = from_failure(exc.verdict, exc.message)
    decode = lambda ids: assets.load_bundled(family, variant).tokenizer.decode(ids, skip_special_tokens=False)  # noqa: E731
    outcome = compare(record, answer, profile, decode, env)
    return Result(**base, outcome=outcome, seconds=seconds)
