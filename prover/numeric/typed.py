"""The numeric checker on Lean's elaborated goals: counterexamples from the typed trees.

For a goal from Lean (`LeanServer.goal_terms`), its variables of modelled types get values, every
hypothesis and the target are evaluated exactly (`prover.numeric.terms`), and an assignment that
makes every hypothesis true and the target false is a counterexample. Lean's kernel then has the
last word (`LeanServer.refute`): a counterexample it can check (a decidable closed instance) is
reported refuted only once the kernel confirms it; one it rejects never is. Goals that use
constants the evaluator does not model (a user's `def`) are handed to Lean on a few assignments,
so Lean itself evaluates them.
"""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Protocol

from prover.lean.exprs import App, Const, Expr, Forall, GoalTerms, HypTerm, RefuteStatus, Sort
from prover.numeric.checker import Verdict
from prover.numeric.errors import Undetermined, Unsupported
from prover.numeric.smt import SmtConfig, terms_models
from prover.numeric.terms import Evaluator, Kind, Ty, UnknownConstant, domain

# Asks Lean about assignments (lists of (fvar id, value term)); one status each, up to the first
# confirmed (`LeanServer.refute` bound to a state and goal).
Refuter = Callable[[Sequence[Sequence[tuple[str, str]]]], Sequence[RefuteStatus]]

# Statuses under which the evaluator's exact counterexample stands: Lean confirmed it, or the
# instance is not decidable (nothing for the kernel to check; the evaluation is exact).
_STANDS = (RefuteStatus.CONFIRMED, RefuteStatus.NOT_DECIDABLE)


@dataclass(frozen=True, slots=True)
class TypedConfig:
    max_assignments: int = 250
    max_satisfying: int = 30
    time_budget_s: float = 0.5
    seed: int = 0
    # Assignments handed to Lean when the goal uses constants the evaluator does not model.
    lean_samples: int = 4
    heartbeats: int = 20_000  # Lean's limit (thousands) for one `refute` request
    # The SMT solver (z3, optional) after sampling found no counterexample: its models of
    # hyps ∧ ¬target are candidates, evaluated exactly and confirmed by Lean like any other.
    smt: bool = True
    smt_timeout_ms: int = 150
    smt_models: int = 3


@dataclass(frozen=True, slots=True)
class TypedCheck:
    verdict: Verdict
    reason: str
    assignment: tuple[tuple[str, str], ...] = ()  # (user name, value) of a counterexample
    lean: RefuteStatus | None = None  # Lean's answer on the counterexample, when asked
    by_lean: bool = False  # Lean evaluated the goal (constants the evaluator does not model)
    by_smt: bool = False  # the counterexample came from the SMT solver's model (then re-checked)
    tried: int = 0
    satisfying: int = 0
    elapsed_s: float = 0.0


@dataclass(frozen=True, slots=True)
class _Var:
    hyp: HypTerm
    ty: Ty


def render_value(ty: Ty, v: Any) -> str:
    """A value as a Lean term that elaborates to it at type `ty`."""
    if ty.kind is Kind.BOOL:
        return "true" if v else "false"
    if ty.kind is Kind.RAT:
        q = Fraction(v)
        return str(q.numerator) if q.denominator == 1 else f"{q.numerator}/{q.denominator}"
    return str(int(v))


def _type_like(e: Expr) -> bool:
    """Whether a hypothesis's type is a type of data (a function, a type, a structure), not a
    proposition: such a hypothesis constrains nothing."""
    while isinstance(e, Forall):
        e = e.body
    if isinstance(e, Sort):
        return True
    head = e.fn if isinstance(e, App) else e
    if not isinstance(head, Const):
        return False
    return head.name in ("Nat", "Int", "Rat", "Bool", "Fin", "List", "Array", "Prod", "Option", "String",
                         "Char") or head.name.startswith(("UInt", "Int8", "Int16", "Int32", "Int64"))


def _assignments(vars_: list[_Var], cfg: TypedConfig) -> list[dict[str, Any]]:
    doms = [list(domain(v.ty).values) for v in vars_]
    if not vars_:
        return [{}]
    out: list[dict[str, Any]] = []
    seen: set[tuple[Any, ...]] = set()

    def add(vals: tuple[Any, ...]) -> None:
        if vals not in seen:
            seen.add(vals)
            out.append({v.hyp.fvar: x for v, x in zip(vars_, vals, strict=True)})

    # A grid of the small values first (where junk values and wrap-around live), then random picks.
    k = max(2, int((cfg.max_assignments // 2) ** (1 / len(vars_))))
    for vals in itertools.product(*[d[:k] for d in doms]):
        if len(out) >= cfg.max_assignments // 2:
            break
        add(vals)
    rng = random.Random(cfg.seed)
    for _ in range(cfg.max_assignments * 3):
        if len(out) >= cfg.max_assignments:
            break
        add(tuple(rng.choice(d) for d in doms))
    return out


def check_goal_terms(goal: GoalTerms, refuter: Refuter | None = None,
                     config: TypedConfig | None = None) -> TypedCheck:
    """Check one goal's typed trees; `refuter` is Lean (`LeanServer.refute` on this goal).

    Without a refuter a counterexample is reported with `lean=None` (unconfirmed); with one,
    only a confirmed (or undecidable, hence uncheckable) counterexample is `REFUTED`.
    """
    cfg = config or TypedConfig()
    start = time.perf_counter()

    def done(verdict: Verdict, reason: str, **kw: Any) -> TypedCheck:
        return TypedCheck(verdict, reason, elapsed_s=time.perf_counter() - start, **kw)

    if goal.too_large or goal.target is None:
        return done(Verdict.UNSUPPORTED, "the goal is too large to send")
    probe = Evaluator({}, {})
    vars_: list[_Var] = []
    props: list[HypTerm] = []
    lets: dict[str, Expr] = {}
    for h in goal.hypotheses:
        if h.value is not None:
            lets[h.fvar] = h.value
            continue
        try:
            vars_.append(_Var(h, probe.ty(h.type)))
            continue
        except (Unsupported, Undetermined):
            pass
        if not _type_like(h.type):
            props.append(h)  # a proposition, or something unknown: evaluated (or undecided)
    types = {v.hyp.fvar: v.ty for v in vars_}
    deadline = start + cfg.time_budget_s
    tried = satisfying = hyps_true = undecided = 0
    needs_lean = False
    lean_cands: list[dict[str, Any]] = []
    names = {v.hyp.fvar: (v.hyp.name, v.ty) for v in vars_}

    def shown(env: dict[str, Any]) -> tuple[tuple[str, str], ...]:
        return tuple((names[k][0], render_value(names[k][1], x)) for k, x in env.items())

    def lean_terms(env: dict[str, Any]) -> list[tuple[str, str]]:
        return [(k, render_value(names[k][1], x)) for k, x in env.items()]

    def candidates() -> Iterator[tuple[dict[str, Any], bool]]:
        # Sampling first; then, when it found no counterexample, the solver's models of
        # hyps ∧ ¬target (each evaluated exactly below, like any sampled assignment).
        for env in _assignments(vars_, cfg):
            yield env, False
        if cfg.smt and time.perf_counter() < deadline:
            left_ms = int((deadline - time.perf_counter()) * 1000)
            smt_cfg = SmtConfig(timeout_ms=min(cfg.smt_timeout_ms, left_ms), max_models=cfg.smt_models)
            for m in terms_models(types, lets, [h.type for h in props], goal.target, smt_cfg):
                env = {k: (Fraction(v) if types[k].kind is Kind.RAT else int(v)) for k, v in m.items()}
                full = {v.hyp.fvar: env.get(v.hyp.fvar, domain(v.ty).values[0]) for v in vars_}
                yield full, True

    for env, from_smt in candidates():
        if not from_smt and (time.perf_counter() > deadline or satisfying >= cfg.max_satisfying):
            continue  # sampling is over; the solver's models still get their turn
        tried += 1
        # A model gets its own short budget: the sampling may have spent the shared one.
        ev = Evaluator(env, types, lets, deadline if not from_smt else time.perf_counter() + 0.1)
        status = "true"
        try:
            for h in props:
                r = ev.truth(h.type)
                if r is False:
                    status = "hyp_false"
                    break
                if r is None:
                    status = "undecided"
            if status == "true":
                hyps_true += 1
                c = ev.truth(goal.target)
                status = "refuted" if c is False else "holds" if c is True else "undecided"
        except UnknownConstant:
            needs_lean = True
            status = "undecided"
        except Undetermined:
            status = "undecided"
        except (Unsupported, RecursionError) as err:
            return done(Verdict.UNSUPPORTED, str(err) or "nested too deeply", tried=tried)
        if status == "undecided":
            undecided += 1
            if len(lean_cands) < cfg.lean_samples:
                lean_cands.append(env)
        elif status == "holds":
            satisfying += 1
        elif status == "refuted":
            how = " (a model from the SMT solver, re-checked exactly)" if from_smt else ""
            if refuter is None:
                return done(Verdict.REFUTED, f"target false at {_where(shown(env))} with all hypotheses "
                            f"true{how}", assignment=shown(env), tried=tried, satisfying=satisfying,
                            by_smt=from_smt)
            lean = refuter([lean_terms(env)])[-1]
            if lean in _STANDS:
                return done(Verdict.REFUTED, f"target false at {_where(shown(env))} with all hypotheses true "
                            f"(Lean: {lean.value}){how}", assignment=shown(env), lean=lean, tried=tried,
                            satisfying=satisfying, by_smt=from_smt)
            # Lean did not confirm an exact counterexample: the evaluator is wrong here, or the
            # kernel could not finish. Either way nothing is refuted.
            return done(Verdict.UNSUPPORTED, f"counterexample {_where(shown(env))} not confirmed by Lean "
                        f"({lean.value})", assignment=shown(env), lean=lean, tried=tried)
    if needs_lean and refuter is not None and lean_cands:
        statuses = refuter([lean_terms(env) for env in lean_cands])
        if statuses and statuses[-1] is RefuteStatus.CONFIRMED:
            env = lean_cands[len(statuses) - 1]
            return done(Verdict.REFUTED, f"Lean's kernel decided the target false at {_where(shown(env))}",
                        assignment=shown(env), lean=RefuteStatus.CONFIRMED, by_lean=True, tried=tried,
                        satisfying=satisfying)
    if satisfying:
        return done(Verdict.SURVIVED, f"{satisfying} assignments satisfied the hypotheses and the target",
                    tried=tried, satisfying=satisfying, by_lean=needs_lean)
    if tried and not hyps_true and not undecided:
        return done(Verdict.VACUOUS, f"none of {tried} assignments satisfied the hypotheses", tried=tried)
    return done(Verdict.UNSUPPORTED, "nothing could be decided exactly" if not needs_lean
                else "the goal uses constants the evaluator does not model, and Lean found no counterexample",
                tried=tried, by_lean=needs_lean)


def _where(assignment: tuple[tuple[str, str], ...]) -> str:
    return ", ".join(f"{k} = {v}" for k, v in assignment) or "no variables"


class GoalTermsSource(Protocol):
    """The part of `LeanServer` the typed check uses."""

    def goal_terms(self, state: Any) -> tuple[GoalTerms, ...]: ...

    def refute(self, state: Any, assignments: Any, *, goal: int = 0,
               heartbeats: int | None = None) -> tuple[RefuteStatus, ...]: ...


def check_state(lean: GoalTermsSource, state: Any,
                config: TypedConfig | None = None) -> tuple[TypedCheck, ...]:
    """Check each goal of a Lean proof state on its typed trees, up to the first refuted one."""
    cfg = config or TypedConfig()
    out: list[TypedCheck] = []
    for i, g in enumerate(lean.goal_terms(state)):

        def refuter(asgs: Sequence[Sequence[tuple[str, str]]], i: int = i) -> Sequence[RefuteStatus]:
            return lean.refute(state, asgs, goal=i, heartbeats=cfg.heartbeats)

        out.append(check_goal_terms(g, refuter, cfg))
        if out[-1].verdict is Verdict.REFUTED:
            break
    return tuple(out)
