"""The walker of :mod:`reference.proof`: statements, control flow, scopes and macros of a Jinja template.

Flow-sensitive inside a template or macro body (``{% if %}`` branches are analysed with the tests that lead into
them, so ``content is string`` narrows ``content``; loops run to a fixpoint), flow-insensitive across scopes: every
value ever assigned to a name, or to a namespace attribute, is joined into one table that free names inside
macros read from. The whole template is re-walked until those tables stop growing, so every check ran with
the final types. Expressions are :mod:`reference.proof_ops`.
"""

from __future__ import annotations

from jinja2 import nodes

from . import proof_values as A
from .proof_common import line, path_of
from .proof_ops import Ops
from .proof_values import BOTTOM, P, Unprovable, Value, join

GLOBAL_FUNCS = frozenset({"raise_exception", "strftime_now", "namespace", "dict", "range", "lipsum"})
_MAX_PASSES = 12
_MAX_LOOP_ITERATIONS = 24


class Env:
    """Variables (flow-sensitive) and narrowed paths (``message.content`` known to be a string in a branch)."""

    __slots__ = ("prover", "vars", "refine")

    def __init__(self, prover: Prover, vars: dict[str, Value] | None = None,
                 refine: dict[tuple, Value] | None = None) -> None:
        self.prover = prover
        self.vars = dict(vars or {})
        self.refine = dict(refine or {})

    def copy(self) -> Env:
        return Env(self.prover, self.vars, self.refine)

    def lookup(self, name: str) -> Value:
        if name in self.vars:
            return self.vars[name]
        return self.prover.free(name)

    def assign(self, name: str, value: Value) -> None:
        self.vars[name] = value
        self.refine = {p: v for p, v in self.refine.items() if p[0] != name}
        self.prover.note_assign(name, value)

    def narrowed(self, path: tuple, value: Value) -> Env | None:
        if not value:
            return None  # the branch cannot be taken
        out = self.copy()
        out.refine[path] = value
        return out


def join_env(a: Env | None, b: Env | None) -> Env | None:
    if a is None or b is None:
        return b if a is None else a
    names = set(a.vars) | set(b.vars)
    return Env(a.prover, {n: join(a.lookup(n), b.lookup(n)) for n in names},
               {p: join(v, b.refine[p]) for p, v in a.refine.items() if p in b.refine})


def same_env(a: Env | None, b: Env | None) -> bool:
    if a is None or b is None:
        return a is b
    return a.vars == b.vars and a.refine == b.refine


class Prover(Ops):
    """Walks one template; raises :class:`Unprovable` at the first construct it cannot show transparent."""

    def __init__(self, messages: Value = A.MESSAGES) -> None:
        self.messages = messages
        self.guards: set[str] = set()
        self.distinct = False
        self.assigned: dict[str, Value] = {}
        self.ns_attrs: dict[tuple[int, str], Value] = {}
        self.macros: dict[int, nodes.Macro] = {}
        self.memo: dict[tuple, Value] = {}
        self.stack: list[tuple] = []
        self.recursed: set[tuple] = set()
        self.grew = False

    # -- the tables shared by all scopes ----------------------------------------------------------------------
    def run(self, tree: nodes.Template) -> None:
        for _ in range(_MAX_PASSES):
            self.grew = False
            self.memo = {}
            self.stmts(tree.body, Env(self, {"messages": self.messages}))
            if not self.grew:
                return
        raise Unprovable("the proof did not reach a fixpoint (types kept growing)")

    def note_assign(self, name: str, value: Value) -> None:
        old = self.assigned.get(name, BOTTOM)
        new = join(old, value)
        if new != old:
            self.assigned[name] = new
            self.grew = True

    def note_ns(self, ns: int, attr: str, value: Value) -> None:
        old = self.ns_attrs.get((ns, attr), BOTTOM)
        new = join(old, value)
        if new != old:
            self.ns_attrs[(ns, attr)] = new
            self.grew = True

    def free(self, name: str) -> Value:
        """A name not assigned on this path: a global, a template variable, or anything assigned elsewhere."""
        if name == "messages":
            base = self.messages
        elif name in GLOBAL_FUNCS:
            base = frozenset({("func", name)})
        else:
            base = P  # template kwargs, special tokens, add_generation_prompt, undefined names: identical
        return join(base, self.assigned.get(name, BOTTOM))

    # -- statements ------------------------------------------------------------------------------------------
    def stmts(self, body: list[nodes.Node], env: Env | None) -> tuple[Value, Env | None]:
        """Analyse a statement list; return the abstract value of its output and the environment after it."""
        out: Value = A.B
        for node in body:
            if env is None:
                break
            piece, env = self.stmt(node, env)
            out = A.concat(out, piece) if piece else out
        return out, env

    def stmt(self, node: nodes.Node, env: Env) -> tuple[Value, Env | None]:
        if isinstance(node, nodes.Output):
            out: Value = A.B
            for child in node.nodes:
                if isinstance(child, nodes.TemplateData):
                    piece = A.literal_value(child.data)
                else:
                    piece = self.printable(self.expr(child, env), child)
                out = A.concat(out, piece)
            return out, env
        if isinstance(node, nodes.If):
            return self.if_(node, env)
        if isinstance(node, nodes.For):
            return self.for_(node, env)
        if isinstance(node, nodes.Assign):
            self.bind(node.target, self.expr(node.node, env), env, node)
            return A.B, env
        if isinstance(node, nodes.AssignBlock):
            out, after = self.stmts(node.body, env.copy())
            if node.filter is not None:
                out = self.filter_chain(node.filter, out, env)
            self.bind(node.target, out, env, node)
            return A.B, env if after is not None else None
        if isinstance(node, nodes.Macro):
            self.macros[id(node)] = node
            env.assign(node.name, frozenset({("macro", id(node))}))
            return A.B, env
        if isinstance(node, nodes.CallBlock):
            call = node.call
            if isinstance(call, nodes.Call) and isinstance(call.node, nodes.ExtensionAttribute) and \
                    call.node.name == "_generation_support":  # transformers' {% generation %}: prints its body
                return self.stmts(node.body, env)
            raise Unprovable(f"{line(node)}: {{% call %}} blocks are not analysed")
        if isinstance(node, nodes.FilterBlock):
            out, after = self.stmts(node.body, env)
            return self.filter_chain(node.filter, out, env), after
        if isinstance(node, nodes.With):
            inner = env.copy()
            for target, value in zip(node.targets, node.values):
                self.bind(target, self.expr(value, env), inner, node)
            out, after = self.stmts(node.body, inner)
            return out, join_env(env, after) if after is not None else None
        if isinstance(node, (nodes.Scope, nodes.OverlayScope)):
            return self.stmts(node.body, env)
        if isinstance(node, nodes.ExprStmt):
            self.expr(node.node, env)
            return A.B, env
        if isinstance(node, (nodes.Break, nodes.Continue)):
            return A.B, env
        raise Unprovable(f"{line(node)}: {type(node).__name__} statements are not analysed")

    def if_(self, node: nodes.If, env: Env) -> tuple[Value, Env | None]:
        outs: list[Value] = []
        ends: list[Env | None] = []
        rest: Env | None = env
        for test, body in [(node.test, node.body)] + [(e.test, e.body) for e in node.elif_]:
            if rest is None:
                break
            taken, rest = self.branch(test, rest)
            if taken is not None:
                out, end = self.stmts(body, taken)
                outs.append(out)
                ends.append(end)
        if rest is not None:
            out, end = self.stmts(node.else_, rest)
            outs.append(out)
            ends.append(end)
        merged: Env | None = None
        for e in ends:
            merged = join_env(merged, e)
        return (join(*outs) if outs else A.B), merged

    def for_(self, node: nodes.For, env: Env) -> tuple[Value, Env | None]:
        if node.recursive:
            raise Unprovable(f"{line(node)}: recursive loops are not analysed")
        elem = self.elements(self.expr(node.iter, env), node)
        acc: Value = A.B
        state: Env | None = env
        for _ in range(_MAX_LOOP_ITERATIONS):
            body_env = state.copy()
            if elem:
                self.bind(node.target, elem, body_env, node)
                body_env.vars["loop"] = frozenset({("loop", elem)})
                if node.test is not None:
                    body_env = self.branch(node.test, body_env)[0]
            out, after = self.stmts(node.body, body_env) if elem and body_env is not None else (A.B, None)
            new_acc = join(acc, A.concat(acc, out))
            new_state = join_env(state, after)
            if new_acc == acc and same_env(new_state, state):
                break
            acc, state = new_acc, new_state
        else:
            raise Unprovable(f"{line(node)}: the loop's types did not settle")
        if node.else_:
            out, after = self.stmts(node.else_, env)
            acc, state = join(acc, out), join_env(state, after)
        return acc, state

    def bind(self, target: nodes.Node, value: Value, env: Env, where: nodes.Node) -> None:
        if isinstance(target, nodes.Name):
            env.assign(target.name, value)
        elif isinstance(target, nodes.Tuple):
            for k, item in enumerate(target.items):
                self.bind(item, self.unpack(value, k, len(target.items), where), env, where)
        elif isinstance(target, nodes.NSRef):
            for atom in env.lookup(target.name):
                if atom[0] == "ns":  # on anything else Jinja raises, on both sides
                    self.note_ns(atom[1], target.attr, value)
        else:
            raise Unprovable(f"{line(where)}: assignment to {type(target).__name__} is not analysed")

    def unpack(self, value: Value, k: int, n: int, where: nodes.Node) -> Value:
        out = []
        for atom in value:
            if atom[0] == "tuple" and len(atom[1]) == n:
                out.append(atom[1][k])
            elif atom[0] == "list":
                out.append(atom[1])
            elif atom[0] in A.UNMARKED:
                out.append(P)
            else:
                raise Unprovable(f"{line(where)}: unpacks a value the proof cannot split ({atom[0]})")
        return join(*out)

    def elements(self, value: Value, where: nodes.Node) -> Value:
        """The abstract value of the items a ``for`` loop (or a filter) iterates over."""
        out = []
        for atom in value:
            h = atom[0]
            if h == "list":
                out.append(atom[1])
            elif h == "tuple":
                out.append(join(*atom[1]))
            elif h in ("map", "argmap") or h in A.UNMARKED:
                out.append(P)  # a mapping iterates over its keys, which are never marked
            elif h == "arglist":
                out.append(A.ARGVAL)
            elif h in ("field", "text"):
                raise Unprovable(f"{line(where)}: iterates over the characters of message text")
            else:
                raise Unprovable(f"{line(where)}: iterates over a {h}")
        return join(*out)

    def branch(self, test: nodes.Node, env: Env) -> tuple[Env | None, Env | None]:
        """The environments in which ``test`` is true and false (``None``: cannot be)."""
        if isinstance(test, nodes.Not):
            t, f = self.branch(test.node, env)
            return f, t
        if isinstance(test, nodes.And):
            ta, fa = self.branch(test.left, env)
            tb, fb = self.branch(test.right, ta) if ta is not None else (None, None)
            return tb, join_env(fa, fb)
        if isinstance(test, nodes.Or):
            ta, fa = self.branch(test.left, env)
            tb, fb = self.branch(test.right, fa) if fa is not None else (None, None)
            return join_env(ta, tb), fb
        value = self.expr(test, env)
        if not value:
            return None, None  # the test raises in both renders
        if isinstance(test, nodes.Test) and test.name in A.TYPE_TESTS and not test.args and not test.kwargs:
            path = path_of(test.node)
            if path is not None and self.stable(path, env):
                subject = self.expr(test.node, env)
                yes = A.normal(frozenset(a for a in subject if A.may(a, test.name, True)))
                no = A.normal(frozenset(a for a in subject if A.may(a, test.name, False)))
                return env.narrowed(path, yes), env.narrowed(path, no)
        return env, env

    def stable(self, path: tuple, env: Env) -> bool:
        """May a narrowing of ``path`` be kept? Not through a namespace: ``ns.x`` can be reassigned through any
        alias of the namespace, which the environment does not track."""
        value = env.lookup(path[0])
        for key in path[1:]:
            if any(a[0] == "ns" for a in value):
                return False
            value = self.attribute(value, key, True, None)
        return True

    # -- macros ----------------------------------------------------------------------------------------------
    def call_macro(self, macro: nodes.Macro, args: list[Value], kwargs: dict[str, Value],
                   where: nodes.Node, env: Env) -> Value:
        params = [a.name for a in macro.args]
        bound: dict[str, Value] = {}
        for name, value in zip(params, args):
            bound[name] = value
        extra = list(args[len(params):]) + [v for k, v in kwargs.items() if k not in params]
        if any(not self.unmarked(v) for v in extra):
            raise Unprovable(f"{line(where)}: passes message text to macro {macro.name} through varargs/kwargs")
        bound.update({k: v for k, v in kwargs.items() if k in params})
        first_default = len(params) - len(macro.defaults)
        for k, name in enumerate(params):
            if name not in bound:
                bound[name] = (self.expr(macro.defaults[k - first_default], Env(self))
                               if k >= first_default else A.U)
        key = (id(macro), tuple(bound[p] for p in params))
        if key in self.memo:
            if key in self.stack:
                self.recursed.add(key)  # a recursive call: the approximation so far; iterated below
            return self.memo[key]
        if len(self.stack) > 32:
            raise Unprovable(f"{line(where)}: macros nest deeper than the proof follows")
        self.memo[key] = BOTTOM
        before = set(self.memo)
        self.stack.append(key)
        try:
            # The least fixpoint of a recursive macro's output (gpt-oss renders nested tool schemas this way).
            # Results memoised while the approximation was too small are dropped before each new iteration.
            for _ in range(_MAX_LOOP_ITERATIONS):
                self.recursed.discard(key)
                out, _ = self.stmts(macro.body, Env(self, {**bound, "varargs": P, "kwargs": P, "caller": A.U}))
                out = join(out, self.memo[key])
                settled = key not in self.recursed or out == self.memo[key]
                self.memo[key] = out
                if settled:
                    break
                for stale in set(self.memo) - before:
                    del self.memo[stale]
            else:
                raise Unprovable(f"{line(where)}: the output of recursive macro {macro.name} did not settle")
        finally:
            self.stack.pop()
        return self.memo[key]

    def unmarked(self, value: Value) -> bool:
        return all(a[0] in A.UNMARKED for a in value)

