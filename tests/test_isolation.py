"""Isolation that holds: every record gets one verdict, nothing hangs, nothing survives, nothing leaks.

Each test runs a generator from ``tests/generators/hostile.py`` (Python) or ``jsonl_hostile.py`` (a subprocess)
that attacks one promise of the runner, and checks the verdict, that the run ended within its deadline, that
no process it started is still alive (found by an environment tag every descendant inherits, read from
``/proc`` with psutil), and that later cases were unaffected.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest

from lossmask.cli import main
from lossmask.errors import HarnessError, UsageError
from lossmask.runner import Selection, engine, reports, run
from lossmask.runner.limits import Limits

from .procs import deliverable_sigint, survivors, tagged

HOSTILE = "tests.generators.hostile"
JSONL = f"jsonl:{sys.executable} {Path(__file__).parent / 'generators' / 'jsonl_hostile.py'}"
TWO = Selection(families=["qwen2_5"], case_ids=["plain_answer", "user_last"])
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def tag(monkeypatch, tmp_path):
    """Every process the runner starts inherits this tag; the test fails if any survives it."""
    value = uuid.uuid4().hex
    monkeypatch.setenv("LOSSMASK_TEST_TAG", value)
    monkeypatch.setenv("LOSSMASK_TEST_DIR", str(tmp_path))
    yield value
    left = survivors(value)
    for proc in tagged(value):
        proc.kill()
    assert not left, f"processes left behind: {left}"


def lines(err: str) -> list[str]:
    """The non-blank lines on stderr (the transient progress bar leaves a blank one)."""
    return [line for line in err.splitlines() if line.strip()]


def verdicts(spec, sel=TWO, **kw):
    started = time.monotonic()
    outcome = run(spec, sel, **kw)
    return outcome, Counter(r.verdict for r in outcome.results), time.monotonic() - started


# -- 1. no false greens -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["negative_id", "huge_id"])
def test_ids_outside_the_token_range_are_invalid_output(tag, name):
    outcome, counts, _ = verdicts(f"{HOSTILE}:{name}")
    assert counts == {"invalid_output": 2}
    assert all("not a token id" in r.message for r in outcome.results)


def test_a_crash_while_judging_costs_that_case_only_and_is_named(tag, monkeypatch, capsys):
    """The comparison core raising (as judging a negative id once did: OverflowError in the parent) is a named
    harness error for that case; the other cases are judged, and ``check`` exits 1 naming it."""
    real, calls = engine.compare, []

    def compare(*args, **kw):
        calls.append(1)
        if len(calls) == 1:
            raise OverflowError("can't convert negative int to unsigned")
        return real(*args, **kw)

    monkeypatch.setattr(engine, "compare", compare)
    outcome, counts, _ = verdicts("reference", Selection(families=["qwen2_5"], categories=["single_turn"]))
    assert counts == {"not_judged": 1, "pass": 4}
    bad = next(r for r in outcome.results if r.verdict == "not_judged")
    assert bad.message.startswith(engine.HARNESS_ERROR) and "OverflowError: can't convert" in bad.message
    assert bad.failed and reports.summary(outcome)["not_judged"] == 1
    calls.clear()
    capsys.readouterr()
    assert main(["check", "reference", "--family", "qwen2_5", "--category", "single_turn", "--jobs", "1"]) == 1
    captured = capsys.readouterr()
    named = [line for line in (captured.out + captured.err).splitlines() if line.startswith("harness error")]
    assert len(named) == 1 and "failed while judging 1 case(s)" in named[0] and "OverflowError" in named[0]


def test_a_lost_case_fails_the_run_with_a_named_harness_error(tag, monkeypatch, capsys):
    real = engine._guarded

    def loses_one(proc, family, variant, case, *rest):
        if case.id == "user_last":
            raise RuntimeError("worker thread died")
        return real(proc, family, variant, case, *rest)

    monkeypatch.setattr(engine, "_guarded", loses_one)
    with pytest.raises(HarnessError, match=r"2 records selected but 1 verdicts produced; no verdict for "
                                           r"qwen2_5/default/user_last \(RuntimeError: worker thread died\)"):
        run("reference", TWO)
    assert main(["check", "reference", "--family", "qwen2_5", "--case", "plain_answer", "--case", "user_last"]) == 1
    err = capsys.readouterr().err
    assert len(lines(err)) == 1 and "lossmask check: error: 2 records selected but 1 verdicts" in err


def test_bad_answers_cost_their_own_case_only_and_later_cases_pass(tag):
    """Out-of-range, wrongly typed, missing, wrongly sized and unsendable ids: each is that case's failure
    verdict, every selected record still gets exactly one verdict, and the cases after them pass."""
    from tests.generators.hostile import BAD_ANSWERS

    sel = Selection(families=["qwen2_5"], categories=["single_turn", "multi_turn"])
    outcome, _, _ = verdicts(f"{HOSTILE}:bad_then_good", sel, jobs=1)
    got = [(r.case, r.verdict) for r in outcome.results]
    assert [case for case, _ in got] == [c.id for _, _, c in engine.select(sel)]  # one verdict each, in order
    n = len(BAD_ANSWERS)
    assert [v for _, v in got[:n]] == ["invalid_output"] * 6 + ["length_mismatch"] * 2 + ["invalid_output"] * 2
    messages = [r.message for r in outcome.results[:n]]
    for fragment, message in zip(["input_ids[0] is -1, not a token id", "is 1180591620717411303424, not a token id",
                                  "input_ids[0] is '", "(float), expected an int", "input_ids[0] is True (bool)",
                                  "input_ids is a NoneType", "loss_mask has", "loss_mask has",
                                  "(object), expected an int", "expected a pair"], messages):
        assert fragment in message, (fragment, message)
    assert [v for _, v in got[n:]] == ["pass"] * (len(got) - n) and len(got) - n >= 3
    assert outcome.generator["restarts"] == 0


@pytest.mark.parametrize("flag", ["--timeout", "--startup-timeout", "--prepare-timeout"])
@pytest.mark.parametrize("value", ["-1", "0", "inf", "nan", "soon"])
@pytest.mark.parametrize("command", [["check", "reference"], ["audit", "data.jsonl", "--family", "qwen2_5"]])
def test_bad_timeouts_are_usage_errors(capsys, command, flag, value):
    with pytest.raises(SystemExit) as info:
        main([*command, flag, value])
    assert info.value.code == 2
    err = capsys.readouterr().err
    errors = [line for line in lines(err) if line.startswith(f"lossmask {command[0]}: error: ")]
    assert len(errors) == 1 and flag in errors[0] and "Traceback" not in err  # after argparse's usage text


@pytest.mark.parametrize("argv", [["--memory-limit", "-1"], ["--memory-limit", "lots"], ["--jobs", "0"],
                                  ["--render-max-chars", "0"]])
def test_bad_limits_are_usage_errors(capsys, argv):
    with pytest.raises(SystemExit) as info:
        main(["check", "reference", *argv])
    assert info.value.code == 2
    errors = [line for line in lines(capsys.readouterr().err) if line.startswith("lossmask check: error: ")]
    assert len(errors) == 1 and argv[0] in errors[0]


@pytest.mark.parametrize("kw", [{"timeout": -1}, {"timeout": float("inf")}, {"timeout": float("nan")}, {"jobs": 0}])
def test_bad_options_are_usage_errors_from_the_api(kw):
    with pytest.raises(UsageError):
        run("reference", TWO, **kw)


@pytest.mark.parametrize("kw", [{"memory_mib": -1}, {"memory_mib": 1.5}, {"startup_timeout": float("inf")},
                                {"prepare_timeout": 0}, {"render_seconds": float("nan")}, {"render_max_chars": 0}])
def test_bad_limits_are_usage_errors_from_the_api(kw):
    with pytest.raises(UsageError):
        Limits(**kw)


# -- 2. process isolation ---------------------------------------------------------------------------------------
def test_a_generator_sleeping_half_the_timeout_passes_every_case_with_one_job(tag, monkeypatch):
    """Start-up and tokenizer loading are outside the deadline: 1 s of sleep under a 2 s timeout always passes,
    on three families (each a fresh tokenizer load in the same process)."""
    monkeypatch.setenv("LOSSMASK_TEST_SLEEP", "1.0")
    sel = Selection(families=["qwen2_5", "llama3", "gpt_oss"], case_ids=["plain_answer", "user_last"])
    outcome, counts, _ = verdicts(f"{HOSTILE}:sleeps_half_the_timeout", sel, timeout=2.0, jobs=1)
    assert counts == {"pass": len(outcome.results)} and len(outcome.results) >= 6
    assert all(1.0 <= r.seconds < 2.0 for r in outcome.results)
    assert outcome.generator["restarts"] == 0 and outcome.generator["prepare_seconds"] > 0
    assert outcome.generator["startup_seconds"] > 0  # reported apart from every case's time
    assert json.loads(reports.json_text(outcome))["generator"]["prepare_seconds"] == outcome.generator["prepare_seconds"]


def test_a_setsid_grandchild_neither_hangs_the_run_nor_survives_it(tag):
    outcome, counts, seconds = verdicts(f"{HOSTILE}:leaves_setsid_grandchild", timeout=30)
    assert counts == {"pass": 2}
    assert seconds < 30


def test_jsonl_orphan_holding_the_protocol_pipe_is_an_error_not_a_hang(tag):
    outcome, counts, seconds = verdicts(f"{JSONL} orphan_holds_stdout", timeout=30)
    assert counts == {"error": 2}
    assert all("exited with status 3" in r.message for r in outcome.results)
    assert seconds < 30


def test_jsonl_orphan_then_hang_is_a_timeout(tag):
    outcome, counts, seconds = verdicts(f"{JSONL} orphan_then_hang", timeout=2)
    assert counts == {"timeout": 2} and outcome.generator["restarts"] == 1
    assert seconds < 20


def test_a_hang_with_a_process_tree_is_a_timeout_and_the_tree_dies(tag):
    outcome, counts, _ = verdicts(f"{HOSTILE}:hangs_with_children", timeout=2)
    assert counts == {"timeout": 2}


def test_forged_protocol_lines_never_reach_the_harness(tag):
    outcome, counts, _ = verdicts(f"{HOSTILE}:forges_responses")
    assert counts == {"token_divergence": 2}  # judged on the generator's real answer ([1, 2, 3]), not a fake


def test_programs_a_generator_starts_inherit_no_protocol_descriptor(tag, tmp_path):
    """A child keeping every inheritable descriptor has fd 0 = /dev/null and fds 1 and 2 = the worker's stderr;
    the protocol pipes are not among them."""
    outcome, counts, _ = verdicts(f"{HOSTILE}:lists_child_fds")
    assert counts == {"pass": 2}
    listings = [p.read_text().splitlines() for p in tmp_path.glob("fds.*")]
    assert len(listings) == 2
    for listing in listings:
        fds = dict(line.split(" ", 1) for line in listing)
        assert sorted(fds) == ["0", "1", "2"], fds
        assert fds["0"] == os.devnull and fds["1"] == fds["2"] and fds["1"].startswith("pipe:")


def test_a_generator_flooding_stdout_is_judged_on_its_answers(tag):
    outcome, counts, _ = verdicts(f"{HOSTILE}:floods_stdout", timeout=60)
    assert counts == {"pass": 2}


@pytest.mark.parametrize("name", ["sets_chat_template", "enables_truncation"])
def test_a_generator_changing_its_tokenizer_does_not_affect_later_cases(tag, name):
    sel = Selection(families=["qwen2_5"], categories=["single_turn", "multi_turn"])
    outcome, counts, _ = verdicts(f"{HOSTILE}:{name}", sel, jobs=1)
    assert counts == {"pass": len(outcome.results)} and len(outcome.results) >= 8


@pytest.mark.parametrize("name,fragment", [("exits_in_case", "SystemExit"),
                                           ("hard_exits_in_case", "exited with status 0")])
def test_exiting_inside_a_case_is_an_error_for_that_case(tag, name, fragment):
    outcome, counts, _ = verdicts(f"{HOSTILE}:{name}")
    assert counts == {"error": 2}
    assert all(fragment in r.message for r in outcome.results)


def test_memory_beyond_the_limit_is_an_error_naming_the_limit(tag):
    limits = Limits(timeout=60, memory_mib=4096)
    outcome, counts, _ = verdicts(f"{HOSTILE}:eats_memory", limits=limits)
    assert counts == {"error": 2}
    assert all("MemoryError" in r.message and "--memory-limit" in r.message for r in outcome.results)


def test_exiting_before_the_handshake_is_a_one_line_usage_error(tag, tmp_path, capsys):
    gen = tmp_path / "exits_at_import.py"
    gen.write_text("raise SystemExit(0)\n\ndef generate(tokenizer, messages, tools=None, **kw):\n    return [], []\n")
    assert main(["check", f"{gen}:generate", "--family", "qwen2_5"]) == 2
    err = capsys.readouterr().err
    assert len(lines(err)) == 1 and "SystemExit" in err and f"{gen}:generate" in err
    gen.write_text("import os\nos._exit(0)\n")
    assert main(["check", f"{gen}:generate", "--family", "qwen2_5"]) == 2
    err = capsys.readouterr().err
    assert len(lines(err)) == 1 and "exited with status 0 before its handshake" in err
    assert main(["check", f"{JSONL} exit_before_handshake", "--family", "qwen2_5"]) == 2
    err = capsys.readouterr().err
    assert len(lines(err)) == 1 and "exited with status 4 before its handshake; stderr: about to fail" in err


def test_surrogates_from_generators_are_escaped_in_messages_and_reports(tag, tmp_path):
    for spec in (f"{HOSTILE}:surrogate_error", f"{JSONL} surrogates"):
        outcome, counts, _ = verdicts(spec)
        assert counts == {"error": 2}
        assert all("bad \\ud800 text" in r.message for r in outcome.results)
        reports.write_json(outcome, tmp_path / "r.json")
    outcome, counts, _ = verdicts(f"{HOSTILE}:surrogate_name")
    assert counts == {"pass": 2} and outcome.generator["name"] == "name-\\udcff"
    reports.write_json(outcome, tmp_path / "r.json")


@pytest.mark.parametrize("mode", ["huge_int", "deep_json"])
def test_unparseable_jsonl_responses_are_invalid_output(tag, mode):
    _, counts, _ = verdicts(f"{JSONL} {mode}")
    assert counts == {"invalid_output": 2}


def _cli(tag_env: dict, *argv: str) -> subprocess.Popen:
    deliverable_sigint()  # the SIGINT tests stop this CLI with SIGINT, however pytest itself was started
    env = {**os.environ, **tag_env, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "lossmask", *argv], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(directory: Path, prefix: str, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while not any(p.name.startswith(prefix) for p in directory.iterdir()):
        assert time.monotonic() < deadline, f"no {prefix} marker after {timeout} s"
        time.sleep(0.1)


@pytest.mark.parametrize("sig,code", [(signal.SIGTERM, 143), (signal.SIGINT, 130), (signal.SIGKILL, -9)])
def test_stopping_check_stops_every_process(tag, tmp_path, sig, code):
    """Ctrl-C, SIGTERM and even SIGKILL of ``lossmask check`` leave no generator process alive."""
    proc = _cli({}, "check", f"{HOSTILE}:hangs_with_children", "--family", "qwen2_5", "--jobs", "2",
                "--timeout", "300")
    _wait_for(tmp_path, "hanging")
    time.sleep(0.5)  # let the tree finish forking
    assert len(tagged(tag)) >= 6
    sent = time.monotonic()
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    stopped = time.monotonic() - sent
    assert proc.returncode == code, err
    assert stopped < 10
    if sig != signal.SIGKILL:
        assert "Traceback" not in err and len(lines(err)) == 1
