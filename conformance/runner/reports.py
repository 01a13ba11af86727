"""Machine-readable reports of a run: JSON (fixtures/schema/report.schema.json) and JUnit XML for CI."""

from __future__ import annotations

import json
import platform
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from ..atomic import write_text
from ..compare import Tally, Verdict
from ..golden import versions
from .engine import Run

#: 2: counting rules (``refused_agree``, ``not_judged``, summary ``ran``/``declined``) and typed ``details``.
FORMAT = 2


def tally(run: Run) -> Tally:
    return Tally.of(r.verdict for r in run.results)


def summary(run: Run) -> dict[str, Any]:
    """The counts under the counting rules (see :mod:`lossmask.compare.counts`)."""
    return tally(run).to_json()


def to_json(run: Run) -> dict[str, Any]:
    v = versions()
    return {
        "format": FORMAT, "generator": run.generator, "profile": run.profile,
        "versions": {"python": platform.python_version(), **{k: v[k] for k in ("transformers", "tokenizers", "jinja2")},
                     "lossmask": v["lossmask-conformance"]},
        "summary": summary(run), "seconds": round(run.seconds, 3),
        "results": [r.to_json() for r in run.results],
    }


def write_json(run: Run, path: str | Path) -> None:
    write_text(Path(path), json.dumps(to_json(run), indent=1, ensure_ascii=False) + "\n")


def write_junit(run: Run, path: str | Path) -> None:
    """One testsuite per family/variant, one testcase per case; failures carry the verdict and explanation.

    Only ``pass`` is a passing testcase: ``unsupported`` and ``refused_agree`` are ``skipped`` with their verdict
    as ``type``, so a JUnit consumer's pass count equals ``summary.passed``.
    """
    root = ET.Element("testsuites", name=f"lossmask {run.generator['name']}")
    suites: dict[str, ET.Element] = {}
    for r in run.results:
        label = f"{r.family}/{r.variant}"
        if label not in suites:
            suites[label] = ET.SubElement(root, "testsuite", name=label)
        case = ET.SubElement(suites[label], "testcase", classname=f"lossmask.{r.family}.{r.variant}",
                             name=f"{r.category}/{r.case}", time=f"{r.seconds:.3f}")
        if r.failed:
            tag = "error" if r.verdict in {Verdict.ERROR, Verdict.TIMEOUT, Verdict.NOT_JUDGED} else "failure"
            node = ET.SubElement(case, tag, type=r.verdict.value, message=r.message[:500])
            node.text = json.dumps(r.outcome.details(), ensure_ascii=False, indent=1)[:20000]
        elif r.verdict in (Verdict.UNSUPPORTED, Verdict.REFUSED_AGREE):
            # Neither is a pass: a decline did not run; an agreed refusal had no mask to get right (pytest
            # reports the same as xfail, which JUnit also writes as skipped).
            ET.SubElement(case, "skipped", type=r.verdict.value, message=r.message[:500])
    for label, suite in suites.items():
        cases = list(suite)
        suite.set("tests", str(len(cases)))
        suite.set("failures", str(sum(1 for c in cases if c.find("failure") is not None)))
        suite.set("errors", str(sum(1 for c in cases if c.find("error") is not None)))
        suite.set("skipped", str(sum(1 for c in cases if c.find("skipped") is not None)))
    ET.indent(root)
    write_text(Path(path), ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n")
