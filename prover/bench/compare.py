"""`prover bench-compare`: two runs of `prover bench` side by side, from their records only.

Matches problems by id over what both runs searched and reports, per split and per category:
proved by each, by both, by one only; expansions per proof (over each run's proofs and over the
problems both proved); and each run's time in the models (policy and value, where the numeric
model's proposals are timed) as a share of its search time.
"""

from __future__ import annotations

import argparse
import statistics
from dataclasses import dataclass
from pathlib import Path

from prover.bench.worker import SEARCHED, ProblemResult


@dataclass(frozen=True)
class Leg:
    label: str
    results: dict[str, ProblemResult]  # id -> record


def load_leg(run_dir: Path, label: str | None = None) -> Leg:
    """The records of the run in `run_dir` (its `results.jsonl`)."""
    from prover.bench.runner import read_results

    path = run_dir / "results.jsonl" if run_dir.is_dir() else run_dir
    if not path.exists():
        raise FileNotFoundError(f"no results log at {path}")
    return Leg(label or run_dir.name, {r.id: r for r in read_results(path)})


def _mean(xs: list[int]) -> str:
    return f"{statistics.mean(xs):.1f} (median {statistics.median(xs):g})" if xs else "–"


def compare(a: Leg, b: Leg) -> str:
    """The Markdown comparison of two legs over the problems both searched."""
    ids = sorted(i for i in a.results.keys() & b.results.keys()
                 if a.results[i].status in SEARCHED and b.results[i].status in SEARCHED)
    if not ids:
        raise ValueError("the two runs searched no problem in common")
    ra, rb = [a.results[i] for i in ids], [b.results[i] for i in ids]

    def row(name: str, keep: list[int]) -> str:
        pa = [ra[k].proved for k in keep]
        pb = [rb[k].proved for k in keep]
        both = sum(x and y for x, y in zip(pa, pb, strict=True))
        return (f"| {name} | {len(keep)} | **{sum(pa)}** | **{sum(pb)}** | {both} | {sum(pa) - both} "
                f"| {sum(pb) - both} |")

    idx = range(len(ids))
    lines = [f"Problems both runs searched: {len(ids)}. A = `{a.label}`, B = `{b.label}`.", "",
             "| group | searched | proved A | proved B | both | A only | B only |",
             "|---|---|---|---|---|---|---|", row("**total**", list(idx))]
    for split in sorted({r.split for r in ra}):
        lines.append(row(f"split {split}", [k for k in idx if ra[k].split == split]))
    for cat in sorted({r.category for r in ra}):
        lines.append(row(cat, [k for k in idx if ra[k].category == cat]))
    both = [k for k in idx if ra[k].proved and rb[k].proved]
    lines += ["", "| | A | B |", "|---|---|---|",
              f"| expansions per proof (its own proofs) | {_mean([r.expansions for r in ra if r.proved])} "
              f"| {_mean([r.expansions for r in rb if r.proved])} |",
              f"| expansions per proof (the {len(both)} both proved) "
              f"| {_mean([ra[k].expansions for k in both])} | {_mean([rb[k].expansions for k in both])} |"]
    for leg, rs in (("A", ra), ("B", rb)):
        wall = sum(r.search_seconds for r in rs)
        model = sum(float(r.stats.get("model_seconds", 0.0)) for r in rs)
        lines.append(f"| search time, {leg}: total / in the models | {wall:.0f} s / {model:.0f} s "
                     f"({100 * model / wall if wall else 0:.1f} %) | |")
    only_a = [ids[k] for k in idx if ra[k].proved and not rb[k].proved]
    only_b = [ids[k] for k in idx if rb[k].proved and not ra[k].proved]
    lines += ["", f"Proved by A only: {', '.join(only_a) or 'none'}.",
              f"Proved by B only: {', '.join(only_b) or 'none'}."]
    return "\n".join(lines) + "\n"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_a", type=Path, help="a `prover bench` output directory (or its results.jsonl)")
    parser.add_argument("run_b", type=Path)
    parser.add_argument("--labels", default=None, help="two comma-separated names for the runs")
    parser.add_argument("--out", type=Path, default=None, help="also write the Markdown here")


def run(args: argparse.Namespace) -> int:
    labels = args.labels.split(",", 1) if args.labels else [None, None]
    try:
        text = compare(load_leg(args.run_a, labels[0]), load_leg(args.run_b, labels[1]))
    except (OSError, ValueError) as e:
        print(f"error: {e}")
        return 2
    print(text, end="")
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    return 0
