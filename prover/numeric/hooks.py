"""Hooks for the rest of the prover: search pruning, autoformalization filtering, witnesses."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from prover.numeric.assignments import assignments, sample_values
from prover.numeric.checker import CheckResult, NumericChecker, Verdict
from prover.numeric.errors import Unsupported
from prover.numeric.evaluate import Evaluator
from prover.numeric.nodes import Quant
from prover.numeric.problem import build_problems, raw_goal


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
    out: list[Witness] = []
    for env in assignments(problem, seed=0):
        if time.perf_counter() > deadline or len(out) >= limit:
            break
        if any(ev.truth(h, env) is not True for _, h in problem.hypotheses):
            continue
        values = ev.collection(q.domain, env) if q.domain is not None else sample_values(q.var_ty)
        for v in values:
            if ev.truth(q.body, {**env, q.var: v}) is True:
                out.append(Witness(q.var, str(v), tuple((k, str(x)) for k, x in env.items())))
                if len(out) >= limit:
                    break
        if not problem.variables:
            break
    return out
