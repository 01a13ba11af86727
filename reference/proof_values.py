"""The abstract values of :mod:`reference.proof`: what a template expression can be, real render against marked.

Every expression a template evaluates has two concrete values, one in the real render and one in the marked render
(the same conversation with field markers, :mod:`reference.markers`). An abstract value is a set of *atoms*, each a
claim about that pair:

* ``PLAIN``: the two values are identical (template literals, roles, ids, tools, numbers, anything not marked);
* ``BLANK``: identical, and a whitespace-only string (kept apart so a field padded with whitespace stays a field);
* ``UNDEF``: identical, and Jinja's ``Undefined`` (a missing list item or attribute: equal to nothing marked);
* ``FIELD``: one marked field's value, possibly whitespace-stripped or cut by a literal that does not occur in it:
  real ``v``, marked ``lead + OPEN + core + CLOSE + trail`` (``lead``/``trail`` whitespace, ``core`` non-empty, with
  no whitespace at its edges and no marker), or both the same whitespace-only string; and ``v`` is a substring of
  the field's raw text;
* ``text(lead, trail)``: a well-marked string: the real value with complete ``OPEN core CLOSE`` units inserted, so
  deleting every marker gives the real value back; its first ``lead`` and last ``trail`` characters are template
  characters (``tojson`` of an object starts with ``{``), identical in both;
* ``LEN``: the length of marked text: a different number on each side, zero exactly when the other is (so only
  its truthiness and comparisons that depend on zero-ness alone are allowed: ``|length > 0``);
* containers of the message data (``map``/``list``/``tuple``, ``ARGMAP``/``ARGLIST`` for tool-call arguments):
  identical shape and keys, abstract values inside;
* template objects: namespaces, macros, loop objects, globals, bound methods.

A value is a ``frozenset`` of atoms (a union); the empty set is an expression that raised in both renders.
"""

from __future__ import annotations

from typing import Any

from .conversation import REASONING_KEYS

Atom = tuple
Value = frozenset

PLAIN: Atom = ("plain",)
BLANK: Atom = ("blank",)
UNDEF: Atom = ("undef",)
FIELD: Atom = ("field",)
LEN: Atom = ("len",)
ARGMAP: Atom = ("argmap",)
ARGLIST: Atom = ("arglist",)
#: Depth past which a container type is not followed (a template building ever deeper lists).
MAX_DEPTH = 8
#: Guaranteed template characters at a text's edges are counted up to this (enough for ``tojson(...)[:-1]``).
MAX_EDGE = 4


class Unprovable(Exception):
    """The template does something the proof cannot show to be the same on marked and real values."""


def V(*atoms: Atom) -> Value:
    return normal(frozenset(atoms))


BOTTOM: Value = frozenset()
P: Value = frozenset({PLAIN})
U: Value = frozenset({UNDEF})
B: Value = frozenset({BLANK})


def text(lead: int = 0, trail: int = 0) -> Atom:
    return ("text", min(lead, MAX_EDGE), min(trail, MAX_EDGE))


def lst(elem: Value) -> Atom:
    return ("list", elem)


def mapping(kind: str, fields: dict[str, Value], default: Value = P) -> Atom:
    """A mapping atom; ``kind`` says where it comes from (``message`` maps may be compared, see the prover)."""
    return ("map", kind, tuple(sorted(fields.items())), default)


def tup(items: tuple[Value, ...]) -> Atom:
    return ("tuple", items)


STRINGS = frozenset({"blank", "field", "text"})  # atom heads of strings (PLAIN may be a string too)
UNMARKED = frozenset({"plain", "blank", "undef"})

ARGVAL: Value = frozenset({FIELD, PLAIN, ARGMAP, ARGLIST})
_MARKED_TEXT: Value = frozenset({FIELD, PLAIN})


def messages_model(string_arguments: bool = True) -> Value:
    """``messages`` as the marked render sees it (scope ``all``; content a string or absent, see ``admits``).

    Mirrors :func:`reference.markers.mark`: every message's content, an assistant's reasoning keys, tool-call
    names and every string inside tool-call arguments are marked; nothing else is. With ``string_arguments``
    false, tool-call arguments are objects or lists, never JSON strings (a data assumption checked per
    conversation, for templates that parse string arguments).
    """
    arguments = ARGVAL if string_arguments else frozenset({PLAIN, ARGMAP, ARGLIST})
    function = mapping("function", {"name": _MARKED_TEXT, "arguments": arguments})
    call = mapping("call", {"function": frozenset({function, PLAIN}), "name": _MARKED_TEXT, "arguments": arguments})
    message = mapping("message", {"content": _MARKED_TEXT, **{k: _MARKED_TEXT for k in REASONING_KEYS},
                                  "tool_calls": frozenset({lst(frozenset({call})), PLAIN})})
    return frozenset({lst(frozenset({message}))})


MESSAGES: Value = messages_model()


def head(atom: Atom) -> str:
    return atom[0]


def depth(value: Value) -> int:
    best = 0
    for a in value:
        if a[0] == "list":
            best = max(best, 1 + depth(a[1]))
        elif a[0] == "map":
            best = max(best, 1 + max([depth(v) for _, v in a[2]] + [depth(a[3])]))
        elif a[0] == "tuple":
            best = max(best, 1 + max([depth(v) for v in a[1]], default=0))
    return best


def normal(value: frozenset) -> Value:
    """Merge atoms of one shape (lists into one list, texts into the weakest text...) so unions stay small."""
    if sum(1 for a in value if a[0] in ("list", "map", "tuple", "text", "loop")) <= 1:
        return value
    out: set[Atom] = set()
    lists, texts, loops = [], [], []
    maps: dict[str, list[Atom]] = {}
    tuples: dict[int, list[Atom]] = {}
    for a in value:
        h = a[0]
        if h == "list":
            lists.append(a[1])
        elif h == "text":
            texts.append(a)
        elif h == "loop":
            loops.append(a[1])
        elif h == "map":
            maps.setdefault(a[1], []).append(a)
        elif h == "tuple":
            tuples.setdefault(len(a[1]), []).append(a)
        else:
            out.add(a)
    if lists:
        out.add(lst(join(*lists)))
    if loops:
        out.add(("loop", join(*loops)))
    if texts:
        out.add(text(min(t[1] for t in texts), min(t[2] for t in texts)))
    for kind, group in maps.items():
        out.add(group[0] if len(group) == 1 else _join_maps(kind, group))
    for group in tuples.values():
        out.add(group[0] if len(group) == 1 else tup(tuple(join(*xs) for xs in zip(*(g[1] for g in group)))))
    result = frozenset(out)
    if depth(result) > MAX_DEPTH:
        raise Unprovable("a value nests containers deeper than the proof follows")
    return result


def _join_maps(kind: str, group: list[Atom]) -> Atom:
    keys = {k for g in group for k, _ in g[2]}
    default = join(*(g[3] for g in group))
    fields = {k: join(*(dict(g[2]).get(k, g[3]) for g in group)) for k in keys}
    return mapping(kind, fields, default)


def join(*values: Value) -> Value:
    out: frozenset = frozenset()
    for v in values:
        out = out | v
    return normal(out)


def edges(atom: Atom) -> tuple[float, float]:
    """Guaranteed template characters at the start and end (``inf``: the whole string is identical)."""
    h = atom[0]
    if h in UNMARKED:
        return float("inf"), float("inf")
    if h == "text":
        return atom[1], atom[2]
    return 0, 0  # a field may start with OPEN and end with CLOSE


def concat2(a: Atom, b: Atom) -> Atom:
    """The atom of ``a + b`` for two string atoms."""
    a, b = (BLANK if a == UNDEF else a), (BLANK if b == UNDEF else b)  # Undefined prints as ''
    if a[0] in UNMARKED and b[0] in UNMARKED:
        return BLANK if a == BLANK and b == BLANK else PLAIN
    if (a == FIELD and b == BLANK) or (a == BLANK and b == FIELD):
        return FIELD  # whitespace around one field keeps it one field
    la, ta = edges(a)
    lb, tb = edges(b)
    lead = la if la != float("inf") else lb
    trail = tb if tb != float("inf") else ta
    return text(int(lead), int(trail))


def concat(a: Value, b: Value) -> Value:
    if not a or not b:
        return BOTTOM
    return normal(frozenset(concat2(x, y) for x in a for y in b))


#: Jinja type tests: for each atom head, the outcomes the test can have (None: either).
_KNOWN = {
    "string": {"blank": True, "field": True, "text": True, "list": False, "map": False, "tuple": False,
               "argmap": False, "arglist": False},
    "mapping": {"blank": False, "field": False, "text": False, "list": False, "map": True, "tuple": False,
                "argmap": True, "arglist": False},
    "iterable": dict.fromkeys(("blank", "field", "text", "list", "map", "tuple", "argmap", "arglist"), True),
    # Jinja's ``sequence`` test is len() and __getitem__: dicts pass it too.
    "sequence": dict.fromkeys(("blank", "field", "text", "list", "map", "tuple", "argmap", "arglist"), True),
    "defined": dict.fromkeys(("blank", "field", "text", "list", "map", "tuple", "argmap", "arglist", "ns", "macro",
                              "func", "loop", "method"), True),
}
_KNOWN["defined"]["undef"] = False
_KNOWN["undefined"] = {k: not v for k, v in _KNOWN["defined"].items()}
for _name in ("none", "number", "integer", "float", "boolean", "true", "false"):
    _KNOWN[_name] = dict.fromkeys(("blank", "field", "text", "list", "map", "tuple", "argmap", "arglist"), False)
_KNOWN["none"]["undef"] = False
_KNOWN["callable"] = {**dict.fromkeys(("blank", "field", "text", "list", "map", "tuple", "argmap", "arglist"), False),
                      "macro": True, "func": True, "method": True}
TYPE_TESTS = frozenset(_KNOWN) | {"boolean"}


def may(atom: Atom, test: str, outcome: bool) -> bool:
    """Can ``atom is <test>`` evaluate to ``outcome``? (Type tests only: marking never changes a type.)"""
    known = _KNOWN[test].get(atom[0])
    return known is None or known == outcome


def literal_value(value: Any) -> Value:
    """The abstract value of a template constant."""
    if isinstance(value, str) and not value.strip():
        return B
    return P
