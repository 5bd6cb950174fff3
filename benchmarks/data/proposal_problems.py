"""Core-Lean problems for `benchmarks/bench_proposals.py`, written for it (issue 15).

Competition-style ℕ/ℤ problems whose proofs need what the numeric model proposes: a bound and a
bounded case split, a residue split, a product fact, products multiplied out, a witness, or
instances of a `∀` hypothesis. The first three are the issue's own examples, which the proposal
code was developed against; they are miniF2F statements (amc12a_2015_p10, numbertheory_sqmod4in01d,
mathd_algebra_69), so they are not independent of the miniF2F figures. The other thirteen were
written for this benchmark, generic, not modelled on any miniF2F statement. One is false and must
stay unproved. Categories: split, residue, product, witness, instance, false.
"""

from __future__ import annotations

from dataclasses import dataclass

PRELUDE = 'set_option autoImplicit false\nnotation "ℕ" => Nat\nnotation "ℤ" => Int\n'


@dataclass(frozen=True)
class Problem:
    name: str
    category: str
    true: bool
    statement: str

    @property
    def snippet(self) -> str:
        return PRELUDE + self.statement


PROBLEMS = (
    Problem("pair_80", "split", True,
            "theorem pair_80 (x y : ℤ) (h₀ : 0 < y) (h₁ : y < x) (h₂ : x + y + x * y = 80) : x = 26"),
    Problem("squares_mod_4", "residue", True,
            "theorem squares_mod_4 (a : ℤ) : a ^ 2 % 4 = 0 ∨ a ^ 2 % 4 = 1"),
    Problem("rows_seats", "product", True,
            "theorem rows_seats (rows seats : ℕ) (h₀ : rows * seats = 450) "
            "(h₁ : (rows + 5) * (seats - 3) = 450) : rows = 25"),
    Problem("square_49", "split", True, "theorem square_49 (n : ℕ) (h₀ : n * n = 49) : n = 7"),
    Problem("sum_product", "split", True,
            "theorem sum_product (a b : ℕ) (h₀ : a * b = 12) (h₁ : a + b = 7) (h₂ : a < b) : a = 3"),
    Problem("factor_15", "split", True,
            "theorem factor_15 (m n : ℕ) (h₀ : m * n = 15) (h₁ : 1 < m) (h₂ : m < n) : m = 3"),
    Problem("square_window", "split", True,
            "theorem square_window (x : ℕ) (h₀ : 3 ≤ x) (h₁ : x * x ≤ 20) : x = 3 ∨ x = 4"),
    Problem("cubes_mod_9", "residue", True,
            "theorem cubes_mod_9 (a : ℤ) : a ^ 3 % 9 = 0 ∨ a ^ 3 % 9 = 1 ∨ a ^ 3 % 9 = 8"),
    Problem("pronic_even", "residue", True, "theorem pronic_even (n : ℕ) : (n ^ 2 + n) % 2 = 0"),
    Problem("square_mod_5", "residue", True,
            "theorem square_mod_5 (a : ℕ) (h₀ : a % 5 = 3) : a ^ 2 % 5 = 4"),
    Problem("product_bound", "product", True,
            "theorem product_bound (x y : ℕ) (h₀ : 4 ≤ x) (h₁ : 5 ≤ y) (h₂ : x * y ≤ 20) : x + y = 9"),
    Problem("quadratic_root", "witness", True, "theorem quadratic_root : ∃ x : ℕ, x * x + 3 * x = 40"),
    Problem("recurrence_3", "instance", True,
            "theorem recurrence_3 (f : ℕ → ℕ) (h₀ : ∀ x, f (x + 1) = f x + 2) (h₁ : f 0 = 1) : f 3 = 7"),
    Problem("doubling_4", "instance", True,
            "theorem doubling_4 (g : ℕ → ℕ) (h₀ : g 1 = 2) (h₁ : ∀ n, g (n + 1) = 2 * g n) : g 4 = 16"),
    Problem("affine_values", "instance", True,
            "theorem affine_values (f : ℤ → ℤ) (h₀ : ∀ x, f x = 3 * x - 2) : f 4 + f (-1) = 5"),
    Problem("square_30_false", "false", False,
            "theorem square_30_false (n : ℕ) (h₀ : n * n ≤ 30) : n ≤ 4"),
)
