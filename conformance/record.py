"""The golden record as a typed value: read from JSON and checked against ``golden.schema.json`` in one place.

Why typed: a golden record used to travel as a string-keyed dict through the runner, the explanations, the HTML
page and the pytest helper, each reading keys on its own. Now :func:`parse_record` is the only code that reads
the JSON keys; everything else reads attributes of :class:`GoldenRecord`. A record that violates the schema is
a :class:`~lossmask.errors.CaseError` naming the file and the JSON path, raised once, at load.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .errors import CaseError

Outcome = Literal["rendered", "refused"]
#: Per-token arrays: each has one entry per input id.
PER_TOKEN = ("offsets", "segments", "messages")


@dataclass(frozen=True, eq=False)
class GoldenRecord:
    """What the reference produces for one (family, variant, case); see FIXTURES.md for every field."""

    case: str
    family: str
    variant: str
    category: str
    outcome: Outcome
    rebuilt_tokenizer: bool = False
    #: The template's message when ``outcome == "refused"``.
    refusal: str | None = None
    text: str = ""
    input_ids: list[int] = field(default_factory=list)
    offsets: list[tuple[int, int]] = field(default_factory=list)
    #: Per token: the segment label(s) its characters belong to, ``+``-joined when it straddles parts.
    segments: list[str] = field(default_factory=list)
    #: Per token: the index of the message its first character belongs to (``None`` for template text).
    messages: list[int | None] = field(default_factory=list)
    masks: Mapping[str, list[int]] = field(default_factory=dict)
    straddles: Mapping[str, list[int]] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    generated_with: Mapping[str, str] = field(default_factory=dict)
    format: int = 1
    #: Where the record was read from (``None`` for a record built in memory, e.g. by the audit).
    path: Path | None = None

    @property
    def refused(self) -> bool:
        return self.outcome == "refused"

    @property
    def key(self) -> tuple[str, str, str]:
        return self.family, self.variant, self.case

    @property
    def where(self) -> str:
        return str(self.path) if self.path else f"{self.family}/{self.variant}/{self.case}"

    def piece(self, i: int) -> str:
        """The characters of token ``i`` in the render."""
        s, e = self.offsets[i]
        return self.text[s:e]

    def mask(self, profile: str) -> list[int]:
        """The expected mask under ``profile``; :class:`CaseError` when the record has none for it."""
        try:
            return self.masks[profile]
        except KeyError:
            raise CaseError(f"{self.where}: $.masks: no mask for profile {profile!r} "
                            f"(has {', '.join(self.masks) or 'none'})") from None

    def to_json(self) -> dict[str, Any]:
        """The record as FIXTURES.md describes it (key order as written by ``lossmask regenerate``)."""
        head: dict[str, Any] = {"format": self.format, "case": self.case, "family": self.family,
                                "variant": self.variant, "category": self.category,
                                "rebuilt_tokenizer": self.rebuilt_tokenizer, "outcome": self.outcome}
        if self.refused:
            return {**head, "refusal": self.refusal, "generated_with": dict(self.generated_with)}
        return {**head, "text": self.text, "input_ids": list(self.input_ids),
                "offsets": [list(o) for o in self.offsets], "segments": list(self.segments),
                "messages": list(self.messages), "masks": {k: list(v) for k, v in self.masks.items()},
                "straddles": {k: list(v) for k, v in self.straddles.items()}, "warnings": list(self.warnings),
                "generated_with": dict(self.generated_with)}


def parse_record(data: Any, path: Path | None = None) -> GoldenRecord:
    """Check ``data`` against golden.schema.json and the per-token lengths; return the typed record."""
    from .cases import schema_errors

    where = str(path) if path else "golden record"
    problems = schema_errors("golden", data)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise CaseError(f"{where}: {problems[0]}{more}")
    return _typed(data, path, where)


def from_json_unchecked(data: Mapping[str, Any], path: Path | None = None) -> GoldenRecord:
    """The typed record of data the reference has just built (``golden.build_golden``): no schema pass."""
    return _typed(data, path, str(path) if path else "golden record")


def _typed(data: Mapping[str, Any], path: Path | None, where: str) -> GoldenRecord:
    common = dict(case=data["case"], family=data["family"], variant=data["variant"], category=data["category"],
                  outcome=data["outcome"], rebuilt_tokenizer=data["rebuilt_tokenizer"], format=data["format"],
                  generated_with=dict(data.get("generated_with", {})), path=path)
    if data["outcome"] == "refused":
        return GoldenRecord(**common, refusal=data["refusal"])
    n = len(data["input_ids"])
    for key in PER_TOKEN:
        if len(data[key]) != n:
            raise CaseError(f"{where}: $.{key}: {len(data[key])} entries for {n} input_ids")
    for profile, values in data["masks"].items():
        if len(values) != n:
            raise CaseError(f"{where}: $.masks.{profile}: {len(values)} entries for {n} input_ids")
    return GoldenRecord(**common, text=data["text"], input_ids=list(data["input_ids"]),
                        offsets=[(int(s), int(e)) for s, e in data["offsets"]], segments=list(data["segments"]),
                        messages=list(data["messages"]), masks={k: list(v) for k, v in data["masks"].items()},
                        straddles={k: list(v) for k, v in data["straddles"].items()},
                        warnings=tuple(data.get("warnings", ())))
