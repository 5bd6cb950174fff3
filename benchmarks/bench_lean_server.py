"""Benchmark of the Lean interaction server: start time, memory, per-tactic overhead, warm CLI.

Prints (figures measured side by side in one run):
- cold start of each runtime present (native if found, embedded WebAssembly): spawn -> ready;
- resident memory of one server (the Lean process tree), after the workload;
- over >= 50 tactic steps: the round trip of `run_tactic` (client wall clock) divided by the
  tactic's own elaboration time in Lean (`elab_ns` of the step): the overhead ratio, per step
  (median, p90) and over the workload (total wall / total tactic time), and the same against
  Lean's whole handling of the request (tactic + rendering the new goals);
- the warm CLI: a first `prover` command that starts the background server, then a second one.

Usage: python benchmarks/bench_lean_server.py [--steps 60] [--skip-cli] [--out FILE.md]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from prover.lean import LeanConfig, LeanError, LeanServer, ProofFinished, ProofState
from prover.lean.runtime import find_native

# (statement, tactics tried in order on the state reached so far)
WORKLOAD: list[tuple[str, list[str]]] = [
    ("theorem b1 (a b : Nat) : a + b = b + a", ["rfl", "simp", "omega"]),
    ("theorem b2 (p q : Prop) (hp : p) (hq : q) : p ∧ q", ["constructor", "exact hp", "exact hq"]),
    ("theorem b3 : ∀ n : Nat, 0 + n = n", ["intro n", "induction n", "rfl", "omega"]),
    ("theorem b4 (x : Int) (h : 2 * x + 3 = 7) : x = 2", ["simp at h", "omega"]),
    ("theorem b5 (xs : List Nat) : (xs ++ []).length = xs.length", ["simp"]),
    ("theorem b6 (a b c : Nat) (h₁ : a < b) (h₂ : b < c) : a < c", ["exact h₁", "omega"]),
    ("theorem b7 : (List.range 10).length = 10", ["decide"]),
    ("theorem b8 (n : Nat) (h : n % 2 = 1) : n ≠ 0", ["intro hn", "simp [hn] at h"]),
    ("theorem b9 (p q : Prop) : p ∨ q → q ∨ p", ["intro h", "cases h", "right", "assumption", "left",
                                                "assumption"]),
    ("theorem b10 (f : Nat → Nat) (h : ∀ x, f x = x + 1) : f 2 = 3", ["rw [h]"]),
]


def rss_tree_mb(pid: int) -> float:
    """Resident memory of `pid` and its descendants, MiB (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                ppid = int(Path(f"/proc/{d}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(d))
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        todo += children.get(p, [])
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def run_workload(server: LeanServer, min_steps: int, *,
                 cold_parse: bool = False) -> list[tuple[float, float, float]]:
    """(wall, Lean, tactic's own) seconds per `run_tactic`, cycling the workload until `min_steps`.

    `cold_parse`: empty the client's parse cache before each step, so every step costs two
    requests (parse for the guard, then the step) as a never-seen tactic does.
    """
    samples: list[tuple[float, float, float]] = []
    while len(samples) < min_steps:
        for stmt, tactics in WORKLOAD:
            state = server.open_proof(stmt)
            if not isinstance(state, ProofState):
                raise RuntimeError(f"cannot open {stmt}: {state}")
            for tac in tactics:
                if cold_parse:
                    server._parse_cache.clear()
                own0 = server.stats.tactic_seconds
                t0 = time.perf_counter()
                res = server.run_tactic(state, tac)
                wall = time.perf_counter() - t0
                samples.append((wall, res.lean_seconds, server.stats.tactic_seconds - own0))
                if isinstance(res, ProofState):
                    state = res
                elif isinstance(res, ProofFinished):
                    break
                elif not isinstance(res, LeanError):
                    raise RuntimeError(res)
    return samples


def measure_runtime(kind: str, steps: int) -> dict[str, float]:
    t0 = time.monotonic()
    with LeanServer(LeanConfig(runtime=kind)) as server:
        start = time.monotonic() - t0
        run_workload(server, 10)  # warm-up: first elaborations load caches
        cold = run_workload(server, steps, cold_parse=True)
        cold_ratios = [w / own for w, _, own in cold if own > 0]
        samples = run_workload(server, steps)
        ratios = [w / own for w, _, own in samples if own > 0]
        lean_ratios = [w / lean for w, lean, _ in samples if lean > 0]
        t0 = time.perf_counter()
        for _ in range(50):
            server.ping()
        ping_ms = (time.perf_counter() - t0) / 50 * 1e3
        mem = rss_tree_mb(server.pid or 0)
        return {
            "ping_ms": ping_ms,
            "cold_median_ratio": statistics.median(cold_ratios),
            "cold_p90_ratio": statistics.quantiles(cold_ratios, n=10)[-1],
            "start_s": start,
            "steps": len(samples),
            "median_wall_ms": statistics.median(w for w, _, _ in samples) * 1e3,
            "median_lean_ms": statistics.median(lean for _, lean, _ in samples) * 1e3,
            "median_own_ms": statistics.median(own for _, _, own in samples) * 1e3,
            "median_ratio": statistics.median(ratios),
            "p90_ratio": statistics.quantiles(ratios, n=10)[-1],
            "total_ratio": sum(w for w, _, _ in samples) / sum(own for _, _, own in samples),
            "median_lean_ratio": statistics.median(lean_ratios),
            "median_overhead_ms": statistics.median(w - own for w, _, own in samples) * 1e3,
            "rss_mb": mem,
        }


def measure_cli() -> dict[str, float]:
    """A first CLI command starts the warm server; the second reuses it."""
    state = Path(tempfile.mkdtemp(prefix="prover-bench-"))
    cmd = [sys.executable, "-m", "prover.cli"]
    demo = [*cmd, "demo", "--cache-dir", str(state)]
    env = dict(os.environ)
    # The daemon keeps the runtime in the default cache; only its socket lives in `state`.
    try:
        t0 = time.monotonic()
        subprocess.run(demo, check=True, capture_output=True, env=env, timeout=1800)
        first = time.monotonic() - t0
        t1 = time.monotonic()
        subprocess.run(demo, check=True, capture_output=True, env=env, timeout=600)
        second = time.monotonic() - t1
        t2 = time.monotonic()
        subprocess.run([*cmd, "server", "status", "--cache-dir", str(state)], check=True,
                       capture_output=True, timeout=600)
        status = time.monotonic() - t2
    finally:
        subprocess.run([*cmd, "server", "stop", "--cache-dir", str(state)], capture_output=True,
                       timeout=600)
    return {"first_demo_s": first, "second_demo_s": second, "status_s": status}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--skip-cli", action="store_true")
    ap.add_argument("--out", type=Path, default=None, help="also write the table as Markdown")
    args = ap.parse_args()
    rows = []
    kinds = (["native"] if find_native() else []) + ["wasm"]
    for kind in kinds:
        r = measure_runtime(kind, args.steps)
        rows.append((kind, r))
    lines = [
        "| runtime | cold start (s) | RSS (MiB) | empty request (ms) | steps | median round trip (ms) "
        "| median Lean (ms) | median tactic (ms) | median overhead (ms) | overhead ratio: median (p90) "
        "| total | median vs. Lean's whole request | median, parse cache cold |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for kind, r in rows:
        lines.append(
            f"| {kind} | {r['start_s']:.1f} | {r['rss_mb']:.0f} | {r['ping_ms']:.2f} | {r['steps']} "
            f"| {r['median_wall_ms']:.1f} | {r['median_lean_ms']:.1f} | {r['median_own_ms']:.1f} "
            f"| {r['median_overhead_ms']:.2f} | {r['median_ratio']:.3f} ({r['p90_ratio']:.3f}) "
            f"| {r['total_ratio']:.3f} | {r['median_lean_ratio']:.3f} "
            f"| {r['cold_median_ratio']:.3f} ({r['cold_p90_ratio']:.3f}) |")
    lines.append(
        "\nRound trip: `run_tactic` wall time in the client. Lean: Lean's time for the step request "
        "(the tactic on the stored state, then rendering the new goals). Tactic: the tactic's own "
        "elaboration alone (`elab_ns`). Overhead = round trip − tactic; the ratios divide the round "
        "trip by the tactic's own time (total: summed over the workload). Parse cache cold: every "
        "step also sends the guard's parse request.")
    if "native" not in kinds:
        lines.append("\n(no native Lean on this machine: only the embedded runtime was measured)")
    if not args.skip_cli:
        c = measure_cli()
        lines += [
            "",
            "| warm CLI | seconds |",
            "|---|---|",
            f"| first `prover demo` (starts the warm server) | {c['first_demo_s']:.1f} |",
            f"| second `prover demo` (warm server) | {c['second_demo_s']:.2f} |",
            f"| `prover server status` (warm server) | {c['status_s']:.2f} |",
        ]
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
