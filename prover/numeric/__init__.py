"""Numeric sanity checker: refute Lean statements and goals on concrete values, exactly.

Public API: :func:`statement_verdict` (the one verdict for users: Lean's typed terms where the
statement elaborates, refutations confirmed by Lean's kernel; the surface text otherwise) with
:class:`StatementVerdict`; the surface checker :class:`NumericChecker` (``check_statement``,
``check_goal``, ``check_goal_text``), :class:`CheckConfig`, :class:`CheckResult`, :class:`Verdict`,
:class:`Counterexample`, the Lean confirmation protocol :class:`LeanChecker`, and the hooks
:func:`goal_is_dead`, :func:`filter_candidates`, :func:`find_witnesses`.

Names resolve lazily (PEP 562): importing the package, e.g. for the CLI's parser, does not load
sympy; the first use of a name does.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "CheckConfig": "checker", "CheckResult": "checker", "Counterexample": "checker",
    "NumericChecker": "checker", "Verdict": "checker",
    "LeanChecker": "confirm", "LeanStatus": "confirm",
    "FilteredCandidate": "hooks", "Witness": "hooks", "filter_candidates": "hooks",
    "find_witnesses": "hooks", "goal_is_dead": "hooks",
    "TypedCheck": "typed", "TypedConfig": "typed", "check_goal_terms": "typed", "check_state": "typed",
    "CheckPath": "verdict", "LeanReading": "verdict", "Refutation": "verdict", "StatementVerdict": "verdict",
    "VerdictConfig": "verdict", "statement_verdict": "verdict",
}

__all__ = [
    "CheckConfig", "CheckPath", "CheckResult", "Counterexample", "FilteredCandidate", "LeanChecker",
    "LeanReading", "LeanStatus", "NumericChecker", "Refutation", "StatementVerdict", "TypedCheck",
    "TypedConfig", "Verdict", "VerdictConfig", "Witness", "check_goal_terms", "check_state",
    "filter_candidates", "find_witnesses", "goal_is_dead", "statement_verdict",
]

if TYPE_CHECKING:
    from prover.numeric.checker import CheckConfig, CheckResult, Counterexample, NumericChecker, Verdict
    from prover.numeric.confirm import LeanChecker, LeanStatus
    from prover.numeric.hooks import (
        FilteredCandidate,
        Witness,
        filter_candidates,
        find_witnesses,
        goal_is_dead,
    )
    from prover.numeric.typed import TypedCheck, TypedConfig, check_goal_terms, check_state
    from prover.numeric.verdict import (
        CheckPath,
        LeanReading,
        Refutation,
        StatementVerdict,
        VerdictConfig,
        statement_verdict,
    )


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"prover.numeric.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'prover.numeric' has no attribute {name!r}")
