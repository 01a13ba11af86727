"""`lossmask families` and `lossmask mask`: output shape, JSON contract and one-line errors."""

import json

import pytest

from lossmask.cli import main
from tests.conversations import MULTI_TURN_REASONING, TOOL_FLOW, WEATHER_TOOL


@pytest.fixture
def chat(tmp_path):
    path = tmp_path / "chat.json"
    path.write_text(json.dumps(MULTI_TURN_REASONING))
    return path


def test_families_json_lists_all_with_rebuild_flag(capsys):
    assert main(["families", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data) == 12 and data["qwen3_5"]["rebuilt"] is True and data["llama3"]["rebuilt"] is False
    assert "Qwen3-Coder" in data["qwen3"]["variants"]


def test_families_table_says_qwen3_5_is_a_rebuild(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "400")
    assert main(["families"]) == 0
    assert "REBUILT, not the published file" in capsys.readouterr().out


def test_mask_json_has_the_contract_fields(chat, capsys):
    assert main(["mask", "--family", "qwen3_5", "--messages", str(chat), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    n = len(out["input_ids"])
    assert n == len(out["offsets"]) == len(out["segments"]) == len(out["loss_mask"])
    assert out["profile"] == "canonical" and out["rebuilt_tokenizer"] is True
    supervised = "".join(out["text"][s:e] for (s, e), m in zip(out["offsets"], out["loss_mask"]) if m)
    assert supervised == "4.<|im_end|>Add three and three.\n</think>\n\n6.<|im_end|>"
    assert {"header", "gen_prompt_suffix", "end_of_turn", "separator"} <= set(out["segments"])


def test_mask_object_input_with_tools_and_profile(tmp_path, capsys):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"messages": TOOL_FLOW, "tools": [WEATHER_TOOL]}))
    assert main(["mask", "--family", "qwen3_5", "--messages", str(path), "--json", "--profile", "slime-qwen3_5"]) == 0
    out = json.loads(capsys.readouterr().out)
    sep = [m for m, seg in zip(out["loss_mask"], out["segments"]) if seg == "separator"]
    assert sep and all(sep)  # slime's profile supervises the "\n" after <|im_end|>


def test_mask_render_shows_summary(chat, capsys):
    assert main(["mask", "--family", "llama3", "--messages", str(chat)]) == 0
    out = capsys.readouterr().out
    assert "llama3 · profile canonical ·" in out and "supervised" in out


@pytest.mark.parametrize("args,message", [
    (["--family", "nope"], "'nope' is neither a bundled family"),
    (["--family", "qwen3", "--profile", "bogus"], "unknown profile 'bogus'"),
    (["--family", "qwen3", "--variant", "v9"], "has no variant 'v9'"),
    (["--family", "qwen3", "--template-kwargs", "[1]"], "--template-kwargs: must be a JSON object"),
])
def test_usage_errors_are_one_line_exit_2(chat, capsys, args, message):
    assert main(["mask", "--messages", str(chat), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_template_refusal_is_one_line_exit_2(tmp_path, capsys):
    path = tmp_path / "c.json"
    path.write_text(json.dumps([{"role": "system", "content": "s"}, {"role": "assistant", "content": "a"}]))
    assert main(["mask", "--family", "qwen3_5", "--messages", str(path)]) == 2
    err = capsys.readouterr().err
    assert "template refused the conversation: No user query found in messages." in err
    assert err.count("\n") == 1
