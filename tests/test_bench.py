"""``lossmask bench`` runs on a tiny input and writes valid JSON and its own markdown region (no timing checks)."""

import json
import os
import subprocess
import sys

import pytest

from lossmask.bench import conversations, dataset_worker, report
from lossmask.cli import main


def test_bench_tiny_run_writes_json_and_only_its_region(tmp_path, capsys):
    md = tmp_path / "BENCHMARKS.md"
    other = "<!-- audit:start -->\nAUDIT TABLE\n<!-- audit:end -->"
    md.write_text(f"# Benchmarks\n\n{other}\n\n{report.START}\nold bench text\n{report.END}\n")
    out = tmp_path / "bench.json"
    rc = main(["bench", "--family", "qwen3_5", "--sizes", "2", "--reps", "1", "--no-conformance",
               "--no-breakdown", "--no-dataset", "--json", str(out), "--markdown", str(md)])
    assert rc == 0
    doc = json.loads(out.read_text())
    assert isinstance(doc["reference_over_floor"], float) and doc["reference_over_floor"] > 0
    (fam,) = doc["families"]
    assert fam["family"] == "qwen3_5" and [r["turns"] for r in fam["sizes"]] == [2]
    row = fam["sizes"][0]
    assert {"reference", "reference+oracle", "per_message"} <= set(row["ratios"])
    assert row["renders"] == 1  # the bundled qwen3_5 template is proved, the bench conversation admitted
    for peer in ("hf_assistant_mask", "slime_qwen3_5"):  # measured, or said why not
        assert peer in row["ratios"] or row["skipped"][peer].startswith("not measured")
    assert doc["command"].startswith("lossmask bench --no-conformance --no-breakdown --no-dataset")
    paths = {(p["family"], p["variant"]): p for p in doc["paths"]}
    assert paths[("qwen3_5", "default")]["single_render"] and not paths[("llama3", "Llama-3.1-8B-Instruct")]["single_render"]
    assert doc["per_size"]["2"]["reference"] == row["ratios"]["reference"]
    assert {"python", "transformers", "tokenizers"} <= set(doc["versions"])
    text = md.read_text()
    assert other in text and "old bench text" not in text
    assert text.count(report.START) == 1 and text.index(report.START) < text.index("reference_over_floor")
    assert "| llama3 | Llama-3.1-8B-Instruct | double | line " in text


def test_region_is_appended_to_a_file_without_one():
    assert report.replace_region("", "X").startswith("# Benchmarks\n")
    out = report.replace_region("# B\n\nkept\n", "X")
    assert out.startswith("# B\n\nkept\n") and out.rstrip().endswith(f"{report.START}\nX\n{report.END}")


def test_synthetic_conversation_shape():
    messages, tools = conversations.build(4)
    assert sum(m["role"] == "user" for m in messages) == 4
    assert tools and sum(m["role"] == "tool" for m in messages) == 1
    assert all("reasoning_content" in m for m in messages if m["role"] == "assistant")
    plain, none = conversations.build(4, {"reasoning": False, "tools": False})
    assert none is None and not any("reasoning_content" in m or m["role"] == "tool" for m in plain)


def test_dataset_summary_ratios_and_failed_runs():
    from lossmask.bench.dataset import summarise

    runs = [{"method": "floor", "workers": 1, "seconds": 2.0, "tokens": 10, "peak_rss_mib": 500.0,
             "peak_worker_rss_mib": None},
            {"method": "lossmask", "workers": 1, "seconds": 2.5, "tokens": 10, "peak_rss_mib": 510.0,
             "peak_worker_rss_mib": None},
            {"method": "lossmask", "workers": 1, "seconds": 2.1, "tokens": 10, "peak_rss_mib": 520.0,
             "peak_worker_rss_mib": None},
            {"method": "trl", "workers": 1, "error": "exit 1: boom"}]
    s = summarise(runs, 100, (1,), ["floor", "lossmask", "trl"])
    assert s["rows"]["lossmask/1"]["seconds"] == 2.3 and s["rows"]["lossmask/1"]["peak_rss_mib"] == 520.0
    assert s["rows"]["lossmask/1"]["conversations_per_s"] == round(100 / 2.3, 1)
    assert s["rows"]["trl/1"] == {"method": "trl", "workers": 1, "error": "exit 1: boom"}
    assert s["throughput_ratios"] == {"lossmask_over_floor/1": round(2.0 / 2.3, 3)}


def test_dataset_bench_says_why_when_datasets_is_missing(monkeypatch):
    import importlib.util

    from lossmask.bench import dataset, markdown

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "datasets" else real(name, *a))
    out = dataset.bench_dataset("qwen3", 5, (1,), 1)
    assert out["skipped"].startswith("datasets is not installed")
    assert "Not measured: datasets is not installed" in "\n".join(markdown.dataset({"dataset": out}))


def test_dataset_bench_runs_floor_and_lossmask_with_the_same_ids(tmp_path):
    """Needs datasets (nox -s audit_ray installs it); the comparison logic runs on real outputs."""
    import pytest

    pytest.importorskip("datasets")
    from lossmask.bench.dataset import bench_dataset

    out = bench_dataset("qwen2_5", 12, (1,), 1)
    rows = out["summary"]["rows"]
    assert "seconds" in rows["floor/1"] and "seconds" in rows["lossmask/1"], rows
    assert rows["floor/1"]["tokens"] == rows["lossmask/1"]["tokens"] > 0
    assert out["agreement"]["floor"]["same_input_ids"] == 12


def test_dataset_agreement_names_the_profile_that_gives_the_other_labels(tmp_path):
    """A peer that also supervises the separator after end-of-turn differs from the canonical labels on exactly
    the separator tokens, and equals lossmask's ``slime-qwen3_5`` profile (canonical + separator) on every row."""
    from lossmask import assets
    from lossmask.bench.dataset import compare, write_dataset
    from lossmask.reference import labels_batch

    loaded = assets.load_bundled("qwen2_5")
    data = tmp_path / "data.jsonl"
    write_dataset(data, loaded.tokenizer, loaded.chat_template, 4)
    rows = [json.loads(line) for line in data.read_text().splitlines()]
    convs, tools = [r["messages"] for r in rows], [r["tools"] for r in rows]
    mine = labels_batch(loaded.tokenizer, convs, tools)
    peer = labels_batch(loaded.tokenizer, convs, tools, profile="slime-qwen3_5")
    out = compare({"lossmask": mine, "trl": peer}, loaded, loaded.chat_template, data)["trl"]
    assert out["same_input_ids"] == 4 and out["same_labels"] == 0
    assert set(out["differing_tokens_by_part"]) == {"separator"}
    assert out["differing_tokens_by_side"] == {"trl supervises, lossmask not": out["differing_tokens_by_part"]["separator"]}
    assert out["same_labels_by_profile"]["slime-qwen3_5"] == 4 and out["same_labels_by_profile"]["canonical"] == 0


def test_markdown_names_families_that_were_not_measured():
    from lossmask.bench import markdown

    doc = {"summary": {"median_ratios": {}, "per_size": {}}, "families": [], "reference_over_floor": None,
           "errors": ["gemma2: the template renders none of the benchmark shapes"]}
    text = "\n".join(markdown.ratios(doc))
    assert "Families not measured" in text and "gemma2: the template renders none" in text


def test_a_template_without_a_system_role_gets_a_shape_without_one():
    from lossmask import assets
    from lossmask.bench import conversations

    loaded = assets.load_bundled("gemma2")  # its template raises "System role not supported"
    feats, dropped = conversations.shape_for(loaded.tokenizer, loaded.chat_template)
    assert feats["system"] is False and any("System role not supported" in d for d in dropped)
    messages, _ = conversations.build(4, feats)
    assert messages[0]["role"] == "user"


def test_dataset_worker_peak_memory_is_its_own_not_its_parents():
    """A worker started by a large process reports its own peak: ``ru_maxrss`` carries the parent's high-water
    mark over fork and exec on Linux, and every run of the 2026-12-02 bench read the bench's 1,457 MiB."""
    if not os.path.exists("/proc/self/status"):
        pytest.skip("VmHWM is Linux's; elsewhere the worker reports ru_maxrss")
    parent = bytearray(400 * 1024 * 1024)  # touch 400 MiB in this (the parent) process
    parent[::4096] = b"\1" * len(parent[::4096])
    child = ("import resource; from lossmask.bench.dataset_worker import _own_peak_mib, _rss_mib; "
             "print(_own_peak_mib(), _rss_mib(resource.RUSAGE_SELF))")
    own, inherited = map(float, subprocess.run([sys.executable, "-c", child], capture_output=True, text=True,
                                               check=True).stdout.split())
    del parent
    assert inherited > 400  # what the bench used to report: the parent's peak
    assert own < 300  # a Python process importing the worker module, not 400 MiB
    assert dataset_worker._own_peak_mib() > 400  # this process's own peak does include the pages it touched
