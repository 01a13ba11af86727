"""The runner: every misbehaviour gets its verdict, the harness never crashes or hangs, output encodings are
normalised, and disagreements are explained in terms of profiles and segments."""

import json
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pytest

from lossmask.cases import schema_errors
from lossmask.cli import main
from lossmask.errors import UsageError
from lossmask.runner import Selection, run
from lossmask.runner import reports

MOD = "tests.generators.misbehaving"
JSONL = f"jsonl:{sys.executable} {Path(__file__).parent / 'generators' / 'jsonl_misbehaving.py'}"
ONE = Selection(families=["qwen3_5"], case_ids=["plain_answer", "reasoning_history_dropped"])


def verdicts(spec, sel=ONE, **kw):
    outcome = run(spec, sel, **kw)
    return outcome, Counter(r.verdict for r in outcome.results)


@pytest.mark.parametrize("name,verdict,fragment", [
    ("raises", "error", "RuntimeError: boom"),
    ("wrong_length", "length_mismatch", "loss_mask has"),
    ("non_binary", "invalid_output", "expected 0 or 1"),
    ("wrong_type", "invalid_output", "input_ids is a str"),
    ("declines", "unsupported", "tool calls are not supported"),
    ("shifted_but_undeclared", "mask_mismatch", "does not supervise"),
])
def test_each_misbehaviour_gets_its_verdict(name, verdict, fragment):
    outcome, counts = verdicts(f"{MOD}:{name}")
    assert counts == {verdict: 6}
    assert all(fragment in r.message for r in outcome.results)


def test_hang_is_a_timeout_and_the_run_goes_on():
    outcome, counts = verdicts(f"{MOD}:hangs", Selection(families=["qwen2_5"], case_ids=["plain_answer", "user_last"]),
                               timeout=3, jobs=1)
    assert counts == {"timeout": 2}
    assert outcome.generator["restarts"] == 1


def test_abort_is_an_error_naming_the_signal():
    outcome, counts = verdicts(f"{MOD}:aborts", Selection(families=["qwen2_5"], case_ids=["plain_answer", "user_last"]))
    assert counts == {"error": 2}
    assert all("SIGABRT" in r.message for r in outcome.results)


def test_stdout_noise_does_not_corrupt_the_protocol():
    _, counts = verdicts(f"{MOD}:prints_to_stdout")
    assert counts == {"pass": 6}


@pytest.mark.parametrize("name", ["as_labels", "as_shifted"])
def test_declared_encodings_are_normalised(name):
    outcome, counts = verdicts(f"{MOD}:{name}")
    assert counts == {"pass": 6}
    assert outcome.generator["encoding"] == name.removeprefix("as_").replace("shifted", "shifted")


def test_separator_supervision_is_explained_and_passes_under_slime_profile():
    sel = Selection(families=["qwen3_5"], case_ids=["plain_answer"])
    outcome, counts = verdicts(f"{MOD}:supervises_separator", sel)
    assert counts == {"mask_mismatch": 3}
    r = outcome.results[0]
    assert "supervises the separator after end-of-turn (1)" in r.message
    assert "matches profile slime-qwen3_5" in r.message
    o = r.outcome
    assert o.context and o.matching_profiles == ("slime-qwen3_5",) and o.over_supervised == {"separator": 1}
    assert o.under_supervised == {} and o.first_difference == o.differing_tokens[0]
    _, counts = verdicts(f"{MOD}:supervises_separator", sel, profile="slime-qwen3_5")
    assert counts == {"pass": 3}


def test_per_message_generator_diverges_on_multi_turn_reasoning():
    sel = Selection(families=["qwen3", "qwen3_5"], case_ids=["reasoning_history_dropped"])
    outcome, counts = verdicts(f"{MOD}:per_message", sel)
    by_template = {(r.family, r.variant): r.verdict for r in outcome.results}
    assert by_template[("qwen3", "default")] == by_template[("qwen3_5", "default")] == "token_divergence"
    assert all(r.failed for r in outcome.results)  # templates that never render reasoning: mask_mismatch
    r = next(r for r in outcome.results if r.family == "qwen3_5" and r.variant == "default")
    o = r.outcome
    assert "Add two and two." in "".join(o.actual_supervised)
    assert "Add two and two." not in "".join(o.expected_supervised)
    assert any("Add two and two." in op.actual for op in o.supervised_text_diff)
    assert o.first_difference is not None and o.expected_tokens[:o.first_difference - o.context_start] == \
        o.actual_tokens[:o.first_difference - o.context_start]


def test_refused_cases_are_agreed_refusals_when_the_generator_raises_and_diverge_when_it_does_not():
    sel = Selection(families=["qwen3_5"], case_ids=["no_user_message"])
    outcome, counts = verdicts(f"{MOD}:raises", sel)
    assert counts == {"refused_agree": 3}  # agreeing with the template is not a pass
    assert reports.summary(outcome)["passed"] == 0 and not any(r.failed for r in outcome.results)
    _, counts = verdicts(f"{MOD}:declines", sel)
    assert counts == {"unsupported": 3}  # a decline stays a decline, whatever the golden says
    outcome, counts = verdicts(f"{MOD}:ignores_template", sel)
    assert counts == {"token_divergence": 3}
    assert "the template refuses this conversation" in outcome.results[0].message


@pytest.mark.parametrize("mode,verdict", [
    ("garbage", "invalid_output"), ("close_early", "error"), ("flood", "invalid_output"), ("wrong_id", "invalid_output"),
])
def test_jsonl_misbehaviour(mode, verdict):
    outcome, counts = verdicts(f"{JSONL} {mode}", Selection(families=["qwen2_5"], case_ids=["plain_answer", "user_last"]))
    assert counts == {verdict: 2}


def test_jsonl_generator_passes_and_bad_handshake_is_a_usage_error():
    outcome, counts = verdicts(f"{JSONL} good", Selection(families=["llama3"], categories=["single_turn"]))
    assert counts == {"pass": 30}  # 5 single-turn cases x 6 llama3 templates
    assert outcome.generator["name"] == "jsonl-good"
    with pytest.raises(UsageError, match="handshake is not JSON"):
        run(f"{JSONL} bad_handshake", ONE)


def test_unknown_generator_family_or_profile_exit_2(capsys):
    assert main(["check", "no_such_generator_xyz"]) == 2
    assert "unknown generator 'no_such_generator_xyz'" in capsys.readouterr().err
    assert main(["check", "reference", "--family", "nope"]) == 2
    assert "no such family 'nope'" in capsys.readouterr().err
    assert main(["check", "reference", "--profile", "nope", "--family", "qwen2_5"]) == 2
    assert main(["check", "tests.generators.misbehaving:nope"]) == 2
    assert "has no attribute 'nope'" in capsys.readouterr().err


def test_cli_reports_and_exit_codes(tmp_path, capsys):
    paths = {k: tmp_path / f"r.{k}" for k in ("json", "xml", "html")}
    code = main(["check", f"{MOD}:supervises_separator", "--family", "qwen3_5", "--category", "single_turn",
                 "--json-report", str(paths["json"]), "--junit", str(paths["xml"]), "--html", str(paths["html"])])
    assert code == 1
    out = capsys.readouterr().out
    assert "mask_mismatch" in out and "slime-qwen3_5" in out
    report = json.loads(paths["json"].read_text())
    assert schema_errors("report", report) == []
    assert report["summary"]["failed"] == 15 and {"transformers", "tokenizers", "jinja2"} <= report["versions"].keys()
    suites = ET.parse(paths["xml"]).getroot()
    assert sum(int(s.get("failures")) for s in suites) == 15
    page = paths["html"].read_text()
    assert page.count("<details class=case ") == 15 and 'class="t generator d"' in page
    assert main(["check", "reference", "--family", "qwen2_5", "--category", "single_turn"]) == 0


def test_reference_passes_everything():
    from lossmask import golden as G

    outcome = run("reference", Selection())
    keys = G.expected_keys()
    refused = {k for k in keys if G.load_record(*k).refused}
    assert len(outcome.results) == len(keys) >= 544 and refused
    for r in outcome.results:  # the reference raises exactly where the template refuses
        assert r.verdict == ("refused_agree" if (r.family, r.variant, r.case) in refused else "pass"), r
    s = reports.summary(outcome)
    assert (s["failed"], s["passed"], s["refused_agree"]) == (0, len(keys) - len(refused), len(refused))
