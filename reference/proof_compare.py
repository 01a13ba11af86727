"""Comparisons in :mod:`reference.proof`: when ``==``, ``!=`` and ``in`` give the same answer on both renders.

The arguments, pair by pair of atoms (``m`` marked, ``v`` its real value):

* two unmarked values are identical on both sides, so is any comparison of them;
* ``Undefined`` equals only ``Undefined``, and no marked value is undefined;
* a string never equals a container, ``None``, a number or a boolean, marked or not;
* ``m == ''`` (or any whitespace-only literal): a field is marked only when it has non-whitespace text, so ``m``
  and ``v`` are blank together and then identical;
* ``m == 'lit'`` for one field: false on both sides when the data does not contain ``'lit'`` (a guard), since
  ``v`` is a substring of the field's text and ``m`` holds marker code points the literal cannot;
* ``'lit' in m`` for one field: guarded the same way (an occurrence in ``m`` avoids the markers, so it is an
  occurrence in ``v``);
* ``key in mapping``: keys are never marked;
* two messages: marked messages each hold unique markers, so they are equal only when they are the same message;
  real messages must then be pairwise distinct (checked per conversation: ``distinct_messages``).

Everything else involving marked text (ordering, two marked texts, a marked needle, a computed right-hand side)
is refused.
"""

from __future__ import annotations

from typing import Any

from jinja2 import nodes

from . import proof_values as A
from .proof_common import CONTAINERS, MARKED_STRINGS, NOT_CONST, const, line
from .proof_values import FIELD, UNDEF, P, Unprovable, Value


_ORDER = {"eq": lambda a, b: a == b, "ne": lambda a, b: a != b, "lt": lambda a, b: a < b,
          "lteq": lambda a, b: a <= b, "gt": lambda a, b: a > b, "gteq": lambda a, b: a >= b}


class Compares:
    """Mixin of :class:`reference.proof_walk.Prover`."""

    def compare_chain(self, node: nodes.Compare, env: Any) -> Value:
        left_node, left = node.expr, self.expr(node.expr, env)
        for operand in node.ops:
            right = self.expr(operand.expr, env)
            if A.LEN in left or A.LEN in right:
                self.zero_test(left, const(left_node), operand.op, right, const(operand.expr), node)
            elif operand.op in ("eq", "ne"):
                self.compare_eq(left, const(left_node), right, const(operand.expr), node)
            elif operand.op in ("in", "notin"):
                self.compare_in(left, const(left_node), right, node)
            else:
                self.need_unmarked(node, left, "orders")
                self.need_unmarked(node, right, "orders")
            left_node, left = operand.expr, right
        return P

    def zero_test(self, left: Value, left_const: Any, op: str, right: Value, right_const: Any,
                  node: nodes.Node) -> None:
        """``len(text) op c``: allowed when the outcome is the same for every positive length (zero-ness only).

        An integer threshold changes the outcome at most once, near ``c``: checking 1..|c|+2 and a huge length
        covers every positive length."""
        fn = _ORDER[op] if op in _ORDER else None
        if A.LEN in left:
            other, c, outcome = right, right_const, (lambda n: fn(n, c))
        else:
            other, c, outcome = left, left_const, (lambda n: fn(c, n))
        if fn is None or not isinstance(c, int) or isinstance(c, bool) or (A.LEN in left and A.LEN in right) \
                or not self.unmarked(other) or \
                len({outcome(n) for n in (*range(1, abs(c) + 3), 10**18)}) != 1:
            raise Unprovable(f"{line(node)}: compares the length of message text with something other than zero")

    def compare_eq(self, left: Value, left_const: Any, right: Value, right_const: Any, node: nodes.Node) -> None:
        for a in left:
            for b in right:
                self._eq_pair(a, left_const, b, right_const, node)

    def _eq_pair(self, a: tuple, a_const: Any, b: tuple, b_const: Any, node: nodes.Node) -> None:
        if a[0] in A.UNMARKED and b[0] in A.UNMARKED:
            return
        if a == UNDEF or b == UNDEF:
            return
        if a[0] in A.UNMARKED:
            a, a_const, b, b_const = b, b_const, a, a_const  # a: the marked side
        if a[0] in MARKED_STRINGS:
            if b[0] in A.UNMARKED:
                if b_const is NOT_CONST:
                    raise Unprovable(f"{line(node)}: compares message text with a computed value")
                if not isinstance(b_const, str) or not b_const.strip():
                    return
                if a == FIELD:
                    self.guard(b_const)
                    return
                raise Unprovable(f"{line(node)}: compares text built from message fields with {b_const!r}")
            if b[0] in CONTAINERS:
                return
            raise Unprovable(f"{line(node)}: compares message text with {b[0]}")
        if a[0] in CONTAINERS:
            if b[0] in A.UNMARKED:
                if b_const is not NOT_CONST and not isinstance(b_const, tuple):
                    return  # a scalar literal never equals a container
                raise Unprovable(f"{line(node)}: compares message data with a computed value")
            if b[0] in MARKED_STRINGS:
                return
            if a[0] == "map" and b[0] == "map" and a[1] == b[1] == "message":
                self.distinct = True
                return
            raise Unprovable(f"{line(node)}: compares message data ({a[0]} with {b[0]})")
        raise Unprovable(f"{line(node)}: compares a {a[0]}")

    def compare_in(self, needle: Value, needle_const: Any, haystack: Value, node: nodes.Node) -> None:
        for b in haystack:
            h = b[0]
            if h == "undef":
                continue
            if h in A.UNMARKED or h in ("map", "argmap"):
                if not self.unmarked(needle):
                    raise Unprovable(f"{line(node)}: looks message text up with 'in'")
            elif h in MARKED_STRINGS:
                if not isinstance(needle_const, str):
                    raise Unprovable(f"{line(node)}: searches message text for a computed value")
                if needle_const and h == "field":
                    self.guard(needle_const)
                elif needle_const:
                    raise Unprovable(f"{line(node)}: searches text built from message fields for "
                                     f"{needle_const!r}")
            elif h in ("list", "arglist", "tuple"):
                elems = b[1] if h == "list" else (A.ARGVAL if h == "arglist" else A.join(*b[1]))
                for a in needle:
                    for e in elems:
                        self._eq_pair(a, needle_const, e, NOT_CONST, node)
            else:
                raise Unprovable(f"{line(node)}: 'in' over a {h}")
