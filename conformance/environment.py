"""The environment check: does the installed transformers load and render the bundled families as the goldens say?

Why: a verdict compares a generator with goldens made on one transformers line, and the goldens' token ids are
the tokenizer file's own encoding. Users load tokenizers with ``AutoTokenizer``, which on some lines builds the
class the config names and replaces the file's pre-tokenizer (transformers 5.2–5.21 load DeepSeek-V3's files as
``LlamaTokenizer`` and 5.2–5.24 OLMo 2's as ``GPT2Tokenizer``: other ids on most texts; beside the model's config.json
some lines load them right, which the check measures too), and templates render differently across lines. When that happens
the environment, not the generator, explains a difference, and it must be said so: ``lossmask doctor`` reports it,
``lossmask check`` and ``audit`` attach it to the records it affects.

Everything here returns plain typed data (:class:`Environment`, :class:`FamilyHealth`); nothing prints. Results
are cached per (versions, bundled files, goldens) in the lossmask cache, because ``check`` runs this first.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from . import assets, matrix
from . import golden as G
from .atomic import write_text
from .cases import Case, load_cases
from .errors import AssetError, LossmaskError

FINE = "fine"
TOKENIZES_DIFFERENTLY = "tokenizes_differently"
RENDERS_DIFFERENTLY = "renders_differently"
CANNOT_LOAD = "cannot_load"
#: Bump when the cached data's meaning changes.
FORMAT = 3


@dataclass(frozen=True)
class Tokenization:
    """``AutoTokenizer`` ids vs the file's own ``tokenizers`` encoding, on ``texts`` fixture texts."""

    loaded_class: str
    texts: int
    differing: int
    example: str = ""


@dataclass(frozen=True)
class RenderDrift:
    """One record whose render here differs from its golden (``detail``: how; ``refuses``: the template raises)."""

    variant: str
    case: str
    detail: str
    refuses: bool = False


@dataclass(frozen=True)
class FamilyHealth:
    """What the environment does to one family: ``status`` is the worst finding, ``fix`` what to do about it."""

    family: str
    status: str
    tokenization: Tokenization | None = None
    renders: int = 0
    render_drift: tuple[RenderDrift, ...] = ()
    fix: str = ""
    error: str = ""
    #: Where the tokenizer files alone mis-tokenize and the model type is known: ``AutoTokenizer`` on the same
    #: files beside a config.json naming ``model_type``, as in a model repository (None: not measured).
    model_dir: Tokenization | None = None
    model_type: str = ""
    #: ``"variant/case"`` → token ids a faithful generator gets here instead of the golden's (the explanation).
    environment_ids: dict[str, list[list[int]]] = field(default_factory=dict, repr=False)

    @property
    def ok(self) -> bool:
        return self.status == FINE

    def summary(self, versions: dict[str, str]) -> str:
        """One line: what is wrong here and what to do."""
        tf = f"transformers {versions.get('transformers')}"
        if self.status == CANNOT_LOAD:
            return f"{self.family}: cannot load under {tf}: {self.error}"
        parts = []
        t = self.tokenization
        if t and t.differing:
            parts.append(f"AutoTokenizer on the tokenizer files alone loads it as {t.loaded_class} and "
                         f"{t.differing} of {t.texts} fixture texts get other ids than the tokenizer file's own "
                         "encoding" + self._model_dir_clause())
        if self.render_drift:
            parts.append(f"{len(self.render_drift)} of {self.renders} chat-template renders differ from the goldens "
                         f"({self.render_drift[0].variant}/{self.render_drift[0].case}: {self.render_drift[0].detail})")
        if not parts:
            return f"{self.family}: fine ({t.loaded_class if t else '?'}, {t.texts if t else 0} texts, "\
                   f"{self.renders} renders)"
        return f"{self.family}: under {tf} " + "; ".join(parts)

    def _model_dir_clause(self) -> str:
        m = self.model_dir
        if m is None:
            return ""
        where = f"beside a config.json with model_type {self.model_type} (a model directory)"
        if m.differing:
            return f"; {where} it loads {m.loaded_class} and {m.differing} of {m.texts} differ too"
        return f" (a tokenizer-only directory, as tokenizer.save_pretrained writes); {where} it loads " \
               f"{m.loaded_class} and every text gets the file's ids"


@dataclass(frozen=True)
class Environment:
    """The installed versions, the golden line they read, the matrix cell (or None), and every family's health."""

    versions: dict[str, str]
    line: str
    cell: str | None
    families: tuple[FamilyHealth, ...]

    @property
    def ok(self) -> bool:
        return all(f.ok for f in self.families)

    def health(self, family: str) -> FamilyHealth | None:
        return next((f for f in self.families if f.family == family), None)

    def notes(self, family: str) -> list[str]:
        """The environment notes for any record of this family: empty when the family is fine here."""
        h = self.health(family)
        return [] if h is None or h.ok else [h.summary(self.versions)]

    def explains(self, family: str, variant: str, case: str, ids: list[int]) -> bool:
        """Whether ``ids`` are exactly what this environment makes of the record (so it, not the generator, differs)."""
        h = self.health(family)
        return bool(h and ids in h.environment_ids.get(f"{variant}/{case}", []))

    def refuses(self, family: str, variant: str, case: str) -> bool:
        """Whether the template refuses this record here while its golden renders."""
        h = self.health(family)
        return bool(h and any(d.refuses and (d.variant, d.case) == (variant, case) for d in h.render_drift))

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        for fam in out["families"]:
            fam.pop("environment_ids")
        out["ok"] = self.ok
        return out


def installed_versions() -> dict[str, str]:
    out = {}
    for dist in ("transformers", "tokenizers", "jinja2"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "absent"
    return out


def _line_label(line: str | None) -> str:
    return line or f"main (transformers {matrix.GOLDEN_CELL.transformers})"


def check(families: list[str] | None = None, use_cache: bool = True) -> Environment:
    """The environment check on the bundled families (all of them by default), cached per inputs."""
    versions = installed_versions()
    line = G.transformers_line(versions["transformers"])
    cell = matrix.cell_for(versions["transformers"], versions["tokenizers"])
    cases = load_cases()
    out = []
    for name in families or list(assets.families()):
        out.append(_cached(name, versions, line, cases) if use_cache else check_family(name, line, cases))
    return Environment(versions, _line_label(line), cell.id if cell else None, tuple(out))


def _records(family: str, cases: list[Case], line: str | None) -> list[tuple[str, Case, dict[str, Any]]]:
    fam = assets.family(family)
    return [(v, c, G.load_golden(family, v, c.id, line=line)) for v in fam.variant_names for c in cases
            if c.applies_to(family)]


def check_family(family: str, line: str | None, cases: list[Case]) -> FamilyHealth:
    """Load ``family`` as users do and compare ids and renders with the file's encoding and this line's goldens."""
    try:
        records = _records(family, cases, line)
        directory = assets.materialize(family)
        with assets.offline():
            user = assets.auto_tokenizer(str(directory), local_files_only=True)
    except LossmaskError as exc:
        return FamilyHealth(family, CANNOT_LOAD, error=str(exc), fix="reinstall lossmask-conformance")
    texts = sorted({g["text"] for _, _, g in records if g["outcome"] == "rendered"})
    tokenization, differing = compare_ids(user, directory / "tokenizer.json", texts)
    env_ids: dict[str, list[list[int]]] = {}
    for variant, case, g in records:
        if g.get("text") in differing:
            env_ids.setdefault(f"{variant}/{case.id}", []).append(differing[g["text"]])
    drift = []
    file_tok = _file_tokenizer(directory / "tokenizer.json")
    for variant, case, g in records:
        detail, text = _render_drift(user, assets.bundled_template(family, variant), case, g)
        if detail:
            drift.append(RenderDrift(variant, case.id, detail, refuses=text is None))
            if text is not None:
                env_ids.setdefault(f"{variant}/{case.id}", []).append(
                    file_tok.encode(text, add_special_tokens=False).ids)
    status = TOKENIZES_DIFFERENTLY if tokenization.differing else RENDERS_DIFFERENTLY if drift else FINE
    model_type = matrix.model_type_of(family) if tokenization.differing else ""
    model_dir = model_dir_tokenization(directory, model_type, texts) if model_type else None
    return FamilyHealth(family, status, tokenization, len(records), tuple(drift),
                        _fix(status, tokenization, bundled=family, model_dir=model_dir, model_type=model_type),
                        environment_ids=env_ids, model_dir=model_dir, model_type=model_type)


def model_dir_tokenization(directory: Path, model_type: str, texts: list[str]) -> Tokenization:
    """``AutoTokenizer`` on the family's files beside a config.json that names only ``model_type``: what a model
    repository gives (transformers maps some model types past the class the tokenizer config names). The
    directory is a temporary one of ours, removed afterwards."""
    import shutil
    import tempfile

    with tempfile.TemporaryDirectory(prefix="lossmask-model-dir-") as tmp:
        for name in ("tokenizer.json", "tokenizer_config.json"):
            shutil.copyfile(directory / name, Path(tmp) / name)
        (Path(tmp) / "config.json").write_text(json.dumps({"model_type": model_type}), encoding="utf-8")
        with assets.offline():
            user = assets.auto_tokenizer(tmp, local_files_only=True)
        return compare_ids(user, directory / "tokenizer.json", texts)[0]


def compare_ids(user: Any, tokenizer_json: Path, texts: list[str]) -> tuple[Tokenization, dict[str, list[int]]]:
    """How ``user`` (as loaded) and the file's own encoding tokenize ``texts``; the differing texts' user ids."""
    file_tok = _file_tokenizer(tokenizer_json)
    want = [e.ids for e in file_tok.encode_batch(texts, add_special_tokens=False)] if texts else []
    got = [list(ids) for ids in user(texts, add_special_tokens=False)["input_ids"]] if texts else []
    differing = {t: g for t, w, g in zip(texts, want, got) if w != g}
    example = ""
    for t, w, g in zip(texts, want, got):
        if w != g:
            i = next((k for k, (a, b) in enumerate(zip(w, g)) if a != b), min(len(w), len(g)))
            example = (f"token #{i} of {json.dumps(t[:40], ensure_ascii=False)}…: file "
                       f"{w[i] if i < len(w) else '<end>'}, loaded {g[i] if i < len(g) else '<end>'}")
            break
    return Tokenization(type(user).__name__, len(texts), len(differing), example), differing


def _file_tokenizer(path: Path) -> Any:
    from tokenizers import Tokenizer

    try:
        return Tokenizer.from_file(str(path))
    except Exception as exc:  # tokenizers raises bare Exceptions for unreadable files
        raise AssetError(f"{path}: the tokenizers library cannot read it ({exc})") from None


def _render_drift(user: Any, template: str, case: Case, golden: dict[str, Any]) -> tuple[str, str | None]:
    """``("", None)`` when the render here equals the golden; else how it differs and the new text (if any)."""
    from lossmask.reference.errors import TemplateRefusal
    from lossmask.reference.render import render

    try:
        text = render(user, template, case.messages, case.tools, case.template_kwargs)
    except TemplateRefusal as exc:
        return ("", None) if golden["outcome"] == "refused" else (f"refuses here ({exc}), renders in the golden", None)
    if golden["outcome"] == "refused":
        return "renders here, the golden refuses", text
    if text == golden["text"]:
        return "", None
    i = next((k for k, (a, b) in enumerate(zip(text, golden["text"])) if a != b), min(len(text), len(golden["text"])))
    return (f"text differs from character {i}: golden {json.dumps(golden['text'][i:i + 30], ensure_ascii=False)}, "
            f"here {json.dumps(text[i:i + 30], ensure_ascii=False)}"), text


def _fix(status: str, tokenization: Tokenization | None, bundled: str | None,
         model_dir: Tokenization | None = None, model_type: str = "") -> str:
    """What to do; ``bundled`` is the family name for a bundled family (an upgrade is suggested only where the
    newest tested transformers loads it right), None for a user's tokenizer."""
    if status == TOKENIZES_DIFFERENTLY:
        fix = (f"AutoTokenizer built {tokenization.loaded_class if tokenization else '?'}: load the tokenizer with "
               "PreTrainedTokenizerFast.from_pretrained(path), which takes tokenizer.json as it is")
        if model_dir is not None and not model_dir.differing:
            fix += f", or load it from the model's directory (its config.json names model_type {model_type})"
        if bundled and bundled not in matrix.autotokenizer_differs(matrix.LATEST.transformers):
            fix += f", or use transformers {matrix.LATEST.transformers} (the newest tested, where AutoTokenizer is right)"
        return fix
    if status == RENDERS_DIFFERENTLY:
        return ("these goldens do not describe this transformers' renders; use a tested pair ("
                + ", ".join(f"{c.transformers}/{c.tokenizers}" for c in matrix.CELLS) + ")")
    return ""


def check_tokenizer(spec: str) -> FamilyHealth:
    """The tokenization check on a user's tokenizer (a local directory or a hub id), on the corpus' texts.

    Texts: every case's message strings and, when the tokenizer has a chat template, every case it renders.
    """
    from lossmask.reference.errors import TemplateRefusal
    from lossmask.reference.render import render

    name = os.path.basename(os.path.normpath(spec)) if os.path.isdir(spec) else spec
    try:
        if os.path.isdir(spec):
            with assets.offline():
                user = assets.auto_tokenizer(spec, local_files_only=True)
            tokenizer_json = Path(spec) / "tokenizer.json"
        else:
            user = assets.auto_tokenizer(spec)
            tokenizer_json = _hub_file(spec)
        if not tokenizer_json.is_file():
            raise AssetError(f"{spec}: no tokenizer.json to compare with (a slow-only tokenizer)")
    except LossmaskError as exc:
        return FamilyHealth(name, CANNOT_LOAD, error=str(exc), fix="check the path or hub id")
    texts: set[str] = set()
    template = user.chat_template if isinstance(user.chat_template, str) else None
    for case in load_cases():
        texts |= {m["content"] for m in case.messages if isinstance(m.get("content"), str) and m["content"]}
        if template:
            try:
                texts.add(render(user, template, case.messages, case.tools, case.template_kwargs))
            except TemplateRefusal:
                pass
    tokenization, _ = compare_ids(user, tokenizer_json, sorted(texts))
    status = TOKENIZES_DIFFERENTLY if tokenization.differing else FINE
    return FamilyHealth(name, status, tokenization, fix=_fix(status, tokenization, bundled=None))


def _hub_file(repo_id: str) -> Path:
    try:
        from huggingface_hub import hf_hub_download

        return Path(hf_hub_download(repo_id, "tokenizer.json"))
    except Exception as exc:  # offline, missing file, gated repo
        raise AssetError(f"{repo_id}: cannot fetch tokenizer.json from the hub ({type(exc).__name__})") from None


# -- cache ------------------------------------------------------------------------------------------------------
def _cache_key(family: str, versions: dict[str, str], line: str | None, cases: list[Case]) -> str:
    records = [(v, c.id, G.golden_path(family, v, c.id, line=line if line and
                G.golden_path(family, v, c.id, line=line).is_file() else None)) for v, c in
               ((v, c) for v in assets.family(family).variant_names for c in cases if c.applies_to(family))]
    h = hashlib.sha256(json.dumps([FORMAT, versions, line, assets.manifest()["families"][family]["files"],
                                   [(v, c, str(p.relative_to(G.GOLDEN))) for v, c, p in records]]).encode())
    for *_, path in records:
        h.update(path.read_bytes() if path.is_file() else b"-")
    return h.hexdigest()[:24]


def _cached(family: str, versions: dict[str, str], line: str | None, cases: list[Case]) -> FamilyHealth:
    key = _cache_key(family, versions, line, cases)
    path = assets.cache_root().parent / "environment" / family / f"{key}.json"
    try:
        return _from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
        pass
    health = check_family(family, line, cases)
    if health.status != CANNOT_LOAD:
        write_text(path, json.dumps(asdict(health)))
    return health


def _from_json(data: dict[str, Any]) -> FamilyHealth:
    tok = data.pop("tokenization")
    drift = data.pop("render_drift")
    model_dir = data.pop("model_dir")
    return FamilyHealth(**data, tokenization=Tokenization(**tok) if tok else None,
                        render_drift=tuple(RenderDrift(**d) for d in drift),
                        model_dir=Tokenization(**model_dir) if model_dir else None)
