"""The expressions of :mod:`reference.proof`: which operations on marked values commute with deleting markers.

Each operation maps abstract values (:mod:`reference.proof_values`) to an abstract value, or raises
:class:`~reference.proof_values.Unprovable` naming the template line and the construct. An operation whose inputs
are all unmarked (identical in both renders) is a pure function of identical inputs, so its result is identical;
only operations that see marked text need an argument, and each one's argument is in the comment next to it.
"""

from __future__ import annotations

from typing import Any

from jinja2 import nodes

from . import proof_values as A
from .proof_calls import Calls
from .proof_compare import Compares
from .proof_common import CONTAINERS, DICT_ATTRS, NOT_CONST, STR_ATTRS, const, line, path_of
from .proof_values import ARGVAL, BOTTOM, P, U, Unprovable, Value, join

class Ops(Calls, Compares):
    """Mixin of :class:`reference.proof_walk.Prover`: expression evaluation (calls, filters and tests in
    :mod:`reference.proof_calls`, comparisons in :mod:`reference.proof_compare`)."""

    guards: set[str]
    distinct: bool

    # -- entry points -------------------------------------------------------------------------------------------
    def expr(self, node: nodes.Node, env: Any) -> Value:
        path = path_of(node) if isinstance(node, (nodes.Name, nodes.Getattr, nodes.Getitem)) else None
        if path is not None and path in env.refine:
            return env.refine[path]
        if isinstance(node, nodes.Const):
            return A.literal_value(node.value)
        if isinstance(node, nodes.TemplateData):
            return A.literal_value(node.data)
        if isinstance(node, nodes.Name):
            return env.lookup(node.name)
        if isinstance(node, nodes.Getattr):
            return self.attribute(self.expr(node.node, env), node.attr, True, node)
        if isinstance(node, nodes.Getitem):
            return self.getitem(self.expr(node.node, env), node.arg, env, node)
        if isinstance(node, (nodes.List, nodes.Tuple)):
            items = [self.expr(i, env) for i in node.items]
            if all(self.unmarked(v) for v in items):
                return P
            return frozenset({A.lst(join(*items))}) if isinstance(node, nodes.List) else frozenset({A.tup(tuple(items))})
        if isinstance(node, nodes.Dict):
            return self.dict_literal(node, env)
        if isinstance(node, nodes.CondExpr):
            yes, no = self.branch(node.test, env)
            a = self.expr(node.expr1, yes) if yes is not None else BOTTOM
            b = (self.expr(node.expr2, no) if node.expr2 is not None else U) if no is not None else BOTTOM
            return join(a, b)
        if isinstance(node, (nodes.And, nodes.Or)):  # the value of the operand that decided
            yes, no = self.branch(node.left, env)
            left = self.expr(node.left, env)
            second = yes if isinstance(node, nodes.And) else no
            return join(left, self.expr(node.right, second) if second is not None else BOTTOM)
        if isinstance(node, nodes.Not):
            self.expr(node.node, env)  # truthiness of any value is the same on both sides
            return P
        if isinstance(node, (nodes.Neg, nodes.Pos)):
            return self.need_unmarked(node, self.expr(node.node, env), "negates")
        if isinstance(node, nodes.Compare):
            return self.compare_chain(node, env)
        if isinstance(node, nodes.Concat):
            out = A.B
            for child in node.nodes:
                out = A.concat(out, self.printable(self.expr(child, env), child))
            return out
        if isinstance(node, nodes.Add):
            return self.add(self.expr(node.left, env), self.expr(node.right, env), node)
        if isinstance(node, (nodes.Sub, nodes.Mul, nodes.Div, nodes.FloorDiv, nodes.Mod, nodes.Pow)):
            self.need_unmarked(node, self.expr(node.left, env), "does arithmetic on")
            return self.need_unmarked(node, self.expr(node.right, env), "does arithmetic on")
        if isinstance(node, nodes.Filter):
            return self.filter(node, self.expr(node.node, env), env)
        if isinstance(node, nodes.Test):
            return self.test(node, env)
        if isinstance(node, nodes.Call):
            return self.call(node, env)
        if isinstance(node, (nodes.MarkSafe, nodes.MarkSafeIfAutoescape)):
            return self.expr(node.expr, env)
        raise Unprovable(f"{line(node)}: {type(node).__name__} expressions are not analysed")

    def printable(self, value: Value, node: nodes.Node) -> Value:
        """``{{ value }}`` / ``~``: str() of strings is themselves; of containers, a repr that escapes markers."""
        for atom in value:
            if atom[0] not in A.STRINGS and atom[0] not in A.UNMARKED:
                raise Unprovable(f"{line(node)}: prints a {atom[0]} holding message text (its repr escapes "
                                 "the markers)")
        return value

    def need_unmarked(self, node: nodes.Node, value: Value, what: str) -> Value:
        if not self.unmarked(value):
            raise Unprovable(f"{line(node)}: {what} message text")
        return P

    def guard(self, literal: str) -> None:
        """``literal`` is searched for in one field's value: sound when it occurs nowhere in the data."""
        self.guards.add(literal)

    # -- containers --------------------------------------------------------------------------------------------
    def attribute(self, value: Value, key: Any, via_attr: bool, node: nodes.Node | None) -> Value:
        """``x.key`` (``via_attr``) or ``x['key']``, atom by atom (Jinja tries the attribute first for ``.``)."""
        out: list[Value] = []
        for atom in value:
            h = atom[0]
            if h in A.UNMARKED:
                out.append(U if h == "undef" else P)
            elif h in A.STRINGS:
                if not isinstance(key, str):
                    raise Unprovable(f"{line(node)}: indexes into message text")
                out.append(frozenset({("method", h, key)}) if key in STR_ATTRS else U)
            elif h == "map":
                fields = dict(atom[2])
                found = fields.get(key, atom[3]) if isinstance(key, str) else atom[3]
                method = key in DICT_ATTRS
                if method and via_attr:
                    out.append(frozenset({("method", "map", key)}))
                else:
                    out.append(join(found, U, frozenset({("method", "map", key)}) if method else BOTTOM))
            elif h == "argmap":
                if key in DICT_ATTRS and via_attr:
                    out.append(frozenset({("method", "argmap", key)}))
                else:
                    out.append(join(ARGVAL, U))
            elif h in ("list", "arglist", "tuple"):
                if isinstance(key, int):
                    out.append(self.item(atom, key))
                else:
                    out.append(U)
            elif h == "ns":
                out.append(join(self.ns_attrs.get((atom[1], key), BOTTOM), U))
            elif h == "loop":
                if key in ("previtem", "nextitem"):
                    out.append(join(atom[1], U))
                elif key in ("cycle", "changed"):
                    out.append(frozenset({("method", "loop", key)}))
                else:
                    out.append(P)
            else:
                out.append(P)  # attributes of macros and globals: not message data
        return join(*out)

    def item(self, atom: tuple, index: Any) -> Value:
        if atom[0] == "list":
            return join(atom[1], U)
        if atom[0] == "arglist":
            return join(ARGVAL, U)
        items = atom[1]
        if isinstance(index, int) and -len(items) <= index < len(items):
            return items[index]
        return join(*items, U)

    def getitem(self, value: Value, arg: nodes.Node, env: Any, node: nodes.Node) -> Value:
        if isinstance(arg, nodes.Slice):
            return self.slice(value, arg, env, node)
        key = const(arg)
        if key is not NOT_CONST and isinstance(key, (str, int)):
            return self.attribute(value, key, False, node)
        self.need_unmarked(node, self.expr(arg, env), "indexes by")
        out: list[Value] = []
        for atom in value:
            h = atom[0]
            if h in A.UNMARKED:
                out.append(P)
            elif h in ("list", "arglist", "tuple"):
                out.append(self.item(atom, None))
            elif h == "map":
                out.append(join(atom[3], U, *(v for _, v in atom[2])))
            elif h == "argmap":
                out.append(join(ARGVAL, U))
            elif h == "ns":
                out.append(join(U, *(v for (n, _), v in self.ns_attrs.items() if n == atom[1])))
            else:
                raise Unprovable(f"{line(node)}: indexes into message text")
        return join(*out)

    def slice(self, value: Value, arg: nodes.Slice, env: Any, node: nodes.Node) -> Value:
        bounds = [const(b) if b is not None else None for b in (arg.start, arg.stop, arg.step)]
        for b in (arg.start, arg.stop, arg.step):
            if b is not None:
                self.need_unmarked(node, self.expr(b, env), "slices by")
        out: list[Value] = []
        for atom in value:
            h = atom[0]
            if h in A.UNMARKED:
                out.append(P)
            elif h in ("list", "arglist"):
                out.append(frozenset({atom}))
            elif h == "tuple":
                out.append(frozenset({A.lst(join(*atom[1]))}))
            elif h == "text" and self._edge_slice(atom, bounds):
                start, stop = bounds[0] or 0, bounds[1] or 0
                # Only template characters at the ends are cut: the same ones on both sides.
                out.append(frozenset({A.text(atom[1] - start, atom[2] + stop)}))
            else:
                raise Unprovable(f"{line(node)}: slices message text")
        return join(*out)

    @staticmethod
    def _edge_slice(atom: tuple, bounds: list) -> bool:
        start, stop, step = bounds
        if step is not None or start is NOT_CONST or stop is NOT_CONST:
            return False
        ok_start = start is None or (isinstance(start, int) and 0 <= start <= atom[1])
        ok_stop = stop is None or (isinstance(stop, int) and -atom[2] <= stop < 0)
        return ok_start and ok_stop

    def dict_literal(self, node: nodes.Dict, env: Any) -> Value:
        fields: dict[str, Value] = {}
        for pair in node.items:
            key = const(pair.key)
            if not isinstance(key, str):
                self.need_unmarked(pair, self.expr(pair.key, env), "uses as a key")
                key = None
            value = self.expr(pair.value, env)
            if key is None:
                self.need_unmarked(pair, value, "stores under a computed key")
            else:
                fields[key] = value
        if all(self.unmarked(v) for v in fields.values()):
            return P
        return frozenset({A.mapping("literal", fields, U)})

    def add(self, left: Value, right: Value, node: nodes.Node) -> Value:
        if self.unmarked(left) and self.unmarked(right):
            return P
        out = set()
        for a in left:
            for b in right:
                sa, sb = a[0] in A.STRINGS or a[0] in A.UNMARKED, b[0] in A.STRINGS or b[0] in A.UNMARKED
                if sa and sb:
                    out.add(A.concat2(a, b))  # an unmarked non-string operand raises on both sides
                elif a[0] == "list" and b[0] == "list":
                    out.add(A.lst(join(a[1], b[1])))
                elif (a[0] == "list" and b[0] in A.UNMARKED) or (b[0] == "list" and a[0] in A.UNMARKED):
                    out.add(A.lst(join(a[1] if a[0] == "list" else b[1], P)))
                elif (a[0] in CONTAINERS and sb) or (b[0] in CONTAINERS and sa):
                    continue  # container + string raises TypeError in both renders
                else:
                    raise Unprovable(f"{line(node)}: adds {a[0]} and {b[0]}")
        return A.normal(frozenset(out))
