"""The batched path (reference/batch.py): every row equals the one-conversation path, errors stay per row."""

from __future__ import annotations

import dataclasses
import pickle

import pytest

from lossmask import assets
from lossmask.cases import load_cases
from lossmask.reference import (LabelsMap, LossmaskError, TemplateRefusal, compute, labels, labels_batch, segment,
                                segment_batch, segment_stream)
from lossmask.reference import batch as batch_module
from lossmask.reference.batch import labels_from_mask

FAMILIES = list(assets.families())


def cases_for(family: str) -> list:
    return [c for c in load_cases() if not c.families or family in c.families]


@pytest.mark.parametrize("family", FAMILIES)
def test_segment_batch_rows_equal_segment(family):
    loaded = assets.load_bundled(family)
    cases = [c for c in cases_for(family) if not c.template_kwargs]
    batch = segment_batch(loaded.tokenizer, loaded.chat_template, [c.messages for c in cases],
                          [c.tools for c in cases])
    assert len(batch) == len(cases)
    for case, got in zip(cases, batch):
        try:
            want = segment(loaded.tokenizer, loaded.chat_template, case.messages, case.tools)
        except LossmaskError as exc:
            assert isinstance(got, type(exc)) and str(got) == str(exc), case.id
            continue
        assert dataclasses.asdict(got) == dataclasses.asdict(want), case.id


@pytest.mark.parametrize("family", ["qwen3_5", "gpt_oss"])
def test_segment_stream_yields_segment_batch_rows_in_order(family):
    loaded = assets.load_bundled(family)
    cases = [c for c in cases_for(family) if not c.template_kwargs]
    conversations, tools = [c.messages for c in cases], [c.tools for c in cases]
    whole = segment_batch(loaded.tokenizer, loaded.chat_template, conversations, tools)
    streamed = list(segment_stream(loaded.tokenizer, loaded.chat_template, conversations, tools, chunk=5))
    assert len(cases) > 3 * 5 and len(streamed) == len(whole)
    assert any(isinstance(r, LossmaskError) for r in whole)  # error rows among them, across chunk boundaries
    for case, a, b in zip(cases, whole, streamed):
        if isinstance(a, LossmaskError):
            assert type(b) is type(a) and str(b) == str(a), case.id
        else:
            assert dataclasses.asdict(b) == dataclasses.asdict(a), case.id


@pytest.mark.parametrize("family", FAMILIES)
def test_labels_batch_is_compute_with_ignore_index(family, monkeypatch):
    loaded = assets.load_bundled(family)
    cases = [c for c in cases_for(family) if not c.template_kwargs]
    monkeypatch.setattr(batch_module, "CHUNK", 7)  # rows (error rows among them) cross several chunk boundaries
    assert len(cases) > 3 * batch_module.CHUNK
    cols = labels_batch(loaded.tokenizer, [c.messages for c in cases], [c.tools for c in cases],
                        profile="slime-qwen3_5", on_error="record")
    assert len(cols["input_ids"]) == len(cols["labels"]) == len(cols["lossmask_error"]) == len(cases)
    for row, case in enumerate(cases):
        try:
            result = compute(loaded.tokenizer, loaded.chat_template, case.messages, case.tools,
                             profile="slime-qwen3_5")
        except LossmaskError as exc:
            assert cols["lossmask_error"][row] == f"conversation {row}: {' '.join(str(exc).split())}"
            assert cols["input_ids"][row] == cols["labels"][row] == []
            continue
        assert cols["lossmask_error"][row] is None
        assert cols["input_ids"][row] == result.input_ids
        assert cols["labels"][row] == [t if m else -100 for t, m in zip(result.input_ids, result.loss_mask)]


def test_labels_of_one_conversation_is_the_batch_row():
    loaded = assets.load_bundled("qwen3_5")
    case = next(c for c in load_cases() if c.id == "multi_turn_reasoning_dropped" or c.category == "multi_turn")
    one = labels(loaded.tokenizer, case.messages, case.tools, case.template_kwargs)
    cols = labels_batch(loaded.tokenizer, [case.messages], [case.tools], case.template_kwargs)
    assert one == {"input_ids": cols["input_ids"][0], "labels": cols["labels"][0]}
    assert any(x != -100 for x in one["labels"]) and any(x == -100 for x in one["labels"])


def test_first_error_is_raised_with_its_row_by_default():
    loaded = assets.load_bundled("qwen3_5")
    good = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]
    refused = [{"role": "assistant", "content": "no user"}]  # Qwen3.5: "No user query found in messages."
    with pytest.raises(TemplateRefusal, match=r"^conversation 1: template refused"):
        labels_batch(loaded.tokenizer, [good, refused, good])
    with pytest.raises(LossmaskError, match="on_error"):
        labels_batch(loaded.tokenizer, [good], on_error="skip")
    with pytest.raises(LossmaskError, match="one entry per conversation"):
        labels_batch(loaded.tokenizer, [good, good], tools=[None])


def test_segment_batch_keeps_unexpected_errors_per_row_when_asked():
    loaded = assets.load_bundled("qwen2_5")
    good = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]

    class Exploding(dict):
        def get(self, *args):  # the reference's own code raises on this message: a bug, not a refusal
            raise RuntimeError("boom")

    out = segment_batch(loaded.tokenizer, loaded.chat_template, [good, [Exploding(role="user")], good],
                        validate=False, errors=(Exception,))
    assert isinstance(out[1], RuntimeError) and out[0].input_ids == out[2].input_ids


@pytest.mark.parametrize("mask", [[], [0, 0, 0], [1, 1, 1], [1, 0, 1, 1, 0], [0, 1, 1, 0, 0, 1]])
def test_labels_from_mask(mask):
    ids = list(range(100, 100 + len(mask)))
    assert labels_from_mask(ids, mask) == [t if m else -100 for t, m in zip(ids, mask)]
    assert labels_from_mask(ids, mask, -1) == [t if m else -1 for t, m in zip(ids, mask)]


def test_labels_map_reads_columns_decodes_json_and_pickles():
    import json

    loaded = assets.load_bundled("llama3")
    cases = [c for c in cases_for("llama3") if not c.template_kwargs][:6]
    batch = {"messages": [json.dumps(c.messages) for c in cases], "tools": [c.tools for c in cases]}
    fn = pickle.loads(pickle.dumps(LabelsMap(loaded.tokenizer, on_error="record")))
    out = fn(batch)
    want = labels_batch(loaded.tokenizer, [c.messages for c in cases], [c.tools for c in cases], on_error="record")
    assert set(out) == set(want) and out["lossmask_error"] == want["lossmask_error"]
    for column in ("input_ids", "labels"):  # one int64 array per row, the values labels_batch gives
        assert [a.dtype.name for a in out[column]] == ["int64"] * len(cases)
        assert [a.tolist() for a in out[column]] == want[column]
    lists = pickle.loads(pickle.dumps(LabelsMap(loaded.tokenizer, on_error="record", arrays=False)))(batch)
    assert lists == want


def test_labels_map_arrays_make_the_same_dataset_as_lists():
    datasets = pytest.importorskip("datasets")
    loaded = assets.load_bundled("llama3")
    cases = [c for c in cases_for("llama3") if not c.template_kwargs][:5]
    data = datasets.Dataset.from_dict({"messages": [c.messages for c in cases]})
    made = {arrays: data.map(LabelsMap(loaded.tokenizer, arrays=arrays), batched=True, batch_size=2,
                             remove_columns=["messages"], keep_in_memory=True, new_fingerprint=f"a{arrays}")
            for arrays in (True, False)}
    assert made[True]["labels"] == made[False]["labels"] == labels_batch(loaded.tokenizer, [c.messages for c in cases])["labels"]
    assert made[True]["input_ids"] == made[False]["input_ids"]
    assert made[True].features == made[False].features


def test_labels_map_prepares_its_template_before_any_worker_forks():
    from transformers.utils.chat_template_utils import _compile_jinja_template

    from lossmask.reference import render_limits
    from lossmask.reference.render import pinned_template

    loaded = assets.load_bundled("qwen2_5")
    template = loaded.chat_template + "{#- prepared at construction -#}"
    assert pinned_template(template) not in render_limits._PREPARED
    fn = LabelsMap(loaded.tokenizer, chat_template=template)
    bounded = render_limits._PREPARED[pinned_template(template)]  # scanned and compiled in this process
    assert getattr(_compile_jinja_template(bounded), "lossmask_bounded", False)
    chat = [{"role": "user", "content": "Hi."}, {"role": "assistant", "content": "Hello."}]
    out = fn({"messages": [chat]})
    assert [a.tolist() for a in out["input_ids"]] == [labels(loaded.tokenizer, chat, chat_template=template)["input_ids"]]


def test_labels_map_with_a_broken_template_is_built_and_its_rows_report_the_error():
    loaded = assets.load_bundled("qwen2_5")
    fn = LabelsMap(loaded.tokenizer, chat_template="{% for m in messages %}{{ m.content }", on_error="record")
    chat = [{"role": "user", "content": "Hi."}, {"role": "assistant", "content": "Hello."}]
    out = fn({"messages": [chat, chat]})
    assert [a.tolist() for a in out["input_ids"]] == [[], []]
    assert all(e.startswith("conversation ") and "template" in e for e in out["lossmask_error"]), out["lossmask_error"]
