"""Run an audit end to end: source → engine → report dict (and, on request, example samples on disk).

Why a function apart from the CLI: the benchmark and the tests call the same path the command line does, so
the numbers they report are the numbers users get.
"""

from __future__ import annotations

import json
import os
import time
from contextlib import nullcontext
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..atomic import write_text
from ..jsontext import json_text
from ..errors import UsageError
from . import engines
from ..environment import TOKENIZES_DIFFERENTLY
from .analyse import AuditConfig, carry_state, close_generators, state_for
from .progress import AuditProgress
from .readers import DEFAULT_MAX_SAMPLE_BYTES, Source
from .tally import Tally

ENGINES = ("local", "ray")


def audit(data: str | os.PathLike[str], config: AuditConfig, *, engine: str = "local", workers: int = 1,
          limit: int | None = None, chunk_size: int = engines.DEFAULT_CHUNK, show_progress: bool = False,
          ray_address: str | None = None,
          max_sample_bytes: int = DEFAULT_MAX_SAMPLE_BYTES) -> tuple[dict[str, Any], Tally]:
    if engine not in ENGINES:
        raise UsageError(f"--engine {engine!r}: expected one of {', '.join(ENGINES)}")
    if workers < 1 or chunk_size < 1 or (limit is not None and limit < 0):
        raise UsageError("--workers and --chunk-size must be at least 1, --limit at least 0")
    if max_sample_bytes < 1:
        raise UsageError("--max-sample-bytes must be at least 1")
    source = Source(data)
    state = state_for(config)  # a bad tokenizer/profile/generator fails here, once, before any worker starts
    generator = generator_info(state.generator, config.generator)
    if engine == "ray" or workers > 1:
        close_generators()  # each worker process starts its own generator worker
    env = environment_of(config.tokenizer)  # what this transformers does to the tokenizer, attached to the report
    if config.generator and env["status"] == TOKENIZES_DIFFERENTLY:
        noted = replace(config, environment=(env["summary"],))  # per-sample `environment` verdicts
        carry_state(config, noted)
        config = noted
    records = source.records(limit, max_sample_bytes)
    bar = AuditProgress(source, limit) if show_progress else None
    start = time.perf_counter()
    try:
        with bar or nullcontext():
            update = bar.update if bar else None
            if engine == "ray":
                from .ray_engine import run_ray

                tally = run_ray(config, records, workers, chunk_size, update, ray_address)
            else:
                tally = engines.run_local(config, records, workers, chunk_size, update)
    finally:
        close_generators()
    elapsed = time.perf_counter() - start
    loaded = state.loaded
    report = {
        "data": str(data),
        "format": source.kind,
        "tokenizer": {"family": loaded.family, "variant": loaded.variant, "source": loaded.source,
                      "rebuilt_tokenizer": loaded.rebuilt},
        "profile": config.profile,
        "template_kwargs": config.kwargs(),
        "generator": generator,
        "environment": env,
        "engine": engine,
        "workers": workers,
        "max_sample_bytes": max_sample_bytes,
        **tally.counts(),
        "elapsed_seconds": round(elapsed, 3),
        "conversations_per_second": round(tally.samples / elapsed, 1) if elapsed > 0 else None,
    }
    return report, tally


def environment_of(tokenizer: str) -> dict[str, Any]:
    """The environment check for the audited tokenizer (the same one ``check`` and ``doctor`` run), as report data.

    Every sample is tokenized with it, so a finding applies to the whole audit: ``status`` other than ``fine``
    means users of this transformers who load the tokenizer with AutoTokenizer get other ids than the audit did.
    """
    from .. import assets, environment

    versions = environment.installed_versions()
    if tokenizer in assets.families():
        health = environment.check([tokenizer]).families[0]
    else:
        health = environment.check_tokenizer(tokenizer)
    return {"status": health.status, "summary": health.summary(versions), "fix": health.fix, "versions": versions}


def generator_info(gen: Any, spec: str | None) -> dict[str, Any] | None:
    if gen is None:
        return None
    return {"spec": spec, "name": getattr(gen, "name", spec), "version": getattr(gen, "version", None),
            "profile": getattr(gen, "profile", None),
            "encoding": getattr(gen, "declared_encoding", getattr(gen, "encoding", None))}


def write_examples(directory: str | os.PathLike[str], tally: Tally) -> list[Path]:
    """One JSONL file per finding / error reason kind: the full example samples, smallest indices first."""
    out: list[Path] = []
    by_file: dict[str, list[str]] = {}
    for name, items in sorted(tally.examples.items()):
        stem = name.split(":", 1)[0]  # error reasons share their kind's file
        for index, line, detail in items:
            payload = tally.payloads.get(index)
            if isinstance(payload, str):  # a raw JSONL line: keep it parsed when it parses
                try:
                    payload = json.loads(payload)
                except (ValueError, RecursionError):  # kept as the raw line: not JSON, or past Python's limits
                    pass
            elif payload is not None and not isinstance(payload, (dict, list)):
                payload = repr(payload)
            row = {"index": index, "line": line, "problem": name, "detail": detail, "sample": payload}
            by_file.setdefault(stem, []).append(json_text(row, default=repr))
    for stem, rows in by_file.items():
        path = Path(directory) / f"{stem}.jsonl"
        write_text(path, "\n".join(rows) + "\n")
        out.append(path)
    return out
