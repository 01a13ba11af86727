"""Asset problems are one clear line (CLI, exit 2) and a typed error (API), never a traceback.

Each test corrupts a private copy of one bundled family (``assets.TOKENIZERS`` and ``LOSSMASK_CACHE`` point at
``tmp_path``), so the real fixtures and the user's cache are never touched. Where a corruption must get past the
hash check to reach a later stage (xz decoding, the decompressed hash, transformers' loader), the copy's
manifest is updated to the corrupted bytes, as a careless regeneration would do.
"""

from __future__ import annotations

import hashlib
import json
import lzma
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from lossmask import assets
from lossmask.cli import main
from lossmask.errors import AssetError
from lossmask.reference import LossmaskError, segment

FAMILY = "qwen2_5"
CHAT = [{"role": "user", "content": "Hi."}, {"role": "assistant", "content": "Hello."}]


def clear_loader_caches() -> None:
    assets.manifest.cache_clear()
    assets._load_bundled_tokenizer.cache_clear()
    assets._variant_tokenizer.cache_clear()


@dataclass
class Bundle:
    root: Path
    manifest: dict

    @property
    def files(self) -> dict:
        return self.manifest["families"][FAMILY]["files"]

    def path(self, rel: str) -> Path:
        return self.root / FAMILY / rel

    def save_manifest(self) -> None:
        (self.root / "MANIFEST.json").write_text(json.dumps(self.manifest))

    def replace(self, rel: str, data: bytes, *, update_manifest: bool) -> None:
        self.path(rel).write_bytes(data)
        if update_manifest:
            self.files[rel]["sha256"] = hashlib.sha256(data).hexdigest()
            self.save_manifest()


@pytest.fixture
def bundle(tmp_path, monkeypatch):
    root = tmp_path / "tokenizers"
    shutil.copytree(assets.TOKENIZERS / FAMILY, root / FAMILY)
    manifest = json.loads((assets.TOKENIZERS / "MANIFEST.json").read_text())
    manifest["families"] = {FAMILY: manifest["families"][FAMILY]}
    b = Bundle(root, manifest)
    b.save_manifest()
    monkeypatch.setattr(assets, "TOKENIZERS", root)
    monkeypatch.setenv("LOSSMASK_CACHE", str(tmp_path / "cache"))
    clear_loader_caches()
    yield b
    clear_loader_caches()  # later tests reload the real bundle


@pytest.fixture
def chat(tmp_path):
    path = tmp_path / "chat.json"
    path.write_text(json.dumps(CHAT))
    return path


def assert_cli_one_line(capsys, argv: list[str], *needles: str) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("lossmask mask: error: ") and "Traceback" not in err, err
    for needle in needles:
        assert needle in err, f"{needle!r} not in {err!r}"


def corrupt_template(b: Bundle) -> str:
    b.replace("chat_template.jinja", b.path("chat_template.jinja").read_bytes() + b" ", update_manifest=False)
    return "chat_template.jinja: sha256 mismatch"


def garbage_xz(b: Bundle) -> str:
    b.replace("tokenizer.json.xz", b"not xz at all", update_manifest=True)
    return "tokenizer.json.xz: corrupt xz data"


def truncated_xz(b: Bundle) -> str:
    data = b.path("tokenizer.json.xz").read_bytes()
    b.replace("tokenizer.json.xz", data[: len(data) // 2], update_manifest=True)
    return "tokenizer.json.xz: corrupt xz data"


def wrong_xz_content(b: Bundle) -> str:
    b.replace("tokenizer.json.xz", lzma.compress(b'{"version": "1.0"}'), update_manifest=True)
    return "tokenizer.json.xz: decompressed sha256 mismatch"


def missing_file(b: Bundle) -> str:
    b.path("tokenizer_config.json").unlink()
    return "tokenizer_config.json: missing bundled file"


def manifest_not_json(b: Bundle) -> str:
    (b.root / "MANIFEST.json").write_text('{"families": ')
    return "MANIFEST.json: not valid JSON"


def manifest_missing(b: Bundle) -> str:
    (b.root / "MANIFEST.json").unlink()
    return "MANIFEST.json: the tokenizer manifest is missing"


def unloadable_tokenizer(b: Bundle) -> str:
    """Hash-consistent but not a tokenizer: only transformers' loader can find out."""
    raw = b'{"model": {"type": "NoSuchModel"}}'
    b.replace("tokenizer.json.xz", lzma.compress(raw), update_manifest=False)
    b.files["tokenizer.json.xz"].update(sha256=hashlib.sha256(b.path("tokenizer.json.xz").read_bytes()).hexdigest(),
                                        sha256_uncompressed=hashlib.sha256(raw).hexdigest(),
                                        bytes_uncompressed=len(raw))
    b.save_manifest()
    return "transformers could not load the tokenizer"


CORRUPTIONS = [corrupt_template, garbage_xz, truncated_xz, wrong_xz_content, missing_file, manifest_not_json,
               manifest_missing, unloadable_tokenizer]


@pytest.mark.parametrize("corrupt", CORRUPTIONS, ids=[c.__name__ for c in CORRUPTIONS])
def test_corrupt_bundle_is_one_line_and_asset_error(bundle, chat, capsys, corrupt):
    needle = corrupt(bundle)
    with pytest.raises(AssetError) as info:
        assets.load_bundled(FAMILY)
    assert needle in str(info.value)
    assert_cli_one_line(capsys, ["mask", "--family", FAMILY, "--messages", str(chat)], needle)


@pytest.fixture
def slow_tokenizer_dir(tmp_path):
    """A real Python ("slow") tokenizer saved to disk: ByT5 needs no vocabulary file and has no offsets."""
    from transformers import ByT5Tokenizer

    tok = ByT5Tokenizer()
    tok.chat_template = "{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}"
    directory = tmp_path / "byt5"
    tok.save_pretrained(directory)
    return directory


def test_tokenizer_without_offsets_is_refused_by_loader_and_reference(slow_tokenizer_dir, chat, capsys):
    with pytest.raises(AssetError, match="has no offset support"):
        assets.load_directory(slow_tokenizer_dir)
    assert_cli_one_line(capsys, ["mask", "--tokenizer", str(slow_tokenizer_dir), "--messages", str(chat)],
                        f"{slow_tokenizer_dir}: tokenizer has no offset support")
    from transformers import AutoTokenizer

    slow = AutoTokenizer.from_pretrained(str(slow_tokenizer_dir))
    with pytest.raises(LossmaskError, match="ByT5Tokenizer has no offset support"):
        segment(slow, slow.chat_template, CHAT)


def test_object_without_offsets_is_a_typed_error():
    class NoOffsets:
        """Renders like a tokenizer but cannot say where tokens start and end."""

        def apply_chat_template(self, *args, **kwargs):
            return "user: Hi.\nassistant: Hello.\n"

    with pytest.raises(LossmaskError, match="NoOffsets has no offset support"):
        segment(NoOffsets(), "{{ messages }}", CHAT)


def test_template_file_that_does_not_compile_names_the_file(tmp_path, chat, capsys):
    bad = tmp_path / "bad.jinja"
    bad.write_text("{% for m in messages %}\n{{ m.content }\n{% endfor %}")
    with pytest.raises(AssetError, match=r"bad.jinja: template does not compile \(TemplateSyntaxError: .*line 2\)"):
        assets.load(FAMILY, template_file=str(bad))
    assert_cli_one_line(capsys, ["mask", "--family", FAMILY, "--template", str(bad), "--messages", str(chat)],
                        f"{bad}: template does not compile")
    missing = tmp_path / "absent.jinja"
    assert_cli_one_line(capsys, ["mask", "--family", FAMILY, "--template", str(missing), "--messages", str(chat)],
                        f"{missing}: cannot read template")
