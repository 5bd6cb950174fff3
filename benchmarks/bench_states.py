"""Benchmark of one proof step by depth: in-memory states (issue 10) against replaying the path.

On `theorem t (a b : Nat) : a + b = b + a`, after d steps `have hK : a + K ≥ K := by omega`
(K = 1..d), one more step is timed (median of `--reps` runs), in the same run on one server:
- in-memory (`run_tactic`): the client's wall clock, Lean's time for the request (the tactic plus
  rendering the new goals) and the tactic's own elaboration time (`elab_ns`), for two steps: the
  `omega` one (whose own cost grows with the hypotheses it reads) and a term-mode `have` whose
  cost does not depend on the context, which isolates what the state handling costs;
- replay: elaborating the statement, the whole path and the step again (`check` of the script),
  which is what one step cost before states were kept in Lean.
Then the server's memory (RSS of the Lean process tree) before and after 1,000 states are stored
and forgotten.

Usage: python benchmarks/bench_states.py [--depths 1,10,20,40] [--reps 5] [--out FILE.md]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from prover.lean import LeanConfig, LeanServer, ProofState
from prover.lean.transport import tree_rss_mb
from prover.lean.types import indent_tactic

STATEMENT = "theorem t (a b : Nat) : a + b = b + a"


def omega_step(k: int) -> str:
    return f"have h{k} : a + {k} ≥ {k} := by omega"


def term_step(k: int) -> str:
    return f"have h{k} : a + {k} ≥ {k} := Nat.le_add_left {k} a"


def timed_step(server: LeanServer, st: ProofState, tactic: str) -> tuple[float, float, float]:
    """(wall, Lean, tactic's own) seconds of one in-memory step; the new state is forgotten."""
    own0 = server.stats.tactic_seconds
    t0 = time.monotonic()
    r = server.run_tactic(st, tactic)
    wall = time.monotonic() - t0
    if not isinstance(r, ProofState):
        raise SystemExit(f"in-memory step failed: {r}")
    server.forget([r])
    return wall, r.lean_seconds, server.stats.tactic_seconds - own0


def replay_step(server: LeanServer, path: list[str], tactic: str) -> tuple[float, float]:
    script = "\n".join(indent_tactic(t, 2) for t in [*path, tactic, "sorry"])
    t0 = time.monotonic()
    res = server.check(f"{STATEMENT} := by\n{script}\n")
    wall = time.monotonic() - t0
    if res.errors:
        raise SystemExit(f"replay failed: {res.first_error()}")
    return wall, res.lean_seconds


def memory_rows(server: LeanServer, n: int) -> list[tuple[str, float, int]]:
    root = server.open_proof(STATEMENT)
    assert isinstance(root, ProofState)
    rows = [("before", tree_rss_mb(server.pid or 0), server.live_states())]
    kept = []
    for k in range(n):
        r = server.run_tactic(root, term_step(k + 1))
        assert isinstance(r, ProofState)
        kept.append(r)
    rows.append((f"{n} states stored", tree_rss_mb(server.pid or 0), server.live_states()))
    server.forget(kept)
    rows.append((f"{n} states forgotten", tree_rss_mb(server.pid or 0), server.live_states()))
    for k in range(n):  # the same again: memory must be reused, not grow
        r = server.run_tactic(root, term_step(k + 1))
        assert isinstance(r, ProofState)
        server.forget([r])
    rows.append((f"another {n} stored and forgotten", tree_rss_mb(server.pid or 0), server.live_states()))
    server.forget([root])
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--depths", default="1,10,20,40")
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--states", type=int, default=1000)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    depths = [int(d) for d in args.depths.split(",")]
    ms = 1000.0
    rows = []
    with LeanServer(LeanConfig()) as server:
        start_s = server.start().stats.start_seconds[-1]
        st = server.open_proof(STATEMENT)
        if not isinstance(st, ProofState):
            raise SystemExit(f"could not open the statement: {st}")
        for _ in range(3):  # warm-up: first elaborations load caches
            timed_step(server, st, omega_step(1))
        # States at every depth stay in Lean's memory, so the measurements can be interleaved round
        # by round: a machine whose load drifts then affects every depth alike.
        at: dict[int, tuple[ProofState, list[str]]] = {}
        path: list[str] = []
        for k in range(1, max(depths) + 1):
            nxt = server.run_tactic(st, omega_step(k))
            if not isinstance(nxt, ProofState):
                raise SystemExit(f"step {k} failed: {nxt}")
            st, path = nxt, [*path, omega_step(k)]
            if k in depths:
                at[k] = (st, path)
        om: dict[int, list[tuple[float, float, float]]] = {d: [] for d in depths}
        tm: dict[int, list[tuple[float, float, float]]] = {d: [] for d in depths}
        rp: dict[int, list[tuple[float, float]]] = {d: [] for d in depths}
        for _ in range(args.reps):
            for d in depths:
                state, p = at[d]
                om[d].append(timed_step(server, state, omega_step(d + 1)))
                tm[d].append(timed_step(server, state, term_step(d + 1)))
                rp[d].append(replay_step(server, p, omega_step(d + 1)))
        for d in depths:
            row = (d, *(statistics.median(x[i] for x in om[d]) * ms for i in range(3)),
                   *(statistics.median(x[i] for x in tm[d]) * ms for i in range(3)),
                   *(statistics.median(x[i] for x in rp[d]) * ms for i in range(2)))
            rows.append(row)
            print("depth {}: omega wall {:.1f} Lean {:.1f} own {:.1f} | term wall {:.1f} Lean {:.1f} "
                  "own {:.1f} | replay wall {:.1f} Lean {:.1f} (ms)".format(*row), flush=True)
        mem = memory_rows(server, args.states)
    b = rows[0]
    lines = [
        "# One step by depth: in-memory states vs. replay (benchmarks/bench_states.py)",
        "",
        f"`{STATEMENT}`; after d steps `have hK : a + K ≥ K := by omega`, one more step: the same "
        "`omega` step, or the term-mode `have hK : a + K ≥ K := Nat.le_add_left K a` (whose own cost "
        f"does not depend on the context). Median of {args.reps}, the depths interleaved round by round, "
        "all in one run on one embedded-Lean "
        f"server (cold start of that server: {start_s:.1f} s). Wall: the client's clock for "
        "`run_tactic` (guard parse from cache + step request); Lean: Lean's time for the request "
        "(tactic + rendering the new goals); own: the tactic's elaboration alone. Replay: `check` of "
        "the statement with the whole path and the step, what every step cost before.",
        "",
        "| depth d | omega: wall | Lean | own | wall × d=1 | term `have`: wall | Lean | own | wall × d=1 "
        "| replay: wall | Lean | Lean × d=1 |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for d, ow, ol, oo, tw, tl, to, rw, rl in rows:
        lines.append(f"| {d} | {ow:.1f} ms | {ol:.1f} ms | {oo:.1f} ms | {ow / b[1]:.2f} | {tw:.1f} ms | "
                     f"{tl:.1f} ms | {to:.1f} ms | {tw / b[4]:.2f} | {rw:.1f} ms | {rl:.1f} ms | "
                     f"{rl / b[8]:.2f} |")
    lines += ["", "| memory | Lean RSS (MiB) | states held by Lean |", "|---|---|---|"]
    lines += [f"| {what} | {rss} | {live} |" for what, rss, live in mem]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
