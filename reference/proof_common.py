"""Small helpers shared by the modules of :mod:`reference.proof`: constants and paths of Jinja nodes."""

from __future__ import annotations

from typing import Any

from jinja2 import nodes

#: Attributes of str and dict that templates can reach: ``x.split`` is a method, not a key or Undefined.
STR_ATTRS = frozenset(a for a in dir(str) if not a.startswith("_"))
DICT_ATTRS = frozenset(a for a in dir(dict) if not a.startswith("_"))
CONTAINERS = frozenset({"list", "map", "tuple", "argmap", "arglist"})
MARKED_STRINGS = frozenset({"field", "text"})
#: Jinja's spellings of equality in tests and filters.
EQUALITY = {"eq": "eq", "equalto": "eq", "==": "eq", "ne": "ne", "!=": "ne"}

#: What :func:`const` returns for an expression that is not a template constant.
NOT_CONST = object()


def const(node: nodes.Node | None) -> Any:
    """The Python value of a constant expression node (a literal, or a tuple/list of literals), or NOT_CONST."""
    if isinstance(node, nodes.Const):
        return node.value
    if isinstance(node, (nodes.Neg, nodes.Pos)) and isinstance(node.node, nodes.Const) and \
            isinstance(node.node.value, (int, float)) and not isinstance(node.node.value, bool):
        return -node.node.value if isinstance(node, nodes.Neg) else node.node.value
    if isinstance(node, (nodes.Tuple, nodes.List)) and all(isinstance(i, nodes.Const) for i in node.items):
        return tuple(i.value for i in node.items)
    return NOT_CONST


def path_of(node: nodes.Node) -> tuple | None:
    """``message.content`` → ``("message", "content")``: the key a narrowing is recorded under."""
    if isinstance(node, nodes.Name):
        return (node.name,)
    if isinstance(node, nodes.Getattr):
        base = path_of(node.node)
        return base + (node.attr,) if base else None
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const) and \
            isinstance(node.arg.value, (str, int)):
        base = path_of(node.node)
        return base + (node.arg.value,) if base else None
    return None


def line(node: nodes.Node) -> str:
    return f"line {getattr(node, 'lineno', '?')}"
