"""The audit's progress bar (rich): conversations done, conversations/s and an ETA.

Why bytes for JSONL: counting lines first would read the file twice, so a JSONL bar advances by bytes consumed
(exact ETA, no pre-pass); parquet and ``datasets`` know their row count, so their bar advances by rows.
"""

from __future__ import annotations

import time

from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from .readers import Record, Source


class AuditProgress:
    def __init__(self, source: Source, limit: int | None = None) -> None:
        self.by_rows = source.size is None or limit is not None
        total = source.total if source.size is None else source.size
        if limit is not None:
            total = min(limit, total) if total is not None and source.size is None else limit
        self.progress = Progress(
            TextColumn("[bold]audit"), BarColumn(), TaskProgressColumn(),
            TextColumn("{task.fields[done]:,} conversations"), TextColumn("{task.fields[rate]:,.0f}/s"),
            TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), transient=True,
        )
        self.task = self.progress.add_task("audit", total=total, done=0, rate=0.0)
        self.done = 0
        self.position = 0
        self.start = time.perf_counter()

    def __enter__(self) -> AuditProgress:
        # The live display (a thread) starts on the first update: worker processes are forked before that.
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def update(self, n: int, last: Record) -> None:
        if not self.progress.live.is_started:
            self.progress.start()
        self.done += n
        self.position = max(self.position, last.position)
        rate = self.done / max(time.perf_counter() - self.start, 1e-9)
        completed = self.done if self.by_rows else self.position
        self.progress.update(self.task, completed=completed, done=self.done, rate=rate)
