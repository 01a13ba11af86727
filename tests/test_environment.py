"""The environment check as data, and how `check` uses it: a difference is attributed to the environment only
when the generator's ids are exactly what the environment makes of the record; notes ride on every record of an
affected family; the JSON report and PEERS.md carry them instead of dropping records."""

import json
from dataclasses import replace

from lossmask import environment as E
from lossmask import golden as G
from lossmask.peers import report as peers_report
from lossmask.runner import Selection, reports, run

SEL = Selection(families=["qwen2_5"], case_ids=["plain_answer", "user_last"])
SPEC = "tests.generators.environment_like:drops_last_token"


def _env(explained_cases):
    """An environment where AutoTokenizer mis-tokenizes qwen2_5 and yields golden ids minus the last token."""
    ids = {f"default/{c}": [G.load_golden("qwen2_5", "default", c)["input_ids"][:-1]] for c in explained_cases}
    bad = E.FamilyHealth("qwen2_5", E.TOKENIZES_DIFFERENTLY, E.Tokenization("LlamaTokenizer", 10, 3), renders=2,
                         fix="load with PreTrainedTokenizerFast", environment_ids=ids)
    return E.Environment({"transformers": "9.9.9", "tokenizers": "0.0.1", "jinja2": "3"}, "main", None, (bad,))


def test_exactly_explained_differences_get_the_environment_verdict():
    outcome = run(SPEC, SEL, env=_env(["plain_answer"]))
    by_case = {r.case: r for r in outcome.results}
    assert by_case["plain_answer"].verdict == "environment"
    assert "LlamaTokenizer" in by_case["plain_answer"].message and "was token_divergence" in by_case["plain_answer"].message
    assert by_case["user_last"].verdict == "token_divergence"  # not what the environment makes of it: generator's
    assert all(r.failed for r in outcome.results)  # an environment verdict is not a pass
    assert all(r.environment and "3 of 10" in r.environment[0] for r in outcome.results)


def test_a_fine_environment_attributes_nothing_and_adds_no_notes():
    fine = _env(["plain_answer"])
    fine = replace(fine, families=(replace(fine.families[0], status=E.FINE),))
    outcome = run(SPEC, SEL, env=fine)
    assert {r.verdict for r in outcome.results} == {"token_divergence"}
    assert all(r.environment == [] for r in outcome.results)


def test_the_json_report_and_peers_page_show_environment_records(tmp_path):
    outcome = run(SPEC, SEL, env=_env(["plain_answer"]))
    path = tmp_path / "drops_last_token-generate.json"
    reports.write_json(outcome, path)
    data = json.loads(path.read_text())
    assert data["environment"]["ok"] is False and data["environment"]["families"][0]["status"] == E.TOKENIZES_DIFFERENTLY
    assert "environment_ids" not in data["environment"]["families"][0]
    assert [r["verdict"] for r in data["results"]] == ["environment", "token_divergence"]
    page = peers_report.render(peers_report.load_reports(tmp_path))
    lines = page.splitlines()
    row = lines[lines.index(next(x for x in lines if x.startswith("| framework |"))) + 2]
    assert row.split("|")[4].strip() == "2"   # cases: both records counted, none left out
    assert row.split("|")[10].strip() == "1"   # the environment column
    assert "Environment (transformers " in page and "3 of 10 fixture texts" in page and "2 records of that family carry this note, 1 of them" in page


def test_a_users_tokenizer_directory_is_checked_against_its_own_file():
    from lossmask import assets

    health = E.check_tokenizer(str(assets.materialize("qwen2_5")))
    assert health.status == E.FINE and health.tokenization.texts > 30 and health.tokenization.differing == 0


def test_doctor_tokenizer_flag_reports_a_broken_directory(tmp_path, capsys):
    from lossmask.cli import main

    rc = main(["doctor", "--tokenizer", str(tmp_path)])
    out = capsys.readouterr().out
    assert rc == 1 and "cannot_load" in out and tmp_path.name in out
