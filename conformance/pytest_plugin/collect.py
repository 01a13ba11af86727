"""The collector: the goldens directory is collected as folders of golden records, one item per record.

Node ids follow the record's file below the goldens directory, which ``lossmask`` stands for:
``lossmask/qwen3_5/default/plain_answer.json::plain_answer``; ``lossmask/qwen3_5`` selects a family. The generator runs once for the records still selected after ``-k``
and node-id selection (through the same isolated runner as ``lossmask check``, so its worker processes start
once), when the first item runs; each item then reports its own record.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .plugin import ROOT_NAME, Options

if TYPE_CHECKING:
    from lossmask.runner import Result

Key = tuple[str, str, str]


class LossmaskSuite:
    """The plugin object registered for a session with ``--lossmask-generator``."""

    def __init__(self, options: Options) -> None:
        from lossmask import golden

        self.options = options
        self.root: Path = golden.GOLDEN
        self._results: dict[Key, Result] | None = None

    def pytest_report_header(self) -> str:
        o = self.options
        scope = ", ".join(filter(None, [" ".join(o.families), " ".join(o.variants), " ".join(o.categories)]))
        return f"lossmask: generator {o.generator}, goldens {self.root}" + (f" ({scope})" if scope else "")

    @pytest.hookimpl(tryfirst=True)
    def pytest_collect_directory(self, path: Path, parent: pytest.Collector) -> pytest.Collector | None:
        if path.resolve() == self.root.resolve():
            return GoldenDir.from_parent(parent, path=path, nodeid=ROOT_NAME, suite=self, keys=self.keys())
        return None

    def keys(self) -> list[Key]:
        from lossmask import golden
        from lossmask.cases import load_cases

        o = self.options
        cases = load_cases(o.categories or None)
        return [(f, v, c) for f, v, c in golden.expected_keys(cases)
                if (not o.families or f in o.families) and (not o.variants or v in o.variants)]

    def result(self, item: RecordItem) -> Result:
        if self._results is None:
            selected = [i.key for i in item.session.items if isinstance(i, RecordItem)]
            self._results = self._run(selected)
        return self._results[item.key]

    def _run(self, keys: list[Key]) -> dict[Key, Result]:
        """Run the generator on the smallest runner selection that covers ``keys`` (families × case ids)."""
        from lossmask.reference.errors import LossmaskError
        from lossmask.runner import Selection, run

        o = self.options
        sel = Selection(sorted({f for f, _, _ in keys}), list(o.categories) or None, sorted({c for _, _, c in keys}))
        try:
            outcome = run(o.generator, sel, o.profile, o.timeout, o.jobs)
        except LossmaskError as exc:  # the run could not start at all: one line, pytest's usage exit code
            pytest.exit(f"lossmask: {' '.join(str(exc).split())}", returncode=pytest.ExitCode.USAGE_ERROR)
        return {(r.family, r.variant, r.case): r for r in outcome.results}


class GoldenDir(pytest.Directory):
    """The goldens directory, or a family or variant folder in it, holding the selected records below it.

    The nodes mirror the folders because pytest selects a path argument level by level, each node's path being
    the next part of the argument's path.
    """

    def __init__(self, *, suite: LossmaskSuite, keys: list[Key], depth: int = 0, **kw: Any) -> None:
        super().__init__(**kw)
        self.suite, self.keys, self.depth = suite, keys, depth

    def collect(self) -> Iterator[pytest.Collector]:
        if self.depth == 2:
            for key in self.keys:
                name = f"{key[2]}.json"
                yield RecordFile.from_parent(self, path=self.path / name, nodeid=f"{self.nodeid}/{name}", key=key)
            return
        groups: dict[str, list[Key]] = {}
        for key in self.keys:
            groups.setdefault(key[self.depth], []).append(key)
        for part, keys in groups.items():
            yield GoldenDir.from_parent(self, path=self.path / part, nodeid=f"{self.nodeid}/{part}",
                                        suite=self.suite, keys=keys, depth=self.depth + 1)


class RecordFile(pytest.File):
    """One golden record's file; its one item is the test."""

    def __init__(self, *, key: Key, **kw: Any) -> None:
        super().__init__(**kw)
        self.key = key

    def collect(self) -> Iterator[RecordItem]:
        yield RecordItem.from_parent(self, name=self.key[2], key=self.key)


class RecordItem(pytest.Item):
    """One golden record, judged from the generator's answer for it."""

    def __init__(self, *, key: Key, **kw: Any) -> None:
        super().__init__(**kw)
        self.key = key
        self.suite: LossmaskSuite = self.parent.parent.suite  # type: ignore[union-attr]

    def runtest(self) -> None:
        settle(self.suite.result(self))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str | Any:
        if isinstance(excinfo.value, LossmaskFailure):
            return excinfo.value.explain()
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, None, str]:
        from lossmask import golden

        return golden.golden_path(*self.key), None, f"lossmask {'/'.join(self.key)}"


def settle(result: Result) -> None:
    """The one place a runner verdict becomes a pytest outcome: declined → skipped, agreeing with a template
    refusal → xfail (expected, never a pass), failing → failed."""
    from lossmask.compare import Verdict

    if result.verdict is Verdict.UNSUPPORTED:
        pytest.skip(f"declined by the generator: {result.message}")
    if result.verdict is Verdict.REFUSED_AGREE:
        pytest.xfail(result.message)
    if result.failed:
        raise LossmaskFailure(result)


class LossmaskFailure(Exception):
    def __init__(self, result: Result) -> None:
        super().__init__(result.message)
        self.result = result

    def explain(self) -> str:
        r = self.result
        lines = [f"{r.verdict}: {r.message}"]
        lines += [f"  #{row.index} {row.piece!r} {row.segment} expected {row.expected} got {row.actual}"
                  for row in r.outcome.context[:8]]
        return "\n".join(lines)
