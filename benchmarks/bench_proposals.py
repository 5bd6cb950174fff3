"""The built-in prior with and without the numeric model's proposals, side by side, on our own
problems (`benchmarks/data/proposal_problems.py`; miniF2F figures come from `prover bench`).

    .venv/bin/python benchmarks/bench_proposals.py [--out benchmarks/results/numeric_proposals/own.md]

Per problem both legs run back to back on one Lean server, same budget: the prior alone, then
the prior plus the numeric proposals (`search.policies.numeric_proposals`). Both legs have the
numeric prune hook and the goal-size value. Prints a Markdown table: status, expansions, wall
time, and the numeric model's share of the second leg's wall time. Exits 1 if a false problem is
reported proved.
"""

from __future__ import annotations

import platform
import subprocess
import sys
from pathlib import Path

from problem_sets import cell, emit, problem_run

from prover.lean import LeanConfig, LeanServer
from prover.verify import Verifier
from search.api import make_policy
from search.best_first import BestFirstSearch, SearchConfig
from search.prune import NumericPruneHook
from search.result import SearchResult
from search.values.simple import GoalSizeValue

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    args, problems = problem_run(__doc__, argv, "proposal_problems", wall_time=45.0)
    cfg = SearchConfig(max_expansions=args.max_expansions, wall_time=args.wall_time,
                       tactic_timeout=args.tactic_timeout)
    rows = []
    with LeanServer(LeanConfig(runtime=args.runtime)) as server:
        verifier = Verifier(server)

        def run(policy: object, snippet: str) -> SearchResult:
            return BestFirstSearch(server, policy, GoalSizeValue(), cfg, verifier=verifier,  # type: ignore[arg-type]
                                   prune_hook=NumericPruneHook(lean=server)).search(snippet)

        run(make_policy("builtin"), "theorem warm (n : Nat) : n + 0 = n")  # warm-up, not counted
        for p in problems:
            # The policies `prover bench` builds: they know the snippet's definitions and lemmas.
            prior = run(make_policy("builtin", p.snippet), p.snippet)
            numeric_policy = make_policy("numeric", p.snippet, lean=server)
            numeric = run(numeric_policy, p.snippet)
            rows.append((p, prior, numeric, numeric_policy.numeric_seconds))
            print(f"{p.name:18} prior={prior.status.value:16} numeric={numeric.status.value:16} "
                  f"{numeric_policy.numeric_seconds:.1f}s numeric of {numeric.stats.wall_seconds:.1f}s",
                  flush=True)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            cwd=HERE).stdout.strip()
    true_rows = [r for r in rows if r[0].true]
    unsound = [r[0].name for r in rows if not r[0].true and (r[1].proved or r[2].proved)]
    num_s = sum(r[3] for r in rows)
    num_wall = sum(r[2].stats.wall_seconds for r in rows)
    lines = [
        "# Numeric proposals on our own problems (prior alone vs. prior + proposals)",
        "",
        f"{len(rows)} problems from `benchmarks/data/proposal_problems.py` (ours, not miniF2F), "
        f"`benchmarks/bench_proposals.py`, commit {commit}. Budget per leg: {cfg.max_expansions} "
        f"expansions, {cfg.wall_time:g} s wall, tactic timeout {cfg.tactic_timeout:g} s, k={cfg.k}; both "
        "legs with the goal-size value and the numeric prune hook, one Lean server, legs back to back "
        f"per problem. Machine: {platform.machine()}, Python {platform.python_version()}.",
        "",
        f"- true problems proved: prior **{sum(r[1].proved for r in true_rows)} / {len(true_rows)}**, "
        f"prior + proposals **{sum(r[2].proved for r in true_rows)} / {len(true_rows)}**",
        f"- false problems reported proved: {len(unsound)}",
        f"- numeric model's share of the proposal leg's wall time: {100 * num_s / max(num_wall, 1e-9):.1f} % "
        f"({num_s:.1f} s of {num_wall:.1f} s)",
        "",
        "| problem | category | prior | exp. | wall s | + proposals | exp. | wall s | numeric s "
        "| proof with proposals |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for p, a, b, s in rows:
        proof = " ; ".join(b.tactics) if b.proved else b.message
        proof = proof.replace("|", "\\|").replace("\n", " ")
        if len(proof) > 300:
            proof = proof[:299] + "…"
        lines.append(f"| {p.name} | {p.category}{'' if p.true else ' (false)'} | {cell(a)} | {cell(b)} "
                     f"| {s:.1f} | {proof} |")
    return emit("\n".join(lines) + "\n", args.out, unsound)


if __name__ == "__main__":
    sys.exit(main())
