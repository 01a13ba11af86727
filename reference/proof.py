"""Prove from a chat template's syntax tree that its marked render, markers deleted, *is* its real render.

Why: the reference renders every conversation twice, once for real and once with field markers
(:mod:`reference.markers`), and checks that deleting the markers gives the real text back; only then are the
marker positions exact field spans. That check is a second render per conversation. When it can be proved once
per template that the check cannot fail, the real render is redundant: the marked render alone gives the text
(markers deleted) and the spans. :func:`prove` is that proof; :func:`admits` checks the data assumptions it rests
on, per conversation, in one pass over the data.

How: an abstract interpretation of the template's Jinja AST (as transformers parses it) over the values of
:mod:`reference.proof_values`. Every expression is given the set of shapes its (real, marked) pair of values can
have, and every operation applied to marked text must be one that commutes with deleting markers:

* printing and concatenating (deleting markers is a homomorphism of concatenation), ``|string``, ``|safe``;
* truthiness: a field is marked only when it has non-whitespace text, so marked and real are empty together;
* type tests (``is string``, ``is mapping``...): marking never changes a type;
* ``|trim`` / ``strip()`` / ``lstrip('\\n')`` and other whitespace-only strips: markers sit inside the
  field's own leading/trailing whitespace, next to non-whitespace characters, so a strip stops at the same place;
* ``|tojson`` (transformers' ``ensure_ascii=False``): JSON escapes characters one by one and leaves the marker code
  points alone; slicing template characters off the ends of its output (``tojson[:-1]``);
* ``|length`` of containers, ``|items``, ``|selectattr`` on unmarked attributes, iteration over lists;
* substring tests, ``split``/``replace``/``find`` with a literal ``L`` on one field's value: *guarded*: when ``L``
  does not occur in the conversation's data, the operation finds nothing in either render. The guard literals are
  part of the proof and :func:`admits` checks them per conversation;
* ``message == other_message``: marked messages are all distinct, so real ones must be too (guarded the same way).

Anything else applied to marked text (``|length``, slicing, ``|upper``, ``==`` a non-literal, ``|trim('x')``,
iteration over characters, macros called recursively, ``{% include %}``...) makes the proof fail with the template
line and the construct, and the reference keeps rendering twice for that template. The proof is conservative: it
may refuse templates that would in fact render the same, never the reverse.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from . import markers
from .render import pinned_template
from .proof_values import Unprovable, messages_model
from .proof_walk import Prover

@dataclass(frozen=True)
class Proof:
    """The outcome of :func:`prove` for one template text."""

    #: True: the marked render alone is exact for every conversation :func:`admits` accepts.
    holds: bool
    #: Why not (``line N: ...``), empty when it holds.
    reason: str = ""
    #: Literals that must not occur in a conversation's data for the proof to apply to it.
    guards: frozenset[str] = frozenset()
    #: The proof assumes no two messages of a conversation are equal (the template compares messages).
    distinct_messages: bool = False
    #: The proof assumes tool-call arguments are objects (or lists), never JSON strings.
    objects_as_arguments: bool = False
    #: What the proof could not show under a wider assumption (why ``objects_as_arguments`` is needed).
    note: str = ""

    def describe(self) -> str:
        if not self.holds:
            return f"double render: {self.reason}"
        extra = [f"guards {sorted(self.guards)!r}"] if self.guards else []
        if self.distinct_messages:
            extra.append("messages compared: distinct messages required")
        if self.objects_as_arguments:
            extra.append("tool-call arguments as objects only")
        return "single render" + (f" ({'; '.join(extra)})" if extra else "")


@functools.lru_cache(maxsize=256)
def prove(chat_template: str) -> Proof:
    """Prove (or refuse to prove) that this template renders marked fields transparently. Cached per text."""
    if markers.MARKER_RE.search(chat_template):
        return Proof(False, "the template's own text holds reserved marker code points")
    try:
        from transformers.utils.chat_template_utils import _compile_jinja_template

        rendered = pinned_template(chat_template)  # what render() hands transformers (the date pinned in it)
        env = _compile_jinja_template(rendered).environment
        tree = env.parse(rendered)
    except Exception as exc:  # a template that does not compile: segment() reports it from the real render
        return Proof(False, f"template does not parse ({type(exc).__name__})")
    keeps = _tojson_keeps_markers(env)
    first = _attempt(tree, keeps, string_arguments=True)
    if first.holds:
        return first
    second = _attempt(tree, keeps, string_arguments=False)
    if second.holds:  # e.g. DeepSeek V4 parses string arguments with a filter transformers lacks
        return Proof(True, "", second.guards, second.distinct_messages, objects_as_arguments=True,
                     note=f"with JSON-string tool arguments: {first.reason}")
    return first


def _attempt(tree: Any, tojson_keeps_markers: bool, string_arguments: bool) -> Proof:
    prover = Prover(messages_model(string_arguments))
    prover.tojson_keeps_markers = tojson_keeps_markers
    try:
        prover.run(tree)
    except Unprovable as exc:
        return Proof(False, str(exc))
    except RecursionError:
        return Proof(False, "template too deeply nested for the proof")
    return Proof(True, "", frozenset(prover.guards), prover.distinct)


def _tojson_keeps_markers(env: Any) -> bool:
    """transformers installs its own ``tojson`` (``json.dumps(ensure_ascii=False)``): markers pass through it."""
    import inspect

    fn = env.filters.get("tojson")
    try:
        return inspect.signature(fn).parameters["ensure_ascii"].default is False
    except (TypeError, ValueError, KeyError):
        return False


def admits(proof: Proof, messages: Sequence[Mapping[str, Any]], tools: Sequence[Any] | None) -> bool:
    """Does this conversation meet the proof's data assumptions? (False: render twice, as without a proof.)

    The proof models content as a string (or absent/null) marked as one field, so content parts, reasoning inline
    in content (``</think>``: split into several fields by the marker) and reserved marker code points anywhere in
    the data send a conversation down the double render, as do the guard literals. Every string of the data
    (keys, tool schemas and unmarked strings too: over-approximated, never missed) is joined with NUL, which no
    guard literal or marker contains, and searched once.
    """
    if not proof.holds:
        return False
    for message in messages:
        if isinstance(message.get("content"), list):
            return False
        if proof.objects_as_arguments and _string_arguments(message):
            return False
    strings: list[str] = []
    try:
        _collect(messages, strings)
        _collect(tools, strings)
    except _Opaque:
        return False
    blob = "\x00".join(strings)
    if markers.may_hold_marker(blob) and markers.MARKER_RE.search(blob) or markers.THINK_CLOSE in blob:
        return False
    if any(g in blob for g in proof.guards):
        return False
    return not (proof.distinct_messages and _has_equal_messages(messages))


class _Opaque(Exception):
    """Data the walk does not know how to read (the double render handles it)."""


def _collect(value: Any, out: list[str]) -> None:
    """Every string in the data, keys included, in one list (searched once, joined: C-speed)."""
    t = type(value)
    if t is str:
        out.append(value)
    elif t is dict:
        for k, v in value.items():
            if type(k) is str:
                out.append(k)
            tv = type(v)
            if tv is str:
                out.append(v)
            elif tv is not int and tv is not bool and tv is not float and v is not None:
                _collect(v, out)
    elif t is list or t is tuple:
        for v in value:
            _collect(v, out)
    elif value is None or t in (int, float, bool):
        return
    elif isinstance(value, str):
        out.append(str.__str__(value))
    elif isinstance(value, Mapping):
        _collect(dict(value), out)
    elif isinstance(value, Sequence):
        _collect(list(value), out)
    else:
        raise _Opaque(type(value).__name__)


def _string_arguments(message: Mapping[str, Any]) -> bool:
    for call in message.get("tool_calls") or ():
        fn = call.get("function", call) if isinstance(call, Mapping) else None
        if isinstance(fn, Mapping) and isinstance(fn.get("arguments"), str):
            return True
    return False


def _has_equal_messages(messages: Sequence[Mapping[str, Any]]) -> bool:
    buckets: dict[tuple, list] = {}
    for m in messages:
        c = m.get("content")
        buckets.setdefault((m.get("role"), c if isinstance(c, str) else None), []).append(m)
    return any(a == b for group in buckets.values() if len(group) > 1
               for i, a in enumerate(group) for b in group[i + 1:])


