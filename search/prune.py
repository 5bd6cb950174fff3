"""Prune hooks: close proof states that cannot be proved, before the search spends Lean time on
them. `NumericPruneHook` asks `prover.numeric` whether some goal has a counterexample: on the
typed trees Lean elaborated (`prover.numeric.typed`) when it has the Lean server the states came
from, else on the goals' pretty-printed text."""

from __future__ import annotations

from typing import Any, Protocol

from prover.lean import Goal, ProofState
from prover.lean.client import LeanClient


class GoalChecker(Protocol):
    """The part of `prover.numeric.NumericChecker` the hook uses."""

    def check_goal(self, hyps: list[tuple[str, str]], target: str) -> Any: ...


class NumericPruneHook:
    """Prunes a state when the numeric checker refutes one of its goals.

    A goal is refuted when values of its variables satisfy every hypothesis but falsify the
    target; a state with such a goal has no proof. Only the verdict "refuted" prunes: survived,
    vacuous (contradictory hypotheses: the goal may well be provable) and unsupported do not.

    With `lean` (the server the states come from) the goals are read as Lean elaborated them, and
    a counterexample is confirmed by Lean's kernel before it prunes. Without it the pretty-printed
    text is read, whose types are a guess (`(3 : Fin 4) + 1 = 0` prints as `3 + 1 = 0`).

    Args:
        checker: for the text path; defaults to `prover.numeric.NumericChecker()`.
        lean: the `LeanServer` whose states the hook sees (the typed path).
        typed_config: limits of the typed path (`prover.numeric.typed.TypedConfig`).
    """

    def __init__(self, checker: GoalChecker | None = None, *, lean: LeanClient | None = None,
                 typed_config: Any = None) -> None:
        self._checker = checker
        self.lean = lean
        self.typed_config = typed_config

    @property
    def checker(self) -> GoalChecker:
        if self._checker is None:
            from prover.numeric import NumericChecker

            self._checker = NumericChecker()
        return self._checker

    def check(self, state: ProofState) -> str | None:
        if self.lean is not None:
            return self._typed(state)
        for i, goal in enumerate(state.goals):
            why = self._refuted(goal)
            if why is not None:
                return f"goal {i + 1} ({goal.target}) is false: {why}"
        return None

    def _typed(self, state: ProofState) -> str | None:
        from prover.lean.errors import LeanServerError
        from prover.numeric.checker import Verdict
        from prover.numeric.typed import check_state

        try:
            checks = check_state(self.lean, state, self.typed_config)
        except LeanServerError:  # Lean could not answer: never a reason to prune
            return None
        for i, c in enumerate(checks):
            if c.verdict is Verdict.REFUTED:
                return f"goal {i + 1} ({state.goals[i].target}) is false: {c.reason}"
        return None

    def _refuted(self, goal: Goal) -> str | None:
        hyps = [(h.name, h.type) for h in goal.hypotheses]
        try:
            result = self.checker.check_goal(hyps, goal.target)
        except _out_of_reach():  # the checker's own "cannot tell": never a reason to prune
            return None

        if _verdict(result) != "refuted":
            return None
        cex = getattr(result, "counterexample", None)
        assignment = getattr(cex, "assignment", None)
        if assignment:
            return "counterexample " + ", ".join(f"{k} = {v}" for k, v in assignment)
        return str(getattr(result, "reason", "") or "refuted")


def _out_of_reach() -> tuple[type[Exception], ...]:
    try:
        from prover.numeric.errors import Undetermined, Unsupported
    except ImportError:
        return ()
    return (Unsupported, Undetermined)


def _verdict(result: Any) -> str:
    v = getattr(result, "verdict", result)
    return str(getattr(v, "value", v)).lower()
