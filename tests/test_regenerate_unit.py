"""``regenerate`` writes a golden's JSON and token table as one unit, and ``--check`` verifies both.

A golden JSON written without its ``.tokens.txt`` (a kill between the two writes) used to pass ``--check`` and a
rerun; now a missing or mismatched table is drift, a failed write leaves the old pair untouched, and a crash
between the two renames leaves a state the next ``--check`` reports and the next run repairs. A directory that
cannot be written is one line, exit 2.
"""

from __future__ import annotations

import os
import shutil

import pytest

from lossmask import golden as G
from lossmask import regenerate
from lossmask.cli import main

FAMILY, CASE = "qwen2_5", "plain_answer"


@pytest.fixture
def goldens(tmp_path, monkeypatch):
    """A private copy of one family's goldens: the real fixtures are never written."""
    shutil.copytree(G.GOLDEN / FAMILY, tmp_path / FAMILY)
    monkeypatch.setattr(G, "GOLDEN", tmp_path)
    return tmp_path


def run(check: bool):
    return regenerate.run(check=check, families=[FAMILY], case_ids=[CASE])


def table_of(case=CASE):
    return G.golden_path(FAMILY, "default", case, ".tokens.txt")


@pytest.mark.parametrize("damage,detail", [
    (lambda p: p.unlink(), "token table missing"),
    (lambda p: p.write_text(table_of("user_last").read_text()), "token table does not match its JSON"),
    (lambda p: p.write_text(p.read_text().replace("\t#", "\t.", 1)), "token table does not match its JSON"),
])
def test_a_json_without_its_own_table_is_drift_and_a_rerun_repairs_it(goldens, damage, detail):
    want = table_of().read_text()
    damage(table_of())
    (change,) = run(check=True).changes
    assert (change.case, change.kind, change.detail) == (CASE, "changed", detail)
    assert run(check=False).drifted
    assert table_of().read_text() == want and run(check=True).changes == []


def test_a_failed_write_changes_neither_file(goldens, monkeypatch):
    path = G.golden_path(FAMILY, "default", CASE)
    path.write_text(path.read_text().replace('"format": 1', '"format": 1, "stale": true'))
    before = (path.read_bytes(), table_of().read_bytes())
    real = os.fdopen
    calls = []

    def fails_on_second(fd, *a, **kw):
        calls.append(fd)
        if len(calls) == 2:
            os.close(fd)
            raise OSError(28, "No space left on device")
        return real(fd, *a, **kw)

    with monkeypatch.context() as patch:
        patch.setattr(os, "fdopen", fails_on_second)
        with pytest.raises(regenerate.GoldenWriteError, match="No space left on device"):
            run(check=False)
    assert (path.read_bytes(), table_of().read_bytes()) == before
    assert not list(goldens.rglob("*.tmp"))


def test_a_crash_between_the_renames_is_detected_and_repaired(goldens, monkeypatch):
    """Kill after the table's rename, before the JSON's: the new table sits beside the old JSON."""
    path = G.golden_path(FAMILY, "default", CASE)
    data = G.load_golden(FAMILY, "default", CASE, line=None)
    data["masks"]["canonical"][-1] ^= 1
    stale = G.dumps(data)
    path.write_text(stale)
    table_of().write_text(G.token_table(data))
    real, renames = os.replace, []

    def dies_on_second(src, dst):
        renames.append(dst)
        if len(renames) == 2:
            raise KeyboardInterrupt  # the process is gone before the JSON is renamed
        return real(src, dst)

    with monkeypatch.context() as patch:
        patch.setattr(os, "replace", dies_on_second)
        with pytest.raises(KeyboardInterrupt):
            run(check=False)
    assert path.read_text() == stale  # the old JSON, beside the new table
    (change,) = run(check=True).changes
    assert change.kind == "changed" and "masks.canonical (1 token)" in change.detail
    run(check=False)
    assert run(check=True).changes == []


def test_regenerate_into_a_directory_that_cannot_be_created_is_one_line(goldens, capsys, monkeypatch):
    blocker = goldens / "blocked"
    blocker.write_text("a file where the golden directory should be")
    monkeypatch.setattr(G, "GOLDEN", blocker)
    assert main(["regenerate", "--family", FAMILY, "--case", CASE]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1 and "cannot write the golden" in err[0] and str(blocker) in err[0]
