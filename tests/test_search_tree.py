"""Best-first search logic against a scripted fake Lean (no Lean process): priorities, merging,
budgets, fault handling, verification gate, status propagation, and the tree exports."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from itertools import count

import networkx as nx
import pytest

from prover.lean import ErrorKind, Goal, LeanCrashed, LeanError, LeanTimeout, ProofFinished, ProofState
from search.best_first import BestFirstSearch, SearchConfig
from search.interfaces import TacticCandidate
from search.result import SearchStatus
from search.tree import EdgeOutcome

# A tiny "Lean": states are named by their single goal's target; TRANSITIONS maps
# (target, tactic) to a new target, "QED", "CRASH", "TIMEOUT", or nothing (an error).
TRANSITIONS = {
    ("A", "a1"): "B",
    ("A", "a2"): "C",
    ("A", "loop"): "A",
    ("B", "b1"): "D",
    ("C", "c1"): "D",  # D reached twice: merged
    ("D", "d1"): "QED",
    ("A", "crash"): "CRASH",
    ("A", "slow"): "TIMEOUT",
    ("X", "x1"): "Y",
    ("X", "x2"): "Z",
    ("Y", "y1"): "W",
    ("Z", "z1"): "V",
    ("W", "w1"): "QED",
    ("V", "v1"): "QED",
    ("F", "f1"): "G",
    ("G", "g1"): "F",
    ("R", "r1"): "S",
    ("S", "back"): "R",  # a merged edge back to the root: the root gets a parent
    ("S", "s1"): "T",
    ("T", "t1"): "QED",
}


def _state(sid: int, target: str, tactics: tuple[str, ...]) -> ProofState:
    return ProofState(sid, (Goal((), target, f"⊢ {target}"),), tactics)


@dataclass
class FakeServer:
    crash_budget: int = 99
    ids: count = field(default_factory=lambda: count(1))
    calls: list[tuple[str, str]] = field(default_factory=list)
    forgotten: list[int] = field(default_factory=list)
    live: dict[int, ProofState] = field(default_factory=dict)

    def open_proof(self, snippet: str, *, timeout: float | None = None,
                   heartbeats: int | None = None) -> ProofState | LeanError:
        if snippet.startswith("bad"):
            return LeanError(ErrorKind.ELABORATION, reason="does not elaborate")
        st = _state(next(self.ids), snippet.split()[-1], ())
        self.live[st.id] = st
        return st

    def run_tactic(self, state: ProofState, tactic: str, *, timeout: float | None = None,
                   heartbeats: int | None = None) -> ProofState | ProofFinished | LeanError:
        target = state.goals[0].target
        self.calls.append((target, tactic))
        nxt = TRANSITIONS.get((target, tactic))
        if nxt is None:
            return LeanError(ErrorKind.ELABORATION, reason=f"{tactic} failed")
        if nxt == "CRASH":
            raise LeanCrashed("the Lean process exited")
        if nxt == "TIMEOUT":
            raise LeanTimeout("too slow")
        tactics = (*state.tactics, tactic)
        if nxt == "QED":
            return ProofFinished(next(self.ids), tactics)
        st = _state(next(self.ids), nxt, tactics)
        self.live[st.id] = st
        return st

    def forget(self, states: list[ProofState]) -> None:
        self.forgotten += [s.id for s in states]


@dataclass
class ScriptedPolicy:
    """Proposes fixed tactics per target, with given log-probabilities."""

    table: dict[str, list[tuple[str, float]]]

    def propose(self, state: ProofState, k: int) -> list[TacticCandidate]:
        return [TacticCandidate(t, lp) for t, lp in self.table.get(state.goals[0].target, [])][:k]


@dataclass(frozen=True)
class Verdict:
    ok: bool
    reason: str = ""
    axioms: tuple[str, ...] = ()


@dataclass
class FakeVerifier:
    ok: bool = True
    seen: list[str] = field(default_factory=list)

    def verify(self, snippet: str, proof: str) -> Verdict:
        self.seen.append(proof)
        return Verdict(self.ok, "" if self.ok else "rejected", ("propext",))


POLICY = ScriptedPolicy({
    "A": [("a1", -0.1), ("a2", -0.5), ("loop", -1.0), ("junk", -2.0)],
    "B": [("b1", -3.0)],
    "C": [("c1", -0.1)],
    "D": [("d1", -0.1)],
})


def _search(policy: ScriptedPolicy = POLICY, verifier: FakeVerifier | None = None,
            server: FakeServer | None = None, **cfg: float) -> tuple[BestFirstSearch, FakeServer]:
    srv = server or FakeServer()
    config = SearchConfig(**cfg)  # type: ignore[arg-type]
    return BestFirstSearch(srv, policy, None, config, verifier=verifier or FakeVerifier()), srv  # type: ignore[arg-type]


def test_finds_proof_and_reports_path_and_stats() -> None:
    search, srv = _search()
    res = search.search("theorem t : A")
    assert res.status is SearchStatus.PROVED
    # D is reached first via a1/b1 or a2/c1; its state's own path is what gets verified.
    assert res.tactics[-1] == "d1" and len(res.tactics) == 3
    assert res.proof == "\n".join(f"  {t}" for t in res.tactics)
    assert res.axioms == ("propext",)
    assert res.stats.expansions >= 3 and res.stats.merged >= 1
    assert res.stats.lean_calls == len(srv.calls) + 2  # + open_proof + verify
    # Every state the search made was released.
    assert set(srv.live) <= set(srv.forgotten)


def test_priority_prefers_cheap_path() -> None:
    # x1 (-0.1) then y1 (-3.0) is worse than x2 (-0.5) then z1 (-0.1), though x1 looks better first.
    policy = ScriptedPolicy({"X": [("x1", -0.1), ("x2", -0.5)], "Y": [("y1", -3.0)],
                             "Z": [("z1", -0.1)], "W": [("w1", -0.1)], "V": [("v1", -0.1)]})
    search, _ = _search(policy)
    res = search.search("theorem t : X")
    assert res.tactics == ("x2", "z1", "v1")
    assert res.stats.expansions == 4  # X, Y, Z, V; W waits with its worse priority


def test_priority_formula() -> None:
    import math

    from search.best_first import _Run

    srv = FakeServer()
    plain = _Run(BestFirstSearch(srv, POLICY, None, SearchConfig(value_weight=0.5)), "t")  # type: ignore[arg-type]
    assert plain._priority(-2.0, 4, None) == -2.0
    assert plain._priority(-2.0, 4, 0.5) == pytest.approx(-2.0 + 0.5 * math.log(0.5))
    normed = _Run(BestFirstSearch(srv, POLICY, None, SearchConfig(length_normalisation=1.0)), "t")  # type: ignore[arg-type]
    assert normed._priority(-2.0, 4, None) == pytest.approx(-0.5)
    no_value = _Run(BestFirstSearch(srv, POLICY, None, SearchConfig(value_weight=0.0)), "t")  # type: ignore[arg-type]
    assert no_value._priority(-1.0, 1, 0.01) == -1.0


def test_merged_state_and_self_loop() -> None:
    search, _ = _search()
    res = search.search("theorem t : A")
    g = res.tree
    outcomes = [e["outcome"] for n in g.nodes if g.nodes[n]["kind"] == "state"
                for e in json.loads(g.nodes[n]["attempts"])]
    assert "merged" in outcomes and "error" in outcomes
    # The `loop` tactic (A -> A) does not make A its own parent.
    assert not g.has_edge(0, 0) or g.edges[0, 0]["outcome"] == "merged"


def test_unverified_finish_is_never_proved() -> None:
    verifier = FakeVerifier(ok=False)
    search, _ = _search(verifier=verifier)
    res = search.search("theorem t : A")
    assert res.status is SearchStatus.FAILED
    assert res.proof is None and res.tactics == ()
    assert res.stats.verification_failures == 1 and verifier.seen


def test_failed_when_nothing_left() -> None:
    policy = ScriptedPolicy({"A": [("junk", -0.1), ("more junk", -0.2)]})
    search, _ = _search(policy)
    res = search.search("theorem t : A")
    assert res.status is SearchStatus.FAILED
    assert res.stats.tactic_errors == 2
    assert res.tree.nodes[0]["status"] == "failed"


def test_cycle_exhausts_budget() -> None:
    policy = ScriptedPolicy({"F": [("f1", -0.1)], "G": [("g1", -0.1)]})
    search, _ = _search(policy, max_expansions=5)
    res = search.search("theorem t : F")
    # F -> G -> F (merged): the frontier empties, the search fails cleanly.
    assert res.status is SearchStatus.FAILED
    assert res.stats.merged == 1


def test_expansion_budget() -> None:
    search, _ = _search(max_expansions=1)
    res = search.search("theorem t : A")
    assert res.status is SearchStatus.BUDGET_EXHAUSTED
    assert res.stats.expansions == 1
    assert "expansion" in res.message


def test_depth_limit_prunes() -> None:
    search, _ = _search(max_depth=1)
    res = search.search("theorem t : A")
    assert res.status is SearchStatus.FAILED
    assert res.stats.pruned.get("depth", 0) >= 2


def test_crash_marks_edge_and_search_goes_on() -> None:
    policy = ScriptedPolicy({"A": [("crash", -0.01), ("slow", -0.02), ("a2", -0.5)],
                             "C": [("c1", -0.1)], "D": [("d1", -0.1)]})
    search, _ = _search(policy)
    res = search.search("theorem t : A")
    assert res.status is SearchStatus.PROVED
    assert res.stats.crashes == 1 and res.stats.timeouts == 1
    attempts = json.loads(res.tree.nodes[0]["attempts"])
    assert [a["outcome"] for a in attempts][:2] == ["crashed", "timeout"]


def test_repeated_crashes_end_with_error() -> None:
    policy = ScriptedPolicy({"A": [("crash", -0.01), ("crash ", -0.02)]})
    search, _ = _search(policy, max_crashes=1)
    res = search.search("theorem t : A")
    assert res.status is SearchStatus.ERROR
    assert "Lean failed" in res.message


def test_statement_error() -> None:
    search, _ = _search()
    res = search.search("bad statement")
    assert res.status is SearchStatus.ERROR
    assert res.tree.number_of_nodes() == 0


def test_refuses_sorry_without_calling_lean() -> None:
    policy = ScriptedPolicy({"A": [("sorry", -0.01), ("exact sorry", -0.02)]})
    search, srv = _search(policy)
    res = search.search("theorem t : A")
    assert res.status is SearchStatus.FAILED
    assert res.stats.refused == 2 and srv.calls == []


@dataclass
class RefuteC:
    def check(self, state: ProofState) -> str | None:
        return "C is false" if state.goals[0].target == "C" else None


def test_prune_hook_closes_states() -> None:
    srv = FakeServer()
    search = BestFirstSearch(srv, POLICY, None, SearchConfig(), verifier=FakeVerifier(),  # type: ignore[arg-type]
                             prune_hook=RefuteC())
    res = search.search("theorem t : A")
    assert res.status is SearchStatus.PROVED
    assert res.tactics == ("a1", "b1", "d1")  # the cheaper route through C was pruned
    assert res.stats.pruned == {"hook": 1}
    pruned = [n for n, a in res.tree.nodes(data=True) if a.get("pruned") == "hook"]
    assert len(pruned) == 1 and "C is false" in res.tree.nodes[pruned[0]]["prune_detail"]


def test_value_weight_changes_order() -> None:
    @dataclass
    class LikesB:
        def score(self, state: ProofState) -> float:
            return 1.0 if state.goals[0].target == "B" else 0.01

    srv = FakeServer()
    search = BestFirstSearch(srv, POLICY, LikesB(), SearchConfig(value_weight=1.0),  # type: ignore[arg-type]
                             verifier=FakeVerifier())
    res = search.search("theorem t : A")
    assert res.tactics == ("a1", "b1", "d1")


def test_progress_callback_and_tree_exports(tmp_path) -> None:  # type: ignore[no-untyped-def]
    seen = []
    srv = FakeServer()
    search = BestFirstSearch(srv, POLICY, None, SearchConfig(), verifier=FakeVerifier(),  # type: ignore[arg-type]
                             progress=seen.append)
    res = search.search("theorem t : A")
    assert seen and seen[-1].expansions >= 2
    html = res.write_tree(tmp_path / "t.html").read_text()
    assert "<script" not in html and "a2" in html and "class='proof'" in html
    dot = res.write_tree(tmp_path / "t.dot").read_text()
    assert dot.startswith("digraph") and "penwidth=3" in dot
    res.write_tree(tmp_path / "t.graphml")
    ET.parse(tmp_path / "t.graphml")  # well-formed XML
    g = nx.read_graphml(tmp_path / "t.graphml")
    proof_edges = [d["tactic"] for _, _, d in g.edges(data=True) if d["proof"]]
    assert sorted(proof_edges) == sorted(res.tactics)
    with pytest.raises(ValueError):
        res.write_tree(tmp_path / "t.png")


def test_invariants_hold_after_search() -> None:
    from search.best_first import _Run

    srv = FakeServer()
    search = BestFirstSearch(srv, POLICY, None, SearchConfig(), verifier=FakeVerifier())  # type: ignore[arg-type]
    run = _Run(search, "theorem t : A")
    res = run.run()
    assert res.proved
    assert run.tree is not None and run.tree.check_invariants() == []


def test_config_validation() -> None:
    with pytest.raises(ValueError):
        SearchConfig(k=0)
    with pytest.raises(ValueError):
        SearchConfig(wall_time=0)
    assert EdgeOutcome("crashed") is EdgeOutcome.CRASHED


def test_a_merge_back_into_the_root_ends_the_walk_up_the_tree() -> None:
    # Every new state walks its path up to the root (independent goals); a root with a merged
    # parent must not send that walk round the cycle forever.
    import threading

    policy = ScriptedPolicy({"R": [("r1", -0.1)], "S": [("back", -0.1), ("s1", -0.2)], "T": [("t1", -0.1)]})
    search, _ = _search(policy)
    out: list = []
    worker = threading.Thread(target=lambda: out.append(search.search("theorem t : R")), daemon=True)
    worker.start()
    worker.join(timeout=10)
    assert out, "the search did not end"
    assert out[0].status is SearchStatus.PROVED and out[0].tactics == ("r1", "s1", "t1")
    assert out[0].stats.merged == 1
