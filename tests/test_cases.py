"""The case corpus: every file validates, the categories the suite promises are there, and a malformed case
gives one clear error naming the file and the JSON path."""

import json
from collections import Counter

import pytest

from lossmask.cases import CATEGORIES, load_case, load_cases, schema_errors
from lossmask.errors import CaseError

MINIMUM = {"single_turn": 5, "multi_turn": 8, "tool_call": 8, "adversarial": 10}


def test_every_case_validates_and_categories_are_covered():
    cases = load_cases()
    for case in cases:
        raw = json.loads(case.path.read_text())
        assert schema_errors("case", raw) == [], case.path
    counts = Counter(c.category for c in cases)
    for category, minimum in MINIMUM.items():
        assert counts[category] >= minimum, (category, counts[category])
    assert set(counts) <= set(CATEGORIES)


def test_long_agent_trajectory_has_30_plus_turns():
    (case,) = load_cases(ids=["long_agent_trajectory"])
    assert len(case.messages) >= 30
    assert sum(1 for m in case.messages if m.get("tool_calls")) >= 10


def _write(tmp_path, category, data):
    path = tmp_path / category / f"{data.get('id', 'x')}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return path


GOOD = {"id": "ok_case", "category": "single_turn", "description": "A valid case used to build broken ones.",
        "messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]}


@pytest.mark.parametrize("mutate,expected", [
    (lambda d: d["messages"][1].update(role="robot"), "$.messages[1].role"),
    (lambda d: d["messages"][0].update(content=42), "$.messages[0].content"),
    (lambda d: d.pop("description"), "'description' is a required property"),
    (lambda d: d.update(category="chitchat"), "$.category"),
    (lambda d: d["messages"][1].update(tool_calls=[{"type": "function", "function": {"name": "f"}}]),
     "$.messages[1].tool_calls[0].function"),
])
def test_malformed_case_names_file_and_json_path(tmp_path, mutate, expected):
    data = json.loads(json.dumps(GOOD))
    mutate(data)
    path = _write(tmp_path, "single_turn", data)
    with pytest.raises(CaseError) as err:
        load_case(path)
    message = str(err.value)
    assert str(path) in message and expected in message
    assert "\n" not in message


def test_id_must_match_file_name_and_folder(tmp_path):
    path = tmp_path / "single_turn" / "other_name.json"
    path.parent.mkdir()
    path.write_text(json.dumps(GOOD))
    with pytest.raises(CaseError, match=r"\$\.id: 'ok_case' must equal the file name 'other_name'"):
        load_case(path)
    wrong_folder = _write(tmp_path, "multi_turn", GOOD)
    with pytest.raises(CaseError, match=r"\$\.category: 'single_turn' but the file is under multi_turn/"):
        load_case(wrong_folder)


def test_not_json_names_the_file(tmp_path):
    path = tmp_path / "single_turn" / "broken.json"
    path.parent.mkdir()
    path.write_text('{"id": "broken",')
    with pytest.raises(CaseError, match=r"broken\.json: not valid JSON"):
        load_case(path)


def test_unknown_filters_are_usage_errors():
    with pytest.raises(CaseError, match="unknown category 'nope'"):
        load_cases(categories=["nope"])
    with pytest.raises(CaseError, match="no such case 'nope'"):
        load_cases(ids=["nope"])
