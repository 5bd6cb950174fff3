"""The numeric sanity checker: refute statements and goals on concrete values.

For each candidate assignment, every hypothesis is evaluated exactly; only assignments on
which all hypotheses are true (in every typing the text admits) count, and the statement is
``refuted`` only when the conclusion is exactly false on one of them.  Undecidable values
never count as evidence, so a true statement is never refuted.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum

from prover.numeric.assignments import Assignment, assignments, sample_values
from prover.numeric.confirm import LeanChecker, LeanStatus, confirm
from prover.numeric.errors import Unsupported
from prover.numeric.evaluate import Evaluator
from prover.numeric.problem import (
    Problem,
    RawGoal,
    build_problems,
    raw_goal,
    raw_goal_text,
    raw_statement,
)
from prover.numeric.types import Num


class Verdict(str, Enum):
    """A numeric check's outcome.

    On one checker's result (`CheckResult`, `typed.TypedCheck`) `REFUTED` means that checker found
    an exact counterexample. For users, `prover.numeric.verdict.statement_verdict` keeps `REFUTED`
    for a counterexample Lean's kernel confirmed and names every other one `REFUTED_UNCONFIRMED`;
    `INVALID` (nothing could read the statement) is also only its.
    """

    REFUTED = "refuted"
    REFUTED_UNCONFIRMED = "refuted_unconfirmed"  # refuted numerically, not checked by Lean
    SURVIVED = "survived"
    VACUOUS = "vacuous"
    UNSUPPORTED = "unsupported"
    INVALID = "invalid"


@dataclass(frozen=True, slots=True)
class CheckConfig:
    """Search limits; the defaults keep a typical check well under 50 ms."""

    max_assignments: int = 250  # candidates evaluated at most
    max_satisfying: int = 30  # stop after this many assignments satisfied hypotheses and conclusion
    time_budget_s: float = 1.0  # per check, counted from the start of the search
    seed: int = 0
    solve: bool = True  # solve equality hypotheses with sympy for witnesses
    confirm_with_lean: bool = True
    smt: bool = True  # after sampling, the SMT solver's models (z3, when installed) as candidates
    smt_timeout_ms: int = 150


@dataclass(frozen=True, slots=True)
class Counterexample:
    """An assignment satisfying every hypothesis on which the conclusion is false."""

    assignment: tuple[tuple[str, str], ...]
    method: str  # "exact rational", "exact algebraic/interval", "exact integral"
    lean: LeanStatus
    lean_code: str | None


@dataclass(frozen=True, slots=True)
class CheckResult:
    verdict: Verdict
    reason: str
    counterexample: Counterexample | None = None
    satisfying: int = 0  # assignments where hypotheses and conclusion held
    tried: int = 0
    undecided: int = 0  # assignments where something could not be decided exactly
    readings: int = 1  # typings of the text that were all checked
    elapsed_s: float = 0.0
    read: bool = True  # False: the text could not be read (unsupported syntax, disagreeing readings)

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "verdict": self.verdict.value,
            "reason": self.reason,
            "satisfying": self.satisfying,
            "tried": self.tried,
            "undecided": self.undecided,
            "readings": self.readings,
            "elapsed_ms": round(self.elapsed_s * 1000, 2),
        }
        if self.counterexample is not None:
            c = self.counterexample
            out["counterexample"] = {
                "assignment": dict(c.assignment),
                "method": c.method,
                "lean": c.lean.value,
                "lean_code": c.lean_code,
            }
        return out


@dataclass
class _Tally:
    tried: int = 0
    satisfying: int = 0
    hyps_true: int = 0
    hyps_false: int = 0
    undecided: int = 0
    reasons: list[str] = field(default_factory=list)


class NumericChecker:
    """Checks Lean statements and goals on concrete values.

    Args:
        config: search limits.
        lean: optional Lean used to confirm ℕ/ℤ counterexamples with ``decide``.
    """

    def __init__(self, config: CheckConfig | None = None, lean: LeanChecker | None = None) -> None:
        self.config = config or CheckConfig()
        self.lean = lean

    def check_statement(self, text: str) -> CheckResult:
        """Check ``theorem name (binders) : concl := …`` or a bare proposition."""
        return self._run(lambda: raw_statement(text))

    def check_goal(self, hyps: Sequence[tuple[str, str]], target: str) -> CheckResult:
        """Check a goal given as pretty-printed ``(name, type)`` pairs and a target."""
        return self._run(lambda: raw_goal(hyps, target))

    def check_goal_text(self, goal: str) -> CheckResult:
        """Check a whole pretty-printed goal ``x : ℕ\\nh : …\\n⊢ …``."""
        return self._run(lambda: raw_goal_text(goal))

    def problems_for_goal(self, hyps: Sequence[tuple[str, str]], target: str) -> list[Problem]:
        return build_problems(raw_goal(hyps, target))

    def _run(self, make: object) -> CheckResult:
        start = time.perf_counter()
        try:
            raw: RawGoal = make()  # type: ignore[operator]
            problems = build_problems(raw)
            return self._search(problems, start)
        except Unsupported as err:
            return CheckResult(Verdict.UNSUPPORTED, str(err), elapsed_s=time.perf_counter() - start,
                               read=False)
        except RecursionError:
            return CheckResult(Verdict.UNSUPPORTED, "expression nested too deeply",
                               elapsed_s=time.perf_counter() - start, read=False)

    def _search(self, problems: list[Problem], start: float) -> CheckResult:
        cfg = self.config
        first = problems[0]
        if any(p.variables != first.variables for p in problems):
            raise Unsupported("readings disagree on the variables")
        deadline = time.perf_counter() + cfg.time_budget_s
        evaluators = [
            Evaluator(functions=dict(p.functions), deadline=deadline, samples=sample_values) for p in problems
        ]
        tally = _Tally()
        for env in assignments(first, seed=cfg.seed, solve=cfg.solve):
            if tally.tried >= cfg.max_assignments or time.perf_counter() > deadline:
                break
            tally.tried += 1
            outcome = self._assess(problems, evaluators, env)
            if outcome == "refuted":
                return self._refuted(problems, evaluators, env, tally, start)
            if outcome == "hyp_false":
                tally.hyps_false += 1
            elif outcome == "undecided":
                tally.undecided += 1
            elif outcome == "concl_undecided":
                tally.hyps_true += 1
                tally.undecided += 1
            elif outcome == "holds":
                tally.hyps_true += 1
                tally.satisfying += 1
                if tally.satisfying >= cfg.max_satisfying:
                    break
        # Sampling found no counterexample: the SMT solver's models of hyps ∧ ¬conclusion are
        # further candidates, judged exactly by `_assess` like the sampled ones (on every reading).
        if cfg.smt:
            for env in self._smt_candidates(first, deadline):
                tally.tried += 1
                outcome = self._assess(problems, evaluators, env)
                if outcome == "refuted":
                    return self._refuted(problems, evaluators, env, tally, start)
                if outcome == "holds":
                    tally.hyps_true += 1
                    tally.satisfying += 1
        return self._conclude(tally, len(problems), start)

    def _smt_candidates(self, problem: Problem, deadline: float) -> list[Assignment]:
        import sympy

        from prover.numeric.smt import SmtConfig, nodes_models

        left_ms = int((deadline - time.perf_counter()) * 1000)
        if left_ms <= 0:
            return []
        cfg = SmtConfig(timeout_ms=min(self.config.smt_timeout_ms, left_ms))
        out: list[Assignment] = []
        for m in nodes_models(problem.variables, [h for _, h in problem.hypotheses], problem.conclusion, cfg):
            env: Assignment = {}
            for name, ty in problem.variables:
                v = m.get(name, 0)
                env[name] = int(v) if ty in (Num.NAT, Num.INT) else sympy.Rational(
                    v.numerator, v.denominator)
            out.append(env)
        return out

    def _assess(self, problems: list[Problem], evaluators: list[Evaluator], env: Assignment) -> str:
        outcomes = set()
        for p, ev in zip(problems, evaluators, strict=True):
            status = "holds"
            for _, h in p.hypotheses:
                r = ev.truth(h, env)
                if r is False:
                    status = "hyp_false"
                    break
                if r is None:
                    status = "undecided"
            if status == "holds":
                c = ev.truth(p.conclusion, env)
                status = "refuted" if c is False else "concl_undecided" if c is None else "holds"
            outcomes.add(status)
        if len(outcomes) == 1:
            return outcomes.pop()
        return "undecided"  # the readings disagree, and only agreement is evidence

    def _refuted(
        self,
        problems: list[Problem],
        evaluators: list[Evaluator],
        env: Assignment,
        tally: _Tally,
        start: float,
    ) -> CheckResult:
        for ev in evaluators:
            ev.methods.clear()
            ev.truth(problems[0].conclusion, env)
        methods = set().union(*(ev.methods for ev in evaluators))
        method = (
            "exact integral (sympy)"
            if "integral" in methods
            else "interval arithmetic (mpmath) / algebraic"
            if "interval" in methods
            else "exact rational arithmetic"
        )
        status, code = LeanStatus.NOT_CORE, None
        if len(problems) == 1 and self.config.confirm_with_lean:
            status, code = confirm(problems[0], env, self.lean)
        shown = tuple((k, _show(v)) for k, v in env.items())
        cex = Counterexample(shown, method, status, code)
        where = ", ".join(f"{k} = {v}" for k, v in shown) or "no variables"
        return CheckResult(
            Verdict.REFUTED,
            f"conclusion false at {where} with all hypotheses true",
            cex,
            tally.satisfying,
            tally.tried,
            tally.undecided,
            len(problems),
            time.perf_counter() - start,
        )

    def _conclude(self, tally: _Tally, readings: int, start: float) -> CheckResult:
        elapsed = time.perf_counter() - start
        common = (tally.satisfying, tally.tried, tally.undecided, readings, elapsed)
        if tally.satisfying > 0:
            msg = f"{tally.satisfying} assignments satisfied the hypotheses and the conclusion"
            return CheckResult(Verdict.SURVIVED, msg, None, *common)
        if tally.hyps_true > 0:
            msg = (
                f"conclusion could not be decided on the {tally.hyps_true} assignments"
                " satisfying the hypotheses"
            )
            return CheckResult(Verdict.UNSUPPORTED, msg, None, *common)
        if tally.undecided == 0 and tally.tried > 0:
            return CheckResult(
                Verdict.VACUOUS, f"none of {tally.tried} assignments satisfied the hypotheses", None, *common
            )
        return CheckResult(
            Verdict.UNSUPPORTED, "the hypotheses could not be decided on any assignment", None, *common
        )


def _show(v: object) -> str:
    return str(v)


def evaluate_closed_term(text: str) -> object:
    """The exact value of a closed Lean term (no variables), typed as Lean would type it.

    Raises:
        Unsupported: the term is outside the checker's language.
        Undetermined: the value cannot be computed exactly.
    """
    from prover.numeric.elaborate import Chooser, Elaborator
    from prover.numeric.errors import Undetermined
    from prover.numeric.problem import parse_term

    node = Elaborator(Chooser(), goal_mode=False).term(parse_term(text), {}, None)
    value = Evaluator().value(node, {})
    if value is None:
        raise Undetermined("no value")
    return value
