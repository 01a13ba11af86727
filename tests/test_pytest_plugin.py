"""The pytest11 plugin: `pytest --lossmask-generator SPEC` in a framework's own repository collects one item per
golden record (listed by --collect-only, selected by -k or by passing a printed node id back) and fails with the
runner's explanation; bad options are one usage error at start-up; the helper parametrizes a framework's own tests."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from lossmask.pytest_plugin import golden, parametrize_cases

ROOT = Path(__file__).resolve().parent.parent
SMALL = ["--lossmask-family", "qwen2_5", "--lossmask-category", "single_turn"]
QWEN25_SINGLE_TURN = ["inline_think", "multiline_code", "plain_answer", "reasoning_content", "system_prompt"]


def _pytest(tmp_path, *args):
    (tmp_path / "test_own.py").write_text("def test_own():\n    assert True\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=600)


def test_plugin_adds_one_item_per_golden_and_explains_failures(tmp_path):
    bad = _pytest(tmp_path, "--lossmask-generator", "tests.generators.misbehaving:supervises_separator", *SMALL)
    assert bad.returncode == 1, bad.stdout
    assert "5 failed, 1 passed" in bad.stdout  # the user's own test passes, each record fails on its own
    assert "matches profile slime-qwen3_5" in bad.stdout and "'\\n' separator expected 0 got 1" in bad.stdout
    assert "FAILED lossmask/qwen2_5/default/plain_answer.json::plain_answer" in bad.stdout
    good = _pytest(tmp_path, "--lossmask-generator", "reference", *SMALL)
    assert good.returncode == 0 and "6 passed" in good.stdout, good.stdout


def test_collect_only_lists_records_and_k_selects_them(tmp_path):
    listed = _pytest(tmp_path, "--lossmask-generator", "reference", *SMALL, "--collect-only")
    assert listed.returncode == 0, listed.stdout + listed.stderr
    ids = [line for line in listed.stdout.splitlines() if line.startswith("lossmask/")]
    assert ids == [f"lossmask/qwen2_5/default/{c}.json::{c}" for c in QWEN25_SINGLE_TURN]
    assert "6 tests collected" in listed.stdout  # the five records and the user's own test
    picked = _pytest(tmp_path, "--lossmask-generator", "reference", *SMALL, "--collect-only", "-k", "code or system")
    assert [line for line in picked.stdout.splitlines() if line.startswith("lossmask/")] == [
        "lossmask/qwen2_5/default/multiline_code.json::multiline_code",
        "lossmask/qwen2_5/default/system_prompt.json::system_prompt"]


def test_a_printed_node_id_passed_back_runs_that_record_only(tmp_path):
    node = "lossmask/qwen2_5/default/plain_answer.json::plain_answer"
    one = _pytest(tmp_path, "--lossmask-generator", "tests.generators.misbehaving:supervises_separator", node)
    assert one.returncode == 1, one.stdout + one.stderr
    assert f"FAILED {node}" in one.stdout and "1 failed in" in one.stdout  # not the user's test, not other records


@pytest.mark.parametrize(("option", "value", "says"), [
    ("--lossmask-family", "qwen35", "--lossmask-family qwen35: unknown (did you mean 'qwen3_5'?)"),
    ("--lossmask-variant", "nope", "--lossmask-variant nope: unknown"),
    ("--lossmask-category", "single-turn", "--lossmask-category single-turn: unknown (did you mean 'single_turn'?)"),
    ("--lossmask-profile", "canonicl", "--lossmask-profile canonicl: unknown (did you mean 'canonical'?)"),
])
def test_a_bad_option_is_one_usage_error_before_collection(tmp_path, option, value, says):
    out = _pytest(tmp_path, "--lossmask-generator", "reference", option, value)
    assert out.returncode == pytest.ExitCode.USAGE_ERROR, out.stdout + out.stderr
    errors = [line for line in out.stderr.splitlines() if line.startswith("ERROR:")]
    assert errors == [errors[0]] and says in errors[0], out.stderr
    assert "passed" not in out.stdout and "failed" not in out.stdout and "Traceback" not in out.stderr


def test_an_unresolvable_generator_is_one_usage_error(tmp_path):
    out = _pytest(tmp_path, "--lossmask-generator", "no_such_module_here:generate", *SMALL)
    assert out.returncode == pytest.ExitCode.USAGE_ERROR, out.stdout + out.stderr
    errors = [line for line in out.stderr.splitlines() if line.startswith("ERROR:")]
    assert len(errors) == 1 and "cannot import 'no_such_module_here'" in errors[0], out.stderr
    assert "failed" not in out.stdout


@parametrize_cases(families=["qwen2_5"], categories=["tool_call"])
def test_parametrize_helper_gives_cases_and_goldens(family, variant, case):
    record = golden(family, variant, case.id)
    assert record.case == case.id and record.category == "tool_call"
