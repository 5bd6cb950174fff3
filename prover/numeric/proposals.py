"""Proof steps proposed by the numeric model, from Lean's typed goal (`LeanServer.goal_terms`).

The goal's hypotheses and target over ℕ/ℤ are read twice into the SMT solver z3: the *full* view
(products and powers are products) and the *omega* view, what `omega` sees (every nonlinear
product or power an opaque atom). Comparing the two tells which steps `omega` is missing:

- a bound `v ≤ c` that the full view implies but the omega view does not, with a certificate:
  product facts `A * B ≤ a * b` (`Nat.mul_le_mul`/`Int.mul_le_mul`) that make it linear;
- a case split `v = lo ∨ … ∨ v = hi` once the omega view bounds `v` (core Lean has no
  `interval_cases`), each case closed after `subst`;
- a residue split `v % m = 0 ∨ … ∨ v % m = m - 1` for a modular target over a nonlinear term;
- product facts that make the target itself linear, and products of sums multiplied out;
- values of a variable the hypotheses fix (`have hv : v = 26 := by omega`);
- witnesses for an `∃` target, re-checked exactly by the evaluator when the goal is closed;
- instantiations of `∀` hypotheses over ℕ/ℤ (functions of the goal read as uninterpreted
  functions): the fewest values, among the numbers and variables of the goal, after which the
  omega view implies the target, each stated with its arguments computed.

Everything returned is a proposal: Lean runs it and decides. z3 only chooses the numbers.
"""

from __future__ import annotations

import contextlib
import itertools
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from prover.lean.exprs import (
    App,
    BVar,
    Const,
    Expr,
    Forall,
    FVar,
    GoalTerms,
    HypTerm,
    Lam,
    NatLit,
    mentions_bvar,
)

try:  # z3 is optional: without it there are no proposals
    import z3
except ImportError:  # pragma: no cover - depends on the environment
    z3 = None


@dataclass(frozen=True, slots=True)
class Proposal:
    """One candidate tactic: `kind` says which idea produced it, `logit` how strongly."""

    tactic: str
    logit: float
    kind: str  # bound | case_split | residue_split | product | distribute | value | witness | instance
    why: str = ""


@dataclass(frozen=True, slots=True)
class ProposalConfig:
    max_case_split: int = 16  # the most cases a bounded split may have
    max_modulus: int = 12
    solver_timeout_ms: int = 300  # one z3 check
    time_budget_s: float = 2.0  # the whole goal
    max_bound_steps: int = 40  # model-walking steps when tightening a bound


class _Unsupported(Exception):
    """A term the translation does not model (the hypothesis is then left out, which only ever
    weakens what is concluded: bounds from fewer hypotheses still hold under all of them)."""


@dataclass(frozen=True, slots=True)
class _Var:
    fvar: str
    name: str
    nat: bool
    renderable: bool


@dataclass
class _Atom:
    """A nonlinear product `a * b` (or power) as the omega view sees it."""

    expr: Expr
    sym: Any  # the z3 constant standing for it in the omega view
    factors: tuple[Expr, Expr] | None  # (a, b) for a product of two terms
    nat: bool


@dataclass
class _Goal:
    vars: dict[str, _Var]
    z: dict[str, Any]  # fvar -> z3 Int
    hyps_full: list[Any] = field(default_factory=list)
    hyps_omega: list[Any] = field(default_factory=list)
    atoms: dict[Expr, _Atom] = field(default_factory=dict)
    has_mod: list[tuple[Expr, int]] = field(default_factory=list)  # (dividend, modulus) in target
    funcs: dict[str, _Func] = field(default_factory=dict)  # fvar -> a function ℕ/ℤ → ℕ/ℤ
    apps: dict[tuple[str, ...], Any] = field(default_factory=dict)  # `f a` -> its omega-view atom


@dataclass(frozen=True)
class _Func:
    name: str
    arity: int
    nat: bool  # its values are naturals
    sym: Any  # z3 function (the full view: equal arguments, equal values)


def _head(e: Expr) -> tuple[str | None, tuple[Expr, ...]]:
    if isinstance(e, App) and isinstance(e.fn, Const):
        return e.fn.name, e.args
    if isinstance(e, Const):
        return e.name, ()
    return None, ()


def _num_type(e: Expr) -> str | None:
    name, args = _head(e)
    return name if name in ("Nat", "Int") and not args else None


def _literal(e: Expr) -> int | None:
    if isinstance(e, NatLit):
        return e.value
    name, args = _head(e)
    if name == "OfNat.ofNat" and len(args) == 3 and isinstance(args[1], NatLit):
        return args[1].value
    if name == "Neg.neg" and len(args) == 3:
        v = _literal(args[2])
        return None if v is None else -v
    return None


def _fvars(e: Expr) -> Iterator[str]:
    stack = [e]
    while stack:
        x = stack.pop()
        if isinstance(x, FVar):
            yield x.id
        elif isinstance(x, App):
            stack.append(x.fn)
            stack.extend(x.args)
        elif isinstance(x, (Lam, Forall)):
            stack += [x.type, x.body]


class _Translator:
    """Expr → z3 in one of the two views; records the nonlinear atoms it meets."""

    def __init__(self, g: _Goal, omega: bool, bound: Sequence[Any] = ()) -> None:
        self.g, self.omega, self.bound = g, omega, list(bound)

    def term(self, e: Expr) -> Any:
        lit = _literal(e)
        if lit is not None:
            return z3.IntVal(lit)
        if isinstance(e, FVar):
            if e.id not in self.g.z:
                raise _Unsupported("free variable of another type")
            return self.g.z[e.id]
        if isinstance(e, BVar):
            if e.index >= len(self.bound):
                raise _Unsupported("loose bound variable")
            return self.bound[-1 - e.index]
        name, args = _head(e)
        if name in ("HAdd.hAdd", "HSub.hSub", "HMul.hMul", "HDiv.hDiv", "HMod.hMod", "HPow.hPow") \
                and len(args) == 6:
            ty = _num_type(args[0])
            if ty is None:
                raise _Unsupported("arithmetic outside ℕ/ℤ")
            nat = ty == "Nat"
            a = self.term(args[4])
            if name == "HPow.hPow":
                k = _literal(args[5])
                if k is None or k < 0 or k > 8:
                    raise _Unsupported("a power with a variable exponent")
                if z3.is_int_value(z3.simplify(a)):
                    return z3.IntVal(z3.simplify(a).as_long() ** k)
                if k in (0, 1):
                    return z3.IntVal(1) if k == 0 else a
                return self._nonlinear(e, _product([a] * k), None, nat)
            b = self.term(args[5])
            if name == "HAdd.hAdd":
                return a + b
            if name == "HSub.hSub":
                return z3.If(a >= b, a - b, 0) if nat else a - b
            if name == "HMul.hMul":
                if _is_const(a) or _is_const(b):
                    return a * b
                return self._nonlinear(e, a * b, (args[4], args[5]), nat)
            m = _literal(args[5])
            if m is None or m == 0:
                raise _Unsupported("division by a non-literal")
            # z3's div/mod are Euclidean, as Lean's `/`, `%` on ℕ and ℤ (`Int.ediv`, `Int.emod`).
            return a / m if name == "HDiv.hDiv" else a % m
        if name == "Neg.neg" and len(args) == 3 and _num_type(args[0]) == "Int":
            return -self.term(args[2])
        if name in ("Nat.cast", "Int.ofNat", "NatCast.natCast") and args:
            return self.term(args[-1])
        if isinstance(e, App) and isinstance(e.fn, FVar) and e.fn.id in self.g.funcs:
            return self._apply(e, self.g.funcs[e.fn.id])
        raise _Unsupported(f"term {name}")

    def _apply(self, e: App, f: _Func) -> Any:
        if len(e.args) != f.arity:
            raise _Unsupported("a function applied to too few or too many arguments")
        args = [self.term(a) for a in e.args]
        if not self.omega:
            return f.sym(*args)
        # omega sees `f a` as an atom of its own, for each way of writing `a`.
        key = (e.fn.id, *(z3.simplify(a).sexpr() for a in args))
        atom = self.g.apps.get(key)
        if atom is None:
            atom = self.g.apps[key] = z3.Int(f"app{len(self.g.apps)}")
            if f.nat:
                self.g.hyps_omega.append(atom >= 0)
        return atom

    def _nonlinear(self, e: Expr, full: Any, factors: tuple[Expr, Expr] | None, nat: bool) -> Any:
        if not self.omega:
            return full
        atom = self.g.atoms.get(e)
        if atom is None:
            sym = z3.Int(f"atom{len(self.g.atoms)}")
            atom = _Atom(e, sym, factors, nat)
            self.g.atoms[e] = atom
            if nat:
                self.g.hyps_omega.append(sym >= 0)  # omega knows a product of naturals is one
        return atom.sym

    def prop(self, e: Expr) -> Any:
        name, args = _head(e)
        if name == "True":
            return z3.BoolVal(True)
        if name == "False":
            return z3.BoolVal(False)
        if name == "Eq" and len(args) == 3 and _num_type(args[0]):
            return self.term(args[1]) == self.term(args[2])
        if name == "Ne" and len(args) == 3 and _num_type(args[0]):
            return self.term(args[1]) != self.term(args[2])
        rel = {"LE.le": lambda a, b: a <= b, "LT.lt": lambda a, b: a < b,
               "GE.ge": lambda a, b: a >= b, "GT.gt": lambda a, b: a > b}.get(name or "")
        if rel is not None and len(args) == 4 and _num_type(args[0]):
            return rel(self.term(args[2]), self.term(args[3]))
        if name == "Dvd.dvd" and len(args) == 4 and _num_type(args[0]):
            m = _literal(args[2])
            if m is None or m == 0:
                raise _Unsupported("divisibility by a non-literal")
            return self.term(args[3]) % m == 0
        if name == "Not" and len(args) == 1:
            return z3.Not(self.prop(args[0]))
        if name in ("And", "Or", "Iff") and len(args) == 2:
            a, b = self.prop(args[0]), self.prop(args[1])
            return z3.And(a, b) if name == "And" else z3.Or(a, b) if name == "Or" else a == b
        if isinstance(e, Forall) and not mentions_bvar(e.body):
            return z3.Implies(self.prop(e.type), _Translator(self.g, self.omega, [*self.bound, None])
                              .prop(e.body))
        raise _Unsupported(f"proposition {name}")


def _is_const(t: Any) -> bool:
    return bool(z3.is_int_value(z3.simplify(t)))


def _product(ts: list[Any]) -> Any:
    out = ts[0]
    for t in ts[1:]:
        out = out * t
    return out


# ---------------------------------------------------------------------- rendering to Lean

_OPS = {"HAdd.hAdd": "+", "HSub.hSub": "-", "HMul.hMul": "*", "HDiv.hDiv": "/", "HMod.hMod": "%",
        "HPow.hPow": "^"}


def render(e: Expr, g: _Goal, bound: Sequence[int | None] = ()) -> str:
    """A term as Lean source (fully parenthesised), or `_Unsupported`. Loose bound variables
    stand for the values `bound` (innermost last); a closed arithmetic term is computed."""
    lit = _literal(e)
    if lit is None and bound and not any(True for _ in _fvars(e)):
        values = [None if b is None else z3.IntVal(b) for b in bound]
        with contextlib.suppress(_Unsupported, z3.Z3Exception, AttributeError):
            v = z3.simplify(_Translator(g, False, values).term(e))
            lit = v.as_long() if z3.is_int_value(v) else None
    if lit is not None:
        return str(lit) if lit >= 0 else f"({lit})"
    if isinstance(e, BVar) and e.index < len(bound):
        b = bound[-1 - e.index]
        if b is None:
            raise _Unsupported("a proof variable")
        return _lit(b)
    if isinstance(e, App) and isinstance(e.fn, FVar) and e.fn.id in g.funcs:
        return f"({g.funcs[e.fn.id].name} {' '.join(render(a, g, bound) for a in e.args)})"
    if isinstance(e, FVar):
        v = g.vars.get(e.id)
        if v is None or not v.renderable:
            raise _Unsupported("a variable without a usable name")
        return v.name
    name, args = _head(e)
    if name in _OPS and len(args) == 6:
        return f"({render(args[4], g, bound)} {_OPS[name]} {render(args[5], g, bound)})"
    if name == "Neg.neg" and len(args) == 3:
        return f"(-{render(args[2], g, bound)})"
    if name in ("Nat.cast", "NatCast.natCast", "Int.ofNat") and args:
        return f"(({render(args[-1], g, bound)} : Int))"
    raise _Unsupported(f"render {name}")


def render_prop(e: Expr, g: _Goal, bound: Sequence[int | None] = ()) -> str:
    """A comparison (or a conjunction of them) as Lean source, or `_Unsupported`."""
    name, args = _head(e)
    rel = {"Eq": "=", "Ne": "≠", "LE.le": "≤", "LT.lt": "<", "GE.ge": "≥", "GT.gt": ">"}.get(name or "")
    if rel is not None and len(args) in (3, 4) and _num_type(args[0]):
        a, b = args[-2:]
        return f"{render(a, g, bound)} {rel} {render(b, g, bound)}"
    if name in ("And", "Or") and len(args) == 2:
        op = "∧" if name == "And" else "∨"
        return f"({render_prop(args[0], g, bound)} {op} {render_prop(args[1], g, bound)})"
    if isinstance(e, Forall) and not mentions_bvar(e.body):  # an implication
        return f"({render_prop(e.type, g, bound)} → {render_prop(e.body, g, [*bound, None])})"
    raise _Unsupported(f"render {name}")


# ---------------------------------------------------------------------- the solver side

class _Solver:
    def __init__(self, cfg: ProposalConfig, deadline: float) -> None:
        self.cfg, self.deadline = cfg, deadline

    def check(self, facts: Sequence[Any]) -> Any:
        """z3's verdict on the conjunction (`unknown` once the goal's time is spent)."""
        left_ms = int((self.deadline - time.perf_counter()) * 1000)
        if left_ms <= 0:
            return z3.unknown, None
        s = z3.Solver()
        s.set("timeout", max(1, min(self.cfg.solver_timeout_ms, left_ms)))
        s.add(*facts)
        r = s.check()
        return r, (s.model() if r == z3.sat else None)

    def implies(self, facts: Sequence[Any], goal: Any) -> bool:
        return self.check([*facts, z3.Not(goal)])[0] == z3.unsat

    def linear_bound(self, facts: Sequence[Any], t: Any, upper: bool) -> int | None:
        """The exact optimum of `t` under linear `facts` (the omega view), or None."""
        left_ms = int((self.deadline - time.perf_counter()) * 1000)
        if left_ms <= 0:
            return None
        o = z3.Optimize()
        o.set("timeout", max(1, min(self.cfg.solver_timeout_ms, left_ms)))
        o.add(*facts)
        h = o.maximize(t) if upper else o.minimize(t)
        if o.check() != z3.sat:
            return None
        v = o.upper(h) if upper else o.lower(h)
        return v.as_long() if z3.is_int_value(v) else None  # ±oo: unbounded

    def bound(self, facts: Sequence[Any], t: Any, upper: bool) -> int | None:
        """The tight upper (lower) bound of `t` under `facts` by walking models, or None
        (unbounded, too wide, or undecided)."""
        r, m = self.check(facts)
        if r != z3.sat:
            return None
        best = m.eval(t, model_completion=True).as_long()
        for _ in range(self.cfg.max_bound_steps):
            r, m = self.check([*facts, t > best if upper else t < best])
            if r == z3.unsat:
                return best
            if r != z3.sat:
                return None
            best = m.eval(t, model_completion=True).as_long()
        return None


# ---------------------------------------------------------------------- proposals

def propose(goal: GoalTerms, config: ProposalConfig | None = None) -> tuple[Proposal, ...]:
    """Candidate tactics for one goal, strongest first (empty without z3 or on an unreadable
    goal). Never raises for a goal it cannot model."""
    if z3 is None or goal.too_large or goal.target is None:
        return ()
    cfg = config or ProposalConfig()
    deadline = time.perf_counter() + cfg.time_budget_s
    g = _Goal({}, {})
    taken = {h.name for h in goal.hypotheses}
    for h in goal.hypotheses:
        ty = _num_type(h.type)
        if ty is not None and h.value is None:
            g.vars[h.fvar] = _Var(h.fvar, h.name, ty == "Nat", "✝" not in h.name)
            g.z[h.fvar] = z3.Int(f"v{len(g.z)}_{h.name}")
    for h in goal.hypotheses:
        if h.value is None and (f := _function_type(h.type, len(g.funcs))) is not None:
            g.funcs[h.fvar] = replace(f, name=h.name)
    if not g.vars and not g.funcs:
        return ()
    for f in g.funcs.values():
        if f.nat:
            xs = [z3.Int(f"_a{i}") for i in range(f.arity)]
            g.hyps_full.append(z3.ForAll(xs, f.sym(*xs) >= 0))
    for v in g.vars.values():
        if v.nat:
            g.hyps_full.append(g.z[v.fvar] >= 0)
            g.hyps_omega.append(g.z[v.fvar] >= 0)
    foralls: list[tuple[HypTerm, Forall]] = []
    for h in goal.hypotheses:
        if h.fvar in g.vars or h.fvar in g.funcs or h.value is not None:
            continue
        if isinstance(h.type, Forall) and _num_type(h.type.type) and mentions_bvar(h.type.body):
            foralls.append((h, h.type))
        try:
            full = _Translator(g, False).prop(h.type)
            omega = _Translator(g, True).prop(h.type)
        except (_Unsupported, z3.Z3Exception):
            continue
        g.hyps_full.append(full)
        g.hyps_omega.append(omega)
    solver = _Solver(cfg, deadline)
    out: list[Proposal] = []
    target = goal.target
    if _head(target)[0] == "Exists":
        out += _witnesses(g, target, solver)
        return tuple(sorted(out, key=lambda p: -p.logit))
    try:
        t_full = _Translator(g, False).prop(target)
        t_omega = _Translator(g, True).prop(target)
    except (_Unsupported, z3.Z3Exception):
        t_full = t_omega = None
    _collect_mods(target, g)
    if t_omega is not None and solver.implies(g.hyps_omega, t_omega):
        return ()  # omega alone closes it; the prior proposes omega
    try:
        out += _instantiations(g, goal, foralls, t_omega, solver, taken)
        out += _products_for_target(g, t_omega, solver)
        out += _distribute(g)
        out += _bounds_and_splits(g, t_full, solver, taken)
        out += _residue_splits(g, taken, cfg.max_modulus)
    except z3.Z3Exception:
        pass
    seen: set[str] = set()
    uniq = [p for p in sorted(out, key=lambda p: -p.logit) if not (p.tactic in seen or seen.add(p.tactic))]
    return tuple(uniq)


def _fresh(base: str, taken: set[str]) -> str:
    name, i = base, 1
    while name in taken:
        i += 1
        name = f"{base}{i}"
    taken.add(name)
    return name


def _factor_bounds(g: _Goal, facts: list[Any], a: Expr,
                   solver: _Solver) -> tuple[Any, int | None, int | None]:
    t = _Translator(g, True).term(a)
    return t, solver.linear_bound(facts, t, upper=False), solver.linear_bound(facts, t, upper=True)


def _product_facts(g: _Goal, facts: list[Any], solver: _Solver) -> Iterator[tuple[Any, str]]:
    """Product facts provable under `facts` from the factors' linear bounds: (z3 fact, Lean `have`
    body `stmt := proof`). Lower: `A * B ≤ a * b` from `A ≤ a`, `B ≤ b`; upper: `a * b ≤ A * B`."""
    for atom in list(g.atoms.values()):
        if atom.factors is None:
            continue
        a, b = atom.factors
        try:
            ra, rb = render(a, g), render(b, g)
            _, la, ua = _factor_bounds(g, facts, a, solver)
            _, lb, ub = _factor_bounds(g, facts, b, solver)
        except _Unsupported:
            continue
        lemma = "Nat.mul_le_mul (by omega) (by omega)" if atom.nat else \
            "Int.mul_le_mul (by omega) (by omega) (by omega) (by omega)"
        prod = f"{ra} * {rb}"
        if la is not None and lb is not None and la >= 0 and lb >= 0:
            yield atom.sym >= la * lb, f"{la} * {lb} ≤ {prod} := {lemma}"
        if ua is not None and ub is not None and la is not None and lb is not None and la >= 0 and lb >= 0:
            yield atom.sym <= ua * ub, f"{prod} ≤ {ua} * {ub} := {lemma}"


def _certificate(g: _Goal, facts: list[Any], goal: Any, solver: _Solver) -> list[str] | None:
    """Product facts (one or two) after which the omega view implies `goal`, as `have` bodies."""
    cands = list(_product_facts(g, facts, solver))
    for n in (1, 2):
        for combo in itertools.combinations(cands, n):
            if solver.implies([*facts, *(c[0] for c in combo)], goal):
                return [c[1] for c in combo]
    return None


def _products_for_target(g: _Goal, t_omega: Any, solver: _Solver) -> list[Proposal]:
    if t_omega is None or not g.atoms:
        return []
    cert = _certificate(g, g.hyps_omega, t_omega, solver)
    if cert is None:
        return []
    out = [Proposal(f"have : {c}", 5.0, "product", "makes the target linear") for c in cert[:1]]
    steps = "; ".join(f"have : {c}" for c in cert)
    out.append(Proposal(f"({steps}; omega)", 5.2, "product", "product facts, then omega"))
    return out


_DISTRIBUTE = {True: "Nat.add_mul, Nat.mul_add, Nat.sub_mul, Nat.mul_sub",
               False: "Int.add_mul, Int.mul_add, Int.sub_mul, Int.mul_sub"}


def _distribute(g: _Goal) -> list[Proposal]:
    """Multiply out products of sums: to omega `(a + 5) * (b - 3)` and `a * b` are unrelated
    atoms, after distributing they share `a * b`, and the bounds become certifiable."""
    kinds = {atom.nat for atom in g.atoms.values() if atom.factors is not None and any(
        _head(f)[0] in ("HAdd.hAdd", "HSub.hSub") for f in atom.factors)}
    return [Proposal(f"simp only [{_DISTRIBUTE[nat]}] at *", 3.4, "distribute",
                     "products of sums multiplied out") for nat in sorted(kinds)]


def _bounds_and_splits(g: _Goal, t_full: Any, solver: _Solver, taken: set[str]) -> list[Proposal]:
    out: list[Proposal] = []
    in_atoms = {fv for atom in g.atoms.values() for fv in _fvars(atom.expr)}
    for v in g.vars.values():
        if not v.renderable:
            continue
        x = g.z[v.fvar]
        lo_o = solver.linear_bound(g.hyps_omega, x, upper=False)
        hi_o = solver.linear_bound(g.hyps_omega, x, upper=True)
        relevant = v.fvar in in_atoms or t_full is None or g.atoms
        if lo_o is not None and hi_o is not None:
            if hi_o == lo_o:
                out.append(Proposal(f"have h{v.name} : {v.name} = {_lit(lo_o)} := by omega", 3.0, "value",
                                    "the hypotheses fix it (linearly)"))
            elif hi_o - lo_o + 1 <= solver.cfg.max_case_split and relevant:
                out += _case_split(v, lo_o, hi_o, taken, 4.4 if v.fvar in in_atoms else 3.2)
            continue
        if v.fvar not in in_atoms:
            continue
        lo_f = lo_o if lo_o is not None else solver.bound(g.hyps_full, x, upper=False)
        hi_f = hi_o if hi_o is not None else solver.bound(g.hyps_full, x, upper=True)
        for upper, c in ((True, hi_f), (False, lo_f)):
            if c is None or (upper and hi_o is not None) or (not upper and lo_o is not None):
                continue
            c, cert = _weakest_certified(g, x, c, upper, solver)
            stmt = f"{v.name} ≤ {_lit(c)}" if upper else f"{_lit(c)} ≤ {v.name}"
            name = _fresh(f"h{v.name}", set(taken))
            if cert is None:
                # The full view implies it but no product certificate was found: worth one try.
                out.append(Proposal(f"have {name} : {stmt} := by omega", 1.0, "bound",
                                    "implied, uncertified"))
                continue
            haves = "; ".join(f"have : {c_}" for c_ in cert)
            proof = f"(Classical.byContradiction fun hc => by {haves}; omega)"
            out.append(Proposal(f"have {name} : {stmt} := {proof}",
                                4.8, "bound", "certified by product facts"))
    return out


def _weakest_certified(g: _Goal, x: Any, tight: int, upper: bool,
                       solver: _Solver) -> tuple[int, list[str] | None]:
    """The bound nearest to the tight one `tight` that product facts certify: the tight bound
    itself often needs more than linear facts (y ≤ 2 for x + y + xy = 80), a weaker one (y ≤ 8)
    does not. Certifiability is monotone in the bound, so gallop, then bisect."""
    def cert(c: int) -> list[str] | None:
        negated = [*g.hyps_omega, x >= c + 1 if upper else x <= c - 1]
        return _certificate(g, negated, z3.BoolVal(False), solver)

    sign = 1 if upper else -1
    found = cert(tight)
    if found is not None:
        return tight, found
    step, good, bad = 1, None, tight
    while step <= 4096:
        c = tight + sign * step
        found = cert(c)
        if found is not None:
            good = (c, found)
            break
        bad, step = c, step * 2
    if good is None:
        return tight, None
    while abs(good[0] - bad) > 1:
        mid = (good[0] + bad) // 2
        found = cert(mid)
        if found is not None:
            good = (mid, found)
        else:
            bad = mid
    return good


def _lit(c: int) -> str:
    return str(c) if c >= 0 else f"({c})"


def _case_split(v: _Var, lo: int, hi: int, taken: set[str], logit: float) -> list[Proposal]:
    h = _fresh("hcase", set(taken))
    cases = " ∨ ".join(f"{v.name} = {_lit(c)}" for c in range(lo, hi + 1))
    pats = " | ".join([h] * (hi - lo + 1))
    base = f"rcases (by omega : {cases}) with {pats}"
    why = f"{v.name} ∈ [{lo}, {hi}]"
    return [Proposal(f"{base} <;> subst {h} <;> omega", logit, "case_split", why),
            Proposal(f"{base} <;> subst {h} <;> simp_all", logit - 1.0, "case_split", why),
            Proposal(f"{base} <;> subst {h} <;> decide", logit - 1.5, "case_split", why),
            # The cases left open, each then searched on its own (independent goals).
            Proposal(f"{base} <;> subst {h}", logit - 2.0, "case_split", why)]


def _collect_mods(e: Expr, g: _Goal) -> None:
    stack = [e]
    while stack:
        x = stack.pop()
        name, args = _head(x)
        if name in ("HMod.hMod", "Dvd.dvd") and len(args) in (4, 6):
            m = _literal(args[5] if name == "HMod.hMod" else args[2])
            dividend = args[4] if name == "HMod.hMod" else args[3]
            if m is not None and m > 1:
                g.has_mod.append((dividend, m))
        if isinstance(x, App):
            stack.extend(x.args)


def _nonlinear(e: Expr) -> bool:
    name, args = _head(e)
    if name == "HPow.hPow" and len(args) == 6:
        return True
    if name == "HMul.hMul" and len(args) == 6:
        both = _literal(args[4]) is None and _literal(args[5]) is None
        return both or any(_nonlinear(a) for a in args[4:])
    return isinstance(e, App) and any(_nonlinear(a) for a in e.args)


# What `simp` needs to push `%` through `^`, `*`, `+` in core Lean (measured on `a ^ 2 % 4`).
_NAT_MOD_LEMMAS = "Nat.pow_succ, Nat.pow_zero, Nat.mul_mod, Nat.add_mod, Nat.dvd_iff_mod_eq_zero"
_INT_MOD_LEMMAS = ("Int.pow_succ, Int.pow_zero, Int.mul_emod, Int.add_emod, Int.sub_emod, "
                   "Int.dvd_iff_emod_eq_zero")


def _residue_splits(g: _Goal, taken: set[str], max_modulus: int) -> list[Proposal]:
    out: list[Proposal] = []
    done: set[tuple[str, int]] = set()
    for dividend, m in g.has_mod:
        if m > max_modulus or not _nonlinear(dividend):
            continue
        for fv in set(_fvars(dividend)):
            v = g.vars.get(fv)
            if v is None or not v.renderable or (fv, m) in done:
                continue
            done.add((fv, m))
            h = _fresh("hres", set(taken))
            cases = " ∨ ".join(f"{v.name} % {m} = {r}" for r in range(m))
            pats = " | ".join([h] * m)
            lemmas = _NAT_MOD_LEMMAS if v.nat else _INT_MOD_LEMMAS
            base = f"rcases (by omega : {cases}) with {pats}"
            why = f"{v.name} mod {m}"
            out.append(Proposal(f"{base} <;> simp [{lemmas}, {h}]", 4.3, "residue_split", why))
            out.append(Proposal(f"{base} <;> simp [{lemmas}, {h}] <;> omega", 3.6, "residue_split", why))
    return out


def _function_type(ty: Expr, index: int) -> _Func | None:
    """`ℕ/ℤ → … → ℕ/ℤ` (non-dependent) as an uninterpreted z3 function, else None."""
    arity, sorts = 0, []
    while isinstance(ty, Forall) and _num_type(ty.type) and not mentions_bvar(ty.body):
        arity += 1
        sorts.append(z3.IntSort())
        ty = ty.body
    res = _num_type(ty)
    if arity == 0 or res is None:
        return None
    return _Func("", arity, res == "Nat", z3.Function(f"f{index}", *sorts, z3.IntSort()))


def _numbers(goal: GoalTerms, g: _Goal) -> list[tuple[int | None, str | None]]:
    """Instantiation candidates: the literals of the goal (and their neighbours) as values,
    and its named variables, each as (value, variable id)."""
    lits: set[int] = set()
    for e in (goal.target, *(h.type for h in goal.hypotheses)):
        stack: list[Expr] = [e] if e is not None else []
        while stack:
            x = stack.pop()
            if (v := _literal(x)) is not None:
                lits.update((v - 1, v, v + 1))
            elif isinstance(x, App):
                stack.extend(x.args)
            elif isinstance(x, (Lam, Forall)):
                stack += [x.type, x.body]
    vals: list[tuple[int | None, str | None]] = [(v, None) for v in sorted(lits) if abs(v) <= 1000]
    return vals + [(None, v.fvar) for v in g.vars.values() if v.renderable]


def _instantiations(g: _Goal, goal: GoalTerms, foralls: list[tuple[HypTerm, Forall]], t_omega: Any,
                    solver: _Solver, taken: set[str], most: int = 4) -> list[Proposal]:
    """`have`s instantiating `∀ x, P x` hypotheses after which omega closes the target: all
    candidate instances are tried at once, then dropped one at a time while the target stays
    implied (the omega view, so the instances are what omega needs)."""
    if t_omega is None or not foralls:
        return []
    cands: list[tuple[Any, str]] = []  # (z3 fact, Lean `have`)
    numbers = _numbers(goal, g)[:24]
    for h, fa in foralls:
        if "✝" in h.name:
            continue
        nat = _num_type(fa.type) == "Nat"
        for val, fv in numbers:
            if val is not None and (nat and val < 0):
                continue
            x = z3.IntVal(val) if val is not None else g.z[fv]
            try:
                fact = _Translator(g, True, [x]).prop(fa.body)
                if val is not None:
                    stmt, arg = render_prop(fa.body, g, [val]), _lit(val)
                else:
                    stmt, arg = "", g.vars[fv].name
            except (_Unsupported, z3.Z3Exception):
                continue
            name = _fresh(f"{h.name}_", taken | {c[1].split()[1] for c in cands})
            have = f"have {name} : {stmt} := {h.name} {arg}" if stmt else f"have {name} := {h.name} {arg}"
            cands.append((fact, have))
    if not cands or not solver.implies([*g.hyps_omega, *(c[0] for c in cands)], t_omega):
        return []
    needed = list(cands)
    for c in list(needed):
        rest = [d for d in needed if d is not c]
        if solver.implies([*g.hyps_omega, *(d[0] for d in rest)], t_omega):
            needed = rest
    if len(needed) > most:
        return []
    steps = "; ".join(c[1] for c in needed)
    return [Proposal(f"({steps}; omega)", 5.4, "instance", "instances that make omega close it"),
            Proposal(f"({steps}; simp_all)", 4.0, "instance", "the same instances, then simp_all")]


def _witnesses(g: _Goal, target: Expr, solver: _Solver, limit: int = 3) -> list[Proposal]:
    """Values `w` for `∃ x, P x` such that the hypotheses imply `P w` (z3 over the full view);
    for a goal without variables the exact evaluator re-checks `P w`."""
    _, args = _head(target)
    if len(args) != 2 or not isinstance(args[1], Lam) or _num_type(args[0]) is None:
        return []
    lam = args[1]
    nat = _num_type(args[0]) == "Nat"
    xw = z3.Int("witness")
    try:
        body = _Translator(g, False, [xw]).prop(lam.body)
    except (_Unsupported, z3.Z3Exception):
        return []
    facts = [*g.hyps_full, *( [xw >= 0] if nat else [])]
    out: list[Proposal] = []
    tried: list[Any] = []
    for _ in range(limit * 3):
        r, m = solver.check([*facts, body, *tried])
        if r != z3.sat:
            break
        w = m.eval(xw, model_completion=True).as_long()
        tried.append(xw != w)
        if not solver.implies(g.hyps_full, z3.substitute(body, (xw, z3.IntVal(w)))):
            continue  # holds for some values of the goal's variables only
        if not _exact_holds(lam, w, nat):
            continue
        term = _lit(w)
        out.append(Proposal(f"exact ⟨{term}, by decide⟩", 5.0 - 0.2 * len(out), "witness", "exact"))
        out.append(Proposal(f"refine ⟨{term}, ?_⟩", 4.6 - 0.2 * len(out), "witness", "exact"))
        if len(out) >= 2 * limit:
            break
    return out


def _exact_holds(lam: Lam, w: int, nat: bool) -> bool:
    """The exact evaluator's word on `P w` when `P` has no free variables; True when it cannot
    judge (free variables, or constants it does not model): Lean decides then."""
    if any(True for _ in _fvars(lam.body)):
        return True
    from prover.numeric.errors import Undetermined, Unsupported
    from prover.numeric.terms import INT, NAT, Evaluator

    try:
        r = Evaluator({}, {}).truth(lam.body, ((NAT if nat else INT, w),))
    except (Unsupported, Undetermined, RecursionError):
        return True
    return r is not False
