"""`lossmask audit`: every planted problem counted exactly, the same numbers from every engine and worker count."""

from __future__ import annotations

import importlib.util
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lossmask import assets
from lossmask.audit import AuditConfig, audit
from lossmask.audit import findings as F
from lossmask.audit import synthetic as S
from lossmask.audit.readers import Source
from lossmask.cli import main
from lossmask.reference import compute
from lossmask.reference.errors import LossmaskError

FAMILY = "qwen3_5"  # the plants' expected effects are stated for this template (see synthetic.py)
CONFIG = AuditConfig(tokenizer=FAMILY)


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """210 samples, every third one a plant (10 of each kind), plus the kinds in file order."""
    path = tmp_path_factory.mktemp("audit") / "planted.jsonl"
    order = [kind for kind, _ in S.samples(210, plant_every=3, seed=7)]
    kinds = S.write_jsonl(path, 210, plant_every=3, seed=7)
    assert set(kinds) == {"clean", *S.PLANTS} and all(kinds[k] == 10 for k in S.PLANTS)
    return path, kinds, order


def planted_json(path: Path) -> Iterator[Any]:
    """The planted file's samples that parse as JSON (the invalid-json plants are skipped)."""
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            data = json.loads(line)
        except json.JSONDecodeError:
            continue
        yield data


def messages_and_tools(data: Any) -> tuple[list[dict], list[dict] | None]:
    """A sample is ``{"messages": [...], "tools": [...]}`` or a bare message list."""
    return (data["messages"], data.get("tools")) if isinstance(data, dict) else (data, None)


@pytest.fixture(scope="module")
def inline_report(planted):
    report, _ = audit(planted[0], CONFIG, workers=1, chunk_size=32)
    return report


def test_every_planted_problem_is_counted_exactly(planted, inline_report):
    _, kinds, _ = planted
    want_findings, want_errors = S.expected_counts(kinds)
    report = inline_report
    assert report["samples"] == sum(kinds.values())
    assert report["findings"] == dict(want_findings)
    assert report["errors"]["by_kind"] == dict(want_errors)
    assert report["errors"]["total"] == sum(want_errors.values())
    assert report["rendered"] == report["samples"] - report["errors"]["total"]
    refusal = [r for r in report["errors"]["by_reason"] if r.startswith("template-refusal")]
    assert refusal == ["template-refusal: template refused the conversation: No user query found in messages."]


def test_token_totals_match_the_reference_per_profile(planted, inline_report):
    path, _, _ = planted
    loaded = assets.load_bundled(FAMILY)
    total, supervised = 0, Counter()
    for data in planted_json(path):
        messages, tools = messages_and_tools(data)
        for profile in inline_report["tokens"]["supervised"]:
            try:
                result = compute(loaded.tokenizer, loaded.chat_template, messages, tools, {}, profile)
            except LossmaskError:
                break
            supervised[profile] += sum(result.loss_mask)
        else:
            total += len(result.input_ids)
    assert inline_report["tokens"] == {"all": total, "supervised": dict(sorted(supervised.items()))}
    assert set(supervised) == {"canonical", "slime-qwen3_5", "no-eot", "last-turn-only", "strict-straddle",
                               "full-turn"}


def test_bad_lines_are_reported_with_their_line_numbers(planted, inline_report):
    _, _, order = planted
    bad_lines = [i + 1 for i, kind in enumerate(order) if kind == "bad_json"]
    (reason,) = [r for r in inline_report["examples"] if r.startswith("invalid-json")]
    assert [e["line"] for e in inline_report["examples"][reason]] == bad_lines[:5]
    literal_lines = [i + 1 for i, kind in enumerate(order) if kind == "literal_in_user"]
    assert [e["line"] for e in inline_report["examples"][F.LITERAL_IN_TEXT]] == literal_lines[:5]


def test_one_and_two_workers_give_identical_numbers(planted, inline_report):
    report, _ = audit(planted[0], CONFIG, workers=2, chunk_size=16)
    keep = ("samples", "rendered", "errors", "findings", "tokens", "examples")
    assert {k: report[k] for k in keep} == {k: inline_report[k] for k in keep}


@pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="ray is not installed (nox -s audit_ray)")
def test_ray_engine_gives_the_same_numbers_as_local(planted, inline_report):
    report, _ = audit(planted[0], CONFIG, engine="ray", workers=2, chunk_size=16)
    keep = ("samples", "rendered", "errors", "findings", "tokens", "examples")
    assert report["engine"] == "ray"
    assert {k: report[k] for k in keep} == {k: inline_report[k] for k in keep}


def test_blank_and_undecodable_lines(tmp_path):
    path = tmp_path / "mixed.jsonl"
    good = json.dumps(S.clean(__import__("random").Random(1))).encode()
    path.write_bytes(b"\n" + good + b"\n\n\xff\xfe not utf-8\n" + good + b"\n")
    report, _ = audit(path, CONFIG)
    assert report["samples"] == 3 and report["rendered"] == 2
    (reason,) = report["errors"]["by_reason"]
    assert reason.startswith("invalid-json: not UTF-8")
    assert [(e["index"], e["line"]) for e in report["examples"][reason]] == [(1, 4)]


def test_limit_reads_only_the_first_samples(planted):
    report, _ = audit(planted[0], CONFIG, limit=9)
    assert report["samples"] == 9


def test_literal_scanner_and_empty_assistant():
    scanner = F.LiteralScanner(F.special_tokens(assets.load_bundled(FAMILY).tokenizer))
    tool_text = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "<|im_end|> is fine here"},
                 {"role": "tool", "content": [{"type": "text", "text": "x<|im_end|>y"}]}]
    assert F.literal_in_non_assistant_text(tool_text, scanner) == "$.messages[2].content contains '<|im_end|>'"
    assert F.literal_in_non_assistant_text(tool_text[:2], scanner) is None
    calls = {"role": "assistant", "content": None, "tool_calls": [{"function": {"name": "f", "arguments": {}}}]}
    assert F.empty_assistant_turn([{"role": "user", "content": "q"}, calls]) is None
    assert F.empty_assistant_turn([{"role": "user", "content": "q"}, {"role": "assistant", "content": " "}]) \
        == "$.messages[1]: assistant message with no content, reasoning or tool calls"


def test_generator_disagreements_are_counted(tmp_path, planted):
    gen = tmp_path / "gen_no_eot.py"
    gen.write_text(
        "from lossmask.reference import compute\n"
        "def generate(tokenizer, messages, tools=None, **kw):\n"
        "    r = compute(tokenizer, tokenizer.chat_template, messages, tools, kw, 'no-eot')\n"
        "    return r.input_ids, r.loss_mask\n"
        "def shorter(tokenizer, messages, tools=None, **kw):\n"
        "    r = compute(tokenizer, tokenizer.chat_template, messages, tools, kw)\n"
        "    return r.input_ids[:-1], r.loss_mask[:-1]\n"
    )
    same, _ = audit(planted[0], AuditConfig(tokenizer=FAMILY, generator="reference"), limit=60)
    assert not any(name.startswith("generator-") for name in same["findings"])
    wrong, _ = audit(planted[0], AuditConfig(tokenizer=FAMILY, generator=f"{gen}:generate"), limit=60)
    # no-eot differs from canonical exactly on samples that supervise at least one end-of-turn token
    assert wrong["findings"][F.GENERATOR_MISMATCH] == wrong["rendered"] - wrong["findings"][F.NO_SUPERVISED]
    short, _ = audit(planted[0], AuditConfig(tokenizer=FAMILY, generator=f"{gen}:shorter"), limit=60)
    assert short["findings"][F.GENERATOR_DIVERGENCE] == short["rendered"]


def test_cli_json_report_and_example_files(planted, tmp_path, capsys):
    out, examples = tmp_path / "report.json", tmp_path / "examples"
    rc = main(["audit", str(planted[0]), "--family", FAMILY, "--workers", "1", "--json", str(out),
               "--examples-out", str(examples), "--examples", "2", "--no-progress"])
    assert rc == 0
    report = json.loads(out.read_text())
    for key in ("samples", "errors", "findings", "tokens", "conversations_per_second", "examples"):
        assert key in report
    assert "template-literal-in-non-assistant-text" in capsys.readouterr().out
    rows = [json.loads(x) for x in (examples / f"{F.LITERAL_IN_TEXT}.jsonl").read_text().splitlines()]
    assert [r["index"] for r in rows] == [e["index"] for e in report["examples"][F.LITERAL_IN_TEXT]]
    assert len(rows) == 2 and "<|im_start|>" in rows[0]["sample"][0]["content"] + rows[0]["sample"][1]["content"]
    bad = [json.loads(x) for x in (examples / "invalid-json.jsonl").read_text().splitlines()]
    assert all(isinstance(r["sample"], str) and r["line"] for r in bad)


@pytest.mark.parametrize("argv, message", [
    (["--profile", "nope"], "unknown profile 'nope'"),
    (["--engine", "local", "--workers", "0"], "--workers and --chunk-size must be at least 1"),
])
def test_usage_errors_are_one_line(planted, capsys, argv, message):
    assert main(["audit", str(planted[0]), "--family", FAMILY, "--no-progress", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_unknown_format_and_missing_extras(tmp_path, monkeypatch):
    (tmp_path / "x.csv").write_text("a,b\n")
    with pytest.raises(LossmaskError, match="unknown dataset format"):
        Source(tmp_path / "x.csv")
    (tmp_path / "d.parquet").write_bytes(b"")
    monkeypatch.setitem(__import__("sys").modules, "pyarrow", None)
    with pytest.raises(LossmaskError, match=r"needs `pyarrow`.*\[parquet\]"):
        Source(tmp_path / "d.parquet")


@pytest.mark.skipif(importlib.util.find_spec("pyarrow") is None, reason="pyarrow is not installed")
def test_parquet_gives_the_same_numbers_as_jsonl(planted, inline_report, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = []
    for data in planted_json(planted[0]):
        messages, tools = messages_and_tools(data)
        rows.append({"messages": json.dumps(messages), "tools": json.dumps(tools) if tools else None})
    path = tmp_path / "planted.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=50)
    report, _ = audit(path, CONFIG, workers=1)
    assert report["format"] == "parquet" and report["samples"] == inline_report["samples"] - 10
    want = dict(inline_report["errors"]["by_kind"])
    del want["invalid-json"]  # bad JSON lines cannot be rows
    assert report["errors"]["by_kind"] == want
    assert report["findings"] == inline_report["findings"] and report["tokens"] == inline_report["tokens"]


@pytest.mark.skipif(importlib.util.find_spec("datasets") is None, reason="datasets is not installed")
def test_datasets_directory_with_struct_messages_matches_jsonl(planted, tmp_path):
    import datasets

    rows = []
    for data in planted_json(planted[0]):
        if isinstance(data, list) and all(m["role"] != "bot" for m in data):
            rows.append(data)  # list-of-struct column: keys missing in a message become nulls
    jsonl = tmp_path / "same.jsonl"
    jsonl.write_text("".join(json.dumps(r) + "\n" for r in rows))
    directory = tmp_path / "ds"
    datasets.Dataset.from_list([{"messages": r} for r in rows]).save_to_disk(str(directory))
    want, _ = audit(jsonl, CONFIG)
    got, _ = audit(directory, CONFIG, workers=2, chunk_size=16)
    assert got["format"] == "datasets"
    keep = ("samples", "rendered", "errors", "findings", "tokens")
    assert {k: got[k] for k in keep} == {k: want[k] for k in keep}
    assert want["findings"] and want["errors"]["total"]  # the subset still holds plants


def test_an_unexpected_reference_exception_is_a_counted_error(planted, monkeypatch):
    import lossmask.reference.batch as B  # the audit segments a chunk through reference.segment_batch

    real = B.prepare

    def flaky(tokenizer, template, messages, *args, **kwargs):
        if any("alpha" in str(m.get("content")) for m in messages):
            raise IndexError("boom")
        return real(tokenizer, template, messages, *args, **kwargs)

    monkeypatch.setattr(B, "prepare", flaky)
    report, _ = audit(planted[0], CONFIG, workers=1)
    assert report["errors"]["by_reason"]["reference-error: IndexError: boom"] > 0
    assert report["samples"] == 210 and report["rendered"] > 0


PARTS_SAMPLE = [{"role": "user", "content": [{"type": "text", "text": "Name a moon of Saturn."}]},
                {"role": "assistant", "content": [{"type": "text", "text": "Titan is a moon of Saturn."}]}]


@pytest.mark.parametrize("family,finding", [("llama3", F.PARTS_AS_REPR), ("deepseek_v4", F.PARTS_AS_REPR),
                                            ("qwen3", F.PARTS_DROPPED), ("qwen3_5", None)])
def test_content_parts_printed_as_repr_or_dropped_are_findings(tmp_path, family, finding):
    """Llama 3.x and DeepSeek V4 print the parts' Python repr, Qwen3 drops them, Qwen3.5 joins them (no finding);
    the templates that raise on parts are template refusals, counted as errors."""
    path = tmp_path / "parts.jsonl"
    plain = [{"role": "user", "content": "Name a moon of Saturn."}, {"role": "assistant", "content": "Titan."}]
    path.write_text(json.dumps(PARTS_SAMPLE) + "\n" + json.dumps(plain) + "\n", encoding="utf-8")
    report, _ = audit(path, AuditConfig(tokenizer=family), workers=1)
    parts = {k: v for k, v in report["findings"].items() if k.startswith("content-parts")}
    assert report["rendered"] == 2
    assert parts == ({finding: 1} if finding else {})
    if finding:
        assert [e["line"] for e in report["examples"][finding]] == [1]
        assert report["examples"][finding][0]["detail"].startswith("$.messages[")


def test_content_parts_finding_names_the_part():
    text_repr = "user: [{'type': 'text', 'text': 'Name a moon of Saturn.'}]"
    assert F.content_parts(PARTS_SAMPLE[:1], text_repr) == (
        F.PARTS_AS_REPR, "$.messages[0].content[0]: the render prints the part itself (user text as a Python/JSON "
        "object), not its text")
    assert F.content_parts(PARTS_SAMPLE, "Name a moon of Saturn.")[0] == F.PARTS_DROPPED
    assert F.content_parts(PARTS_SAMPLE, "Name a moon of Saturn. Titan is a moon of Saturn.") is None
