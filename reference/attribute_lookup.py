"""The sandbox's attribute lookups, answered the same way with less work, for our own compiled templates.

Why: a chat template reads ``message.content``, ``message.role``, ``tool_call.function`` and calls
``content.strip()``, ``content.split(...)`` dozens of times per conversation, and every one of those goes through
Jinja's sandboxed ``getattr``. For a dict key that costs a Python ``AttributeError`` (``getattr`` is tried before
the item); for a ``str`` method it costs ``is_safe_attribute``, which for ``ImmutableSandboxedEnvironment`` runs
a dozen ``isinstance`` checks against ``collections.abc`` types. On the dataset bench's training template a
conversation makes about 220 lookups, 70 of them through ``is_safe_attribute``; with both shortcuts a batch of
256 conversations through ``LabelsMap`` went from 0.85x to 0.97x the bare render-and-tokenize pipeline's speed
(medians of 12, same process, 2026-12-03).

What changes, and why the answers cannot: two shortcuts, each taken only where Jinja's own answer follows from
the object's exact type and the attribute's name.

1. ``getattr`` on an exact ``dict`` for a name ``dict`` has no attribute of: Python's ``getattr`` on such an
   object looks only at the type (a plain ``dict`` has no instance ``__dict__`` or ``__getattr__``), so it
   raises and Jinja falls back to the item, or to ``undefined``. We go to the item directly.
2. ``is_safe_attribute`` on an object of an exact type from a short list (``str``, ``dict``, ``list``,
   ``tuple``, numbers, ``None``, Jinja's ``loop`` and ``namespace`` objects; ``loop.index0`` and ``ns.flag``
   are most of the lookups): Jinja's own implementations decide from ``isinstance`` tests on the object and the
   attribute's name alone, never from the value, so the verdict is remembered per ``(type, name)``. Those types
   are neither functions, methods, classes, code, frames nor generators, and none overrides ``__class__``.
   Only installed when the environment's method is one of Jinja's own (a subclass that overrides it is left
   alone). One thing it does not see: an abstract base class registration (``MutableSequence.register(str)``)
   made after the first lookup of that type and name.

Everything else (other types, subclasses of dict, names dict does have, format methods, unsafe attributes)
goes through the environment's own methods unchanged.
"""

from __future__ import annotations

from typing import Any

#: Builtin types whose sandbox verdicts depend only on the type (Jinja's runtime types are added in install).
_VALUE_TYPES = frozenset({str, dict, list, tuple, int, float, bool, type(None)})
#: Every name ``getattr`` finds on a plain ``dict`` (its own methods and ``object``'s).
_DICT_NAMES = frozenset(dir(dict))


def install(env: Any) -> None:
    """Give ``env`` (an overlay only our renders use) the shortcut ``getattr`` and, where sound, the remembered
    ``is_safe_attribute``."""
    from jinja2.runtime import LoopContext
    from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedEnvironment
    from jinja2.utils import Namespace

    sandboxed_getattr = type(env).getattr.__get__(env)
    undefined = env.undefined

    def getattr_(obj: Any, attribute: str) -> Any:
        if type(obj) is dict and attribute not in _DICT_NAMES:
            try:
                return obj[attribute]
            except KeyError:
                return undefined(obj=obj, name=attribute)
        return sandboxed_getattr(obj, attribute)

    env.getattr = getattr_
    own = type(env).is_safe_attribute
    if own not in (SandboxedEnvironment.is_safe_attribute, ImmutableSandboxedEnvironment.is_safe_attribute):
        return
    decide = own.__get__(env)
    namespace = env.globals.get("namespace")
    known = _VALUE_TYPES | {LoopContext, Namespace} | (
        {namespace} if isinstance(namespace, type) and issubclass(namespace, Namespace) else set())
    verdicts: dict[tuple[type, str], bool] = {}

    def is_safe_attribute(obj: Any, attr: str, value: Any) -> bool:
        kind = type(obj)
        if kind not in known:
            return decide(obj, attr, value)
        key = (kind, attr)
        verdict = verdicts.get(key)
        if verdict is None:
            verdict = verdicts[key] = decide(obj, attr, value)
        return verdict

    env.is_safe_attribute = is_safe_attribute
