"""Hooks for the rest of the prover: search pruning, autoformalization filtering, witnesses."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction

from prover.numeric.assignments import assignments, sample_values
from prover.numeric.checker import CheckResult, NumericChecker, Verdict
from prover.numeric.errors import Unsupported
from prover.numeric.evaluate import Evaluator
from prover.numeric.nodes import Node, Quant
from prover.numeric.problem import Problem, build_problems, raw_goal
from prover.numeric.types import Num


def goal_is_dead(checker: NumericChecker, hyps: Sequence[tuple[str, str]], target: str) -> bool:
    """Pruning hook: True when the goal is refuted under its hypotheses (no proof exists)."""
    return checker.check_goal(hyps, target).verdict is Verdict.REFUTED


@dataclass(frozen=True, slots=True)
class FilteredCandidate:
    statement: str
    result: CheckResult

    @property
    def keep(self) -> bool:
        return self.result.verdict is not Verdict.REFUTED


def filter_candidates(checker: NumericChecker, statements: Iterable[str]) -> list[FilteredCandidate]:
    """Check autoformalized candidates; ``keep`` is False for the refuted ones."""
    return [FilteredCandidate(s, checker.check_statement(s)) for s in statements]


@dataclass(frozen=True, slots=True)
class Witness:
    """A value for the ``∃`` variable making the body true (with the goal's variables fixed)."""

    var: str
    value: str
    context: tuple[tuple[str, str], ...]  # values given to the goal's own variables


def find_witnesses(
    hyps: Sequence[tuple[str, str]], target: str, limit: int = 5, time_budget_s: float = 0.2
) -> list[Witness]:
    """Concrete ``x`` with ``P x`` exactly true, for a target ``∃ x, P x``.

    Only goals without free number variables give context-free witnesses (the usual case for
    ``exists 7``); otherwise the witness holds for the listed context values only.
    """
    try:
        problems = build_problems(raw_goal(hyps, target))
    except Unsupported:
        return []
    if len(problems) != 1 or not isinstance(problems[0].conclusion, Quant):
        return []
    problem = problems[0]
    q = problems[0].conclusion
    if q.kind not in ("exists", "exists1"):
        return []
    deadline = time.perf_counter() + time_budget_s
    ev = Evaluator(functions=dict(problem.functions), deadline=deadline, samples=sample_values)
    out: list[Witness] = _smt_witnesses(problem, q, ev, limit, time_budget_s)
    for env in assignments(problem, seed=0):
        if time.perf_counter() > deadline or len(out) >= limit:
            break
        if any(ev.truth(h, env) is not True for _, h in problem.hypotheses):
            continue
        values = ev.collection(q.domain, env) if q.domain is not None else sample_values(q.var_ty)
        for v in values:
            if ev.truth(q.body, {**env, q.var: v}) is True and all(w.value != str(v) for w in out):
                out.append(Witness(q.var, str(v), tuple((k, str(x)) for k, x in env.items())))
                if len(out) >= limit:
                    break
        if not problem.variables:
            break
    return out


def _smt_witnesses(problem: Problem, q: Quant, ev: Evaluator, limit: int,
                   time_budget_s: float) -> list[Witness]:
    """Witnesses from the SMT solver's models of hyps ∧ P x, each re-checked exactly here.

    A witness is context-free (empty `context`) when the solver also finds `hyps → P w` for every
    value of the goal's variables, e.g. when the hypotheses pin them (`x + y = 10`, `x - y = 2`).
    That claim is the solver's alone; it is only a suggestion to the prior, and Lean checks the
    tactic that uses it.
    """
    import sympy

    from prover.numeric.smt import SmtConfig, exists_witnesses

    cfg = SmtConfig(timeout_ms=max(1, int(time_budget_s * 1000 / 3)))
    found = exists_witnesses(problem.variables, [h for _, h in problem.hypotheses], q, limit, cfg)
    types = dict(problem.variables)

    def val(v: object, ty: Num) -> object:
        f = Fraction(v)  # type: ignore[arg-type]
        return int(f) if ty in (Num.NAT, Num.INT) else sympy.Rational(f.numerator, f.denominator)

    body: Node = q.body
    inner_types: dict[str, Num] = {}
    while isinstance(body, Quant) and body.kind == "exists" and body.domain is None:
        inner_types[body.var] = body.var_ty
        body = body.body
    out: list[Witness] = []
    for w in found:
        env = {n: val(v, types[n]) for n, v in w.context}
        env.update({n: val(v, inner_types[n]) for n, v in w.inner})
        # the innermost body at the model's values of all the ∃-variables: exactly true means w
        # is a witness (the nested ones are witnessed by the model's values)
        if ev.truth(body if len(w.inner) == len(inner_types) else q.body,
                    {**env, q.var: val(w.value, q.var_ty)}) is not True:
            continue  # the exact evaluator disagrees with the model: not a witness
        shown = str(Fraction(w.value))
        if any(o.value == shown for o in out):
            continue
        ctx = () if w.pinned else tuple((n, str(Fraction(v))) for n, v in w.context)
        out.append(Witness(q.var, shown, ctx))
    # context-free witnesses first: those are the ones worth a Lean call
    return sorted(out, key=lambda x: bool(x.context))
