"""Best-first search against the real embedded Lean: multi-step proofs with the built-in prior,
false statements, a garbage policy, a Lean crash mid-search, and numeric pruning."""

from __future__ import annotations

import dataclasses
import os
import signal
import threading
import time
from dataclasses import dataclass, field

import pytest

from prover.lean import LeanServer, ProofState
from search.api import prove
from search.best_first import BestFirstSearch, SearchConfig
from search.interfaces import TacticCandidate
from search.policies.builtin import BuiltinPolicy
from search.prune import NumericPruneHook
from search.result import SearchStatus

SUM = "def sumTo : Nat → Nat\n  | 0 => 0\n  | n + 1 => (n + 1) + sumTo n\n"
CONFIG = SearchConfig(max_expansions=40, wall_time=90)
# Blows up exponentially: runs for many seconds (the server's guard refuses `sleep`).
SLOW = "have : (a + b + 1) ^ 12 = 0 := by simp only [Nat.pow_succ, Nat.mul_add, Nat.add_mul, Nat.pow_zero]"


def _attempts(result, node=0) -> list[dict]:  # type: ignore[no-untyped-def]
    import json

    return json.loads(result.tree.nodes[node]["attempts"])  # type: ignore[no-any-return]


def test_induction_then_closing_tactic(lean_server: LeanServer) -> None:
    res = prove(SUM + "theorem sum_formula (n : Nat) : 2 * sumTo n = n * (n + 1)",
                server=lean_server, config=CONFIG)
    assert res.status is SearchStatus.PROVED, res.message
    assert len(res.tactics) >= 2 and res.tactics[0].startswith("induction n")
    assert res.stats.verifications == 1 and res.proof is not None


def test_constructor_then_two_different_tactics(lean_server: LeanServer) -> None:
    res = prove("theorem two_parts : (∃ n : Nat, n * 3 = 21) ∧ (∀ a b : Nat, a < b → a + 1 ≤ b)",
                server=lean_server, config=CONFIG)
    assert res.status is SearchStatus.PROVED, res.message
    assert res.tactics[0] == "constructor"
    assert "exists 7" in res.tactics[1:]  # the witness comes from the numeric checker
    assert len(set(res.tactics[1:])) == 2


def test_intro_chain(lean_server: LeanServer) -> None:
    res = prove(SUM + "theorem intro_chain : ∀ (a n : Nat), a = 0 → 2 * sumTo n + a = n * (n + 1)",
                server=lean_server, config=CONFIG)
    assert res.status is SearchStatus.PROVED, res.message
    assert res.tactics[0] == "intro a n h" and len(res.tactics) >= 3


def test_false_statement_fails_within_budget(lean_server: LeanServer) -> None:
    # Without the numeric hook, so the search itself has to run out of tactics.
    t0 = time.monotonic()
    res = prove("theorem no (p q : Prop) (hp : p) : q", server=lean_server, numeric_prune=False,
                config=CONFIG)
    assert res.status is SearchStatus.FAILED and res.proof is None and res.tactics == ()
    assert res.stats.tactics_tried > 3 and res.tree.nodes[0]["status"] == "failed"
    budget = SearchConfig(max_expansions=8, wall_time=30)
    res = prove("theorem no' (a b : Nat) : a - b + b = a", server=lean_server, numeric_prune=False,
                config=budget)
    assert res.status in (SearchStatus.FAILED, SearchStatus.BUDGET_EXHAUSTED)
    assert res.proof is None and res.stats.expansions <= 8
    assert time.monotonic() - t0 < 2 * (CONFIG.wall_time + CONFIG.tactic_timeout)


@dataclass(frozen=True)
class GarbagePolicy:
    def propose(self, state: ProofState, k: int) -> list[TacticCandidate]:
        junk = ["foo bar baz", "exact no_such_lemma", "(((", "simp [does_not_exist]", "rw [", "   "]
        return [TacticCandidate(t, -1.0) for t in junk][:k]


def test_garbage_policy_ends_cleanly(lean_server: LeanServer) -> None:
    res = BestFirstSearch(lean_server, GarbagePolicy(), None, CONFIG).search(
        "theorem t (n : Nat) : n + 0 = n := by")
    assert res.status is SearchStatus.FAILED
    assert res.stats.expansions == 1 and res.stats.tactic_errors == 5
    assert all(a["outcome"] == "error" for a in _attempts(res))


@dataclass
class KillLeanOnce:
    """Proposes a slow tactic first and kills the Lean process while it runs, once."""

    server: LeanServer
    inner: BuiltinPolicy = field(default_factory=BuiltinPolicy)
    fired: bool = False

    def propose(self, state: ProofState, k: int) -> list[TacticCandidate]:
        cands = self.inner.propose(state, k)
        if self.fired:
            return cands
        self.fired = True

        def kill() -> None:
            pid = self.server.pid
            if pid is not None:
                os.killpg(pid, signal.SIGKILL)

        threading.Timer(1.5, kill).start()
        return [TacticCandidate(SLOW, 0.0), *cands]


@pytest.mark.usefixtures("lean_server_to_restart")
def test_survives_lean_crash_mid_search(lean_server: LeanServer) -> None:
    policy = KillLeanOnce(lean_server)
    res = BestFirstSearch(lean_server, policy, None, SearchConfig(wall_time=300)).search(
        "theorem t (a b : Nat) (h : a < b) : a + 1 ≤ b := by")
    assert res.stats.crashes == 1
    first = _attempts(res)[0]
    assert first["tactic"] == SLOW and first["outcome"] == "crashed"
    # Lean restarted itself and the search went on to a verified proof.
    assert res.status is SearchStatus.PROVED, res.message
    assert lean_server.alive


@pytest.mark.usefixtures("lean_server_to_restart")
def test_a_restart_owed_by_the_last_search_is_not_charged_to_the_next(lean_server: LeanServer) -> None:
    from prover.lean import LeanTimeout

    state = lean_server.open_proof("theorem slow_before (a b : Nat) : a + b = b + a := by")
    with pytest.raises(LeanTimeout):  # as when a search's deadline cuts a tactic: Lean is killed
        lean_server.run_tactic(state, SLOW, timeout=0.5)
    assert not lean_server.alive
    t0 = time.monotonic()
    res = BestFirstSearch(lean_server, BuiltinPolicy(), None, SearchConfig(wall_time=5)).search(
        "theorem fast_after (a b : Nat) (h : a < b) : a + 1 ≤ b := by")
    elapsed = time.monotonic() - t0
    # The embedded Lean's restart (~25 s) ran before the search's 5 s clock started.
    assert res.status is SearchStatus.PROVED, res.message
    assert elapsed - res.stats.wall_seconds > 5


@dataclass(frozen=True)
class LeftRightThenPrior:
    def propose(self, state: ProofState, k: int) -> list[TacticCandidate]:
        if "∨" in state.goals[0].target:
            return [TacticCandidate("left", -0.1), TacticCandidate("right", -0.2)]
        return BuiltinPolicy().propose(state, k)


def test_numeric_hook_prunes_false_subgoal(lean_server: LeanServer) -> None:
    res = BestFirstSearch(lean_server, LeftRightThenPrior(), None, CONFIG,
                          prune_hook=NumericPruneHook()).search(
        "theorem t (n : Nat) : n < 0 ∨ n + 1 > n := by")
    assert res.status is SearchStatus.PROVED, res.message
    assert res.tactics == ("right", "omega")
    assert res.stats.pruned == {"hook": 1}
    pruned = [a for _, a in res.tree.nodes(data=True) if a.get("pruned") == "hook"]
    assert len(pruned) == 1 and "n < 0" in pruned[0]["goals"] and "n = 0" in pruned[0]["prune_detail"]
    assert pruned[0]["expanded"] is False


def test_numeric_hook_refutes_false_statement_at_once(lean_server: LeanServer) -> None:
    res = prove("theorem t (n : Nat) : n + 1 < n", server=lean_server, config=CONFIG)
    assert res.status is SearchStatus.FAILED and res.stats.expansions == 0
    assert res.stats.pruned == {"hook": 1}


def test_tree_files_from_a_real_search(lean_server: LeanServer, tmp_path) -> None:  # type: ignore[no-untyped-def]
    res = prove("theorem t (p q : Prop) (hp : p) (hq : q) : p ∧ q", server=lean_server, config=CONFIG)
    assert res.proved
    html = res.write_tree(tmp_path / "tree.html").read_text(encoding="utf-8")
    assert "hp : p" in html and "proof complete" in html
    assert "->" in res.write_tree(tmp_path / "tree.dot").read_text(encoding="utf-8")
    assert (tmp_path / "tree.graphml").exists() is False
    res.write_tree(tmp_path / "tree.graphml")
    assert "<graphml" in (tmp_path / "tree.graphml").read_text(encoding="utf-8")


@dataclass(frozen=True)
class FixedPolicy:
    """A policy double: the same tactics, in this order, for every state."""

    tactics: tuple[str, ...]

    def propose(self, state: ProofState, k: int) -> list[TacticCandidate]:
        return [TacticCandidate(t, -1.0 - 0.1 * i) for i, t in enumerate(self.tactics)][:k]


THREE = "theorem three : (∀ a : Nat, a + 0 = a) ∧ (∀ b : Nat, 0 + b = b) ∧ (∀ c : Nat, c * 1 = c)"


def test_goals_are_searched_one_at_a_time(lean_server: LeanServer) -> None:
    # Each conjunct takes `intro x` then `omega`: 8 tactics in a row. Closing a goal leaves the
    # others as they were, so its steps cost nothing in depth: depth 4 is enough goal by goal.
    policy = FixedPolicy(("constructor", "intro x", "omega", "exact fun _ => rfl"))
    cfg = SearchConfig(max_expansions=40, wall_time=90, max_depth=4)
    on = BestFirstSearch(lean_server, policy, None, cfg).search(THREE)
    assert on.status is SearchStatus.PROVED, on.message
    assert on.stats.goals_closed >= 2 and on.stats.max_depth_reached > cfg.max_depth
    # The other ways of closing a goal already closed are dominated and never expanded.
    assert on.stats.pruned.get("dominated", 0) >= 1, on.stats.pruned
    off = BestFirstSearch(lean_server, policy, None,
                          dataclasses.replace(cfg, independent_goals=False)).search(THREE)
    assert off.status is not SearchStatus.PROVED and off.stats.pruned.get("depth", 0) >= 1
    assert off.stats.goals_closed == 0
