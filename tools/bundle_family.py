"""Record a bundled family's files in fixtures/tokenizers/MANIFEST.json (sha256, sizes), xz-compressing big ones.

Why: every bundled file is hash-checked on load (conformance/assets.py), so adding or changing one means writing
its sha256 and size into the manifest; large JSON files are stored xz-compressed with the hash of both the
compressed and the decompressed bytes. This does that bookkeeping, and nothing else: the family's descriptive
fields (models, sources, licence, variants) are written by hand.

    python tools/bundle_family.py gemma3            # compress tokenizer.json etc., refresh families.gemma3.files

Files over 256 KiB named *.json are replaced by *.json.xz (xz preset 9e, deterministic for the same input).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import lzma
import sys
from pathlib import Path

TOKENIZERS = Path(__file__).resolve().parent.parent / "fixtures" / "tokenizers"
COMPRESS_OVER = 256 * 1024


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def bundle(family: str) -> dict[str, dict[str, object]]:
    root = TOKENIZERS / family
    files: dict[str, dict[str, object]] = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        data = path.read_bytes()
        if rel.endswith(".json") and len(data) > COMPRESS_OVER:
            packed = lzma.compress(data, preset=9 | lzma.PRESET_EXTREME)
            xz = path.with_name(path.name + ".xz")
            xz.write_bytes(packed)
            path.unlink()
            files[rel + ".xz"] = {"sha256": _sha(packed), "bytes": len(packed),
                                  "sha256_uncompressed": _sha(data), "bytes_uncompressed": len(data)}
        elif rel.endswith(".xz"):
            raw = lzma.decompress(data)
            files[rel] = {"sha256": _sha(data), "bytes": len(data),
                          "sha256_uncompressed": _sha(raw), "bytes_uncompressed": len(raw)}
        else:
            files[rel] = {"sha256": _sha(data), "bytes": len(data)}
    return dict(sorted(files.items()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("family", help="directory name under fixtures/tokenizers/")
    args = parser.parse_args(argv)
    manifest_path = TOKENIZERS / "MANIFEST.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    entry = manifest["families"].get(args.family)
    if entry is None:
        print(f"{manifest_path}: no families.{args.family} entry; write its descriptive fields first", file=sys.stderr)
        return 2
    entry["files"] = bundle(args.family)
    manifest_path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    for rel, info in entry["files"].items():
        print(f"{info['sha256']}  {args.family}/{rel}  ({info['bytes']:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
