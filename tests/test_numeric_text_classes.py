"""The surface-text path obeys "a true statement is never refuted" (issue 11, item 5).

For each of the eight classes where reading types off the text differed from Lean's elaborator,
true statements (Mathlib-style, as the text path sees them) are never refuted, and a false one in
the class is still refuted where the reading is certain. The statements expressible in core Lean
are also decided by the real Lean (with the benchmark prelude for `ℕ`/`ℤ`); the others (∑, ℝ)
follow Lean's elaboration order: expected type first, `binop%`'s maximal type for arithmetic trees
with leaves elaborated without it, postponed numerals, default instances last.
"""

from __future__ import annotations

import pytest

from prover.bench.config import CORE_PRELUDE
from prover.lean import LeanServer
from prover.numeric import CheckConfig, NumericChecker
from prover.numeric.checker import Verdict

CHECKER = NumericChecker(CheckConfig(confirm_with_lean=False))

# class -> (true statements, false statements the checker must still refute)
CLASSES: dict[str, tuple[list[str], list[str]]] = {
    "expected type into ∑ ∏ |·| min max if": ([
        "theorem t : (∑ k in Finset.range 2, 1 / (k + 1) : ℝ) = 3 / 2",
        "theorem t : (∏ k in Finset.range 2, (k + 1) / 2 : ℚ) = 1 / 2",
        "theorem t : Real.sqrt (∑ k in Finset.range 2, 1 / 2) = 1",
        "theorem t : (|(2 : ℕ) - 3| : ℤ) = 1",
        "theorem t (n : ℕ) (h : n = 1) : (|n - 4| : ℤ) = 3",
        "theorem t (a : ℕ) (h : a = 2) : (min (a - 5) 1 : ℤ) = -3",
        "theorem t (a : ℕ) (h : a = 2) : (max (a - 5) (-7) : ℤ) = -3",
        "theorem t (n : ℕ) (h : n = 1) : (if n < 2 then n - 3 else 0 : ℤ) = -2",
        "theorem t : (Finset.sum (Finset.range 3) fun k => k / 2 : ℚ) = 3 / 2",
    ], [
        "theorem t : (∑ k in Finset.range 2, 1 / (k + 1) : ℝ) = 1",
        "theorem t : (|(2 : ℕ) - 3| : ℤ) = 0",
        "theorem t (n : ℕ) (h : n = 1) : (if n < 2 then n - 3 else 0 : ℤ) = 0",
    ]),
    "if as an operand": ([
        "theorem t : (if (1 : ℕ) < 2 then (1 : ℕ) - 2 else 0) + (3 : ℤ) = 3",
        "theorem t (n : ℕ) (h : n = 0) : (if n = 0 then n - 1 else n) * (2 : ℤ) = 0",
        "theorem t (n : ℕ) : (n : ℤ) + (if n < 0 then 1 else 0) - 3 = n - 3",
        "theorem t (x : ℝ) (h : x = 1) : (if x < 2 then 1 else 0) / 2 + x = 3 / 2",
    ], [
        "theorem t : (if (1 : ℕ) < 2 then (1 : ℕ) - 2 else 0) + (3 : ℤ) = 2",
        "theorem t (n : ℕ) (h : n = 0) : (if n = 0 then n - 1 else n) * (2 : ℤ) = -2",
    ]),
    "∑ ∏ over Fin n": ([
        "theorem t : ∑ i : Fin 4, (i : ℕ) = 6",
        "theorem t : ∏ i : Fin 3, ((i : ℕ) + 1) = 6",
        "theorem t : ∑ i : Fin 3, (i : ℝ) / 2 = 3 / 2",
        "theorem t : ∑ i : Fin 3, i = 0",  # in Fin 3: 0 + 1 + 2 wraps to 0
        "theorem t : ∑ i : Fin 4, i.val ^ 2 = 14",
    ], [
        "theorem t : ∑ i : Fin 4, (i : ℕ) = 5",
        "theorem t : ∑ i : Fin 3, (i : ℝ) / 2 = 1",
    ]),
    "binder type fixed by a later ascription": ([
        "theorem t : ∀ x, (x : ℝ) = 2 → x - 3 < 0",
        "theorem t : ∀ x, x = 1 → (x : ℤ) - 2 = -1",
        "theorem t : ∃ x, (x : ℝ) * 2 = 1",
        "theorem t : ∀ x, (1 / x : ℝ) = 2 → x = 1 / 2",
        "theorem t : ∀ x y, x + (y : ℤ) = 0 → y = 2 → x = -2",
    ], [
        "theorem t : ∀ x, (x : ℝ) = 2 → x - 3 < -2",
        "theorem t : ∀ x, x = 1 → (x : ℤ) - 2 = 0",
    ]),
    "Finset.Icc element type fixed by the summand": ([
        "theorem t : ∑ k in Finset.Icc (1 - 2) 1, (k : ℤ) = 0",
        "theorem t : ∑ k in Finset.Icc (-1) 1, (k : ℤ) ^ 3 = 0",
        "theorem t : ∀ k ∈ Finset.Icc (1 - 2) 1, (k : ℤ) ≤ 1",
        "theorem t : (Finset.sum (Finset.Icc (0 - 1) 0) fun k => (k : ℤ)) = -1",
        "theorem t : ∑ k in Finset.Icc 1 3, k = 6",
    ], [
        "theorem t : ∑ k in Finset.Icc (1 - 2) 1, (k : ℤ) = 1",
        "theorem t : ∀ k ∈ Finset.Icc (1 - 2) 1, (k : ℤ) ≥ 0",
        "theorem t : ∑ k in Finset.Icc 1 3, k = 7",
    ]),
    "coercion ↑n with nothing fixing its target": ([
        "theorem t (n : ℕ) (h : n = 2) : ↑n - 3 = 0",  # at ℕ this holds, at ℤ it does not
        "theorem t (n : ℕ) (h : n = 2) : ↑n - 3 < 0",
        "theorem t (n m : ℕ) (h : n = 2) (h' : m = 3) : ↑n - m = 0",
    ], [
        "theorem t (n : ℕ) (h : n = 2) : (↑n - 3 : ℤ) = 0",
        "theorem t (n : ℕ) (x : ℝ) (h : n = 2) (hx : x = 3) : ↑n - x = 0",
    ]),
    "functions defined in terms of each other": ([
        "theorem t (f g : ℕ → ℕ) (h1 : ∀ x, f x = g x + 1) (h2 : ∀ x, g x = f x + 1) : f 0 = 100",
        "theorem t (f g : ℕ → ℕ) (h1 : ∀ x, f x = g (x + 1)) (h2 : ∀ x, g x = f (x - 1) + 1) : f 1 = 0",
        "theorem t (f g h : ℤ → ℤ) (h1 : ∀ x, f x = g x) (h2 : ∀ x, g x = h x) (h3 : ∀ x, h x = f x + 1) : "
        "f 0 = 7",
    ], [
        "theorem t (f g : ℕ → ℕ) (h1 : ∀ x, f x = g x + 1) (h2 : ∀ x, g x = 2 * x) : f 3 = 6",
    ]),
    # `Int.div`/`Int.mod` are the T-rounding pair in the Lean versions that have them (the benchmarks'
    # Mathlib era; since renamed `Int.tdiv`/`Int.tmod`, and absent from the embedded Lean 4.28).
    "Int.fmod, Int.div, Int.mod": ([
        "theorem t : Int.fmod (-7) 2 = 1",
        "theorem t : Int.fmod 7 (-2) = -1",
        "theorem t : Int.div (-7) 2 = -3",
        "theorem t : Int.mod (-7) 2 = -1",
        "theorem t : Int.tmod (-7) 2 = -1 ∧ Int.fmod (-7) 0 = -7 ∧ Int.div 7 0 = 0",
    ], [
        "theorem t : Int.div (-7) 2 = -4",
        "theorem t : Int.fmod 7 (-2) = 1",
        "theorem t : Int.mod (-7) 2 = 1",
    ]),
}

TRUE = [(c, s) for c, (ts, _) in CLASSES.items() for s in ts]
FALSE = [(c, s) for c, (_, fs) in CLASSES.items() for s in fs]


@pytest.mark.parametrize(("cls", "statement"), TRUE)
def test_true_statement_is_never_refuted(cls: str, statement: str) -> None:
    r = CHECKER.check_statement(statement)
    assert r.verdict is not Verdict.REFUTED, (cls, r)


@pytest.mark.parametrize(("cls", "statement"), FALSE)
def test_false_statement_is_refuted(cls: str, statement: str) -> None:
    r = CHECKER.check_statement(statement)
    assert r.verdict is Verdict.REFUTED, (cls, r)


def test_uncertain_readings_are_unsupported() -> None:
    for st in ("theorem t (n : ℕ) (h : n = 2) : ↑n - 3 = 0",  # ↑n: no target
               "theorem t : ∑ i : Fin 3, i = 0",  # Fin arithmetic is not modelled by the text path
               "theorem t (f g : ℕ → ℕ) (h1 : ∀ x, f x = g x + 1) (h2 : ∀ x, g x = f x + 1) : f 0 = 1",
               "theorem t : ∀ x, ↑x = (2 : ℤ) → x = 2"):  # ↑x before x's type is fixed
        assert CHECKER.check_statement(st).verdict is Verdict.UNSUPPORTED, st


# The statements of the lists that core Lean can state, each with a proof Lean must accept: the
# true ones as they stand, the false ones negated.
LEAN_TRUE = [
    ("(if (1 : ℕ) < 2 then (1 : ℕ) - 2 else 0) + (3 : ℤ) = 3", "decide"),
    ("∀ n : ℕ, n = 0 → (if n = 0 then n - 1 else n) * (2 : ℤ) = 0", "intro n h; subst h; decide"),
    ("∀ x, (x : ℤ) = 2 → x - 3 < 0", "intro x h; omega"),
    ("∀ x, x = 1 → (x : ℤ) - 2 = -1", "intro x h; omega"),
    ("∀ x y, x + (y : ℤ) = 0 → y = 2 → x = -2", "intro x y h h2; omega"),
    ("∀ n : ℕ, n = 1 → (if n < 2 then n - 3 else 0 : ℤ) = -2", "intro n h; subst h; decide"),
    ("∀ a : ℕ, a = 2 → (min (a - 5) 1 : ℤ) = -3", "intro a h; subst h; decide"),
    ("∀ a : ℕ, a = 2 → (max (a - 5) (-7) : ℤ) = -3", "intro a h; subst h; decide"),
    ("∀ f g : ℕ → ℕ, (∀ x, f x = g x + 1) → (∀ x, g x = f x + 1) → f 0 = 100",
     "intro f g h1 h2; have := h1 0; have := h2 0; omega"),
    ("Int.fmod (-7) 2 = 1 ∧ Int.fmod 7 (-2) = -1 ∧ Int.tmod (-7) 2 = -1 ∧ Int.fmod (-7) 0 = -7", "decide"),
    ("Int.tdiv (-7) 2 = -3 ∧ Int.tdiv 7 0 = 0", "decide"),
]
LEAN_FALSE = [
    ("(if (1 : ℕ) < 2 then (1 : ℕ) - 2 else 0) + (3 : ℤ) = 2", "decide"),
    ("∀ x, x = 1 → (x : ℤ) - 2 = 0", "intro h; have := h 1 rfl; omega"),
    ("∀ f g : ℕ → ℕ, (∀ x, f x = g x + 1) → (∀ x, g x = 2 * x) → f 3 = 6",
     "intro h; have := h (fun x => 2 * x + 1) (fun x => 2 * x) (fun _ => rfl) (fun _ => rfl); simp at this"),
    ("Int.fmod 7 (-2) = 1", "decide"),
]


def test_core_statements_are_decided_so_by_lean(lean_server: LeanServer) -> None:
    for statement, proof in LEAN_TRUE:
        r = lean_server.check(f"{CORE_PRELUDE}example : {statement} := by {proof}")
        assert r.ok, (statement, r)
    for statement, proof in LEAN_FALSE:
        r = lean_server.check(f"{CORE_PRELUDE}example : ¬ ({statement}) := by {proof}")
        assert r.ok, (statement, r)

