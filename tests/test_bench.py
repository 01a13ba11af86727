"""``lossmask bench`` runs on a tiny input and writes valid JSON and its own markdown region (no timing checks)."""

import json

from lossmask.bench import conversations, report
from lossmask.cli import main


def test_bench_tiny_run_writes_json_and_only_its_region(tmp_path, capsys):
    md = tmp_path / "BENCHMARKS.md"
    other = "<!-- audit:start -->\nAUDIT TABLE\n<!-- audit:end -->"
    md.write_text(f"# Benchmarks\n\n{other}\n\n{report.START}\nold bench text\n{report.END}\n")
    out = tmp_path / "bench.json"
    rc = main(["bench", "--family", "qwen3_5", "--sizes", "2", "--reps", "1", "--no-conformance",
               "--no-breakdown", "--json", str(out), "--markdown", str(md)])
    assert rc == 0
    doc = json.loads(out.read_text())
    assert isinstance(doc["reference_over_floor"], float) and doc["reference_over_floor"] > 0
    (fam,) = doc["families"]
    assert fam["family"] == "qwen3_5" and [r["turns"] for r in fam["sizes"]] == [2]
    row = fam["sizes"][0]
    assert set(row["ratios"]) == {"reference", "reference+oracle", "per_message"}
    assert doc["per_size"]["2"]["reference"] == row["ratios"]["reference"]
    assert {"python", "transformers", "tokenizers"} <= set(doc["versions"])
    text = md.read_text()
    assert other in text and "old bench text" not in text
    assert text.count(report.START) == 1 and text.index(report.START) < text.index("reference_over_floor")


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
