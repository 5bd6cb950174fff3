"""Lean-semantics corner cases of the numeric checker, cross-checked against the real Lean."""

from __future__ import annotations

import pytest

from prover.lean import LeanServer
from prover.numeric import NumericChecker, Verdict
from prover.numeric import lean_semantics as L
from prover.numeric.checker import evaluate_closed_term

# (core Lean term, value Lean's #eval prints); each is also checked against the real Lean below
CORE_CASES = [
    ("(2 - 5 : Nat)", 0),
    ("(10 - 3 - 9 : Nat)", 0),
    ("(-7 : Int) / 2", -4),
    ("(-7 : Int) % 2", 1),
    ("(7 : Int) / (-2)", -3),
    ("(7 : Int) % (-2)", 1),
    ("(-7 : Int) / (-2)", 4),
    ("(-7 : Int) % (-2)", 1),
    ("(-8 : Int) / 3", -3),
    ("(7 : Nat) / 2", 3),
    ("(5 : Nat) / 0", 0),
    ("(5 : Nat) % 0", 5),
    ("(-5 : Int) / 0", 0),
    ("(-5 : Int) % 0", -5),
    ("((3 : Nat) - 5 : Int)", -2),
    ("(((3 : Nat) - 5 : Nat) : Int)", 0),
    ("(2 : Nat) ^ 10", 1024),
    ("Nat.gcd 12 18", 6),
    ("Nat.lcm 4 6", 12),
    ("min (3 : Int) (-2)", -2),
    ("Int.natAbs (-5)", 5),
    ("Int.toNat (-3)", 0),
    ("(2 - 5 + 4 : Nat)", 4),
    ("(100 : Nat) / 7 * 7 + 100 % 7", 100),
]


@pytest.mark.parametrize(("term", "expected"), CORE_CASES)
def test_core_values(term: str, expected: int) -> None:
    assert evaluate_closed_term(term) == expected


def test_core_values_agree_with_real_lean(lean_server: LeanServer) -> None:
    server = lean_server
    for term, _ in CORE_CASES:
        result = server.check(f"#eval {term}")
        assert result.ok, (term, result.messages)
        infos = [m.text.strip() for m in result.messages if m.severity.value == "info"]
        assert infos == [str(evaluate_closed_term(term))], term


def test_semantics_helpers() -> None:
    assert L.nat_sub(2, 5) == 0
    assert L.int_ediv(-7, 2) == -4 and L.int_emod(-7, 2) == 1
    assert L.int_ediv(7, -2) == -3 and L.int_emod(7, -2) == 1
    assert L.int_ediv(5, 0) == 0 and L.int_emod(5, 0) == 5
    assert L.int_tdiv(-7, 2) == -3 and L.int_fdiv(7, -2) == -4
    for a in range(-20, 21):
        for b in range(-6, 7):
            q, r = L.int_ediv(a, b), L.int_emod(a, b)
            assert a == b * q + r
            if b != 0:
                assert 0 <= r < abs(b)


CHECKER = NumericChecker()


@pytest.mark.parametrize(
    ("statement", "verdict"),
    [
        ("(2 - 5 = 0)", Verdict.SURVIVED),  # unannotated numerals are ℕ
        ("((2 : ℤ) - 5 = 0)", Verdict.REFUTED),
        ("((2 - 5 : ℤ) = -3)", Verdict.SURVIVED),
        ("((2 - 5 : ℕ) = 0)", Verdict.SURVIVED),
        ("(-7 : ℤ) / 2 = -4", Verdict.SURVIVED),
        ("(-7 : ℤ) / 2 = -3", Verdict.REFUTED),  # T-division would say -3
        ("(-7 : ℤ) % 2 = 1", Verdict.SURVIVED),
        ("(-7 : ℤ) % 2 = -1", Verdict.REFUTED),
        ("(7 : ℤ) / (-2) = -3", Verdict.SURVIVED),
        ("(7 : ℤ) / (-2) = -4", Verdict.REFUTED),  # floor division would say -4
        ("(1 : ℝ) / 0 = 0", Verdict.SURVIVED),  # Lean: x / 0 = 0 in a field
        ("(1 : ℝ) / 0 = 1", Verdict.REFUTED),
        ("(0 : ℚ)⁻¹ = 0", Verdict.SURVIVED),
        ("Real.sqrt (-4) = 0", Verdict.SURVIVED),
        ("Real.sqrt 4 = 2", Verdict.SURVIVED),
        ("√2 * √2 = 2", Verdict.SURVIVED),
        ("√2 < 1.414", Verdict.REFUTED),
        ("(7 : ℕ) / 2 = 3", Verdict.SURVIVED),
        ("(7 : ℝ) / 2 = 3", Verdict.REFUTED),
        ("(5 : ℕ) % 0 = 5", Verdict.SURVIVED),
        ("(x : ℝ) ^ (1 / 3) = 1", Verdict.UNSUPPORTED),  # free x in a bare proposition
        ("∀ x : ℝ, x ^ (1 / 3) = 1", Verdict.SURVIVED),  # 1/3 : ℕ is 0, so x ^ 0 = 1
        ("∀ x : ℝ, x ^ ((1 : ℝ) / 3) = 1", Verdict.REFUTED),
        ("(8 : ℝ) ^ ((1 : ℝ) / 3) = 2", Verdict.SURVIVED),
        ("Real.log 0 = 0", Verdict.SURVIVED),
        ("Nat.factorial 5 = 120 ∧ 5 ! = 120", Verdict.SURVIVED),
        ("Nat.choose 5 7 = 0", Verdict.SURVIVED),
        ("∀ n : ℕ, (n : ℤ) - 1 < n", Verdict.SURVIVED),
        ("∀ n : ℕ, n - 1 < n", Verdict.REFUTED),  # 0 - 1 = 0 in ℕ
        ("∀ n : ℕ, ((n - 1 : ℕ) : ℤ) = n - 1", Verdict.REFUTED),
        ("∀ n : ℕ, (n - 1 : ℤ) = n - 1", Verdict.SURVIVED),  # coercion goes to the leaves
        ("⌊(7 : ℝ) / 2⌋ = 3 ∧ ⌈(7 : ℝ) / 2⌉ = 4 ∧ ⌊-√2⌋ = -2", Verdict.SURVIVED),
        ("|(-3 : ℤ)| = 3", Verdict.SURVIVED),
        ("(12 : ℕ) ∣ 36 ∧ ¬ (5 : ℤ) ∣ 12 ∧ (0 : ℕ) ∣ 0", Verdict.SURVIVED),
        ("(0 : ℕ) ∣ 5", Verdict.REFUTED),
        ("38 ≡ 3 [MOD 7]", Verdict.SURVIVED),
        ("(-1 : ℤ) ≡ 6 [ZMOD 7]", Verdict.SURVIVED),
        ("38 ≡ 4 [MOD 7]", Verdict.REFUTED),
    ],
)
def test_lean_semantics_verdicts(statement: str, verdict: Verdict) -> None:
    result = CHECKER.check_statement(statement)
    assert result.verdict is verdict, result
