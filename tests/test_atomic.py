"""Atomic writes: a failed write leaves the old file and no temporary; a written file has ordinary permissions."""

from __future__ import annotations

import os

import pytest

from lossmask.atomic import write_bytes, write_text


def test_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "golden.json"
    write_text(target, "old\n")
    with pytest.raises(TypeError):
        write_bytes(target, "not bytes")  # type: ignore[arg-type]  # fails inside the write
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["golden.json"]


def test_written_file_has_the_mode_open_would_give(tmp_path):
    old = os.umask(0o027)
    try:
        write_text(tmp_path / "report.json", "{}\n")
        write_text(tmp_path / "case.json", "{}\n", mode=0o600)
    finally:
        os.umask(old)
    assert (tmp_path / "report.json").stat().st_mode & 0o777 == 0o640  # 0666 less umask 027
    assert (tmp_path / "case.json").stat().st_mode & 0o777 == 0o600  # an explicit mode wins
    assert (tmp_path / "report.json").read_bytes() == b"{}\n"


def test_a_target_that_is_not_a_regular_file_is_written_in_place(tmp_path):
    fifo = tmp_path / "report.fifo"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        write_text(fifo, "<xml/>\n")
        assert os.read(reader, 100) == b"<xml/>\n"
    finally:
        os.close(reader)
    assert fifo.is_fifo() and sorted(p.name for p in tmp_path.iterdir()) == ["report.fifo"]


def test_dev_stdout_stays_a_symlink_and_the_report_reaches_stdout(tmp_path):
    import subprocess
    import sys

    code = "from lossmask.atomic import write_text; write_text('/dev/stdout', 'to stdout\\n')"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout == "to stdout\n" and os.path.islink("/dev/stdout")
    redirected = tmp_path / "out.txt"
    with open(redirected, "w") as fh:  # stdout redirected to a regular file: written through the descriptor
        subprocess.run([sys.executable, "-c", code], stdout=fh, check=True)
    assert redirected.read_text() == "to stdout\n"


def test_a_symlink_to_a_regular_file_keeps_being_a_symlink(tmp_path):
    real = tmp_path / "real.json"
    real.write_text("old\n")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    write_text(link, "new\n")
    assert link.is_symlink() and real.read_text() == "new\n"
