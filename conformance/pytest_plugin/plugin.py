"""The ``pytest11`` entry point: ``--lossmask-generator SPEC`` collects one test item per golden record.

The records are *collected*, the way pytest collects any non-Python tests: the goldens directory joins pytest's
collection arguments and :class:`~.collect.Suite` collects it, so ``--collect-only`` lists the records, ``-k``
selects them, and a printed node id (``lossmask/qwen3_5/default/plain_answer.json::plain_answer``) can be passed
back on the command line to run that one record (``lossmask`` stands for the goldens directory wherever it is
installed; ``lossmask/qwen3_5`` selects one family).

Options are validated once, when pytest configures: an unknown family, variant, profile or category, or a
generator that does not resolve, is one :class:`pytest.UsageError` (pytest's usage exit code), never a failure
per item.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

#: What stands for the goldens directory in node ids and on the command line.
ROOT_NAME = "lossmask"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("lossmask", "lossmask conformance suite (one test per golden record)")
    group.addoption("--lossmask-generator", metavar="SPEC",
                    help="score this mask generator against the goldens (reference, an entry point, module:function, "
                         "path.py:function or jsonl:COMMAND)")
    group.addoption("--lossmask-profile", metavar="P", help="compare under this profile (default: the generator's)")
    group.addoption("--lossmask-family", action="append", metavar="F", help="only this family (repeatable)")
    group.addoption("--lossmask-variant", action="append", metavar="V", help="only this template variant (repeatable)")
    group.addoption("--lossmask-category", action="append", metavar="C", help="only this category (repeatable)")
    group.addoption("--lossmask-timeout", type=float, default=60.0, metavar="S", help="seconds per case (default 60)")
    group.addoption("--lossmask-jobs", type=int, default=min(2, os.cpu_count() or 1), metavar="N",
                    help="generator processes in parallel (default: 2, or 1 on one core)")


@dataclass(frozen=True)
class Options:
    """The plugin's options, validated."""

    generator: str
    profile: str | None
    families: tuple[str, ...]
    variants: tuple[str, ...]
    categories: tuple[str, ...]
    timeout: float
    jobs: int


def pytest_configure(config: pytest.Config) -> None:
    if not config.getoption("lossmask_generator"):
        return
    from .collect import LossmaskSuite

    options = validate(config)
    suite = LossmaskSuite(options)
    config.pluginmanager.register(suite, "lossmask-suite")
    config.args[:] = _collection_args(list(config.args), suite.root)


def _collection_args(args: list[str], root: Path) -> list[str]:
    """``lossmask/...`` arguments point into the goldens; without any, the whole suite joins the others."""
    out, ours = [], False
    for arg in args:
        head, sep, rest = arg.partition("::")
        if (head == ROOT_NAME or head.startswith(ROOT_NAME + "/")) and not Path(head).exists():
            arg, ours = str(root) + head[len(ROOT_NAME):] + sep + rest, True
        elif root.resolve() in (Path(head).resolve(), *Path(head).resolve().parents):
            ours = True
        out.append(arg)
    return out if ours else [*out, str(root)]


def validate(config: pytest.Config) -> Options:
    """Check every option once; the first problem is a :class:`pytest.UsageError`."""
    from lossmask import assets
    from lossmask.cases import CATEGORIES
    from lossmask.reference.errors import LossmaskError
    from lossmask.reference.policy import PROFILES

    get = config.getoption
    try:
        known = assets.families()
    except LossmaskError as exc:
        raise pytest.UsageError(f"lossmask: {exc}") from None
    families = tuple(get("lossmask_family") or ())
    for fam in families:
        _known("--lossmask-family", fam, known)
    variants = {v for name in (families or known) for v in known[name].variant_names}
    for variant in get("lossmask_variant") or ():
        _known("--lossmask-variant", variant, sorted(variants))
    for category in get("lossmask_category") or ():
        _known("--lossmask-category", category, CATEGORIES)
    profile = get("lossmask_profile")
    if profile is not None:
        _known("--lossmask-profile", profile, PROFILES)
    if get("lossmask_timeout") <= 0:
        raise pytest.UsageError(f"--lossmask-timeout {get('lossmask_timeout')}: must be positive")
    if get("lossmask_jobs") < 1:
        raise pytest.UsageError(f"--lossmask-jobs {get('lossmask_jobs')}: must be at least 1")
    spec = get("lossmask_generator")
    claimed = _handshake(spec).get("profile") or "canonical"
    if profile is None and claimed not in PROFILES:
        raise pytest.UsageError(f"--lossmask-generator {spec}: claims profile {claimed!r}, which is not one of "
                                f"{', '.join(PROFILES)}; pass --lossmask-profile")
    return Options(spec, profile, families, tuple(get("lossmask_variant") or ()),
                   tuple(get("lossmask_category") or ()), get("lossmask_timeout"), get("lossmask_jobs"))


def _known(option: str, value: str, known) -> None:
    if value in known:
        return
    close = difflib.get_close_matches(value, list(known), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise pytest.UsageError(f"{option} {value}: unknown{hint}; known: {', '.join(known)}")


def _handshake(spec: str) -> dict:
    """Start the generator the way the run will (its own process) and read its handshake, so a generator that
    cannot be resolved is a usage error before anything is collected."""
    from lossmask.reference.errors import LossmaskError
    from lossmask.runner.engine import handshake
    from lossmask.runner.process import Failure

    try:
        return handshake(spec)
    except LossmaskError as exc:
        raise pytest.UsageError(f"--lossmask-generator {spec}: {' '.join(str(exc).split())}") from None
    except Failure as exc:
        raise pytest.UsageError(f"--lossmask-generator {spec}: {exc.message}") from None
