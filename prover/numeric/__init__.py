"""Numeric sanity checker: refute Lean statements and goals on concrete values, exactly.

Public API: :class:`NumericChecker` (``check_statement``, ``check_goal``,
``check_goal_text``), :class:`CheckConfig`, :class:`CheckResult`, :class:`Verdict`,
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
}

__all__ = [
    "CheckConfig", "CheckResult", "Counterexample", "FilteredCandidate", "LeanChecker", "LeanStatus",
    "NumericChecker", "TypedCheck", "TypedConfig", "Verdict", "Witness", "check_goal_terms", "check_state",
    "filter_candidates", "find_witnesses", "goal_is_dead",
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


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"prover.numeric.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'prover.numeric' has no attribute {name!r}")
