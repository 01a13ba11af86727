"""Token bounds from token lengths (reference/token_bounds.py) against the tokenizers backend's own offsets.

The expected offsets here always come from ``encode_batch`` (the tokenizer's own offset tracking), never from the
lengths path under test; every bundled family's renders of every fixture case, texts the path must refuse
(non-ASCII through byte-level BPE, through NFC), pipelines it must not take, and a lengths table made wrong on
purpose, which the first-text check has to catch.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tokenizers import AddedToken, Tokenizer, models, normalizers, pre_tokenizers, processors

from lossmask import assets
from lossmask.cases import load_cases
from lossmask.reference.errors import LossmaskError
from lossmask.reference.render import render
from lossmask.reference import token_bounds as TB

FAMILIES = sorted(assets.families())


def backend_truth(tokenizer, texts):
    return [(e.ids, e.offsets) for e in tokenizer._tokenizer.encode_batch(texts, add_special_tokens=False)]


def bounds(tokenizer, texts):
    return TB.encode_bounds(tokenizer, tokenizer._tokenizer, texts)


@pytest.mark.parametrize("family", FAMILIES)
def test_every_fixture_render_gets_the_backends_ids_and_offsets(family):
    loaded = assets.load_bundled(family)
    texts = []
    for case in load_cases():
        if not case.applies_to(family):
            continue
        try:
            texts.append(render(loaded.tokenizer, loaded.chat_template, case.messages, case.tools,
                                case.template_kwargs))
        except LossmaskError:  # a refused case has no text to tokenize
            continue
    assert len(texts) >= 20
    got = bounds(loaded.tokenizer, texts)
    truth = backend_truth(loaded.tokenizer, texts)
    for text, (ids, b), (want_ids, want_offsets) in zip(texts, got, truth, strict=True):
        assert ids == want_ids, text[:80]
        assert b.offsets == want_offsets, text[:80]
    # Every bundled tokenizer's pipeline qualifies (read off each tokenizer.json by hand: byte-level BPE, or
    # Gemma's one-for-one space replacement), so the path is taken, not skipped.
    assert TB.why_offsets(loaded.tokenizer) is None
    assert sum(b.from_lengths for _, b in got) > len(got) // 2


@pytest.mark.parametrize(("family", "text", "path"), [
    ("llama3", "plain ascii <|eot_id|> text", True),
    ("llama3", "naïve café 日本語 ✓ <|eot_id|>", False),  # bytes outnumber characters: the sum fails
    ("qwen3_5", "Ångström and Kelvin \u212a", False),  # NFC: ASCII texts only
    ("qwen3_5", "ascii only <|im_end|>", True),
    ("deepseek_v3", "<｜User｜>hi<｜Assistant｜>ok", True),  # non-ASCII added tokens: their content's length
    ("gemma2", "tab\there <start_of_turn>model\nok", True),
    ("gemma2", "ü and 日本 and \x01", True),  # characters in the vocabulary, byte fallback longer than it covers
    ("olmo2", "café", False),  # its inverted removing split: ASCII only
])
def test_which_texts_take_the_lengths_path(family, text, path):
    tok = assets.load_bundled(family).tokenizer
    (ids, b), = bounds(tok, [text])
    (want_ids, want_offsets), = backend_truth(tok, [text])
    assert ids == want_ids and b.offsets == want_offsets
    assert b.from_lengths is path


def _bpe(normalizer=None, pre=None, post=None, added=()):
    vocab = {c: i for i, c in enumerate(" abcdefghijklmnopqrstuvwxyz<>/")}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token=None))
    if normalizer is not None:
        tok.normalizer = normalizer
    if pre is not None:
        tok.pre_tokenizer = pre
    if post is not None:
        tok.post_processor = post
    if added:
        tok.add_special_tokens(list(added))
    return tok


class _Wrapper:
    """What transformers' fast tokenizers look like to the reference: the backend as ``_tokenizer``."""

    def __init__(self, backend):
        self._tokenizer = backend


@pytest.mark.parametrize(("make", "why"), [
    (lambda: _bpe(normalizers.Lowercase()), "normalizer Lowercase may move characters"),
    (lambda: _bpe(normalizers.Strip()), "normalizer Strip may move characters"),
    (lambda: _bpe(normalizers.Replace("ab", "b")), "normalizer Replace is not one character for one"),
    (lambda: _bpe(pre=pre_tokenizers.ByteLevel(add_prefix_space=True)), "adds a prefix space"),
    (lambda: _bpe(pre=pre_tokenizers.Whitespace()), "pre-tokenizer Whitespace may drop or add characters"),
    (lambda: _bpe(pre=pre_tokenizers.Split(" ", "removed")), "a pre-tokenizer removes characters"),
    (lambda: _bpe(post=processors.ByteLevel(trim_offsets=True)), "post-processor ByteLevel trims offsets"),
    (lambda: _bpe(added=[AddedToken("<x>", lstrip=True, special=True)]), "strips whitespace"),
    (lambda: Tokenizer(models.WordLevel({"a": 0, "[UNK]": 1}, unk_token="[UNK]")), "model WordLevel is not BPE"),
])
def test_pipelines_that_keep_the_tokenizers_offsets(make, why):
    backend = make()
    tok = _Wrapper(backend)
    assert why in (TB.why_offsets(tok) or "")
    texts = ["ab cd  ef", " leading and trailing ", "a<x> b"]
    got = TB.encode_bounds(tok, backend, texts)
    for (ids, b), e in zip(got, backend.encode_batch(texts, add_special_tokens=False)):
        assert not b.from_lengths
        assert ids == e.ids and b.offsets == e.offsets


def test_padding_on_the_backend_keeps_the_tokenizers_offsets():
    backend = _bpe()
    backend.enable_padding(length=12)
    (ids, b), = TB.encode_bounds(_Wrapper(backend), backend, ["abc"])
    assert not b.from_lengths and len(ids) == 12 and b.offsets[-1] == (0, 0)


def test_a_wrong_lengths_table_is_caught_on_the_first_text_and_never_used_again():
    backend = _bpe()
    tok = _Wrapper(backend)
    assert TB.why_offsets(tok) is None
    plan = TB._plan(tok, backend)
    a, b = backend.token_to_id("a"), backend.token_to_id("b")
    plan.lengths[a], plan.lengths[b] = 2, 0  # same sum for "ab", wrong offsets
    (ids, bounds_), = TB.encode_bounds(tok, backend, ["ab"])
    assert bounds_.offsets == [(0, 1), (1, 2)] and not bounds_.from_lengths
    assert TB.why_offsets(tok) == "token lengths disagreed with the tokenizer's offsets"
    (_, again), = TB.encode_bounds(tok, backend, ["ab ab"])
    assert not again.from_lengths


@st.composite
def encodings(draw):
    lengths = draw(st.lists(st.integers(1, 4), min_size=1, max_size=30))
    starts = [0]
    for n in lengths:
        starts.append(starts[-1] + n)
    cuts = sorted(set(draw(st.lists(st.integers(0, starts[-1]), max_size=12))))
    intervals = [(a, b) for a, b in zip(cuts[0::2], cuts[1::2]) if b > a]
    merged = []
    for a, b in intervals:  # what supervised_intervals hands over: sorted, adjacent ones merged
        if merged and merged[-1][1] == a:
            merged[-1] = (merged[-1][0], b)
        else:
            merged.append((a, b))
    return starts, merged


@settings(max_examples=300, deadline=None)
@given(encodings(), st.sampled_from(["any", "all"]))
def test_mask_from_lengths_equals_mask_from_offsets(enc, straddle):
    starts, intervals = enc
    offsets = list(zip(starts, starts[1:]))
    from_lengths = TB.TokenBounds(starts=starts).mask(intervals, straddle)
    from_offsets = TB.TokenBounds(offsets).mask(intervals, straddle)
    assert from_lengths == from_offsets
    # and by definition: a token is supervised when its characters overlap an interval (straddling ones
    # left out under "all"), reported as straddling when only partly inside.
    mask, straddles = from_offsets
    for t, (s, e) in enumerate(offsets):
        inside = [max(0, min(e, b) - max(s, a)) for a, b in intervals]
        covered = sum(inside)
        partial = 0 < covered < e - s
        assert (t in straddles) == partial
        assert mask[t] == int(covered > 0 and not (partial and straddle == "all"))


def test_bounds_compare_by_offsets_whichever_source():
    assert TB.TokenBounds(starts=[0, 2, 5]) == TB.TokenBounds([(0, 2), (2, 5)])
    assert TB.TokenBounds(starts=[0, 2, 5]) != TB.TokenBounds([(0, 2), (2, 4)])
    assert json.dumps(TB.TokenBounds(starts=[0, 1]).offsets) == "[[0, 1]]"
