"""The conversation corpus: ``fixtures/cases/<category>/<id>.json``, one case per file.

Cases are language-agnostic data validated by ``fixtures/schema/case.schema.json`` (Draft 2020-12), so a runner
in any language can consume them. This module loads and validates them for ours; every problem is reported as a
:class:`CaseError` naming the file and the JSON path, never a traceback.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from lossmask.reference.conversation import validate_messages
from lossmask.reference.errors import ConversationError

from .assets import FIXTURES
from .errors import CaseError
from .inputs import read_json

CASES = FIXTURES / "cases"
SCHEMAS = FIXTURES / "schema"
CATEGORIES = ("single_turn", "multi_turn", "tool_call", "adversarial")


@dataclass(frozen=True)
class Case:
    """One conversation of the corpus and what it pins."""

    id: str
    category: str
    description: str
    messages: list[dict[str, Any]]
    path: Path
    tools: list[dict[str, Any]] | None = None
    template_kwargs: dict[str, Any] = field(default_factory=dict)
    #: Bundled families the case applies to; ``None`` means all of them.
    families: tuple[str, ...] | None = None
    tags: tuple[str, ...] = ()

    def applies_to(self, family: str) -> bool:
        return self.families is None or family in self.families


def json_path(parts: Iterable[Any]) -> str:
    """``['messages', 2, 'role']`` → ``$.messages[2].role`` (the form every error message uses)."""
    out = "$"
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else f".{p}"
    return out


@functools.cache
def schema(name: str) -> Draft202012Validator:
    """A compiled validator for ``fixtures/schema/<name>.schema.json``."""
    raw = read_json(SCHEMAS / f"{name}.schema.json", "schema")
    Draft202012Validator.check_schema(raw)
    return Draft202012Validator(raw)


def schema_errors(name: str, data: Any) -> list[str]:
    """Every violation of schema ``name`` as ``$.json.path: message`` lines, deepest first."""
    errors = sorted(schema(name).iter_errors(data), key=lambda e: (-len(e.absolute_path), list(map(str, e.absolute_path))))
    return [f"{json_path(e.absolute_path)}: {e.message}" for e in errors]


def parse_case(data: Any, path: Path) -> Case:
    problems = schema_errors("case", data)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise CaseError(f"{path}: {problems[0]}{more}")
    if data["id"] != path.stem:
        raise CaseError(f"{path}: $.id: {data['id']!r} must equal the file name {path.stem!r}")
    if data["category"] != path.parent.name:
        raise CaseError(f"{path}: $.category: {data['category']!r} but the file is under {path.parent.name}/")
    try:
        validate_messages(data["messages"], data.get("tools"))
    except ConversationError as exc:
        raise CaseError(f"{path}: {exc}") from None
    families = data.get("families")
    return Case(
        id=data["id"], category=data["category"], description=data["description"], messages=data["messages"],
        path=path, tools=data.get("tools"), template_kwargs=dict(data.get("template_kwargs") or {}),
        families=tuple(families) if families else None, tags=tuple(data.get("tags", ())),
    )


def load_case(path: str | Path) -> Case:
    p = Path(path)
    return parse_case(read_json(p, "case file"), p)


def case_files(root: Path | None = None) -> list[Path]:
    root = root or CASES
    return sorted(p for c in CATEGORIES for p in (root / c).glob("*.json"))


def load_cases(categories: Iterable[str] | None = None, ids: Iterable[str] | None = None,
               root: Path | None = None) -> list[Case]:
    """All cases (optionally filtered), sorted by category then id; the first invalid file raises."""
    cats = set(categories) if categories else None
    unknown = (cats or set()) - set(CATEGORIES)
    if unknown:
        raise CaseError(f"unknown category {sorted(unknown)[0]!r}; categories: {', '.join(CATEGORIES)}")
    wanted = set(ids) if ids else None
    cases = [load_case(p) for p in case_files(root) if cats is None or p.parent.name in cats]
    if wanted is not None:
        missing = wanted - {c.id for c in cases}
        if missing:
            raise CaseError(f"no such case {sorted(missing)[0]!r} (see fixtures/cases/)")
        cases = [c for c in cases if c.id in wanted]
    seen: dict[str, Path] = {}
    for c in cases:
        if c.id in seen:
            raise CaseError(f"{c.path}: $.id: {c.id!r} is also used by {seen[c.id]}")
        seen[c.id] = c.path
    order = {c: i for i, c in enumerate(CATEGORIES)}
    return sorted(cases, key=lambda c: (order[c.category], c.id))
