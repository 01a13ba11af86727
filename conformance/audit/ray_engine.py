"""The ``ray`` engine: the same :func:`analyse_chunk` as Ray tasks, with the same bounded number in flight.

Why Ray tasks rather than a Ray Data pipeline: the per-chunk function returns a small mergeable
:class:`~conformance.audit.tally.Tally`, not rows, so tasks are the direct fit, and keeping the reader on the
driver means every input format the local engine reads works unchanged. ``RAY_ADDRESS`` (or
``--ray-address``) joins an existing cluster; otherwise a local Ray instance with ``workers`` CPUs is started
and shut down again. Ray is an optional extra (``pip install 'lossmask-conformance[ray]'``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from ..errors import UsageError
from .analyse import AuditConfig, analyse_chunk
from .engines import DEFAULT_CHUNK, Progress, chunked
from .readers import Record
from .tally import Tally


def import_ray():
    try:
        import ray
    except ImportError:
        raise UsageError("--engine ray needs Ray, which is not installed; install it with "
                         "`pip install 'lossmask-conformance[ray]'` (or use --engine local)") from None
    return ray


def run_ray(config: AuditConfig, records: Iterable[Record], workers: int, chunk_size: int = DEFAULT_CHUNK,
            progress: Progress | None = None, address: str | None = None) -> Tally:
    ray = import_ray()
    address = address or os.environ.get("RAY_ADDRESS")
    started = False
    if not ray.is_initialized():
        if address:
            ray.init(address=address, log_to_driver=False)
        else:
            # Workers must import this checkout even when it is not installed (tests run from the tree).
            path = os.pathsep.join(p for p in (os.environ.get("PYTHONPATH"), os.getcwd()) if p)
            ray.init(num_cpus=max(1, workers), include_dashboard=False, log_to_driver=False,
                     runtime_env={"env_vars": {"PYTHONPATH": path, "TRANSFORMERS_VERBOSITY": "error"}})
        started = True
    try:
        remote = ray.remote(num_cpus=1)(analyse_chunk)
        in_flight = max(2, 2 * workers)
        total = Tally(config.examples_per_kind, config.keep_samples)
        pending: dict = {}
        chunks = chunked(records, chunk_size)
        config_ref = ray.put(config)

        def fill() -> None:
            while len(pending) < in_flight:
                chunk = next(chunks, None)
                if chunk is None:
                    return
                pending[remote.remote(config_ref, chunk)] = chunk

        fill()
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                chunk = pending.pop(ref)
                total.merge(ray.get(ref))
                if progress:
                    progress(len(chunk), chunk[-1])
            fill()
        return total
    finally:
        if started:
            ray.shutdown()
