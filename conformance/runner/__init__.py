"""The conformance runner: score any mask generator against the golden fixtures.

select cases → send each to the generator's process → :func:`lossmask.compare.compare` against the golden → report.
"""

from .engine import Run, Selection, run
from .verdict import FAILING, VERDICTS, Result

__all__ = ["FAILING", "Result", "Run", "Selection", "VERDICTS", "run"]
