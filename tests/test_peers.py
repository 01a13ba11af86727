"""Peer adapters (conformance/peers/): each runs its real framework on a case on CPU, or is skipped because the
framework is not installed in this venv (the default `tests` session has none; `nox -s "peers(X)"` installs X).

What a framework-backed test asserts, for any framework: the adapter's output normalises to one 0/1 value per
token, the assistant's answer is in the supervised text and the user's question is not. Framework-free tests
cover template identification, the LLaMA-Factory ShareGPT mapping, the slime locator and the PEERS.md report.
"""

from __future__ import annotations

import importlib.util
import json

import pytest

from lossmask import assets
from lossmask.cases import load_cases
from lossmask.generators import Unsupported, load
from lossmask.peers import ADAPTERS, report
from lossmask.peers.identify import identify, require_name

#: framework -> (module that must import, [(spec, family, variant)]) ; every spec runs on case plain_answer
PEER_CASES = {
    "trl": ("trl", [("hf_assistant_mask:generate", "qwen3", "default"), ("trl_sft:generate", "qwen3", "default")]),
    "renderers": ("renderers", [("renderers_prime:generate", "qwen3", "default")]),
    "axolotl": ("axolotl.prompt_strategies.chat_template", [("axolotl_chat:generate", "qwen3", "default")]),
    "llamafactory": ("llamafactory.data", [("llamafactory_sft:generate", "qwen3", "default"),
                                           ("llamafactory_sft:generate_sharegpt", "qwen3", "default")]),
    "verl": ("verl.utils.dataset.multiturn_sft_dataset", [("verl_sft:generate_ignore_mismatch", "qwen3", "default")]),
    "torchtune": ("torchtune.models.qwen2_5", [("torchtune_qwen:generate", "qwen2_5", "default")]),
    "openrlhf": ("openrlhf.datasets.sft_dataset", [("openrlhf_sft:generate", "qwen3", "default")]),
    "slime": (None, []),  # the specs the checkout offers (slime_mask.specs), see _slime_specs
}
#: Where each slime generator is tried on plain_answer.
SLIME_TEMPLATES = {"qwen": ("qwen3", "default"), "qwen3": ("qwen3", "default"), "qwen3_5": ("qwen3_5", "default"),
                   "distill_qwen": ("deepseek_v3", "DeepSeek-R1-Distill-Qwen-32B"), "chat_template": ("qwen3", "default")}


def _slime_specs() -> list[tuple[str, str, str]]:
    from lossmask.peers import slime_mask

    return [(spec, *SLIME_TEMPLATES[spec.removeprefix("slime_mask:generate_")])
            for spec in slime_mask.specs(slime_mask._api())]


def _supervised_text(tokenizer, ids: list[int], mask: list[int]) -> str:
    return tokenizer.decode([t for t, m in zip(ids, mask) if m], skip_special_tokens=False)


def _require(framework: str, module: str | None) -> None:
    if framework == "slime":
        if importlib.util.find_spec("slime") is None:
            pytest.skip("slime is not importable: put a THUDM/slime checkout on PYTHONPATH "
                        "(LOSSMASK_SLIME_CHECKOUT in `nox -s peers(slime)`)")
        return
    pytest.importorskip(module, reason=f"{framework} is not installed in this venv (run `nox -s \"peers({framework})\"`)",
                        exc_type=ImportError)


@pytest.mark.parametrize("framework", list(PEER_CASES))
def test_peer_runs_on_plain_answer(framework: str) -> None:
    module, specs = PEER_CASES[framework]
    _require(framework, module)
    if framework == "slime":
        specs = _slime_specs()
    case = load_cases(ids=["plain_answer"])[0]
    question, answer = case.messages[0]["content"], case.messages[1]["content"]
    ran = 0
    for spec, family, variant in specs:
        gen = load(f"lossmask.peers.{spec}")
        assert gen.version and gen.version != "not installed", spec
        tok = assets.load_bundled(family, variant).tokenizer
        ids, mask = gen(tok, case.messages, case.tools, case.template_kwargs)
        ran += 1
        assert len(ids) == len(mask) and set(mask) <= {0, 1}, spec
        supervised = _supervised_text(tok, ids, mask)
        assert answer in supervised, f"{spec}: answer not supervised in {supervised!r}"
        assert question not in supervised, f"{spec}: user text supervised in {supervised!r}"
    assert ran, f"{framework}: no adapter ran"


@pytest.mark.parametrize("spec", ["trl_sft:generate", "renderers_prime:generate", "verl_sft:generate",
                                  "openrlhf_sft:generate", "torchtune_qwen:generate", "axolotl_chat:generate",
                                  "llamafactory_sft:generate"])
def test_peer_absent_framework_declines(spec: str) -> None:
    """Without its framework an adapter still imports and every case is `unsupported`, naming what to install."""
    module = spec.split(":")[0]
    dist = {"trl_sft": "trl", "renderers_prime": "renderers", "verl_sft": "verl", "openrlhf_sft": "openrlhf",
            "torchtune_qwen": "torchtune", "axolotl_chat": "axolotl", "llamafactory_sft": "llamafactory"}[module]
    if importlib.util.find_spec(dist) is not None:
        pytest.skip(f"{dist} is installed here; the framework-backed test covers this adapter")
    gen = load(f"lossmask.peers.{spec}")
    tok = assets.load_bundled("qwen2_5" if module == "torchtune_qwen" else "qwen3").tokenizer
    with pytest.raises(Unsupported, match=dist):
        gen(tok, [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}])


def test_peer_slime_absent_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    if importlib.util.find_spec("slime") is not None:
        pytest.skip("a slime checkout is on sys.path here")
    from lossmask.peers import slime_mask

    for cached in (slime_mask._locate, slime_mask._api, slime_mask._module):
        cached.cache_clear()
    tok = assets.load_bundled("qwen3").tokenizer
    for fn in (slime_mask.generate_qwen, slime_mask.generate_qwen3, slime_mask.generate_qwen3_5,
               slime_mask.generate_distill_qwen, slime_mask.generate_chat_template):
        with pytest.raises(NotImplementedError, match="PYTHONPATH"):
            fn(tok, [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}])


def test_peer_identify_every_bundled_template() -> None:
    for name, fam in assets.families().items():
        for variant in fam.variant_names:
            tok = assets.load_bundled(name, variant).tokenizer
            assert identify(tok) == (name, variant)


def test_peer_require_name_declines_unknown_template() -> None:
    tok = assets.load_bundled("qwen3").tokenizer
    assert require_name(tok, {"qwen3": "q3"}, "X") == ("qwen3", "default", "q3")
    with pytest.raises(NotImplementedError, match="no template for qwen3/default"):
        require_name(tok, {"llama3": "l3"}, "X")
    other = assets.load_bundled("qwen3", "Qwen3-Coder").tokenizer
    with pytest.raises(NotImplementedError, match="Qwen3-Coder"):
        require_name(other, {"qwen3": "q3"}, "X")  # a bare family name only covers the default template


def test_peer_llamafactory_sharegpt_mapping() -> None:
    from lossmask.peers.llamafactory_sft import _inline_reasoning, _to_sharegpt

    call = {"type": "function", "function": {"name": "f", "arguments": {"a": 1}}}
    messages = [{"role": "system", "content": "S"}, {"role": "user", "content": "U"},
                {"role": "assistant", "content": None, "tool_calls": [call]},
                {"role": "tool", "content": "r1"}, {"role": "tool", "content": "r2"},
                {"role": "assistant", "content": "A", "reasoning_content": "R"}]
    turns = _to_sharegpt([_inline_reasoning(m) for m in messages])
    assert [t["from"] for t in turns] == ["system", "human", "function_call", "observation", "gpt"]
    assert json.loads(turns[2]["value"]) == [call["function"]]
    assert turns[3]["value"] == "r1\n</tool_response>\n<tool_response>\nr2"
    assert turns[4]["value"] == "<think>\nR\n</think>\n\nA"


def _result(case: str, family: str, category: str, verdict: str, message: str = "", **details) -> dict:
    return {"case": case, "family": family, "variant": "default", "category": category, "verdict": verdict,
            "message": message, "profile": "canonical", "details": details}


def _report(name: str, version: str, transformers: str, results: list[dict]) -> str:
    return json.dumps({"format": 2, "generator": {"name": name, "version": version},
                       "versions": {"transformers": transformers}, "results": results})


def test_peer_report_counts_and_explanations(tmp_path) -> None:
    """The page reads fields, not messages: the messages here are deliberately unrelated to the fields."""
    results = [
        _result("a", "qwen3", "single_turn", "pass"),
        _result("b", "qwen3", "single_turn", "mask_mismatch", "(message not read)",
                over_supervised={"separator": 1}, matching_profiles=["slime-qwen3_5"], golden="rendered"),
        _result("c", "qwen3", "multi_turn", "token_divergence", "(message not read)", golden="rendered",
                first_difference=5, context_start=3, expected_tokens=["a", "b", "One"], actual_tokens=["a", "b", "<think>"],
                supervised_text_diff=[{"op": "insert", "expected": "", "actual": "<think></think>"}]),
        _result("d", "llama3", "tool_call", "unsupported", "declined: no tools", generator_message="no tools"),
        _result("e", "qwen3", "adversarial", "refused_agree", "refused like the template", golden="refused"),
        _result("f", "qwen3", "adversarial", "token_divergence", "(message not read)", golden="refused"),
        _result("g", "qwen3", "adversarial", "not_judged", "fixtures/x.json: no golden for case 'g'"),
    ]
    (tmp_path / "x.json").write_text(_report("peer-x", "1.0", "5.23.0", results))
    (tmp_path / "broken.json").write_text("{not json")
    (tmp_path / "old.json").write_text(json.dumps({"format": 1, "generator": {"name": "old"}, "results": []}))
    out = tmp_path / "PEERS.md"
    assert report.main([str(tmp_path), "--out", str(out)]) == 0
    text = out.read_text()
    # 6 judged (g is left out), 1 declined, 5 ran: 1 pass, 1 refused_agree, 1 mismatch, 2 divergences
    assert "| peer-x | 1.0 | 5.23.0 | 6 | 1 | 1/5 | 1 | 1 | 2 | 0 | 0 |" in text
    assert "| qwen3 | 1/2 | 0/1 | – | 0/2 |" in text
    assert "supervises the separator after end-of-turn (1); 1/1 equal profile `slime-qwen3_5`" in text
    assert '"One" → "<think>"' in text and 'trains "<think></think>" the render lacks' in text
    assert "1 where the template refuses the conversation and the framework still returned tokens" in text
    assert "| llama3 | – | – | – | – |" in text and 'Declined: "no tools" (1)' in text
    assert "Left out: 1 results the harness could not judge" in text
    assert "old.json: report format 1 predates the counting rules" in text and "broken.json" in text


def test_peer_report_without_results_fails(tmp_path) -> None:
    assert report.main([str(tmp_path), "--out", str(tmp_path / "P.md")]) == 1
    assert not (tmp_path / "P.md").exists()


def test_peer_registry_names_existing_modules() -> None:
    for module in ADAPTERS:
        assert importlib.util.find_spec(f"lossmask.peers.{module}") is not None, module


def test_peer_report_counts_every_record_and_shows_the_reference_in_that_venv(tmp_path) -> None:
    """No record is left out because the reference fails it under the framework's pin: the framework's row counts
    it, and the reference's own counts in that venv are shown beside the row."""
    fails = _result("c", "qwen3", "multi_turn", "token_divergence", "token stream differs")
    framework = {"format": 2, "generator": {"name": "peer-y", "version": "2"}, "versions": {"transformers": "5.16.1"},
                 "results": [_result("a", "qwen3", "single_turn", "pass"), fails]}
    reference = {"format": 2, "generator": {"name": "reference", "version": "0.1.0"},
                 "versions": {"transformers": "5.16.1"}, "results": [_result("a", "qwen3", "single_turn", "pass"), fails]}
    other_line = dict(reference, versions={"transformers": "5.23.0"}, results=[_result("a", "qwen3", "single_turn", "pass")])
    (tmp_path / "baseline").mkdir()
    (tmp_path / "y.json").write_text(json.dumps(framework))
    (tmp_path / "baseline" / "y.json").write_text(json.dumps(reference))
    (tmp_path / "baseline" / "z.json").write_text(json.dumps(other_line))
    out = tmp_path / "PEERS.md"
    assert report.main([str(tmp_path), "--out", str(out)]) == 0
    text = out.read_text()
    assert "| peer-y | 2 | 5.16.1 | 2 | 0 | 1/2 | 0 | 0 | 1 | 0 | 0 |" in text
    assert "The reference itself in this venv (transformers 5.16.1): 1 pass, 1 token_divergence." in text
