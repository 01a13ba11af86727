"""Nothing the reference does changes state outside its own renders.

The date pin used to be installed in the globals of transformers' compiled-template cache, which transformers
shares with every caller rendering the same template text: after one ``compute`` call a user's own Llama 3
render printed "15 Jan 2026" instead of today's date. Now the reference defines ``strftime_now`` inside its own
copy of the template text (lossmask.reference.render.pinned_template). The user's scenario runs in a fresh
interpreter so no other test's state can hide or fake the effect.
"""

from __future__ import annotations

import datetime
import json
import subprocess
import sys
from collections import Counter

import pytest

from lossmask.reference.render import PINNED_DATE
from lossmask.runner import Selection, run

USER_SCENARIO = r'''
import json, sys
from transformers import AutoTokenizer
from transformers.utils import chat_template_utils
from lossmask import assets
from lossmask.reference import compute, segment

messages = [{"role": "user", "content": "What day is it?"}, {"role": "assistant", "content": "Thursday."}]
out = {}
for family in ("llama3", "gpt_oss"):
    user = AutoTokenizer.from_pretrained(str(assets.materialize(family)), local_files_only=True)  # the user's own
    before = user.apply_chat_template(messages, tokenize=False)
    before_ids = list(user.apply_chat_template(messages, tokenize=True, return_dict=True)["input_ids"])
    bundled = assets.load_bundled(family)
    ours = compute(bundled.tokenizer, bundled.chat_template, messages)
    on_users = segment(user, user.chat_template, messages).mask("canonical")
    after = user.apply_chat_template(messages, tokenize=False)
    after_ids = list(user.apply_chat_template(messages, tokenize=True, return_dict=True)["input_ids"])
    compiled = chat_template_utils._compile_jinja_template(user.chat_template)
    out[family] = {"before": before, "after": after, "same_ids": before_ids == after_ids,
                   "ours": bundled.tokenizer.decode(ours.input_ids), "on_users": user.decode(on_users.input_ids),
                   "strftime_module": compiled.globals["strftime_now"].__module__}
print(json.dumps(out))
'''


def _dates(day: datetime.date) -> tuple[str, str]:
    return day.strftime("%d %b %Y"), day.strftime("%Y-%m-%d")  # Llama 3.x, gpt-oss


def test_a_users_llama3_and_gpt_oss_renders_are_unchanged_by_the_reference():
    done = subprocess.run([sys.executable, "-c", USER_SCENARIO], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.splitlines()[-1])
    today, pinned = datetime.date.today(), _dates(PINNED_DATE)
    for family, (llama_style, iso) in zip(("llama3", "gpt_oss"), (_dates(today), _dates(today))):
        seen = found[family]
        assert seen["after"] == seen["before"] and seen["same_ids"], family
        shown = llama_style if family == "llama3" else iso
        assert shown in seen["after"], f"{family}: the user's render does not show today's date"
        if today != PINNED_DATE:  # (on 2026-01-15 itself the two dates cannot be told apart)
            assert not any(p in seen["after"] for p in pinned), f"{family}: the user's render shows the pinned date"
        # the reference's own renders are pinned, on the bundled tokenizer and on the user's
        expected = pinned[0] if family == "llama3" else pinned[1]
        assert expected in seen["ours"] and expected in seen["on_users"], family
        assert seen["strftime_module"] == "transformers.utils.chat_template_utils"


def test_pinned_template_leaves_templates_without_dates_and_line_numbers_alone():
    from lossmask.reference.render import pinned_template

    assert pinned_template("{{ messages[0].content }}") == "{{ messages[0].content }}"
    pinned = pinned_template("\n{{ strftime_now('%d %b %Y') }}\n")
    assert pinned.count("\n") == 2 and pinned.endswith("{{ '' }}\n{{ strftime_now('%d %b %Y') }}\n")


@pytest.mark.parametrize("family", ["llama3", "gpt_oss"])
def test_a_generator_rendering_through_transformers_sees_the_goldens_date_in_the_worker(family):
    outcome = run("tests.generators.own_render:generate", Selection([family], ["single_turn"]))
    assert outcome.results and Counter(r.verdict for r in outcome.results) == {"pass": len(outcome.results)}, [
        (r.variant, r.case, r.message) for r in outcome.results if r.verdict != "pass"]


def test_the_template_structure_cache_goes_with_its_tokenizer():
    import copy
    import gc

    from lossmask import assets
    from lossmask.reference import compute
    from lossmask.reference.structure import _CACHE

    loaded = assets.load_bundled("qwen2_5")
    messages = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello."}]
    before = len(_CACHE)
    for _ in range(3):  # three short-lived tokenizers (copies share the backend)
        tok = copy.copy(loaded.tokenizer)
        compute(tok, loaded.chat_template, messages)
    del tok
    gc.collect()
    assert len(_CACHE) <= before  # none of the three copies is still held by the cache
    compute(loaded.tokenizer, loaded.chat_template, messages)
    assert len(_CACHE) >= 1
