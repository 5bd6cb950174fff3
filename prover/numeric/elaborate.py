"""Elaboration: from the parse tree of a Lean term to typed nodes, the way Lean types it.

The part that matters for soundness is Lean's ``binop%`` elaborator: an arithmetic tree
(``+ - * / %``, unary ``-``, the base of ``^``, parentheses, and the two sides of a
relation) gets one type, the largest type among its leaves and the expected type; leaves
of a smaller type get a coercion *at the leaf* (``(n - 1 : ℝ)`` is ``↑n - 1``, not
``↑(n - 1)``); numerals take the tree's type and default to ℕ when nothing fixes it.  The
exponent of ``^`` is elaborated on its own and defaults to ℕ (Lean's ``Monoid.npow``).

Where the text alone does not fix a type (``↑x`` with no target, or numerals in a
pretty-printed goal, which drops type ascriptions), elaboration asks a :class:`Chooser`,
so the checker can try every reading and only trust what all readings agree on.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TypeVar

from lark import Token, Tree

from prover.numeric import builtins as B
from prover.numeric.errors import Unsupported
from prover.numeric.nodes import (
    Arith,
    BigOp,
    Call,
    Cmp,
    Coe,
    Filter,
    FinsetLit,
    Integral,
    Ite,
    Lam,
    Lit,
    Logic,
    Mem,
    ModEq,
    Node,
    Pow,
    Quant,
    Ref,
    UserApp,
)
from prover.numeric.types import PROP, TYPE_NAMES, FinsetTy, FunTy, ListTy, Num, PropTy, Ty, join

T = TypeVar("T")

ARITH_OPS = {"add", "sub", "mul", "div", "mod", "neg"}
PROP_RULES = {"iff", "implies", "or_", "and_", "not_", "rel", "modeq", "quant"}
_CMP = {"=": "eq", "≠": "ne", "<": "lt", ">": "gt", "≤": "le", "≥": "ge", "∣": "dvd"}


@dataclass
class Chooser:
    """Deterministic source of choices for ambiguous readings, replayable by prefix."""

    prefix: tuple[int, ...] = ()
    counts: list[int] = field(default_factory=list)
    taken: list[int] = field(default_factory=list)

    def choose(self, options: Sequence[T]) -> T:
        k = len(self.taken)
        i = self.prefix[k] if k < len(self.prefix) else 0
        self.counts.append(len(options))
        self.taken.append(i)
        return options[i]

    def next_prefix(self) -> tuple[int, ...] | None:
        """The choice prefix of the next reading in depth-first order, None when done."""
        for j in range(len(self.taken) - 1, -1, -1):
            if self.taken[j] + 1 < self.counts[j]:
                return (*self.taken[:j], self.taken[j] + 1)
        return None


@dataclass(frozen=True, slots=True)
class Opaque:
    """A binder whose type the checker does not model; using it is unsupported."""

    reason: str


Scope = dict[str, "Ty | Opaque"]


def _tok(t: Tree | Token) -> str:
    return str(t)


def _name(t: Tree | Token) -> str | None:
    """The identifier if ``t`` is a bare variable, else None."""
    if isinstance(t, Tree) and t.data == "var":
        return str(t.children[0])
    return None


def parse_type(t: Tree | Token) -> Ty:
    """The checker type denoted by a Lean type expression, or raise Unsupported."""
    name = _name(t)
    if name is not None:
        if name in TYPE_NAMES:
            return TYPE_NAMES[name]
        if name == "Prop":
            return PROP
        raise Unsupported(f"type {name} is not modelled")
    if isinstance(t, Tree) and t.data == "implies":
        dom = parse_type(t.children[0])
        cod = parse_type(t.children[1])
        if not isinstance(dom, Num):
            raise Unsupported("function type with a non-numeric domain")
        if isinstance(cod, Num):
            return FunTy((dom,), cod)
        if isinstance(cod, FunTy):
            return FunTy((dom, *cod.args), cod.ret)
        raise Unsupported("function type with a non-numeric codomain")
    if isinstance(t, Tree) and t.data == "apply":
        head, arg = t.children
        if _name(head) == "Finset":
            elem = parse_type(arg)
            if isinstance(elem, Num):
                return FinsetTy(elem)
    raise Unsupported(f"type {_render(t)} is not modelled")


def _render(t: Tree | Token) -> str:
    if isinstance(t, Token):
        return str(t)
    return " ".join(_render(c) for c in t.children)


def _leaves(t: Tree | Token) -> Iterator[Tree | Token]:
    """Leaves of a ``binop%`` tree: everything below arithmetic operators and pow bases."""
    if isinstance(t, Tree) and t.data in ARITH_OPS:
        for c in t.children:
            yield from _leaves(c)
    elif isinstance(t, Tree) and t.data == "pow":
        yield from _leaves(t.children[0])
    else:
        yield t


def _is_numeral_tree(t: Tree | Token) -> bool:
    return all(isinstance(x, Tree) and x.data in ("num", "dec") for x in _leaves(t))


class Elaborator:
    """Turns parse trees into typed nodes under a scope of typed variables."""

    def __init__(self, chooser: Chooser, *, goal_mode: bool) -> None:
        # goal_mode: the text is a pretty-printed goal, where ascriptions on numerals and
        # coercion targets are not shown, so numeral-only trees are ambiguous.
        self.chooser = chooser
        self.goal_mode = goal_mode

    # ----------------------------------------------------------------- propositions
    def prop(self, t: Tree | Token, scope: Scope) -> Node:
        if not isinstance(t, Tree):
            raise Unsupported(f"unexpected token {t}")
        d = t.data
        if d in ("iff", "implies", "or_", "and_"):
            op = {"iff": "iff", "implies": "imp", "or_": "or", "and_": "and"}[d]
            return Logic(op, (self.prop(t.children[0], scope), self.prop(t.children[1], scope)))
        if d == "not_":
            return Logic("not", (self.prop(t.children[0], scope),))
        if d == "rel":
            return self._rel(t, scope)
        if d == "modeq":
            a, b, kw, n = t.children
            if str(kw) == "MOD":
                ty = Num.NAT
            elif str(kw) == "ZMOD":
                ty = Num.INT
            else:
                raise Unsupported("[PMOD] is not modelled")
            return ModEq(self.term(a, scope, ty), self.term(b, scope, ty), self.term(n, scope, ty), ty)
        if d == "quant":
            return self._quant(t, scope)
        if d == "var":
            name = str(t.children[0])
            if name == "True":
                return Logic("true", ())
            if name == "False":
                return Logic("false", ())
            raise Unsupported(f"proposition variable {name}")
        if d in ("apply", "proj"):
            node = self._application(t, scope, None)
            if not isinstance(node.ty, PropTy):  # type: ignore[union-attr]
                raise Unsupported("a number where a proposition is expected")
            return node
        if d == "ite":
            c, a, b = t.children
            return Ite(self.prop(c, scope), self.prop(a, scope), self.prop(b, scope), PROP)
        raise Unsupported(f"proposition form {d}")

    def _rel(self, t: Tree, scope: Scope) -> Node:
        lhs, op_tok, rhs = t.children
        op = str(op_tok)
        if op in ("∈", "∉"):
            coll, elem_ty = self.collection(rhs, scope, None)
            elem = self.term(lhs, scope, elem_ty)
            if elem.ty != elem_ty:  # type: ignore[union-attr]
                raise Unsupported("membership at a different type")
            return Mem(elem, coll, op == "∉")
        if op not in _CMP:
            raise Unsupported(f"relation {op}")
        ty = self._tree_type([*_leaves(lhs), *_leaves(rhs)], scope, None, (lhs, rhs))
        a = self._build(lhs, scope, ty)
        b = self._build(rhs, scope, ty)
        if op == "∣" and ty not in (Num.NAT, Num.INT):
            raise Unsupported("divisibility outside ℕ and ℤ")
        if op in ("<", ">", "≤", "≥") and ty == Num.COMPLEX:
            raise Unsupported("order on ℂ")
        return Cmp(_CMP[op], a, b, ty)

    def _binders(self, t: Tree, scope: Scope) -> list[tuple[str, Tree | None, str | None, Tree | None]]:
        """(name, type tree, binder predicate, predicate bound) for each bound name."""
        if t.data == "qb_plain":
            names = [str(c) for c in t.children if isinstance(c, Token)]
            ty = next((c for c in t.children if isinstance(c, Tree)), None)
            return [(n, ty, None, None) for n in names]
        if t.data == "qb_groups":
            out: list[tuple[str, Tree | None, str | None, Tree | None]] = []
            for g in t.children:
                names = [str(c) for c in g.children if isinstance(c, Token)]
                ty = next(c for c in g.children if isinstance(c, Tree))
                out.extend((n, ty, None, None) for n in names)
            return out
        if t.data == "qb_pred":
            name, pred, bound = t.children
            return [(str(name), None, str(pred), bound)]
        raise Unsupported(f"binder form {t.data}")

    def _quant(self, t: Tree, scope: Scope) -> Node:
        kind_tok, binders, body = t.children
        kind = str(kind_tok)
        bs = self._binders(binders, scope)
        return self._quant_rec(kind, bs, body, scope)

    def _quant_rec(self, kind: str, bs: list, body: Tree, scope: Scope) -> Node:
        if not bs:
            return self.prop(body, scope)
        (name, ty_tree, pred, bound), rest = bs[0], bs[1:]
        if kind == "∃!" and (rest or pred):
            raise Unsupported("∃! with several binders or a binder predicate")
        domain: Node | None = None
        guard: Node | None = None
        if ty_tree is not None:
            var_ty = parse_type(ty_tree)
        elif pred in ("∈", "∉"):
            _, var_ty = self.collection(bound, scope, None)  # type: ignore[arg-type]
        else:
            var_ty = self.binder_type(name, body, scope, bound)
        if not isinstance(var_ty, Num):
            raise Unsupported(f"quantifier over {var_ty}")
        inner: Scope = {**scope, name: var_ty}
        if pred is not None:
            rel = Tree("rel", [Tree("var", [Token("NAME", name)]), Token("RELOP", pred), bound])
            guard = self.prop(rel, inner)
            if pred == "∈" and isinstance(guard, Mem) and _finite_coll(guard.coll):
                domain = guard.coll
        body_node = self._quant_rec(kind, rest, body, inner)
        if guard is not None:
            body_node = Logic("imp" if kind == "∀" else "and", (guard, body_node))
        return Quant({"∀": "forall", "∃": "exists", "∃!": "exists1"}[kind], name, var_ty, domain, body_node)

    # ------------------------------------------------------------------ binder types
    def binder_type(self, name: str, body: Tree | Token, scope: Scope, bound: Tree | None = None) -> Num:
        """The type Lean would give an unannotated bound variable, from its uses."""
        probe: Scope = {**scope, name: Opaque("being inferred")}
        if bound is not None:
            ty = self.infer(bound, probe)
            if ty is not None:
                return ty
        found = self._usage_type(name, body, probe)
        if found is not None:
            return found
        if self.goal_mode:
            return self.chooser.choose([Num.NAT, Num.INT, Num.REAL])
        return Num.NAT  # Lean's default for numerals decides an otherwise free type

    def _usage_type(self, name: str, t: Tree | Token, scope: Scope) -> Num | None:
        if not isinstance(t, Tree):
            return None
        if t.data == "apply":
            head, args = _flatten_apply(t)
            fname = _name(head)
            if fname is not None:
                sty = scope.get(fname)
                if isinstance(sty, FunTy):
                    for i, a in enumerate(args):
                        if _name(a) == name and i < len(sty.args):
                            return sty.args[i]
                canon = B.resolve(fname)
                if canon is not None:
                    sig = B.SIGNATURES[canon]
                    for i, a in enumerate(args):
                        if _name(a) == name and i < len(sig.args) and isinstance(sig.args[i], Num):
                            return sig.args[i]  # type: ignore[return-value]
        if t.data == "rel" and str(t.children[1]) in _CMP:
            leaves = [*_leaves(t.children[0]), *_leaves(t.children[2])]
            if any(_name(x) == name for x in leaves):
                ty: Num | None = None
                for x in leaves:
                    if _name(x) != name:
                        try:
                            ty = join(ty, self.infer(x, scope))
                        except Unsupported:
                            continue
                if ty is not None:
                    return ty
        for c in t.children:
            r = self._usage_type(name, c, scope)
            if r is not None:
                return r
        return None

    # --------------------------------------------------------------------- numbers
    def term(self, t: Tree | Token, scope: Scope, expected: Num | None) -> Node:
        """A number-valued term; ``expected`` takes part in the maximal-type computation."""
        ty = self._tree_type(list(_leaves(t)), scope, expected, (t,))
        return self._build(t, scope, ty)

    def _tree_type(self, leaves: list, scope: Scope, expected: Num | None, roots: tuple) -> Num:
        ty = expected
        coe_src: Num | None = None
        for leaf in leaves:
            if isinstance(leaf, Tree) and leaf.data == "coe":
                coe_src = join(coe_src, self.infer(leaf.children[0], scope))
                continue
            ty = join(ty, self.infer(leaf, scope))
        if ty is not None and (coe_src is None or ty > coe_src):
            return ty
        if coe_src is not None:
            # ``↑x`` whose target nothing fixes: every larger type is a possible reading
            options = [n for n in (Num.INT, Num.RAT, Num.REAL) if n > coe_src] or [Num.COMPLEX]
            if ty is not None and ty >= coe_src:
                options = [n for n in options if n >= ty]
            return self.chooser.choose(options)
        if any(isinstance(x, Tree) and x.data == "dec" for x in leaves):
            if self.goal_mode:
                return self.chooser.choose([Num.RAT, Num.REAL])
            raise Unsupported("decimal literal whose type nothing fixes")
        if self.goal_mode:
            return self.chooser.choose([Num.NAT, Num.INT, Num.REAL])
        return Num.NAT  # Lean's default instance for numerals

    def _build(self, t: Tree | Token, scope: Scope, ty: Num) -> Node:
        if isinstance(t, Tree) and t.data in ARITH_OPS:
            args = tuple(self._build(c, scope, ty) for c in t.children)
            if t.data == "neg" and ty == Num.NAT:
                raise Unsupported("negation on ℕ (no Neg ℕ instance)")
            if t.data == "mod" and ty.is_field:
                raise Unsupported("% on a field")
            return Arith(t.data, args, ty)
        if isinstance(t, Tree) and t.data == "pow":
            base = self._build(t.children[0], scope, ty)
            exp = self._exponent(t.children[1], scope, ty)
            return Pow(base, exp, ty, exp.ty)  # type: ignore[union-attr]
        node = self._leaf(t, scope, ty)
        nty = node.ty  # type: ignore[union-attr]
        if not isinstance(nty, Num):
            raise Unsupported("a non-number inside arithmetic")
        if nty == ty:
            return node
        if nty < ty:
            return Coe(node, nty, ty)
        raise Unsupported(f"no coercion from {nty.lean} to {ty.lean}")

    def _exponent(self, t: Tree | Token, scope: Scope, base_ty: Num) -> Node:
        ety: Num | None = None
        for leaf in _leaves(t):
            ety = join(ety, self.infer(leaf, scope))
        if ety is None:
            if (
                self.goal_mode
                and base_ty.is_field
                and any(
                    isinstance(x, Tree) and x.data in ("div", "neg")
                    for x in t.iter_subtrees()  # type: ignore[union-attr]
                )
            ):
                ety = self.chooser.choose([Num.NAT, Num.INT, Num.REAL])
            else:
                ety = Num.NAT  # Monoid.npow is the default instance for ``^``
        node = self.term(t, scope, ety)
        ety = node.ty  # type: ignore[union-attr]
        if ety == Num.INT and not base_ty.is_field:
            raise Unsupported("integer exponent on ℕ/ℤ")
        if ety.is_field and not (ety == Num.REAL and base_ty == Num.REAL):  # type: ignore[union-attr]
            raise Unsupported(f"power with exponent in {ety.lean} and base in {base_ty.lean}")  # type: ignore[union-attr]
        return node

    def infer(self, t: Tree | Token, scope: Scope) -> Num | None:
        """The type a leaf has on its own (None when only the context can fix it)."""
        if not isinstance(t, Tree):
            return None
        d = t.data
        if d in ARITH_OPS or d == "pow":
            ty: Num | None = None
            for leaf in _leaves(t):
                ty = join(ty, self.infer(leaf, scope))
            return ty
        if d in ("num", "dec", "coe"):
            return None
        if d == "var":
            name = str(t.children[0])
            if name in scope:
                sty = scope[name]
                if isinstance(sty, Opaque):
                    return None
                return sty if isinstance(sty, Num) else None
            canon = B.resolve(name)
            if canon is not None:
                ret = B.SIGNATURES[canon].ret
                return ret if isinstance(ret, Num) else None
            raise Unsupported(f"unknown identifier {name}")
        if d == "ascribe":
            ty2 = parse_type(t.children[1])
            return ty2 if isinstance(ty2, Num) else None
        if d in ("abs", "inv"):
            return self.infer(t.children[0], scope)
        if d == "sqrt" or d == "integral":
            return Num.REAL
        if d in ("floor", "ceil"):
            return Num.INT
        if d in ("nat_floor", "nat_ceil", "factorial"):
            return Num.NAT
        if d == "ite":
            return join(self.infer(t.children[1], scope), self.infer(t.children[2], scope))
        if d == "bigop":
            _, binder, body = t.children
            var, var_ty, _ = self._bigop_binder(binder, scope, None)
            return self.infer(body, {**scope, var: var_ty})
        if d in ("apply", "proj"):
            head, args = _flatten_apply(t)
            if isinstance(head, Tree) and head.data == "proj":
                return (
                    Num.NAT
                    if str(head.children[1])
                    in (".card", ".length", ".natAbs", ".factorial", ".succ", ".toNat")
                    else None
                )
            fname = _name(head)
            if fname is None:
                return None
            sty = scope.get(fname)
            if isinstance(sty, FunTy):
                return sty.ret
            canon = B.resolve(fname)
            if canon == "Finset.card":
                return Num.NAT
            if canon is None:
                if fname in ("Finset.sum", "Finset.prod"):
                    return None
                if fname in ("Finset.card", "List.sum", "List.length"):
                    return Num.NAT if fname != "List.sum" else None
                raise Unsupported(f"unknown function {fname}")
            sig = B.SIGNATURES[canon]
            if isinstance(sig.ret, Num):
                return sig.ret
            if sig.ret in ("a", "f"):
                ty3: Num | None = None
                for kind, a in zip(sig.args, args, strict=False):
                    if kind == sig.ret:
                        ty3 = join(ty3, self.infer(a, scope))
                return ty3
            return None
        return None

    def _leaf(self, t: Tree | Token, scope: Scope, hint: Num) -> Node:
        if not isinstance(t, Tree):
            raise Unsupported(f"unexpected token {t}")
        d = t.data
        if d == "num":
            return Lit(Fraction(int(str(t.children[0]))), hint)
        if d == "dec":
            if not hint.is_field:
                raise Unsupported("decimal literal in ℕ/ℤ")
            return Lit(Fraction(str(t.children[0])), hint)
        if d == "var":
            name = str(t.children[0])
            if name in scope:
                sty = scope[name]
                if isinstance(sty, Opaque):
                    raise Unsupported(f"{name}: {sty.reason}")
                if not isinstance(sty, Num):
                    raise Unsupported(f"{name} is not a number")
                return Ref(name, sty)
            return self._application(t, scope, hint)
        if d == "ascribe":
            ty = parse_type(t.children[1])
            if not isinstance(ty, Num):
                raise Unsupported("ascription to a non-number type")
            return self.term(t.children[0], scope, ty)
        if d == "coe":
            inner = self.term(t.children[0], scope, None)
            src = inner.ty  # type: ignore[union-attr]
            if hint > src:
                return Coe(inner, src, hint)
            return inner  # ``↑x`` at its own type is ``x``
        if d == "abs":
            arg = self._poly_arg(t.children[0], scope, hint)
            if arg.ty == Num.COMPLEX:  # type: ignore[union-attr]
                raise Unsupported("|z| on ℂ")
            return Call("abs", (arg,), arg.ty)  # type: ignore[union-attr]
        if d == "inv":
            arg = self._poly_arg(t.children[0], scope, hint)
            if not arg.ty.is_field:  # type: ignore[union-attr]
                raise Unsupported("⁻¹ outside a field")
            return Arith("inv", (arg,), arg.ty)  # type: ignore[union-attr]
        if d == "sqrt":
            return Call("Real.sqrt", (self.term(t.children[0], scope, Num.REAL),), Num.REAL)
        if d in ("floor", "ceil", "nat_floor", "nat_ceil"):
            arg = self._poly_arg(t.children[0], scope, Num.REAL)
            if not arg.ty.is_field or arg.ty == Num.COMPLEX:  # type: ignore[union-attr]
                raise Unsupported("floor outside ℚ/ℝ")
            fn = {"floor": "Int.floor", "ceil": "Int.ceil", "nat_floor": "Nat.floor", "nat_ceil": "Nat.ceil"}[
                d
            ]
            return Call(fn, (arg,), Num.INT if d in ("floor", "ceil") else Num.NAT)
        if d == "factorial":
            return Call("Nat.factorial", (self.term(t.children[0], scope, Num.NAT),), Num.NAT)
        if d == "ite":
            c, a, b = t.children
            ty = join(self.infer(a, scope), self.infer(b, scope)) or hint
            return Ite(self.prop(c, scope), self.term(a, scope, ty), self.term(b, scope, ty), ty)
        if d == "bigop":
            return self._bigop(t, scope, hint)
        if d == "integral":
            return self._integral(t, scope)
        if d in ("apply", "proj"):
            return self._application(t, scope, hint)
        raise Unsupported(f"term form {d}")

    def _poly_arg(self, t: Tree | Token, scope: Scope, hint: Num | None) -> Node:
        """Elaborate the argument of a polymorphic function: its own type, else the context's."""
        own = self.infer(t, scope)
        return self.term(t, scope, own if own is not None else hint)

    # ---------------------------------------------------------------- applications
    def _application(self, t: Tree, scope: Scope, hint: Num | None) -> Node:
        head, args = _flatten_apply(t)
        if isinstance(head, Tree) and head.data == "proj":
            obj, field_tok = head.children
            return self._dot_call(obj, str(field_tok)[1:], args, scope, hint)
        fname = _name(head)
        if fname is None:
            raise Unsupported("application of a compound term")
        sty = scope.get(fname)
        if isinstance(sty, Opaque):
            raise Unsupported(f"{fname}: {sty.reason}")
        if isinstance(sty, FunTy):
            if len(args) != len(sty.args):
                raise Unsupported(f"partial application of {fname}")
            return UserApp(
                fname, tuple(self.term(a, scope, ty) for a, ty in zip(args, sty.args, strict=True)), sty.ret
            )
        if sty is not None:
            raise Unsupported(f"{fname} is applied but is not a function")
        if fname in ("Finset.sum", "Finset.prod") and len(args) == 2:
            return self._bigop_app(fname, args[0], args[1], scope, hint)
        if fname in ("Finset.card", "List.sum", "List.length", "List.prod", "Finset.filter"):
            return self._container_call(fname, args, scope, hint)
        canon = B.resolve(fname)
        if canon is None:
            raise Unsupported(f"unknown function {fname}")
        return self._call(canon, args, scope, hint)

    def _dot_call(self, obj: Tree | Token, fld: str, args: list, scope: Scope, hint: Num | None) -> Node:
        if fld in ("card",):
            return self._container_call("Finset.card", [obj, *args], scope, hint)
        if fld in ("sum", "length", "prod"):
            return self._container_call("List." + fld, [obj, *args], scope, hint)
        oty = self.infer(obj, scope)
        ns = {Num.NAT: "Nat.", Num.INT: "Int.", Num.REAL: "Real."}.get(oty) if oty is not None else None
        if ns is None:
            raise Unsupported(f"dot notation .{fld}")
        canon = B.resolve(ns + fld)
        if canon is None:
            raise Unsupported(f"unknown function {ns}{fld}")
        return self._call(canon, [obj, *args], scope, hint)

    def _call(self, canon: str, args: list, scope: Scope, hint: Num | None) -> Node:
        sig = B.SIGNATURES[canon]
        if len(args) != len(sig.args):
            raise Unsupported(f"{canon} applied to {len(args)} arguments")
        poly: Num | None = None
        field_ty: Num | None = None
        for kind, a in zip(sig.args, args, strict=True):
            if kind == "a":
                poly = join(poly, self.infer(a, scope))
            elif kind == "f":
                field_ty = join(field_ty, self.infer(a, scope))
        if poly is None:
            poly = hint if hint is not None and sig.ret == "a" else None
            if poly is None:
                poly = self._default_type()
        if field_ty is None:
            field_ty = Num.REAL
        if not field_ty.is_field or field_ty == Num.COMPLEX:
            raise Unsupported(f"{canon} on {field_ty.lean}")
        out = []
        for kind, a in zip(sig.args, args, strict=True):
            want = poly if kind == "a" else field_ty if kind == "f" else kind
            if not isinstance(want, Num):
                raise Unsupported(f"argument kind of {canon}")
            out.append(self.term(a, scope, want))
        ret = sig.ret
        if ret == "a":
            ret = poly
        elif ret == "f":
            ret = field_ty
        elif ret in ("finset", "set"):
            if poly not in (Num.NAT, Num.INT) and ret == "finset":
                raise Unsupported(f"{canon} over {poly.lean}")
            ret = FinsetTy(poly)
        if canon in ("gcd", "lcm") and poly not in (Num.NAT, Num.INT):
            raise Unsupported(f"{canon} over {poly.lean}")
        if canon in ("Even", "Odd") and poly not in (Num.NAT, Num.INT):
            raise Unsupported(f"{canon} over {poly.lean}")
        return Call(canon, tuple(out), ret)  # type: ignore[arg-type]

    def _default_type(self) -> Num:
        if self.goal_mode:
            return self.chooser.choose([Num.NAT, Num.INT, Num.REAL])
        return Num.NAT

    def _container_call(self, fname: str, args: list, scope: Scope, hint: Num | None) -> Node:
        if fname == "Finset.card" and len(args) == 1:
            coll, _ = self.collection(args[0], scope, None)
            if not _finite_coll(coll):
                raise Unsupported("card of a set that is not a finite set")
            return Call("Finset.card", (coll,), Num.NAT)
        if fname == "Finset.filter" and len(args) == 2:
            coll, ety = self.collection(args[1], scope, None)
            return self._filter(args[0], coll, ety, scope)
        if fname.startswith("List.") and len(args) == 1:
            lst = self._list(args[0], scope)
            if fname == "List.length":
                return Call(fname, (lst,), Num.NAT)
            return Call(fname, (lst,), lst.ty.elem)  # type: ignore[union-attr]
        raise Unsupported(f"{fname} with {len(args)} arguments")

    def _list(self, t: Tree | Token, scope: Scope) -> Node:
        node = (
            self._application(t, scope, None) if isinstance(t, Tree) and t.data in ("apply", "proj") else None
        )
        if node is None or not isinstance(node.ty, ListTy):  # type: ignore[union-attr]
            raise Unsupported("list expression")
        return node

    def _filter(self, pred: Tree | Token, coll: Node, ety: Num, scope: Scope) -> Node:
        if not (isinstance(pred, Tree) and pred.data == "lam"):
            raise Unsupported("Finset.filter with a predicate that is not a lambda")
        _, binders, _, body = pred.children
        params = self._lam_params(binders, [ety])
        ((var, vty),) = params
        if vty != ety:
            raise Unsupported("filter predicate at a different type")
        return Filter(var, self.prop(body, {**scope, var: ety}), coll, ety)

    def _lam_params(self, binders: Tree, types: list[Num]) -> list[tuple[str, Num]]:
        if binders.data == "fb_plain":
            names = [str(c) for c in binders.children if isinstance(c, Token)]
            ann = next((c for c in binders.children if isinstance(c, Tree)), None)
            if len(names) != len(types):
                raise Unsupported("lambda arity")
            if ann is not None:
                pt = parse_type(ann)
                return [(n, pt) for n in names]  # type: ignore[misc]
            return list(zip(names, types, strict=True))
        out: list[tuple[str, Num]] = []
        for g in binders.children:
            names = [str(c) for c in g.children if isinstance(c, Token)]
            pt = parse_type(next(c for c in g.children if isinstance(c, Tree)))
            if not isinstance(pt, Num):
                raise Unsupported("lambda parameter type")
            out.extend((n, pt) for n in names)
        if len(out) != len(types):
            raise Unsupported("lambda arity")
        return out

    def lam(self, t: Tree, param_types: tuple[Num, ...], ret: Num, scope: Scope) -> Lam:
        """Elaborate ``fun x => body`` as a function ``param_types → ret``."""
        _, binders, _, body = t.children
        params = self._lam_params(binders, list(param_types))
        inner: Scope = {**scope, **dict(params)}
        return Lam(tuple(params), self.term(body, inner, ret), FunTy(param_types, ret))

    # -------------------------------------------------------------- collections
    def collection(self, t: Tree | Token, scope: Scope, elem_hint: Num | None) -> tuple[Node, Num]:
        """A finite set (or a ``Set`` interval, usable for membership only) and its element type."""
        if isinstance(t, Tree) and t.data == "ascribe":
            ty = parse_type(t.children[1])
            if isinstance(ty, FinsetTy):
                return self.collection(t.children[0], scope, ty.elem)
            raise Unsupported("collection ascription")
        if isinstance(t, Tree) and t.data == "set_lit":
            ety: Num | None = elem_hint
            for c in t.children:
                ety = join(ety, self.infer(c, scope))
            if ety is None:
                ety = self._default_type()
            return FinsetLit(tuple(self.term(c, scope, ety) for c in t.children), ety), ety
        if isinstance(t, Tree) and t.data == "empty_set":
            ety2 = elem_hint or self._default_type()
            return FinsetLit((), ety2), ety2
        if isinstance(t, Tree) and t.data in ("apply", "proj", "var"):
            head, args = _flatten_apply(t)
            fname = _name(head)
            if fname == "Finset.filter":
                node = self._container_call(fname, args, scope, None)
                return node, node.elem_ty  # type: ignore[union-attr]
            canon = B.resolve(fname) if fname is not None else None
            if canon is not None:
                node = self._call(canon, args, scope, elem_hint)
                if isinstance(node.ty, FinsetTy):  # type: ignore[union-attr]
                    return node, node.ty.elem  # type: ignore[union-attr]
        raise Unsupported(f"collection {_render(t)[:40]}")

    def _bigop_binder(self, binder: Tree, scope: Scope, hint: Num | None) -> tuple[str, Num, Node]:
        if binder.data == "bb_in":
            toks = [c for c in binder.children if not (isinstance(c, Token) and c.type == "MEMBER")]
            var = str(toks[0])
            ann = parse_type(toks[1]) if len(toks) == 3 else None
            if ann is not None and not isinstance(ann, Num):
                raise Unsupported("big operator over a non-number type")
            coll, ety = self.collection(toks[-1], scope, ann)  # type: ignore[arg-type]
            return var, ety, coll
        if binder.data == "bb_lt":
            var, _, bound = binder.children
            n = self.term(bound, scope, Num.NAT)
            return str(var), Num.NAT, Call("Finset.range", (n,), FinsetTy(Num.NAT))
        if binder.data == "bb_all" and len(binder.children) == 2:
            ty = binder.children[1]
            if isinstance(ty, Tree) and ty.data == "apply" and _name(ty.children[0]) == "Fin":
                n = self.term(ty.children[1], scope, Num.NAT)
                return str(binder.children[0]), Num.NAT, Call("Finset.range", (n,), FinsetTy(Num.NAT))
        raise Unsupported("big operator over a whole type")

    def _bigop(self, t: Tree, scope: Scope, hint: Num | None) -> Node:
        kind, binder, body = t.children
        var, var_ty, coll = self._bigop_binder(binder, scope, hint)
        inner: Scope = {**scope, var: var_ty}
        body_node = self._poly_arg(body, inner, hint)
        return BigOp("sum" if str(kind) == "∑" else "prod", var, var_ty, coll, body_node, body_node.ty)  # type: ignore[arg-type, union-attr]

    def _bigop_app(
        self, fname: str, coll_t: Tree | Token, f_t: Tree | Token, scope: Scope, hint: Num | None
    ) -> Node:
        coll, ety = self.collection(coll_t, scope, None)
        if not (isinstance(f_t, Tree) and f_t.data == "lam"):
            raise Unsupported(f"{fname} of a non-lambda")
        _, binders, _, body = f_t.children
        ((var, _),) = self._lam_params(binders, [ety])
        body_node = self._poly_arg(body, {**scope, var: ety}, hint)
        return BigOp("sum" if fname == "Finset.sum" else "prod", var, ety, coll, body_node, body_node.ty)  # type: ignore[arg-type, union-attr]

    def _integral(self, t: Tree, scope: Scope) -> Node:
        ch = t.children
        var = str(ch[0])
        if len(ch) == 5:
            ann = parse_type(ch[1])
            if ann != Num.REAL:
                raise Unsupported("integral over a type other than ℝ")
        lo, hi, body = ch[-3], ch[-2], ch[-1]
        inner: Scope = {**scope, var: Num.REAL}
        return Integral(
            var,
            self.term(lo, scope, Num.REAL),
            self.term(hi, scope, Num.REAL),
            self.term(body, inner, Num.REAL),
        )


def _flatten_apply(t: Tree) -> tuple[Tree | Token, list]:
    args: list = []
    while isinstance(t, Tree) and t.data == "apply":
        args.insert(0, t.children[1])
        t = t.children[0]
    return t, args


def _finite_coll(node: Node) -> bool:
    if isinstance(node, FinsetLit | Filter):
        return True
    return isinstance(node, Call) and not node.fn.startswith("Set.")
