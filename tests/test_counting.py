"""Counting rules: a decline is `unsupported` whatever the golden says, agreeing with a template refusal is
`refused_agree` and never a pass, and every report (summary, terminal table, JUnit, PEERS.md) counts the same.

Expected numbers come from the golden files on disk (how many records are refused), not from the runner."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from lossmask import golden as G
from lossmask.cases import load_cases, schema_errors
from lossmask.cli import main
from lossmask.compare import Answer, Answered, Verdict, compare
from lossmask.peers import report as peers_report
from lossmask.runner import Selection, reports, run

MOD = "tests.generators.counting"
FAMILY = "qwen3_5"


def _records(family: str) -> list:
    cases = load_cases()
    return [G.load_record(f, v, cid) for f, v, cid in G.expected_keys(cases) if f == family]


@pytest.fixture(scope="module")
def qwen3_5_records():
    records = _records(FAMILY)
    refused = sum(r.refused for r in records)
    assert 0 < refused < len(records)  # the family has both kinds, or this test proves nothing
    return records


@pytest.fixture(scope="module")
def decline_all():
    return run(f"{MOD}:declines_everything", Selection(families=[FAMILY]), jobs=2)


def test_a_generator_that_declines_everything_gets_zero_passes(decline_all, qwen3_5_records, tmp_path):
    s = reports.summary(decline_all)
    assert s["total"] == len(qwen3_5_records)
    assert (s["passed"], s["ran"], s["refused_agree"], s["failed"]) == (0, 0, 0, 0)
    assert s["declined"] == len(qwen3_5_records) and s["verdicts"] == {"unsupported": len(qwen3_5_records)}
    # the refused records too: the golden does not turn a decline into anything else
    refused = {r.key for r in qwen3_5_records if r.refused}
    assert {r.verdict for r in decline_all.results if (r.family, r.variant, r.case) in refused} == {Verdict.UNSUPPORTED}
    junit = tmp_path / "j.xml"
    reports.write_junit(decline_all, junit)
    suites = list(ET.parse(junit).getroot())
    assert sum(int(x.get("tests")) - int(x.get("skipped")) for x in suites) == 0  # no JUnit pass either


def test_terminal_table_shows_no_fraction_for_declined_cells(tmp_path, capsys):
    code = main(["check", f"{MOD}:declines_everything", "--family", "llama3", "--category", "single_turn"])
    out = capsys.readouterr().out
    assert code == 0
    assert "5/5" not in out and "0 passed of 0 that ran" in out
    row = next(line for line in out.splitlines() if "llama3/default" in line)
    assert "–" in row and "/" not in row.replace("llama3/default", "")


def test_right_where_the_template_renders_and_declining_refusals(qwen3_5_records):
    outcome = run(f"{MOD}:declines_refusals", Selection(families=[FAMILY]), jobs=2)
    rendered = [r for r in qwen3_5_records if not r.refused]
    s = reports.summary(outcome)
    assert s["passed"] == len(rendered)
    assert s["declined"] == len(qwen3_5_records) - len(rendered)
    assert s["ran"] == len(rendered) and s["refused_agree"] == 0 and s["failed"] == 0


def test_raising_where_the_template_refuses_is_refused_agree_not_pass(qwen3_5_records, tmp_path):
    outcome = run(f"{MOD}:raises_on_refusals", Selection(families=[FAMILY]), jobs=2)
    refused = [r for r in qwen3_5_records if r.refused]
    s = reports.summary(outcome)
    assert s["refused_agree"] == len(refused) and s["passed"] == len(qwen3_5_records) - len(refused)
    assert s["ran"] == len(qwen3_5_records) and s["failed"] == 0 and s["declined"] == 0
    path = tmp_path / "r.json"
    reports.write_json(outcome, path)
    data = json.loads(path.read_text())
    assert schema_errors("report", data) == []
    agreed = [r for r in data["results"] if r["verdict"] == "refused_agree"]
    assert len(agreed) == len(refused)
    assert all(r["details"]["golden"] == "refused" and r["details"]["answer"] == "raised" for r in agreed)
    junit = tmp_path / "j.xml"
    reports.write_junit(outcome, junit)
    skipped = [n for n in ET.parse(junit).getroot().iter("skipped")]
    assert len(skipped) == len(refused) and {n.get("type") for n in skipped} == {"refused_agree"}


def test_compare_rules_on_one_refused_record(qwen3_5_records):
    record = next(r for r in qwen3_5_records if r.refused)
    cases = [
        (Answer(Answered.DECLINED, "no"), Verdict.UNSUPPORTED),
        (Answer(Answered.RAISED, "TemplateError: x"), Verdict.REFUSED_AGREE),
        (Answer.returned([1, 2], [0, 1]), Verdict.TOKEN_DIVERGENCE),
        (Answer(Answered.TIMED_OUT, "slow"), Verdict.TIMEOUT),
        (Answer(Answered.CRASHED, "SIGABRT"), Verdict.ERROR),
    ]
    for answer, verdict in cases:
        assert compare(record, answer, "canonical").verdict is verdict, answer
    rendered = next(r for r in qwen3_5_records if not r.refused)
    assert compare(rendered, Answer(Answered.RAISED, "boom"), "canonical").verdict is Verdict.ERROR
    assert compare(rendered, Answer(Answered.DECLINED, "no"), "canonical").verdict is Verdict.UNSUPPORTED
    good = compare(rendered, Answer.returned(rendered.input_ids, rendered.mask("canonical")), "canonical")
    assert good.verdict is Verdict.PASS
    assert compare(rendered, Answer.returned(rendered.input_ids, rendered.mask("canonical")), "no-such").verdict \
        is Verdict.NOT_JUDGED


def test_peers_page_counts_a_decline_on_a_refused_case_as_declined(decline_all, tmp_path):
    reports.write_json(decline_all, tmp_path / "all-declined.json")
    out = tmp_path / "PEERS.md"
    assert peers_report.main([str(tmp_path), "--out", str(out)]) == 0
    n = len(decline_all.results)
    row = next(line for line in out.read_text().splitlines() if line.startswith("| tests.generators.counting"))
    assert f"| {n} | {n} | 0/0 | 0 |" in row


def test_template_glue_is_named_as_template_text_not_answer_text():
    """Qwen3.5 writes '\\n</think>\\n\\n' on a turn without reasoning; no field holds it. A generator that trains
    the answer but not that frame is told so, not that it misses the answer (the label, not the mask, changed)."""
    record = G.load_record("qwen3_5", "default", "plain_answer")
    glue = [i for i, s in enumerate(record.segments) if "glue" in s.split("+")]
    assert "".join(record.piece(i) for i in glue).endswith("</think>\n\n") and glue
    canonical = record.mask("canonical")
    assert all(canonical[i] for i in glue)  # supervised, as the model writes it
    answer_only = [m if "glue" not in record.segments[i].split("+") else 0 for i, m in enumerate(canonical)]
    outcome = compare(record, Answer.returned(record.input_ids, answer_only), "canonical")
    assert outcome.verdict is Verdict.MASK_MISMATCH
    assert set(outcome.under_supervised) == {record.segments[i] for i in glue} and not outcome.over_supervised
    assert "template glue" in outcome.message and "answer text" not in outcome.message


def test_check_names_glue_not_answer_text_for_a_generator_that_trains_the_answer(capsys):
    """`lossmask check --case plain_answer` on qwen3_5 with a generator that supervises the answer but not the
    '\\n</think>\\n\\n' frame: the explanation speaks of template glue and never says the answer text is missed."""
    code = main(["check", f"{MOD}:trains_answer_not_glue", "--family", FAMILY, "--case", "plain_answer",
                 "--details", "5"])
    out = capsys.readouterr().out
    assert code == 1  # the frame is supervised by the canonical profile, so it is a mismatch, not a pass
    assert "template glue" in out and "does not supervise answer text" not in out
