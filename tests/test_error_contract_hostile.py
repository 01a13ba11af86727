"""Hostile input files are one line from ``lossmask mask`` (exit 2) and a typed error from the API.

Deep JSON, integer literals past Python's digit limit, lone surrogates, NaN or negative weights, a template file
that is not UTF-8, and a tokenizer directory that asks to run its own code (``auto_map``): each names the file
(and the JSON path where there is one), and nothing is printed on stdout or imported from the directory.
"""

from __future__ import annotations

import json
import shutil

import pytest

from lossmask import assets
from lossmask.cli import main

U = '{"role": "user", "content": "Hi."}'
A = '{"role": "assistant", "content": "Hello."}'
DEEP = '{"a":' * 3000 + "{}" + "}" * 3000
INPUTS = [
    ("deep_content", "[" + '{"role": "user", "content": ' + "[" * 100_000 + "]" * 100_000 + "}]",
     "nested too deeply for Python's JSON parser"),
    ("deep_arguments", f'[{U}, {{"role": "assistant", "content": "", "tool_calls": [{{"type": "function", '
                       f'"function": {{"name": "f", "arguments": {DEEP}}}}}]}}]', "nested too deeply"),
    ("deep_string_arguments", f'[{U}, {{"role": "assistant", "content": "", "tool_calls": [{{"type": "function", '
                              f'"function": {{"name": "f", "arguments": {json.dumps(DEEP)}}}}}]}}]',
     "$.messages[1].tool_calls[0].function.arguments: nested too deeply"),
    ("deep_schema", f'{{"messages": [{U}, {A}], "tools": [{{"type": "function", "function": {{"name": "f", '
                    f'"parameters": {DEEP}}}}}]}}', "nested too deeply"),
    ("huge_integer", '[{"role": "user", "content": "Hi.", "weight": ' + "9" * 5000 + "}, " + A + "]",
     "beyond Python's JSON limits (Exceeds the limit (4300 digits)"),
    ("lone_surrogate", '[{"role": "user", "content": "bad \\ud800 text"}, ' + A + "]",
     "$.messages[0].content: contains a lone surrogate"),
    ("nan_weight", f'[{U}, {{"role": "assistant", "content": "x", "step_loss_mask": NaN}}]',
     "$.messages[1].step_loss_mask: a weight must be a finite number >= 0, got nan"),
    ("negative_weight", f'[{U}, {{"role": "assistant", "content": "x", "weight": -0.5}}]',
     "$.messages[1].weight: a weight must be a finite number >= 0, got -0.5"),
    ("infinite_weight", f'[{U}, {{"role": "assistant", "content": "x", "loss": 1e999}}]',
     "$.messages[1].loss: a weight must be a finite number >= 0, got inf"),
]


def one_line(capsys) -> str:
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err, captured.err
    return captured.err


@pytest.mark.parametrize("name,text,fragment", INPUTS, ids=[i[0] for i in INPUTS])
def test_hostile_conversation_file_is_one_line_naming_file_and_path(tmp_path, capsys, name, text, fragment):
    path = tmp_path / f"{name}.json"
    path.write_text(text, encoding="utf-8")
    assert main(["mask", "--family", "qwen3", "--messages", str(path), "--json", "-"]) == 2
    err = one_line(capsys)
    assert str(path) in err and fragment in err


def test_template_file_that_is_not_utf8_is_one_line(tmp_path, capsys):
    template, chat = tmp_path / "latin1.jinja", tmp_path / "chat.json"
    template.write_bytes("{{ 'caf\xe9' }}".encode("latin-1"))
    chat.write_text(f"[{U}, {A}]")
    assert main(["mask", "--family", "qwen3", "--template", str(template), "--messages", str(chat)]) == 2
    assert f"{template}: template is not UTF-8" in one_line(capsys)
    data = tmp_path / "data.jsonl"
    data.write_text(f"[{U}, {A}]\n")
    assert main(["audit", str(data), "--family", "qwen3", "--template", str(template), "--no-progress",
                 "--json", "-"]) == 2
    assert f"{template}: template is not UTF-8" in one_line(capsys)


@pytest.fixture
def remote_code_dir(tmp_path):
    """A real tokenizer directory whose config asks for a custom class from a module that leaves a mark if run."""
    directory = tmp_path / "tok"
    src = assets.materialize("qwen2_5")
    directory.mkdir()
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(src / name, directory / name)
    mark = tmp_path / "custom_code_ran"
    (directory / "custom_tok.py").write_text(f"open({str(mark)!r}, 'w').close()\n"
                                             "from transformers import PreTrainedTokenizerFast\n"
                                             "class CustomTokenizer(PreTrainedTokenizerFast):\n    pass\n")
    return directory, mark


def _set_config(directory, **changes):
    path = directory / "tokenizer_config.json"
    config = json.loads(path.read_text())
    config.update(changes)
    path.write_text(json.dumps(config))


def test_a_tokenizer_that_needs_its_own_code_is_refused_without_prompting_or_running_it(remote_code_dir, tmp_path,
                                                                                     capsys):
    directory, mark = remote_code_dir
    _set_config(directory, tokenizer_class="CustomTokenizer",
                auto_map={"AutoTokenizer": ["custom_tok.CustomTokenizer", "custom_tok.CustomTokenizer"]})
    chat = tmp_path / "chat.json"
    chat.write_text(f"[{U}, {A}]")
    assert main(["mask", "--tokenizer", str(directory), "--messages", str(chat)]) == 2
    err = one_line(capsys)  # nothing on stdout: no "run the custom code? [y/N]" prompt
    assert "needs its own Python code" in err and "trust_remote_code is refused" in err
    assert not mark.exists()
    data = tmp_path / "data.jsonl"
    data.write_text(f"[{U}, {A}]\n")
    assert main(["audit", str(data), "--tokenizer", str(directory), "--no-progress", "--json", "-"]) == 2
    err = one_line(capsys)  # the audit refuses it the same way, before any sample is read
    assert "needs its own Python code" in err and "trust_remote_code is refused" in err
    assert not mark.exists()


def test_an_auto_map_beside_a_class_transformers_has_is_loaded_without_running_the_code(remote_code_dir, tmp_path,
                                                                                      capsys):
    directory, mark = remote_code_dir
    _set_config(directory, auto_map={"AutoTokenizer": ["custom_tok.CustomTokenizer", "custom_tok.CustomTokenizer"]})
    chat = tmp_path / "chat.json"
    chat.write_text(f"[{U}, {A}]")
    assert main(["mask", "--tokenizer", str(directory), "--messages", str(chat), "--json", "-"]) == 0
    assert json.loads(capsys.readouterr().out)["input_ids"]
    assert not mark.exists()
