"""``prover check "<statement>"``: the numeric verdict on a statement (`prover.numeric.verdict`).

Lean reads the statement first (the warm server): where it elaborates, the check runs on Lean's
elaborated terms and "refuted" means Lean's kernel confirmed the counterexample. A statement this
Lean cannot elaborate (one written for Mathlib) is checked on its text by the surface checker
(Lean surface syntax read into sympy); its refutation is "refuted numerically, not checked by
Lean". `--surface-only` runs that surface checker alone, without Lean; `--goal` reads a
pretty-printed goal with it.

Exit status: 0 no counterexample (survived, vacuous, or not decided); 1 refuted, the
counterexample confirmed by Lean's kernel; 2 invalid input (empty, refused by Lean, or readable
neither by Lean nor by the surface checker); 3 Lean failed (from `prover`); 4 refuted
numerically, not checked by Lean.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from prover.lean.client import LeanClient

# The checkers (sympy) are imported in `run`, so that building the `prover` parser stays fast.
DEFAULT_MAX_ASSIGNMENTS = 250
DEFAULT_TIME_BUDGET_S = 1.0

EXIT_NOT_REFUTED = 0
EXIT_REFUTED = 1
EXIT_INVALID = 2
EXIT_REFUTED_UNCONFIRMED = 4


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = ("Lean checks the statement on its own terms where it elaborates; a statement it cannot "
                     "elaborate (Mathlib) is checked on its text only. Exit status: 0 no counterexample, 1 "
                     "refuted (counterexample confirmed by Lean's kernel), 2 invalid input, 3 Lean failed, "
                     "4 refuted numerically, not checked by Lean.")
    parser.add_argument("statement", help="a Lean 4 theorem (definitions may precede it) or a proposition; "
                        "a pretty-printed goal with --goal")
    parser.add_argument("--goal", action="store_true",
                        help="the text is a pretty-printed goal (hyps, then ⊢ target); read by the surface "
                             "checker only, without Lean")
    parser.add_argument("--surface-only", action="store_true",
                        help="no Lean: only the surface checker on the text; its refutations are not "
                             "checked by Lean (exit 4)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-assignments", type=int, default=DEFAULT_MAX_ASSIGNMENTS)
    parser.add_argument("--time-budget", type=float, default=DEFAULT_TIME_BUDGET_S, help="seconds")
    # Lean is used by default now; the old opt-in flag is accepted and changes nothing.
    parser.add_argument("--lean", action="store_true", help=argparse.SUPPRESS)


def uses_lean(args: argparse.Namespace) -> bool:
    """Whether this check needs a Lean server (all but `--surface-only` and `--goal`)."""
    return not (args.surface_only or args.goal)


def run(args: argparse.Namespace, *, lean: LeanClient | None = None, header: str = "") -> int:
    """Print the verdict and return the exit status (see the module docstring).

    Args:
        lean: the Lean server (or the warm daemon's client); without one, or with `--surface-only`
            or `--goal`, the surface checker runs alone.
        header: commands Lean reads before the statement (`prover check` passes the ℕ/ℤ prelude).

    Raises:
        LeanServerError: Lean failed (the caller reports it).
    """
    from prover.numeric.checker import CheckConfig, Verdict
    from prover.numeric.typed import TypedConfig
    from prover.numeric.verdict import LeanReading, VerdictConfig, statement_verdict, surface_verdict

    limits = {"max_assignments": args.max_assignments, "time_budget_s": args.time_budget, "seed": args.seed}
    config = VerdictConfig(typed=TypedConfig(**limits), surface=CheckConfig(**limits))
    if args.goal:
        result = surface_verdict(args.statement, None, config, reading=LeanReading.NOT_ASKED, goal=True)
    else:
        result = statement_verdict(args.statement, lean if uses_lean(args) else None, config, header=header)
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    elif result.verdict is Verdict.INVALID:
        print(f"prover check: invalid input: {result.reason}", file=sys.stderr)
    else:
        _print_text(result)
    return {Verdict.REFUTED: EXIT_REFUTED, Verdict.REFUTED_UNCONFIRMED: EXIT_REFUTED_UNCONFIRMED,
            Verdict.INVALID: EXIT_INVALID}.get(result.verdict, EXIT_NOT_REFUTED)


def _print_text(result: Any) -> None:
    from prover.numeric.verdict import LeanReading

    print(f"{result.text}: {result.reason}")
    cex = result.counterexample
    if cex is not None:
        where = ", ".join(f"{k} = {v}" for k, v in cex.assignment) or "no variables"
        kernel = f"; Lean's kernel: {cex.kernel.value}" if cex.kernel is not None else ""
        print(f"  counterexample: {where} ({cex.method}{kernel})")
    if result.lean is LeanReading.ELABORATED:
        print("  checked on the terms Lean elaborated")
    elif result.lean is LeanReading.NOT_ELABORATED:
        first = result.lean_error.splitlines()[0] if result.lean_error else ""
        print(f"  Lean did not elaborate the statement here ({first}); checked on its text by the surface "
              "checker")
    else:
        print("  checked on its text by the surface checker, without Lean")
    print(f"  ({result.tried} assignments tried, {result.elapsed_s * 1000:.1f} ms)")
