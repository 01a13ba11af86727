"""The slime adapter reads what a checkout offers from its syntax tree, and a checkout with the other API (PR
#1994's layout: no tokenizer_type) is driven through its own entry point or declined as a whole, never scored.

The two checkouts here are written by the test (tiny stand-ins with slime's two class shapes, computing masks
with our reference), so the test runs without slime and pins the adapter's reading, not slime's behaviour."""

from __future__ import annotations

import sys
import textwrap
from collections import Counter
from pathlib import Path

import pytest

from lossmask import assets
from lossmask.peers import slime_mask
from lossmask.runner import Selection, reports, run

MERGED = '''
    """Stand-in for the merged layout. The word qwen3_5 appears here and below only as text, never dispatched."""
    from lossmask.reference import compute

    UNRELATED = "qwen3_5 distill_qwen"

    class MultiTurnLossMaskGenerator:
        def __init__(self, tokenizer, tokenizer_type="qwen"):
            self.tokenizer, self.tokenizer_type = tokenizer, tokenizer_type

        def get_loss_mask(self, messages, tools=None):
            # qwen3_5 is not handled here
            if self.tokenizer_type == "qwen":
                r = compute(self.tokenizer, self.tokenizer.chat_template, messages, tools, {}, "canonical")
                return list(r.input_ids), list(r.loss_mask)
            elif self.tokenizer_type in ("qwen3",):
                r = compute(self.tokenizer, self.tokenizer.chat_template, messages, tools, {}, "slime-qwen3_5")
                return list(r.input_ids), list(r.loss_mask)
            raise ValueError(f"Unsupported tokenizer type: {self.tokenizer_type}")
'''
REDESIGN = '''
    from dataclasses import dataclass

    from lossmask.reference import compute

    @dataclass(frozen=True)
    class LossMaskResult:
        token_ids: list
        loss_mask: list

    class MultiTurnLossMaskGenerator:
        def __init__(self, tokenizer, chat_template_kwargs=None, chat_template_processor=None):
            self.tokenizer, self.kwargs = tokenizer, chat_template_kwargs or {}

        def get_loss_mask_result(self, messages, tools=None):
            r = compute(self.tokenizer, self.tokenizer.chat_template, messages, tools, self.kwargs, "no-eot")
            return LossMaskResult(list(r.input_ids), list(r.loss_mask))

        def get_loss_mask(self, messages, tools=None):
            result = self.get_loss_mask_result(messages, tools)
            return result.token_ids, result.loss_mask
'''


def _checkout(root: Path, source: str) -> Path:
    (root / "slime" / "utils").mkdir(parents=True)
    (root / "slime" / "__init__.py").write_text("raise ImportError('importing slime itself needs Megatron')\n")
    (root / "slime" / "utils" / "__init__.py").write_text("")
    (root / "slime" / "utils" / "mask_utils.py").write_text(textwrap.dedent(source))
    return root


@pytest.fixture
def on_path(monkeypatch):
    def use(root: Path) -> None:
        monkeypatch.syspath_prepend(str(root))
        monkeypatch.setenv("PYTHONPATH", str(root))  # for the runner's worker processes
        monkeypatch.delitem(sys.modules, "slime", raising=False)
        for fn in (slime_mask._locate, slime_mask._api, slime_mask._module):
            fn.cache_clear()
    yield use
    for fn in (slime_mask._locate, slime_mask._api, slime_mask._module):
        fn.cache_clear()


def test_types_are_read_from_the_dispatch_not_from_the_text(tmp_path):
    api = slime_mask.read_api(_checkout(tmp_path, MERGED) / "slime" / "utils" / "mask_utils.py")
    assert api.layout == slime_mask.TOKENIZER_TYPE
    assert api.tokenizer_types == ("qwen", "qwen3")  # "qwen3_5" and "distill_qwen" occur only as text
    assert slime_mask.specs(api) == ["slime_mask:generate_qwen", "slime_mask:generate_qwen3"]


def test_redesign_layout_is_recognised(tmp_path):
    api = slime_mask.read_api(_checkout(tmp_path, REDESIGN) / "slime" / "utils" / "mask_utils.py")
    assert api.layout == slime_mask.CHAT_TEMPLATE and api.tokenizer_types == ()
    assert api.init_params == ("tokenizer", "chat_template_kwargs", "chat_template_processor")
    assert slime_mask.specs(api) == ["slime_mask:generate_chat_template"]


def test_specs_command(tmp_path, capsys):
    assert slime_mask.main(["specs", str(_checkout(tmp_path / "a", REDESIGN))]) == 0
    assert capsys.readouterr().out.split() == ["slime_mask:generate_chat_template"]
    (tmp_path / "b" / "slime" / "utils").mkdir(parents=True)
    (tmp_path / "b" / "slime" / "utils" / "mask_utils.py").write_text("class Other:\n    pass\n")
    assert slime_mask.main(["specs", str(tmp_path / "b")]) == 1
    err = capsys.readouterr().err
    assert "unrecognised MultiTurnLossMaskGenerator API" in err and len(err.strip().splitlines()) == 1


def test_merged_checkout_declines_types_it_does_not_dispatch(tmp_path, on_path):
    on_path(_checkout(tmp_path, MERGED))
    tok = assets.load_bundled("qwen3_5").tokenizer
    chat = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]
    ids, mask = slime_mask.generate_qwen(tok, chat)
    assert len(ids) == len(mask) and any(mask)
    with pytest.raises(NotImplementedError, match=r"no tokenizer_type 'qwen3_5' \(tokenizer_type in \{qwen, qwen3\}\)"):
        slime_mask.generate_qwen3_5(tok, chat)
    with pytest.raises(NotImplementedError, match="does not apply"):
        slime_mask.generate_chat_template(tok, chat)


def test_redesign_checkout_is_driven_through_its_entry_point_and_never_scored_by_type(tmp_path, on_path):
    on_path(_checkout(tmp_path, REDESIGN))
    sel = Selection(families=["qwen3_5"], categories=["single_turn"])
    declined = run("lossmask.peers.slime_mask:generate_qwen3_5", sel)
    assert Counter(r.verdict for r in declined.results) == {"unsupported": len(declined.results)}
    assert reports.summary(declined)["passed"] == 0
    assert len({r.message for r in declined.results}) == 1  # one line for the whole checkout
    assert "PR #1994 layout" in declined.results[0].message
    driven = run("lossmask.peers.slime_mask:generate_chat_template", sel, profile="no-eot")
    assert Counter(r.verdict for r in driven.results) == {"pass": len(driven.results)}
    assert driven.generator["name"] == "slime-chat-template"
