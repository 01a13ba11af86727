"""Bundled tokenizers: hash-checked, decompressed once into a cache, loaded with transformers offline.

Why a loader of our own: CI and users have no hub access, the tokenizer files are stored xz-compressed in
``fixtures/tokenizers/``, and a conformance verdict is only as good as the bytes it was computed on, so every
file is checked against ``MANIFEST.json`` before transformers sees it. Users with their own tokenizer can pass a
local directory (optionally with a template file) or, when they have network access, a hub id.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import hashlib
import json
import lzma
import os
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lossmask.reference.render import check_template

from .atomic import write_bytes
from .errors import AssetError, LossmaskError

def _bundled_fixtures() -> Path:
    """Where the fixtures are: inside the installed package (a wheel), else beside it (this checkout)."""
    here = Path(__file__).resolve().parent
    installed = here / "fixtures"
    return installed if (installed / "tokenizers").is_dir() else here.parent / "fixtures"


FIXTURES = Path(os.environ.get("LOSSMASK_FIXTURES") or _bundled_fixtures())
TOKENIZERS = FIXTURES / "tokenizers"
DEFAULT_VARIANT = "default"


@dataclass(frozen=True)
class Family:
    """One bundled family as the manifest describes it."""

    name: str
    models: str
    tokenizer_source: str
    template_source: str
    license: str
    rebuilt: bool
    default_template: str
    variants: dict[str, str] = field(default_factory=dict)

    @property
    def variant_names(self) -> list[str]:
        return [DEFAULT_VARIANT, *self.variants]


@dataclass
class LoadedTokenizer:
    """A tokenizer plus the chat template text to render with (a variant overrides the default)."""

    tokenizer: Any
    chat_template: str
    family: str
    variant: str
    source: str
    rebuilt: bool = False

    @property
    def label(self) -> str:
        return self.family if self.variant == DEFAULT_VARIANT else f"{self.family}/{self.variant}"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@functools.cache
def manifest() -> dict[str, Any]:
    path = TOKENIZERS / "MANIFEST.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AssetError(f"{path}: the tokenizer manifest is missing") from None
    except json.JSONDecodeError as exc:
        raise AssetError(f"{path}: not valid JSON ({exc})") from None


def families() -> dict[str, Family]:
    out = {}
    for name, entry in manifest()["families"].items():
        out[name] = Family(
            name=name,
            models=entry["models"],
            tokenizer_source=entry["tokenizer_source"],
            template_source=entry["template_source"],
            license=entry["license"],
            rebuilt=bool(entry.get("rebuilt")),
            default_template=entry["default_template"],
            variants=dict(entry.get("variants", {})),
        )
    return out


def family(name: str) -> Family:
    known = families()
    if name not in known:
        raise AssetError(f"unknown family {name!r}; bundled families: {', '.join(known)}")
    return known[name]


def _verified_bytes(fam: str, rel: str) -> bytes:
    """Read a bundled file and check it against the manifest (hash of the stored bytes)."""
    entry = manifest()["families"][fam]["files"].get(rel)
    path = TOKENIZERS / fam / rel
    if entry is None:
        raise AssetError(f"{path}: not listed in MANIFEST.json (families.{fam}.files)")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise AssetError(f"{path}: missing bundled file (listed in MANIFEST.json families.{fam}.files)") from None
    if _sha256(data) != entry["sha256"]:
        raise AssetError(
            f"{path}: sha256 mismatch (expected {entry['sha256'][:16]}…, got {_sha256(data)[:16]}…; "
            f"MANIFEST.json families.{fam}.files[{rel!r}].sha256)"
        )
    return data


def _verified_xz(fam: str, rel: str) -> bytes:
    """A bundled ``.xz`` file, checked, decompressed and checked again (both hashes are in the manifest)."""
    raw_path = TOKENIZERS / fam / rel
    try:
        raw = lzma.decompress(_verified_bytes(fam, rel))
    except lzma.LZMAError as exc:
        raise AssetError(f"{raw_path}: corrupt xz data ({exc})") from None
    if _sha256(raw) != manifest()["families"][fam]["files"][rel]["sha256_uncompressed"]:
        raise AssetError(f"{raw_path}: decompressed sha256 mismatch "
                         f"(MANIFEST.json families.{fam}.files[{rel!r}].sha256_uncompressed)")
    return raw


def _verified_config(fam: str, rel: str) -> bytes:
    """A bundled JSON file's verified bytes, decompressed when the manifest lists it as ``<rel>.xz``."""
    files = manifest()["families"][fam]["files"]
    return _verified_xz(fam, rel + ".xz") if rel not in files and rel + ".xz" in files else _verified_bytes(fam, rel)


def cache_root() -> Path:
    base = os.environ.get("LOSSMASK_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "lossmask"
    )
    return Path(base) / "tokenizers"


def materialize(fam: str) -> Path:
    """Return a directory with the family's decompressed, verified files (built once per content hash)."""
    files = manifest()["families"][fam]["files"]
    key = _sha256(json.dumps(files, sort_keys=True).encode())[:16]
    target = cache_root() / fam / key
    stamp = target / ".verified"
    if stamp.exists():
        xz = files["tokenizer.json.xz"]
        tok = target / "tokenizer.json"
        if tok.exists() and tok.stat().st_size == xz["bytes_uncompressed"]:
            return target
    for rel in files:
        if rel.endswith(".xz"):
            write_bytes(target / rel.removesuffix(".xz"), _verified_xz(fam, rel))
        else:
            write_bytes(target / rel, _verified_bytes(fam, rel))
    write_bytes(stamp, key.encode())
    return target


def auto_tokenizer(path_or_id: str, **kwargs: Any) -> Any:
    """``AutoTokenizer.from_pretrained``: what users call; a load failure is one AssetError line."""
    try:
        from transformers import AutoTokenizer
    except ImportError as exc:  # pragma: no cover - dependency is declared
        raise AssetError(f"transformers is not importable: {exc}") from None
    try:
        # Never the directory's own Python: a tokenizer_config.json with an auto_map would otherwise make
        # transformers prompt on stdout ("run the custom code? [y/N]") and, on "y", import it.
        return AutoTokenizer.from_pretrained(path_or_id, trust_remote_code=False, **kwargs)
    except Exception as exc:  # transformers raises many types here
        if "trust_remote_code" in str(exc):
            raise AssetError(f"{path_or_id}: the tokenizer needs its own Python code (auto_map in its config); "
                             "lossmask never runs a tokenizer's code (trust_remote_code is refused)") from None
        raise AssetError(f"{path_or_id}: transformers could not load the tokenizer ({type(exc).__name__}: {exc})") from None


def _require_offsets(tok: Any, where: str) -> None:
    if not getattr(tok, "is_fast", True) and not hasattr(tok, "_tokenizer"):
        raise AssetError(f"{where}: tokenizer has no offset support (a fast tokenizer is required)")


def file_tokenizer(directory: str | os.PathLike[str]) -> Any:
    """The directory's ``tokenizer.json`` exactly as the ``tokenizers`` library encodes it, with the config's tokens.

    ``PreTrainedTokenizerFast.from_pretrained`` (``TokenizersBackend`` on 5.x) takes the file as it is and reads
    ``tokenizer_config.json`` only for special tokens and the template. ``AutoTokenizer`` instead instantiates the
    class the config names, and some transformers lines rebuild the pre-tokenizer or normaliser from that class:
    5.2–5.21 load DeepSeek-V3's file (config ``LlamaTokenizerFast``) as ``LlamaTokenizer`` and get other ids than
    ``tokenizers.Tokenizer.from_file`` on 70 of its 74 golden texts. A golden must hold on every line, so the
    bundled families are loaded this way; ``lossmask doctor`` reports what ``AutoTokenizer`` does instead.
    """
    try:
        from transformers import PreTrainedTokenizerFast
    except ImportError as exc:  # pragma: no cover - dependency is declared
        raise AssetError(f"transformers is not importable: {exc}") from None
    try:
        return PreTrainedTokenizerFast.from_pretrained(str(directory), local_files_only=True)
    except Exception as exc:  # transformers raises many types here
        raise AssetError(f"{directory}: transformers could not load the tokenizer from tokenizer.json ({type(exc).__name__}: {exc})") from None


@functools.lru_cache(maxsize=None)
def _load_bundled_tokenizer(fam: str) -> Any:
    return read_bundled_tokenizer(fam)


def read_bundled_tokenizer(fam: str) -> Any:
    """A new tokenizer object for a bundled family, read from its verified files (not the cached one)."""
    directory = materialize(fam)
    with offline():
        tok = file_tokenizer(directory)
    _require_offsets(tok, str(TOKENIZERS / fam))
    return tok


@contextlib.contextmanager
def offline() -> Iterator[None]:
    """``HF_HUB_OFFLINE=1`` for the duration of a load from a local directory (restored afterwards)."""
    old = os.environ.get("HF_HUB_OFFLINE")
    os.environ["HF_HUB_OFFLINE"] = "1"
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("HF_HUB_OFFLINE", None)
        else:
            os.environ["HF_HUB_OFFLINE"] = old


def bundled_template(fam: str, variant: str = DEFAULT_VARIANT) -> str:
    info = family(fam)
    if variant == DEFAULT_VARIANT:
        rel = info.default_template
    elif variant in info.variants:
        rel = info.variants[variant]
    else:
        raise AssetError(
            f"family {fam!r} has no variant {variant!r}; variants: {', '.join(info.variant_names)}"
        )
    if rel.endswith("#chat_template"):
        config = json.loads(_verified_config(fam, rel.split("#")[0]))
        template = config.get("chat_template")
        if not isinstance(template, str):
            raise AssetError(f"{TOKENIZERS / fam / rel.split('#')[0]}: no string at JSON path $.chat_template")
        return template
    return _verified_bytes(fam, rel).decode("utf-8")


@functools.lru_cache(maxsize=None)
def _variant_tokenizer(fam: str, variant: str) -> Any:
    """A shallow copy of the family's tokenizer whose ``chat_template`` is the variant's template.

    Generators under test call ``tokenizer.apply_chat_template`` without naming a template, so the tokenizer
    they receive must carry the variant. The copy shares the (immutable) backend, so it costs nothing.
    """
    return with_variant_template(_load_bundled_tokenizer(fam), fam, variant)


def with_variant_template(tokenizer: Any, fam: str, variant: str) -> Any:
    """A shallow copy of ``tokenizer`` carrying the variant's chat template (date pinned)."""
    tok = copy.copy(tokenizer)
    tok.chat_template = bundled_template(fam, variant)
    return tok


def load_bundled(fam: str, variant: str | None = None) -> LoadedTokenizer:
    """Load a bundled family (hash-checked, offline)."""
    info = family(fam)
    variant = variant or DEFAULT_VARIANT
    template = bundled_template(fam, variant)
    return LoadedTokenizer(
        tokenizer=_variant_tokenizer(fam, variant),
        chat_template=template,
        family=fam,
        variant=variant,
        source=f"bundled:{fam}",
        rebuilt=info.rebuilt,
    )


def load_directory(path: str | os.PathLike[str], template_file: str | os.PathLike[str] | None = None) -> LoadedTokenizer:
    """Load a user's local tokenizer directory; ``template_file`` overrides its chat template."""
    directory = Path(path)
    if not directory.is_dir():
        raise AssetError(f"{directory}: not a directory")
    tok = auto_tokenizer(str(directory), local_files_only=True)
    _require_offsets(tok, str(directory))
    return _with_template(tok, directory.name, str(directory), template_file)


def load_hub(repo_id: str, template_file: str | os.PathLike[str] | None = None) -> LoadedTokenizer:
    """Load from the Hugging Face hub (needs network access, which CI does not have)."""
    tok = auto_tokenizer(repo_id)
    _require_offsets(tok, repo_id)
    return _with_template(tok, repo_id.replace("/", "__"), f"hub:{repo_id}", template_file)


def _with_template(tok: Any, name: str, source: str, template_file: Any) -> LoadedTokenizer:
    if template_file is not None and str(template_file) == "-":  # the CLI's standard input
        template = sys.stdin.read()
    elif template_file is not None:
        try:
            template = Path(template_file).read_text(encoding="utf-8")
        except OSError as exc:
            raise AssetError(f"{template_file}: cannot read template ({exc.strerror})") from None
        except UnicodeDecodeError as exc:
            raise AssetError(f"{template_file}: template is not UTF-8 ({exc.reason} at byte {exc.start})") from None
    else:
        template = tok.chat_template
        if isinstance(template, dict):  # named templates: take the default one
            template = template.get("default")
        if not isinstance(template, str):
            raise AssetError(f"{source}: the tokenizer has no chat template; pass a template file")
    try:
        check_template(template)
    except LossmaskError as exc:  # a template that does not compile: name the file it came from
        raise AssetError(f"{template_file or source}: {exc}") from None
    return LoadedTokenizer(tokenizer=tok, chat_template=template, family=name, variant=DEFAULT_VARIANT, source=source)


def load(spec: str, variant: str | None = None, template_file: str | None = None) -> LoadedTokenizer:
    """Resolve a family name, a local directory or a hub id (in that order)."""
    if spec in families():
        if template_file is not None:
            loaded = load_bundled(spec, variant)
            return _with_template(loaded.tokenizer, spec, loaded.source, template_file)
        return load_bundled(spec, variant)
    if os.path.isdir(spec):
        return load_directory(spec, template_file)
    if _path_like(spec):
        what = "is not a directory" if os.path.exists(spec) else "does not exist"
        raise AssetError(f"{spec}: {what} (a tokenizer is a bundled family, a local directory, or a hub id "
                         f"NAMESPACE/NAME)")
    if "/" in spec:
        return load_hub(spec, template_file)
    raise AssetError(f"{spec!r} is neither a bundled family ({', '.join(families())}), a directory, nor a hub id")


def _path_like(spec: str) -> bool:
    """A local path, never a hub id (``NAMESPACE/NAME``): ``./x``, ``../x``, ``/x``, ``~/x``, ``x/``, ``a/b/c``,
    or ``a/b`` where ``a`` is a local directory."""
    if spec.startswith((".", "/", "~")) or spec.endswith("/") or os.sep != "/" and os.sep in spec:
        return True
    parts = spec.split("/")
    return len(parts) > 2 or (len(parts) == 2 and os.path.isdir(parts[0]))


def clear_cache() -> None:
    shutil.rmtree(cache_root(), ignore_errors=True)
    _load_bundled_tokenizer.cache_clear()
    _variant_tokenizer.cache_clear()
