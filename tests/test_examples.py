"""The generators under examples/ produce the verdicts examples/README.md documents (on small selections).

The expected verdicts come from full `lossmask check` runs recorded in examples/README.md; each assertion below
names the finding it pins, so a change in the runner, the goldens or the JS packages shows up as a named failure.
"""

import os
import shutil
import tomllib
from collections import Counter
from pathlib import Path

import pytest

from lossmask.runner import Selection, run

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
ENTRYPOINT = EXAMPLES / "entrypoint_generator"
PER_MESSAGE = EXAMPLES / "nonconformant" / "per_message.py"
NODE_DIR = EXAMPLES / "jsonl_node"


def by_key(outcome):
    return {(r.family, r.variant, r.case): r for r in outcome.results}


def test_entry_point_is_declared_for_the_labels_generator():
    project = tomllib.loads((ENTRYPOINT / "pyproject.toml").read_text())
    assert project["project"]["entry-points"]["lossmask.generators"] == {
        "example-labels": "lossmask_example.generator:labels"}


def test_entry_point_example_passes_with_labels_encoding(monkeypatch):
    # Installing into a venv is slow; the same function is reached as module:function with src/ on the path.
    src = str(ENTRYPOINT / "src")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in (src, os.environ.get("PYTHONPATH")) if p))
    sel = Selection(families=["qwen3_5", "llama3"], case_ids=["plain_answer", "reasoning_history_dropped", "single_call"])
    outcome = run("lossmask_example.generator:labels", sel)
    assert outcome.generator["encoding"] == "labels"
    assert outcome.generator["name"] == "example-labels"
    assert len(outcome.results) == 27  # 3 cases x (3 qwen3_5 + 6 llama3 templates)
    assert Counter(r.verdict for r in outcome.results) == {"pass": 27}


def test_per_message_example_diverges_on_history_and_supervises_the_header():
    sel = Selection(families=["qwen3_5", "mistral_nemo"], case_ids=["reasoning_history_dropped", "plain_answer"])
    results = by_key(run(f"{PER_MESSAGE}:generate", sel))
    diverged = results[("qwen3_5", "default", "reasoning_history_dropped")]
    assert diverged.verdict == "token_divergence"
    # the prefix render kept the first turn's reasoning that the full render drops
    assert "Add two and two." in "".join(diverged.outcome.actual_supervised)
    header = results[("qwen3_5", "default", "plain_answer")]
    assert header.verdict == "mask_mismatch"
    assert "supervises the role header" in header.message
    # Mistral Nemo writes no assistant header and no separator: the legacy strategy happens to be canonical there.
    assert results[("mistral_nemo", "default", "plain_answer")].verdict == "pass"
    assert results[("mistral_nemo", "default", "reasoning_history_dropped")].verdict == "pass"


def _node_missing() -> str | None:
    if shutil.which("node") is None:
        return "node is not installed"
    for pkg in ("jinja", "tokenizers"):
        if not (NODE_DIR / "node_modules" / "@huggingface" / pkg).is_dir():
            return f"examples/jsonl_node/node_modules/@huggingface/{pkg} is absent (run `npm ci` in examples/jsonl_node)"
    return None


@pytest.mark.skipif(_node_missing() is not None, reason=str(_node_missing()))
def test_node_example_verdicts_and_named_js_findings():
    sel = Selection(families=["qwen3", "gpt_oss"], case_ids=["plain_answer", "trimmed_whitespace", "reasoning_content"])
    results = by_key(run(f"jsonl:node {NODE_DIR / 'generator.mjs'}", sel))
    # @huggingface/jinja's str.lstrip('\n') strips all whitespace: Qwen3 templates that lstrip('\n') the answer
    # lose its leading spaces, so the token stream differs.
    lstrip = {("qwen3", v, "trimmed_whitespace")
              for v in ("default", "Qwen3-0.6B.llamacpp-older-rev", "Qwen3-4B-Thinking-2507")}
    # transformers aliases reasoning_content to `thinking`, which the gpt-oss template reads; the JS side does not.
    alias = {("gpt_oss", "default", "reasoning_content")}
    for key, result in results.items():
        expected = "token_divergence" if key in lstrip | alias else "pass"
        assert result.verdict == expected, f"{key}: {result.verdict}: {result.message}"
    assert len(results) == 18  # 3 cases x (5 qwen3 + 1 gpt_oss templates)
