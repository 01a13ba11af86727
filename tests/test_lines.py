"""Version lines: on whatever transformers is installed (every conformance cell runs this file), the bundled
loader tokenizes exactly as the tokenizer files do, the line's goldens are complete, and `lossmask doctor`
reports what AutoTokenizer does on this line, as recorded by the bisection in conformance/matrix.py."""

import json
from importlib import metadata

import pytest
from tokenizers import Tokenizer

from lossmask import assets, environment, matrix
from lossmask import golden as G
from lossmask.cases import load_cases
from lossmask.cli import main

TRANSFORMERS = metadata.version("transformers")
FAMILIES = list(assets.families())


def _recorded_mistokenizations() -> dict[str, str]:
    """What the bisection recorded for this version, for the families bundled in this checkout."""
    return {f: cls for f, cls in matrix.autotokenizer_differs(TRANSFORMERS).items() if f in FAMILIES}


def _golden_texts(family: str) -> list[str]:
    texts = set()
    for f, v, case_id in G.expected_keys():
        if f == family:
            g = G.load_golden(f, v, case_id)
            if g["outcome"] == "rendered":
                texts.add(g["text"])
    return sorted(texts)


@pytest.mark.parametrize("family", FAMILIES)
def test_bundled_loader_ids_equal_the_files_own_encoding(family):
    """The tokenizer every generator and the reference get encodes like `tokenizers.Tokenizer.from_file` on the
    same tokenizer.json, on every golden text of the family (AutoTokenizer does not on some lines)."""
    texts = _golden_texts(family)
    assert texts
    loaded = assets.load_bundled(family).tokenizer
    raw = Tokenizer.from_file(str(assets.materialize(family) / "tokenizer.json"))
    want = [e.ids for e in raw.encode_batch(texts, add_special_tokens=False)]
    assert [list(i) for i in loaded(texts, add_special_tokens=False)["input_ids"]] == want
    assert [e.ids for e in loaded._tokenizer.encode_batch(texts, add_special_tokens=False)] == want


@pytest.mark.parametrize("family", FAMILIES)
def test_goldens_of_this_line_are_the_files_own_encoding(family):
    """Every golden this line reads (overrides included) has the ids the tokenizer file gives its text."""
    raw = Tokenizer.from_file(str(assets.materialize(family) / "tokenizer.json"))
    for f, v, case_id in G.expected_keys():
        if f != family:
            continue
        g = G.load_golden(f, v, case_id)
        if g["outcome"] == "rendered":
            assert raw.encode(g["text"], add_special_tokens=False).ids == g["input_ids"], (f, v, case_id)


def test_this_version_reads_the_line_the_matrix_names():
    line = G.transformers_line()
    assert line == matrix.line_for(TRANSFORMERS)
    if line:
        assert (G.GOLDEN / G.LINES / line).is_dir(), f"no overrides for line {line}"
        assert set(G.iter_override_keys(line)) <= set(G.expected_keys()), "orphaned overrides"


def test_environment_check_finds_what_the_bisection_recorded():
    """Renders equal this line's goldens for every family, and AutoTokenizer mis-tokenizes exactly the families
    the bisection recorded for this version (with the class it builds)."""
    env = environment.check()  # cached per (versions, bundled files, goldens): `check` in this cell computed it
    drift = {(h.family, d.variant, d.case): d.detail for h in env.families for d in h.render_drift}
    assert drift == {}, "renders differ from this line's goldens: regenerate the line's overrides"
    wrong = {h.family: h.tokenization.loaded_class for h in env.families
             if h.status == environment.TOKENIZES_DIFFERENTLY}
    assert wrong == _recorded_mistokenizations()
    assert all(h.tokenization.texts > 0 for h in env.families)


def test_model_directory_load_is_what_the_bisection_recorded():
    """Where the tokenizer files alone load wrongly, the same files beside a config.json naming the model type
    (a model directory) load right exactly from the release the bisection recorded (deepseek_v3 5.7, olmo2 5.13)."""
    env = environment.check()
    for h in env.families:
        if h.status != environment.TOKENIZES_DIFFERENTLY:
            assert h.model_dir is None, h.family  # measured only where the files alone load wrongly
            continue
        recorded = matrix.mistokenization(h.family, TRANSFORMERS)
        assert h.model_dir is not None and h.model_type == recorded.model_type
        assert h.model_dir.texts == h.tokenization.texts
        assert (h.model_dir.differing == 0) == recorded.model_dir_right(TRANSFORMERS), (h.family, h.model_dir)
        if h.model_dir.differing == 0:
            assert h.model_dir.loaded_class == "TokenizersBackend"
            assert "model's directory" in h.fix and "a model directory) it loads TokenizersBackend" in \
                h.summary(env.versions)


@pytest.mark.parametrize("family", FAMILIES)
def test_doctor_per_family_exit_code(family, capsys):
    """`lossmask doctor --family F` exits 1 exactly for a family recorded as mis-tokenized on this line (5.24.0:
    olmo2 only; 5.16.1: deepseek_v3 and olmo2), naming it and the class; 0 for every other family."""
    rc = main(["doctor", "--family", family])
    printed = capsys.readouterr().out
    wrong = _recorded_mistokenizations()
    assert rc == (1 if family in wrong else 0), printed
    if family in wrong:
        assert f"✗ {family}: " in printed and wrong[family] in printed
    else:
        assert "1 fine, 0 with problems" in printed


def test_doctor_cli_exit_code_and_names(tmp_path, capsys):
    """`lossmask doctor` exits 1 naming the family and the class AutoTokenizer built where it is wrong (5.16.1:
    deepseek_v3 as LlamaTokenizer), 0 where every family is fine; --json says the same."""
    out = tmp_path / "doctor.json"
    rc = main(["doctor", "--json", str(out)])
    printed = capsys.readouterr().out
    wrong = _recorded_mistokenizations()
    assert rc == (1 if wrong else 0), printed
    data = json.loads(out.read_text())
    assert data["ok"] is (not wrong)
    assert {f["family"] for f in data["families"] if f["status"] != "fine"} == set(wrong)
    for family, cls in wrong.items():
        assert family in printed and cls in printed
        assert "PreTrainedTokenizerFast" in printed  # the fix is named
    if TRANSFORMERS == "5.16.1":
        assert wrong["deepseek_v3"] == "LlamaTokenizer"


def test_cases_are_all_covered_by_some_golden_on_this_line():
    keys = set(G.expected_keys())
    assert {c for _, _, c in keys} == {c.id for c in load_cases()}
