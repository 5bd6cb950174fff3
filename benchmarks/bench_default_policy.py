"""`prover prove`'s default policy against `--policy builtin` and `--policy numeric`, same budget,
on our own hard problems (`benchmarks/data/proposal_problems.py`, not miniF2F).

    .venv/bin/python benchmarks/bench_default_policy.py [--only NAME ...] [--out report.md]

Each leg's search is what `prover prove` builds: its flags are parsed by `prover prove`'s own
parser (`search.cli.add_arguments`; the default leg gives no `--policy`), read into a
`SearchSetup` (`search.options.setup_from_args`) and assembled by `search.assemble.assemble` on
one Lean server; legs run back to back per problem. Budget: 60 s wall, 200 expansions, tactic
timeout 20 s. Prints a Markdown table; exits 1 if a false problem is reported proved.
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

from problem_sets import cell, emit, problem_run

from prover.lean import LeanConfig, LeanServer
from search import cli
from search.assemble import SearchSetup, assemble
from search.options import setup_from_args
from search.result import SearchResult

HERE = Path(__file__).resolve().parent
LEGS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("default", ()), ("builtin", ("--policy", "builtin")), ("numeric", ("--policy", "numeric")))


def prove_setup(flags: list[str]) -> SearchSetup:
    """The setup `prover prove <flags>` would search with."""
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    return setup_from_args(parser.parse_args(["x", *flags]))


def main(argv: list[str] | None = None) -> int:
    args, problems = problem_run(__doc__, argv, "proposal_problems", wall_time=60.0)
    budget = ["--max-expansions", str(args.max_expansions), "--wall-time", str(args.wall_time),
              "--tactic-timeout", str(args.tactic_timeout)]
    setups = {leg: prove_setup([*budget, *flags]) for leg, flags in LEGS}
    rows: list[tuple[Any, dict[str, SearchResult]]] = []
    with LeanServer(LeanConfig(runtime=args.runtime, tactic_timeout=args.tactic_timeout)) as server:
        searchers = {leg: assemble(s, server) for leg, s in setups.items()}
        searchers["builtin"].search("theorem warm (n : Nat) : n + 0 = n := by")  # warm-up, not counted
        for p in problems:
            res = {leg: s.search(p.snippet) for leg, s in searchers.items()}
            rows.append((p, res))
            print(f"{p.name:18} " + " ".join(f"{leg}({r.policy})={r.status.value}" for leg, r in res.items()),
                  flush=True)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            cwd=HERE).stdout.strip()
    true_rows = [(p, r) for p, r in rows if p.true]
    unsound = [p.name for p, r in rows if not p.true and any(x.proved for x in r.values())]
    b = setups["default"].budget
    lines = [
        "# `prover prove`: the default policy against builtin and numeric",
        "",
        f"{len(rows)} problems from `benchmarks/data/proposal_problems.py` (ours, not miniF2F), "
        f"`benchmarks/bench_default_policy.py`, commit {commit}. The default leg is `prover prove` with no "
        f"`--policy` (here: `{setups['default'].policy}`). Budget per leg: {b.max_expansions} expansions, "
        f"{b.wall_time:g} s wall, tactic timeout {b.tactic_timeout:g} s, k={b.k}; the goal-size value and "
        f"the numeric prune hook in every leg, one Lean server. Machine: {platform.machine()}, Python "
        f"{platform.python_version()}.",
        "",
        *(f"- `{leg}` ({setups[leg].policy}): **{sum(r[leg].proved for _, r in true_rows)} / "
          f"{len(true_rows)}** true problems proved" for leg, _ in LEGS),
        f"- false problems reported proved: {len(unsound)}",
        "",
        "| problem | category | " + " | ".join(f"{leg} | exp. | wall s" for leg, _ in LEGS) + " |",
        "|---|---|" + "---|---|---|" * len(LEGS),
    ]
    for p, res in rows:
        lines.append(f"| {p.name} | {p.category}{'' if p.true else ' (false)'} | "
                     + " | ".join(cell(res[leg]) for leg, _ in LEGS) + " |")
    return emit("\n".join(lines) + "\n", args.out, unsound)


if __name__ == "__main__":
    sys.exit(main())
