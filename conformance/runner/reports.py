"""Machine-readable reports of a run: JSON (fixtures/schema/report.schema.json) and JUnit XML for CI."""

from __future__ import annotations

import json
import platform
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import Any

from ..atomic import write_text
from ..golden import versions
from .engine import Run


def summary(run: Run) -> dict[str, Any]:
    counts = Counter(r.verdict for r in run.results)
    failed = sum(1 for r in run.results if r.failed)
    return {"total": len(run.results), "passed": counts.get("pass", 0), "failed": failed, "verdicts": dict(counts)}


def to_json(run: Run) -> dict[str, Any]:
    v = versions()
    return {
        "format": 1, "generator": run.generator, "profile": run.profile,
        "versions": {"python": platform.python_version(), **{k: v[k] for k in ("transformers", "tokenizers", "jinja2")},
                     "lossmask": v["lossmask-conformance"]},
        "summary": summary(run), "seconds": round(run.seconds, 3),
        "environment": run.environment.to_json() if run.environment is not None else None,
        "results": [r.to_json() for r in run.results],
    }


def write_json(run: Run, path: str | Path) -> None:
    write_text(Path(path), json.dumps(to_json(run), indent=1, ensure_ascii=False) + "\n")


def write_junit(run: Run, path: str | Path) -> None:
    """One testsuite per family/variant, one testcase per case; failures carry the verdict and explanation."""
    root = ET.Element("testsuites", name=f"lossmask {run.generator['name']}")
    suites: dict[str, ET.Element] = {}
    for r in run.results:
        label = f"{r.family}/{r.variant}"
        if label not in suites:
            suites[label] = ET.SubElement(root, "testsuite", name=label)
        case = ET.SubElement(suites[label], "testcase", classname=f"lossmask.{r.family}.{r.variant}",
                             name=f"{r.category}/{r.case}", time=f"{r.seconds:.3f}")
        if r.failed:
            tag = "error" if r.verdict in {"error", "timeout"} else "failure"
            node = ET.SubElement(case, tag, type=r.verdict, message=r.message[:500])
            node.text = json.dumps(r.details, ensure_ascii=False, indent=1)[:20000]
        elif r.verdict == "unsupported":
            ET.SubElement(case, "skipped", message=r.message[:500])
    for label, suite in suites.items():
        cases = list(suite)
        suite.set("tests", str(len(cases)))
        suite.set("failures", str(sum(1 for c in cases if c.find("failure") is not None)))
        suite.set("errors", str(sum(1 for c in cases if c.find("error") is not None)))
        suite.set("skipped", str(sum(1 for c in cases if c.find("skipped") is not None)))
    ET.indent(root)
    write_text(Path(path), ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n")
