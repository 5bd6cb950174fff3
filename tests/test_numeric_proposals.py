"""The numeric model's proposals against the real Lean: a bounded case split proves what the prior
alone cannot at the same budget, a residue split proves a modular goal, a product fact makes
`omega` succeed, and a false bound is only a failed tactic after which the search goes on."""

from __future__ import annotations

import json

import pytest

from prover.lean import LeanError, LeanServer, ProofFinished, ProofState
from prover.numeric.proposals import propose
from search.best_first import BestFirstSearch, SearchConfig
from search.interfaces import TacticCandidate
from search.policies.builtin import BuiltinPolicy
from search.policies.numeric_proposals import NumericProposalPolicy
from search.result import SearchStatus

pytest.importorskip("z3", reason="z3-solver not installed: pip install -e '.[smt]'")

PRELUDE = 'set_option autoImplicit false\nnotation "ℕ" => Nat\nnotation "ℤ" => Int\n'
# The issue's own examples (written there before any miniF2F failure was looked at).
PAIR = PRELUDE + "theorem pair (x y : ℤ) (h₀ : 0 < y) (h₁ : y < x) (h₂ : x + y + x * y = 80) : x = 26"
SQUARES = PRELUDE + "theorem squares (a : ℤ) : a ^ 2 % 4 = 0 ∨ a ^ 2 % 4 = 1"
PRODUCT = PRELUDE + "theorem prod (x y : ℕ) (h₀ : 2 ≤ x) (h₁ : 3 ≤ y) (h₂ : x * y + x ≤ 7) : False"
BUDGET = SearchConfig(max_expansions=30, wall_time=45)


def _search(server: LeanServer, policy: object, snippet: str):  # type: ignore[no-untyped-def]
    return BestFirstSearch(server, policy, None, BUDGET).search(snippet)  # type: ignore[arg-type]


def test_bounded_case_split_proves_what_the_prior_cannot(lean_server: LeanServer) -> None:
    prior = _search(lean_server, BuiltinPolicy(), PAIR)
    assert prior.status is not SearchStatus.PROVED, prior.proof
    res = _search(lean_server, NumericProposalPolicy(BuiltinPolicy(), lean_server), PAIR)
    assert res.status is SearchStatus.PROVED, res.message
    # The proof bounds y by a product certificate, then splits on its finitely many values.
    assert any(t.startswith("have hy : y ≤") and "Int.mul_le_mul" in t for t in res.tactics), res.tactics
    assert any(t.startswith("rcases (by omega : y = 1 ∨ y = 2") for t in res.tactics), res.tactics


def test_residue_split_proves_a_modular_goal(lean_server: LeanServer) -> None:
    prior = _search(lean_server, BuiltinPolicy(), SQUARES)
    assert prior.status is not SearchStatus.PROVED, prior.proof
    res = _search(lean_server, NumericProposalPolicy(BuiltinPolicy(), lean_server), SQUARES)
    assert res.status is SearchStatus.PROVED, res.message
    assert any("a % 4 = 3" in t and t.startswith("rcases") for t in res.tactics), res.tactics


def test_product_fact_makes_omega_succeed(lean_server: LeanServer) -> None:
    root = lean_server.open_proof(PRODUCT)
    assert isinstance(root, ProofState)
    assert isinstance(lean_server.run_tactic(root, "omega"), LeanError)  # x * y is an atom to omega
    facts = [p for p in propose(lean_server.goal_terms(root)[0])
             if p.kind == "product" and p.tactic.startswith("have :")]
    assert facts, "no product fact proposed"
    after = lean_server.run_tactic(root, facts[0].tactic)
    assert isinstance(after, ProofState), after
    assert isinstance(lean_server.run_tactic(after, "omega"), ProofFinished)


class _FalseBoundFirst:
    """The numeric policy with a false bound (y ≤ 1; the solution has y = 2) ranked first."""

    FALSE = "have hy : y ≤ 1 := by omega"

    def __init__(self, inner: NumericProposalPolicy) -> None:
        self.inner = inner

    def propose(self, state: ProofState, k: int) -> list[TacticCandidate]:
        return [TacticCandidate(self.FALSE, 0.0), *self.inner.propose(state, k - 1)]


def test_false_bound_fails_in_lean_and_the_search_goes_on(lean_server: LeanServer) -> None:
    inner = NumericProposalPolicy(BuiltinPolicy(), lean_server)
    root = lean_server.open_proof(PAIR)
    assert isinstance(root, ProofState)
    # The model itself never offers a bound its own solution (x = 26, y = 2) violates.
    for p in inner.numeric(root):
        if p.kind == "bound" and p.tactic.startswith("have hy : y ≤ "):
            assert int(p.tactic.split("≤ ")[1].split()[0]) >= 2, p.tactic
    res = _search(lean_server, _FalseBoundFirst(inner), PAIR)
    assert res.status is SearchStatus.PROVED, res.message
    attempts = json.loads(res.tree.nodes[0]["attempts"])
    tried = [a for a in attempts if a["tactic"] == _FalseBoundFirst.FALSE]
    assert tried and tried[0]["outcome"] == "error", attempts
    assert _FalseBoundFirst.FALSE not in res.tactics


# Ours, written for this test: a recurrence that needs three instances of its hypothesis.
RECURRENCE = PRELUDE + ("theorem rec3 (f : ℕ → ℕ) (h₀ : ∀ x, f (x + 1) = f x + 2) (h₁ : f 0 = 1) : "
                        "f 3 = 7")


def test_forall_instances_make_omega_close_the_goal(lean_server: LeanServer) -> None:
    root = lean_server.open_proof(RECURRENCE)
    assert isinstance(root, ProofState)
    assert isinstance(lean_server.run_tactic(root, "omega"), LeanError)  # f 3 and f 0 are unrelated atoms
    inst = [p for p in propose(lean_server.goal_terms(root)[0]) if p.kind == "instance"]
    assert inst, "no instantiation proposed"
    # The three instances the target needs, each stated with its argument computed (f 3, not f (2 + 1)).
    for x, lhs, rhs in ((0, "f 1", "f 0"), (1, "f 2", "f 1"), (2, "f 3", "f 2")):
        assert f"({lhs}) = (({rhs}) + 2) := h₀ {x}" in inst[0].tactic, inst[0].tactic
    assert isinstance(lean_server.run_tactic(root, inst[0].tactic), ProofFinished)
    res = _search(lean_server, NumericProposalPolicy(BuiltinPolicy(), lean_server), RECURRENCE)
    assert res.status is SearchStatus.PROVED and res.stats.expansions == 1, res.message


# The third example: the two products are unrelated atoms to omega until multiplied out.
ROWS = PRELUDE + ("theorem rows_seats (rows seats : ℕ) (h₀ : rows * seats = 450) "
                  "(h₁ : (rows + 5) * (seats - 3) = 450) : rows = 25")


def test_multiplied_out_products_make_the_bounds_certifiable(lean_server: LeanServer) -> None:
    def proposals(st: ProofState, kind: str) -> list[str]:
        return [p.tactic for p in propose(lean_server.goal_terms(st)[0]) if p.kind == kind]

    root = lean_server.open_proof(ROWS)
    assert isinstance(root, ProofState)
    # Before: no bound on rows is certified (its products are not the ones h₀ speaks of).
    certified = [t for t in proposals(root, "bound") if "mul_le_mul" in t]
    assert not any(t.startswith("have hrows : rows ≤") for t in certified), certified
    dist = proposals(root, "distribute")
    assert dist == ["simp only [Nat.add_mul, Nat.mul_add, Nat.sub_mul, Nat.mul_sub] at *"], dist
    expanded = lean_server.run_tactic(root, dist[0])
    assert isinstance(expanded, ProofState), expanded
    bound = [t for t in proposals(expanded, "bound") if t.startswith("have hrows : rows ≤ 25 :=")]
    assert bound and "Nat.mul_le_mul" in bound[0], proposals(expanded, "bound")
    bounded = lean_server.run_tactic(expanded, bound[0])
    assert isinstance(bounded, ProofState), bounded
    splits = [t for t in proposals(bounded, "case_split") if t.endswith("<;> omega")]
    assert splits, proposals(bounded, "case_split")
    assert isinstance(lean_server.run_tactic(bounded, splits[0]), ProofFinished)
