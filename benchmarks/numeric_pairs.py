# ruff: noqa: E501  (each Lean statement stays on one line so that pairs read side by side)
"""True/false statement pairs for the numeric checker benchmark.

Each pair is a true statement in the style of competition algebra and number theory and a
minimally perturbed false version (a constant changed, ``≤`` vs ``<``, a missing case, an
off-by-one range).  Hand-written pairs come first; the families after them are generated
from closed forms computed here with Python integers and fractions (never with the checker
or sympy), so the data does not depend on the code under test.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction


@dataclass(frozen=True, slots=True)
class Pair:
    category: str
    true: str
    false: str
    perturbation: str


def _q(f: Fraction) -> str:
    """A rational constant in Lean syntax (parenthesised when negative or fractional)."""
    s = str(f.numerator) if f.denominator == 1 else f"{abs(f.numerator)} / {f.denominator}"
    if f.denominator != 1:
        s = f"({s})" if f >= 0 else f"(-({s}))"
    elif f < 0:
        s = f"({s})"
    return s


_HAND: list[tuple[str, str, str, str]] = [
    # equations and their solution sets
    (
        "equation",
        "theorem e1 (x : ℝ) (h : 2 * x + 3 = 11) : x = 4",
        "theorem e1 (x : ℝ) (h : 2 * x + 3 = 11) : x = 5",
        "constant",
    ),
    (
        "equation",
        "theorem e2 (x : ℝ) (h₀ : x ^ 2 - 5 * x + 6 = 0) : x = 2 ∨ x = 3",
        "theorem e2 (x : ℝ) (h₀ : x ^ 2 - 5 * x + 6 = 0) : x = 2",
        "missing case",
    ),
    (
        "equation",
        "theorem e3 (x : ℝ) (h₀ : x ^ 2 = 4) : x = 2 ∨ x = -2",
        "theorem e3 (x : ℝ) (h₀ : x ^ 2 = 4) : x = 2",
        "missing case",
    ),
    (
        "equation",
        "theorem e4 (x : ℝ) (h₀ : x ^ 2 = 2) : x = Real.sqrt 2 ∨ x = -Real.sqrt 2",
        "theorem e4 (x : ℝ) (h₀ : x ^ 2 = 2) : x = Real.sqrt 2",
        "missing case",
    ),
    (
        "equation",
        "theorem e5 (x y : ℝ) (h₀ : x + y = 10) (h₁ : x - y = 2) : x = 6 ∧ y = 4",
        "theorem e5 (x y : ℝ) (h₀ : x + y = 10) (h₁ : x - y = 2) : x = 6 ∧ y = 3",
        "constant",
    ),
    (
        "equation",
        "theorem e6 (x y : ℤ) (h₀ : 0 < y) (h₁ : y < x) (h₂ : x + y + x * y = 80) : x = 26",
        "theorem e6 (x y : ℤ) (h₀ : 0 < y) (h₁ : y < x) (h₂ : x + y + x * y = 80) : x = 24",
        "constant",
    ),
    (
        "equation",
        "theorem e7 (x : ℝ) (h₀ : x ≠ 0) (h₁ : 3 / x = 6) : x = 1 / 2",
        "theorem e7 (x : ℝ) (h₀ : x ≠ 0) (h₁ : 3 / x = 6) : x = 2",
        "constant",
    ),
    (
        "equation",
        "theorem e8 (x : ℝ) (h₀ : x ^ 3 = 27) : x = 3",
        "theorem e8 (x : ℝ) (h₀ : x ^ 3 = 27) : x = -3",
        "sign",
    ),
    (
        "equation",
        "theorem e9 (a : ℝ) (h : Real.sqrt (a + 1) = 3) (ha : 0 ≤ a + 1) : a = 8",
        "theorem e9 (a : ℝ) (h : Real.sqrt (a + 1) = 3) (ha : 0 ≤ a + 1) : a = 2",
        "constant",
    ),
    (
        "equation",
        "theorem e10 (x : ℝ) (h : |x - 3| = 5) : x = 8 ∨ x = -2",
        "theorem e10 (x : ℝ) (h : |x - 3| = 5) : x = 8 ∨ x = 2",
        "constant",
    ),
    (
        "equation",
        "theorem e11 (n : ℕ) (h₀ : n % 5 = 3) : 2 * n % 5 = 1",
        "theorem e11 (n : ℕ) (h₀ : n % 5 = 3) : 2 * n % 5 = 2",
        "constant",
    ),
    (
        "equation",
        "theorem e12 (x : ℝ) (h : x * (x - 4) = 0) : x = 0 ∨ x = 4",
        "theorem e12 (x : ℝ) (h : x * (x - 4) = 0) : x = 4",
        "missing case",
    ),
    (
        "equation",
        "theorem e13 (a b : ℝ) (h₀ : a * b = 6) (h₁ : a + b = 5) : a ^ 2 + b ^ 2 = 13",
        "theorem e13 (a b : ℝ) (h₀ : a * b = 6) (h₁ : a + b = 5) : a ^ 2 + b ^ 2 = 12",
        "constant",
    ),
    (
        "equation",
        "theorem e14 (x : ℝ) (h : 3 * x - 7 = 2 * x + 5) : x = 12",
        "theorem e14 (x : ℝ) (h : 3 * x - 7 = 2 * x + 5) : x = -12",
        "sign",
    ),
    (
        "equation",
        "theorem e15 (x : ℕ) (h : x + 7 = 3) : x = 100",
        "theorem e15 (x : ℕ) (h : x + 3 = 7) : x = 5",
        "constant",
    ),
    # inequalities and ranges
    (
        "inequality",
        "theorem i1 (a b : ℝ) : a ^ 2 + b ^ 2 ≥ 2 * a * b",
        "theorem i1 (a b : ℝ) : a ^ 2 + b ^ 2 > 2 * a * b",
        "≤ vs <",
    ),
    (
        "inequality",
        "theorem i2 (x : ℝ) (h : 2 * x - 3 < 5) : x < 4",
        "theorem i2 (x : ℝ) (h : 2 * x - 3 < 5) : x < 3",
        "constant",
    ),
    (
        "inequality",
        "theorem i3 (x : ℝ) (h : |x - 1| < 2) : -1 < x ∧ x < 3",
        "theorem i3 (x : ℝ) (h : |x - 1| < 2) : -1 < x ∧ x < 2",
        "constant",
    ),
    (
        "inequality",
        "theorem i4 (x : ℝ) (h : x ^ 2 < 4) : -2 < x",
        "theorem i4 (x : ℝ) (h : x ^ 2 < 4) : -1 < x",
        "constant",
    ),
    (
        "inequality",
        "theorem i5 (x : ℝ) (h : 0 < x) : x + 1 / x ≥ 2",
        "theorem i5 (x : ℝ) (h : 0 < x) : x + 1 / x > 2",
        "≤ vs <",
    ),
    ("inequality", "theorem i6 (a : ℝ) : a * (2 - a) ≤ 1", "theorem i6 (a : ℝ) : a * (2 - a) < 1", "≤ vs <"),
    (
        "inequality",
        "theorem i7 (n : ℕ) (h : 3 ≤ n) : 2 * n + 1 < 2 ^ n",
        "theorem i7 (n : ℕ) (h : 2 ≤ n) : 2 * n + 1 < 2 ^ n",
        "off-by-one range",
    ),
    (
        "inequality",
        "theorem i8 (n : ℕ) (h : 1 ≤ n) : n ! ≤ n ^ n",
        "theorem i8 (n : ℕ) (h : 1 ≤ n) : n ! < n ^ n",
        "≤ vs <",
    ),
    (
        "inequality",
        "theorem i9 (x y : ℝ) (hx : 0 < x) (hy : 0 < y) : (x + y) / 2 ≥ Real.sqrt (x * y)",
        "theorem i9 (x y : ℝ) (hx : 0 < x) (hy : 0 < y) : (x + y) / 2 > Real.sqrt (x * y)",
        "≤ vs <",
    ),
    (
        "inequality",
        "theorem i10 (x : ℝ) (h₀ : 1 < x) (h₁ : x < 3) : (x - 1) * (x - 3) < 0",
        "theorem i10 (x : ℝ) (h₀ : 1 ≤ x) (h₁ : x < 3) : (x - 1) * (x - 3) < 0",
        "≤ vs <",
    ),
    (
        "inequality",
        "theorem i11 (a b c : ℝ) : a * b + b * c + c * a ≤ a ^ 2 + b ^ 2 + c ^ 2",
        "theorem i11 (a b c : ℝ) : a * b + b * c + c * a < a ^ 2 + b ^ 2 + c ^ 2",
        "≤ vs <",
    ),
    (
        "inequality",
        "theorem i12 (n : ℕ) (h : 5 ≤ n) : n ^ 2 < 2 ^ n",
        "theorem i12 (n : ℕ) (h : 4 ≤ n) : n ^ 2 < 2 ^ n",
        "off-by-one range",
    ),
    (
        "inequality",
        "theorem i13 (x : ℝ) (h : 0 ≤ x) : Real.sqrt x ≤ (x + 1) / 2",
        "theorem i13 (x : ℝ) (h : 0 ≤ x) : Real.sqrt x < (x + 1) / 2",
        "≤ vs <",
    ),
    (
        "inequality",
        "theorem i14 (x : ℝ) : x ^ 2 - 6 * x + 10 > 0",
        "theorem i14 (x : ℝ) : x ^ 2 - 6 * x + 9 > 0",
        "constant",
    ),
    (
        "inequality",
        "theorem i15 (x : ℤ) (h₀ : 3 < x) (h₁ : x < 6) : x = 4 ∨ x = 5",
        "theorem i15 (x : ℤ) (h₀ : 3 ≤ x) (h₁ : x < 6) : x = 4 ∨ x = 5",
        "≤ vs <",
    ),
    # number theory
    (
        "number theory",
        "theorem n1 (n : ℕ) : 6 ∣ n * (n + 1) * (n + 2)",
        "theorem n1 (n : ℕ) : 12 ∣ n * (n + 1) * (n + 2)",
        "constant",
    ),
    ("number theory", "theorem n2 (n : ℕ) : 5 ∣ n ^ 5 - n", "theorem n2 (n : ℕ) : 5 ∣ n ^ 4 - n", "constant"),
    (
        "number theory",
        "theorem n3 (n : ℤ) : n ^ 2 % 4 = 0 ∨ n ^ 2 % 4 = 1",
        "theorem n3 (n : ℤ) : n ^ 2 % 4 = 0 ∨ n ^ 2 % 4 = 2",
        "constant",
    ),
    ("number theory", "theorem n4 : Nat.gcd 180 168 = 12", "theorem n4 : Nat.gcd 180 168 = 6", "constant"),
    ("number theory", "theorem n5 : Nat.lcm 12 18 = 36", "theorem n5 : Nat.lcm 12 18 = 216", "constant"),
    (
        "number theory",
        "theorem n6 : (29 ^ 13 - 5 ^ 13) % 7 = 3",
        "theorem n6 : (29 ^ 13 - 5 ^ 13) % 7 = 4",
        "constant",
    ),
    (
        "number theory",
        "theorem n7 (p : ℕ) (h₀ : Nat.Prime p) (h₁ : 2 < p) : p % 2 = 1",
        "theorem n7 (p : ℕ) (h₀ : Nat.Prime p) (h₁ : 1 < p) : p % 2 = 1",
        "off-by-one range",
    ),
    (
        "number theory",
        "theorem n8 (a b : ℕ) (h₀ : Nat.gcd a b = 6) (h₁ : Nat.lcm a b = 36) (h₂ : a = 12) : b = 18",
        "theorem n8 (a b : ℕ) (h₀ : Nat.gcd a b = 6) (h₁ : Nat.lcm a b = 36) (h₂ : a = 12) : b = 24",
        "constant",
    ),
    (
        "number theory",
        "theorem n9 : (Finset.filter (fun n => n % 3 = 0) (Finset.range 30)).card = 10",
        "theorem n9 : (Finset.filter (fun n => n % 3 = 0) (Finset.range 30)).card = 9",
        "off-by-one",
    ),
    (
        "number theory",
        "theorem n10 : ∃ n ∈ Finset.range 50, n % 7 = 3 ∧ n % 5 = 2",
        "theorem n10 : ∃ n ∈ Finset.range 15, n % 7 = 3 ∧ n % 5 = 2",
        "range",
    ),
    (
        "number theory",
        "theorem n11 : ∀ p ∈ Finset.range 50, Nat.Prime p → p % 2 = 1 ∨ p = 2",
        "theorem n11 : ∀ p ∈ Finset.range 50, Nat.Prime p → p % 2 = 1",
        "missing case",
    ),
    (
        "number theory",
        "theorem n12 : (Nat.digits 10 2024).sum = 8",
        "theorem n12 : (Nat.digits 10 2024).sum = 9",
        "constant",
    ),
    (
        "number theory",
        "theorem n13 (n : ℕ) (h₀ : n % 7 = 3) : (2 * n + 1) % 7 = 0",
        "theorem n13 (n : ℕ) (h₀ : n % 7 = 3) : (2 * n + 1) % 7 = 1",
        "constant",
    ),
    (
        "number theory",
        "theorem n14 : Nat.divisors 36 = {1, 2, 3, 4, 6, 9, 12, 18, 36}",
        "theorem n14 : Nat.divisors 36 = {1, 2, 3, 4, 6, 9, 12, 36}",
        "missing case",
    ),
    (
        "number theory",
        "theorem n15 (x : ℕ) (h : x < 100) (h₁ : x * 9 % 100 = 1) : x = 89",
        "theorem n15 (x : ℕ) (h : x < 100) (h₁ : x * 9 % 100 = 1) : x = 11",
        "constant",
    ),
    ("number theory", "theorem n16 : 2 ^ 2010 % 10 = 4", "theorem n16 : 2 ^ 2010 % 10 = 6", "constant"),
    (
        "number theory",
        "theorem n17 (n : ℕ) : 3 ∣ n ^ 3 + 2 * n",
        "theorem n17 (n : ℕ) : 3 ∣ n ^ 3 + n",
        "constant",
    ),
    (
        "number theory",
        "theorem n18 (n : ℕ) (h : 0 < n) : Nat.gcd n (n + 1) = 1",
        "theorem n18 (n : ℕ) (h : 0 < n) : Nat.gcd n (n + 2) = 1",
        "constant",
    ),
    (
        "number theory",
        "theorem n19 : 1001 ≡ 1 [MOD 1000] ∧ 1001 ≡ 0 [MOD 7]",
        "theorem n19 : 1001 ≡ 1 [MOD 1000] ∧ 1001 ≡ 1 [MOD 7]",
        "constant",
    ),
    (
        "number theory",
        "theorem n20 (a : ℤ) (h : a ≡ 3 [ZMOD 5]) : a ^ 2 ≡ 4 [ZMOD 5]",
        "theorem n20 (a : ℤ) (h : a ≡ 3 [ZMOD 5]) : a ^ 2 ≡ 9 [ZMOD 10]",
        "constant",
    ),
    (
        "number theory",
        "theorem n21 (n : ℕ) (h₀ : n < 50) (h₁ : n % 6 = 5) (h₂ : n % 7 = 3) : n = 17",
        "theorem n21 (n : ℕ) (h₀ : n < 50) (h₁ : n % 6 = 5) (h₂ : n % 7 = 3) : n = 23",
        "constant",
    ),
    (
        "equation",
        "theorem e16 (x : ℝ) (h : Real.sqrt (x + 3) = x - 3) (hx : 3 ≤ x) : x = 6",
        "theorem e16 (x : ℝ) (h : Real.sqrt (x + 3) = x - 3) (hx : 3 ≤ x) : x = 1",
        "constant",
    ),
    (
        "inequality",
        "theorem i16 (x : ℝ) (h₀ : 0 < x) (h₁ : x < Real.pi / 2) : Real.sin x < x",
        "theorem i16 (x : ℝ) (h₀ : 0 < x) (h₁ : x < Real.pi / 2) : Real.sin x < x / 2",
        "constant",
    ),
    # sums and products
    (
        "sum",
        "theorem s1 (n : ℕ) : ∑ i in Finset.range n, (2 * i + 1) = n ^ 2",
        "theorem s1 (n : ℕ) : ∑ i in Finset.range (n + 1), (2 * i + 1) = n ^ 2",
        "off-by-one range",
    ),
    (
        "sum",
        "theorem s2 (n : ℕ) : ∑ i ∈ Finset.Icc 1 n, i = n * (n + 1) / 2",
        "theorem s2 (n : ℕ) : ∑ i ∈ Finset.Icc 0 n, i = n * (n - 1) / 2",
        "off-by-one range",
    ),
    (
        "sum",
        "theorem s3 (n : ℕ) : ∑ i in Finset.range n, 2 ^ i = 2 ^ n - 1",
        "theorem s3 (n : ℕ) : ∑ i in Finset.range n, 2 ^ i = 2 ^ n",
        "constant",
    ),
    (
        "sum",
        "theorem s4 (n : ℕ) : 6 * ∑ i in Finset.range (n + 1), i ^ 2 = n * (n + 1) * (2 * n + 1)",
        "theorem s4 (n : ℕ) : 6 * ∑ i in Finset.range n, i ^ 2 = n * (n + 1) * (2 * n + 1)",
        "off-by-one range",
    ),
    (
        "sum",
        "theorem s5 (n : ℕ) : (∑ i in Finset.range (n + 1), i) ^ 2 = ∑ i in Finset.range (n + 1), i ^ 3",
        "theorem s5 (n : ℕ) : (∑ i in Finset.range (n + 1), i) ^ 2 = ∑ i in Finset.range n, i ^ 3",
        "off-by-one range",
    ),
    (
        "sum",
        "theorem s6 : ∑ k in Finset.Icc 1 100, k = 5050",
        "theorem s6 : ∑ k in Finset.Icc 1 100, k = 5150",
        "constant",
    ),
    (
        "sum",
        "theorem s7 : ∏ k in Finset.Icc 1 5, k = 120",
        "theorem s7 : ∏ k in Finset.range 5, k = 120",
        "off-by-one range",
    ),
    (
        "sum",
        "theorem s8 : ∑ k in Finset.range 10, (1 : ℚ) / ((k + 1) * (k + 2)) = 10 / 11",
        "theorem s8 : ∑ k in Finset.range 10, (1 : ℚ) / ((k + 1) * (k + 2)) = 9 / 10",
        "constant",
    ),
    (
        "sum",
        "theorem s9 (n : ℕ) : ∑ i in Finset.range n, (i : ℤ) * (-1) ^ i = if n % 2 = 0 then -(n : ℤ) / 2 else ((n : ℤ) - 1) / 2",
        "theorem s9 (n : ℕ) : ∑ i in Finset.range n, (i : ℤ) * (-1) ^ i = if n % 2 = 0 then -(n : ℤ) / 2 else ((n : ℤ) + 1) / 2",
        "constant",
    ),
    (
        "sum",
        "theorem s10 : ∑ k in Finset.range 101, k % 3 = 100",
        "theorem s10 : ∑ k in Finset.range 101, k % 3 = 101",
        "constant",
    ),
    # functions given by hypotheses
    (
        "function",
        "theorem f1 (f : ℝ → ℝ) (h : ∀ x, f x = 2 * x + 3) : f (f 1) = 13",
        "theorem f1 (f : ℝ → ℝ) (h : ∀ x, f x = 2 * x + 3) : f (f 1) = 11",
        "constant",
    ),
    (
        "function",
        "theorem f2 (p q : ℝ → ℝ) (h₀ : ∀ x, p x = 2 - x ^ 2) (h₁ : ∀ x : ℝ, x ≠ 0 → q x = 6 / x) : p (q 2) = -7",
        "theorem f2 (p q : ℝ → ℝ) (h₀ : ∀ x, p x = 2 - x ^ 2) (h₁ : ∀ x : ℝ, x ≠ 0 → q x = 6 / x) : p (q 2) = 7",
        "sign",
    ),
    (
        "function",
        "theorem f3 (f : ℕ → ℕ) (h : ∀ n, f n = n ^ 2 + 1) : f 3 + f 4 = 27",
        "theorem f3 (f : ℕ → ℕ) (h : ∀ n, f n = n ^ 2 + 1) : f 3 + f 4 = 25",
        "constant",
    ),
    (
        "function",
        "theorem f4 (f : ℝ → ℝ) (h : ∀ x, f x = x ^ 2 - 4 * x + 7) : ∀ x, f x ≥ 3",
        "theorem f4 (f : ℝ → ℝ) (h : ∀ x, f x = x ^ 2 - 4 * x + 7) : ∀ x, f x > 3",
        "≤ vs <",
    ),
    (
        "function",
        "theorem f5 (f : ℝ → ℝ) (h : ∀ x, f x = 3 * x - 1) (a : ℝ) (ha : f a = 8) : a = 3",
        "theorem f5 (f : ℝ → ℝ) (h : ∀ x, f x = 3 * x - 1) (a : ℝ) (ha : f a = 8) : a = 7 / 3",
        "constant",
    ),
    (
        "function",
        "theorem f6 (f : ℤ → ℤ) (h : ∀ n, f n = n / 2) : f (-3) = -2",
        "theorem f6 (f : ℤ → ℤ) (h : ∀ n, f n = n / 2) : f (-3) = -1",
        "Lean division",
    ),
    # integrals (the seed example and relatives)
    ("integral", "∫ x in (0 : ℝ)..5, x ^ 2 + 2 = 155 / 3", "∫ x in (0 : ℝ)..5, x ^ 2 + 2 = 47.5", "constant"),
    (
        "integral",
        "∫ x in (0 : ℝ)..5, x ^ 2 + 2 = 155 / 3",
        "∫ x in (0 : ℝ)..5, x ^ 2 + 2 = 41.67",
        "rounding",
    ),
    ("integral", "∫ x in (1 : ℝ)..2, 1 / x ^ 2 = 1 / 2", "∫ x in (1 : ℝ)..2, 1 / x ^ 2 = 1 / 3", "constant"),
    (
        "integral",
        "∫ x in (0 : ℝ)..1, Real.exp x = Real.exp 1 - 1",
        "∫ x in (0 : ℝ)..1, Real.exp x = Real.exp 1",
        "constant",
    ),
    (
        "integral",
        "∫ x in (0 : ℝ)..Real.pi, Real.sin x = 2",
        "∫ x in (0 : ℝ)..Real.pi, Real.sin x = 1",
        "constant",
    ),
    ("integral", "∫ x in (2 : ℝ)..0, x = -2", "∫ x in (2 : ℝ)..0, x = 2", "orientation"),
    # Lean semantics traps
    ("lean semantics", "(7 : ℕ) / 2 = 3", "(7 : ℝ) / 2 = 3", "type"),
    ("lean semantics", "(2 : ℕ) - 5 = 0", "(2 : ℤ) - 5 = 0", "type"),
    ("lean semantics", "(-7 : ℤ) / 2 = -4", "(-7 : ℤ) / 2 = -3", "Lean division"),
    ("lean semantics", "(-7 : ℤ) % 2 = 1", "(-7 : ℤ) % 2 = -1", "Lean division"),
    ("lean semantics", "(1 : ℝ) / 0 = 0", "(1 : ℝ) / 0 = 1", "division by zero"),
    ("lean semantics", "Real.sqrt (-1) = 0", "Real.sqrt (-1) = 1", "sqrt of negative"),
    (
        "lean semantics",
        "∀ x : ℝ, x ^ (1 / 2) = 1",
        "∀ x : ℝ, x ^ ((1 : ℝ) / 2) = Real.sqrt x ∧ x ^ (1 / 2) = x",
        "ℕ exponent",
    ),
    ("lean semantics", "∀ n : ℕ, n - (n + 1) = 0", "∀ n : ℤ, n - (n + 1) = 0", "type"),
]


def _linear() -> list[Pair]:
    out = []
    for i, (a, b, x0) in enumerate(
        [
            (2, 3, 4),
            (3, -5, 2),
            (5, 7, -1),
            (4, 1, 3),
            (7, -2, 5),
            (6, 6, -2),
            (9, 4, 1),
            (2, -9, 7),
            (3, 0, -4),
            (8, 3, 2),
            (11, -4, 3),
            (5, 5, 0),
            (12, 1, -3),
            (4, -13, 6),
            (10, 10, -10),
        ]
    ):
        c = a * x0 + b
        h = f"{a} * x + {b} = {c}" if b >= 0 else f"{a} * x - {-b} = {c}"
        out.append(
            Pair(
                "equation",
                f"theorem lin{i} (x : ℝ) (h : {h}) : x = {_q(Fraction(x0))}",
                f"theorem lin{i} (x : ℝ) (h : {h}) : x = {_q(Fraction(x0 + 1))}",
                "constant",
            )
        )
    return out


def _quadratic() -> list[Pair]:
    out = []
    roots = [(1, 2), (-1, 3), (2, -5), (-3, -4), (0, 7), (4, 6), (-2, 2), (5, -1), (1, -6), (3, 8)]
    for i, (r1, r2) in enumerate(roots):
        s, p = r1 + r2, r1 * r2
        poly = (
            "x ^ 2"
            + (f" - {s} * x" if s > 0 else f" + {-s} * x" if s < 0 else "")
            + (f" + {p}" if p > 0 else f" - {-p}" if p < 0 else "")
        )
        concl = f"x = {_q(Fraction(r1))} ∨ x = {_q(Fraction(r2))}"
        out.append(
            Pair(
                "equation",
                f"theorem quad{i} (x : ℝ) (h : {poly} = 0) : {concl}",
                f"theorem quad{i} (x : ℝ) (h : {poly} = 0) : x = {_q(Fraction(r1))}",
                "missing case",
            )
        )
    return out


def _divisibility() -> list[Pair]:
    out = []
    facts = [
        ("n * (n + 1)", 2, 4),
        ("n * (n + 1) * (n + 2) * (n + 3)", 24, 48),
        ("n ^ 3 - n", 6, 12),
        ("n ^ 7 - n", 7, 49),
        ("n ^ 2 * (n ^ 2 - 1)", 12, 24),
        ("4 ^ n + 2", 3, 6),
        ("n ^ 5 - n", 30, 60),
        ("10 ^ n - 1", 9, 27),
    ]
    for i, (expr, d, bad) in enumerate(facts):
        out.append(
            Pair(
                "number theory",
                f"theorem dvd{i} (n : ℕ) : {d} ∣ {expr}",
                f"theorem dvd{i} (n : ℕ) : {bad} ∣ {expr}",
                "constant",
            )
        )
    return out


def _modpow() -> list[Pair]:
    out = []
    for i, (b, e, m) in enumerate(
        [
            (2, 100, 7),
            (3, 50, 11),
            (7, 77, 10),
            (5, 123, 13),
            (12, 34, 17),
            (9, 99, 100),
            (2, 1000, 1000),
            (13, 13, 19),
            (6, 66, 23),
            (11, 111, 7),
            (3, 2021, 8),
            (17, 17, 10),
            (4, 444, 9),
            (8, 88, 11),
            (14, 140, 15),
        ]
    ):
        r = pow(b, e, m)
        out.append(
            Pair(
                "number theory",
                f"theorem pm{i} : {b} ^ {e} % {m} = {r}",
                f"theorem pm{i} : {b} ^ {e} % {m} = {(r + 1) % m}",
                "constant",
            )
        )
    return out


def _sums() -> list[Pair]:
    out = []
    for i, n in enumerate([5, 10, 17, 20, 33, 50]):
        tri = n * (n + 1) // 2
        out.append(
            Pair(
                "sum",
                f"theorem st{i} : ∑ k in Finset.Icc 1 {n}, k = {tri}",
                f"theorem st{i} : ∑ k in Finset.range {n}, k = {tri}",
                "off-by-one range",
            )
        )
        sq = n * (n + 1) * (2 * n + 1) // 6
        out.append(
            Pair(
                "sum",
                f"theorem sq{i} : ∑ k in Finset.range ({n} + 1), k ^ 2 = {sq}",
                f"theorem sq{i} : ∑ k in Finset.range {n}, k ^ 2 = {sq}",
                "off-by-one range",
            )
        )
        geo = Fraction(1) - Fraction(1, 2**n)
        out.append(
            Pair(
                "sum",
                f"theorem gs{i} : ∑ k in Finset.Icc 1 {n}, (1 : ℚ) / 2 ^ k = {_q(geo)}",
                f"theorem gs{i} : ∑ k in Finset.range {n}, (1 : ℚ) / 2 ^ k = {_q(geo)}",
                "off-by-one range",
            )
        )
    return out


def _functions() -> list[Pair]:
    out = []
    for i, (a, b, c, x0) in enumerate(
        [
            (1, -2, 3, 4),
            (2, 0, -1, 3),
            (-1, 4, 0, 2),
            (3, 1, 1, -2),
            (1, 1, 1, 5),
            (2, -3, 4, -1),
            (-2, 5, 7, 3),
            (1, 0, -9, 3),
        ]
    ):
        val = a * x0 * x0 + b * x0 + c
        body = f"{_q(Fraction(a))} * x ^ 2 + {_q(Fraction(b))} * x + {_q(Fraction(c))}"
        out.append(
            Pair(
                "function",
                f"theorem fn{i} (f : ℝ → ℝ) (h : ∀ x, f x = {body}) : f {_q(Fraction(x0))} = {_q(Fraction(val))}",
                f"theorem fn{i} (f : ℝ → ℝ) (h : ∀ x, f x = {body}) : f {_q(Fraction(x0))} = {_q(Fraction(val + 1))}",
                "constant",
            )
        )
    return out


def _integrals() -> list[Pair]:
    out = []
    for k, a in [(1, 3), (2, 3), (3, 2), (4, 1), (2, 6), (5, 2)]:
        val = Fraction(a ** (k + 1), k + 1)
        approx = round(float(val), 2)
        out.append(
            Pair(
                "integral",
                f"∫ x in (0 : ℝ)..{a}, x ^ {k} = {_q(val)}",
                f"∫ x in (0 : ℝ)..{a}, x ^ {k} = {_q(val + 1)}",
                "constant",
            )
        )
        if Fraction(str(approx)) != val:
            out.append(
                Pair(
                    "integral",
                    f"∫ x in (0 : ℝ)..{a}, x ^ {k} = {_q(val)}",
                    f"∫ x in (0 : ℝ)..{a}, x ^ {k} = {approx}",
                    "rounding",
                )
            )
    return out


def _ranges() -> list[Pair]:
    out = []
    for i, (lo, hi) in enumerate([(1, 5), (-3, 2), (0, 10), (2, 9), (-7, -1)]):
        mid = Fraction(lo + hi, 2)
        rad = Fraction(hi - lo, 2)
        out.append(
            Pair(
                "inequality",
                f"theorem rg{i} (x : ℝ) (h : |x - {_q(mid)}| ≤ {_q(rad)}) : {_q(Fraction(lo))} ≤ x ∧ x ≤ {hi}",
                f"theorem rg{i} (x : ℝ) (h : |x - {_q(mid)}| ≤ {_q(rad)}) : {_q(Fraction(lo))} < x ∧ x ≤ {hi}",
                "≤ vs <",
            )
        )
        out.append(
            Pair(
                "inequality",
                f"theorem rz{i} (x : ℤ) (h₀ : {_q(Fraction(lo))} ≤ x) (h₁ : x < {hi}) : x ≤ {hi - 1}",
                f"theorem rz{i} (x : ℤ) (h₀ : {_q(Fraction(lo))} ≤ x) (h₁ : x ≤ {hi}) : x ≤ {hi - 1}",
                "≤ vs <",
            )
        )
    return out


def _amgm() -> list[Pair]:
    out = []
    for i, k in enumerate([2, 3, 4, 5, 6, 8, 9, 10]):
        # x + k/x ≥ 2√k for x > 0, equality at √k; perturbed to a strict inequality
        out.append(
            Pair(
                "inequality",
                f"theorem am{i} (x : ℝ) (h : 0 < x) : x + {k} / x ≥ 2 * Real.sqrt {k}",
                f"theorem am{i} (x : ℝ) (h : 0 < x) : x + {k} / x > 2 * Real.sqrt {k}",
                "≤ vs <",
            )
        )
    return out


def _systems() -> list[Pair]:
    out = []
    for i, (x0, y0) in enumerate([(3, 1), (5, -2), (-4, 7), (0, 6), (10, 3), (-1, -1), (8, 2), (2, 9)]):
        s, d = x0 + y0, x0 - y0
        hyps = f"(h₀ : x + y = {_q(Fraction(s))}) (h₁ : x - y = {_q(Fraction(d))})"
        out.append(
            Pair(
                "equation",
                f"theorem sys{i} (x y : ℝ) {hyps} : x = {_q(Fraction(x0))} ∧ y = {_q(Fraction(y0))}",
                f"theorem sys{i} (x y : ℝ) {hyps} : x = {_q(Fraction(x0))} ∧ y = {_q(Fraction(y0 + 1))}",
                "constant",
            )
        )
    return out


def _floors() -> list[Pair]:
    out = []
    for a, b in [(7, 2), (-7, 2), (22, 7), (-1, 3), (100, 9), (5, 5)]:
        q = a // b  # Python's // is the floor, as Int.floor is
        out.append(
            Pair("lean semantics", f"⌊({a} : ℝ) / {b}⌋ = {q}", f"⌊({a} : ℝ) / {b}⌋ = {q + 1}", "constant")
        )
    return out


def _gcds() -> list[Pair]:
    from math import gcd

    out = []
    for i, (a, b) in enumerate([(84, 120), (91, 65), (1001, 143), (17, 51), (360, 840), (2**10, 6**5)]):
        g = gcd(a, b)
        lcm = a * b // g
        out.append(
            Pair(
                "number theory",
                f"theorem gl{i} : Nat.gcd {a} {b} = {g} ∧ Nat.lcm {a} {b} = {lcm}",
                f"theorem gl{i} : Nat.gcd {a} {b} = {g} ∧ Nat.lcm {a} {b} = {lcm * 2}",
                "constant",
            )
        )
    return out


def all_pairs() -> list[Pair]:
    hand = [Pair(c, t, f, p) for c, t, f, p in _HAND]
    generated = (
        _linear()
        + _quadratic()
        + _divisibility()
        + _modpow()
        + _sums()
        + _functions()
        + _integrals()
        + _ranges()
        + _amgm()
        + _systems()
        + _floors()
        + _gcds()
    )
    return hand + generated
