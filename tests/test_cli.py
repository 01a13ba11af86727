"""Command-line conventions: --version, a description and examples in every subcommand's --help, one spelling
for report outputs, '-' for standard output/input, report targets that are not regular files written in place,
an unwritable report path as one line and exit 2 before any case runs, path-like --tokenizer values that do not
exist, `lossmask mask` without colour, and case files that keep their template kwargs."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
from importlib import metadata

import pytest

from lossmask import assets, golden
from lossmask.cli import build_parser, main

CLI = [sys.executable, "-c", "import sys; from lossmask.cli import main; sys.exit(main())"]
RST = re.compile(r"``|:(?:func|class|mod|data|meth|attr):`")
CHAT = [{"role": "user", "content": "What is 2+2?"}, {"role": "assistant", "content": "4."}]


def _subcommands() -> dict:
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")  # argparse keeps subparsers here
    return dict(action.choices)


def test_version_names_the_distribution_and_the_environment(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"lossmask {metadata.version('lossmask-conformance')} (transformers ")
    assert f"tokenizers {metadata.version('tokenizers')}" in out


@pytest.mark.parametrize("name", sorted(_subcommands()))
def test_every_subcommand_help_has_a_description_and_examples_and_no_markup(name):
    parser = _subcommands()[name]
    text = parser.format_help()
    assert parser.description and len(parser.description) > 80, f"{name}: no description"
    assert "\nexamples:\n  lossmask " in text, f"{name}: no examples"
    assert not RST.search(text), f"{name}: reStructuredText in --help: {RST.search(text).group()}"
    assert "Thin wrapper" not in text and "lives in" not in text, f"{name}: internal notes in --help"


def test_report_outputs_have_one_spelling():
    spellings: dict[str, set[str]] = {}
    for name, parser in _subcommands().items():
        for action in parser._actions:
            if getattr(action, "lossmask_report", False):
                spellings.setdefault(action.option_strings[0], set()).add(name)
            else:  # an output option made some other way would escape the conventions
                assert not [o for o in action.option_strings if re.fullmatch(r"--(json|junit|html|markdown)\S*", o)], (
                    name, action.option_strings)
    assert set(spellings) <= {"--json", "--junit", "--html", "--markdown"}, spellings
    assert {"check", "audit", "smoke", "bench", "mask", "families"} <= spellings["--json"]


def test_the_old_json_report_spelling_still_works(tmp_path, capsys):
    path = tmp_path / "r.json"
    assert main(["check", "reference", "--family", "qwen2_5", "--case", "plain_answer", "--json-report", str(path)]) == 0
    assert json.loads(path.read_text())["results"][0]["verdict"] == "pass"


def test_json_dash_writes_the_report_to_stdout_and_the_summary_to_stderr(capsys):
    assert main(["check", "reference", "--family", "qwen2_5", "--category", "single_turn", "--json", "-"]) == 0
    out, err = capsys.readouterr()
    report = json.loads(out)
    assert len(report["results"]) == 5 and "5 pass" in err


def test_two_reports_on_stdout_are_a_usage_error(capsys):
    assert main(["check", "reference", "--json", "-", "--html", "-"]) == 2
    assert "--json and --html both write to standard output" in capsys.readouterr().err


@pytest.mark.parametrize("target,says", [
    ("{file}/report.json", "cannot be created, {file} is not a directory"),
    ("{dir}", "is a directory"),
])
def test_an_unwritable_report_path_is_one_line_and_exit_2_before_any_case_runs(tmp_path, monkeypatch, capsys,
                                                                               target, says):
    (tmp_path / "tripwire.py").write_text("open('generator-started', 'w').close()\n"
                                          "def generate(tokenizer, messages, tools=None, **kw):\n    raise SystemExit\n")
    (tmp_path / "a-file").write_text("")
    (tmp_path / "a-dir").mkdir()
    monkeypatch.chdir(tmp_path)
    names = {"file": str(tmp_path / "a-file"), "dir": str(tmp_path / "a-dir")}
    for flag in ("--json", "--junit", "--html"):
        assert main(["check", "tripwire:generate", flag, target.format(**names)]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith(f"lossmask check: error: {flag} ") and says.format(**names) in err[0]
    assert not (tmp_path / "generator-started").exists()


def test_junit_to_dev_stdout_reaches_stdout_and_leaves_the_symlink(tmp_path):
    out = subprocess.run([*CLI, "check", "reference", "--family", "qwen2_5", "--case", "plain_answer",
                          "--junit", "/dev/stdout"], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    assert "<testsuites" in out.stdout and os.path.islink("/dev/stdout")


def test_a_path_like_tokenizer_that_does_not_exist_says_so(tmp_path, capsys):
    chat = tmp_path / "chat.json"
    chat.write_text(json.dumps(CHAT))
    for spec in ("./missing-dir", "../missing-dir", "/nonexistent/tokenizer", "a/b/c"):
        assert main(["mask", "--tokenizer", spec, "--messages", str(chat)]) == 2
        err = capsys.readouterr().err
        assert f"{spec}: does not exist" in err and "hub" in err, err


def test_case_files_keep_their_template_kwargs(capsys):
    case = next(c for c in __import__("lossmask.cases", fromlist=["x"]).load_cases() if c.id == "thinking_disabled")
    assert case.template_kwargs  # the case this test is about renders with {"enable_thinking": false}
    assert main(["mask", "--family", "qwen3", "--messages", str(case.path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["template_kwargs"] == case.template_kwargs
    assert out["input_ids"] == golden.load_golden("qwen3", "default", case.id)["input_ids"]


def test_messages_dash_reads_standard_input():
    out = subprocess.run([*CLI, "mask", "--family", "qwen2_5", "--messages", "-", "--json"],
                         input=json.dumps(CHAT), capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "4.<|im_end|>" in json.loads(out.stdout)["text"]
    both = subprocess.run([*CLI, "mask", "--family", "qwen2_5", "--messages", "-", "--tools", "-"],
                          input="[]", capture_output=True, text=True, timeout=300)
    assert both.returncode == 2 and "--messages and --tools both read standard input" in both.stderr


def _mask_on_a_terminal(tmp_path, env_extra: dict) -> str:
    """`lossmask mask` with its stdout on a pseudo-terminal: what a user sees."""
    chat = tmp_path / "chat.json"
    chat.write_text(json.dumps(CHAT))
    master, slave = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "TERM")} | {"TERM": "xterm-256color"}
    proc = subprocess.Popen([*CLI, "mask", "--family", "qwen2_5", "--messages", str(chat)], stdout=slave,
                            stderr=subprocess.PIPE, env=env | env_extra)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=300)
    os.close(master)
    assert proc.returncode == 0, proc.stderr.read()
    return b"".join(chunks).decode("utf-8", "replace")


def test_mask_shows_supervision_without_colour_when_piped_or_no_color(tmp_path):
    chat = tmp_path / "chat.json"
    chat.write_text(json.dumps(CHAT))
    piped = subprocess.run([*CLI, "mask", "--family", "qwen2_5", "--messages", str(chat)], capture_output=True,
                           text=True, timeout=300)
    assert piped.returncode == 0, piped.stderr
    assert "\x1b[" not in piped.stdout and "assistant\n⟦4.<|im_end|>⟧\n" in piped.stdout
    no_color = _mask_on_a_terminal(tmp_path, {"NO_COLOR": "1"})
    assert "\x1b[" not in no_color and "⟦4.<|im_end|>⟧" in no_color
    coloured = _mask_on_a_terminal(tmp_path, {})
    assert "\x1b[" in coloured and "⟦" not in coloured


def test_mask_tokens_prints_one_line_per_token(tmp_path, capsys):
    chat = tmp_path / "chat.json"
    chat.write_text(json.dumps(CHAT))
    assert main(["mask", "--family", "qwen2_5", "--messages", str(chat), "--tokens"]) == 0
    out = capsys.readouterr().out
    n = len(assets.load_bundled("qwen2_5").tokenizer.apply_chat_template(CHAT, tokenize=True, return_dict=True)
            ["input_ids"])
    rows = [line for line in out.splitlines() if re.match(r"\s*\d+\s+\d+\s+'", line)]
    assert len(rows) == n
    assert any("'<|im_end|>'" in r and "end_of_turn" in r and r.rstrip().endswith("1") for r in rows)


def test_a_warning_when_transformers_is_outside_the_tested_matrix(tmp_path, capsys, monkeypatch):
    import lossmask.cli as cli
    from lossmask import matrix

    chat = tmp_path / "chat.json"
    chat.write_text(json.dumps(CHAT))
    real = {name: metadata.version(name) for name in ("transformers", "tokenizers")}
    assert main(["mask", "--family", "qwen2_5", "--messages", str(chat), "--json"]) == 0
    inside = matrix.in_matrix(real["transformers"], real["tokenizers"])
    assert ("outside the tested matrix" in capsys.readouterr().err) is not inside
    monkeypatch.setattr(cli, "installed", lambda name: {"transformers": "4.40.0", "tokenizers": "0.19.1"}[name])
    assert main(["mask", "--family", "qwen2_5", "--messages", str(chat), "--json"]) == 0  # a warning, not an error
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("lossmask: warning: transformers 4.40.0 with tokenizers 0.19.1 is "
                                                "outside the tested matrix (")
    assert all(f"{c.transformers}/{c.tokenizers}" in err[0] for c in matrix.CELLS)
