"""Run one generator over the selected (family, variant, case) triples in isolated worker processes.

Each worker thread owns one generator process and takes tasks from a shared queue, grouped by template so a
process loads each tokenizer once. The harness never runs generator code itself.
"""

from __future__ import annotations

import os
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
from ..errors import UsageError
from ..compare import compare, from_failure, from_response, not_judged
from .process import Failure, GeneratorProcess, command_for
from .verdict import Result


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
        progress: Callable[[Result], None] | None = None, env: Any = "check") -> Run:
    """``env``: an :class:`~lossmask.environment.Environment` to attribute differences to, ``"check"`` (default)
    to run the environment check on the selected families first, or None for no attribution."""
    from lossmask.reference.policy import get_profile

    tasks = select(sel)
    if env == "check":
        from .. import environment

        env = environment.check(sorted({f for f, _, _ in tasks}))
    # transformers resolves names lazily; resolve them here, before worker threads may load tokenizers at once.
    from transformers import AutoTokenizer  # noqa: F401

    command = command_for(spec)
    first = GeneratorProcess(spec, command, _env())
    hello = first.start()
    claimed = profile or hello.get("profile") or "canonical"
    get_profile(claimed)
    encoding = hello.get("encoding", "mask")
    todo: queue.Queue = queue.Queue()
    for task in tasks:
        todo.put(task)
    results: list[Result] = []
    lock = threading.Lock()
    started = time.perf_counter()

    def work(proc: GeneratorProcess) -> None:
        try:
            while True:
                try:
                    family, variant, case = todo.get_nowait()
                except queue.Empty:
                    return
                result = _one(proc, family, variant, case, encoding, claimed, timeout, env)
                with lock:
                    results.append(result)
                if progress:
                    progress(result)
        finally:
            proc.stop()

    procs = [first] + [GeneratorProcess(spec, command, _env()) for _ in range(max(1, jobs) - 1)]
    threads = [threading.Thread(target=work, args=(p,), daemon=True) for p in procs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    order = {(f, v, c.id): i for i, (f, v, c) in enumerate(tasks)}
    results.sort(key=lambda r: order[(r.family, r.variant, r.case)])
    gen = {"spec": spec, "name": hello["name"], "version": hello["version"],
           "encoding": hello.get("declared_encoding", encoding), "profile": hello.get("profile", "canonical"),
           "restarts": sum(p.restarts for p in procs)}
    return Run(spec, gen, claimed, results, time.perf_counter() - started, env)


def handshake(spec: str) -> dict[str, Any]:
    """Start the generator as a run would, read its handshake and stop it: a :class:`UsageError` when it cannot
    be resolved or started, before anything else is done with it."""
    proc = GeneratorProcess(spec, command_for(spec), _env())
    try:
        return proc.start()
    finally:
        proc.stop()


def _env() -> dict[str, str]:
    # The worker finds modules in the current directory itself, after importing lossmask (see worker.py).
    env = dict(os.environ)
    env.setdefault("TRANSFORMERS_VERBOSITY", "error")
    env.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    return env


def _one(proc: GeneratorProcess, family: str, variant: str, case: Case, encoding: str, profile: str,
         timeout: float, env: Any = None) -> Result:
    base = dict(case=case.id, family=family, variant=variant, category=case.category, profile=profile)
    t0 = time.perf_counter()
    try:
        record = G.load_record(family, variant, case.id)
        req = {"id": f"{family}/{variant}/{case.id}", "family": family, "variant": variant,
               "tokenizer_dir": str(assets.materialize(family)),
               "chat_template": assets.bundled_template(family, variant), "messages": case.messages,
               "tools": case.tools, "template_kwargs": case.template_kwargs}
    except LossmaskError as exc:  # no golden, a corrupt golden or asset: the harness cannot judge this case
        notes = env.notes(family) if env is not None else ()
        return Result(**base, outcome=not_judged(f"{case.path}: {exc}", environment=notes),
                      seconds=time.perf_counter() - t0)
    try:
        answer = from_response(proc.request(req, timeout), encoding)
    except Failure as exc:
        answer = from_failure(exc.verdict, exc.message)
    decode = lambda ids: assets.load_bundled(family, variant).tokenizer.decode(ids, skip_special_tokens=False)  # noqa: E731
    outcome = compare(record, answer, profile, decode, env)
    return Result(**base, outcome=outcome, seconds=time.perf_counter() - t0)
