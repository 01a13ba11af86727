"""Golden data: complete (no orphans, nothing missing), schema-valid, equal to what the reference produces now,
and showing the three behaviours the suite exists for: single-turn parity, multi-turn divergence, tool-call flows."""

import json
import shutil

import pytest

from lossmask import assets, matrix, regenerate
from lossmask import golden as G
from lossmask.cases import load_cases, schema_errors
from lossmask.reference import segment
from lossmask.reference.render import render

CASES = {c.id: c for c in load_cases()}
KEYS = G.expected_keys(list(CASES.values()))
TEMPLATES = sorted({(f, v) for f, v, _ in KEYS})


def test_golden_files_are_exactly_the_family_variant_case_triples():
    on_disk_json = set(G.iter_golden_keys())
    on_disk_tables = {(p.parent.parent.name, p.parent.name, p.name[: -len(".tokens.txt")])
                      for p in G.GOLDEN.glob("*/*/*.tokens.txt")}
    stray = {p for p in G.GOLDEN.glob("*/*/*") if not p.name.endswith((".json", ".tokens.txt"))
             and G.LINES not in p.parts}
    assert on_disk_json == set(KEYS), "run `lossmask regenerate` (missing or orphaned goldens)"
    assert on_disk_tables == set(KEYS)
    assert not stray
    assert {f for f, _, _ in KEYS} == set(assets.families())


@pytest.mark.parametrize("line", [line.name for line in matrix.LINES])
def test_line_overrides_exist_only_where_that_line_differs(line):
    """Each behaviour line (conformance/matrix.py LINES) keeps only the records that differ there from the main
    goldens, each with its token table; the directories on disk are exactly the lines the matrix names."""
    keys = G.iter_override_keys(line)
    assert keys, f"line {line} has no overrides: drop it from matrix.LINES"
    assert set(keys) <= set(KEYS)
    for key in keys:
        override = G.load_golden(*key, line=line)
        assert G.comparable(override) != G.comparable(G.load_golden(*key, line=None)), key
        assert G.golden_path(*key, ".tokens.txt", line=line).is_file()
    assert {p.name for p in (G.GOLDEN / G.LINES).iterdir()} == {x.name for x in matrix.LINES}


def test_the_oldest_line_keeps_gpt_oss_reasoning_unaliased():
    """Before 5.21 transformers does not alias reasoning_content to gpt-oss's `thinking`: the template drops it."""
    line = matrix.line_for("4.57.6")
    assert line == matrix.line_for("5.20.2") != matrix.line_for("5.21.0")
    old = G.load_golden("gpt_oss", "default", "reasoning_content", line=line)
    new = G.load_golden("gpt_oss", "default", "reasoning_content", line=None)
    reasoning = CASES["reasoning_content"].messages[-1]["reasoning_content"]
    assert reasoning in new["text"] and reasoning not in old["text"]


@pytest.mark.parametrize("family,variant", TEMPLATES, ids=[f"{f}/{v}" for f, v in TEMPLATES])
def test_goldens_validate_and_match_the_reference(family, variant):
    loaded = assets.load_bundled(family, variant)
    for f, v, case_id in KEYS:
        if (f, v) != (family, variant):
            continue
        stored = G.load_golden(f, v, case_id)
        assert schema_errors("golden", stored) == [], (f, v, case_id)
        if stored["outcome"] == "rendered":
            n = len(stored["input_ids"])
            assert all(len(stored[k]) == n for k in ("offsets", "segments", "messages"))
            assert all(len(m) == n for m in stored["masks"].values())
        fresh = G.build_golden(loaded, CASES[case_id])
        assert G.comparable(stored) == G.comparable(fresh), f"{f}/{v}/{case_id} drifted: run `lossmask regenerate`"


def _char_labels(seg):
    labels = [None] * len(seg.text)
    for s in seg.segments:
        labels[s.start:s.end] = [s.part] * (s.end - s.start)
    return labels


@pytest.mark.parametrize("case_id", [c.id for c in CASES.values() if c.category == "single_turn"])
def test_single_turn_parity_qwen3_and_qwen3_5(case_id):
    """Seed behaviour 1: on one exchange Qwen3 and Qwen3.5 render the same text and label every character the
    same, except the generation-prompt suffix '<think>\\n' that Qwen3.5 puts in the prompt (so it is not
    supervised) while Qwen3's model writes it (so it is)."""
    case = CASES[case_id]
    segs = {}
    for fam in ("qwen3", "qwen3_5"):
        lt = assets.load_bundled(fam)
        segs[fam] = segment(lt.tokenizer, lt.chat_template, case.messages, case.tools, case.template_kwargs)
    q3, q35 = segs["qwen3"], segs["qwen3_5"]
    assert q3.text == q35.text
    a, b = _char_labels(q3), _char_labels(q35)
    differing = {i for i in range(len(a)) if a[i] != b[i]}
    (turn,) = q35.turns
    suffix = set(range(*turn.gen_prompt_suffix))
    assert q35.text[turn.gen_prompt_suffix[0]:turn.gen_prompt_suffix[1]] == "<think>\n"
    assert differing == suffix
    # Qwen3's model writes it: a body part (glue when the turn has no reasoning: no field holds the think frame)
    assert {a[i] for i in suffix} <= {"reasoning", "content", "glue"}


@pytest.mark.parametrize("family", ["qwen3", "qwen3_5"])
def test_multi_turn_divergence_history_reasoning_dropped(family):
    """Seed behaviour 2: in the full render the historical turn's reasoning is gone, so rendering turn by turn
    (what per-message generators do) yields a different token stream than the one the model is trained on."""
    case = CASES["reasoning_history_dropped"]
    stored = G.load_golden(family, "default", case.id)
    first, last = case.messages[1]["reasoning_content"], case.messages[3]["reasoning_content"]
    assert first not in stored["text"] and last in stored["text"]
    lt = assets.load_bundled(family)
    first_view = render(lt.tokenizer, lt.chat_template, case.messages[:2], None, {})
    assert first in first_view and not stored["text"].startswith(first_view)
    supervised = "".join(stored["text"][s:e] for (s, e), m in zip(stored["offsets"], stored["masks"]["canonical"]) if m)
    assert first not in supervised and last in supervised


def test_tool_call_flows():
    """Seed behaviour 3: tool results are never supervised under any profile; tool-call text is supervised under
    canonical wherever a template renders it; in the single-call case every template renders the call except
    DeepSeek V3 and R1-distill, whose templates print calls only when content is None (ours is ""), and the
    templates that print only ``content`` and drop calls silently: OLMo 2 (both), DeepHermes-3 and Nemotron Super
    v1 (Gemma 2/3, Mistral Small 3/3.1 and Nemotron Nano refuse the case's tool message instead)."""
    no_calls = set()
    for f, v, case_id in KEYS:
        if CASES[case_id].category != "tool_call":
            continue
        g = G.load_golden(f, v, case_id)
        if g["outcome"] != "rendered":
            continue
        for prof, mask in g["masks"].items():
            assert not any(m and "tool" in seg.split("+") for seg, m in zip(g["segments"], mask)), (f, v, case_id, prof)
        calls = [i for i, seg in enumerate(g["segments"]) if seg == "tool_call"]
        assert all(g["masks"]["canonical"][i] for i in calls), (f, v, case_id)
        if case_id == "single_call" and not calls:
            assert "get_weather" not in g["text"]
            no_calls.add(f"{f}/{v}")
    assert no_calls == {"deepseek_v3/default", "deepseek_v3/DeepSeek-R1-Distill-Qwen-32B", "olmo2/default",
                        "olmo2/OLMo-2-0325-32B-Instruct", "llama3/DeepHermes-3-Llama-3-8B-Preview",
                        "llama3/Llama-3.3-Nemotron-Super-49B-v1"}


def test_regenerate_check_detects_drift_and_regenerate_repairs_it(tmp_path, monkeypatch):
    family, case_id = "qwen2_5", "plain_answer"
    shutil.copytree(G.GOLDEN / family, tmp_path / family)
    monkeypatch.setattr(G, "GOLDEN", tmp_path)
    path = G.golden_path(family, "default", case_id)
    data = json.loads(path.read_text())
    data["masks"]["canonical"][-1] ^= 1
    path.write_text(G.dumps(data))
    (tmp_path / family / "default" / "retired_case.json").write_text(G.dumps(data))

    summary = regenerate.run(check=True, families=[family])
    kinds = {(c.case, c.kind) for c in summary.changes}
    assert kinds == {(case_id, "changed"), ("retired_case", "removed")}
    assert "masks.canonical (1 token)" in summary.changes[0].detail
    assert json.loads(path.read_text()) == data  # --check writes nothing

    summary = regenerate.run(check=False, families=[family])
    assert summary.drifted
    assert regenerate.run(check=True, families=[family]).changes == []
    assert not (tmp_path / family / "default" / "retired_case.json").exists()
    assert not list(tmp_path.rglob("*.tmp"))


def test_regenerate_check_is_clean_on_main(capsys):
    from lossmask.cli import main

    assert main(["regenerate", "--check", "--family", "qwen2_5"]) == 0
    assert "0 drifted" in capsys.readouterr().out
