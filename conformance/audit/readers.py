"""Stream a dataset of conversations as raw records, never loading the whole file.

Why raw: parsing and validating a record is per-sample work, so it happens in the workers (in parallel, and a
bad record becomes a counted error there instead of stopping the reader). A reader only yields
:class:`Record` objects in order, each with its sample index and, for JSONL, its 1-based line number so a
problem can be found in the file. Parquet and Hugging Face ``datasets`` directories are optional extras: a
missing library is one clear :class:`~conformance.errors.UsageError`, not a traceback.

Supported inputs:
- ``*.jsonl`` / ``*.json`` lines (``.gz`` too): one conversation per line, a message list or an object with
  ``messages`` (and ``tools``); blank lines are skipped and not counted.
- ``*.parquet`` (or a directory of them): a ``messages`` column (list of structs, or a JSON string) and an
  optional ``tools`` column; read with ``pyarrow`` ``iter_batches``.
- a directory written by ``datasets.Dataset.save_to_disk`` (memory-mapped Arrow, iterated in batches).
"""

from __future__ import annotations

import gzip
import os
import sys
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import UsageError
from .tally import INVALID_LINE

BATCH_ROWS = 1024
#: DATA that stands for JSON lines on standard input.
STDIN = "-"
#: Default largest sample (one JSONL line) the audit parses; longer lines are counted, not read into memory.
DEFAULT_MAX_SAMPLE_BYTES = 16 * 1024 * 1024
_SKIP_CHUNK = 1 << 20
#: Error kinds of records the reader could not turn into a sample (see :mod:`.tally` for the others).
OVERSIZED = "oversized-sample"
UNREADABLE = "unreadable-data"


@dataclass(frozen=True, slots=True)
class Record:
    """One sample as read: ``payload`` is the raw JSON line (str) or an already-decoded row (dict)."""

    index: int
    line: int | None
    payload: Any
    #: Bytes of input consumed up to and including this record (JSONL only; drives the progress bar).
    position: int = 0


class Source:
    """A dataset on disk: ``kind``, an optional known ``total`` (rows) or ``size`` (bytes) for progress."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.total: int | None = None
        self.size: int | None = None
        if str(path) == STDIN:  # JSON lines on standard input
            self.kind = "jsonl"
            return
        if not self.path.exists():
            raise UsageError(f"{self.path}: no such file or directory")
        self.kind = detect_kind(self.path)
        if self.kind == "jsonl":
            self.size = self.path.stat().st_size
        elif self.kind == "parquet":
            self.total = sum(_parquet_file(p).metadata.num_rows for p in _parquet_paths(self.path))
        elif self.kind == "datasets":
            self.total = len(_load_datasets_dir(self.path))

    def records(self, limit: int | None = None, max_bytes: int = DEFAULT_MAX_SAMPLE_BYTES) -> Iterator[Record]:
        if self.kind == "jsonl":
            it = read_jsonl(self.path, max_bytes)
        else:
            it = {"parquet": read_parquet, "datasets": read_datasets_dir}[self.kind](self.path)
        if limit is None:
            yield from it
            return
        for record in it:
            if record.index >= limit:
                return
            yield record


def detect_kind(path: Path) -> str:
    if path.is_dir():
        if (path / "dataset_info.json").exists() or (path / "dataset_dict.json").exists() \
                or (path / "state.json").exists():
            return "datasets"
        if any(path.glob("*.parquet")):
            return "parquet"
        raise UsageError(f"{path}: a directory that is neither a `datasets` save_to_disk directory nor holds "
                         "*.parquet files")
    name = path.name.lower().removesuffix(".gz")
    if name.endswith(".parquet"):
        return "parquet"
    if name.endswith((".jsonl", ".json", ".ndjson", ".txt")):
        return "jsonl"
    raise UsageError(f"{path}: unknown dataset format (expected .jsonl, .parquet or a `datasets` directory)")




def read_jsonl(path: Path, max_bytes: int = DEFAULT_MAX_SAMPLE_BYTES) -> Iterator[Record]:
    """One record per non-blank line; a line the worker cannot even decode becomes a :class:`BadBytes` record.

    A line longer than ``max_bytes`` is skipped in 1 MiB pieces (never held whole) and counted as an
    oversized sample. A compressed file that turns out truncated or not gzip ends the stream with one counted
    error naming the line where reading stopped: nothing after it can be decoded.
    """
    if str(path) == STDIN:
        yield from _jsonl_lines(lambda: sys.stdin.buffer, max_bytes)
        return
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    yield from _jsonl_lines(lambda: opener(path, "rb"), max_bytes)


def _jsonl_lines(open_stream: Any, max_bytes: int) -> Iterator[Record]:
    index = lineno = position = 0
    raw = None
    try:
        raw = open_stream()
        while True:
            data = raw.readline(max_bytes + 1)
            if not data:
                return
            lineno += 1
            position += len(data)
            if len(data) > max_bytes and not data.endswith(b"\n"):
                size = len(data)
                while True:  # skip the rest of the line without keeping it
                    more = raw.readline(_SKIP_CHUNK)
                    size += len(more)
                    if not more or more.endswith(b"\n"):
                        break
                position += size - len(data)
                yield Record(index, lineno, BadBytes(f"{size:,} bytes, over the {max_bytes:,}-byte sample limit "
                                                     "(--max-sample-bytes)", OVERSIZED), position)
                index += 1
                continue
            if not data.strip():
                continue
            try:
                text: Any = data.decode("utf-8")
            except UnicodeDecodeError as exc:
                text = BadBytes(f"not UTF-8 ({exc.reason} at byte {exc.start})")
            yield Record(index, lineno, text, position)
            index += 1
    except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
        reason = str(exc) or type(exc).__name__
        yield Record(index, lineno + 1, BadBytes(f"unreadable from here on: {type(exc).__name__}: {reason} "
                                                 f"(after line {lineno}, byte {position:,} of the decoded stream)",
                                                 UNREADABLE), position)
    finally:
        if raw is not None and raw is not sys.stdin.buffer:
            raw.close()




@dataclass(frozen=True, slots=True)
class BadBytes:
    """A sample that could not even be decoded; the worker counts it as an error of ``kind``."""

    reason: str
    kind: str = INVALID_LINE


def _require(module: str, extra: str) -> Any:
    try:
        return __import__(module)
    except ImportError:
        raise UsageError(f"reading this dataset needs `{module}`, which is not installed; install it with "
                         f"`pip install 'lossmask-conformance[{extra}]'` (or `pip install {module}`)") from None


def _parquet_paths(path: Path) -> list[Path]:
    return sorted(path.glob("*.parquet")) if path.is_dir() else [path]


def _parquet_file(path: Path) -> Any:
    _require("pyarrow", "parquet")
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises ArrowInvalid/OSError variants
        raise UsageError(f"{path}: not a readable parquet file ({type(exc).__name__}: {exc})") from None


def _rows(batch: Any) -> Iterator[dict]:
    columns = [c for c in ("messages", "tools") if c in batch.schema.names]
    if "messages" not in columns:
        raise UsageError(f"the dataset has no 'messages' column (columns: {', '.join(batch.schema.names)})")
    yield from batch.select(columns).to_pylist()


def read_parquet(path: Path) -> Iterator[Record]:
    """Rows in order, one row group at a time: a corrupt page costs its row group's remaining rows, each one
    counted as an unreadable sample with its index (never the audit)."""
    index = 0
    for file in _parquet_paths(path):
        pf = _parquet_file(file)
        for group in range(pf.metadata.num_row_groups):
            rows = pf.metadata.row_group(group).num_rows
            done = 0
            try:
                for batch in pf.iter_batches(batch_size=BATCH_ROWS, row_groups=[group]):
                    for row in _rows(batch):
                        yield Record(index, None, row)
                        index += 1
                        done += 1
            except UsageError:
                raise
            except Exception as exc:  # noqa: BLE001 - pyarrow raises OSError/ArrowInvalid/ArrowException kinds
                reason = " ".join(str(exc).split())[:300]
                for _ in range(rows - done):
                    yield Record(index, None, BadBytes(f"{file.name} row group {group}: unreadable "
                                                       f"({type(exc).__name__}: {reason})", UNREADABLE))
                    index += 1


def _load_datasets_dir(path: Path) -> Any:
    _require("datasets", "datasets")
    import datasets

    try:
        ds = datasets.load_from_disk(str(path))
    except Exception as exc:
        raise UsageError(f"{path}: `datasets` could not load it ({type(exc).__name__}: {exc})") from None
    if isinstance(ds, datasets.DatasetDict):
        if "train" in ds:
            return ds["train"]
        if len(ds) == 1:
            return next(iter(ds.values()))
        raise UsageError(f"{path}: a DatasetDict with splits {', '.join(ds)} and no 'train'; point DATA at one split")
    return ds


def read_datasets_dir(path: Path) -> Iterator[Record]:
    ds = _load_datasets_dir(path)
    if "messages" not in ds.column_names:
        raise UsageError(f"{path}: the dataset has no 'messages' column (columns: {', '.join(ds.column_names)})")
    columns = [c for c in ("messages", "tools") if c in ds.column_names]
    index = 0
    for batch in ds.select_columns(columns).with_format("arrow").iter(batch_size=BATCH_ROWS):
        for row in batch.to_pylist():
            yield Record(index, None, row)
            index += 1


__all__ = ["BadBytes", "DEFAULT_MAX_SAMPLE_BYTES", "OVERSIZED", "Record", "Source", "UNREADABLE", "detect_kind"]
