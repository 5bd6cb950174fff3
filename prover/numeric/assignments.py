"""Candidate assignments for a problem's variables.

In order: values that solve the equality hypotheses (sympy, so constrained problems get real
witnesses, radicals included), then a small grid of simple values, constants of the
statement and their neighbours (boundary values), then seeded random values.  Candidates
need not satisfy anything: every hypothesis is checked exactly before the conclusion is
looked at, so this module only has to be good at finding, never correct.
"""

from __future__ import annotations

import contextlib
import itertools
import random
from collections.abc import Iterator
from fractions import Fraction

import sympy

from prover.numeric.errors import Undetermined, Unsupported
from prover.numeric.evaluate import Evaluator
from prover.numeric.nodes import (
    Arith,
    Call,
    Cmp,
    Coe,
    Lit,
    Logic,
    Mem,
    Node,
    Pow,
    Ref,
    UserApp,
)
from prover.numeric.problem import Problem
from prover.numeric.types import Num

Assignment = dict[str, object]

_SMALL_INT = [0, 1, -1, 2, -2, 3, -3, 4, -4, 5, -5, 6, -6, 7, 8, 9, 10, -10, 11, 12]
_MORE_INT = [-7, 13, -8, 14, 17, 18, -9, 21, 27, 28, 32, 35, 40, 42, 45, 48, 49, 60, 72, 81]
_REAL_EXTRA = [
    Fraction(1, 2),
    Fraction(-1, 2),
    Fraction(3, 2),
    Fraction(1, 3),
    Fraction(-3, 2),
    Fraction(2, 3),
]
_BIG = [15, 16, 20, 24, 25, 30, 36, 50, 64, 99, 100, 101, 1000]


def sample_values(ty: Num) -> list[object]:
    """Values tried for an unbounded quantifier over ``ty``."""
    if ty == Num.NAT:
        return [*range(0, 25), 30, 50, 100]
    if ty == Num.INT:
        return [v for v in _SMALL_INT] + [-7, -8, -9, 13, -12, 20, -20, 100, -100]
    if ty in (Num.RAT, Num.REAL):
        return [sympy.Integer(v) for v in _SMALL_INT[:11]] + [
            sympy.Rational(f.numerator, f.denominator) for f in _REAL_EXTRA
        ]
    return []


def _convert(v: Fraction | int, ty: Num) -> object | None:
    f = Fraction(v)
    if ty in (Num.NAT, Num.INT):
        if f.denominator != 1 or (ty == Num.NAT and f < 0):
            return None
        return int(f)
    return sympy.Rational(f.numerator, f.denominator)


def _constants(problem: Problem) -> list[Fraction]:
    found: list[Fraction] = []

    def walk(x: object) -> None:
        if isinstance(x, Lit):
            found.append(x.value)
        elif isinstance(x, tuple):
            for y in x:
                walk(y)
        elif hasattr(x, "__dataclass_fields__"):
            for name in x.__dataclass_fields__:  # type: ignore[attr-defined]
                walk(getattr(x, name))

    walk(tuple(h for _, h in problem.hypotheses))
    walk(problem.conclusion)
    out: list[Fraction] = []
    for c in found:
        for d in (c, c - 1, c + 1, -c, -c - 1, -c + 1):
            if d not in out and abs(d) <= 10**6:
                out.append(d)
    return out[:40]


def _pool(name: str, ty: Num, consts: list[Fraction], members: dict[str, list[object]]) -> list[object]:
    seen: list[object] = []

    def add(v: object | None) -> None:
        if v is not None and v not in seen:
            seen.append(v)

    for v in members.get(name, []):
        add(v)
    for i in _SMALL_INT:
        add(_convert(i, ty))
    if ty in (Num.RAT, Num.REAL):
        for f in _REAL_EXTRA:
            add(_convert(f, ty))
    for c in consts:
        add(_convert(c, ty))
    for i in _MORE_INT:
        add(_convert(i, ty))
    if ty in (Num.RAT, Num.REAL):
        for c in consts[:10]:
            add(_convert(c / 2, ty))
    for b in _BIG:
        add(_convert(b, ty))
        if ty != Num.NAT:
            add(_convert(-b, ty))
    if ty == Num.REAL:
        add(sympy.sqrt(2))
        add(-sympy.sqrt(2))
    if ty == Num.COMPLEX:
        seen = [
            sympy.Integer(0),
            sympy.Integer(1),
            sympy.I,
            -sympy.I,
            1 + sympy.I,
            sympy.Integer(-1),
            2 - sympy.I,
        ]
    return seen


def _integer_ranges(problem: Problem) -> dict[str, list[object]]:
    """All values of an ℕ/ℤ variable that hypotheses like ``2 < x``, ``x ≤ 99`` bound to a small range."""
    types = dict(problem.variables)
    lo: dict[str, int] = {n: 0 for n, t in types.items() if t == Num.NAT}
    hi: dict[str, int] = {}
    ev = Evaluator()
    for _, h in problem.hypotheses:
        if not (isinstance(h, Cmp) and h.ty in (Num.NAT, Num.INT) and h.op in ("lt", "le", "gt", "ge", "eq")):
            continue
        for var_side, other, op in ((h.lhs, h.rhs, h.op), (h.rhs, h.lhs, _FLIP[h.op])):
            if not isinstance(var_side, Ref):
                continue
            try:
                c = ev.value(other, {})
            except (Undetermined, Unsupported):
                continue
            n = var_side.name
            if op in ("lt", "le", "eq"):
                hi[n] = min(hi.get(n, c), c - (op == "lt"))  # type: ignore[operator]
            if op in ("gt", "ge", "eq"):
                lo[n] = max(lo.get(n, c), c + (op == "gt"))  # type: ignore[operator]
    out: dict[str, list[object]] = {}
    for n in types:
        if n in lo and n in hi and 0 <= hi[n] - lo[n] <= 400:
            out[n] = sorted(range(lo[n], hi[n] + 1), key=abs)
    return out


_FLIP = {"lt": "gt", "le": "ge", "gt": "lt", "ge": "le", "eq": "eq"}


def _memberships(problem: Problem) -> dict[str, list[object]]:
    """Values from hypotheses ``x ∈ s`` where ``s`` is a closed finite set."""
    out: dict[str, list[object]] = _integer_ranges(problem)
    ev = Evaluator()
    for _, h in problem.hypotheses:
        if isinstance(h, Mem) and isinstance(h.elem, Ref) and not h.negated:
            try:
                vals = ev.collection(h.coll, {})
            except (Undetermined, Unsupported):
                continue
            out.setdefault(h.elem.name, []).extend(vals[:200])
    return out


def _to_sympy(node: Node, syms: dict[str, sympy.Symbol], problem: Problem) -> sympy.Expr:
    """School-maths translation, only used to propose candidate values."""
    if isinstance(node, Lit):
        return sympy.Rational(node.value.numerator, node.value.denominator)
    if isinstance(node, Ref):
        return syms[node.name]
    if isinstance(node, Coe):
        return _to_sympy(node.arg, syms, problem)
    if isinstance(node, Arith):
        a = [_to_sympy(x, syms, problem) for x in node.args]
        if node.op == "add":
            return a[0] + a[1]
        if node.op == "sub":
            return a[0] - a[1]
        if node.op == "mul":
            return a[0] * a[1]
        if node.op == "div" and node.ty.is_field:
            return a[0] / a[1]
        if node.op == "neg":
            return -a[0]
        if node.op == "inv":
            return 1 / a[0]
        raise Unsupported("op")
    if isinstance(node, Pow) and isinstance(node.exp, Lit) and node.exp_ty != Num.REAL:
        return _to_sympy(node.base, syms, problem) ** int(node.exp.value)
    if isinstance(node, Call) and node.fn == "Real.sqrt":
        return sympy.sqrt(_to_sympy(node.args[0], syms, problem))
    if isinstance(node, UserApp):
        fns = dict(problem.functions)
        f = fns.get(node.name)
        if f is None or f.guard is not None:
            raise Unsupported("function")
        inner = dict(syms)
        args = [_to_sympy(a, syms, problem) for a in node.args]
        body = _to_sympy(
            f.lam.body, {**inner, **{p: sympy.Symbol("_p" + p) for p, _ in f.lam.params}}, problem
        )
        return body.subs({sympy.Symbol("_p" + p): a for (p, _), a in zip(f.lam.params, args, strict=True)})
    raise Unsupported("no sympy form")


def _equations(problem: Problem, syms: dict[str, sympy.Symbol], boundary: bool = False) -> list[sympy.Expr]:
    """``lhs - rhs`` of the equality hypotheses, or (``boundary``) of every comparison.

    Where the two sides of an inequality meet is where ``<`` and ``≤`` differ, so those
    points are the natural boundary values to try.
    """
    eqs: list[sympy.Expr] = []
    ops = ("eq", "ne", "lt", "le", "gt", "ge") if boundary else ("eq",)

    def collect(h: Node) -> None:
        if isinstance(h, Cmp) and h.op in ops and h.ty != Num.COMPLEX:
            # an equation without a school-maths form is simply not used for solving
            with contextlib.suppress(Unsupported, KeyError, TypeError, ValueError):
                eqs.append(sympy.expand(_to_sympy(h.lhs, syms, problem) - _to_sympy(h.rhs, syms, problem)))
        elif isinstance(h, Logic) and (h.op == "and" or boundary):
            for a in h.args:
                collect(a)

    for _, h in problem.hypotheses:
        collect(h)
    if boundary:
        collect(problem.conclusion)
    return [e for e in eqs if e.free_symbols]


def _fits(v: sympy.Expr, ty: Num) -> object | None:
    v = sympy.nsimplify(v) if v.is_Float else v
    if v.free_symbols or v.has(sympy.zoo, sympy.nan, sympy.oo, sympy.CRootOf):
        return None
    if ty == Num.COMPLEX:
        return v
    if v.has(sympy.I):
        v2 = sympy.expand_complex(v)
        if v2.has(sympy.I):
            return None
        v = v2
    if ty == Num.REAL:
        return v if v.is_real is not False else None
    if not v.is_Rational:
        return None
    return _convert(Fraction(int(v.p), int(v.q)), ty)


def _solved(problem: Problem, pools: dict[str, list[object]]) -> Iterator[Assignment]:
    types = dict(problem.variables)
    syms = {n: sympy.Symbol(n) for n in types}
    yield from _solve_system(_equations(problem, syms), types, pools)
    yield from _solve_each(_equations(problem, syms, boundary=True), types, pools)


def _solve_system(
    eqs: list[sympy.Expr], types: dict[str, Num], pools: dict[str, list[object]]
) -> Iterator[Assignment]:
    if not eqs:
        return
    sym_vars = sorted({s for e in eqs for s in e.free_symbols}, key=str)
    # linear systems in all their unknowns at once
    try:
        if all(sympy.Poly(e, *sym_vars).total_degree() <= 1 for e in eqs):
            for sol in sympy.linsolve(eqs, sym_vars):
                free = sorted(set().union(*(s.free_symbols for s in sol)), key=str)
                for vals in itertools.islice(itertools.product(*(pools[str(f)][:5] for f in free)), 25):
                    sub = dict(zip(free, vals, strict=True))
                    out = {
                        str(v): _fits(sympy.sympify(s).subs(sub), types[str(v)])
                        for v, s in zip(sym_vars, sol, strict=True)
                    }
                    out.update({str(f): v for f, v in sub.items()})
                    if all(x is not None for x in out.values()):
                        yield out
            return
    except (sympy.PolynomialError, sympy.GeneratorsNeeded, ValueError, TypeError):
        pass
    # small polynomial systems solved jointly
    if len(eqs) <= 2 and len(sym_vars) <= 2:
        try:
            if all(sympy.Poly(e, *sym_vars).total_degree() <= 2 for e in eqs):
                for sol in sympy.solve(eqs, sym_vars, dict=True):
                    out = {str(k): _fits(v, types[str(k)]) for k, v in sol.items()}
                    if all(x is not None for x in out.values()):
                        yield out
        except (sympy.PolynomialError, NotImplementedError, ValueError, TypeError):
            pass
    yield from _solve_each(eqs, types, pools)


def _solve_each(
    eqs: list[sympy.Expr], types: dict[str, Num], pools: dict[str, list[object]]
) -> Iterator[Assignment]:
    """One equation, one unknown; the other unknowns come from the grid."""
    for e in eqs:
        fs = sorted(e.free_symbols, key=str)
        for v in fs:
            others = [f for f in fs if f != v]
            width = 16 if len(others) <= 1 else 6
            for vals in itertools.islice(itertools.product(*(pools[str(f)][:width] for f in others)), 48):
                sub = dict(zip(others, vals, strict=True))
                ex = e.subs(sub)
                try:
                    poly = sympy.Poly(sympy.together(ex).as_numer_denom()[0], v)
                except (sympy.PolynomialError, ValueError):
                    break
                if poly.degree() > 4:
                    break
                if poly.degree() < 1:
                    continue
                for r in sympy.roots(poly, v):
                    fv = _fits(r, types[str(v)])
                    if fv is not None:
                        out = {str(f): x for f, x in sub.items()}
                        out[str(v)] = fv
                        yield out


def assignments(problem: Problem, *, seed: int, solve: bool = True) -> Iterator[Assignment]:
    """Candidate assignments, most promising first, without repetition (possibly endless)."""
    variables = problem.variables
    if not variables:
        yield {}
        return
    consts = _constants(problem)
    members = _memberships(problem)
    pools = {n: _pool(n, ty, consts, members) for n, ty in variables}
    names = [n for n, _ in variables]
    seen: set[tuple[object, ...]] = set()

    def fresh(a: Assignment) -> Assignment | None:
        full = {n: a.get(n, pools[n][0] if pools[n] else None) for n in names}
        if any(v is None for v in full.values()):
            return None
        key = tuple(full[n] for n in names)  # sympy numbers and ints hash by value
        if key in seen:
            return None
        seen.add(key)
        return full

    if solve:
        try:
            for a in _solved(problem, pools):
                partial = set(names) - set(a)
                if not partial:
                    f = fresh(a)
                    if f is not None:
                        yield f
                    continue
                rest = sorted(partial)
                width = 60 if len(rest) == 1 else 5
                for vals in itertools.islice(itertools.product(*(pools[n][:width] for n in rest)), 60):
                    f = fresh({**a, **dict(zip(rest, vals, strict=True))})
                    if f is not None:
                        yield f
        except (sympy.SympifyError, sympy.PolynomialError, NotImplementedError, RecursionError):
            pass
    k = len(names)
    side = max(2, int(300 ** (1 / k)))
    idx = sorted(itertools.product(range(side), repeat=k), key=lambda t: (max(t), sum(t)))
    for combo in idx:
        if all(i < len(pools[n]) for i, n in zip(combo, names, strict=True)):
            f = fresh({n: pools[n][i] for i, n in zip(combo, names, strict=True)})
            if f is not None:
                yield f
    rng = random.Random(seed)
    types = dict(variables)
    for _ in range(10_000):
        a: Assignment = {}
        for n in names:
            if rng.random() < 0.5 and pools[n]:
                a[n] = rng.choice(pools[n])
            else:
                a[n] = _random_value(types[n], rng)
        f = fresh(a)
        if f is not None:
            yield f


def _random_value(ty: Num, rng: random.Random) -> object:
    if ty == Num.NAT:
        return rng.choice([rng.randint(0, 30), rng.randint(0, 300), rng.randint(0, 5000)])
    if ty == Num.INT:
        return rng.choice([rng.randint(-30, 30), rng.randint(-1000, 1000)])
    if ty == Num.COMPLEX:
        return sympy.Integer(rng.randint(-5, 5)) + sympy.I * rng.randint(-5, 5)
    return sympy.Rational(rng.randint(-60, 60), rng.choice([1, 2, 3, 4, 5, 7, 10]))
