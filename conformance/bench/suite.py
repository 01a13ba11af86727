"""Wall time of a conformance run of the reference over the whole fixture suite.

Why through the runner: the issue's target ("conformance of one generator over all fixtures under 60 s on 2
cores") is about the real ``lossmask check`` path — generator processes, protocol, judging against goldens —
not about the reference alone. :func:`lossmask.runner.run` is that path's Python API; when this checkout has
no runner (an older tree), the fallback times ``reference.segment`` over every case and bundled template, every
profile masked, and labels the number as that stand-in.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from typing import Any


def time_suite(jobs: int | None = None, families: list[str] | None = None) -> dict[str, Any]:
    jobs = jobs or min(2, os.cpu_count() or 1)
    try:
        from ..runner import Selection, run
    except ImportError:
        return _stand_in(families)
    result = run("reference", Selection(families=families), jobs=jobs)
    verdicts = Counter(r.verdict for r in result.results)
    return {"what": f"lossmask check reference (conformance.runner.run, {jobs} generator processes)",
            "cases": len(result.results), "seconds": round(result.seconds, 2), "jobs": jobs,
            "verdicts": dict(sorted(verdicts.items())), "stand_in": False}


def _stand_in(families: list[str] | None) -> dict[str, Any]:
    from lossmask.reference import LossmaskError, segment
    from lossmask.reference.policy import PROFILES

    from .. import assets
    from ..cases import load_cases

    cases = load_cases()
    done = refused = 0
    start = time.perf_counter()
    for name, fam in assets.families().items():
        if families and name not in families:
            continue
        for variant in fam.variant_names:
            loaded = assets.load_bundled(name, variant)
            for case in cases:
                if case.families and name not in case.families:
                    continue
                try:
                    seg = segment(loaded.tokenizer, loaded.chat_template, case.messages, case.tools,
                                  case.template_kwargs)
                    for profile in PROFILES:
                        seg.mask(profile)
                except LossmaskError:
                    refused += 1
                done += 1
    return {"what": "STAND-IN: reference.segment + every profile over every case and bundled template, one "
                    "process (no conformance.runner in this checkout)",
            "cases": done, "refused": refused, "seconds": round(time.perf_counter() - start, 2), "jobs": 1,
            "stand_in": True}
