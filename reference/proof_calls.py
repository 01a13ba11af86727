"""Calls, filters and tests in :mod:`reference.proof`: which ones commute with deleting markers, and why.

* whitespace strips (``|trim``, ``.strip()``, ``.lstrip('\\n')``): the markers of a field sit between its own
  leading/trailing whitespace and non-whitespace characters, so a strip of whitespace-only characters stops at the
  same place on both sides (a marker is not whitespace) and never removes a marker;
* ``|tojson`` with transformers' ``ensure_ascii=False``: JSON escapes characters one at a time and leaves the
  marker code points as they are, so deleting markers after the dump is the dump of the real value;
* ``split``/``startswith``/``find``/``replace`` with a literal on one field's value: guarded by the literal's absence
  from the data (then nothing is found on either side: ``split`` gives ``[value]``, ``replace`` changes nothing);
* ``|string``/``|safe`` of a string is the string; ``|escape`` escapes characters one by one, markers untouched;
* ``|length``/``|first``/``|list``/``|items``/``|selectattr`` of message containers: marking keeps every list's
  length and every mapping's keys;
* macros: analysed at each call with the abstract values of the arguments (their output is a string like any);
* ``raise_exception``: the render stops on both sides (a marked render that raises falls back to rendering twice).
"""

from __future__ import annotations

from typing import Any

from jinja2 import nodes

from . import proof_values as A
from .proof_common import CONTAINERS, DICT_ATTRS, EQUALITY, MARKED_STRINGS, NOT_CONST, STR_ATTRS, const, line
from .proof_values import ARGVAL, BOTTOM, FIELD, P, U, Unprovable, Value, join

NONDETERMINISTIC = frozenset({"random"})
ESCAPES = frozenset({"e", "escape", "forceescape"})
_WS_STRIPS = frozenset({"strip", "lstrip", "rstrip"})
_LIST_ATTRS = frozenset(a for a in dir(list) if not a.startswith("_")) | frozenset(dir(tuple))


def _ws_chars(args: list, consts: list) -> bool:
    """No argument, ``None``, or a literal made only of whitespace: a whitespace-only strip."""
    if not args:
        return True
    return len(args) == 1 and (consts[0] is None or (isinstance(consts[0], str) and not consts[0].strip()))


class Calls:
    """Mixin of :class:`reference.proof_walk.Prover`."""

    tojson_keeps_markers: bool = True

    # -- calls ----------------------------------------------------------------------------------------------------
    def call(self, node: nodes.Call, env: Any) -> Value:
        if node.dyn_args is not None or node.dyn_kwargs is not None:
            raise Unprovable(f"{line(node)}: calls with *args/**kwargs are not analysed")
        if isinstance(node.node, nodes.Getattr):
            receiver = self.expr(node.node.node, env)
            return self.method(receiver, node.node.attr, node, env)
        fn = self.expr(node.node, env)
        if fn == frozenset({("func", "raise_exception")}):
            return BOTTOM  # the render raises on both sides; what the message says does not matter
        args = [self.expr(a, env) for a in node.args]
        kwargs = {k.key: self.expr(k.value, env) for k in node.kwargs}
        out: list[Value] = []
        for atom in fn:
            if atom[0] == "func":
                out.append(self.global_call(atom[1], node, args, kwargs))
            elif atom[0] == "macro":
                out.append(self.call_macro(self.macros[atom[1]], args, kwargs, node, env))
            elif atom[0] in A.UNMARKED and all(self.unmarked(v) for v in [*args, *kwargs.values()]):
                out.append(P)
            else:
                raise Unprovable(f"{line(node)}: calls a {atom[0]} with message data")
        return join(*out)

    def global_call(self, name: str, node: nodes.Call, args: list[Value], kwargs: dict[str, Value]) -> Value:
        if name == "raise_exception":
            return BOTTOM
        if name == "lipsum":
            raise Unprovable(f"{line(node)}: lipsum() differs between two renders")
        if name == "namespace":
            if args:
                raise Unprovable(f"{line(node)}: namespace() with positional arguments is not analysed")
            for key, value in kwargs.items():
                self.note_ns(id(node), key, value)
            return frozenset({("ns", id(node))})
        if name == "dict" and not args:
            if all(self.unmarked(v) for v in kwargs.values()):
                return P
            return frozenset({A.mapping("literal", kwargs, U)})
        if all(self.unmarked(v) for v in [*args, *kwargs.values()]):
            return P  # strftime_now, range, dict(...) of identical values
        raise Unprovable(f"{line(node)}: calls {name}() with message data")

    def method(self, receiver: Value, name: str, node: nodes.Call, env: Any) -> Value:
        args = [self.expr(a, env) for a in node.args]
        consts = [const(a) for a in node.args]
        kwargs = {k.key: self.expr(k.value, env) for k in node.kwargs}
        plain_args = all(self.unmarked(v) for v in [*args, *kwargs.values()])
        out: list[Value] = []
        for atom in receiver:
            h = atom[0]
            if h in A.UNMARKED:
                if name == "join" and len(args) == 1 and not kwargs:  # 'sep'.join(items)
                    out.append(self.joined(args[0], node))
                elif plain_args:
                    out.append(P)
                else:
                    raise Unprovable(f"{line(node)}: passes message data to .{name}()")
            elif h in A.STRINGS and name not in STR_ATTRS:
                out.append(BOTTOM)  # no such method: calling Undefined raises on both sides
            elif h == "field":
                if kwargs:
                    raise Unprovable(f"{line(node)}: .{name}() with keyword arguments on message text")
                out.append(self.field_method(name, args, consts, node))
            elif h == "text":
                if name in _WS_STRIPS and not kwargs and _ws_chars(args, consts):
                    out.append(frozenset({A.text(0, 0)}))
                else:
                    raise Unprovable(f"{line(node)}: .{name}() on text built from message fields")
            elif h in ("map", "argmap") and name not in DICT_ATTRS:
                out.append(BOTTOM)
            elif h in ("map", "argmap"):
                out.append(self.dict_method(atom, name, args, consts, plain_args, node))
            elif h in ("list", "arglist", "tuple") and name not in _LIST_ATTRS:
                out.append(BOTTOM)  # no such method: calling Undefined raises on both sides
            elif h == "loop" and name == "cycle":
                out.append(join(*args))
            elif h == "loop" and name == "changed" and plain_args:
                out.append(P)
            else:
                raise Unprovable(f"{line(node)}: .{name}() on a {h} holding message data")
        return join(*out)

    def field_method(self, name: str, args: list[Value], consts: list, node: nodes.Node) -> Value:
        first = consts[0] if consts else NOT_CONST
        if name in _WS_STRIPS and _ws_chars(args, consts):
            return frozenset({FIELD})
        if name in ("split", "rsplit") and isinstance(first, str) and first and \
                all(self.unmarked(v) for v in args[1:]):
            self.guard(first)  # absent from the data: [value] on both sides
            return frozenset({A.lst(frozenset({FIELD}))})
        if name in ("startswith", "endswith") and len(args) == 1:
            literals = first if isinstance(first, tuple) else (first,)
            if all(isinstance(x, str) for x in literals):
                for x in literals:
                    if x:
                        self.guard(x)  # '' is a prefix of everything, on both sides
                return P
        if name in ("find", "index") and len(args) == 1 and isinstance(first, str):
            if first:
                self.guard(first)  # -1 / ValueError on both sides; '' is found at 0 on both
            return P
        if name in ("rfind", "rindex", "count") and len(args) == 1 and isinstance(first, str) and first:
            self.guard(first)
            return P
        if name == "replace" and len(args) >= 2 and isinstance(first, str) and first and \
                all(self.unmarked(v) for v in args[1:]):
            self.guard(first)  # nothing to replace on either side
            return frozenset({FIELD})
        raise Unprovable(f"{line(node)}: .{name}() on message text")

    def dict_method(self, atom: tuple, name: str, args: list[Value], consts: list, plain_args: bool,
                    node: nodes.Node) -> Value:
        if atom[0] == "map":
            fields, default = dict(atom[2]), atom[3]
        else:
            fields, default = {}, ARGVAL
        every = join(default, *fields.values())
        if not plain_args:
            raise Unprovable(f"{line(node)}: passes message text to .{name}() of message data")
        if name == "get" and 1 <= len(args) <= 2:
            key = consts[0]
            found = fields.get(key, default) if isinstance(key, str) else every
            return join(found, args[1] if len(args) == 2 else P)
        if name == "items" and not args:
            return frozenset({A.lst(frozenset({A.tup((P, every))}))})
        if name == "keys" and not args:
            return P
        if name == "values" and not args:
            return frozenset({A.lst(every)})
        raise Unprovable(f"{line(node)}: .{name}() of message data is not analysed")

    def joined(self, items: Value, node: nodes.Node) -> Value:
        elems = self.elements(items, node)
        self.printable(elems, node)
        return P if self.unmarked(elems) else frozenset({A.text(0, 0)})

    # -- tests ----------------------------------------------------------------------------------------------------
    def test(self, node: nodes.Test, env: Any) -> Value:
        value = self.expr(node.node, env)
        if not value:
            return BOTTOM
        args = [self.expr(a, env) for a in node.args]
        if node.name in A.TYPE_TESTS and not args and not node.kwargs:
            return P  # marking never changes a type
        if node.name in EQUALITY and len(args) == 1:
            self.compare_eq(value, const(node.node), args[0], const(node.args[0]), node)
            return P
        if node.name == "in" and len(args) == 1:
            self.compare_in(value, const(node.node), args[0], node)
            return P
        if node.name == "sameas" and len(args) == 1 and const(node.args[0]) in (None, True, False):
            return P  # identity with a singleton: a marked value is never one
        if self.unmarked(value) and all(self.unmarked(v) for v in args):
            return P
        raise Unprovable(f"{line(node)}: tests message text with 'is {node.name}'")

    # -- filters --------------------------------------------------------------------------------------------------
    def filter_chain(self, node: nodes.Filter, value: Value, env: Any) -> Value:
        """The filters of a ``{% filter %}`` block or ``{% set x | f %}`` (innermost first)."""
        if node.node is not None:
            value = self.filter_chain(node.node, value, env)
        return self.filter(node, value, env)

    def filter(self, node: nodes.Filter, base: Value, env: Any) -> Value:
        if node.dyn_args is not None or node.dyn_kwargs is not None:
            raise Unprovable(f"{line(node)}: filters with *args/**kwargs are not analysed")
        args = [self.expr(a, env) for a in node.args]
        consts = [const(a) for a in node.args]
        kwargs = {k.key: self.expr(k.value, env) for k in node.kwargs}
        kconsts = {k.key: const(k.value) for k in node.kwargs}
        return self.apply_filter(node.name, base, args, consts, kwargs, kconsts, node)

    def apply_filter(self, name: str, base: Value, args: list[Value], consts: list, kwargs: dict[str, Value],
                     kconsts: dict[str, Any], node: nodes.Node) -> Value:
        if name in NONDETERMINISTIC:
            raise Unprovable(f"{line(node)}: |{name} differs between two renders")
        if not base:
            return BOTTOM
        if self.unmarked(base) and all(self.unmarked(v) for v in [*args, *kwargs.values()]):
            return P  # a pure function of identical inputs
        if name == "tojson":
            return self.tojson(base, args, consts, kwargs, kconsts, node)
        if name in ("selectattr", "rejectattr", "select", "reject"):
            return self.select(name, base, args, consts, node)
        if name == "map":
            return self.map_filter(base, args, consts, kwargs, kconsts, node)
        if not all(self.unmarked(v) for v in [*args, *kwargs.values()]) and name not in ("default", "d"):
            raise Unprovable(f"{line(node)}: passes message text as an argument of |{name}")
        if name in ("default", "d"):
            return join(base, args[0] if args else A.B)
        out = [self.filter_atom(name, atom, consts, kconsts, node) for atom in base]
        return join(*out)

    def filter_atom(self, name: str, atom: tuple, consts: list, kconsts: dict[str, Any], node: nodes.Node) -> Value:
        h = atom[0]
        if h in A.UNMARKED:
            return P
        if name == "trim" and _ws_chars(consts, consts) and h in A.STRINGS:
            return frozenset({FIELD}) if h == "field" else frozenset({A.text(0, 0)})
        if name in ("string", "safe") and h in A.STRINGS:
            return frozenset({atom})
        if name in ESCAPES and h in A.STRINGS:
            return frozenset({A.text(0, 0)})
        if name in ("length", "count") and h in MARKED_STRINGS:
            return frozenset({A.LEN})  # zero exactly when the real text is empty
        if h in CONTAINERS:
            if name in ("length", "count"):
                return P
            if name in ("first", "last"):
                return join(self.elements(frozenset({atom}), node), U)
            if name == "list":
                return frozenset({A.lst(self.elements(frozenset({atom}), node))})
            if name == "reverse" and h in ("list", "arglist", "tuple"):
                return frozenset({A.lst(self.elements(frozenset({atom}), node))})
            if name == "items":
                if h == "map":
                    return frozenset({A.lst(frozenset({A.tup((P, join(atom[3], *(v for _, v in atom[2]))))}))})
                if h == "argmap":
                    return frozenset({A.lst(frozenset({A.tup((P, ARGVAL))}))})
                return BOTTOM  # |items of a list raises TypeError on both sides
            if name == "join" and h != "map":
                return self.joined(frozenset({atom}), node)
            if name == "join":
                return P  # joins the keys
        if h in MARKED_STRINGS and name == "items":
            return BOTTOM
        if h == "field" and name == "replace" and consts and isinstance(consts[0], str) and consts[0]:
            self.guard(consts[0])
            return frozenset({FIELD})
        raise Unprovable(f"{line(node)}: applies |{name} to {'message text' if h in A.STRINGS else h}")

    def tojson(self, base: Value, args: list[Value], consts: list, kwargs: dict[str, Value],
               kconsts: dict[str, Any], node: nodes.Node) -> Value:
        ensure_ascii = consts[0] if consts else kconsts.get("ensure_ascii", False)
        if not self.tojson_keeps_markers or ensure_ascii is NOT_CONST or ensure_ascii:
            raise Unprovable(f"{line(node)}: |tojson here escapes non-ASCII characters, markers included")
        if not all(self.unmarked(v) for v in [*args[1:], *kwargs.values()]):
            raise Unprovable(f"{line(node)}: |tojson options computed from message text")
        out = set()
        for atom in base:
            h = atom[0]
            if h in A.UNMARKED:
                out.add(A.PLAIN)
            elif h in A.STRINGS or h in CONTAINERS:
                out.add(A.text(1, 1))  # '"…"', '[…]', '{…}': the first and last characters are the template's
            else:
                raise Unprovable(f"{line(node)}: |tojson of a {h}")
        return A.normal(frozenset(out))

    def select(self, name: str, base: Value, args: list[Value], consts: list, node: nodes.Node) -> Value:
        by_attr = name in ("selectattr", "rejectattr")
        elems = self.elements(base, node)
        subject = elems
        rest_args, rest_consts = args, consts
        if by_attr:
            attr = consts[0] if consts else NOT_CONST
            if not isinstance(attr, str):
                raise Unprovable(f"{line(node)}: |{name} by a computed attribute")
            for part in attr.split("."):
                subject = self.attribute(subject, int(part) if part.isdigit() else part, False, node)
            rest_args, rest_consts = args[1:], consts[1:]
        test = rest_consts[0] if rest_consts else None
        test_args, test_consts = rest_args[1:], rest_consts[1:]
        if test is None or test in A.TYPE_TESTS:
            pass  # truthiness and type tests are the same on both sides
        elif test in EQUALITY and len(test_args) == 1:
            self.compare_eq(subject, NOT_CONST, test_args[0], test_consts[0], node)
        elif test == "in" and len(test_args) == 1:
            self.compare_in(subject, NOT_CONST, test_args[0], node)
        elif not (self.unmarked(subject) and all(self.unmarked(v) for v in test_args)):
            raise Unprovable(f"{line(node)}: |{name} tests message text with {test!r}")
        out = set()
        for atom in base:
            if atom[0] in A.UNMARKED:
                out.add(A.PLAIN)
            elif atom[0] in ("list", "arglist"):
                out.add(atom)
            elif atom[0] == "tuple":
                out.add(A.lst(join(*atom[1])))
            else:
                raise Unprovable(f"{line(node)}: |{name} over a {atom[0]}")
        return A.normal(frozenset(out))

    def map_filter(self, base: Value, args: list[Value], consts: list, kwargs: dict[str, Value],
                   kconsts: dict[str, Any], node: nodes.Node) -> Value:
        elems = self.elements(base, node)
        if "attribute" in kconsts and not args:
            attr = kconsts["attribute"]
            if not isinstance(attr, str):
                raise Unprovable(f"{line(node)}: |map by a computed attribute")
            value = elems
            for part in attr.split("."):
                value = self.attribute(value, int(part) if part.isdigit() else part, False, node)
            if "default" in kwargs:
                value = join(value, kwargs["default"])
            result = value
        elif consts and isinstance(consts[0], str) and not kwargs:
            result = self.apply_filter(consts[0], elems, args[1:], consts[1:], {}, {}, node)
        else:
            raise Unprovable(f"{line(node)}: |map with these arguments is not analysed")
        if self.unmarked(result) and all(a[0] in A.UNMARKED for a in base):
            return P
        return frozenset({A.lst(result)})
