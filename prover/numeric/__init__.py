"""Numeric sanity checker: refute Lean statements and goals on concrete values, exactly.

Public API: :class:`NumericChecker` (``check_statement``, ``check_goal``,
``check_goal_text``), :class:`CheckConfig`, :class:`CheckResult`, :class:`Verdict`,
:class:`Counterexample`, the Lean confirmation protocol :class:`LeanChecker`, and the hooks
:func:`goal_is_dead`, :func:`filter_candidates`, :func:`find_witnesses`.
"""

from prover.numeric.checker import CheckConfig, CheckResult, Counterexample, NumericChecker, Verdict
from prover.numeric.confirm import LeanChecker, LeanStatus
from prover.numeric.hooks import FilteredCandidate, Witness, filter_candidates, find_witnesses, goal_is_dead

__all__ = [
    "CheckConfig",
    "CheckResult",
    "Counterexample",
    "FilteredCandidate",
    "LeanChecker",
    "LeanStatus",
    "NumericChecker",
    "Verdict",
    "Witness",
    "filter_candidates",
    "find_witnesses",
    "goal_is_dead",
]
