"""Exact evaluation of typed nodes on concrete values, with Lean's semantics.

Values: ℕ and ℤ are Python ints; ℚ, ℝ and ℂ are exact sympy numbers (rationals, radicals,
π, ...).  Propositions evaluate to True, False or None (undecided).  Nothing is ever
approximated: a comparison of irrational numbers is decided by :mod:`exact`, and when it
cannot be decided the result is None, which never counts as evidence.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from math import comb, factorial, gcd, lcm

import sympy

from prover.numeric import exact
from prover.numeric import lean_semantics as L
from prover.numeric.errors import Undetermined, Unsupported
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
from prover.numeric.types import Num

Value = object
Env = Mapping[str, Value]

MAX_EXPONENT = 4096
MAX_BITS = 1 << 16
MAX_COLLECTION = 5000


@dataclass(frozen=True, slots=True)
class PartialFunction:
    """A function variable defined by a hypothesis ``∀ x, guard x → f x = body x``.

    Where the guard is false the hypothesis says nothing, so the value is undetermined.
    """

    lam: Lam
    guard: Node | None


@dataclass
class Evaluator:
    """Evaluates nodes; one instance per check (it caches integrals and holds the deadline)."""

    functions: Mapping[str, PartialFunction] = field(default_factory=dict)
    deadline: float = float("inf")
    # values tried for unbounded quantifiers, by type: a counterexample to ∀ or a witness
    # for ∃ decides them, otherwise they stay undecided
    samples: Callable[[Num], Iterable[Value]] | None = None
    methods: set[str] = field(default_factory=set)
    _integrals: dict = field(default_factory=dict)
    _depth: int = 0
    # inside an integral: (integration symbol, lower end, upper end) of the interval
    _interval: tuple[sympy.Symbol, sympy.Expr, sympy.Expr] | None = None

    # -------------------------------------------------------------- propositions
    def truth(self, node: Node, env: Env) -> bool | None:
        """True, False, or None when it cannot be decided exactly."""
        try:
            return self._truth(node, env)
        except Undetermined:
            return None
        except (ArithmeticError, ValueError, TypeError, NotImplementedError, RecursionError):
            # sympy can fail on exotic values (overflow, unevaluable forms); a failure is
            # never evidence either way
            return None

    def _truth(self, node: Node, env: Env) -> bool | None:
        if isinstance(node, Logic):
            return self._logic(node, env)
        if isinstance(node, Cmp):
            return self._cmp(node.op, self.value(node.lhs, env), self.value(node.rhs, env), node.ty)
        if isinstance(node, Mem):
            r = self._member(node, env)
            return (not r) if node.negated else r
        if isinstance(node, ModEq):
            n = self.value(node.modulus, env)
            a, b = self.value(node.lhs, env), self.value(node.rhs, env)
            if node.ty == Num.NAT:
                return L.nat_mod(a, n) == L.nat_mod(b, n)  # type: ignore[arg-type]
            return L.int_emod(a, n) == L.int_emod(b, n)  # type: ignore[arg-type]
        if isinstance(node, Quant):
            return self._quant(node, env)
        if isinstance(node, Call):
            return self._pred(node, env)
        if isinstance(node, Ite):
            c = self._truth(node.cond, env)
            if c is None:
                return None
            return self._truth(node.then if c else node.other, env)
        raise Unsupported(f"cannot evaluate {type(node).__name__} as a proposition")

    def _logic(self, node: Logic, env: Env) -> bool | None:
        op = node.op
        if op == "true":
            return True
        if op == "false":
            return False
        vals = [self.truth(a, env) for a in node.args]
        if op == "not":
            return None if vals[0] is None else not vals[0]
        a, b = vals
        if op == "and":
            if a is False or b is False:
                return False
            return None if a is None or b is None else True
        if op == "or":
            if a is True or b is True:
                return True
            return None if a is None or b is None else False
        if op == "imp":
            if a is False or b is True:
                return True
            return None if a is None or b is None else False
        if op == "iff":
            return None if a is None or b is None else a == b
        raise Unsupported(f"connective {op}")

    def _cmp(self, op: str, a: Value, b: Value, ty: Num) -> bool:
        if op == "dvd":
            if a == 0:
                return b == 0
            return b % a == 0  # type: ignore[operator]
        if ty in (Num.NAT, Num.INT):
            s = (a > b) - (a < b)  # type: ignore[operator]
        elif ty == Num.COMPLEX:
            if op not in ("eq", "ne"):
                raise Unsupported("order on ℂ")
            z = exact.is_zero(sympy.expand(a - b))  # type: ignore[operator]
            return z if op == "eq" else not z
        else:
            s = self._sign(sympy.sympify(a) - sympy.sympify(b))  # type: ignore[operator]
        return {"eq": s == 0, "ne": s != 0, "lt": s < 0, "le": s <= 0, "gt": s > 0, "ge": s >= 0}[op]

    def _sign(self, e: object) -> int:
        if isinstance(e, int) or getattr(e, "is_Rational", False):
            self.methods.add("rational")
        else:
            self.methods.add("interval")
        return exact.sign(e)

    def _quant(self, node: Quant, env: Env) -> bool | None:
        if node.domain is not None:
            values: Iterable[Value] = self.collection(node.domain, env)
            complete = True
        elif node.var_ty == Num.NAT and node.kind == "exists1":
            raise Undetermined("∃! over an infinite type")
        else:
            if self.samples is None:
                raise Undetermined("unbounded quantifier")
            values = self.samples(node.var_ty)
            complete = False
        found = 0
        undecided = False
        for v in values:
            self._tick()
            r = self.truth(node.body, {**env, node.var: v})
            if r is None:
                undecided = True
                continue
            if node.kind == "forall" and not r:
                return False
            if node.kind == "exists" and r:
                return True
            if node.kind == "exists1" and r:
                found += 1
                if found > 1:
                    return False
        if undecided or not complete:
            return None
        if node.kind == "forall":
            return True
        if node.kind == "exists":
            return False
        return found == 1

    def _member(self, node: Mem, env: Env) -> bool:
        coll = node.coll
        x = self.value(node.elem, env)
        if isinstance(coll, Call) and coll.fn.startswith("Set."):
            bounds = [self.value(a, env) for a in coll.args]
            ty = node.elem.ty  # type: ignore[union-attr]
            kind = coll.fn[4:]

            def le(p: Value, q: Value, strict: bool) -> bool:
                return self._cmp("lt" if strict else "le", p, q, ty)

            if kind in ("Icc", "Ico", "Ioc", "Ioo"):
                lo, hi = bounds
                return le(lo, x, kind[1] == "o") and le(x, hi, kind[2] == "o")
            if kind in ("Ici", "Ioi"):
                return le(bounds[0], x, kind == "Ioi")
            return le(x, bounds[0], kind == "Iio")
        ty = node.elem.ty  # type: ignore[union-attr]
        return any(self._cmp("eq", x, y, ty) for y in self.collection(coll, env))

    def _pred(self, node: Call, env: Env) -> bool:
        args = [self.value(a, env) for a in node.args]
        fn = node.fn
        if fn == "Nat.Prime":
            return bool(sympy.isprime(args[0]))  # type: ignore[arg-type]
        if fn == "Even":
            return args[0] % 2 == 0  # type: ignore[operator]
        if fn == "Odd":
            return args[0] % 2 == 1  # type: ignore[operator]
        if fn == "Nat.Coprime":
            return gcd(args[0], args[1]) == 1  # type: ignore[arg-type]
        if fn == "Nat.ModEq":
            return L.nat_mod(args[1], args[0]) == L.nat_mod(args[2], args[0])  # type: ignore[arg-type]
        if fn == "Int.ModEq":
            return L.int_emod(args[1], args[0]) == L.int_emod(args[2], args[0])  # type: ignore[arg-type]
        raise Unsupported(f"predicate {fn}")

    # -------------------------------------------------------------------- values
    def value(self, node: Node, env: Env) -> Value:
        if isinstance(node, Lit):
            if node.ty in (Num.NAT, Num.INT):
                return int(node.value)
            return sympy.Rational(node.value.numerator, node.value.denominator)
        if isinstance(node, Ref):
            if node.name not in env:
                raise Unsupported(f"{node.name} has no value")
            return env[node.name]
        if isinstance(node, Coe):
            v = self.value(node.arg, env)
            if node.ty.is_field and isinstance(v, int):
                return sympy.Integer(v)
            return v
        if isinstance(node, Arith):
            return self._arith(node, [self.value(a, env) for a in node.args])
        if isinstance(node, Pow):
            return self._pow(node, self.value(node.base, env), self.value(node.exp, env))
        if isinstance(node, Call):
            return self._call(node, env)
        if isinstance(node, UserApp):
            return self._user_app(node, env)
        if isinstance(node, BigOp):
            return self._bigop(node, env)
        if isinstance(node, Integral):
            return self._integral(node, env)
        if isinstance(node, Ite):
            c = self._truth(node.cond, env)
            if c is None:
                raise Undetermined("undecided if-condition")
            return self.value(node.then if c else node.other, env)
        raise Unsupported(f"cannot evaluate {type(node).__name__} as a number")

    def _arith(self, node: Arith, v: list[Value]) -> Value:
        op, ty = node.op, node.ty
        if ty == Num.NAT:
            a, b = v
            if op == "add":
                return a + b  # type: ignore[operator]
            if op == "mul":
                return self._check_int(a * b)  # type: ignore[operator]
            return {"sub": L.nat_sub, "div": L.nat_div, "mod": L.nat_mod}[op](a, b)  # type: ignore[arg-type]
        if ty == Num.INT:
            if op == "neg":
                return -v[0]  # type: ignore[operator]
            a, b = v
            if op == "add":
                return a + b  # type: ignore[operator]
            if op == "sub":
                return a - b  # type: ignore[operator]
            if op == "mul":
                return self._check_int(a * b)  # type: ignore[operator]
            return {"div": L.int_ediv, "mod": L.int_emod}[op](a, b)  # type: ignore[arg-type]
        if op == "neg":
            return -v[0]  # type: ignore[operator]
        if op == "inv":
            return self._field_div(sympy.Integer(1), v[0])
        a, b = v
        if op == "add":
            return a + b  # type: ignore[operator]
        if op == "sub":
            return a - b  # type: ignore[operator]
        if op == "mul":
            return a * b  # type: ignore[operator]
        if op == "div":
            return self._field_div(a, b)
        raise Unsupported(f"{op} on {ty.lean}")

    def _field_div(self, a: Value, b: Value) -> Value:
        b = sympy.sympify(b)
        if b.free_symbols:
            self._require_nonzero_on_interval(b)
            return a / b  # type: ignore[operator]
        if self._is_zero(b):
            return sympy.Integer(0)  # Lean: x / 0 = 0 in every field
        return a / b  # type: ignore[operator]

    def _is_zero(self, e: object) -> bool:
        if getattr(e, "is_Rational", False) or isinstance(e, int):
            self.methods.add("rational")
        else:
            self.methods.add("interval")
        return exact.is_zero(e)

    @staticmethod
    def _check_int(x: int) -> int:
        if x.bit_length() > MAX_BITS:
            raise Undetermined("integer too large")
        return x

    def _pow(self, node: Pow, b: Value, e: Value) -> Value:
        if node.exp_ty == Num.NAT:
            if e > MAX_EXPONENT and b not in (0, 1):  # type: ignore[operator]
                raise Undetermined("exponent too large")
            if node.ty in (Num.NAT, Num.INT):
                return self._check_int(b**e)  # type: ignore[operator]
            return sympy.sympify(b) ** int(e)  # type: ignore[call-overload]
        if node.exp_ty == Num.INT:
            if abs(e) > MAX_EXPONENT:  # type: ignore[arg-type]
                raise Undetermined("exponent too large")
            if e >= 0:  # type: ignore[operator]
                return sympy.sympify(b) ** int(e)  # type: ignore[call-overload]
            return self._field_div(sympy.Integer(1), sympy.sympify(b) ** int(-e))  # type: ignore[operator]
        # Real.rpow: x ^ y = exp (log x * y) for x > 0; 0 ^ y = 0 unless y = 0;
        # for x < 0 Mathlib defines it as |x| ^ y * cos (y * π)
        b, e = sympy.sympify(b), sympy.sympify(e)
        if b.free_symbols or e.free_symbols:
            raise Undetermined("real power inside an integral")
        s = self._sign(b)
        if s > 0:
            return b**e
        if s == 0:
            return sympy.Integer(1) if self._is_zero(e) else sympy.Integer(0)
        return (-b) ** e * sympy.cos(e * sympy.pi)

    def _call(self, node: Call, env: Env) -> Value:
        fn = node.fn
        if fn == "Real.pi":
            return sympy.pi
        if fn == "Complex.I":
            return sympy.I
        if fn == "Finset.card":
            return len(self.collection(node.args[0], env))
        if fn in ("List.sum", "List.prod", "List.length"):
            lst = self._list(node.args[0], env)
            if fn == "List.length":
                return len(lst)
            acc = 0 if fn == "List.sum" else 1
            for x in lst:
                acc = acc + x if fn == "List.sum" else acc * x  # type: ignore[operator]
            return acc
        args = [self.value(a, env) for a in node.args]
        impl = _NUM_FUNCS.get(fn)
        if impl is not None:
            return impl(self, node, args)
        raise Unsupported(f"function {fn}")

    def _user_app(self, node: UserApp, env: Env) -> Value:
        f = self.functions.get(node.name)
        if f is None:
            raise Unsupported(f"function {node.name} is not defined by the hypotheses")
        args = [self.value(a, env) for a in node.args]
        inner = {**env, **{p: v for (p, _), v in zip(f.lam.params, args, strict=True)}}
        if f.guard is not None and self.truth(f.guard, inner) is not True:
            raise Undetermined(f"{node.name} is not determined at this argument")
        self._depth += 1
        try:
            if self._depth > 50:
                raise Undetermined("function nesting too deep")
            return self.value(f.lam.body, inner)
        finally:
            self._depth -= 1

    def collection(self, node: Node, env: Env) -> tuple[Value, ...]:
        """The elements of a finite set, without duplicates."""
        if isinstance(node, FinsetLit):
            vals = [self.value(e, env) for e in node.elems]
            if not all(isinstance(v, int) or getattr(v, "is_Rational", False) for v in vals):
                raise Undetermined("finite set of irrational numbers")
            return tuple(dict.fromkeys(vals))
        if isinstance(node, Filter):
            out = []
            for v in self.collection(node.coll, env):
                self._tick()
                r = self.truth(node.pred, {**env, node.var: v})
                if r is None:
                    raise Undetermined("undecided filter predicate")
                if r:
                    out.append(v)
            return tuple(out)
        if isinstance(node, Call):
            args = [self.value(a, env) for a in node.args]
            fn = node.fn
            if fn == "Finset.range":
                lo, hi = 0, args[0] - 1  # type: ignore[operator]
            elif fn in ("Finset.Icc", "Finset.Ico", "Finset.Ioc", "Finset.Ioo"):
                lo = args[0] + (1 if fn[8] == "o" else 0)  # type: ignore[operator]
                hi = args[1] - (1 if fn[9] == "o" else 0)  # type: ignore[operator]
            elif fn in ("Nat.divisors", "Nat.properDivisors"):
                n = args[0]
                if n == 0:
                    return ()
                if n > 10**12:  # type: ignore[operator]
                    raise Undetermined("number too large to factor")
                ds = sympy.divisors(n)
                return tuple(d for d in ds if fn == "Nat.divisors" or d != n)
            else:
                raise Unsupported(f"collection {fn}")
            if hi - lo + 1 > MAX_COLLECTION:  # type: ignore[operator]
                raise Undetermined("collection too large")
            return tuple(range(lo, hi + 1))  # type: ignore[call-overload]
        raise Unsupported("collection form")

    def _list(self, node: Node, env: Env) -> tuple[Value, ...]:
        if isinstance(node, Call) and node.fn == "Nat.digits":
            b, n = (self.value(a, env) for a in node.args)
            return tuple(_nat_digits(b, n))  # type: ignore[arg-type]
        raise Unsupported("list form")

    def _bigop(self, node: BigOp, env: Env) -> Value:
        elems = self.collection(node.coll, env)
        field_ty = node.ty.is_field
        acc: Value = (
            (sympy.Integer(0) if field_ty else 0)
            if node.kind == "sum"
            else (sympy.Integer(1) if field_ty else 1)
        )
        for x in elems:
            self._tick()
            v = self.value(node.body, {**env, node.var: x})
            acc = acc + v if node.kind == "sum" else acc * v  # type: ignore[operator]
            if isinstance(acc, int):
                self._check_int(acc)
        return acc

    def _integral(self, node: Integral, env: Env) -> Value:
        lo = sympy.sympify(self.value(node.lo, env))
        hi = sympy.sympify(self.value(node.hi, env))
        if not (lo.is_Rational and hi.is_Rational):
            raise Undetermined("integral with irrational bounds")
        t = sympy.Symbol("_t_" + node.var, real=True)
        saved = self._interval
        self._interval = (t, min(lo, hi), max(lo, hi))
        try:
            body = sympy.sympify(self.value(node.body, {**env, node.var: t}))
        finally:
            self._interval = saved
        key = (body, lo, hi)
        if key not in self._integrals:
            if body.has(sympy.Abs, sympy.sign, sympy.floor, sympy.ceiling, sympy.Piecewise):
                raise Undetermined("integrand with a case split")
            res = sympy.integrate(body, (t, lo, hi))
            if res.has(sympy.Integral) or res.free_symbols:
                raise Undetermined("sympy could not integrate exactly")
            self._integrals[key] = res
        self.methods.add("integral")
        return self._integrals[key]

    def _require_nonzero_on_interval(self, e: sympy.Expr) -> None:
        """Inside an integral: the integrand is continuous only if this never vanishes."""
        iv = self._interval
        if iv is None:
            raise Undetermined("symbolic value outside an integral")
        t, lo, hi = iv
        if not e.is_polynomial(t) or e.free_symbols != {t}:
            raise Undetermined("cannot show the denominator is non-zero on the interval")
        if sympy.Poly(e, t).count_roots(lo, hi) != 0:
            raise Undetermined("denominator vanishes on the interval")

    def _require_positive_on_interval(self, e: sympy.Expr) -> None:
        self._require_nonzero_on_interval(e)
        if self._interval is None:
            raise Undetermined("symbolic value outside an integral")
        t, lo, _ = self._interval
        if exact.sign(e.subs(t, lo)) <= 0:
            raise Undetermined("argument is not positive on the interval")

    def _tick(self) -> None:
        if time.perf_counter() > self.deadline:
            raise Undetermined("time budget exhausted")


def _nat_digits(b: int, n: int) -> list[int]:
    """``Nat.digits b n``: little-endian digits; base 0 gives ``[n]``, base 1 gives n ones."""
    if n == 0:
        return []
    if b == 0:
        return [n]
    if b == 1:
        if n > MAX_COLLECTION:
            raise Undetermined("too many digits")
        return [1] * n
    out = []
    while n:
        out.append(n % b)
        n //= b
    return out


def _real_unary(fn: Callable[[sympy.Expr], sympy.Expr], positive: bool = False) -> Callable:
    def impl(ev: Evaluator, node: Call, args: list[Value]) -> Value:
        x = sympy.sympify(args[0])
        if positive:
            if x.free_symbols:
                ev._require_positive_on_interval(x)
                return fn(x)
            if ev._sign(x) <= 0:
                # Mathlib: Real.log 0 = 0 and Real.log x = Real.log |x|
                if ev._is_zero(x):
                    return sympy.Integer(0)
                return fn(-x)
        return fn(x)

    return impl


def _sqrt(ev: Evaluator, node: Call, args: list[Value]) -> Value:
    x = sympy.sympify(args[0])
    if x.free_symbols:
        ev._require_positive_on_interval(x)
        return sympy.sqrt(x)
    if ev._sign(x) < 0:
        return sympy.Integer(0)  # Real.sqrt of a negative number is 0
    return sympy.sqrt(x)


def _abs(ev: Evaluator, node: Call, args: list[Value]) -> Value:
    x = args[0]
    if isinstance(x, int):
        return abs(x)
    return -x if ev._sign(x) < 0 else x  # type: ignore[operator]


def _minmax(which: str) -> Callable:
    def impl(ev: Evaluator, node: Call, args: list[Value]) -> Value:
        a, b = args
        if isinstance(a, int) and isinstance(b, int):
            return min(a, b) if which == "min" else max(a, b)
        s = ev._sign(sympy.sympify(a) - sympy.sympify(b))
        if which == "min":
            return a if s <= 0 else b
        return a if s >= 0 else b

    return impl


def _floor(kind: str) -> Callable:
    def impl(ev: Evaluator, node: Call, args: list[Value]) -> Value:
        x = sympy.sympify(args[0])
        ev.methods.add("rational" if x.is_Rational else "interval")
        if kind == "fract":
            return x - exact.to_int_exact(x)
        # the ceiling is minus the floor of the negation
        f = exact.to_int_exact(x) if kind in ("floor", "natfloor") else -exact.to_int_exact(-x)
        return max(f, 0) if kind.startswith("nat") else f

    return impl


def _logb(ev: Evaluator, node: Call, args: list[Value]) -> Value:
    b, x = (sympy.sympify(a) for a in args)
    lx = _real_unary(sympy.log, positive=True)(ev, node, [x])
    lb = _real_unary(sympy.log, positive=True)(ev, node, [b])
    return ev._field_div(lx, lb)


def _int2(f: Callable[[int, int], int]) -> Callable:
    return lambda ev, node, args: f(*args)


def _int1(f: Callable[[int], int]) -> Callable:
    return lambda ev, node, args: f(args[0])


def _factorial(ev: Evaluator, node: Call, args: list[Value]) -> Value:
    if args[0] > 3000:  # type: ignore[operator]
        raise Undetermined("factorial too large")
    return factorial(args[0])  # type: ignore[call-overload]


def _complex_part(which: str) -> Callable:
    def impl(ev: Evaluator, node: Call, args: list[Value]) -> Value:
        re, im = sympy.expand_complex(sympy.sympify(args[0])).as_real_imag()
        if which == "re":
            return re
        if which == "im":
            return im
        return sympy.sqrt(re**2 + im**2)

    return impl


_NUM_FUNCS: dict[str, Callable[[Evaluator, Call, list[Value]], Value]] = {
    "Real.sqrt": _sqrt,
    "Real.exp": _real_unary(sympy.exp),
    "Real.log": _real_unary(sympy.log, positive=True),
    "Real.sin": _real_unary(sympy.sin),
    "Real.cos": _real_unary(sympy.cos),
    "Real.tan": _real_unary(sympy.tan),
    "Real.arctan": _real_unary(sympy.atan),
    "Real.logb": _logb,
    "abs": _abs,
    "min": _minmax("min"),
    "max": _minmax("max"),
    "Nat.factorial": _factorial,
    "Nat.choose": _int2(comb),
    "Nat.gcd": _int2(gcd),
    "Nat.lcm": _int2(lcm),
    "gcd": _int2(gcd),
    "lcm": _int2(lcm),
    "Int.gcd": _int2(gcd),
    "Int.lcm": _int2(lcm),
    "Nat.succ": _int1(lambda n: n + 1),
    "Nat.pred": _int1(L.nat_pred),
    "Nat.sqrt": _int1(L.nat_sqrt),
    "Nat.totient": _int1(lambda n: int(sympy.totient(n)) if n > 0 else 0),
    "Int.natAbs": _int1(abs),
    "Int.toNat": _int1(L.int_to_nat),
    "Int.emod": _int2(L.int_emod),
    "Int.ediv": _int2(L.int_ediv),
    "Int.fdiv": _int2(L.int_fdiv),
    "Int.tdiv": _int2(L.int_tdiv),
    "Int.tmod": _int2(L.int_tmod),
    "Int.fmod": _int2(L.int_fmod),
    "Int.floor": _floor("floor"),
    "Int.ceil": _floor("ceil"),
    "Nat.floor": _floor("natfloor"),
    "Nat.ceil": _floor("natceil"),
    "Int.fract": _floor("fract"),
    "Complex.re": _complex_part("re"),
    "Complex.im": _complex_part("im"),
    "Complex.abs": _complex_part("abs"),
}
