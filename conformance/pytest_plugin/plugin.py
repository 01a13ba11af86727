"""The ``pytest11`` entry point: ``--lossmask-generator SPEC`` turns the golden fixtures into test items.

Items run the generator through the same isolated runner as ``lossmask check`` (one run for the session, so
worker processes start once) and fail with the verdict and its explanation. Counting rules as everywhere: a
declined case is skipped, agreeing with a template refusal is ``xfail`` (never a pass), only ``pass`` passes.
"""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("lossmask", "lossmask conformance suite")
    group.addoption("--lossmask-generator", metavar="SPEC", help="score this mask generator against the goldens")
    group.addoption("--lossmask-profile", metavar="P", help="compare under this profile")
    group.addoption("--lossmask-family", action="append", metavar="F", help="only this family (repeatable)")
    group.addoption("--lossmask-category", action="append", metavar="C", help="only this category (repeatable)")
    group.addoption("--lossmask-timeout", type=float, default=60.0, help="seconds per case")


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("lossmask_generator"):
        config.pluginmanager.register(_Suite(config), "lossmask-suite")


class _Suite:
    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.outcome = None

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, session: pytest.Session, config: pytest.Config, items: list) -> None:
        from ..cases import load_cases
        from .. import golden as G

        fams = config.getoption("lossmask_family")
        cases = load_cases(config.getoption("lossmask_category"))
        parent = LossmaskCollector.from_parent(session, name="lossmask")
        for f, v, cid in G.expected_keys(cases):
            if not fams or f in fams:
                items.append(LossmaskItem.from_parent(parent, name=f"{f}/{v}/{cid}", suite=self, key=(f, v, cid)))

    def results(self):
        if self.outcome is None:
            from ..runner import Selection, run

            c = self.config
            sel = Selection(c.getoption("lossmask_family"), c.getoption("lossmask_category"))
            out = run(c.getoption("lossmask_generator"), sel, c.getoption("lossmask_profile"),
                      c.getoption("lossmask_timeout"))
            self.outcome = {(r.family, r.variant, r.case): r for r in out.results}
        return self.outcome


class LossmaskCollector(pytest.Collector):
    def collect(self):
        return []


class LossmaskItem(pytest.Item):
    def __init__(self, *, suite: _Suite, key: tuple[str, str, str], **kw) -> None:
        super().__init__(**kw)
        self.suite, self.key = suite, key

    def runtest(self) -> None:
        from ..compare import Verdict

        result = self.suite.results()[self.key]
        if result.verdict is Verdict.UNSUPPORTED:
            pytest.skip(f"declined by the generator: {result.message}")
        if result.verdict is Verdict.REFUSED_AGREE:
            # The template refuses the conversation and the generator raised too: expected, but not a pass.
            pytest.xfail(result.message)
        if result.failed:
            raise LossmaskFailure(result)

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, LossmaskFailure):
            r = excinfo.value.result
            lines = [f"{r.verdict}: {r.message}"]
            lines += [f"  #{row.index} {row.piece!r} {row.segment} expected {row.expected} got {row.actual}"
                      for row in r.outcome.context[:8]]
            return "\n".join(lines)
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, None, f"lossmask {'/'.join(self.key)}"


class LossmaskFailure(Exception):
    def __init__(self, result) -> None:
        super().__init__(result.message)
        self.result = result
