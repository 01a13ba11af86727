"""Helpers a framework's own tests can use without the plugin's generated suite."""

from __future__ import annotations

from typing import Any

import pytest

from .. import golden as G
from ..cases import load_cases


def parametrize_cases(families: list[str] | None = None, categories: list[str] | None = None,
                      argnames: str = "family,variant,case"):
    """``@parametrize_cases()`` → the test receives ``family``, ``variant`` and the :class:`~conformance.cases.Case`."""
    cases = {c.id: c for c in load_cases(categories)}
    keys = [(f, v, cases[cid]) for f, v, cid in G.expected_keys(list(cases.values())) if not families or f in families]
    return pytest.mark.parametrize(argnames, keys, ids=[f"{f}/{v}/{c.id}" for f, v, c in keys])


def golden(family: str, variant: str, case_id: str) -> dict[str, Any]:
    """The golden record (see FIXTURES.md): ``input_ids``, ``masks[profile]``, ``segments``..."""
    return G.load_golden(family, variant, case_id)
