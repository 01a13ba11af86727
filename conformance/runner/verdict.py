"""One result of a run: which record, under which profile, how long, and the :class:`~lossmask.compare.Outcome`.

The verdict itself is decided by :func:`lossmask.compare.compare` (see there for the counting rules); this
module only carries it with the record's coordinates into reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..compare import FAILING, VERDICTS, Outcome, Verdict

__all__ = ["FAILING", "Result", "VERDICTS"]


@dataclass
class Result:
    case: str
    family: str
    variant: str
    category: str
    outcome: Outcome
    profile: str = "canonical"
    seconds: float = 0.0

    @property
    def verdict(self) -> Verdict:
        return self.outcome.verdict

    @property
    def message(self) -> str:
        return self.outcome.message

    @property
    def environment(self) -> list[str]:
        """What the environment check found about this record's family here (empty when it is fine)."""
        return list(self.outcome.environment)

    @property
    def failed(self) -> bool:
        return self.outcome.failed

    def to_json(self) -> dict[str, Any]:
        return {"case": self.case, "family": self.family, "variant": self.variant, "category": self.category,
                "verdict": self.verdict.value, "message": self.message, "profile": self.profile,
                "seconds": round(self.seconds, 4), "details": self.outcome.details(), "environment": self.environment}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Result:
        """A result as a report (format 2) wrote it."""
        return cls(case=data["case"], family=data["family"], variant=data["variant"], category=data["category"],
                   outcome=Outcome.from_json(data["verdict"], data.get("message", ""), data.get("details") or {},
                                             data.get("environment")),
                   profile=data.get("profile", "canonical"), seconds=float(data.get("seconds", 0.0)))
