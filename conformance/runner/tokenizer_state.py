"""A fresh tokenizer for every case: what one case does to its tokenizer never reaches the next.

Why not one shared object: generators are handed a real ``transformers`` tokenizer and some change it (set
``chat_template``, ``model_max_length``, ``padding_side``, enable backend truncation, add tokens). With one
shared object, every later case in the process would be judged on a tokenizer the golden was not made with.

How, cheaply: the worker keeps a *pristine* tokenizer that no generator code ever sees. Each case gets a new
wrapper object whose attributes are copies of the pristine one's (containers copied, ``AddedToken`` objects
rebuilt), so Python-side changes die with the case. The Rust backend (``_tokenizer``) is the expensive part and
is shared; after each case its observable state (truncation, padding, vocabulary size with added tokens, special
token splitting, the normalizer / pre-tokenizer / post-processor / decoder, the model's type and settings) is
compared with what it was at load. A changed backend is reported and the tokenizer is reloaded from disk, so
the next case starts from the real files again. Huge containers the wrapper keeps only for construction
(``_vocab``, ``_merges``: 150k+ entries) are shared, and checked by size.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

BACKEND_ATTR = "_tokenizer"
#: Containers longer than this are shared with the pristine tokenizer (and checked by length) instead of copied.
SHARE_OVER = 10_000
_ATOMS = (str, int, float, bool, type(None), bytes)
_MODEL_SETTINGS = ("dropout", "unk_token", "continuing_subword_prefix", "end_of_word_suffix", "fuse_unk",
                   "byte_fallback", "ignore_merges")
_COMPONENTS = ("normalizer", "pre_tokenizer", "post_processor", "decoder")


def _copy(value: Any, memo: dict[int, Any]) -> Any:
    kind = type(value)
    if kind in _ATOMS:
        return value
    if id(value) in memo:
        return memo[id(value)]
    if kind is dict:
        return {k: _copy(v, memo) for k, v in value.items()}
    if kind is list:
        return [_copy(v, memo) for v in value]
    if kind is tuple:
        return tuple(_copy(v, memo) for v in value)
    if kind.__name__ == "AddedToken" and kind.__module__.startswith("tokenizers"):
        return kind(value.content, single_word=value.single_word, lstrip=value.lstrip, rstrip=value.rstrip,
                    normalized=value.normalized, special=value.special)
    return copy.deepcopy(value, memo)


def backend_state(tokenizer: Any) -> dict[str, Any]:
    """What a generator can change on the shared Rust backend, as comparable plain data."""
    backend = getattr(tokenizer, BACKEND_ATTR, None)
    if backend is None:
        return {}
    state: dict[str, Any] = {"truncation": backend.truncation, "padding": backend.padding,
                             "vocab_with_added": backend.get_vocab_size(with_added_tokens=True),
                             "encode_special_tokens": getattr(backend, "encode_special_tokens", None)}
    for name in _COMPONENTS:
        component = getattr(backend, name, None)
        state[name] = component.__getstate__() if component is not None else None
    model = backend.model
    state["model"] = (type(model).__name__, tuple(getattr(model, a, None) for a in _MODEL_SETTINGS))
    return state


class PristineTokenizer:
    """Hands out per-case copies of a tokenizer and notices when a case changed the shared backend."""

    def __init__(self, tokenizer: Any, reload: Callable[[], Any]) -> None:
        self.reload = reload
        self._set(tokenizer)

    def _set(self, tokenizer: Any) -> None:
        self.pristine = tokenizer
        self.state = backend_state(tokenizer)
        self.shared = {k: len(v) for k, v in vars(tokenizer).items()
                       if isinstance(v, (dict, list, set)) and len(v) > SHARE_OVER}

    def fresh(self) -> Any:
        """A tokenizer for one case: its own Python attributes, the shared backend."""
        src = self.pristine
        memo: dict[int, Any] = {}
        backend = getattr(src, BACKEND_ATTR, None)
        if backend is not None:
            memo[id(backend)] = backend
        attrs = vars(src)
        for key in self.shared:
            memo[id(attrs[key])] = attrs[key]
        new = object.__new__(type(src))
        vars(new).update(_copy(dict(attrs), memo))
        return new

    def changes(self) -> list[str]:
        """What differs from the loaded state (backend settings, shared containers); empty when nothing."""
        now = backend_state(self.pristine)
        out = [k for k in self.state if now.get(k) != self.state[k]]
        attrs = vars(self.pristine)
        out += [k for k, n in self.shared.items() if len(attrs.get(k, ())) != n]
        return out

    def restore_if_changed(self) -> list[str]:
        """Reload from disk when a case changed the shared state; returns what had changed."""
        changed = self.changes()
        if changed:
            self._set(self.reload())
        return changed
