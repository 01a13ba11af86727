"""What a fuzzing run leaves behind: per-template example counts and falsifying examples saved as cases.

Why here and not in the test: the counts are reported at the end of the pytest session (``tests/conftest.py``
calls :func:`terminal_summary`) and stored as JSON in pytest's cache (``.pytest_cache/v/lossmask/fuzz_counts``)
so CI logs and the issue note can quote them; a falsifying example becomes an ordinary adversarial case
(``fixtures/cases/adversarial/fuzz_<hash>.json``, schema-valid, written atomically) so it is replayed against the
reference and every generator from then on, not just by Hypothesis.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

#: "family/variant" → {"checked": n, "refused": n} for this pytest session.
COUNTS: dict[str, dict[str, int]] = defaultdict(lambda: {"checked": 0, "refused": 0})
CACHE_KEY = "lossmask/fuzz_counts"


def record(label: str, outcome: str) -> None:
    COUNTS[label][outcome] += 1


def summary() -> dict[str, Any]:
    per_family: dict[str, int] = defaultdict(int)
    for label, c in COUNTS.items():
        per_family[label.split("/")[0]] += c["checked"] + c["refused"]
    total = sum(per_family.values())
    return {"total": total, "checked": sum(c["checked"] for c in COUNTS.values()),
            "per_family": dict(per_family), "per_template": {k: dict(v) for k, v in sorted(COUNTS.items())}}


def terminal_summary(reporter: Any) -> None:
    if not COUNTS:
        return
    data = summary()
    cache = getattr(reporter.config, "cache", None)  # absent under -p no:cacheprovider
    if cache is not None:
        cache.set(CACHE_KEY, data)
    reporter.write_sep("-", f"fuzzed examples: {data['total']} ({data['checked']} rendered and checked, "
                            f"the rest refused by the template)")
    for fam, n in data["per_family"].items():
        variants = {k: v for k, v in data["per_template"].items() if k.split("/")[0] == fam}
        detail = ", ".join(f"{k.split('/', 1)[1]} {v['checked']}+{v['refused']}" for k, v in variants.items())
        reporter.write_line(f"  {fam:<14} {n:>6}  ({detail})")


def save_failure(messages: list[dict], tools: list[dict] | None, template_kwargs: dict[str, Any], family: str,
                 variant: str, error: BaseException) -> Path:
    """Write the falsifying example as an adversarial case; return its path. Schema-checked before writing."""
    from lossmask.atomic import write_text
    from lossmask.cases import CASES, schema_errors

    body: dict[str, Any] = {"messages": messages}
    if tools:
        body["tools"] = tools
    if template_kwargs:
        body["template_kwargs"] = template_kwargs
    digest = hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:12]
    case_id = f"fuzz_{digest}"
    reason = (str(error).strip().splitlines() or [type(error).__name__])[0][:300]
    case = {
        "id": case_id,
        "category": "adversarial",
        "description": f"Found by the property-based fuzzer on {family}/{variant}: {type(error).__name__}: {reason}",
        **body,
        "families": [family],
        "tags": ["fuzz"],
    }
    problems = schema_errors("case", case)
    if problems:
        raise ValueError(f"falsifying example is not a schema-valid case ({problems[0]}); not saved")
    path = CASES / "adversarial" / f"{case_id}.json"
    write_text(path, json.dumps(case, indent=2, ensure_ascii=False) + "\n")
    return path
