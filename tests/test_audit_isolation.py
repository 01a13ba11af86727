"""``audit --generator`` runs the generator isolated, and the audit readers count what they cannot read.

Before, the audit called the generator in its own process: ``sys.exit(0)`` ended the audit green with no report,
a segfault or a hang took the audit with it, and a generator that changed the tokenizer changed the reference's
own numbers. Now every one of these is a counted finding, the reference's numbers are those of an audit without
a generator, and no generator process survives. Bad input (truncated or non-gzip ``.gz``, oversized, deeply
nested or over-long-integer lines, lone surrogates, a corrupt parquet page) is a counted error with its
position, and the audit goes on.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import random
import signal
import sys
import time
from pathlib import Path

import pytest

from lossmask.audit import AuditConfig, audit
from lossmask.audit import findings as F
from lossmask.audit import synthetic as S
from lossmask.cli import main
from lossmask.runner.limits import Limits

from .test_isolation import _cli, lines, tag, tagged  # noqa: F401 - tag: the fixture that fails a test leaving processes behind

FAMILY = "qwen2_5"
HOSTILE = "tests.generators.hostile"
MISBEHAVING = "tests.generators.misbehaving"
JSONL = f"jsonl:{sys.executable} {Path(__file__).parent / 'generators' / 'jsonl_hostile.py'}"
NUMBERS = ("samples", "rendered", "errors", "tokens")
N = 3


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> Path:
    """Three clean conversations (system prompts, tool rounds, reasoning), nothing planted: few, because a
    generator that dies on every sample costs a process start per sample."""
    path = tmp_path_factory.mktemp("audit_iso") / "clean.jsonl"
    rng = random.Random(3)
    path.write_text("".join(json.dumps(S.clean(rng)) + "\n" for _ in range(N)), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def baseline(clean) -> dict:
    report, _ = audit(clean, AuditConfig(tokenizer=FAMILY))
    assert report["rendered"] == N and not report["findings"]
    return report


def generator_audit(path, spec, workers=1, **limits):
    config = AuditConfig(tokenizer=FAMILY, generator=spec, limits=Limits(**{"timeout": 60, **limits}))
    report, _ = audit(path, config, workers=workers, chunk_size=2)
    return report


@pytest.mark.parametrize("spec,finding,fragment", [
    (f"{HOSTILE}:exits_in_case", F.GENERATOR_ERROR, "SystemExit"),
    (f"{HOSTILE}:hard_exits_in_case", F.GENERATOR_ERROR, "exited with status 0"),
    (f"{HOSTILE}:segfaults", F.GENERATOR_ERROR, "killed by SIGSEGV"),
    (f"{MISBEHAVING}:aborts", F.GENERATOR_ERROR, "killed by SIGABRT"),
    (f"{MISBEHAVING}:raises", F.GENERATOR_ERROR, "RuntimeError: boom"),
    (f"{MISBEHAVING}:non_binary", F.GENERATOR_INVALID_OUTPUT, "expected 0 or 1"),
    (f"{JSONL} surrogates", F.GENERATOR_ERROR, "bad \\ud800 text"),
    (f"{JSONL} huge_int", F.GENERATOR_INVALID_OUTPUT, "not usable JSON"),
])
def test_every_generator_failure_is_a_counted_finding(tag, clean, baseline, spec, finding, fragment):
    report = generator_audit(clean, spec)
    assert report["findings"] == {finding: N}
    assert all(fragment in ex["detail"] for ex in report["examples"][finding])
    assert {k: report[k] for k in NUMBERS} == {k: baseline[k] for k in NUMBERS}


@pytest.mark.parametrize("spec", [f"{HOSTILE}:exits_in_case", f"{HOSTILE}:segfaults"])
def test_with_two_audit_workers_each_starts_its_own_isolated_generator(tag, clean, baseline, spec):
    """Before, a dying generator broke the process pool (BrokenProcessPool traceback)."""
    report = generator_audit(clean, spec, workers=2)
    assert report["findings"] == {F.GENERATOR_ERROR: N} and report["workers"] == 2
    assert {k: report[k] for k in NUMBERS} == {k: baseline[k] for k in NUMBERS}


def test_a_hanging_generator_is_a_timeout_finding_per_sample(tag, clean, baseline):
    report = generator_audit(clean, f"{MISBEHAVING}:hangs", timeout=1.5)
    assert report["findings"] == {F.GENERATOR_TIMEOUT: N}
    assert {k: report[k] for k in NUMBERS} == {k: baseline[k] for k in NUMBERS}


@pytest.mark.parametrize("name", ["sets_chat_template", "enables_truncation"])
def test_a_generator_changing_its_tokenizer_changes_neither_the_reference_nor_later_samples(tag, clean, baseline,
                                                                                            name):
    report = generator_audit(clean, f"{HOSTILE}:{name}")
    assert report["findings"] == {}  # every sample agrees: each got a fresh tokenizer
    assert {k: report[k] for k in NUMBERS} == {k: baseline[k] for k in NUMBERS}


def test_a_jsonl_generator_that_exits_before_its_handshake_is_a_usage_error(tag, clean, capsys):
    assert main(["audit", str(clean), "--family", FAMILY, "--generator", f"{JSONL} exit_before_handshake",
                 "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert len(lines(err)) == 1 and "before its handshake" in err


@pytest.mark.parametrize("name", ["prints_json_to_stdout", "floods_stdout"])
def test_generator_stdout_never_reaches_the_json_report(tag, clean, capsys, name):
    """Forged JSON, or 64 MiB of output per sample, on the generator's stdout: the report on ours stays valid."""
    assert main(["audit", str(clean), "--family", FAMILY, "--generator", f"{HOSTILE}:{name}",
                 "--json", "-", "--workers", "1"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["samples"] == N and report["findings"] == {} and "forged" not in report


@pytest.mark.parametrize("sig,workers,code", [(signal.SIGTERM, 2, 143), (signal.SIGINT, 1, 130),
                                               (signal.SIGKILL, 2, -9)])
def test_stopping_audit_stops_every_process(tag, tmp_path, sig, workers, code):
    """Before, SIGTERM on ``audit --workers 2`` waited for pool workers hanging in the generator (forever), and
    SIGKILL left them running; now the pool is killed and each pool worker dies with the audit."""
    data = tmp_path / "data.jsonl"
    data.write_text("".join(line_of([GOOD[0], {"role": "assistant", "content": f"a{i}"}]).decode() for i in range(4)))
    proc = _cli({}, "audit", str(data), "--family", FAMILY, "--generator", f"{HOSTILE}:hangs_with_children",
                "--workers", str(workers), "--chunk-size", "1", "--timeout", "300", "--no-progress")
    deadline = time.monotonic() + 240
    while sum(1 for p in tmp_path.iterdir() if p.name.startswith("hanging")) < workers:
        assert time.monotonic() < deadline, "the generators never started hanging"
        time.sleep(0.1)
    time.sleep(0.5)  # let the trees finish forking
    assert len(tagged(tag)) >= 6 * workers
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == code, err
    if sig != signal.SIGKILL:
        assert "Traceback" not in err and len(lines(err)) == 1


# -- readers ----------------------------------------------------------------------------------------------------
def line_of(messages) -> bytes:
    return (json.dumps(messages) + "\n").encode()


GOOD = [{"role": "user", "content": "Hi."}, {"role": "assistant", "content": "Hello."}]


def test_hostile_lines_are_counted_with_their_line_numbers_and_the_audit_goes_on(tmp_path):
    path = tmp_path / "hostile.jsonl"
    path.write_bytes(b"".join([
        line_of(GOOD),
        b'[{"role": "user", "content": ' + b"[" * 100_000 + b"]" * 100_000 + b"}]\n",  # 10^5 deep
        b'[{"role": "user", "content": "x", "weight": ' + b"9" * 5000 + b"}]\n",  # 5000-digit integer
        b'[{"role": "user", "content": "bad \\ud800"}, {"role": "assistant", "content": "ok"}]\n',  # lone surrogate
        b'[{"role": "user", "content": "' + b"x" * 300_000 + b'"}]\n',  # over the sample limit below
        b'[{"role": "user", "content": "q"}, {"role": "assistant", "content": "a", "step_loss_mask": NaN}]\n',
        b'[{"role": "user", "content": "q"}, {"role": "assistant", "content": "a", "step_loss_mask": -1}]\n',
        line_of(GOOD),
    ]))
    report, tally = audit(path, AuditConfig(tokenizer=FAMILY, keep_samples=True), max_sample_bytes=250_000)
    assert report["samples"] == 8 and report["rendered"] == 2
    by_line = {ex["line"]: reason for reason, items in report["examples"].items() for ex in items}
    assert by_line[2].startswith("invalid-json: nested too deeply")
    assert by_line[3].startswith("invalid-json: beyond Python's JSON limits (Exceeds the limit (4300 digits)")
    assert by_line[4].startswith("segmentation-error: $.messages[*].content: contains a lone surrogate")
    assert by_line[5].startswith("oversized-sample: 300,0") and "--max-sample-bytes" in by_line[5]
    assert "$.messages[*].step_loss_mask: a weight must be a finite number >= 0, got nan" in by_line[6]
    assert "got -1" in by_line[7]
    examples = tmp_path / "examples"
    assert main(["audit", str(path), "--family", FAMILY, "--max-sample-bytes", "250000", "--examples-out",
                 str(examples), "--no-progress"]) == 0
    rows = [json.loads(x) for x in (examples / "segmentation-error.jsonl").read_text(encoding="utf-8").splitlines()]
    assert rows[0]["sample"][0]["content"] == "bad \ud800"  # written with an escape, read back unchanged


@pytest.mark.parametrize("damage", ["truncated", "not_gzip"])
def test_a_broken_gz_is_one_counted_error_after_what_could_be_read(tmp_path, damage):
    path = tmp_path / "data.jsonl.gz"
    rng = random.Random(5)
    text = b"".join(line_of([GOOD[0], {"role": "assistant", "content": f"{rng.getrandbits(512):x}"}])
                    for _ in range(2000))  # incompressible enough that half the file holds many lines
    whole = gzip.compress(text)
    path.write_bytes(whole[: len(whole) // 2] if damage == "truncated" else b"".join(line_of(GOOD) for _ in range(3)))
    report, _ = audit(path, AuditConfig(tokenizer=FAMILY))
    (reason,) = report["errors"]["by_reason"]
    assert reason.startswith("unreadable-data: unreadable from here on: ")
    assert report["errors"]["total"] == 1 and report["rendered"] == report["samples"] - 1
    if damage == "not_gzip":
        assert "BadGzipFile" in reason and report["samples"] == 1
    else:
        assert "EOFError" in reason and report["samples"] > 1


@pytest.mark.skipif(importlib.util.find_spec("pyarrow") is None, reason="pyarrow is not installed")
def test_a_corrupt_parquet_page_costs_its_row_group_counted_row_by_row(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "data.parquet"
    rows = [{"messages": json.dumps(GOOD + [{"role": "user", "content": f"row {i} " + "pad " * 200}])}
            for i in range(30)]
    pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=10, compression="NONE")
    meta = pq.ParquetFile(path).metadata
    middle = meta.row_group(1).column(0)
    start = middle.data_page_offset
    data = bytearray(path.read_bytes())
    data[start + 20: start + 400] = b"\xff" * 380  # inside the page of row group 1
    path.write_bytes(bytes(data))
    report, _ = audit(path, AuditConfig(tokenizer=FAMILY))
    assert report["samples"] == 30
    unreadable = {r: n for r, n in report["errors"]["by_reason"].items() if r.startswith("unreadable-data")}
    assert sum(unreadable.values()) == 10 and all("row group 1" in r for r in unreadable)
    assert report["rendered"] + report["errors"]["total"] == 30


class _LazyLine:
    """A binary stream holding one JSON line of ``size`` bytes (then a good line) that never exists in memory;
    it records the largest piece anyone asked it for."""

    def __init__(self, size: int) -> None:
        self.left, self.tail, self.largest = size, line_of(GOOD), 0

    def readline(self, limit: int = -1) -> bytes:
        assert limit > 0, "the reader asked for a whole line"
        self.largest = max(self.largest, limit)
        if self.left:
            n = min(limit, self.left)
            self.left -= n
            return b"x" * (n - 1) + b"\n" if not self.left else b"x" * n
        out, self.tail = self.tail[:limit], self.tail[limit:]
        return out

    def close(self) -> None:
        pass


def test_a_200_mb_line_is_skipped_in_bounded_pieces_and_counted():
    """The issue's valid 200 MB line took the audit to 1.9 GB: the reader now never asks for more than the
    sample limit plus one byte at a time, so such a line costs at most that much memory."""
    from lossmask.audit import readers

    stream = _LazyLine(200 * 10**6)
    records = list(readers._jsonl_lines(lambda: stream, readers.DEFAULT_MAX_SAMPLE_BYTES))
    assert [r.line for r in records] == [1, 2]
    bad = records[0].payload
    assert isinstance(bad, readers.BadBytes) and bad.kind == readers.OVERSIZED
    assert bad.reason.startswith("200,000,000 bytes, over the 16,777,216-byte sample limit")
    assert records[1].payload == line_of(GOOD).decode()
    assert stream.largest == readers.DEFAULT_MAX_SAMPLE_BYTES + 1
