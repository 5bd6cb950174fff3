"""The built-in prior, the goal-shape reader and the simple value model, on hand-made states
(no Lean process)."""

from __future__ import annotations

import math

import pytest

from prover.lean import Goal, Hypothesis, ProofState
from search.goal_shape import accessible, shape
from search.interfaces import Policy, ValueModel
from search.policies.builtin import BuiltinPolicy
from search.values.simple import ConstantValue, GoalSizeValue


def _state(target: str, *hyps: tuple[str, str]) -> ProofState:
    hs = tuple(Hypothesis(n, t) for n, t in hyps)
    return ProofState(1, (Goal(hs, target, target),))


def _tactics(state: ProofState, k: int = 40, policy: BuiltinPolicy | None = None) -> list[str]:
    return [c.tactic for c in (policy or BuiltinPolicy()).propose(state, k)]


@pytest.mark.parametrize(("text", "head"), [
    ("∀ (a b : Nat), a = b → b = a", "forall"),
    ("a = b → b = a", "imp"),
    ("p ∧ q → q ∧ p", "imp"),
    ("p ∨ q ↔ q ∨ p", "iff"),
    ("¬a = b", "not"),
    ("¬p ∧ q", "and"),
    ("∃ n, n * 3 = 21", "exists"),
    ("f (n + 1) > 0", "gt"),
    ("(a ≤ b)", "le"),
    ("a ≠ b", "ne"),
    ("True", "true"),
])
def test_shape(text: str, head: str) -> None:
    assert shape(text).head == head


def test_shape_binders_and_parts() -> None:
    s = shape("∀ (a b : Nat) (h : a < b), a ≤ b")
    assert s.binders == ("a", "b", "h") and s.parts == ("a ≤ b",)
    assert shape("a → b → c").parts == ("a", "b → c")


def test_inaccessible_names() -> None:
    assert not accessible(Hypothesis("n._@.ProverServer.1._hyg.15", "Nat"))
    assert not accessible(Hypothesis("a✝", "Nat"))
    assert accessible(Hypothesis("ih", "P n"))


def test_protocols() -> None:
    assert isinstance(BuiltinPolicy(), Policy)
    assert isinstance(GoalSizeValue(), ValueModel)


def test_distributions_are_normalised_and_sorted() -> None:
    cands = BuiltinPolicy().propose(_state("a + 1 ≤ b", ("a", "Nat"), ("b", "Nat"), ("h", "a < b")), 100)
    lps = [c.logprob for c in cands]
    assert lps == sorted(lps, reverse=True) and all(lp <= 0 for lp in lps)
    assert math.isclose(sum(math.exp(lp) for lp in lps), 1.0, rel_tol=1e-6)
    assert len({c.tactic for c in cands}) == len(cands)
    assert len(BuiltinPolicy().propose(_state("a = a", ("a", "Nat")), 3)) == 3


def test_arithmetic_goal_puts_omega_first() -> None:
    assert _tactics(_state("a + 1 ≤ b", ("a", "Nat"), ("b", "Nat"), ("h", "a < b")))[0] == "omega"


def test_matching_hypothesis_is_used_first() -> None:
    assert _tactics(_state("q", ("p", "Prop"), ("q", "Prop"), ("hq", "q")))[0] == "exact hq"


def test_closed_goal_gets_decide() -> None:
    assert "decide" in _tactics(_state("12 * 12 = 144"), 4)


def test_structure() -> None:
    assert "constructor" in _tactics(_state("p ∧ q", ("p", "Prop"), ("q", "Prop")), 6)
    intro = _tactics(_state("∀ (a b : Nat), a = b → b = a"), 6)
    assert "intro a b h" in intro
    assert {"left", "right"} <= set(_tactics(_state("p ∨ q", ("p", "Prop"), ("q", "Prop"))))
    # Names in scope are not reused.
    assert "intro h1" in _tactics(_state("p → q", ("h", "r"), ("p", "Prop"), ("q", "Prop")))


def test_induction_on_nat_and_list_variables() -> None:
    ts = _tactics(_state("f n > 0", ("n", "Nat")), policy=BuiltinPolicy(definitions=("f",)))
    assert "induction n <;> simp_all [f]" in ts[:5] and "induction n" in ts and "simp [f]" in ts[:3]
    assert "induction xs" in _tactics(_state("(xs ++ []).length = xs.length", ("xs", "List Nat")))


def test_hypothesis_steps() -> None:
    ts = _tactics(_state("q ∨ p", ("p", "Prop"), ("q", "Prop"), ("h", "p ∨ q")))
    assert "rcases h with h | h" in ts
    ts = _tactics(_state("∃ m, f m ≤ 0", ("f", "Nat → Nat"), ("h", "∃ n, f n = 0")))
    assert "obtain ⟨n, hn⟩ := h" in ts
    ts = _tactics(_state("f a = f c", ("a", "Nat"), ("c", "Nat"), ("h1", "a = b")))
    assert "rw [h1]" in ts and "subst h1" in ts
    ts = _tactics(_state("q", ("p", "Prop"), ("q", "Prop"), ("hpq", "p → q")))
    assert ts.index("apply hpq") < 5


def test_inaccessible_hypotheses_get_renamed() -> None:
    st = _state("f (n✝ + 1) > 0", ("n._@.X._hyg.14", "Nat"), ("a._@.X._hyg.15", "f n✝ > 0"))
    assert "rename_i n ih" in _tactics(st)


def test_witnesses_from_the_numeric_checker() -> None:
    pytest.importorskip("prover.numeric")
    ts = _tactics(_state("∃ n, n * 3 = 21"), 4)
    assert ts[0] == "exists 7" and "refine ⟨7, ?_⟩" in ts
    assert "exists (-3)" in _tactics(_state("∃ x, x + 5 = 2"))
    # A function the checker cannot evaluate: no witness, no exception.
    assert "exists 0" in _tactics(_state("∃ m, f m ≤ 0", ("f", "Nat → Nat"), ("h", "∃ n, f n = 0")))


def test_for_snippet_reads_the_header() -> None:
    p = BuiltinPolicy.for_snippet("def f : Nat → Nat\n  | 0 => 1\n  | n + 1 => 2 * f n\n"
                                  "theorem f_pos (n : Nat) : f n > 0 := by\n  simp\n"
                                  "theorem t (n : Nat) : f n ≥ 1")
    assert p.definitions == ("f",) and p.lemmas == ("f_pos",)


def test_goal_size_value() -> None:
    v = GoalSizeValue()
    small = v.score(_state("a = a", ("a", "Nat")))
    big = v.score(_state("a + b + c + d + e = e + d + c + b + a", ("a", "Nat")))
    two = ProofState(1, _state("a = a").goals * 2)
    assert 0 < big < small <= 1 and v.score(two) < v.score(_state("a = a"))
    assert ConstantValue(0.3).score(two) == 0.3
