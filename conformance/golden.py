"""Golden data: what the reference produces for every (family, variant, case), stored as plain JSON.

``fixtures/golden/<family>/<variant>/<case>.json`` holds the render, token ids, offsets, per-token segment labels
and message indices, and the mask under every shipped profile; ``<case>.tokens.txt`` beside it is the same data
as a one-token-per-line table (the syrupy snapshot) so that a changed token is a one-line diff. Both are
generated; they are reviewed data and change only through ``lossmask regenerate``.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

from lossmask.reference import PROFILES, TemplateRefusal, segment

from . import assets, matrix
from .assets import FIXTURES, LoadedTokenizer
from .cases import Case, load_cases
from .errors import CaseError
from .record import GoldenRecord, from_json_unchecked, parse_record

GOLDEN = FIXTURES / "golden"
#: Where another transformers line renders a case differently (4.x does not alias ``reasoning_content`` to
#: gpt-oss's ``thinking``, for one), that line's record lives under ``_lines/<line>/`` and wins in that line
#: (the lines and their version ranges: :data:`lossmask.matrix.LINES`).
LINES = "_lines"
FORMAT = 1
#: Keys whose values record the environment, not the behaviour: excluded when goldens are compared.
VOLATILE = ("generated_with",)


def versions() -> dict[str, str]:
    out = {}
    for dist in ("transformers", "tokenizers", "jinja2", "lossmask-conformance"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "absent"
    return out


def transformers_line(version: str | None = None) -> str | None:
    """The override line (``_lines/<line>/``) of this transformers version, ``None`` on the main goldens' line.

    The lines and their version ranges are data in :mod:`lossmask.matrix`; ``version`` defaults to the installed
    transformers.
    """
    if version is None:
        try:
            version = metadata.version("transformers")
        except metadata.PackageNotFoundError:
            return None
    return matrix.line_for(version)


def golden_path(family: str, variant: str, case_id: str, suffix: str = ".json", line: str | None = None) -> Path:
    base = GOLDEN / LINES / line if line else GOLDEN
    return base / family / variant / f"{case_id}{suffix}"


def iter_override_keys(line: str) -> list[tuple[str, str, str]]:
    return sorted((p.parent.parent.name, p.parent.name, p.stem) for p in (GOLDEN / LINES / line).glob("*/*/*.json"))


def expected_keys(cases: list[Case] | None = None) -> list[tuple[str, str, str]]:
    """Every (family, variant, case) triple the corpus and the bundled families call for."""
    cases = load_cases() if cases is None else cases
    return [(fam.name, variant, case.id)
            for fam in assets.families().values() for variant in fam.variant_names
            for case in cases if case.applies_to(fam.name)]


def iter_golden_keys() -> list[tuple[str, str, str]]:
    """Every (family, variant, case) triple that has a golden JSON file on disk."""
    return sorted((p.parent.parent.name, p.parent.name, p.stem) for p in GOLDEN.glob("*/*/*.json"))


def record_path(family: str, variant: str, case_id: str, line: str | None = "auto") -> Path:
    """Where this environment's golden lives: the transformers line's override when there is one."""
    line = transformers_line() if line == "auto" else line
    if line and golden_path(family, variant, case_id, line=line).is_file():
        return golden_path(family, variant, case_id, line=line)
    return golden_path(family, variant, case_id)


def load_golden(family: str, variant: str, case_id: str, line: str | None = "auto") -> dict[str, Any]:
    """The golden record for this environment as raw JSON (what ``regenerate`` compares); most code wants
    :func:`load_record`."""
    path = record_path(family, variant, case_id, line)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CaseError(f"{path}: no golden for case {case_id!r} on {family}/{variant}; run `lossmask regenerate`") from None
    except json.JSONDecodeError as exc:
        raise CaseError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None


def load_record(family: str, variant: str, case_id: str, line: str | None = "auto") -> GoldenRecord:
    """The typed golden record for this environment, schema-checked once per file version and process."""
    path = record_path(family, variant, case_id, line)
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise CaseError(f"{path}: no golden for case {case_id!r} on {family}/{variant}; run `lossmask regenerate`") from None
    return _parsed(path, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=2048)
def _parsed(path: Path, mtime_ns: int, size: int) -> GoldenRecord:
    del mtime_ns, size  # cache keys: a rewritten file is read again
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CaseError(f"{path}: golden vanished while reading; run `lossmask regenerate`") from None
    except json.JSONDecodeError as exc:
        raise CaseError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    return parse_record(data, path)


def build_golden(loaded: LoadedTokenizer, case: Case) -> dict[str, Any]:
    """The golden record of one case on one tokenizer+template, computed by the reference now."""
    head: dict[str, Any] = {
        "format": FORMAT, "case": case.id, "family": loaded.family, "variant": loaded.variant,
        "category": case.category, "rebuilt_tokenizer": loaded.rebuilt,
    }
    try:
        seg = segment(loaded.tokenizer, loaded.chat_template, case.messages, case.tools, case.template_kwargs)
    except TemplateRefusal as exc:
        return {**head, "outcome": "refused", "refusal": str(exc), "generated_with": versions()}
    results = {name: seg.mask(policy) for name, policy in PROFILES.items()}
    return {**head, **_rendered(seg, results), "generated_with": versions()}


def _rendered(seg: Any, results: dict[str, Any]) -> dict[str, Any]:
    return {
        "outcome": "rendered", "text": seg.text, "input_ids": seg.input_ids,
        "offsets": [list(o) for o in seg.offsets], "segments": seg.token_parts(), "messages": seg.token_messages(),
        "masks": {name: r.loss_mask for name, r in results.items()},
        "straddles": {name: r.straddles for name, r in results.items()}, "warnings": seg.warnings,
    }


def record_of(seg: Any, results: dict[str, Any], family: str, variant: str, case: str,
              category: str = "audit") -> GoldenRecord:
    """A record built in memory from a segmentation and its masks (the audit's samples have no golden file)."""
    head = {"format": FORMAT, "case": case, "family": family, "variant": variant, "category": category,
            "rebuilt_tokenizer": False}
    return from_json_unchecked({**head, **_rendered(seg, results)})


def comparable(golden: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in golden.items() if k not in VOLATILE}


def dumps(golden: dict[str, Any]) -> str:
    """One top-level key per line, arrays kept on one line: small files, diffs that name the changed key."""
    lines = [f"  {json.dumps(k)}: {json.dumps(v, ensure_ascii=False, separators=(', ', ': '))}"
             for k, v in golden.items()]
    return "{\n" + ",\n".join(lines) + "\n}\n"


def token_table(golden: dict[str, Any]) -> str:
    """The human-readable view: one line per token (index, id, piece, segment, message, mask per profile)."""
    head = [f"# {golden['family']}/{golden['variant']} · case {golden['case']} ({golden['category']})"]
    if golden["outcome"] == "refused":
        return "\n".join([*head, f"# refused: {golden['refusal']}", ""])
    profiles = list(golden["masks"])
    n = len(golden["input_ids"])
    head.append(f"# tokens: {n}; profiles (mask columns, # = supervised): {' '.join(profiles)}")
    for p in profiles:
        head.append(f"# {p}: supervised {sum(golden['masks'][p])}/{n}; straddles {golden['straddles'][p]}")
    head.append("idx\tid\tmasks\tsegment\tmsg\tpiece")
    text = golden["text"]
    for i, (tid, (s, e)) in enumerate(zip(golden["input_ids"], golden["offsets"])):
        marks = "".join("#" if golden["masks"][p][i] else "." for p in profiles)
        msg = golden["messages"][i]
        head.append(f"{i}\t{tid}\t{marks}\t{golden['segments'][i]}\t{'-' if msg is None else msg}\t{text[s:e]!r}")
    return "\n".join(head) + "\n"


def iter_loaded(families: list[str] | None = None) -> Iterator[LoadedTokenizer]:
    """Every bundled (family, variant) tokenizer, in manifest order."""
    for fam in assets.families().values():
        if families and fam.name not in families:
            continue
        for variant in fam.variant_names:
            yield assets.load_bundled(fam.name, variant)
