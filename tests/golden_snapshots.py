"""A syrupy extension that keeps each golden's token table next to its JSON (fixtures/golden/<f>/<v>/<case>.tokens.txt).

One token per line (index, id, masks per profile, segment, message, piece), so a changed token is a one-line
diff in a failing test. Files are addressed by the snapshot name ``family/variant/case``; orphans are caught by
tests/test_golden.py's manifest test (syrupy does not detect them in a custom layout).
"""

from __future__ import annotations

from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode

from lossmask.golden import golden_path


class GoldenTableExtension(SingleFileSnapshotExtension):
    _write_mode = WriteMode.TEXT
    file_extension = "tokens.txt"

    @classmethod
    def get_location(cls, *, test_location, index) -> str:  # type: ignore[override]
        family, variant, case = str(index).split("/")
        return str(golden_path(family, variant, case, ".tokens.txt"))
