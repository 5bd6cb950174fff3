"""Soundness of the numeric prune hook on proof paths (issue 11): no provable state may be refuted.

Every state on the proof path of every proof found by the search benchmark
(`benchmarks/data/search_problems.py`, searched here with the built-in prior, the hook off so that
it cannot steer the proofs) and by a miniF2F core run of `prover bench` (its `results.jsonl`: the
proved problems and their tactic scripts) is rebuilt on the real Lean — one server, the tactics in
order — and fed to the prune hook, on Lean's typed trees (`NumericPruneHook(lean=…)`, what the
search uses) and on the pretty-printed text (`NumericPruneHook()`). Each of these states has a
proof, so any refutation is a checker bug.

    PROVER_CACHE_DIR=… .venv/bin/python benchmarks/bench_numeric_soundness.py \\
        --results ../main/bench-runs/minif2f_core_v3/results.jsonl \\
        --data ../shared/benchmarks --out benchmarks/results/numeric_soundness.md
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from prover.bench.config import CORE_PRELUDE  # noqa: E402
from prover.bench.worker import published_header  # noqa: E402
from prover.lean import LeanConfig, LeanServer, ProofFinished, ProofState  # noqa: E402
from prover.numeric import NumericChecker, Verdict  # noqa: E402
from prover.numeric.typed import check_state  # noqa: E402
from prover.verify import Verifier  # noqa: E402
from search.api import as_snippet  # noqa: E402
from search.best_first import BestFirstSearch, SearchConfig  # noqa: E402
from search.policies.builtin import BuiltinPolicy  # noqa: E402
from search.values.simple import GoalSizeValue  # noqa: E402


@dataclass(frozen=True, slots=True)
class Proof:
    source: str  # "search" or "minif2f"
    name: str
    snippet: str
    tactics: tuple[str, ...]


@dataclass
class Tally:
    proofs: int = 0
    replay_failed: list[str] = field(default_factory=list)
    states: int = 0
    goals: int = 0
    refuted_typed: list[str] = field(default_factory=list)
    refuted_text: list[str] = field(default_factory=list)
    typed_verdicts: dict[str, int] = field(default_factory=dict)
    text_verdicts: dict[str, int] = field(default_factory=dict)
    typed_ms: list[float] = field(default_factory=list)
    text_ms: list[float] = field(default_factory=list)


def search_proofs(server: LeanServer) -> list[Proof]:
    spec = importlib.util.spec_from_file_location("search_problems", ROOT / "benchmarks" / "data"
                                                  / "search_problems.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["search_problems"] = mod
    spec.loader.exec_module(mod)
    cfg = SearchConfig(k=12, max_expansions=60, wall_time=60, tactic_timeout=20)
    verifier = Verifier(server)
    out = []
    for p in mod.PROBLEMS:
        if not p.true:
            continue
        snippet = as_snippet(p.snippet)
        res = BestFirstSearch(server, BuiltinPolicy.for_snippet(snippet), GoalSizeValue(), cfg,
                              verifier=verifier, prune_hook=None).search(snippet)
        if res.proved:
            out.append(Proof("search", p.name, snippet, tuple(res.tactics)))
    return out


def minif2f_proofs(results: Path, data: Path) -> list[Proof]:
    stmts = {}
    with open(data / "minif2f.jsonl", encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            stmts[d["name"]] = d
    out = []
    with open(results, encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            if r.get("status") != "proved" or not r.get("proof"):
                continue
            d = stmts[r["name"]]
            header = CORE_PRELUDE if r["elaboration"] == "core" else published_header(d["header"])
            # the search writes one tactic a line, indented by two spaces
            tactics = tuple(t.strip() for t in r["proof"].splitlines() if t.strip())
            out.append(Proof("minif2f", r["name"], as_snippet(header + d["formal_statement"]), tactics))
    return out


def path_states(server: LeanServer, proof: Proof) -> list[ProofState] | None:
    root = server.open_proof(proof.snippet)
    if not isinstance(root, ProofState):
        return None
    states = [root]
    cur = root
    for tac in proof.tactics:
        nxt = server.run_tactic(cur, tac)
        if isinstance(nxt, ProofFinished):
            return states
        if not isinstance(nxt, ProofState):
            return None
        states.append(nxt)
        cur = nxt
    return states if not states[-1].goals else None


def check(server: LeanServer, proofs: list[Proof], tally: Tally) -> None:
    text = NumericChecker()
    for proof in proofs:
        states = path_states(server, proof)
        if states is None:
            tally.replay_failed.append(f"{proof.source}/{proof.name}")
            continue
        tally.proofs += 1
        for i, st in enumerate(states):
            if not st.goals:
                continue
            tally.states += 1
            tally.goals += len(st.goals)
            # the typed path: what the search's hook does with a Lean server (all goals, up to a
            # refuted one; none should be)
            for c in check_state(server, st):
                tally.typed_verdicts[c.verdict.value] = tally.typed_verdicts.get(c.verdict.value, 0) + 1
                tally.typed_ms.append(c.elapsed_s * 1000)
                if c.verdict is Verdict.REFUTED:
                    tally.refuted_typed.append(f"{proof.source}/{proof.name} state {i}: {c.reason}")
            for g in st.goals:
                t0 = time.perf_counter()
                r = text.check_goal([(h.name, h.type) for h in g.hypotheses], g.target)
                tally.text_ms.append((time.perf_counter() - t0) * 1000)
                tally.text_verdicts[r.verdict.value] = tally.text_verdicts.get(r.verdict.value, 0) + 1
                if r.verdict is Verdict.REFUTED:
                    tally.refuted_text.append(
                        f"{proof.source}/{proof.name} state {i}: {g.target} — {r.reason}")
        server.forget(states)


def _ms(xs: list[float]) -> str:
    if not xs:
        return "–"
    q = statistics.quantiles(xs, n=20)[-1] if len(xs) > 1 else xs[0]
    return f"median {statistics.median(xs):.1f} ms, p95 {q:.1f} ms"


def report(tally: Tally, n_search: int, n_minif2f: int, results: Path, elapsed: float) -> str:
    lines = [
        "# Numeric prune hook on proof paths: soundness",
        "",
        "Generated by `benchmarks/bench_numeric_soundness.py`. Every state on the proof path of every",
        f"proof found by the search benchmark ({n_search} proofs, searched here without the hook) and by",
        f"the miniF2F core run (`{results.parent.name}/{results.name}`: {n_minif2f} proofs) was rebuilt on",
        "the real Lean (one server, the tactics in order) and given to the prune hook. Every such state",
        "has a proof, so none may be refuted.",
        "",
        "| | typed path (Lean's trees, the search's hook) | text path (pretty-printed goals) |",
        "|---|---|---|",
        f"| proofs replayed | {tally.proofs} | {tally.proofs} |",
        f"| states checked (with goals) | {tally.states} | {tally.states} |",
        f"| goals checked | {sum(tally.typed_verdicts.values())} | {tally.goals} |",
        f"| **refuted** | **{len(tally.refuted_typed)}** | **{len(tally.refuted_text)}** |",
        f"| verdicts | {_verdicts(tally.typed_verdicts)} | {_verdicts(tally.text_verdicts)} |",
        f"| time per goal | {_ms(tally.typed_ms)} | {_ms(tally.text_ms)} |",
        "",
        f"Proofs that did not replay: {len(tally.replay_failed)}"
        + (f" ({', '.join(tally.replay_failed)})" if tally.replay_failed else "") + ".",
        f"Wall time of the run: {elapsed:.0f} s.",
    ]
    for title, xs in (("Refuted on the typed path", tally.refuted_typed),
                      ("Refuted on the text path", tally.refuted_text)):
        if xs:
            lines += ["", f"## {title}", "", *[f"- {x}" for x in xs]]
    return "\n".join(lines) + "\n"


def _verdicts(d: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(d.items())) or "–"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--results", type=Path, required=True,
                    help="results.jsonl of a `prover bench minif2f` run")
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "benchmarks")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "numeric_soundness.md")
    ap.add_argument("--skip-search", action="store_true")
    args = ap.parse_args()
    t0 = time.perf_counter()
    server = LeanServer(LeanConfig())
    server.start()
    try:
        proofs = [] if args.skip_search else search_proofs(server)
        n_search = len(proofs)
        mf = minif2f_proofs(args.results, args.data)
        tally = Tally()
        check(server, proofs + mf, tally)
    finally:
        server.close()
    text = report(tally, n_search, len(mf), args.results, time.perf_counter() - t0)
    args.out.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
