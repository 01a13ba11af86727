"""Benchmark report: the JSON document and the markdown region of BENCHMARKS.md that ``lossmask bench`` owns.

BENCHMARKS.md is shared: other tools own other marked regions (``<!-- audit:start -->`` ...). This module only
replaces the text between :data:`START` and :data:`END` (appending the region when the file has none, creating
the file when missing) and writes atomically, so a crash never leaves half a file and other regions survive.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

from ..atomic import write_text

START, END = "<!-- bench:start -->", "<!-- bench:end -->"
ROOT = Path(__file__).resolve().parents[2]


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {"cpus": os.cpu_count(), "cpu": cpu, "platform": platform.platform(),
            "load_average_at_start": [round(x, 2) for x in load] if load else None}


def versions() -> dict[str, str]:
    import jinja2
    import tokenizers
    import transformers

    out = {"python": platform.python_version(), "transformers": transformers.__version__,
           "tokenizers": tokenizers.__version__, "jinja2": jinja2.__version__}
    try:
        from importlib.metadata import version

        out["trl"] = version("trl")
    except Exception:  # noqa: BLE001 - trl is optional (the HF-mask and TRL rows say when it is missing)
        pass
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                                timeout=10)
        if commit.returncode == 0:
            out["lossmask_commit"] = commit.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return out


def json_text(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2, ensure_ascii=False) + "\n"


def write_json(path: str | os.PathLike[str], report: dict[str, Any]) -> None:
    write_text(path, json_text(report))


def replace_region(existing: str, body: str) -> str:
    """``existing`` with the bench region replaced by ``body`` (or appended when absent)."""
    region = f"{START}\n{body.rstrip()}\n{END}"
    if START in existing and END in existing.split(START, 1)[1]:
        head, rest = existing.split(START, 1)
        return head + region + rest.split(END, 1)[1]
    if not existing.strip():
        existing = "# Benchmarks\n"
    return existing.rstrip("\n") + "\n\n" + region + "\n"


def write_markdown(path: str | os.PathLike[str], report: dict[str, Any]) -> None:
    path = Path(path)
    existing = path.read_text(encoding="utf-8") if path.exists() else ""
    write_text(path, replace_region(existing, markdown(report)))


def markdown(report: dict[str, Any]) -> str:
    from .markdown import markdown as render

    return render(report)
