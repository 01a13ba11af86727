"""One dataset-preparation run in a fresh process: ``python -m lossmask.bench.dataset_worker SPEC.json``.

Why a process per run: peak memory is only comparable when every method starts from the same empty process
(TRL imports torch, a one-off cost this run must own), and a fresh process also means no warm caches are shared
between methods. The spec (JSON) names the method, the data (JSON lines of ``{"messages", "tools"}``), the
family, the chat template file and the number of ``datasets.map`` workers; the result (JSON, to the spec's
``out``) holds the seconds of the preparation itself (after imports and loading), the peak resident memory of
this process and of its largest worker, and optionally the prepared ``input_ids``/``labels`` for comparison.

Methods, all through ``datasets.Dataset.map`` with the same ``num_proc``:

- ``floor``: the bare pipeline, ``apply_chat_template(tokenize=False)`` per conversation and one
  ``tokenizer(texts)`` per batch (ids only: what any mask generator must at least do), handed to ``datasets``
  as NumPy arrays like ``LabelsMap``'s, so both pay the same to write a column;
- ``lossmask``: :class:`lossmask.reference.LabelsMap` (batched: ids and labels, canonical profile);
- ``trl``: TRL's ``SFTTrainer._prepare_dataset`` with ``assistant_only_loss=True`` and ``dataset_num_proc``
  (TRL maps one example at a time, then builds labels in a second map), as ``lossmask.peers.trl_sft`` runs it.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

BATCH = 256  # rows per datasets.map batch for the batched methods (datasets' default is 1000)


def _rss_mib(who: int) -> float:
    return round(resource.getrusage(who).ru_maxrss / 1024, 1)  # Linux reports KiB


def _own_peak_mib() -> float:
    """This process's own peak resident set (``VmHWM``, the high-water mark of its address space).

    Not ``getrusage(RUSAGE_SELF)``: Linux carries the parent's high-water mark over fork and exec into
    ``ru_maxrss``, so every run started by a bench process larger than itself reported the bench's peak
    (1,457 MiB for floor, lossmask and TRL alike on 2026-12-02). Elsewhere, ``ru_maxrss`` it is.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)  # kB
    except (OSError, ValueError, IndexError):
        pass
    return _rss_mib(resource.RUSAGE_SELF)


def _floor_fn(tokenizer: Any, template: str):
    from lossmask.reference.batch import int_arrays

    def fn(batch: dict[str, list]) -> dict[str, list]:
        texts = [tokenizer.apply_chat_template(m, tools=t or None, tokenize=False, chat_template=template)
                 for m, t in zip(batch["messages"], batch["tools"])]
        # NumPy arrays, as LabelsMap hands them (datasets writes those without a per-value scan of the lists)
        return {"input_ids": int_arrays(tokenizer(texts, add_special_tokens=False)["input_ids"])}
    return fn


def _trl_prepare(tokenizer: Any, template: str, dataset: Any, workers: int) -> Any:
    import tempfile
    import types

    import trl

    config = trl.SFTConfig(output_dir=tempfile.mkdtemp(prefix="lossmask-bench-trl-"), assistant_only_loss=True,
                           max_length=None, report_to=[], use_cpu=True, bf16=False,
                           dataset_num_proc=workers if workers > 1 else None)
    tokenizer.chat_template = template  # what SFTTrainer.__init__ installs when assistant_only_loss is set
    trainer = types.SimpleNamespace(chat_template=template, completion_only_loss=False, _tokenizer=tokenizer)
    return trl.SFTTrainer._prepare_dataset(trainer, dataset, tokenizer, config, False, None, "train")


def _time_fingerprints(datasets: Any) -> list[float]:
    """Seconds ``datasets`` spends hashing map functions (dill-pickling the tokenizer they hold) to fingerprint
    a map. The floor and lossmask maps pass ``new_fingerprint`` and skip it; TRL's own maps do not, so its time
    includes this (reported apart, not subtracted)."""
    from datasets import arrow_dataset, fingerprint

    spent = [0.0]
    real = fingerprint.update_fingerprint

    def timed(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return real(*args, **kwargs)
        finally:
            spent[0] += time.perf_counter() - start

    fingerprint.update_fingerprint = timed
    if getattr(arrow_dataset, "update_fingerprint", None) is real:
        arrow_dataset.update_fingerprint = timed
    return spent


def run(spec: dict[str, Any]) -> dict[str, Any]:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "true")
    t0 = time.perf_counter()
    import datasets

    from lossmask import assets
    from lossmask.reference import LabelsMap

    datasets.disable_caching()
    datasets.disable_progress_bars()
    loaded = assets.load_bundled(spec["family"])
    tokenizer, template = loaded.tokenizer, Path(spec["template_file"]).read_text()
    dataset = datasets.Dataset.from_json(spec["data"], keep_in_memory=True)
    if spec["method"] == "trl":
        import trl

        # trl loads its submodules lazily: touch what _trl_prepare uses so their import (about 2 s, most of it
        # compiling sft_trainer and its imports) happens before the clock starts, like the other methods' imports.
        _ = (trl.SFTConfig, trl.SFTTrainer)
    hashing = _time_fingerprints(datasets)
    ready = time.perf_counter()
    workers = spec["workers"]
    num_proc = workers if workers > 1 else None
    columns = dataset.column_names
    if spec["method"] == "floor":
        out = dataset.map(_floor_fn(tokenizer, template), batched=True, batch_size=BATCH, num_proc=num_proc,
                          remove_columns=columns, keep_in_memory=True, new_fingerprint="floor")
    elif spec["method"] == "lossmask":
        out = dataset.map(LabelsMap(tokenizer, chat_template=template), batched=True, batch_size=BATCH,
                          num_proc=num_proc, remove_columns=columns, keep_in_memory=True, new_fingerprint="lossmask")
    elif spec["method"] == "trl":
        out = _trl_prepare(tokenizer, template, dataset, workers)
    else:
        raise SystemExit(f"dataset_worker: unknown method {spec['method']!r}")
    done = time.perf_counter()
    result = {"method": spec["method"], "workers": workers, "rows": len(out), "seconds": round(done - ready, 4),
              "startup_seconds": round(ready - t0, 3), "fingerprint_seconds": round(hashing[0], 3), "peak_rss_mib": _own_peak_mib(),
              "peak_worker_rss_mib": _rss_mib(resource.RUSAGE_CHILDREN) if num_proc else None,
              "tokens": int(sum(len(x) for x in out["input_ids"]))}
    if spec.get("keep_output"):
        result["input_ids"] = list(out["input_ids"])
        if "labels" in out.column_names:
            result["labels"] = list(out["labels"])
    return result


def main(argv: list[str]) -> int:
    spec = json.loads(Path(argv[0]).read_text())
    result = run(spec)
    Path(spec["out"]).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
