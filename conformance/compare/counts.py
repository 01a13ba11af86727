"""Counting outcomes under the counting rules, for every report (terminal, JSON, JUnit, HTML, PEERS.md).

* ``total``: records selected; ``declined``: the generator declined them (``unsupported``), it did not run;
* ``not_judged``: the harness could not judge them (no golden): excluded from every other count, always shown;
* ``ran`` (= *applicable*): ``total - declined - not_judged``; ``passed`` counts only ``pass``;
* ``refused_agree``: the template refuses and the generator raised too; it ran, it did not fail, and it is
  never a pass; ``environment``: it differs exactly as the installed transformers makes the record differ (a
  failing verdict, but not the generator's); ``failed``: the generator's failures (mask mismatch, divergence,
  invalid output, error, timeout).

So ``passed + refused_agree + environment + failed == ran``, and a generator that declines everything has
``ran == 0``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .outcome import FAILING, NOT_THE_GENERATORS, Verdict


@dataclass
class Tally:
    verdicts: Counter = field(default_factory=Counter)

    @classmethod
    def of(cls, verdicts: Iterable[Verdict | str]) -> Tally:
        return cls(Counter(Verdict(v) for v in verdicts))

    def add(self, verdict: Verdict | str) -> None:
        self.verdicts[Verdict(verdict)] += 1

    @property
    def total(self) -> int:
        return sum(self.verdicts.values())

    @property
    def declined(self) -> int:
        return self.verdicts[Verdict.UNSUPPORTED]

    @property
    def not_judged(self) -> int:
        return self.verdicts[Verdict.NOT_JUDGED]

    @property
    def ran(self) -> int:
        return self.total - self.declined - self.not_judged

    @property
    def passed(self) -> int:
        return self.verdicts[Verdict.PASS]

    @property
    def refused_agree(self) -> int:
        return self.verdicts[Verdict.REFUSED_AGREE]

    @property
    def environment(self) -> int:
        return self.verdicts[Verdict.ENVIRONMENT]

    @property
    def failed(self) -> int:
        return sum(n for v, n in self.verdicts.items() if v in FAILING and v not in NOT_THE_GENERATORS)

    def __getitem__(self, verdict: Verdict | str) -> int:
        return self.verdicts[Verdict(verdict)]

    def cell(self) -> str:
        """``passed/ran``, or ``–`` when the generator ran on none of the records (all declined)."""
        return f"{self.passed}/{self.ran}" if self.ran else "–"

    def to_json(self) -> dict[str, Any]:
        return {"total": self.total, "ran": self.ran, "passed": self.passed, "refused_agree": self.refused_agree,
                "environment": self.environment, "failed": self.failed, "declined": self.declined,
                "not_judged": self.not_judged,
                "verdicts": {v.value: n for v, n in sorted(self.verdicts.items(), key=lambda kv: kv[0].value)}}
