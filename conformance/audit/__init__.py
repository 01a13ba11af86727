"""Dataset audit: stream a real SFT dataset through the reference (and optionally a generator) and count problems.

Modules, one job each: ``readers`` (JSONL / parquet / ``datasets`` streams), ``findings`` (data-level checks),
``analyse`` (one chunk: decode, validate, segment, compare), ``tally`` (mergeable counts), ``engines`` (in-process
and process pool), ``ray_engine`` (Ray tasks), ``progress`` (rich bar), ``run`` (end to end + example files),
``summary`` (terminal), ``synthetic`` (datasets with planted problems) and ``bench`` (the benchmark).
"""

from .analyse import AuditConfig, analyse_chunk
from .run import audit

__all__ = ["AuditConfig", "analyse_chunk", "audit"]
