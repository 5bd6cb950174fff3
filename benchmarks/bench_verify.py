"""Cost of verifying one proof from scratch (it runs on every success the search reports).

    .venv/bin/python benchmarks/bench_verify.py [--rounds 5] [--out benchmarks/results/verify.md]

Verifies a fixed set of honest proofs (accepted) and hostile ones (refused) `--rounds` times on one
Lean server, and prints per-proof wall time (median, p95, max) and Lean requests per proof. The
server's start is excluded (it is paid once per process, not per proof).
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

from prover.lean import LeanConfig, LeanServer
from prover.verify import Verifier

HONEST = [
    ("omega", "theorem add_comm' (a b : Nat) : a + b = b + a", "omega"),
    ("term", "theorem add_comm' (a b : Nat) : a + b = b + a", ":= Nat.add_comm a b"),
    ("decide", "theorem four : 2 + 2 = 4", "decide"),
    ("classical", "theorem em' (p : Prop) : p ∨ ¬p", ":= Classical.em p"),
    ("header-def", "def f (n : Nat) : Nat := n + 1\ntheorem f_pos (n : Nat) : 0 < f n", "unfold f\n  omega"),
    ("multi-step", "theorem two (p q : Prop) (hp : p) (hq : q) : p ∧ q",
     "constructor\n  · exact hp\n  · exact hq"),
    ("induction", "theorem sum_zero (n : Nat) : n + 0 = n",
     "induction n with\n  | zero => rfl\n  | succ n ih => simp"),
    ("omega-heavy", "theorem heavy (x y z w : Nat) (h1 : 3*x + 5*y + 7*z + 11*w = 1000) "
     "(h2 : 13*x + 17*y + 19*z + 23*w = 3001) (h3 : 29*x + 31*y + 37*z + 41*w = 7777) : "
     "x + y + z + w ≠ 12345", "omega"),
    # A proof the numeric model's case split produces: 16 omega proofs in one term.
    ("case-split-16", "theorem rs (rows seats : Nat) (h₀ : rows * seats = 450) "
     "(h₁ : (rows + 5) * (seats - 3) = 450) : rows = 25",
     "simp only [Nat.add_mul, Nat.mul_add, Nat.sub_mul, Nat.mul_sub] at *\n"
     "  have hseats : seats ≤ 18 := (Classical.byContradiction fun hc => by have : 30 * 21 ≤ rows * seats "
     ":= Nat.mul_le_mul (by omega) (by omega); omega)\n"
     "  rcases (by omega : " + " ∨ ".join(f"seats = {c}" for c in range(3, 19)) + ") with "
     + " | ".join(["hcase"] * 16) + " <;> subst hcase <;> omega"),
]
HOSTILE = [
    ("sorry (guard)", "theorem t : 1 = 2", "sorry"),
    ("axiom (audit)", "axiom cheat : False\ntheorem t : 1 = 2", ":= cheat.elim"),
    ("escape (parse)", "theorem t : True", ":= trivial\ntheorem x : False := sorry"),
    ("false (Lean)", "theorem t : 1 = 2", "decide"),
    ("meta in statement (guard)", "theorem t : (by_elab return Lean.mkConst ``True : Prop)", "trivial"),
    ("core instance (audit)", "instance : OfNat Nat 2 := ⟨1⟩\ntheorem t : (1 : Nat) = 2", "rfl"),
    ("quoted option (guard)", "set_option «debug».skipKernelTC true\ntheorem t : 1 = 1", "rfl"),
]


def _pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--runtime", default="auto")
    ap.add_argument("--out", type=Path, default=None, help="also write a Markdown report here")
    args = ap.parse_args(argv)

    with LeanServer(LeanConfig(runtime=args.runtime)) as server:
        v = Verifier(server)
        v.verify(*HONEST[0][1:])  # warm-up (first use of omega etc.)
        rows: dict[str, list[float]] = {}
        requests: dict[str, int] = {}
        for _ in range(args.rounds):
            for name, snippet, proof in HONEST + HOSTILE:
                n0 = server.stats.requests
                t0 = time.monotonic()
                res = v.verify(snippet, proof)
                dt = time.monotonic() - t0
                expected = (name, snippet, proof) in HONEST
                if res.ok != expected:
                    print(f"UNEXPECTED verdict for {name}: {res}", file=sys.stderr)
                    return 1
                rows.setdefault(name, []).append(dt)
                requests[name] = server.stats.requests - n0
        version, runtime = server.lean_version, server.runtime.kind

    honest = [t for name, *_ in HONEST for t in rows[name]]
    lines = [
        f"# Verification cost per proof ({time.strftime('%Y-%m-%d')})",
        "",
        f"Lean {version} {runtime}, {platform.machine()}, {args.rounds} rounds, server start excluded.",
        "",
        "| proof | verdict | median ms | p95 ms | max ms | Lean requests |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for name, *_ in HONEST + HOSTILE:
        xs = rows[name]
        verdict = "proved" if any(name == h[0] for h in HONEST) else "refused"
        lines.append(f"| {name} | {verdict} | {statistics.median(xs) * 1e3:.0f} | {_pct(xs, 0.95) * 1e3:.0f} "
                     f"| {max(xs) * 1e3:.0f} | {requests[name]} |")
    lines += ["", "An accepted proof's requests: Lean reads the snippet command by command (`next_command`, "
              "one more to see that the theorem is last), elaborates each header command (`exec`), "
              "audits the header (`audit`), parses the proof, composes and re-reads the statement "
              "and the candidate (`next_command` each), elaborates both, compares them (`decl`), "
              "replays the submitted declarations through the kernel (`replay`), checks the reply "
              "stream (`ping`), and forgets the kept environments."]
    lines += ["", f"**Accepted proofs: median {statistics.median(honest) * 1e3:.0f} ms, "
                  f"p95 {_pct(honest, 0.95) * 1e3:.0f} ms per proof** ({len(honest)} verifications)."]
    report = "\n".join(lines) + "\n"
    print(report)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
