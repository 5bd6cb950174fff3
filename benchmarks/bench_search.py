"""Best-first search with the built-in prior vs. a one-shot baseline, on core-Lean problems.

    .venv/bin/python benchmarks/bench_search.py [--out benchmarks/results/search.md]
        [--plot benchmarks/results/search_curve.png] [--only NAME ...]

For each problem of `benchmarks/data/search_problems.py`:
- baseline: every tactic the built-in prior proposes for the root, each tried alone on the root
  (what a single tactic can do); proved if one finishes and passes verification;
- search: `BestFirstSearch` with the built-in prior, the goal-size value model and the numeric
  prune hook, under the budgets below.
Prints proved counts (false problems must stay unproved), the median wall time per problem and
the share of wall time spent outside Lean. One Lean server for everything; its start and a
warm-up search are excluded (paid once per process).
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from problem_sets import emit, load_problems

from prover.lean import LeanConfig, LeanError, LeanServer, LeanServerError, ProofFinished
from prover.verify import Verifier
from search.api import as_snippet
from search.best_first import BestFirstSearch, SearchConfig
from search.policies.builtin import BuiltinPolicy
from search.prune import NumericPruneHook
from search.result import SearchResult
from search.values.simple import GoalSizeValue


@dataclass(frozen=True)
class Baseline:
    proved: bool
    tactic: str
    seconds: float
    tried: int


def one_shot(server: LeanServer, verifier: Verifier, snippet: str, k: int) -> Baseline:
    """Each root candidate of the built-in prior alone; the first verified finisher wins."""
    t0 = time.monotonic()
    root = server.open_proof(snippet)
    if isinstance(root, LeanError):
        return Baseline(False, "", time.monotonic() - t0, 0)
    tried = 0
    try:
        for cand in BuiltinPolicy.for_snippet(snippet).propose(root, k):
            tried += 1
            try:
                res = server.run_tactic(root, cand.tactic, timeout=20)
            except LeanServerError:
                continue
            if isinstance(res, ProofFinished) and verifier.verify(snippet, res.script).ok:
                return Baseline(True, cand.tactic, time.monotonic() - t0, tried)
            if not isinstance(res, (LeanError, ProofFinished)):
                server.forget([res])
    finally:
        server.forget([root])
    return Baseline(False, "", time.monotonic() - t0, tried)


def run_search(server: LeanServer, verifier: Verifier, snippet: str, cfg: SearchConfig,
               prune: bool = True) -> SearchResult:
    search = BestFirstSearch(server, BuiltinPolicy.for_snippet(snippet), GoalSizeValue(), cfg,
                             verifier=verifier, prune_hook=NumericPruneHook(lean=server) if prune else None)
    return search.search(snippet)


def _plot(path: Path, search_times: list[float], base_times: list[float], total: int, budget: float) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for label, times in (("best-first search", search_times), ("one-shot baseline", base_times)):
        xs = sorted(times)
        ax.step([0.0, *xs, budget], [0, *range(1, len(xs) + 1), len(xs)], where="post", label=label)
    ax.set_xscale("symlog", linthresh=1.0)
    ax.set_xlabel("wall time per problem (s)")
    ax.set_ylabel(f"true problems proved (of {total})")
    ax.set_title("Core-Lean problems proved within a time limit")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runtime", default="auto")
    ap.add_argument("--max-expansions", type=int, default=60)
    ap.add_argument("--wall-time", type=float, default=60.0)
    ap.add_argument("--k", type=int, default=12)
    ap.add_argument("--baseline-k", type=int, default=64, help="root candidates the baseline tries")
    ap.add_argument("--only", nargs="*", default=None, help="problem names to run")
    ap.add_argument("--category", default=None, help="only problems of this category")
    ap.add_argument("--no-numeric-prune", action="store_true", help="search without the numeric hook")
    ap.add_argument("--out", type=Path, default=None, help="also write a Markdown report here")
    ap.add_argument("--plot", type=Path, default=None, help="also write the proved-vs-time curve (PNG)")
    args = ap.parse_args(argv)

    problems = [p for p in load_problems("search_problems") if (not args.only or p.name in args.only)
                and (args.category is None or p.category == args.category)]
    cfg = SearchConfig(k=args.k, max_expansions=args.max_expansions, wall_time=args.wall_time)
    rows = []
    with LeanServer(LeanConfig(runtime=args.runtime)) as server:
        verifier = Verifier(server)
        run_search(server, verifier, as_snippet("theorem warm (n : Nat) : n + 0 = n"), cfg)  # warm-up
        for p in problems:
            snippet = as_snippet(p.snippet)
            base = one_shot(server, verifier, snippet, args.baseline_k)
            res = run_search(server, verifier, snippet, cfg, prune=not args.no_numeric_prune)
            rows.append((p, base, res))
            steps = len(res.tactics)
            print(f"{p.name:18} {p.category:10} base={'Y' if base.proved else '-'} "
                  f"search={res.status.value:16} steps={steps} {res.stats.wall_seconds:6.2f}s "
                  f"outside={100 * res.stats.outside_lean_share:4.1f}% | "
                  f"{' ; '.join(res.tactics) if res.proved else res.message[:60]}", flush=True)

    true_rows = [r for r in rows if r[0].true]
    false_rows = [r for r in rows if not r[0].true]
    s_proved = sum(r[2].proved for r in true_rows)
    b_proved = sum(r[1].proved for r in true_rows)
    unsound = [r[0].name for r in false_rows if r[2].proved or r[1].proved]
    walls = [r[2].stats.wall_seconds for r in rows]
    base_walls = [r[1].seconds for r in rows]
    wall_sum = sum(walls)
    outside = sum(r[2].stats.outside_lean_seconds for r in rows)
    model = sum(r[2].stats.model_seconds + r[2].stats.prune_seconds for r in rows)
    lines = [
        "# Best-first search vs. one-shot baseline (built-in prior, core Lean)",
        "",
        f"{len(rows)} problems ({len(true_rows)} true, {len(false_rows)} false) from "
        "`benchmarks/data/search_problems.py`; `benchmarks/bench_search.py`.",
        f"Search budget per problem: k={cfg.k}, {cfg.max_expansions} expansions, {cfg.wall_time:g} s wall, "
        f"tactic timeout {cfg.tactic_timeout:g} s; value: goal size (weight {cfg.value_weight}); "
        f"numeric prune hook {'off' if args.no_numeric_prune else 'on'}. "
        "Baseline: each root candidate of the prior alone "
        f"(up to {args.baseline_k}).",
        f"Machine: {platform.machine()}, Python {platform.python_version()}, Lean via "
        f"`{args.runtime}` runtime; the Lean server start and a warm-up search are excluded.",
        "",
        "| | search | one-shot baseline |",
        "|---|---|---|",
        f"| true problems proved | **{s_proved} / {len(true_rows)}** | {b_proved} / {len(true_rows)} |",
        f"| false problems reported proved | {sum(r[2].proved for r in false_rows)} | "
        f"{sum(r[1].proved for r in false_rows)} |",
        f"| median wall time per problem | {statistics.median(walls):.2f} s | "
        f"{statistics.median(base_walls):.2f} s |",
        f"| total wall time | {wall_sum:.1f} s | {sum(base_walls):.1f} s |",
        f"| share of wall time outside Lean | **{100 * outside / wall_sum:.2f} %** "
        f"(models + prune hook: {100 * model / wall_sum:.2f} %) | – |",
        "",
        "| problem | category | baseline | search | steps | expansions | wall (s) | outside Lean "
        "| proof / why not |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for p, b, r in rows:
        proof = " ; ".join(r.tactics) if r.proved else r.message
        proof = proof.replace("|", "\\|").replace("\n", " ")
        lines.append(
            f"| {p.name} | {p.category}{'' if p.true else ' (false)'} | "
            f"{'`' + b.tactic.replace('|', chr(92) + '|') + '`' if b.proved else '–'} | "
            f"{r.status.value} | {len(r.tactics) or '–'} | {r.stats.expansions} | "
            f"{r.stats.wall_seconds:.2f} | {100 * r.stats.outside_lean_share:.1f} % | {proof} |")
    by_cat: dict[str, list[tuple[bool, bool]]] = {}
    for p, b, r in true_rows:
        by_cat.setdefault(p.category, []).append((r.proved, b.proved))
    lines += ["", "| category | search | baseline |", "|---|---|---|"]
    for cat, xs in by_cat.items():
        lines.append(f"| {cat} | {sum(s for s, _ in xs)} / {len(xs)} | {sum(b for _, b in xs)} / {len(xs)} |")
    base_by = Counter(b.tactic.split()[0] for _, b, _ in true_rows if b.proved)
    multi = [p.name for p, _, r in true_rows if r.proved and len(r.tactics) > 1]
    lines += [
        "",
        "Baseline proofs by first word of the tactic: "
        + ", ".join(f"`{t}` {n}" for t, n in base_by.most_common()) + ".",
        f"Search proofs with more than one step ({len(multi)}): {', '.join(multi) or 'none'}.",
    ]
    if args.plot:
        _plot(args.plot, [r[2].stats.wall_seconds for r in true_rows if r[2].proved],
              [r[1].seconds for r in true_rows if r[1].proved], len(true_rows), cfg.wall_time)
        lines += ["", f"![proved vs. time]({args.plot.name})"]
    return emit("\n".join(lines) + "\n", args.out, unsound)


if __name__ == "__main__":
    sys.exit(main())
