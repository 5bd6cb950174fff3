"""The 202 true/false pairs of ``numeric_pairs.py`` through the typed path (issue 11).

Each statement is opened on the real Lean. Where Lean elaborates it, the prune hook's typed check
decides (`prover.numeric.typed.check_state`: Lean's elaborated trees, counterexamples confirmed by
the kernel); where it does not (ℝ, `Finset`, ... need Mathlib, which the embedded Lean lacks),
the text path (`NumericChecker.check_statement`) decides, as it does for such statements.

    .venv/bin/python benchmarks/bench_numeric_typed.py --out benchmarks/results/numeric_typed.md
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from numeric_pairs import all_pairs

from prover.lean import LeanServer, ProofState
from prover.numeric import NumericChecker, Verdict
from prover.numeric.typed import check_state


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    pairs = all_pairs()
    text = NumericChecker()
    typed_ms: list[float] = []
    counts: Counter[str] = Counter()
    wrong: list[str] = []
    missed: list[str] = []
    with LeanServer() as lean:
        for p in pairs:
            for kind, stmt in (("true", p.true), ("false", p.false)):
                st = lean.open_proof(stmt)
                if isinstance(st, ProofState):
                    t0 = time.perf_counter()
                    checks = check_state(lean, st)
                    typed_ms.append((time.perf_counter() - t0) * 1000 / max(len(checks), 1))
                    lean.forget([st])
                    verdict = next((c.verdict for c in checks if c.verdict is Verdict.REFUTED),
                                   checks[0].verdict if checks else Verdict.UNSUPPORTED)
                    path = "typed"
                else:
                    verdict = text.check_statement(stmt).verdict
                    path = "text"
                counts[f"{path}:{kind}"] += 1
                counts[f"{path}:{kind}:{verdict.value}"] += 1
                if kind == "true" and verdict is Verdict.REFUTED:
                    wrong.append(f"[{path}] {stmt}")
                if kind == "false" and verdict is not Verdict.REFUTED:
                    missed.append(f"[{path}] {stmt}: {verdict.value}")
    n = len(pairs)
    lines = [
        "# Numeric checker: the pairs through the typed path",
        "",
        f"{n} pairs ({2 * n} statements) from `benchmarks/numeric_pairs.py`, on the embedded Lean "
        "(no Mathlib). Typed: Lean elaborated the statement, the typed check decided; text: Lean "
        "could not elaborate it, the surface-text checker decided.",
        "",
        "| path | statements | false refuted | true refuted |",
        "|---|---|---|---|",
    ]
    for path in ("typed", "text"):
        f_all, t_all = counts[f"{path}:false"], counts[f"{path}:true"]
        lines.append(f"| {path} | {f_all + t_all} | {counts[f'{path}:false:refuted']} / {f_all} | "
                     f"{counts[f'{path}:true:refuted']} / {t_all} |")
    total_f = counts["typed:false:refuted"] + counts["text:false:refuted"]
    lines += ["", f"All: false refuted {total_f} / {n} = {100 * total_f / n:.1f} %, true refuted "
              f"{len(wrong)}.", ""]
    if typed_ms:
        lines.append(f"Typed check per goal: median {statistics.median(typed_ms):.1f} ms, max "
                     f"{max(typed_ms):.1f} ms ({len(typed_ms)} goals; Lean's `terms` and `refute` "
                     "requests included).")
    lines += ["", "## True statements refuted", "", *(f"- `{w}`" for w in wrong)]
    lines += ["", "## False statements not refuted", "", *(f"- `{m}`" for m in missed)]
    report = "\n".join(lines) + "\n"
    print(report)
    if args.out:
        args.out.write_text(report, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
