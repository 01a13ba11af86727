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
