"""The summary of a run, computed from its records only: pass rates per split and category, the
one-shot baseline, times, Lean calls, refuted statements; written as JSON, Markdown and PNG plots."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from prover.bench.worker import SEARCHED, ProblemResult, Status

SUMMARY_JSON, SUMMARY_MD = "summary.json", "summary.md"
PLOT_TIME, PLOT_EXPANSIONS = "proved_vs_time.png", "proved_vs_expansions.png"


def _quantile(xs: Sequence[float], q: float) -> float | None:
    if not xs:
        return None
    s = sorted(xs)
    # Nearest rank: the smallest value with at least q of the data at or below it.
    return s[max(0, min(len(s) - 1, int(-(-q * len(s) // 1)) - 1))]


def _group(rs: list[ProblemResult]) -> dict[str, Any]:
    searched = [r for r in rs if r.status in SEARCHED]
    proved = sum(r.proved for r in rs)
    return {
        "problems": len(rs),
        "elaborated": sum(r.status in SEARCHED or r.status is Status.REFUTED for r in rs),
        "searched": len(searched),
        "proved": proved,
        "baseline_proved": sum(r.baseline_proved for r in searched),
        "refuted": sum(r.status is Status.REFUTED for r in rs),
        "needs_mathlib": sum(r.status is Status.NEEDS_MATHLIB for r in rs),
        "invalid": sum(r.status is Status.INVALID for r in rs),
        "refused": sum(r.status is Status.REFUSED for r in rs),
        "errors": sum(r.status is Status.ERROR for r in rs),
        "pass_rate": proved / len(rs) if rs else 0.0,
        "pass_rate_searched": proved / len(searched) if searched else 0.0,
    }


def summarise(results: Iterable[ProblemResult]) -> dict[str, Any]:
    """Everything the report shows, as plain JSON values."""
    rs = list(results)
    searched = [r for r in rs if r.status in SEARCHED]
    times = [r.search_seconds for r in searched]
    proved_times = [r.search_seconds for r in searched if r.proved]
    splits = sorted({r.split for r in rs})
    cats = sorted({r.category for r in rs})
    baseline: Counter[str] = Counter()
    for r in searched:
        baseline.update(t for t, v in r.baseline.items() if v == "proved")
    tactics = sorted({t for r in searched for t in r.baseline})
    return {
        "benchmarks": sorted({r.benchmark for r in rs}),
        "total": _group(rs),
        "by_split": {s: _group([r for r in rs if r.split == s]) for s in splits},
        "by_category": {c: _group([r for r in rs if r.category == c]) for c in cats},
        "by_split_category": {s: {c: _group(g) for c in cats
                                  if (g := [r for r in rs if r.split == s and r.category == c])}
                              for s in splits},
        "status": dict(sorted(Counter(r.status.value for r in rs).items())),
        "baseline_by_tactic": {t: baseline[t] for t in tactics},
        "search_only": sorted(r.id for r in searched if r.proved and not r.baseline_proved),
        "baseline_only": sorted(r.id for r in searched if r.baseline_proved and not r.proved),
        "time_s": {"median": _quantile(times, 0.5), "p90": _quantile(times, 0.9),
                   "median_proved": _quantile(proved_times, 0.5), "p90_proved": _quantile(proved_times, 0.9),
                   "total_search": sum(times), "total_baseline": sum(r.baseline_seconds for r in searched),
                   "total_classify": sum(r.classify_seconds for r in rs)},
        "lean_calls": {"total": sum(r.lean_calls for r in rs),
                       "median_searched": _quantile([r.lean_calls for r in searched], 0.5)},
        "expansions": {"median_proved": _quantile([r.expansions for r in searched if r.proved], 0.5)},
        "refuted": [{"name": r.id, "split": r.split, "reason": r.message,
                     "counterexample": r.numeric.get("counterexample")}
                    for r in rs if r.status is Status.REFUTED],
        # refuted numerically (the surface checker), not checked by Lean: not elaborated here
        "numeric_refuted_not_run": sorted(r.id for r in rs if r.status is not Status.REFUTED
                                          and r.numeric.get("verdict") == "refuted_unconfirmed"),
        "needs_mathlib": sorted(r.id for r in rs if r.status is Status.NEEDS_MATHLIB),
        "errors": [{"name": r.id, "message": r.message[:200]} for r in rs if r.status is Status.ERROR],
        "settings": _common([r.settings for r in rs]),
        "versions": _common([r.versions for r in rs]),
    }


def _common(ds: list[dict[str, Any]]) -> dict[str, Any]:
    """The key/value pairs every record shares (versions and settings of the run)."""
    if not ds:
        return {}
    first = ds[0]
    return {k: v for k, v in first.items() if all(d.get(k) == v for d in ds[1:])}


def plot(results: Iterable[ProblemResult], out_dir: Path) -> tuple[Path, Path]:
    """Problems proved (cumulative) against wall time and against expansions, as PNG files."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rs = [r for r in results if r.status in SEARCHED]
    splits = sorted({r.split for r in rs})
    paths = (out_dir / PLOT_TIME, out_dir / PLOT_EXPANSIONS)
    for path, key, label, log in ((paths[0], "search_seconds", "wall time per problem (s)", True),
                                  (paths[1], "expansions", "expansions per problem", False)):
        fig, ax = plt.subplots(figsize=(6.4, 4.2))
        for split in [*splits, "all"] if len(splits) > 1 else splits:
            group = [r for r in rs if split in ("all", r.split)]
            xs = sorted(float(getattr(r, key)) for r in group if r.proved)
            top = max([float(getattr(r, key)) for r in group] + [1.0])
            ax.step([0.0, *xs, top], [0, *range(1, len(xs) + 1), len(xs)], where="post",
                    label=f"{split}: {len(xs)} / {len(group)} searched")
        if log:
            ax.set_xscale("symlog", linthresh=1.0)
        ax.set_xlabel(label)
        ax.set_ylabel("problems proved")
        ax.set_title("Problems proved within a budget")
        ax.grid(alpha=0.3)
        ax.legend()
        fig.tight_layout()
        fig.savefig(path, dpi=110)
        plt.close(fig)
    return paths


def markdown(summary: dict[str, Any], *, title: str = "Benchmark run", plots: bool = True) -> str:
    """The report as Markdown."""
    s = summary
    t = s["time_s"]
    lines = [f"# {title}", ""]
    st, ver = s["settings"], s["versions"]
    if st:
        b = st.get("budget", {})
        lines += [
            f"Settings: policy `{st.get('policy')}` (model {st.get('model') or 'none'}), value "
            f"`{st.get('value')}` (weight {b.get('value_weight')}), numeric prune hook "
            f"{'on' if st.get('numeric_prune') else 'off'}, seed {st.get('seed')}; budget per problem: "
            f"{b.get('max_expansions')} expansions, {b.get('wall_time')} s wall, tactic timeout "
            f"{b.get('tactic_timeout')} s, k={b.get('k')}, max depth {b.get('max_depth')}.",
        ]
    if ver:
        lines.append(f"Versions: Lean {ver.get('lean')} ({ver.get('lean_runtime')}); prover "
                     f"{ver.get('prover')} at git commit {ver.get('git_commit')}"
                     f"{' (dirty)' if ver.get('git_dirty') else ''}, "
                     f"Python {ver.get('python')}.")
    lines += ["", "| split | problems | elaborate here | searched | proved | pass rate (all) | "
              "pass rate (searched) | one-shot baseline | refuted | need Mathlib |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for name, g in [*s["by_split"].items(), ("**total**", s["total"])]:
        lines.append(f"| {name} | {g['problems']} | {g['elaborated']} | {g['searched']} | "
                     f"**{g['proved']}** | {100 * g['pass_rate']:.1f} % | "
                     f"{100 * g['pass_rate_searched']:.1f} % | "
                     f"{g['baseline_proved']} | {g['refuted']} | {g['needs_mathlib']} |")
    lines += ["", "| category | problems | elaborate here | proved | baseline |", "|---|---|---|---|---|"]
    for name, g in s["by_category"].items():
        lines.append(f"| {name} | {g['problems']} | {g['elaborated']} | {g['proved']} | "
                     f"{g['baseline_proved']} |")
    base = s["baseline_by_tactic"]
    lines += ["", "One-shot baseline (each tactic alone on the root, verified), problems closed per tactic: "
              + (", ".join(f"`{k}` {v}" for k, v in base.items()) or "not run") + "."]
    lines.append(f"Proved by the search but by no single tactic: {len(s['search_only'])}"
                 + (f" ({', '.join(s['search_only'])})" if s["search_only"] else "") + "; by a single "
                 f"tactic but not by the search: {len(s['baseline_only'])}"
                 + (f" ({', '.join(s['baseline_only'])})" if s["baseline_only"] else "") + ".")

    def fmt(x: float | None) -> str:
        return "–" if x is None else f"{x:.2f} s"

    lines += ["", f"Search time per searched problem: median {fmt(t['median'])}, p90 {fmt(t['p90'])}; "
              f"proved ones: median {fmt(t['median_proved'])}, p90 {fmt(t['p90_proved'])}. Totals: search "
              f"{t['total_search']:.0f} s, baseline {t['total_baseline']:.0f} s, elaboration checks "
              f"{t['total_classify']:.0f} s (worker time). Lean calls: {s['lean_calls']['total']} "
              f"(median {s['lean_calls']['median_searched']} per searched problem)."]
    lines += ["", "## Refuted by the numeric checker (not searched)", ""]
    if not s["refuted"]:
        lines.append("None.")
    for r in s["refuted"]:
        cex = r.get("counterexample") or {}
        where = ", ".join(f"{k} = {v}" for k, v in (cex.get("assignment") or {}).items())
        lines.append(f"- **{r['name']}** ({r['split']}): counterexample {where or '–'}; "
                     f"{cex.get('method', '')}; Lean: {cex.get('lean', '–')}.")
    if s["numeric_refuted_not_run"]:
        lines.append(f"Also refuted numerically, not checked by Lean: "
                     f"{', '.join(s['numeric_refuted_not_run'])}.")
    if s["needs_mathlib"]:
        lines += ["", f"{len(s['needs_mathlib'])} statements need Mathlib and were not run on this Lean "
                  "(see `needs_mathlib` in summary.json)."]
    if s["errors"]:
        lines += ["", "Errors: " + "; ".join(f"{e['name']}: {e['message']}" for e in s["errors"])]
    if plots:
        lines += ["", f"![proved vs. time]({PLOT_TIME})", "", f"![proved vs. expansions]({PLOT_EXPANSIONS})"]
    return "\n".join(lines) + "\n"


def write_report(results: Iterable[ProblemResult], out_dir: Path, *, title: str = "Benchmark run",
                 plots: bool = True) -> dict[str, Any]:
    """summary.json, summary.md and (with `plots`) the two PNGs into `out_dir`; returns the summary."""
    rs = list(results)
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = summarise(rs)
    (out_dir / SUMMARY_JSON).write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n",
                                        encoding="utf-8")
    if plots:
        plot(rs, out_dir)
    (out_dir / SUMMARY_MD).write_text(markdown(summary, title=title, plots=plots), encoding="utf-8")
    return summary
