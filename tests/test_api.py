"""The README's Python API section runs as written (with a bundled tokenizer instead of a hub download) and
does what its comments say; ``lossmask.__version__`` is the package metadata's; both packages ship py.typed."""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

from lossmask import assets
from lossmask.reference import PROFILES
from lossmask.reference.render import pinned_template

ROOT = Path(__file__).resolve().parent.parent


def _readme_api_block() -> str:
    section = (ROOT / "README.md").read_text().split("## Python API", 1)[1]
    return re.search(r"```python\n(.*?)```", section, flags=re.S).group(1)


def test_the_readme_api_example_runs_and_its_comments_hold():
    code = _readme_api_block()
    hub = 'tokenizer = AutoTokenizer.from_pretrained("Qwen/Qwen3-8B")'
    assert hub in code
    code = code.replace(hub, 'tokenizer = __import__("lossmask.assets").assets.load_bundled("qwen3").tokenizer')
    scope: dict = {}
    exec(compile(code, "README.md (Python API)", "exec"), scope)
    tok, result, seg = scope["tokenizer"], scope["result"], scope["seg"]
    expected = tok.apply_chat_template(scope["messages"], tokenize=True, return_dict=True, enable_thinking=True,
                                       chat_template=pinned_template(tok.chat_template))["input_ids"]
    assert result.input_ids == list(expected)
    assert set(scope["masks"]) == set(PROFILES) and scope["masks"]["canonical"] == result.loss_mask
    assert len(seg.token_parts()) == len(result.input_ids) and "end_of_turn" in seg.token_parts()
    assert scope["lossmask"].__version__ == metadata.version("lossmask-conformance")


def test_both_packages_are_typed():
    import lossmask
    import lossmask.reference

    for package in (lossmask, lossmask.reference):
        assert (Path(package.__file__).parent / "py.typed").is_file()
    assert assets.load_bundled("qwen3").chat_template
