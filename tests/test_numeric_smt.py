"""The SMT solver (z3) as a source of counterexamples and ∃-witnesses (issue 11, item 4).

Every statement here is out of the sampler's reach (its values are not on the grids), so the
solver is what finds the counterexample; each one is re-checked here by plain arithmetic, and on
Lean's states confirmed by the kernel. Without z3 nothing breaks: the checker only finds less."""

from __future__ import annotations

import pytest

from prover.lean import LeanServer, ProofFinished, ProofState
from prover.lean.exprs import RefuteStatus
from prover.numeric import CheckConfig, NumericChecker, find_witnesses, smt
from prover.numeric.checker import Verdict
from prover.numeric.typed import TypedConfig, check_state
from search.policies.builtin import BuiltinPolicy

pytest.importorskip("z3", reason="z3-solver not installed: pip install -e '.[smt]'")

# (statement, a check of the counterexample by plain Python on its values)
HARD_FALSE = [
    ("theorem t (x y : ℕ) (h : x * y = 391) (h2 : 1 < x) (h3 : x < y) : x = 1",
     lambda v: v["x"] * v["y"] == 391 and 1 < v["x"] < v["y"] and v["x"] != 1),
    ("theorem t (x : ℕ) (h : x % 1000 = 999) (h2 : x % 7 = 3) : x < 5000",
     lambda v: v["x"] % 1000 == 999 and v["x"] % 7 == 3 and not v["x"] < 5000),
    ("theorem t (x : ℤ) (h : x % 1000 = 7) (h2 : x < 0) : x % 7 ≠ 0",
     lambda v: v["x"] % 1000 == 7 and v["x"] < 0 and v["x"] % 7 == 0),  # Python's % is ℤ's emod here
]


@pytest.mark.parametrize(("statement", "holds"), HARD_FALSE)
def test_solver_refutes_what_sampling_misses(statement: str, holds) -> None:  # type: ignore[no-untyped-def]
    without = NumericChecker(CheckConfig(smt=False, confirm_with_lean=False)).check_statement(statement)
    assert without.verdict is not Verdict.REFUTED  # the sampler alone does not get there
    r = NumericChecker(CheckConfig(confirm_with_lean=False)).check_statement(statement)
    assert r.verdict is Verdict.REFUTED, r
    assert r.counterexample is not None
    values = {k: int(v) for k, v in r.counterexample.assignment}
    assert holds(values)


def test_true_statements_stay_unrefuted_with_the_solver() -> None:
    for st in ("theorem t (x y : ℕ) (h : x * y = 391) (h2 : 1 < x) (h3 : x < y) : x = 17",
               "theorem t (x : ℤ) (h : x ^ 2 = 123201) : x = 351 ∨ x = -351",
               "theorem t (a b : ℕ) (h : a - b = 700) (h2 : a + b = 1300) : a = 1000"):
        assert NumericChecker().check_statement(st).verdict is not Verdict.REFUTED


def test_without_z3_the_checker_degrades(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(smt, "HAVE_Z3", False)
    r = NumericChecker(CheckConfig(confirm_with_lean=False)).check_statement(HARD_FALSE[0][0])
    assert r.verdict is not Verdict.REFUTED
    assert find_witnesses([], "∃ x y : ℕ, x + y = 1000 ∧ x - y = 200") == []


def test_witnesses_pinned_by_the_hypotheses() -> None:
    hyps = [("x", "ℕ"), ("y", "ℕ"), ("h", "x + y = 10 ∧ x - y = 2")]
    ws = find_witnesses(hyps, "∃ k : ℕ, k = x * y")
    assert ws and ws[0].value == "24" and ws[0].context == ()  # x = 6, y = 4 are forced
    # Not pinned: the witness holds for particular values only, and says so.
    loose = find_witnesses([("x", "ℕ"), ("h", "x < 5")], "∃ k : ℕ, k = x * 1000 + 7")
    assert all(w.context for w in loose)
    # Far from the sampled values, nested ∃: the model's value is checked exactly.
    (far, *_) = find_witnesses([], "∃ x y : ℕ, x + y = 1000 ∧ x - y = 200")
    assert far.value == "600" and far.context == ()


# ------------------------------------------------------------------------------- real Lean


def _open(lean: LeanServer, snippet: str) -> ProofState:
    st = lean.open_proof(snippet)
    assert isinstance(st, ProofState), st
    return st


@pytest.mark.parametrize("statement", [
    "(x y : Nat) (h : x * y = 391) (h2 : 1 < x) (h3 : x < y) : x = 1",
    "(x : Int) (h : x * x = 123201) : x ≥ 0",
    "(x : Nat) (h : x % 1000 = 999) (h2 : x % 7 = 3) : x < 5000",
])
def test_typed_path_solver_models_are_confirmed_by_the_kernel(lean_server: LeanServer,
                                                             statement: str) -> None:
    st = _open(lean_server, f"theorem t {statement}")
    try:
        (alone,) = check_state(lean_server, st, TypedConfig(smt=False))
        assert alone.verdict is not Verdict.REFUTED
        (check,) = check_state(lean_server, st)
    finally:
        lean_server.forget([st])
    assert check.verdict is Verdict.REFUTED, check
    assert check.by_smt and check.lean is RefuteStatus.CONFIRMED


def test_typed_path_true_goal_with_solver(lean_server: LeanServer) -> None:
    st = _open(lean_server, "theorem t (x y : Nat) (h : x * y = 391) (h2 : 1 < x) (h3 : x < y) : x = 17")
    try:
        (check,) = check_state(lean_server, st)
    finally:
        lean_server.forget([st])
    assert check.verdict is not Verdict.REFUTED


def test_prior_proposes_the_pinned_witness_and_lean_accepts_it(lean_server: LeanServer) -> None:
    st = _open(lean_server, "theorem t (x y : Nat) (h : x + y = 10 ∧ x - y = 2) : ∃ k, k = x * y")
    try:
        tactics = [c.tactic for c in BuiltinPolicy().propose(st, 12)]
        assert "exists 24" in tactics
        after = lean_server.run_tactic(st, "exists 24")
        assert isinstance(after, ProofState)
        # Lean: 24 is the witness (x = 6 and y = 4 follow from `h`, then the product is 24).
        done = lean_server.run_tactic(after, "rw [show x = 6 by omega, show y = 4 by omega]")
        assert isinstance(done, ProofFinished), done
    finally:
        lean_server.forget([st])
