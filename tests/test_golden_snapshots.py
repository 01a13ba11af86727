"""The reference's output as a readable token table per golden: `pytest --snapshot-update` or
`lossmask regenerate` rewrites them; a changed token fails with a one-line diff naming index, id and piece."""

import pytest

from lossmask import golden as G
from lossmask.cases import load_cases
from tests.golden_snapshots import GoldenTableExtension

CASES = {c.id: c for c in load_cases()}
LINE = G.transformers_line()
#: Token tables pin the newest transformers line; on an older line, records that line overrides are skipped
#: here (tests/test_golden.py compares them with their overrides).
KEYS = [k for k in G.expected_keys(list(CASES.values())) if not LINE or k not in set(G.iter_override_keys(LINE))]
FAMILIES = sorted({(f, v) for f, v, _ in KEYS})


@pytest.mark.parametrize("family,variant", FAMILIES, ids=[f"{f}/{v}" for f, v in FAMILIES])
def test_token_tables(family, variant, snapshot):
    from lossmask import assets

    loaded = assets.load_bundled(family, variant)
    checked = 0
    for f, v, case_id in KEYS:
        if (f, v) != (family, variant):
            continue
        table = G.token_table(G.build_golden(loaded, CASES[case_id]))
        assert table == snapshot(extension_class=GoldenTableExtension, name=f"{f}/{v}/{case_id}")
        checked += 1
    assert checked == len([k for k in KEYS if k[:2] == (family, variant)]) > 0
