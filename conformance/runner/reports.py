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
from . import case_text
from .causes import failure_groups
from .engine import Run


#: 2: counting rules (``refused_agree``, ``not_judged``, summary ``ran``/``declined``) and typed ``details``.
FORMAT = 2


def tally(run: Run) -> Tally:
    return Tally.of(r.verdict for r in run.results)


def summary(run: Run) -> dict[str, Any]:
    """The counts under the counting rules (see :mod:`lossmask.compare.counts`) and the failures by cause."""
    return {**tally(run).to_json(), "causes": [g.to_json() for g in failure_groups(run.results)]}


def to_json(run: Run) -> dict[str, Any]:
    v = versions()
    return {
        "format": FORMAT, "generator": run.generator, "profile": run.profile,
        "versions": {"python": platform.python_version(), **{k: v[k] for k in ("transformers", "tokenizers", "jinja2")},
                     "lossmask": v["lossmask-conformance"]},
        "summary": summary(run), "seconds": round(run.seconds, 3),
        "environment": run.environment.to_json() if run.environment is not None else None,
        "results": [r.to_json() for r in run.results],
    }


def json_text(run: Run) -> str:
    return json.dumps(to_json(run), indent=1, ensure_ascii=False) + "\n"


def write_json(run: Run, path: str | Path) -> None:
    write_text(Path(path), json_text(run))


def junit_classnames(labels: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """``lossmask.<family>.<variant>`` for each template, with every character that is not a letter, digit,
    ``_`` or ``-`` (the dots of ``Qwen3.5-0.8B`` above all) turned into ``_``: CI tools split class names on dots
    into packages, so a dot inside a name would invent a package ``Qwen3`` holding a class ``5-0``. Two templates
    that would get the same name are told apart by a numeric suffix."""
    names: dict[tuple[str, str], str] = {}
    taken: set[str] = set()
    for family, variant in labels:
        base = "lossmask." + ".".join(_identifier(part) for part in (family, variant))
        name, n = base, 1
        while name in taken:
            n += 1
            name = f"{base}_{n}"
        taken.add(name)
        names[family, variant] = name
    return names


def _identifier(part: str) -> str:
    return "".join(c if c.isascii() and (c.isalnum() or c in "_-") else "_" for c in part) or "_"


def write_junit(run: Run, path: str | Path) -> None:
    write_text(Path(path), junit_xml(run))


def junit_xml(run: Run) -> str:
    """One testsuite per template, one testcase per case. A failure's message is the one-line explanation and its
    body the terminal's compact context (:mod:`.case_text`); times are each case's own (see :class:`Result`).

    Only ``pass`` is a passing testcase: ``unsupported`` and ``refused_agree`` are ``skipped`` with their verdict
    as ``type``, so a JUnit consumer's pass count equals ``summary.passed``."""
    root = ET.Element("testsuites", name=f"lossmask {run.generator['name']}")
    suites: dict[tuple[str, str], ET.Element] = {}
    classnames = junit_classnames(list(dict.fromkeys((r.family, r.variant) for r in run.results)))
    for r in run.results:
        label = (r.family, r.variant)
        if label not in suites:
            suites[label] = ET.SubElement(root, "testsuite", name=f"{r.family}/{r.variant}")
        case = ET.SubElement(suites[label], "testcase", classname=classnames[label],
                             name=f"{r.category}/{r.case}", time=f"{r.seconds:.3f}")
        if r.failed:
            tag = "error" if r.verdict in {Verdict.ERROR, Verdict.TIMEOUT, Verdict.NOT_JUDGED} else "failure"
            node = ET.SubElement(case, tag, type=r.verdict.value, message=r.message[:500])
            node.text = case_text.text(r)
        elif r.verdict in (Verdict.UNSUPPORTED, Verdict.REFUSED_AGREE):
            # Neither is a pass: a decline did not run; an agreed refusal had no mask to get right (pytest
            # reports the same as xfail, which JUnit also writes as skipped).
            ET.SubElement(case, "skipped", type=r.verdict.value, message=r.message[:500])
    for suite in suites.values():
        cases = list(suite)
        suite.set("tests", str(len(cases)))
        suite.set("failures", str(sum(1 for c in cases if c.find("failure") is not None)))
        suite.set("errors", str(sum(1 for c in cases if c.find("error") is not None)))
        suite.set("skipped", str(sum(1 for c in cases if c.find("skipped") is not None)))
        suite.set("time", f"{sum(float(c.get('time')) for c in cases):.3f}")
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
