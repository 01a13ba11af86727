"""Bundled tokenizers: hash checks, offline loading, variants, error messages."""

import json
import shutil

import pytest

from lossmask import assets
from lossmask.errors import AssetError

FAMILIES = ["qwen3_5", "qwen3", "qwen2_5", "llama3", "deepseek_v3", "deepseek_v4", "gpt_oss", "mistral_nemo",
            "gemma3", "gemma2", "olmo2", "mistral_tekken"]


def test_all_twelve_families_are_bundled_with_variants():
    fams = assets.families()
    assert sorted(fams) == sorted(FAMILIES)
    assert fams["qwen3_5"].rebuilt and not fams["qwen3"].rebuilt
    assert fams["mistral_tekken"].rebuilt  # converted from tekken.json, not a published tokenizer.json
    assert {"DeepHermes-3-Llama-3-8B-Preview", "Llama-3.1-Nemotron-Nano-8B-v1", "Llama-3.3-Nemotron-Super-49B-v1",
            "Llama-3.3-Nemotron-Super-49B-v1.5"} <= set(fams["llama3"].variants)
    assert set(fams["qwen3"].variants) == {
        "Qwen3-0.6B.llamacpp-older-rev", "Qwen3-4B-Instruct-2507", "Qwen3-4B-Thinking-2507", "Qwen3-Coder"}


@pytest.mark.parametrize("family", FAMILIES)
def test_every_family_loads_offline_and_renders(family, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    loaded = assets.load_bundled(family)
    text = loaded.tokenizer.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False,
                                                chat_template=loaded.chat_template)
    assert "hi" in text
    assert loaded.tokenizer.chat_template == loaded.chat_template


def test_variant_tokenizer_carries_the_variant_template():
    default = assets.load_bundled("qwen3")
    coder = assets.load_bundled("qwen3", "Qwen3-Coder")
    assert coder.tokenizer.chat_template != default.tokenizer.chat_template
    assert coder.tokenizer.chat_template == assets.bundled_template("qwen3", "Qwen3-Coder")


def test_hash_mismatch_names_the_file_and_manifest_path(tmp_path, monkeypatch):
    fixtures = tmp_path / "fixtures"
    shutil.copytree(assets.TOKENIZERS.parent / "tokenizers" / "qwen2_5", fixtures / "tokenizers" / "qwen2_5")
    manifest = json.loads((assets.TOKENIZERS / "MANIFEST.json").read_text())
    manifest["families"] = {"qwen2_5": manifest["families"]["qwen2_5"]}
    (fixtures / "tokenizers" / "MANIFEST.json").write_text(json.dumps(manifest))
    tampered = fixtures / "tokenizers" / "qwen2_5" / "chat_template.jinja"
    tampered.write_text(tampered.read_text() + " ")
    monkeypatch.setattr(assets, "TOKENIZERS", fixtures / "tokenizers")
    assets.manifest.cache_clear()
    try:
        with pytest.raises(AssetError, match=r"chat_template.jinja: sha256 mismatch .*families.qwen2_5.files"):
            assets.bundled_template("qwen2_5")
    finally:
        assets.manifest.cache_clear()


def test_corrupt_xz_is_reported(tmp_path, monkeypatch):
    fixtures = tmp_path / "tokenizers"
    shutil.copytree(assets.TOKENIZERS / "qwen2_5", fixtures / "qwen2_5")
    xz = fixtures / "qwen2_5" / "tokenizer.json.xz"
    xz.write_bytes(b"not xz at all")
    manifest = json.loads((assets.TOKENIZERS / "MANIFEST.json").read_text())
    entry = manifest["families"]["qwen2_5"]["files"]["tokenizer.json.xz"]
    import hashlib
    entry["sha256"] = hashlib.sha256(b"not xz at all").hexdigest()
    manifest["families"] = {"qwen2_5": manifest["families"]["qwen2_5"]}
    (fixtures / "MANIFEST.json").write_text(json.dumps(manifest))
    monkeypatch.setattr(assets, "TOKENIZERS", fixtures)
    monkeypatch.setenv("LOSSMASK_CACHE", str(tmp_path / "cache"))
    assets.manifest.cache_clear()
    try:
        with pytest.raises(AssetError, match="corrupt xz data"):
            assets.materialize("qwen2_5")
    finally:
        assets.manifest.cache_clear()


def test_unknown_family_and_variant_are_usage_errors():
    with pytest.raises(AssetError, match="unknown family 'nope'"):
        assets.family("nope")
    with pytest.raises(AssetError, match="has no variant 'v9'.*variants: default"):
        assets.bundled_template("qwen3", "v9")


def test_local_directory_with_template_override(tmp_path):
    directory = assets.materialize("qwen2_5")
    template = tmp_path / "t.jinja"
    template.write_text("{% for m in messages %}[{{ m.role }}]{{ m.content }}{% endfor %}")
    loaded = assets.load(str(directory), template_file=str(template))
    assert loaded.chat_template == template.read_text()
    assert loaded.source == str(directory)


def test_a_compressed_config_serves_its_embedded_template():
    """Gemma 3's 1.1 MB tokenizer_config.json is stored as .xz; its chat_template is the default template."""
    template = assets.bundled_template("gemma3")
    assert "<start_of_turn>" in template
    directory = assets.materialize("gemma3")
    assert json.loads((directory / "tokenizer_config.json").read_text())["chat_template"] == template
