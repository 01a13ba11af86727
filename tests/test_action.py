"""Drop-in CI: the GitHub Action (action.yml), the pre-commit hooks (.pre-commit-hooks.yaml) and the README's
copy-paste snippets parse, agree with each other, and the commands they run do what they say.

The action's `run:` scripts are executed here with bash exactly as written, with `${{ inputs.* }}` and
`${{ github.action_path }}` replaced as GitHub would, in a temporary working directory; only the steps that
need GitHub itself (setup-python, upload-artifact) and installing lossmask from the action's checkout (what
tests/test_install.py does with the real wheel) are not run.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from lossmask.cli import main

ROOT = Path(__file__).resolve().parent.parent
ACTION = yaml.safe_load((ROOT / "action.yml").read_text())
HOOKS = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
EXPRESSION = re.compile(r"\$\{\{\s*([^}]+?)\s*\}\}")


def _steps() -> dict[str, dict]:
    return {step.get("name", step.get("uses", "")): step for step in ACTION["runs"]["steps"]}


def _readme_block(marker: str) -> dict:
    blocks = re.findall(r"```yaml\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)
    return yaml.safe_load(next(b for b in blocks if marker in b))


def _run_step(step: dict, inputs: dict[str, str], cwd: Path) -> tuple[subprocess.CompletedProcess, dict[str, str]]:
    """Run one composite step's script with bash, its env filled in from ``inputs`` (defaults otherwise)."""
    values = {name: spec.get("default", "") for name, spec in ACTION["inputs"].items()} | inputs

    def fill(text: str) -> str:
        def one(m: re.Match) -> str:
            expr = m.group(1)
            if expr == "github.action_path":
                return str(ROOT)
            assert expr.startswith("inputs."), f"unexpected expression {expr!r} in a run step's env"
            return values[expr.removeprefix("inputs.")]
        return EXPRESSION.sub(one, text)

    output = cwd / "github_output"
    output.write_text("")
    env = {**os.environ, "GITHUB_OUTPUT": str(output), **{k: fill(v) for k, v in step.get("env", {}).items()},
           "PATH": os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")]),
           "PYTHONPATH": str(ROOT)}  # (only so the deliberately failing generator in tests/ can be imported)
    assert not EXPRESSION.search(step["run"]), "a run script must read inputs from env, not ${{ }} (injection)"
    done = subprocess.run(["bash", "-c", step["run"]], cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines() if "=" in line)
    return done, outputs


def test_the_action_is_a_composite_with_the_documented_inputs():
    assert ACTION["runs"]["using"] == "composite"
    assert ACTION["inputs"]["generator"]["required"] is True
    assert {"generator", "install", "family", "profile"} <= set(ACTION["inputs"])
    text = (ROOT / "action.yml").read_text()
    used = {m.removeprefix("inputs.") for m in EXPRESSION.findall(text) if m.startswith("inputs.")}
    assert used <= set(ACTION["inputs"]), used - set(ACTION["inputs"])
    assert {o["value"] for o in ACTION["outputs"].values()} == {
        "${{ steps.check.outputs.json }}", "${{ steps.check.outputs.junit }}", "${{ steps.check.outputs.html }}"}
    for step in ACTION["runs"]["steps"]:
        assert "uses" in step or step.get("shell") == "bash", step


def test_the_install_step_runs_the_users_command(tmp_path):
    done, _ = _run_step(_steps()["Install the project under test"],
                        {"install": "python -c \"open('installed', 'w').write('yes')\""}, tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "installed").read_text() == "yes"


def test_the_check_step_writes_the_three_reports_and_passes_for_the_reference(tmp_path):
    done, outputs = _run_step(_steps()["lossmask check"], {
        "generator": "reference", "family": "qwen2_5 llama3", "profile": "canonical",
        "args": "--category single_turn --jobs 2", "reports": "out"}, tmp_path)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert outputs == {"json": "out/lossmask.json", "junit": "out/junit.xml", "html": "out/report.html"}
    results = json.loads((tmp_path / "out" / "lossmask.json").read_text())["results"]
    assert {r["family"] for r in results} == {"qwen2_5", "llama3"} and {r["category"] for r in results} == {"single_turn"}
    assert {r["verdict"] for r in results} == {"pass"} and {r["profile"] for r in results} == {"canonical"}
    assert "<testsuites" in (tmp_path / "out" / "junit.xml").read_text()
    assert "<html" in (tmp_path / "out" / "report.html").read_text().lower()


def test_the_check_step_fails_the_job_when_a_record_fails(tmp_path):
    done, _ = _run_step(_steps()["lossmask check"], {
        "generator": "tests.generators.misbehaving:supervises_separator", "family": "qwen2_5",
        "args": "--category single_turn"}, tmp_path)
    assert done.returncode == 1, done.stdout[-2000:] + done.stderr[-2000:]
    report = json.loads((tmp_path / "lossmask-reports" / "lossmask.json").read_text())
    assert {r["verdict"] for r in report["results"]} == {"mask_mismatch"}  # the reports are there to read


def test_the_readme_workflow_uses_the_action_with_its_inputs():
    workflow = _readme_block("uses: OWNER/lossmask@")
    step = next(s for s in workflow["jobs"]["lossmask"]["steps"] if str(s.get("uses", "")).startswith("OWNER/lossmask"))
    assert set(step["with"]) <= set(ACTION["inputs"]) and "generator" in step["with"]
    args = ["check", step["with"]["generator"], *(f for fam in step["with"]["family"].split() for f in ("--family", fam)),
            "--profile", step["with"]["profile"]]
    from lossmask.cli import build_parser

    build_parser().parse_args(args)  # the options the action builds from these inputs exist


def test_pre_commit_hooks_name_lossmask_commands():
    ids = {hook["id"]: hook for hook in HOOKS}
    assert set(ids) == {"lossmask-check", "lossmask-goldens"}
    for hook in HOOKS:
        assert {"id", "name", "entry", "language"} <= set(hook) and hook["pass_filenames"] is False
        assert shlex.split(hook["entry"])[0] == "lossmask"
    config = _readme_block("repo: https://github.com/OWNER/lossmask")
    used = config["repos"][0]["hooks"][0]
    assert used["id"] in ids and used["args"]


@pytest.mark.parametrize(("hook", "args"), [
    ("lossmask-check", ["reference", "--family", "qwen2_5", "--category", "single_turn"]),
    ("lossmask-goldens", ["--family", "qwen2_5", "--case", "plain_answer"]),
])
def test_each_hook_command_runs(hook, args, capsys):
    entry = next(h["entry"] for h in HOOKS if h["id"] == hook)
    assert main([*shlex.split(entry)[1:], *args]) == 0
    out = capsys.readouterr().out
    assert "5 pass" in out if hook == "lossmask-check" else "0 drifted" in out
