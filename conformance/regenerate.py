"""Regenerate the golden data from the reference, or check that the committed goldens still match it.

Each golden is compared with what the reference produces now (ignoring the environment record); only changed
files are rewritten, atomically, JSON and token table as one unit (both complete in temporary files before
either is renamed, the JSON last); ``--check`` compares the token table on disk with the one its JSON gives, so
a JSON left without its table (or beside another record's) is drift. Goldens whose (family, variant, case) no longer
exists are removed. A case the reference cannot segment is reported with its family and path and the run goes on.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lossmask.reference.errors import LossmaskError

from . import golden as G
from .atomic import write_texts_together
from .cases import Case, load_cases


@dataclass
class Change:
    family: str
    variant: str
    case: str
    kind: str  # added | changed | removed | error
    detail: str = ""
    line: str | None = None

    @property
    def path(self) -> Path:
        return G.golden_path(self.family, self.variant, self.case, line=self.line)


@dataclass
class Summary:
    line: str | None = None
    changes: list[Change] = field(default_factory=list)
    unchanged: int = 0

    def by_kind(self, kind: str) -> list[Change]:
        return [c for c in self.changes if c.kind == kind]

    @property
    def drifted(self) -> bool:
        return bool(self.changes)


def describe(old: dict[str, Any], new: dict[str, Any]) -> str:
    """Which keys changed, and for masks which profiles and how many tokens: one line for the summary."""
    parts = []
    for key in new:
        if key in G.VOLATILE or old.get(key) == new[key]:
            continue
        if key == "masks" and isinstance(old.get(key), dict) and len(old.get("input_ids", [])) == len(new.get("input_ids", [])):
            for prof, mask in new["masks"].items():
                before = old["masks"].get(prof)
                if before != mask:
                    flips = sum(a != b for a, b in zip(before or [], mask)) if before else len(mask)
                    parts.append(f"masks.{prof} ({flips} token{'s' * (flips != 1)})")
        elif isinstance(new[key], list) and isinstance(old.get(key), list):
            parts.append(f"{key} ({len(old[key])}→{len(new[key])} items)")
        else:
            parts.append(key)
    return ", ".join(parts) or "format"


def run(check: bool, families: list[str] | None = None, case_ids: list[str] | None = None,
        progress: Callable[[str], None] | None = None) -> Summary:
    """Compare (``check``) or rewrite the goldens of the running transformers line.

    On the newest line the main goldens are the target. On an older line (see ``golden.transformers_line``)
    only overrides are written: a record that differs from the main golden, and nothing where they agree.
    """
    line = G.transformers_line()
    cases: list[Case] = load_cases(ids=case_ids)
    summary = Summary(line=line)
    expected = set()
    for loaded in G.iter_loaded(families):
        if progress:
            progress(loaded.label)
        for case in cases:
            if not case.applies_to(loaded.family):
                continue
            key = (loaded.family, loaded.variant, case.id)
            expected.add(key)
            try:
                new = G.build_golden(loaded, case)
            except LossmaskError as exc:
                summary.changes.append(Change(*key, "error", f"{case.path}: {type(exc).__name__}: {exc}"))
                continue
            if line and _same(_read(G.golden_path(*key)), new):
                if G.golden_path(*key, line=line).is_file():
                    summary.changes.append(Change(*key, "removed", "override no longer needed", line))
                    if not check:
                        _remove(key, line)
                else:
                    summary.unchanged += 1
                continue
            path = G.golden_path(*key, line=line)
            table_path = G.golden_path(*key, ".tokens.txt", line=line)
            old = _read(path)
            table = G.token_table(new)
            if old is None:
                change = Change(*key, "added", "" if not line else f"differs there from the main goldens (transformers {G.matrix.GOLDEN_CELL.transformers})", line)
            elif not _same(old, new):
                change = Change(*key, "changed", describe(old, new), line)
            elif _read_text(table_path) != table:  # a JSON without its table, or a table of another record
                change = Change(*key, "changed", "token table missing" if not table_path.is_file()
                                else "token table does not match its JSON", line)
            else:
                summary.unchanged += 1
                continue
            summary.changes.append(change)
            if not check:
                _write_unit(table_path, table, path, G.dumps(new))
    if not case_ids:
        on_disk = G.iter_override_keys(line) if line else G.iter_golden_keys()
        for key in on_disk:
            if key not in expected and (not families or key[0] in families):
                summary.changes.append(Change(*key, "removed", "", line))
                if not check:
                    _remove(key, line)
    return summary


def _same(old: dict[str, Any] | None, new: dict[str, Any]) -> bool:
    return old is not None and G.comparable(old) == G.comparable(new)


def _remove(key: tuple[str, str, str], line: str | None) -> None:
    path = G.golden_path(*key, line=line)
    try:
        path.unlink(missing_ok=True)  # the JSON first: a table left alone is never read as a golden
        G.golden_path(*key, ".tokens.txt", line=line).unlink(missing_ok=True)
    except OSError as exc:
        raise GoldenWriteError(f"{exc.filename or path}: cannot remove the golden ({exc.strerror or exc})") from None


def _read(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):  # missing, unreadable, not JSON, not UTF-8: rewritten
        return None


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, ValueError):
        return None


def _write_unit(table_path: Path, table: str, json_path: Path, record: str) -> None:
    """The token table and the JSON as one unit (the JSON renamed last); a write failure is one line."""
    try:
        write_texts_together([(table_path, table), (json_path, record)])
    except OSError as exc:
        where = exc.filename or json_path
        raise GoldenWriteError(f"{where}: cannot write the golden ({exc.strerror or exc}); records written "
                               "before this one are complete, this one and later ones are unchanged") from None


class GoldenWriteError(LossmaskError):
    """A golden could not be written (unwritable or missing directory, full disk)."""
