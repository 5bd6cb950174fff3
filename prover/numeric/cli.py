"""``prover check "<statement>"``: print the numeric checker's verdict."""

from __future__ import annotations

import argparse
import json

from prover.lean.client import LeanClient

# The checker (sympy) is imported in `run`, so that building the `prover` parser stays fast.
DEFAULT_MAX_ASSIGNMENTS = 250
DEFAULT_TIME_BUDGET_S = 1.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("statement", help="a Lean 4 theorem, a proposition, or a goal with --goal")
    parser.add_argument(
        "--goal", action="store_true", help="the text is a pretty-printed goal (hyps, then ⊢ target)"
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-assignments", type=int, default=DEFAULT_MAX_ASSIGNMENTS)
    parser.add_argument("--time-budget", type=float, default=DEFAULT_TIME_BUDGET_S, help="seconds")
    parser.add_argument("--lean", action="store_true",
                        help="confirm a counterexample with the real Lean (`decide`), via the warm server")


def run(args: argparse.Namespace, *, lean: LeanClient | None = None) -> int:
    """Print the verdict; exit status 1 when the statement is refuted, 0 otherwise.

    `lean`: an object with `check(code) -> CommandResult` (a Lean server) to confirm counterexamples.
    """
    from prover.numeric.checker import CheckConfig, NumericChecker, Verdict

    config = CheckConfig(max_assignments=args.max_assignments, time_budget_s=args.time_budget, seed=args.seed)
    checker = NumericChecker(config, lean=lean)
    result = checker.check_goal_text(args.statement) if args.goal else checker.check_statement(args.statement)
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(f"{result.verdict.value}: {result.reason}")
        if result.counterexample is not None:
            print(f"  evaluated by: {result.counterexample.method}")
            print(f"  Lean: {result.counterexample.lean.value}")
        ms = result.elapsed_s * 1000
        print(f"  ({result.tried} assignments tried, {result.readings} typing(s), {ms:.1f} ms)")
    return 1 if result.verdict is Verdict.REFUTED else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="prover check", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
