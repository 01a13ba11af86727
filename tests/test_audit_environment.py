"""`audit --generator` judges per sample, as `check` does per record: a generator whose ids are exactly what
this transformers' AutoTokenizer makes of the render gets the `environment` finding, not a divergence blamed on
the generator; any other difference stays the generator's."""

from __future__ import annotations

import json
import random
from importlib import metadata

import pytest

from lossmask import assets, environment, matrix
from lossmask.audit import AuditConfig, audit
from lossmask.audit import analyse, findings as F
from lossmask.audit import run as audit_run
from lossmask.audit import synthetic as S

from .test_isolation import lines, tag  # noqa: F401 - the fixture that fails a test leaving processes behind

FAMILY = "qwen2_5"
GEN = "tests.generators.environment_like"
N = 4


def _data(tmp_path, n=N, seed=5):
    path = tmp_path / "clean.jsonl"
    rng = random.Random(seed)
    path.write_text("".join(json.dumps(S.clean(rng)) + "\n" for _ in range(n)), encoding="utf-8")
    return path


class _DropsAt:
    """A stand-in for a mis-tokenizing AutoTokenizer: the file's ids without the token at ``index``."""

    def __init__(self, index):
        self.index = index
        self.tok = assets.load_bundled(FAMILY).tokenizer

    def __call__(self, text, add_special_tokens=False):
        ids = list(self.tok(text, add_special_tokens=False)["input_ids"])
        del ids[self.index]
        return {"input_ids": ids}


@pytest.fixture
def flagged(monkeypatch):
    """The environment check says AutoTokenizer mis-tokenizes qwen2_5 here (it does not on any real line)."""
    note = "qwen2_5: under transformers 9.9.9 AutoTokenizer on the tokenizer files alone loads it as X"
    monkeypatch.setattr(audit_run, "environment_of", lambda tok: {
        "status": environment.TOKENIZES_DIFFERENTLY, "summary": note, "fix": "f", "versions": {}})
    return note


@pytest.mark.parametrize("drop,expected", [(-1, F.ENVIRONMENT), (0, F.GENERATOR_DIVERGENCE)])
def test_exactly_explained_divergences_are_environment_findings(tag, tmp_path, monkeypatch, flagged, drop, expected):
    """drops_last_token's ids equal the stand-in AutoTokenizer's only when that drops the last token too."""
    monkeypatch.setattr(analyse, "load_user_tokenizer", lambda loaded: _DropsAt(drop))
    report, tally = audit(_data(tmp_path), AuditConfig(tokenizer=FAMILY, generator=f"{GEN}:drops_last_token"))
    assert report["rendered"] == N
    assert report["findings"].get(expected) == N, report["findings"]
    other = F.GENERATOR_DIVERGENCE if expected == F.ENVIRONMENT else F.ENVIRONMENT
    assert other not in report["findings"]
    if expected == F.ENVIRONMENT:
        detail = tally.examples[F.ENVIRONMENT][0][2]
        assert flagged in detail and "was token_divergence" in detail and "lossmask doctor" in detail


def test_a_fine_environment_blames_the_generator(tag, tmp_path):
    report, _ = audit(_data(tmp_path), AuditConfig(tokenizer=FAMILY, generator=f"{GEN}:drops_last_token"))
    assert report["environment"]["status"] == environment.FINE
    assert report["findings"] == {F.GENERATOR_DIVERGENCE: N}


def test_olmo2_through_autotokenizer_on_this_line(tag, tmp_path):
    """Real: a generator that encodes with AutoTokenizer on olmo2's files. Where the bisection recorded the
    mis-tokenization for this transformers (5.2.0 on), every sample it changes is `environment` and none is the
    generator's divergence; elsewhere its ids are the reference's and nothing is judged."""
    config = AuditConfig(tokenizer="olmo2", generator=f"{GEN}:autotokenizer_ids")
    report, _ = audit(_data(tmp_path, n=3, seed=11), config)
    assert report["rendered"] == 3
    if "olmo2" in matrix.autotokenizer_differs(metadata.version("transformers")):
        assert report["environment"]["status"] == environment.TOKENIZES_DIFFERENTLY
        assert report["findings"].get(F.ENVIRONMENT) == 3  # every render has "<|assistant|>\n": ">\n" is 1 token in the file
        assert F.GENERATOR_DIVERGENCE not in report["findings"]
    else:
        assert report["environment"]["status"] == environment.FINE
        assert not any(k.startswith("generator-") or k == F.ENVIRONMENT for k in report["findings"])
