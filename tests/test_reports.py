"""Terminal and JUnit reports: failures grouped by cause before any single case, a bounded per-case detail,
JUnit class names that keep a dotted variant in one class, and failure bodies in the terminal's compact context."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lossmask.cli import main
from lossmask.compare import Outcome, Verdict
from lossmask.runner import Selection, reports, run
from lossmask.runner.causes import Cause, failure_groups
from lossmask.runner.engine import Run
from lossmask.runner.verdict import Result

PER_MESSAGE = Path(__file__).resolve().parents[1] / "examples" / "nonconformant" / "per_message.py"


@pytest.fixture(scope="module")
def qwen35(tmp_path_factory):
    """per_message on the three Qwen3.5 templates, single- and multi-turn: mismatches, divergences, refusals."""
    return run(f"{PER_MESSAGE}:generate", Selection(families=["qwen3_5"], categories=["single_turn", "multi_turn"]))


def test_every_failure_is_in_exactly_one_cause_read_from_typed_fields(qwen35):
    groups = failure_groups(qwen35.results)
    grouped = [id(r) for g in groups for r in g.results]
    assert sorted(grouped) == sorted(id(r) for r in qwen35.results if r.failed)
    assert len(groups) < sum(r.failed for r in qwen35.results)  # grouping groups
    mismatch = next(g for g in groups if g.cause.verdict == "mask_mismatch")
    for r in mismatch.results:
        assert set(r.outcome.over_supervised) == set(mismatch.cause.over)
    assert [len(g.results) for g in groups] == sorted((len(g.results) for g in groups), reverse=True)


def test_cause_titles_name_parts_not_counts():
    cause = Cause("mask_mismatch", over=("header", "separator"))
    assert cause.title == "supervises the role header and the separator after end-of-turn"
    assert Cause("mask_mismatch", under=("end_of_turn",)).title == "does not supervise the end-of-turn token"


def test_check_prints_causes_before_cases_and_limits_the_detail(capsys):
    code = main(["check", f"{PER_MESSAGE}:generate", "--family", "qwen3_5", "--category", "single_turn",
                 "--max-failures", "2"])
    assert code == 1
    out = capsys.readouterr().out
    head = re.search(r"(\d+) failing records, (\d+) causes", out)
    assert head, out
    failing, causes = map(int, head.groups())
    assert failing == 15 and 1 < causes < failing
    first_case = out.index("mask_mismatch qwen3_5/")
    assert head.start() < first_case
    details = re.findall(r"^(?:mask_mismatch|token_divergence|error) qwen3_5/\S+ \S+ \(", out, flags=re.M)
    assert len(details) == 2
    assert f"... and {failing - 2} more failing cases" in out
    assert "supervises the role header" in out  # a cause title, from the typed fields


def test_junit_class_names_keep_dotted_variants_in_one_class(tmp_path):
    results = [Result(case="plain_answer", family="qwen3_5", variant=v, category="single_turn",
                      outcome=Outcome(Verdict.PASS, ""), seconds=0.01) for v in ("Qwen3.5-0.8B", "Qwen3_5-0_8B", "default")]
    outcome = Run("x", {"name": "g", "version": "1"}, "canonical", results, 0.1)
    names = reports.junit_classnames([(r.family, r.variant) for r in results])
    assert names[("qwen3_5", "Qwen3.5-0.8B")] == "lossmask.qwen3_5.Qwen3_5-0_8B"
    assert len(set(names.values())) == 3  # the collision with a variant already spelled that way is told apart
    reports.write_junit(outcome, tmp_path / "j.xml")
    for case in ET.parse(tmp_path / "j.xml").getroot().iter("testcase"):
        assert case.get("classname").count(".") == 2


@given(st.lists(st.tuples(st.text(max_size=12), st.text(max_size=12)), unique=True, max_size=12))
def test_junit_class_names_are_valid_and_distinct_for_any_family_and_variant(labels):
    """Any text (dots, spaces, slashes, non-ASCII, empty): three dot-separated identifiers, one per template."""
    names = reports.junit_classnames(labels)
    assert set(names) == set(labels)
    assert len(set(names.values())) == len(labels)
    for name in names.values():
        assert re.fullmatch(r"lossmask\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+", name), name


def test_junit_failure_body_is_the_compact_context_not_json(qwen35, tmp_path):
    reports.write_junit(qwen35, tmp_path / "j.xml")
    root = ET.parse(tmp_path / "j.xml").getroot()
    body = {(c.get("classname"), c.get("name")): c[0] for c in root.iter("testcase") if len(c)}
    names = reports.junit_classnames(list(dict.fromkeys((r.family, r.variant) for r in qwen35.results)))
    assert len(body) == sum(r.failed for r in qwen35.results)

    def node(r):
        return body[names[r.family, r.variant], f"{r.category}/{r.case}"]

    mismatch = next(r for r in qwen35.results if r.verdict == "mask_mismatch")
    assert node(mismatch).tag == "failure" and node(mismatch).get("message") == mismatch.message
    assert re.search(r"^\s*> #\d+\s+'", node(mismatch).text, flags=re.M)  # a differing token row, piece as literal
    assert not node(mismatch).text.lstrip().startswith("{")
    diverged = next(r for r in qwen35.results if r.verdict == "token_divergence" and r.outcome.first_difference is not None)
    assert f"first difference at token #{diverged.outcome.first_difference}" in node(diverged).text
    assert re.search(r"^\s*generator '", node(diverged).text, flags=re.M)
    error = next(r for r in qwen35.results if r.verdict == "error")
    assert node(error).tag == "error" and error.message in node(error).text
