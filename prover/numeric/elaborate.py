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


@dataclass(frozen=True, slots=True)
class FinIndex:
    """The index of `∑ i : Fin n, …`: a `Fin n`, whose arithmetic wraps modulo n. Only its value
    (`(i : ℕ)`, `(i : ℝ)`, `i.val`, `↑i` under a fixed target) is read; anything else is unsupported."""


Scope = dict[str, "Ty | Opaque | FinIndex"]


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
            # a collection whose terms do not fix its element type gets the element's
            coll, elem_ty = self.collection(rhs, scope, self.infer(lhs, scope))
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
            elem = self._elem_from_body(name, bound, body, scope)  # type: ignore[arg-type]
            _, var_ty = self.collection(bound, scope, elem)  # type: ignore[arg-type]
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
        if t.data == "ascribe" and any(_name(x) == name for x in _leaves(t.children[0])):
            # `(x : ℝ)`, `(1 / x : ℚ)` with x's type still open: the tree's type (the ascribed one,
            # or a larger leaf's) is unified with x's (no coercion is inserted for an unknown type)
            ty = parse_type(t.children[1])
            if not isinstance(ty, Num):
                raise Unsupported(f"{name} ascribed a type that is not a number type")
            for x in _leaves(t.children[0]):
                if _name(x) != name:
                    ty = join(ty, self.infer(x, scope))  # type: ignore[assignment]
            return ty
        if t.data == "coe" and _name(t.children[0]) == name:
            raise Unsupported(f"↑{name} before anything fixes the type of {name}")
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
        """A number-valued term; ``expected`` takes part in the maximal-type computation.

        A term that is not an arithmetic tree is elaborated *with* the expected type, as Lean does:
        the result type of `∑`, `∏`, `|·|`, `min`, `max` and `if` is unified with it first, so
        `(∑ k in range 2, 1 / (k + 1) : ℝ)` sums in ℝ. (Leaves inside an arithmetic tree are
        elaborated without it, then cast: that is `_build`'s path.)
        """
        if expected is not None:
            node = self._with_expected(t, scope, expected)
            if node is not None:
                return node
        ty = self._tree_type(list(_leaves(t)), scope, expected, (t,))
        return self._build(t, scope, ty)

    def _with_expected(self, t: Tree | Token, scope: Scope, expected: Num) -> Node | None:
        if not isinstance(t, Tree):
            return None
        d = t.data
        node: Node | None = None
        if d == "bigop":
            node = self._bigop(t, scope, expected, exact=True)
        elif d == "abs":
            arg = self.term(t.children[0], scope, expected)
            if expected == Num.COMPLEX:
                raise Unsupported("|z| on ℂ")
            node = Call("abs", (arg,), expected)
        elif d == "ite":
            c, a, b = t.children
            node = Ite(self.prop(c, scope), self.term(a, scope, expected), self.term(b, scope, expected),
                       expected)
        elif d == "apply":
            head, args = _flatten_apply(t)
            fname = _name(head)
            if fname in ("Finset.sum", "Finset.prod") and len(args) == 2 and fname not in scope:
                node = self._bigop_app(fname, args[0], args[1], scope, expected, exact=True)
            elif fname is not None and fname not in scope and B.resolve(fname) in ("min", "max") \
                    and len(args) == 2:
                canon = B.resolve(fname)
                node = Call(canon, tuple(self.term(a, scope, expected) for a in args), expected)  # type: ignore[arg-type]
        if node is not None and node.ty != expected:  # type: ignore[union-attr]
            raise Unsupported("a term whose type differs from its expected type")
        return node

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
        if coe_src is not None and expected is not None and expected >= coe_src:
            return ty  # the expected type is the coercion's target (`(↑n : ℕ)` is `n`)
        if coe_src is not None and not self.goal_mode:
            # `↑n` with nothing of a larger type beside it and no expected type: Lean's target
            # for it is not read off the text with certainty
            raise Unsupported("a coercion ↑x whose target nothing fixes")
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
                if isinstance(sty, Opaque | FinIndex):
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
            var, var_ty, _ = self._bigop_binder(binder, scope, None, body)
            return self.infer(body, {**scope, var: FinIndex() if binder.data == "bb_all" else var_ty})
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
                if isinstance(sty, FinIndex):
                    raise Unsupported(f"{name} is a Fin n (its arithmetic wraps): not modelled")
                if not isinstance(sty, Num):
                    raise Unsupported(f"{name} is not a number")
                return Ref(name, sty)
            return self._application(t, scope, hint)
        if d == "ascribe":
            ty = parse_type(t.children[1])
            if not isinstance(ty, Num):
                raise Unsupported("ascription to a non-number type")
            fin = self._fin_value(t.children[0], scope, ty)
            if fin is not None:
                return fin
            return self.term(t.children[0], scope, ty)
        if d == "coe":
            fin = self._fin_value(t.children[0], scope, hint)
            if fin is not None:
                return fin
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
            # An operand `if`: elaborated without the expected type, so its first branch fixes the
            # type (the second must fit it), then it is cast like any leaf.
            c, a, b = t.children
            ta, tb = self.infer(a, scope), self.infer(b, scope)
            if ta is not None and tb is not None and tb > ta:
                raise Unsupported("an if whose second branch has a larger type than its first")
            # (explicit None tests: ℕ is `Num.NAT == 0`, which `or` would skip)
            ty = ta if ta is not None else tb if tb is not None else hint
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

    def _fin_value(self, t: Tree | Token, scope: Scope, target: Num | None) -> Node | None:
        """`(i : T)` / `↑i` for a `Fin n` index `i`: its value (`Fin.val`) cast to `T`, the only
        coercion out of `Fin n`; None when `t` is not such an index."""
        name = _name(t)
        if name is None or not isinstance(scope.get(name), FinIndex):
            return None
        if target is None:
            raise Unsupported(f"↑{name} with a target nothing fixes")
        ref = Ref(name, Num.NAT)
        return ref if target == Num.NAT else Coe(ref, Num.NAT, target)

    def _dot_call(self, obj: Tree | Token, fld: str, args: list, scope: Scope, hint: Num | None) -> Node:
        oname = _name(obj)
        if fld == "val" and not args and oname is not None and isinstance(scope.get(oname), FinIndex):
            return Ref(oname, Num.NAT)
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
            # the expected result type fixes a polymorphic argument; for an interval, the element
            # type the caller knows (e.g. fixed by a big operator's summand)
            poly = hint if hint is not None and sig.ret in ("a", "finset", "set") else None
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

    def _bigop_binder(self, binder: Tree, scope: Scope, hint: Num | None,
                      body: Tree | Token | None = None) -> tuple[str, Num, Node]:
        if binder.data == "bb_in":
            toks = [c for c in binder.children if not (isinstance(c, Token) and c.type == "MEMBER")]
            var = str(toks[0])
            ann = parse_type(toks[1]) if len(toks) == 3 else None
            if ann is not None and not isinstance(ann, Num):
                raise Unsupported("big operator over a non-number type")
            if ann is None and body is not None:
                ann = self._elem_from_body(var, toks[-1], body, scope)
            coll, ety = self.collection(toks[-1], scope, ann)  # type: ignore[arg-type]
            return var, ety, coll
        if binder.data == "bb_lt":
            var, _, bound = binder.children
            n = self.term(bound, scope, Num.NAT)
            return str(var), Num.NAT, Call("Finset.range", (n,), FinsetTy(Num.NAT))
        if binder.data == "bb_all" and len(binder.children) == 2:
            ty = binder.children[1]
            if isinstance(ty, Tree) and ty.data == "apply" and _name(ty.children[0]) == "Fin":
                # the index is a `Fin n` (read through `FinIndex`): the sum runs over its values
                n = self.term(ty.children[1], scope, Num.NAT)
                return str(binder.children[0]), Num.NAT, Call("Finset.range", (n,), FinsetTy(Num.NAT))
        raise Unsupported("big operator over a whole type")

    def _elem_from_body(self, var: str, coll: Tree | Token, body: Tree | Token, scope: Scope) -> Num | None:
        """The element type of a collection whose own terms do not fix it (`Finset.Icc 1 n` with
        numerals only): Lean elaborates the collection first with its numerals postponed, then
        the body, whose use of the variable may fix it; else the numerals default to ℕ."""
        try:
            if isinstance(coll, Tree) and any(self.infer(x, scope) is not None for x in _arith_leaves(coll)):
                return None  # the collection's own terms fix it
        except Unsupported:
            return None
        return self._usage_type(var, body, {**scope, var: Opaque("being inferred")})

    def _bigop(self, t: Tree, scope: Scope, hint: Num | None, exact: bool = False) -> Node:
        kind, binder, body = t.children
        var, var_ty, coll = self._bigop_binder(binder, scope, hint, body)
        fin = binder.data == "bb_all"
        inner: Scope = {**scope, var: FinIndex() if fin else var_ty}
        body_node = self.term(body, inner, hint) if exact else self._poly_arg(body, inner, hint)
        return BigOp("sum" if str(kind) == "∑" else "prod", var, var_ty, coll, body_node, body_node.ty)  # type: ignore[arg-type, union-attr]

    def _bigop_app(
        self, fname: str, coll_t: Tree | Token, f_t: Tree | Token, scope: Scope, hint: Num | None,
        exact: bool = False,
    ) -> Node:
        if not (isinstance(f_t, Tree) and f_t.data == "lam"):
            raise Unsupported(f"{fname} of a non-lambda")
        _, binders, _, body = f_t.children
        names = [str(c) for c in binders.children if isinstance(c, Token)]
        elem = self._elem_from_body(names[0], coll_t, body, scope) if len(names) == 1 else None
        coll, ety = self.collection(coll_t, scope, elem)
        ((var, _),) = self._lam_params(binders, [ety])
        inner: Scope = {**scope, var: ety}
        body_node = self.term(body, inner, hint) if exact else self._poly_arg(body, inner, hint)
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


def _arith_leaves(t: Tree | Token) -> Iterator[Tree | Token]:
    """The leaves of every argument of a collection term (`Finset.Icc a b` → leaves of a and b)."""
    if isinstance(t, Tree) and t.data == "apply":
        _, args = _flatten_apply(t)
        for a in args:
            yield from _leaves(a)
    elif isinstance(t, Tree) and t.data == "set_lit":
        for c in t.children:
            yield from _leaves(c)


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
