"""Candidate assignments from an SMT solver (z3), for counterexamples and ∃-witnesses.

Polynomial ℕ/ℤ/ℚ(ℝ) constraints — Lean's typed trees (`prover.lean.exprs`, read with the
type-chosen semantics of `prover.numeric.terms`) or the text path's typed nodes — are handed to
z3 as `hyps ∧ ¬target`; each model is a *candidate* only. The callers re-evaluate every model
exactly (and, on Lean's states, the kernel confirms it before anything is pruned): z3's word is
never trusted alone, so a translation gap here can cost a missed refutation, never a false one.

z3 is optional (`pip install prover[smt]`): without it every function here returns no models.
Hypotheses z3 cannot express are dropped (the exact re-check still applies them); a target it
cannot express means no models.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from prover.lean.exprs import App, Const, Expr, Forall, FVar, NatLit, mentions_bvar
from prover.numeric import nodes as N
from prover.numeric.errors import Undetermined, Unsupported
from prover.numeric.types import Num

try:
    import z3

    HAVE_Z3 = True
except ImportError:  # the solver is an optional extra; sampling alone still works
    z3 = None  # type: ignore[assignment]
    HAVE_Z3 = False

MAX_POW = 12  # x ^ k with a numeral k up to this is expanded to a product
DEFAULT_TIMEOUT_MS = 150


@dataclass(frozen=True, slots=True)
class SmtConfig:
    timeout_ms: int = DEFAULT_TIMEOUT_MS  # z3's limit for one `check`
    max_models: int = 3  # distinct models asked for (each blocked before the next)


def _ite(c: Any, a: Any, b: Any) -> Any:
    return z3.If(c, a, b)


def _nat_sub(a: Any, b: Any) -> Any:
    return _ite(a >= b, a - b, 0)


def _div(a: Any, b: Any, real: bool) -> Any:
    # SMT-LIB's integer div/mod are Euclidean (remainder in [0, |b|)), Lean's ediv/emod; only
    # the zero divisor (unspecified in SMT-LIB) needs Lean's junk value.
    return _ite(b == 0, z3.RealVal(0) if real else z3.IntVal(0), a / b)


def _mod(a: Any, b: Any) -> Any:
    return _ite(b == 0, a, a % b)


def _pow(base: Any, k: int) -> Any:
    if not 0 <= k <= MAX_POW:
        raise Unsupported("exponent out of range for the solver")
    out: Any = z3.IntVal(1) if z3.is_int(base) else z3.RealVal(1)
    for _ in range(k):
        out = out * base
    return out


def _value_of(model: Any, var: Any, kind: str) -> int | Fraction | None:
    v = model.eval(var, model_completion=True)
    if kind == "int":
        return v.as_long() if z3.is_int_value(v) else None
    if z3.is_rational_value(v):
        return Fraction(v.numerator_as_long(), v.denominator_as_long())
    return None  # an algebraic number: not a value the exact evaluators take


def _models(constraints: Sequence[Any], variables: dict[str, tuple[Any, str]],
            cfg: SmtConfig) -> Iterator[dict[str, int | Fraction]]:
    """Up to `cfg.max_models` distinct models, each blocked before asking for the next."""
    s = z3.Solver()
    s.set("timeout", max(1, cfg.timeout_ms))
    for c in constraints:
        s.add(c)
    for _ in range(cfg.max_models):
        if s.check() != z3.sat:
            return
        m = s.model()
        out: dict[str, int | Fraction] = {}
        for name, (var, kind) in variables.items():
            v = _value_of(m, var, kind)
            if v is None:
                return
            out[name] = v
        yield out
        if not variables:
            return
        s.add(z3.Or([var != (z3.IntVal(out[n]) if k == "int" else z3.RealVal(out[n]))
                     for n, (var, k) in variables.items()]))


# ---------------------------------------------------------------------- Lean's typed trees


class TermsTranslator:
    """Lean's typed trees to z3, with the semantics the types choose (ℕ truncation, ℤ ediv,
    `x / 0 = 0`), for the standard core instances only (the evaluator's own check)."""

    def __init__(self, types: dict[str, Any], lets: dict[str, Expr]) -> None:
        from prover.numeric import terms as T

        self.T = T
        self.types = types  # fvar id -> terms.Ty (only ℕ, ℤ, ℚ become solver variables)
        self.lets = lets
        self.vars: dict[str, tuple[Any, str]] = {}
        self.side: list[Any] = []  # ℕ variables are ≥ 0
        self._probe = T.Evaluator({}, {})

    def _sort(self, ty: Any) -> str:
        K = self.T.Kind
        if ty.kind in (K.NAT, K.INT):
            return "int"
        if ty.kind is K.RAT:
            return "real"
        raise Unsupported(f"{ty} is not given to the solver")

    def _var(self, fvar: str) -> Any:
        if fvar not in self.vars:
            ty = self.types[fvar]
            kind = self._sort(ty)
            v = z3.Int(fvar) if kind == "int" else z3.Real(fvar)
            self.vars[fvar] = (v, kind)
            if ty.kind is self.T.Kind.NAT:
                self.side.append(v >= 0)
        return self.vars[fvar][0]

    def _closed_nat(self, e: Expr) -> int:
        try:
            v = self._probe.value(e, (), self.T.NAT)
        except Undetermined as err:
            raise Unsupported(str(err)) from err
        return int(v)

    def value(self, e: Expr) -> tuple[Any, Any]:
        T = self.T
        if isinstance(e, FVar):
            if e.id in self.lets:
                return self.value(self.lets[e.id])
            if e.id in self.types:
                return self.types[e.id], self._var(e.id)
            raise Unsupported("a free variable the solver does not model")
        if isinstance(e, NatLit):
            return T.NAT, z3.IntVal(e.value)
        if not isinstance(e, App) or not isinstance(e.fn, Const):
            raise Unsupported("term")
        name, args = e.fn.name, e.args
        if name in T._HOPS and len(args) == 6:
            op = T._HOPS[name]
            ty = self._probe.ty(args[0])
            self._sort(ty)
            if op == "pow":
                if self._probe.ty(args[1]) != T.NAT or self._probe.ty(args[2]) != ty:
                    raise Unsupported("power")
            elif not (args[1] == args[0] and args[2] == args[0]):
                raise Unsupported("heterogeneous arithmetic")
            if not T.standard_instance(args[3], op, ty, T._WRAPPERS[op]):
                raise Unsupported("instance")
            a = self._typed(args[4], ty)
            if op == "pow":
                return ty, _pow(a, self._closed_nat(args[5]))
            b = self._typed(args[5], ty)
            real = ty.kind is T.Kind.RAT
            if op == "add":
                return ty, a + b
            if op == "mul":
                return ty, a * b
            if op == "sub":
                return ty, (_nat_sub(a, b) if ty == T.NAT else a - b)
            if op == "div":
                return ty, _div(a, b, real)
            if op == "mod" and not real:
                return ty, _mod(a, b)
            raise Unsupported(op)
        if name == "OfNat.ofNat" and len(args) == 3:
            ty = self._probe.ty(args[0])
            kind = self._sort(ty)
            if not isinstance(args[1], NatLit) or not T.standard_instance(args[2], "ofnat", ty):
                raise Unsupported("numeral")
            n = args[1].value
            return ty, (z3.IntVal(n) if kind == "int" else z3.RealVal(n))
        if name == "Neg.neg" and len(args) == 3:
            ty = self._probe.ty(args[0])
            if ty == T.NAT or not T.standard_instance(args[1], "neg", ty):
                raise Unsupported("negation")
            self._sort(ty)
            return ty, -self._typed(args[2], ty)
        if name in ("Min.min", "Max.max") and len(args) == 4:
            ty = self._probe.ty(args[0])
            op = "min" if name == "Min.min" else "max"
            self._sort(ty)
            if not T.standard_instance(args[1], op, ty):
                raise Unsupported(op)
            a, b = self._typed(args[2], ty), self._typed(args[3], ty)
            return ty, (_ite(a <= b, a, b) if op == "min" else _ite(a >= b, a, b))
        if name in ("Nat.cast", "Int.cast") and len(args) == 3:
            ty = self._probe.ty(args[0])
            src = T.NAT if name == "Nat.cast" else T.INT
            kind = self._sort(ty)
            if not T.standard_instance(args[1], "natcast" if src is T.NAT else "intcast", ty):
                raise Unsupported("cast")
            a = self._typed(args[2], src)
            return ty, (a if kind == "int" else z3.ToReal(a))
        if name == "ite" and len(args) == 5:
            ty = self._probe.ty(args[0])
            self._sort(ty)
            return ty, _ite(self.truth(args[1]), self._typed(args[3], ty), self._typed(args[4], ty))
        direct = _DIRECT_TERMS.get(name)
        if direct is not None and len(args) == len(direct[0]):
            arg_tys, res = (getattr(T, t) for t in direct[0]), getattr(T, direct[1])
            vals = [self._typed(a, t) for a, t in zip(args, arg_tys, strict=True)]
            return res, direct[2](*vals)
        raise Unsupported(f"{name} is not given to the solver")

    def _typed(self, e: Expr, want: Any) -> Any:
        ty, v = self.value(e)
        if ty != want:
            raise Unsupported("type mismatch")
        return v

    def truth(self, e: Expr) -> Any:
        T = self.T
        if isinstance(e, Const) and e.name in ("True", "False"):
            return z3.BoolVal(e.name == "True")
        if isinstance(e, FVar) and e.id in self.lets:
            return self.truth(self.lets[e.id])
        if isinstance(e, Forall):
            if self._probe.is_prop(e.type) and not mentions_bvar(e.body):
                return z3.Implies(self.truth(e.type), self.truth(T._lower(e.body)))
            raise Unsupported("a quantifier")
        if not isinstance(e, App) or not isinstance(e.fn, Const):
            raise Unsupported("proposition")
        name, args = e.fn.name, e.args
        if name in ("And", "Or", "Iff") and len(args) == 2:
            a, b = self.truth(args[0]), self.truth(args[1])
            return z3.And(a, b) if name == "And" else z3.Or(a, b) if name == "Or" else a == b
        if name == "Not" and len(args) == 1:
            return z3.Not(self.truth(args[0]))
        if name in ("Eq", "Ne") and len(args) == 3:
            ty = self._probe.ty(args[0])
            self._sort(ty)
            a, b = self._typed(args[1], ty), self._typed(args[2], ty)
            return a == b if name == "Eq" else a != b
        if name in T._RELS and len(args) == 4:
            ty = self._probe.ty(args[0])
            self._sort(ty)
            op = T._RELS[name]
            if not T.standard_instance(args[1], op, ty):
                raise Unsupported("order instance")
            a, b = self._typed(args[2], ty), self._typed(args[3], ty)
            if name in ("GT.gt", "GE.ge"):
                a, b = b, a
            return a < b if op == "lt" else a <= b
        if name == "Dvd.dvd" and len(args) == 4:
            ty = self._probe.ty(args[0])
            if self._sort(ty) != "int" or not T.standard_instance(args[1], "dvd", ty):
                raise Unsupported("divisibility")
            a, b = self._typed(args[2], ty), self._typed(args[3], ty)
            return _ite(a == 0, b == 0, b % a == 0)
        raise Unsupported(f"{name} is not given to the solver")


_DIRECT_TERMS: dict[str, tuple[tuple[str, ...], str, Any]] = {
    "Nat.add": (("NAT", "NAT"), "NAT", lambda a, b: a + b),
    "Nat.sub": (("NAT", "NAT"), "NAT", _nat_sub),
    "Nat.mul": (("NAT", "NAT"), "NAT", lambda a, b: a * b),
    "Nat.div": (("NAT", "NAT"), "NAT", lambda a, b: _div(a, b, False)),
    "Nat.mod": (("NAT", "NAT"), "NAT", _mod),
    "Nat.succ": (("NAT",), "NAT", lambda a: a + 1),
    "Nat.pred": (("NAT",), "NAT", lambda a: _ite(a > 0, a - 1, 0)),
    "Nat.min": (("NAT", "NAT"), "NAT", lambda a, b: _ite(a <= b, a, b)),
    "Nat.max": (("NAT", "NAT"), "NAT", lambda a, b: _ite(a >= b, a, b)),
    "Int.add": (("INT", "INT"), "INT", lambda a, b: a + b),
    "Int.sub": (("INT", "INT"), "INT", lambda a, b: a - b),
    "Int.mul": (("INT", "INT"), "INT", lambda a, b: a * b),
    "Int.neg": (("INT",), "INT", lambda a: -a),
    "Int.ediv": (("INT", "INT"), "INT", lambda a, b: _div(a, b, False)),
    "Int.emod": (("INT", "INT"), "INT", _mod),
    "Int.natAbs": (("INT",), "NAT", lambda a: _ite(a >= 0, a, -a)),
    "Int.toNat": (("INT",), "NAT", lambda a: _ite(a > 0, a, 0)),
    "Int.ofNat": (("NAT",), "INT", lambda a: a),
    "Int.negSucc": (("NAT",), "INT", lambda a: -a - 1),
}


def terms_models(types: dict[str, Any], lets: dict[str, Expr], hyps: Sequence[Expr], target: Expr,
                 config: SmtConfig | None = None) -> list[dict[str, int | Fraction]]:
    """Models of `hyps ∧ ¬target` (fvar id -> value) for a goal of Lean's typed trees; [] when z3
    is missing, the target is out of its reach, or it finds none in time."""
    cfg = config or SmtConfig()
    if not HAVE_Z3:
        return []
    tr = TermsTranslator(types, lets)
    try:
        goal = z3.Not(tr.truth(target))
    except (Unsupported, Undetermined, RecursionError):
        return []
    cons = [goal]
    for h in hyps:
        try:
            cons.append(tr.truth(h))
        except (Unsupported, Undetermined, RecursionError):
            continue  # dropped: the exact re-check still applies it
    return list(_models([*tr.side, *cons], tr.vars, cfg))


# ---------------------------------------------------------------------- the text path's nodes


class NodesTranslator:
    """The text path's typed nodes (`prover.numeric.nodes`) to z3: ℕ/ℤ as integers (ℕ ≥ 0), ℚ/ℝ
    as reals, with Lean's semantics for `-`, `/`, `%` per type."""

    def __init__(self, variables: Sequence[tuple[str, Num]]) -> None:
        self.types = dict(variables)
        self.vars: dict[str, tuple[Any, str]] = {}
        self.side: list[Any] = []
        self.bound: dict[str, Any] = {}

    def _kind(self, ty: Num) -> str:
        if ty in (Num.NAT, Num.INT):
            return "int"
        if ty in (Num.RAT, Num.REAL):
            return "real"
        raise Unsupported(f"{ty.lean} is not given to the solver")

    def ref(self, name: str) -> Any:
        if name in self.bound:
            return self.bound[name]
        if name not in self.vars:
            ty = self.types.get(name)
            if ty is None:
                raise Unsupported(f"{name} has no type")
            kind = self._kind(ty)
            v = z3.Int(name) if kind == "int" else z3.Real(name)
            self.vars[name] = (v, kind)
            if ty == Num.NAT:
                self.side.append(v >= 0)
        return self.vars[name][0]

    def value(self, node: N.Node) -> Any:
        if isinstance(node, N.Lit):
            kind = self._kind(node.ty)
            if kind == "int":
                if node.value.denominator != 1:
                    raise Unsupported("fractional literal")
                return z3.IntVal(int(node.value))
            return z3.RealVal(f"{node.value.numerator}/{node.value.denominator}")
        if isinstance(node, N.Ref):
            return self.ref(node.name)
        if isinstance(node, N.Coe):
            a = self.value(node.arg)
            if self._kind(node.src) == self._kind(node.ty):
                return a
            return z3.ToReal(a)
        if isinstance(node, N.Arith):
            real = self._kind(node.ty) == "real"
            v = [self.value(a) for a in node.args]
            op = node.op
            if op == "neg":
                return -v[0]
            if op == "inv" and real:
                return _ite(v[0] == 0, z3.RealVal(0), 1 / v[0])
            a, b = v
            if op == "add":
                return a + b
            if op == "mul":
                return a * b
            if op == "sub":
                return _nat_sub(a, b) if node.ty == Num.NAT else a - b
            if op == "div":
                return _div(a, b, real)
            if op == "mod" and not real:
                return _mod(a, b)
            raise Unsupported(op)
        if isinstance(node, N.Pow):
            if node.exp_ty != Num.NAT or not isinstance(node.exp, N.Lit):
                raise Unsupported("power")
            return _pow(self.value(node.base), int(node.exp.value))
        if isinstance(node, N.Ite):
            if not isinstance(node.ty, Num):
                raise Unsupported("if")
            return _ite(self.truth(node.cond), self.value(node.then), self.value(node.other))
        if isinstance(node, N.Call) and node.fn in ("abs", "Int.natAbs") and len(node.args) == 1:
            a = self.value(node.args[0])
            return _ite(a >= 0, a, -a)
        if isinstance(node, N.Call) and node.fn in ("min", "max") and len(node.args) == 2:
            a, b = self.value(node.args[0]), self.value(node.args[1])
            return _ite(a <= b, a, b) if node.fn == "min" else _ite(a >= b, a, b)
        if isinstance(node, N.Call) and node.fn == "Int.toNat" and len(node.args) == 1:
            a = self.value(node.args[0])
            return _ite(a > 0, a, 0)
        raise Unsupported(f"{type(node).__name__} is not given to the solver")

    def truth(self, node: N.Node) -> Any:
        if isinstance(node, N.Logic):
            if node.op in ("true", "false"):
                return z3.BoolVal(node.op == "true")
            args = [self.truth(a) for a in node.args]
            if node.op == "not":
                return z3.Not(args[0])
            a, b = args
            return {"and": z3.And, "or": z3.Or, "imp": z3.Implies}[node.op](a, b) if node.op != "iff" \
                else a == b
        if isinstance(node, N.Cmp):
            self._kind(node.ty)
            a, b = self.value(node.lhs), self.value(node.rhs)
            if node.op == "dvd":
                if self._kind(node.ty) != "int":
                    raise Unsupported("divisibility")
                return _ite(a == 0, b == 0, b % a == 0)
            return {"eq": a == b, "ne": a != b, "lt": a < b, "le": a <= b, "gt": a > b,
                    "ge": a >= b}[node.op]
        if isinstance(node, N.Ite):
            return _ite(self.truth(node.cond), self.truth(node.then), self.truth(node.other))
        raise Unsupported(f"{type(node).__name__} is not given to the solver")


def _problem_constraints(tr: NodesTranslator, hyps: Sequence[N.Node]) -> list[Any]:
    out = []
    for h in hyps:
        try:
            out.append(tr.truth(h))
        except (Unsupported, Undetermined, RecursionError):
            continue  # dropped: the exact re-check still applies it
    return out


def nodes_models(variables: Sequence[tuple[str, Num]], hyps: Sequence[N.Node], conclusion: N.Node,
                 config: SmtConfig | None = None) -> list[dict[str, int | Fraction]]:
    """Models of `hyps ∧ ¬conclusion` for one reading of the text path (variable -> value)."""
    if not HAVE_Z3:
        return []
    tr = NodesTranslator(variables)
    try:
        goal = z3.Not(tr.truth(conclusion))
    except (Unsupported, Undetermined, RecursionError):
        return []
    cons = _problem_constraints(tr, hyps)
    return list(_models([*tr.side, goal, *cons], tr.vars, config or SmtConfig()))


@dataclass(frozen=True, slots=True)
class SmtWitness:
    """A value of the ∃-variable from a model of `hyps ∧ body`; `pinned` when the solver also
    found that every assignment satisfying the hypotheses makes the body true at that value (the
    hypotheses pin the goal's variables, or the body holds for all of them) — the solver's claim,
    which Lean checks when the witness is tried."""

    value: int | Fraction
    context: tuple[tuple[str, int | Fraction], ...]
    pinned: bool
    inner: tuple[tuple[str, int | Fraction], ...] = ()  # the model's values of nested ∃-variables


def exists_witnesses(variables: Sequence[tuple[str, Num]], hyps: Sequence[N.Node], quant: N.Quant,
                     limit: int = 3, config: SmtConfig | None = None) -> list[SmtWitness]:
    """Values `w` for the target `∃ x, P x` (nested `∃ y, …` in `P` become further unknowns)."""
    cfg = config or SmtConfig()
    if not HAVE_Z3:
        return []
    start = time.perf_counter()
    tr = NodesTranslator(variables)
    inner: list[tuple[str, Num]] = []
    body: N.Node = quant
    while isinstance(body, N.Quant) and body.kind == "exists" and body.domain is None:
        inner.append((body.var, body.var_ty))
        body = body.body
    if any(n in tr.types for n, _ in inner):
        return []  # a bound name shadows a variable of the goal
    tr.types.update(dict(inner))
    try:
        goal = tr.truth(body)
        x = tr.ref(quant.var)
    except (Unsupported, Undetermined, RecursionError):
        return []
    cons = _problem_constraints(tr, hyps)
    ctx_names = [n for n, _ in variables if n in tr.vars]
    rest = [tr.vars[n][0] for n, _ in inner[1:] if n in tr.vars]
    out: list[SmtWitness] = []
    for m in _models([*tr.side, goal, *cons], tr.vars, cfg):
        if len(out) >= limit or (time.perf_counter() - start) * 1000 > 3 * cfg.timeout_ms:
            break
        w = m[quant.var]
        pinned = _pinned(tr, x, w, goal, cons, rest, cfg)
        out.append(SmtWitness(w, tuple((n, m[n]) for n in ctx_names), pinned,
                              tuple((n, m[n]) for n, _ in inner[1:] if n in m)))
    return out


def _pinned(tr: NodesTranslator, x: Any, w: int | Fraction, goal: Any, cons: list[Any], rest: list[Any],
            cfg: SmtConfig) -> bool:
    """Whether `hyps → P w` for every value of the goal's variables: z3's `unsat` of the negation
    (the further ∃-unknowns `rest` of `P` stay existential inside it)."""
    s = z3.Solver()
    s.set("timeout", max(1, cfg.timeout_ms))
    q = Fraction(w)
    val = z3.IntVal(int(q)) if z3.is_int(x) else z3.RealVal(f"{q.numerator}/{q.denominator}")
    body_at_w = z3.substitute(goal, (x, val))
    bound = [x, *rest]
    if rest:
        body_at_w = z3.Exists(rest, z3.And(body_at_w, *[c for c in tr.side if _mentions_any(c, rest)]))
    s.add(*[c for c in tr.side if not _mentions_any(c, bound)], *cons, z3.Not(body_at_w))
    return s.check() == z3.unsat


def _mentions_any(c: Any, vs: list[Any]) -> bool:
    ids = {v.get_id() for v in vs}
    stack = [c]
    while stack:
        e = stack.pop()
        if e.get_id() in ids:
            return True
        stack.extend(e.children())
    return False
