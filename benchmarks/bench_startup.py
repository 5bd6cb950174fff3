"""Cold start of the Lean server, by Lean's worker-thread count, measured side by side.

The embedded Lean spends much of its start outside Lean: emscripten instantiates and links the
WebAssembly module once per thread in JS (`receiveInstance`, `mergeLibSymbols`, `updateGOT`),
and workers Lean spawns late each repeat that while Lean's main thread waits (a CPU profile,
`--profile DIR`, shows it: `node --cpu-prof`, one `.cpuprofile` per thread). So the start is
measured for `LEAN_NUM_THREADS` unset (Lean's default: one per core) and for 1 and 2, the
variants interleaved round by round so that a loaded machine affects all alike; each start is
followed by a few tactics that must still work (`omega`, `decide`, `simp`, `grind`).

Usage: python benchmarks/bench_startup.py [--rounds 2] [--threads default,1,2] [--profile DIR]
    [--out FILE.md]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from prover.lean import LeanConfig, LeanServer, ProofFinished
from prover.lean.runtime import resolve_runtime
from prover.lean.server_source import server_parts

CHECKS = [("theorem c1 (a b : Nat) (h : a < b) : a + 1 ≤ b", "omega"),
          ("theorem c2 : 2 ^ 10 % 7 = 2", "decide"),
          ("theorem c3 (xs : List Nat) : (xs ++ []).length = xs.length", "simp"),
          ("theorem c4 (a b : Nat) (h : a = b) : b = a", "grind")]


def one_start(threads: int | None) -> tuple[float, float]:
    t0 = time.monotonic()
    with LeanServer(LeanConfig(lean_num_threads=threads)) as server:
        server.start()
        start = time.monotonic() - t0
        t1 = time.monotonic()
        for stmt, tac in CHECKS:
            st = server.open_proof(stmt)
            done = server.run_tactic(st, tac)
            if not isinstance(done, ProofFinished):
                raise SystemExit(f"{tac} failed with LEAN_NUM_THREADS={threads}: {done}")
        return start, time.monotonic() - t1


def profile_imports(out: Path, threads: int | None) -> float:
    """`node --cpu-prof` on a file with the server's own imports and `#eval 1` (the server itself
    is stopped before node can write its profiles). One `.cpuprofile` per thread; wall seconds."""
    runtime = resolve_runtime("auto")
    if runtime.kind != "wasm":
        raise SystemExit("--profile profiles the embedded (node) runtime only")
    src = server_parts()[0].read_text()  # the header part: `module` and the imports
    header = src[src.index("\nmodule\n") + 1:]
    work = Path(tempfile.mkdtemp(prefix="prover-profile-", dir="/tmp"))
    (work / "Imports.lean").write_text(header + "\n#eval (1 : Nat)\n")
    out.mkdir(parents=True, exist_ok=True)
    node, *rest = runtime.command
    env = {**os.environ, **runtime.env, "PROVER_MOUNTS": ":".join((*runtime.mounts, str(work)))}
    if threads:
        env["LEAN_NUM_THREADS"] = str(threads)
    t0 = time.monotonic()
    subprocess.run([node, "--cpu-prof", f"--cpu-prof-dir={out}", *rest, "Imports.lean"], cwd=work, env=env,
                   check=True, capture_output=True, timeout=900)
    return time.monotonic() - t0


def summarise_profiles(profile: Path) -> list[str]:
    """Per profiled thread: when it started, how long it ran, its top self-time functions."""
    lines = []
    files = sorted(profile.glob("*.cpuprofile"))
    profs = [json.loads(f.read_text()) for f in files]
    t0 = min(p["startTime"] for p in profs)
    for i, prof in enumerate(profs):
        nodes = {n["id"]: n for n in prof["nodes"]}
        self_us: dict[str, float] = defaultdict(float)
        for sample, dt in zip(prof.get("samples", []), prof.get("timeDeltas", []), strict=False):
            fn = nodes[sample]["callFrame"]["functionName"] or "(anonymous)"
            self_us[fn] += dt
        top = sorted(self_us.items(), key=lambda kv: -kv[1])[:6]
        lines.append(f"- thread {i}: starts at {(prof['startTime'] - t0) / 1e6:.1f} s, runs "
                     f"{(prof['endTime'] - prof['startTime']) / 1e6:.1f} s; " +
                     ", ".join(f"`{fn}` {us / 1e6:.1f} s" for fn, us in top))
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--threads", default="default,1,2")
    ap.add_argument("--profile", type=Path, default=None)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    variants = [None if t == "default" else int(t) for t in args.threads.split(",")]
    starts: dict[int | None, list[float]] = defaultdict(list)
    checks: dict[int | None, list[float]] = defaultdict(list)
    for r in range(args.rounds):
        for v in variants:
            s, c = one_start(v)
            starts[v].append(s)
            checks[v].append(c)
            print(f"round {r + 1}: LEAN_NUM_THREADS={v or 'default'}: ready in {s:.1f} s, "
                  f"checks {c:.1f} s", flush=True)
    lines = ["| LEAN_NUM_THREADS | cold start, median (s) | each start (s) | 4 tactic checks (s) |",
             "|---|---|---|---|"]
    for v in variants:
        lines.append(f"| {v or 'default (one per core)'} | {statistics.median(starts[v]):.1f} | "
                     f"{', '.join(f'{x:.1f}' for x in starts[v])} | {statistics.median(checks[v]):.1f} |")
    if args.profile is not None:
        for v in variants:
            out = args.profile / f"threads-{v or 'default'}"
            wall = profile_imports(out, v)
            lines += ["", f"CPU profile (`node --cpu-prof`) of the server's imports and `#eval 1`, "
                      f"LEAN_NUM_THREADS={v or 'default'}: {wall:.1f} s wall; self time per thread:",
                      *summarise_profiles(out)]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
