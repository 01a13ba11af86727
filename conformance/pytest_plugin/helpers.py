"""Helpers a framework's own tests can use without the plugin's generated suite."""

from __future__ import annotations

import pytest

from .. import golden as G
from ..cases import load_cases
from ..record import GoldenRecord


def parametrize_cases(families: list[str] | None = None, categories: list[str] | None = None,
                      argnames: str = "family,variant,case"):
    """``@parametrize_cases()`` → the test receives ``family``, ``variant`` and the :class:`~conformance.cases.Case`."""
    cases = {c.id: c for c in load_cases(categories)}
    keys = [(f, v, cases[cid]) for f, v, cid in G.expected_keys(list(cases.values())) if not families or f in families]
    return pytest.mark.parametrize(argnames, keys, ids=[f"{f}/{v}/{c.id}" for f, v, c in keys])


def golden(family: str, variant: str, case_id: str) -> GoldenRecord:
    """The typed golden record (see FIXTURES.md): ``.input_ids``, ``.mask(profile)``, ``.segments``, ``.refused``..."""
    return G.load_record(family, variant, case_id)
