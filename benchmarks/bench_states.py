"""Benchmark of one proof step by depth: in-memory states (issue 10) against the old replay path.

On `theorem t (a b : Nat) : a + b = b + a`, after d steps `have hK : a + K ≥ K := by omega`
(K = 1..d), one more such step is timed (median of `--reps` runs): the Lean time it reports and
the client's wall clock, both for the in-memory step (`run_tactic`) and for the replay of the
statement plus the whole path plus the step (`LeanServer._run_replay`, what a step cost before),
in the same run on the same server.

Usage: python benchmarks/bench_states.py [--depths 1,10,20,40] [--reps 3] [--out FILE.md]
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import replace
from pathlib import Path

from prover.lean import LeanConfig, LeanServer, ProofState

STATEMENT = "theorem t (a b : Nat) : a + b = b + a"


def step_text(k: int) -> str:
    return f"have h{k} : a + {k} ≥ {k} := by omega"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--depths", default="1,10,20,40")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    depths = [int(d) for d in args.depths.split(",")]
    rows = []
    with LeanServer(LeanConfig()) as server:
        st = server.open_proof(STATEMENT)
        if not isinstance(st, ProofState):
            raise SystemExit(f"could not open the statement: {st}")
        depth = 0
        for d in depths:
            while depth < d:
                depth += 1
                nxt = server.run_tactic(st, step_text(depth))
                if not isinstance(nxt, ProofState):
                    raise SystemExit(f"step {depth} failed: {nxt}")
                st = nxt
            tactic = step_text(depth + 1)
            mem_lean, mem_wall, rep_lean, rep_wall = [], [], [], []
            for _ in range(args.reps):
                t0 = time.monotonic()
                r = server.run_tactic(st, tactic)
                mem_wall.append(time.monotonic() - t0)
                if not isinstance(r, ProofState):
                    raise SystemExit(f"in-memory step failed: {r}")
                mem_lean.append(r.lean_seconds)
                server.forget([r])
                rec = server._states[st.id]
                rec = replace(rec, tactics=(*rec.tactics, tactic))
                t0 = time.monotonic()
                r2 = server._run_replay(rec, server.config.heartbeats, server.config.tactic_timeout)
                rep_wall.append(time.monotonic() - t0)
                if not isinstance(r2, ProofState):
                    raise SystemExit(f"replayed step failed: {r2}")
                rep_lean.append(r2.lean_seconds)
            rows.append((d, *(statistics.median(x) * 1000 for x in (mem_lean, mem_wall, rep_lean, rep_wall))))
            print(f"depth {d:3d}: in-memory Lean {rows[-1][1]:7.1f} ms wall {rows[-1][2]:7.1f} ms | "
                  f"replay Lean {rows[-1][3]:7.1f} ms wall {rows[-1][4]:7.1f} ms", flush=True)
    base = rows[0]
    lines = [
        "# One step by depth: in-memory states vs. replay (benchmarks/bench_states.py)",
        "",
        f"`{STATEMENT}`; the step is `have hK : a + K ≥ K := by omega` after d such steps; "
        f"median of {args.reps}; both paths in the same run on one embedded-Lean server.",
        "",
        "| depth d | in-memory Lean | in-memory wall | × depth 1 (Lean) | replay Lean | replay wall | "
        "× depth 1 (Lean) |",
        "|---|---|---|---|---|---|---|",
    ]
    for d, ml, mw, rl, rw in rows:
        lines.append(f"| {d} | {ml:.1f} ms | {mw:.1f} ms | {ml / base[1]:.2f} | {rl:.1f} ms | {rw:.1f} ms | "
                     f"{rl / base[3]:.2f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
