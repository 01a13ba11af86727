"""The mergeable counts of an audit: what one chunk found, and the sum of all chunks.

Why a dedicated type: chunks are analysed in any order on any number of processes (or Ray workers), and the
result must not depend on that. Every field is a sum, and example lists keep the *smallest* sample indices, so
merging is associative and commutative: one worker, two workers and Ray give identical JSON.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

#: Error kinds (a sample the reader, the validator or the template rejected).
INVALID_LINE = "invalid-json"
INVALID_RECORD = "invalid-record"
INVALID_CONVERSATION = "invalid-conversation"
TEMPLATE_REFUSAL = "template-refusal"
SEGMENTATION_ERROR = "segmentation-error"
REFERENCE_ERROR = "reference-error"
RENDER_LIMIT = "render-limit"

_INDEX = re.compile(r"\[\d+\]")


def reason_key(kind: str, message: str) -> str:
    """Group errors by kind and message, with list indices blanked so one cause is one row."""
    return f"{kind}: {_INDEX.sub('[*]', message)}"


@dataclass
class Tally:
    examples_per_kind: int = 5
    keep_samples: bool = False
    samples: int = 0
    rendered: int = 0
    tokens: int = 0
    supervised: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)
    error_kinds: Counter = field(default_factory=Counter)
    findings: Counter = field(default_factory=Counter)
    #: name → sorted [(index, line, detail)], at most ``examples_per_kind``; errors keyed by reason.
    examples: dict[str, list[tuple[int, int | None, str]]] = field(default_factory=dict)
    #: index → the sample itself (only for indices still in ``examples``, only when ``keep_samples``).
    payloads: dict[int, Any] = field(default_factory=dict)

    def _example(self, name: str, index: int, line: int | None, detail: str, payload: Any) -> None:
        items = self.examples.setdefault(name, [])
        if len(items) >= self.examples_per_kind and index > items[-1][0]:
            return
        items.append((index, line, detail))
        items.sort()
        del items[self.examples_per_kind:]
        if self.keep_samples:
            self.payloads[index] = payload

    def error(self, kind: str, message: str, index: int, line: int | None, payload: Any) -> None:
        key = reason_key(kind, message)
        self.errors[key] += 1
        self.error_kinds[kind] += 1
        self._example(key, index, line, message, payload)

    def finding(self, name: str, index: int, line: int | None, detail: str, payload: Any) -> None:
        self.findings[name] += 1
        self._example(name, index, line, detail, payload)

    def merge(self, other: Tally) -> Tally:
        self.samples += other.samples
        self.rendered += other.rendered
        self.tokens += other.tokens
        self.supervised.update(other.supervised)
        self.errors.update(other.errors)
        self.error_kinds.update(other.error_kinds)
        self.findings.update(other.findings)
        for name, items in other.examples.items():
            mine = self.examples.setdefault(name, [])
            mine.extend(items)
            mine.sort()
            del mine[self.examples_per_kind:]
        if self.keep_samples:
            self.payloads.update(other.payloads)
            wanted = {i for items in self.examples.values() for i, _, _ in items}
            self.payloads = {i: p for i, p in self.payloads.items() if i in wanted}
        return self

    def counts(self) -> dict[str, Any]:
        """The numbers (no timings): what tests compare across engines and worker counts."""
        return {
            "samples": self.samples,
            "rendered": self.rendered,
            "errors": {
                "total": sum(self.error_kinds.values()),
                "by_kind": dict(sorted(self.error_kinds.items())),
                "by_reason": dict(self.errors.most_common()),
            },
            "findings": dict(sorted(self.findings.items())),
            "tokens": {"all": self.tokens, "supervised": dict(sorted(self.supervised.items()))},
            "examples": {
                name: [{"index": i, "line": line, "detail": detail} for i, line, detail in items]
                for name, items in sorted(self.examples.items())
            },
        }
