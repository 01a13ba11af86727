"""Which bundled templates the reference renders once (proved, :mod:`lossmask.reference.proof`) and which twice.

Per template (family default and variants): the proof's verdict, its guard literals and data assumptions, or
the template line and construct that stopped it. The bench conversations' own path is in each family's row
(``renders``), since a proved template still renders twice for data its guards exclude.
"""

from __future__ import annotations

from typing import Any

from lossmask.reference.proof import prove

from .. import assets


def template_paths() -> list[dict[str, Any]]:
    rows = []
    for family, fam in assets.families().items():
        for variant in fam.variant_names:
            loaded = assets.load_bundled(family, variant)
            proof = prove(loaded.chat_template)
            rows.append({"family": family, "variant": variant or "default", "single_render": proof.holds,
                         "reason": proof.reason, "guards": sorted(proof.guards),
                         "distinct_messages": proof.distinct_messages,
                         "objects_as_arguments": proof.objects_as_arguments, "describe": proof.describe()})
    return rows
