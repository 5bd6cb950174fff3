"""Behaviour of the numeric checker: verdicts, witnesses, hooks, CLI, Lean confirmation."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass

import pytest

from prover.lean import LeanServer
from prover.numeric import (
    CheckConfig,
    LeanStatus,
    NumericChecker,
    Verdict,
    cli,
    filter_candidates,
    find_witnesses,
    goal_is_dead,
)

CHECKER = NumericChecker()


def verdict(text: str) -> Verdict:
    return CHECKER.check_statement(text).verdict


def test_seed_example_area_under_parabola() -> None:
    # ∫₀⁵ (x² + 2) dx = 125/3 + 10 = 155/3
    assert verdict("∫ x in (0 : ℝ)..5, x ^ 2 + 2 = 155 / 3") is Verdict.SURVIVED
    for wrong in ("47.5", "41.67"):
        r = CHECKER.check_statement(f"∫ x in (0 : ℝ)..5, x ^ 2 + 2 = {wrong}")
        assert r.verdict is Verdict.REFUTED
        assert r.counterexample is not None and "integral" in r.counterexample.method


def test_integral_with_a_pole_is_not_evaluated() -> None:
    # 1/x is not integrable on [-1, 1]; Lean's value would be 0, school maths has none
    assert verdict("∫ x in (-1 : ℝ)..1, 1 / x = 5") is Verdict.UNSUPPORTED


def test_solution_sets() -> None:
    good = "theorem t (x : ℝ) (h₀ : x ^ 2 = 4) : x = 2 ∨ x = -2 := by"
    assert verdict(good) is Verdict.SURVIVED
    r = CHECKER.check_statement("theorem t (x : ℝ) (h₀ : x ^ 2 = 4) : x = 2 := by")
    assert r.verdict is Verdict.REFUTED
    assert r.counterexample is not None and dict(r.counterexample.assignment) == {"x": "-2"}


def test_irrational_witness_from_solving() -> None:
    assert verdict("theorem s (x : ℝ) (h : x + 1 = Real.sqrt 2) : x ^ 2 + 2 * x = 1") is Verdict.SURVIVED
    r = CHECKER.check_statement("theorem s (x : ℝ) (h : x + 1 = Real.sqrt 2) : x ^ 2 + 2 * x = 2")
    assert r.verdict is Verdict.REFUTED
    assert r.counterexample is not None and "sqrt(2)" in dict(r.counterexample.assignment)["x"]


def test_constrained_integer_problem() -> None:
    head = "theorem amc (x y : ℤ) (h₀ : 0 < y) (h₁ : y < x) (h₂ : x + y + x * y = 80) :"
    assert verdict(head + " x = 26 := by") is Verdict.SURVIVED
    assert verdict(head + " x = 25 := by") is Verdict.REFUTED


def test_functions_defined_by_hypotheses() -> None:
    base = "theorem f1 (f : ℝ → ℝ) (h : ∀ x, f x = 2 * x + 3) : f 2 = "
    assert verdict(base + "7") is Verdict.SURVIVED
    assert verdict(base + "8") is Verdict.REFUTED
    # a guarded definition only determines q away from 0
    t = "theorem m (p q : ℝ → ℝ) (h₀ : ∀ x, p x = 2 - x ^ 2) (h₁ : ∀ x : ℝ, x ≠ 0 → q x = 6 / x) : p (q 2) = "
    assert verdict(t + "-7") is Verdict.SURVIVED
    assert verdict(t + "7") is Verdict.REFUTED
    assert (
        verdict("theorem m (q : ℝ → ℝ) (h₁ : ∀ x : ℝ, x ≠ 0 → q x = 6 / x) : q 0 = 5") is Verdict.UNSUPPORTED
    )


def test_sums_and_ranges() -> None:
    assert verdict("theorem g (n : ℕ) : ∑ i in Finset.range n, i = n * (n - 1) / 2") is Verdict.SURVIVED
    assert verdict("theorem g (n : ℕ) : ∑ i in Finset.range n, i = n * (n + 1) / 2") is Verdict.REFUTED
    assert verdict("theorem g (n : ℕ) : ∑ i ∈ Finset.Icc 1 n, i = n * (n + 1) / 2") is Verdict.SURVIVED
    # the body of ∑ binds tighter than +: this is (∑ i) + 1
    assert verdict("∑ i in Finset.range 4, i + 1 = 7") is Verdict.SURVIVED


def test_bounded_quantifiers() -> None:
    assert verdict("∀ n ∈ Finset.range 10, n ^ 2 < 100") is Verdict.SURVIVED
    assert verdict("∀ n ∈ Finset.range 11, n ^ 2 < 100") is Verdict.REFUTED
    assert verdict("∃ n ∈ Finset.Icc 1 20, n ^ 2 = 144") is Verdict.SURVIVED
    assert verdict("∃ n ∈ Finset.Icc 1 10, n ^ 2 = 144") is Verdict.REFUTED


def test_unbounded_exists_is_never_refuted() -> None:
    # no witness among the samples must not count as "no witness exists"
    assert verdict("∃ n : ℕ, n * n = 1000000") is not Verdict.REFUTED
    assert verdict("∃ n : ℕ, n * n = 49") is Verdict.SURVIVED


def test_vacuous_and_unsupported() -> None:
    assert verdict("theorem v (x : ℕ) (h : x + 1 = 0) : x = 5") is Verdict.VACUOUS
    r = CHECKER.check_statement("theorem u (G : Type) [Group G] (a : G) : a * a⁻¹ = 1")
    assert r.verdict is Verdict.UNSUPPORTED and r.reason
    assert verdict("theorem u (x : ℝ) : Real.cosh x ≥ 1") is Verdict.UNSUPPORTED
    assert verdict("theorem p (x : ℝ) : x +") is Verdict.UNSUPPORTED


def test_transcendental_comparisons_use_intervals() -> None:
    assert verdict("Real.pi > 3.14 ∧ Real.pi < 3.1416") is Verdict.SURVIVED
    r = CHECKER.check_statement("Real.exp 1 < 2.7")
    assert r.verdict is Verdict.REFUTED
    assert r.counterexample is not None and "interval" in r.counterexample.method
    # equality of two different-looking transcendental numbers cannot be decided: never refuted
    assert verdict("Real.log 8 = 3 * Real.log 2") is not Verdict.REFUTED


def test_goal_mode_and_ambiguous_readings() -> None:
    hyps = [("x", "ℝ"), ("h₀", "x ^ 2 = 4")]
    assert CHECKER.check_goal(hyps, "x = 2 ∨ x = -2").verdict is Verdict.SURVIVED
    assert CHECKER.check_goal(hyps, "x = 2").verdict is Verdict.REFUTED
    assert goal_is_dead(CHECKER, [("x", "ℕ"), ("h", "x + 3 = 5")], "x = 3")
    assert not goal_is_dead(CHECKER, [("x", "ℕ"), ("h", "x + 3 = 5")], "x = 2")
    # a pretty-printed goal hides the type of `↑n / 2`: ℤ says 1, ℝ says 3/2, so no refutation
    r = CHECKER.check_goal([("n", "ℕ"), ("h", "n = 3")], "↑n / 2 = 1")
    assert r.verdict is not Verdict.REFUTED and r.readings >= 2
    assert CHECKER.check_goal_text("x : ℕ\nh : x = 3\n⊢ x + 1 = 5").verdict is Verdict.REFUTED


def test_find_witnesses() -> None:
    ws = find_witnesses([], "∃ n : ℕ, n * n = 49")
    assert [w.value for w in ws] == ["7"]
    ws = find_witnesses([("x", "ℝ"), ("h", "x = 3")], "∃ y, y + x = 5")
    # `h` pins x, so 2 is a witness whatever the context (context-free) — with z3; the sampler
    # alone finds it at x = 3 only
    from prover.numeric.smt import HAVE_Z3 as pinned

    want = () if pinned else (("x", "3"),)
    assert ws and ws[0].value == "2" and ws[0].context == want
    loose = find_witnesses([("x", "ℝ"), ("h", "x > 3")], "∃ y, y + x = 5")
    assert loose and all(w.context for w in loose)  # x is not pinned: no context-free witness
    assert find_witnesses([], "1 = 1") == []


def test_filter_candidates() -> None:
    out = filter_candidates(CHECKER, ["(2 : ℤ) + 2 = 4", "(2 : ℤ) + 2 = 5"])
    assert [c.keep for c in out] == [True, False]


@dataclass
class _FakeResult:
    ok: bool


class _FakeLean:
    def __init__(self, ok: bool) -> None:
        self.ok = ok
        self.sent: list[str] = []

    def check(self, code: str) -> _FakeResult:
        self.sent.append(code)
        return _FakeResult(self.ok)


def test_lean_confirmation_protocol() -> None:
    text = "theorem t (a b : ℕ) (h : a + b = 10) (h2 : a - b = 2) : a = 7"
    r = NumericChecker().check_statement(text)
    assert r.counterexample is not None and r.counterexample.lean is LeanStatus.NO_LEAN
    fake = _FakeLean(ok=True)
    r = NumericChecker(lean=fake).check_statement(text)
    assert r.counterexample is not None and r.counterexample.lean is LeanStatus.CONFIRMED
    assert fake.sent == [r.counterexample.lean_code]
    assert fake.sent[0].startswith("example : ¬ (") and fake.sent[0].endswith(":= by decide")
    r = NumericChecker(lean=_FakeLean(ok=False)).check_statement(text)
    assert r.counterexample is not None and r.counterexample.lean is LeanStatus.REJECTED
    r = NumericChecker(lean=_FakeLean(ok=True)).check_statement("(1 : ℝ) / 0 = 1")
    assert r.counterexample is not None and r.counterexample.lean is LeanStatus.NOT_CORE


def test_lean_instance_writes_out_sums_and_unfolds_functions() -> None:
    fake = _FakeLean(ok=True)
    checker = NumericChecker(lean=fake)
    r = checker.check_statement("theorem p : (∏ k in Finset.range 3, 2 * k + 1) % 10 = 5")
    assert r.counterexample is not None and r.counterexample.lean is LeanStatus.CONFIRMED
    assert "((2 : Nat) * (0 : Nat)) * ((2 : Nat) * (1 : Nat)) * ((2 : Nat) * (2 : Nat))" in fake.sent[-1]
    r = checker.check_statement("theorem f (f : ℕ → ℕ) (h : ∀ x, f x = x + 1) : f 2 = 4")
    assert r.counterexample is not None and r.counterexample.lean_code is not None
    assert (
        "((2 : Nat) + (1 : Nat))" in r.counterexample.lean_code and "f" not in r.counterexample.lean_code[8:]
    )


def test_counterexamples_confirmed_by_real_lean(lean_server: LeanServer) -> None:
    server = lean_server
    checker = NumericChecker(lean=server)
    for text in [
        "theorem t (a b : ℕ) (h : a + b = 10) (h2 : a - b = 2) : a = 7",
        "((2 : ℤ) - 5 = 0)",
        "(-7 : ℤ) / 2 = -3",
        "theorem d (n : ℕ) (h : n < 20) (h2 : 6 ∣ n) : n % 4 = 0",
        "theorem x (x y : ℤ) (h₀ : 0 < y) (h₁ : y < x) (h₂ : x + y + x * y = 80) : x = 25",
        "theorem mathd_numbertheory_343 : (∏ k in Finset.range 6, 2 * k + 1) % 10 = 5",
        "theorem induction_sum_odd (n : ℕ) : (∑ k in Finset.range n, 2 * k) + 1 = n ^ 2",
    ]:
        r = checker.check_statement(text)
        assert r.verdict is Verdict.REFUTED, text
        assert r.counterexample is not None and r.counterexample.lean is LeanStatus.CONFIRMED, (text, r)


def test_cli_without_lean(capsys: pytest.CaptureFixture[str]) -> None:
    # Without a Lean server the surface checker runs alone: its refutation is not confirmed
    # (exit 4, not 1). `prover check` with Lean: tests/test_numeric_verdict.py.
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    assert cli.run(parser.parse_args(["--json", "(2 : ℤ) - 5 = 0"])) == 4
    out = json.loads(capsys.readouterr().out)
    assert out["verdict"] == "refuted_unconfirmed" and out["lean"] == "not_asked"
    assert out["counterexample"]["method"] == "exact rational arithmetic"
    assert cli.run(parser.parse_args(["2 - 5 = 0"])) == 0
    assert capsys.readouterr().out.startswith("survived")


def test_config_limits_are_respected() -> None:
    checker = NumericChecker(CheckConfig(max_assignments=5, max_satisfying=3))
    r = checker.check_statement("theorem t (a b : ℕ) : a + b = b + a")
    assert r.verdict is Verdict.SURVIVED and r.tried <= 5 and r.satisfying <= 3
