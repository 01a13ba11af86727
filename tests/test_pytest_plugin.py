"""The pytest11 plugin: `pytest --lossmask-generator SPEC` in a framework's own repository adds one test per
golden and fails with the runner's explanation; the helper parametrizes a framework's own tests."""

import os
import subprocess
import sys
from pathlib import Path

from lossmask.pytest_plugin import golden, parametrize_cases

ROOT = Path(__file__).resolve().parent.parent


def _pytest(tmp_path, *args):
    (tmp_path / "test_own.py").write_text("def test_own():\n    assert True\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=600)


def test_plugin_adds_one_item_per_golden_and_explains_failures(tmp_path):
    common = ["--lossmask-family", "qwen2_5", "--lossmask-category", "single_turn"]
    bad = _pytest(tmp_path, "--lossmask-generator", "tests.generators.misbehaving:supervises_separator", *common)
    assert bad.returncode == 1, bad.stdout
    assert "5 failed, 1 passed" in bad.stdout
    assert "matches profile slime-qwen3_5" in bad.stdout and "'\\n' separator expected 0 got 1" in bad.stdout
    good = _pytest(tmp_path, "--lossmask-generator", "reference", *common)
    assert good.returncode == 0 and "6 passed" in good.stdout, good.stdout


@parametrize_cases(families=["qwen2_5"], categories=["tool_call"])
def test_parametrize_helper_gives_cases_and_goldens(family, variant, case):
    record = golden(family, variant, case.id)
    assert record.case == case.id and record.category == "tool_call"
