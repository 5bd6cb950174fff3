"""Run the numeric checker over every miniF2F and ProofNet statement.

All these statements are published as theorems, so every refutation is either a bug in the
checker or a real mis-formalisation; the report lists each with its counterexample (and
Lean's confirmation where the instance is core-expressible and ``--lean`` is given).

    .venv/bin/python benchmarks/minif2f_numeric.py --out benchmarks/results/numeric_minif2f_proofnet.md

Data: ``--data-dir`` (default ``../shared/benchmarks`` when present); otherwise the files are
downloaded once from the public DeepSeek-Prover-V1.5 repository into ``~/.cache/prover``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from prover.numeric import CheckConfig, CheckResult, NumericChecker, Verdict  # noqa: E402

SOURCE = "https://raw.githubusercontent.com/deepseek-ai/DeepSeek-Prover-V1.5/main/datasets/{name}.jsonl"
FILES = ("minif2f", "proofnet")


def _default_data_dir() -> Path:
    shared = ROOT.parent / "shared" / "benchmarks"
    return shared if shared.is_dir() else Path.home() / ".cache" / "prover" / "benchmarks"


def load(data_dir: Path, name: str) -> list[dict[str, str]]:
    path = data_dir / f"{name}.jsonl"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        with urllib.request.urlopen(SOURCE.format(name=name), timeout=60) as resp:
            path.write_bytes(resp.read())
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _start_lean() -> object | None:
    try:
        from prover.lean import LeanConfig, LeanServer
    except ImportError:
        return None
    server = LeanServer(LeanConfig())
    server.start()
    return server


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data-dir", type=Path, default=_default_data_dir())
    ap.add_argument("--out", type=Path)
    ap.add_argument("--lean", action="store_true", help="confirm ℕ/ℤ counterexamples with the real Lean")
    args = ap.parse_args(argv)
    lean = _start_lean() if args.lean else None
    checker = NumericChecker(CheckConfig(), lean=lean)  # type: ignore[arg-type]
    checker.check_statement("theorem warmup (x : ℝ) (h : x ^ 2 = 4) : x = 2")
    lines = ["# Numeric checker on miniF2F and ProofNet", ""]
    lines.append(
        "Every formal statement of both benchmarks (all published as theorems), default `CheckConfig`. "
        "*Supported* means the checker parsed and typed the statement and reached a verdict other than "
        "`unsupported`."
    )
    refuted_all: list[tuple[str, str, CheckResult]] = []
    for name in FILES:
        rows = load(args.data_dir, name)
        counts: Counter[str] = Counter()
        reasons: Counter[str] = Counter()
        times: list[float] = []
        for row in rows:
            t0 = time.perf_counter()
            r = checker.check_statement(row["formal_statement"])
            times.append((time.perf_counter() - t0) * 1000)
            counts[r.verdict.value] += 1
            if r.verdict is Verdict.UNSUPPORTED:
                reasons[_reason_key(r.reason)] += 1
            if r.verdict is Verdict.REFUTED:
                refuted_all.append((name, row["name"], r))
        supported = len(rows) - counts["unsupported"]
        times.sort()
        lines += [
            "",
            f"## {name} ({len(rows)} statements)",
            "",
            "| verdict | count |",
            "|---|---|",
            *[f"| {v.value} | {counts[v.value]} |" for v in Verdict],
            f"| **supported** | **{supported} / {len(rows)}** |",
            "",
            f"Time per statement: median {statistics.median(times):.1f} ms, "
            f"p95 {times[int(0.95 * (len(times) - 1))]:.1f} ms.",
            "",
            "Most frequent reasons for `unsupported`: "
            + "; ".join(f"{k} ({v})" for k, v in reasons.most_common(8))
            + ".",
        ]
    lines += ["", "## Refuted statements", ""]
    if not refuted_all:
        lines.append("None.")
    for bench, name, r in refuted_all:
        c = r.counterexample
        lines.append(f"- **{bench} / {name}**: {r.reason}.")
        if c is not None:
            lines.append(f"  Evaluated by {c.method}; Lean: {c.lean.value}.")
            if c.lean_code:
                lines.append(f"  Instance: `{c.lean_code}`")
    report = "\n".join(lines) + "\n"
    print(report)
    if args.out is not None:
        args.out.write_text(report, encoding="utf-8")
    if lean is not None:
        lean.close()  # type: ignore[attr-defined]
    return 0


def _reason_key(reason: str) -> str:
    """Group reasons such as ``unknown function Foo`` by their first words."""
    words = reason.split()
    return " ".join(words[:2]) if words else reason


if __name__ == "__main__":
    raise SystemExit(main())
