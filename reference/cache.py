"""Caches that live as long as the object they describe, and no longer.

A cache keyed by ``id(tokenizer)`` is wrong twice: an id is reused once its object is freed, so a new tokenizer
can be handed a dead one's entry, and nothing ever frees the entries, so a process that loads tokenizers over and
over keeps every result. Here the entries hang off the object through a weak reference and go with it. Each
object keeps at most ``per_object`` entries (least recently used out first), because the rest of a key can come
from data (a conversation's tools).
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

V = TypeVar("V")


class PerObjectCache(Generic[V]):
    """``get(obj, key, compute)``: ``compute()`` once per (object, key) while the object lives."""

    def __init__(self, per_object: int = 64) -> None:
        self.per_object = per_object
        self._entries: weakref.WeakKeyDictionary[Any, OrderedDict[Hashable, V]] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def get(self, obj: Any, key: Hashable, compute: Callable[[], V]) -> V:
        with self._lock:
            try:
                entries = self._entries.get(obj)
            except TypeError:  # an object that cannot be weakly referenced (or hashed): not cached
                entries = None
                cacheable = False
            else:
                cacheable = True
            if entries is not None and key in entries:
                entries.move_to_end(key)
                return entries[key]
        value = compute()  # outside the lock: a probe render can take a while
        if cacheable:
            with self._lock:
                entries = self._entries.setdefault(obj, OrderedDict())
                entries[key] = value
                while len(entries) > self.per_object:
                    entries.popitem(last=False)
        return value

    def __len__(self) -> int:
        """Live objects with entries (for tests)."""
        with self._lock:
            return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
