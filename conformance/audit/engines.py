"""Run :func:`~conformance.audit.analyse.analyse_chunk` over a stream of records: in-process or a process pool.

Why bounded: a dataset can have millions of conversations, so the reader is never allowed to run ahead of the
workers by more than ``2 × workers`` chunks. Memory is then flat in the dataset size (the benchmark measures
it). Workers are started with ``spawn``: the parent may hold a loaded Rust tokenizer, and forking a process
that holds one is what the tokenizers library warns about.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from itertools import islice

from ..runner.supervise import die_with_parent
from .analyse import AuditConfig, analyse_chunk
from .readers import Record
from .tally import Tally

#: Called after each chunk with (samples in the chunk, the last record of the chunk).
Progress = Callable[[int, Record], None]

DEFAULT_CHUNK = 256


def chunked(records: Iterable[Record], size: int) -> Iterator[list[Record]]:
    it = iter(records)
    while chunk := list(islice(it, size)):
        yield chunk


def run_inline(config: AuditConfig, records: Iterable[Record], chunk_size: int = DEFAULT_CHUNK,
               progress: Progress | None = None) -> Tally:
    total = Tally(config.examples_per_kind, config.keep_samples)
    for chunk in chunked(records, chunk_size):
        total.merge(analyse_chunk(config, chunk))
        if progress:
            progress(len(chunk), chunk[-1])
    return total


def run_local(config: AuditConfig, records: Iterable[Record], workers: int, chunk_size: int = DEFAULT_CHUNK,
              progress: Progress | None = None) -> Tally:
    """A process pool over chunks with at most ``2 × workers`` chunks in flight; ``workers == 1`` runs inline."""
    if workers <= 1:
        return run_inline(config, records, chunk_size, progress)
    total = Tally(config.examples_per_kind, config.keep_samples)
    chunks = chunked(records, chunk_size)
    forkable = "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1
    ctx = multiprocessing.get_context("fork" if forkable else "spawn")
    # A pool worker dies with this process, even when it is SIGKILLed (its generator supervisor then kills the
    # generator's tree): otherwise it would outlive the audit, hanging in a generator.
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx,
                               initializer=functools.partial(die_with_parent, os.getpid(), signal.SIGKILL))
    pending: dict[Future, list[Record]] = {}

    def fill() -> None:
        while len(pending) < 2 * workers:
            chunk = next(chunks, None)
            if chunk is None:
                return
            pending[pool.submit(analyse_chunk, config, chunk)] = chunk

    try:
        fill()
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                chunk = pending.pop(future)
                total.merge(future.result())
                if progress:
                    progress(len(chunk), chunk[-1])
            fill()
    except BaseException:
        _kill_workers(pool)
        raise
    pool.shutdown(wait=True)
    return total


def _kill_workers(pool: ProcessPoolExecutor) -> None:
    """Interrupted (Ctrl-C, SIGTERM) or failed: kill the pool's processes now instead of waiting for their chunks.

    Waiting (what leaving a ``with ProcessPoolExecutor`` block does) never ends when a worker is inside a
    generator that hangs. A killed worker's generator supervisor gets its parent-death signal and kills the
    generator's whole tree. ``kill_workers`` is Python 3.14's API; before it, the pool's own process table.
    """
    kill = getattr(pool, "kill_workers", None)
    if kill is not None:
        kill()
    else:
        for proc in list((getattr(pool, "_processes", None) or {}).values()):
            try:
                proc.kill()
            except (OSError, ValueError, AttributeError):
                pass
    pool.shutdown(wait=False, cancel_futures=True)
