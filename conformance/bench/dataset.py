"""Dataset preparation: lossmask's batched labels against the bare pipeline and TRL's, on one synthetic dataset.

What is compared (each run a fresh process, :mod:`.dataset_worker`, methods interleaved per repetition, the same
``datasets.map`` worker count for all): the floor pipeline (render + batch tokenize, ids only), lossmask's
``LabelsMap`` (ids + labels) and TRL's ``SFTTrainer`` preparation with ``assistant_only_loss=True`` (ids +
labels). All three render the same template: TRL's training template for the family (the one TRL trains on,
with ``{% generation %}`` tags; lossmask proves it and renders once), so the token streams are the same and the
labels can be compared token by token; differences are named by the reference's part labels.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import assets
from . import conversations

METHODS = ("floor", "lossmask", "trl")
TURNS = (2, 4, 8, 16)  # conversation sizes, cycled over the dataset
RUN_TIMEOUT = 1800


def training_template(tokenizer: Any) -> tuple[str | None, str]:
    """TRL's training template for this tokenizer, or ``(None, why)``."""
    try:
        from trl.chat_template_utils import get_training_chat_template, has_generation_markers
    except Exception as exc:  # noqa: BLE001 - trl missing or its import failing: the TRL method is not measured
        return None, f"trl is not importable here ({type(exc).__name__}); nox -s bench installs it"
    if has_generation_markers(tokenizer.chat_template):
        return tokenizer.chat_template, "the tokenizer's own template (it has generation tags)"
    try:
        patched = get_training_chat_template(tokenizer)
    except ValueError as exc:
        return None, f"TRL ships no training template for it ({' '.join(str(exc).split())[:120]})"
    return patched or tokenizer.chat_template, "TRL's training template (trl.chat_template_utils)"


def write_dataset(path: Path, tokenizer: Any, template: str, count: int) -> dict[str, Any]:
    feats, dropped = conversations.shape_for(tokenizer, template)
    turns = Counter()
    with path.open("w", encoding="utf-8") as fh:
        for i in range(count):
            n = TURNS[i % len(TURNS)]
            messages, tools = conversations.build(n, feats, seed=i)
            turns[n] += 1
            fh.write(json.dumps({"messages": messages, "tools": tools}, ensure_ascii=False) + "\n")
    return {"conversations": count, "turns": dict(sorted(turns.items())), "features": feats, "dropped": dropped,
            "bytes": path.stat().st_size}


def _run(spec: dict[str, Any], work: Path) -> dict[str, Any]:
    name = f"{spec['method']}-{spec['workers']}-{spec['rep']}"
    spec_file, out_file = work / f"{name}.spec.json", work / f"{name}.out.json"
    spec_file.write_text(json.dumps({**spec, "out": str(out_file)}))
    proc = subprocess.run([sys.executable, "-m", "lossmask.bench.dataset_worker", str(spec_file)],
                          capture_output=True, text=True, timeout=RUN_TIMEOUT)
    if proc.returncode != 0 or not out_file.exists():
        tail = " ".join((proc.stderr or proc.stdout).strip().splitlines()[-1:])[:300]
        return {"method": spec["method"], "workers": spec["workers"], "error": f"exit {proc.returncode}: {tail}"}
    return json.loads(out_file.read_text())


def bench_dataset(family: str = "qwen3", count: int = 2000, workers: tuple[int, ...] = (1, 2), reps: int = 3,
                  log: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    import importlib.util

    if importlib.util.find_spec("datasets") is None:
        return {"family": family, "skipped": "datasets is not installed here (nox -s bench installs it with trl)"}
    loaded = assets.load_bundled(family)
    template, source = training_template(loaded.tokenizer)
    methods = list(METHODS)
    notes = []
    if template is None:
        notes.append(f"trl: not measured: {source}")
        methods.remove("trl")
        template, source = loaded.chat_template, "the bundled template (no TRL training template)"
    with tempfile.TemporaryDirectory(prefix="lossmask-bench-data-") as tmp:
        work = Path(tmp)
        (work / "template.jinja").write_text(template)
        data = write_dataset(work / "data.jsonl", loaded.tokenizer, template, count)
        runs: list[dict[str, Any]] = []
        kept: dict[str, dict[str, Any]] = {}
        for rep in range(reps):
            for w in workers:
                for method in methods:
                    keep = rep == 0 and w == workers[0]
                    spec = {"method": method, "workers": w, "rep": rep, "family": family, "keep_output": keep,
                            "data": str(work / "data.jsonl"), "template_file": str(work / "template.jinja")}
                    result = _run(spec, work)
                    if keep and "error" not in result:
                        kept[method] = {k: result.pop(k) for k in ("input_ids", "labels") if k in result}
                    runs.append(result)
                    log(f"dataset {method:9} workers {w} rep {rep}: " + (result.get("error") or
                        f"{result['seconds']:.2f} s, {count / result['seconds']:.0f} conversations/s, "
                        f"peak RSS {result['peak_rss_mib']:.0f} MiB"))
        agreement = compare(kept, loaded, template, work / "data.jsonl") if kept else {}
    return {"family": family, "template": source, "data": data, "methods": methods, "workers": list(workers),
            "repetitions": reps, "runs": runs, "summary": summarise(runs, count, workers, methods),
            "agreement": agreement, "notes": notes}


def summarise(runs: list[dict[str, Any]], count: int, workers: tuple[int, ...], methods: list[str]) -> dict[str, Any]:
    rows: dict[str, dict[str, Any]] = {}
    for w in workers:
        for method in methods:
            ok = [r for r in runs if r["method"] == method and r["workers"] == w and "error" not in r]
            failed = [r["error"] for r in runs if r["method"] == method and r["workers"] == w and "error" in r]
            if not ok:
                rows[f"{method}/{w}"] = {"method": method, "workers": w, "error": failed[0] if failed else "no run"}
                continue
            seconds = statistics.median(r["seconds"] for r in ok)
            rows[f"{method}/{w}"] = {
                "method": method, "workers": w, "runs": len(ok), "failed": len(failed), "seconds": round(seconds, 3),
                "conversations_per_s": round(count / seconds, 1), "tokens": ok[0]["tokens"],
                "peak_rss_mib": max(r["peak_rss_mib"] for r in ok),
                "peak_worker_rss_mib": max((r["peak_worker_rss_mib"] or 0) for r in ok) or None}
    ratios = {}
    for w in workers:
        mine = rows.get(f"lossmask/{w}", {})
        for other in ("floor", "trl"):
            theirs = rows.get(f"{other}/{w}", {})
            if "seconds" in mine and "seconds" in theirs:
                ratios[f"lossmask_over_{other}/{w}"] = round(theirs["seconds"] / mine["seconds"], 3)
    return {"rows": rows, "throughput_ratios": ratios}


def compare(kept: dict[str, dict[str, Any]], loaded: Any, template: str, data: Path) -> dict[str, Any]:
    """Token streams and labels of the three methods, row by row; label differences named by part."""
    from lossmask.reference import PROFILES, segment
    from lossmask.reference.batch import labels_from_mask

    rows = [json.loads(line) for line in data.read_text().splitlines()]
    segments: dict[int, Any] = {}

    def seg_of(k: int) -> Any:
        if k not in segments:
            segments[k] = segment(loaded.tokenizer, template, rows[k]["messages"], rows[k]["tools"])
        return segments[k]

    out: dict[str, Any] = {}
    base = kept.get("lossmask", {})
    for method in ("floor", "trl"):
        theirs = kept.get(method)
        if not theirs or not base:
            continue
        same_ids = sum(a == b for a, b in zip(theirs["input_ids"], base["input_ids"]))
        entry: dict[str, Any] = {"rows": len(rows), "same_input_ids": same_ids}
        if "labels" in theirs:
            same, parts, where = 0, Counter(), Counter()
            for k, (a, b) in enumerate(zip(theirs["labels"], base["labels"])):
                if a == b:
                    same += 1
                    continue
                if theirs["input_ids"][k] != base["input_ids"][k]:
                    continue
                names = seg_of(k).token_parts()
                for t, (x, y) in enumerate(zip(a, b)):
                    if x != y:
                        parts[names[t]] += 1
                        where["trl supervises, lossmask not" if y == -100 else "lossmask supervises, trl not"] += 1
            # Which lossmask profile, if any, gives TRL's labels: rows identical under each (the benchmark's
            # labels are canonical; a named difference such as the separator is one profile knob).
            by_profile = {}
            for name, policy in PROFILES.items():
                by_profile[name] = sum(
                    theirs["input_ids"][k] == base["input_ids"][k] and theirs["labels"][k] == labels_from_mask(
                        seg_of(k).input_ids, seg_of(k).mask(policy).loss_mask)
                    for k in range(min(len(rows), len(theirs["labels"]))))
            entry.update({"same_labels": same, "differing_tokens_by_part": dict(parts.most_common()),
                          "differing_tokens_by_side": dict(where), "same_labels_by_profile": by_profile})
        out[method] = entry
    return out
