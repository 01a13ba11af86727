"""``lossmask zoo`` end to end: load the corpus, classify every template in bounded workers, report.

One line on stderr per template that could not be run or on which the reference crashed or broke an
invariant; the run goes on. A rich progress bar shows templates done and the current one.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from ..golden import versions
from . import corpus, pool
from .records import TemplateOutcome


def failure_lines(t: TemplateOutcome) -> list[str]:
    """The one-line messages a template's outcome deserves (none when it is merely refused or declined)."""
    if t.problem:
        return [f"zoo: {t.name}: {t.problem_kind}: {t.problem}"]
    lines = []
    for s in t.scenarios:
        if s.status == "error":
            lines.append(f"zoo: {t.name} [{t.family}] scenario {s.scenario}: {s.reason}")
        for v in s.checks.violations if s.checks else []:
            lines.append(f"zoo: {t.name} [{t.family}] scenario {s.scenario}: invariant {v}")
    return lines


#: Without a terminal (CI logs), a plain progress line every this many templates.
PLAIN_PROGRESS_EVERY = 100


def run(templates_dir: str | None, workers: int, limits: pool.Limits, only: list[str] | None = None,
        show_progress: bool = True, emit: Callable[[str], None] | None = None,
        plain_progress: bool = False) -> tuple[list[TemplateOutcome], dict[str, Any]]:
    """``show_progress``: a live bar (a terminal); ``plain_progress``: a line every 100 templates instead."""
    emit = emit or (lambda line: print(line, file=sys.stderr))
    found = corpus.load(templates_dir)
    chosen = [t for t in found.templates if not only or t.name in only]
    started = time.perf_counter()
    outcomes: list[TemplateOutcome] = []
    progress = Progress(TextColumn("[bold]zoo"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[now]}"),
                        TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), transient=True,
                        disable=not show_progress)
    with progress:
        task = progress.add_task("zoo", total=len(chosen), now="starting workers")

        def starting(t: corpus.ZooTemplate) -> None:
            progress.update(task, now=t.name[:40])

        for outcome in pool.run(chosen, workers, limits, on_start=starting):
            outcomes.append(outcome)
            for line in failure_lines(outcome):
                progress.console.print(line, markup=False, highlight=False) if show_progress else emit(line)
            progress.advance(task)
            if plain_progress and not show_progress and len(outcomes) % PLAIN_PROGRESS_EVERY == 0:
                emit(f"zoo: {len(outcomes)}/{len(chosen)} templates ({time.perf_counter() - started:.0f} s)")
    meta = {
        "corpus": found.source,
        "environment": versions(),
        "limits": {"timeout_s": limits.timeout, "memory_mb": limits.memory_mb},
        "seconds": round(time.perf_counter() - started, 1),
        "selected": len(chosen),
    }
    return outcomes, meta
