"""Benchmark the numeric checker on the true/false pairs of ``numeric_pairs.py``.

Prints: false statements refuted, true statements wrongly refuted (must be 0), unsupported
share, and median / p95 time per statement; ``--out`` also writes the table as Markdown.

    .venv/bin/python benchmarks/bench_numeric.py --out benchmarks/results/numeric_pairs.md
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from numeric_pairs import all_pairs

from prover.numeric import CheckConfig, NumericChecker, Verdict


def _pct(a: int, b: int) -> str:
    return f"{100 * a / b:.1f} %" if b else "n/a"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path, help="write the Markdown report here")
    ap.add_argument(
        "--verbose", action="store_true", help="list every statement that was not decided as expected"
    )
    args = ap.parse_args(argv)
    pairs = all_pairs()
    checker = NumericChecker(CheckConfig())
    checker.check_statement("theorem warmup (x : ℝ) (h : x ^ 2 = 4) : x = 2")  # parser build, sympy caches
    times: list[float] = []
    verdicts: dict[str, Counter[str]] = {"true": Counter(), "false": Counter()}
    by_cat: dict[str, Counter[str]] = defaultdict(Counter)
    wrong: list[str] = []
    missed: list[tuple[str, str, str]] = []
    for p in pairs:
        for kind, text in (("true", p.true), ("false", p.false)):
            t0 = time.perf_counter()
            r = checker.check_statement(text)
            times.append(time.perf_counter() - t0)
            verdicts[kind][r.verdict.value] += 1
            by_cat[p.category][f"{kind}:{r.verdict.value}"] += 1
            if kind == "true" and r.verdict is Verdict.REFUTED:
                wrong.append(f"{text}  --  {r.reason}")
            if kind == "false" and r.verdict is not Verdict.REFUTED:
                missed.append((text, r.verdict.value, r.reason))
    n = len(pairs)
    refuted = verdicts["false"]["refuted"]
    unsupported = verdicts["true"]["unsupported"] + verdicts["false"]["unsupported"]
    times_ms = sorted(t * 1000 for t in times)
    p95 = times_ms[min(len(times_ms) - 1, int(0.95 * len(times_ms)))]
    lines = [
        "# Numeric checker: true/false pair benchmark",
        "",
        f"{n} pairs ({2 * n} statements) from `benchmarks/numeric_pairs.py`; default `CheckConfig`; "
        f"Python {platform.python_version()} on {platform.machine()}, one process, after one warm-up check.",
        "",
        "| metric | value |",
        "|---|---|",
        f"| false statements refuted | {refuted} / {n} = {_pct(refuted, n)} |",
        f"| true statements wrongly refuted | {len(wrong)} |",
        f"| unsupported share (all statements) | {unsupported} / {2 * n} = {_pct(unsupported, 2 * n)} |",
        f"| median time per statement | {statistics.median(times_ms):.1f} ms |",
        f"| p95 time per statement | {p95:.1f} ms |",
        f"| max time per statement | {times_ms[-1]:.1f} ms |",
        "",
        "Verdicts: true statements "
        + ", ".join(f"{k} {v}" for k, v in sorted(verdicts["true"].items()))
        + "; false statements "
        + ", ".join(f"{k} {v}" for k, v in sorted(verdicts["false"].items()))
        + ".",
        "",
        "| category | pairs | false refuted | true refuted | unsupported |",
        "|---|---|---|---|---|",
    ]
    for cat, c in sorted(by_cat.items()):
        pairs_in = sum(v for k, v in c.items() if k.startswith("true:"))
        uns = c["true:unsupported"] + c["false:unsupported"]
        lines.append(f"| {cat} | {pairs_in} | {c['false:refuted']} | {c['true:refuted']} | {uns} |")
    lines += ["", "## False statements not refuted", ""]
    lines += [f"- `{t}`: {v} ({why})" for t, v, why in missed] or ["(none)"]
    if wrong:
        lines += ["", "## TRUE STATEMENTS WRONGLY REFUTED", ""] + [f"- `{w}`" for w in wrong]
    report = "\n".join(lines) + "\n"
    print(report)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(report, encoding="utf-8")
    return 1 if wrong else 0


if __name__ == "__main__":
    raise SystemExit(main())
