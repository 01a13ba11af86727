"""The SFT smoke run: it passes on the reference's masks and fails, naming the check, on masks that train wrong.

Runs a tiny model on CPU over a compact vocabulary (seconds); needs torch, so the default ``tests`` session skips
it and ``nox -s smoke`` runs it.
"""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")

from lossmask import assets, cases, generators  # noqa: E402
from lossmask.cli import main  # noqa: E402
from lossmask.smoke import savings  # noqa: E402
from lossmask.smoke.batch import IGNORE_INDEX, collect, make_batches  # noqa: E402
from lossmask.smoke.checks import CHECKS, check_batch  # noqa: E402
from lossmask.smoke.models import build  # noqa: E402
from lossmask.smoke.run import Settings, resolve_device, run_family  # noqa: E402
from lossmask.smoke.vocab import compact  # noqa: E402
from lossmask.reference.generator import generate as reference_generate  # noqa: E402

#: A few short cases with several assistant turns, reasoning and a straddling token: enough for every check.
CASE_IDS = ["plain_answer", "reasoning_history_dropped", "three_turns_system", "empty_reasoning_straddle"]


# Misbehaving generators, loaded through the real SPEC resolver as ``this_file.py:name``.
def shift_right(tokenizer, messages, tools=None, **kw):
    """Every supervised flag one token late (mask[i] = true[i-1])."""
    ids, mask = reference_generate(tokenizer, messages, tools, **kw)
    return ids, [0, *mask[:-1]]


def pre_shifted(tokenizer, messages, tools=None, **kw):
    """Already aligned for next-token loss (mask[i] = true[i+1]) but declared as a plain mask: shifted twice."""
    ids, mask = reference_generate(tokenizer, messages, tools, **kw)
    return ids, [*mask[1:], 0]


def declared_shifted(tokenizer, messages, tools=None, **kw):
    """The same pre-shifted mask, honestly declared: the normaliser unshifts it and the smoke must pass."""
    return pre_shifted(tokenizer, messages, tools, **kw)


declared_shifted.lossmask_encoding = "shifted"


def first_token(tokenizer, messages, tools=None, **kw):
    """Supervises token 0, which no next-token loss can train."""
    ids, mask = reference_generate(tokenizer, messages, tools, **kw)
    return ids, [1, *mask[1:]]


def crashes_on_reasoning(tokenizer, messages, tools=None, **kw):
    """Raises on one case: a finding naming that case, while the other cases still train."""
    if any(m.get("reasoning_content") for m in messages):
        raise RuntimeError("boom")
    return reference_generate(tokenizer, messages, tools, **kw)


def spec(name: str) -> str:
    return f"{__file__}:{name}"


@pytest.fixture(scope="module")
def corpus():
    return cases.load_cases(ids=CASE_IDS)


@pytest.fixture(scope="module")
def cpu():
    return resolve_device("cpu")


@pytest.mark.parametrize("family", ["qwen3", "qwen3_5"])
def test_reference_masks_pass_every_check(family, corpus, cpu):
    result = run_family(generators.load("reference"), family, "default", corpus, cpu, Settings(steps=30))
    assert result["failures"] == {}
    assert result["checks"] == {c: True for c in CHECKS}
    counts = result["trained_tokens"]
    assert counts["gradient_rows"] == counts["labels_after_shift"] == counts["mask_sum"] > 0
    assert len(result["training"]["loss_curve"]) == 30
    assert result["model"] == family  # the Qwen3.5 family trains the Gated DeltaNet model


@pytest.mark.parametrize("name", ["shift_right", "pre_shifted"])
def test_mask_shifted_by_one_fails(name, corpus, cpu):
    result = run_family(generators.load(spec(name)), "qwen3", "default", corpus, cpu, Settings(steps=0))
    assert result["checks"]["trained_targets_match_profile"] is False
    failing = result["failures"]["trained_targets_match_profile"]
    assert {m.split(":")[0] for m in failing} >= {"plain_answer", "three_turns_system"}
    # The labels still follow the (wrong) mask exactly: only the targets check can see the shift.
    assert result["checks"]["no_gradient_off_mask"] and result["checks"]["loss_equals_manual_ce"]


def test_declared_shifted_encoding_passes(corpus, cpu):
    result = run_family(generators.load(spec("declared_shifted")), "qwen3", "default", corpus, cpu, Settings(steps=0))
    assert result["checks"]["trained_targets_match_profile"] is True
    assert result["checks"]["trained_tokens_equal_mask_sum"] is True


def test_supervised_first_token_is_reported(corpus, cpu):
    result = run_family(generators.load(spec("first_token")), "qwen3", "default", corpus, cpu, Settings(steps=0))
    assert result["checks"]["trained_tokens_equal_mask_sum"] is False
    assert any("supervises token 0" in m for m in result["failures"]["trained_tokens_equal_mask_sum"])


def test_generator_exception_is_a_named_failure(corpus, cpu):
    result = run_family(generators.load(spec("crashes_on_reasoning")), "qwen3", "default", corpus, cpu, Settings(steps=0))
    assert result["checks"]["generator_ran_cleanly"] is False
    assert result["failures"]["generator_ran_cleanly"] == [
        "reasoning_history_dropped (qwen3/default): generator raised RuntimeError: boom at test_smoke.py:59"]
    assert "reasoning_history_dropped" not in result["cases"] and "plain_answer" in result["cases"]
    assert result["checks"]["trained_targets_match_profile"] is True


def test_labels_shifted_twice_break_the_loss_and_gradient_checks(corpus, cpu):
    """A trainer bug (labels pre-shifted before a model that shifts again) is caught by the per-batch checks."""
    loaded = assets.load_bundled("qwen3")
    got = collect(generators.load("reference"), loaded, corpus, "canonical")
    (batch,) = make_batches(got.examples, loaded.tokenizer.pad_token_id, 4096)
    batch.labels = [[*row[1:], IGNORE_INDEX] for row in batch.labels]
    vmap = compact(batch.input_ids)
    res = check_batch(build("qwen3", vmap.size), batch, vmap, cpu, loaded.tokenizer, rtol=1e-5)
    assert "loss_equals_manual_ce" in res.failures
    assert "no_gradient_off_mask" in res.failures and "gradient_on_every_supervised_token" in res.failures


def test_cli_json_and_exit_codes(tmp_path):
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    common = ["smoke", "--family", "qwen3", "--category", "single_turn", "--no-savings", "--quiet", "--device", "cpu"]
    assert main([*common, "--json", str(good)]) == 0
    doc = json.loads(good.read_text())
    assert doc["passed"] is True and set(doc["checks"]) == set(CHECKS)
    assert doc["device"]["type"] == "cpu" and doc["device"]["threads"] == 1
    run = doc["runs"][0]
    assert run["training"]["tokens_per_s"] > 0 and run["vocab"]["compact"] is True
    assert main([*common, "--generator", spec("pre_shifted"), "--steps", "5", "--json", str(bad)]) == 1
    assert json.loads(bad.read_text())["checks"]["trained_targets_match_profile"] is False


def test_synthetic_conversations_have_reasoning_history():
    for turns in savings.SYNTHETIC_TURNS:
        messages = savings.synthetic_reasoning(turns)
        assert sum(m["role"] == "assistant" for m in messages) == turns
        assert savings.has_reasoning_history(messages)
    assert not savings.has_reasoning_history(savings.synthetic_reasoning(1))


def test_full_render_trains_fewer_tokens_than_per_message():
    """Templates that drop historical reasoning must render and supervise less than per-message rendering."""
    if savings.per_message_generator() is None:
        pytest.skip(f"{savings.BASELINE} is not in this checkout")
    out = savings.measure(["qwen3_5"], [])
    for row in out["families"]["qwen3_5"]["synthetic"]["rows"]:
        assert "error" not in row, row
        assert row["full_render"]["tokens"] < row["per_message"]["tokens"]
        assert row["full_render"]["trained"] < row["per_message"]["trained"]
