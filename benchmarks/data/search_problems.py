"""Core-Lean problems for `benchmarks/bench_search.py` (no Mathlib), written for this benchmark.

Each problem: a name, a category, whether it is true, and a snippet (definitions may precede the
theorem; the theorem has no proof). Categories: one-step (one core tactic closes it), multi-step
(needs a few steps), induction, cases (case splits on hypotheses or values), exists (needs a
witness), false (the statement is false: it must never be reported as proved).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    name: str
    category: str
    true: bool
    snippet: str


_SUM = """def sumTo : Nat → Nat
  | 0 => 0
  | n + 1 => (n + 1) + sumTo n
"""
_DOUBLE = """def double : Nat → Nat
  | 0 => 0
  | n + 1 => double n + 2
"""
_POW2 = """def pow2 : Nat → Nat
  | 0 => 1
  | n + 1 => 2 * pow2 n
"""
_MYLEN = """def myLen : List Nat → Nat
  | [] => 0
  | _ :: xs => myLen xs + 1
"""
_SUMLIST = """def sumList : List Nat → Nat
  | [] => 0
  | x :: xs => x + sumList xs
"""
_COLOR = """inductive Color where
  | red | green | blue
def Color.next : Color → Color
  | .red => .green
  | .green => .blue
  | .blue => .red
"""
_EVEN = """def isEven : Nat → Bool
  | 0 => true
  | 1 => false
  | n + 2 => isEven n
"""

PROBLEMS: tuple[Problem, ...] = (
    # --- one step
    Problem("add_zero", "one-step", True, "theorem add_zero' (n : Nat) : n + 0 = n"),
    Problem("lin_ineq", "one-step", True, "theorem lin_ineq (a b : Nat) (h : a < b) : a + 1 ≤ b"),
    Problem("closed_arith", "one-step", True, "theorem closed_arith : 12 * 12 = 144"),
    Problem("closed_prime", "one-step", True, "theorem closed_dvd : 7 ∣ 91"),
    Problem("and_self", "one-step", True, "theorem and_self' (p : Prop) (hp : p) : p ∧ p"),
    Problem("exact_hyp", "one-step", True, "theorem exact_hyp (p q : Prop) (hp : p) (hpq : p → q) : q"),
    Problem("list_append_nil", "one-step", True,
            "theorem list_append_nil (xs : List Nat) : xs ++ [] = xs"),
    Problem("int_neg", "one-step", True, "theorem int_neg (a : Int) : a - a = 0"),
    Problem("mod_two", "one-step", True, "theorem mod_two (n : Nat) : n % 2 = 0 ∨ n % 2 = 1"),
    Problem("bool_and", "one-step", True, "theorem bool_and (b : Bool) : (b && true) = b"),
    # --- multi-step
    Problem("intro_chain", "multi-step", True,
            "theorem intro_chain : ∀ (p q r : Prop), (p → q) → (q → r) → p → r"),
    Problem("and_swap", "multi-step", True, "theorem and_swap (p q : Prop) : p ∧ q → q ∧ p"),
    Problem("or_swap", "multi-step", True, "theorem or_swap (p q : Prop) : p ∨ q → q ∨ p"),
    Problem("iff_intro", "multi-step", True,
            "theorem iff_intro (a b : Nat) : a + b = b + a ↔ True"),
    Problem("exists_elim", "multi-step", True,
            "theorem exists_elim (f : Nat → Nat) (h : ∃ n, f n = 0) : ∃ m, f m ≤ 0"),
    Problem("rw_chain", "multi-step", True,
            "theorem rw_chain (f : Nat → Nat) (a b c : Nat) (h1 : a = b) (h2 : b = c) : f a = f c"),
    Problem("constructor_mixed", "multi-step", True,
            _SUM + "theorem constructor_mixed (n : Nat) : n % 2 < 2 ∧ 2 * sumTo n = n * (n + 1)"),
    Problem("forall_imp", "multi-step", True,
            "theorem forall_imp' (P Q : Nat → Prop) (h : ∀ n, P n → Q n) (hp : ∀ n, P n) : ∀ n, Q n"),
    Problem("not_not_intro", "multi-step", True, "theorem not_not_intro' (p : Prop) (hp : p) : ¬¬p"),
    Problem("contrapos", "multi-step", True,
            "theorem contrapos (p q : Prop) (h : p → q) (hnq : ¬q) : ¬p"),
    # --- induction
    Problem("sum_formula", "induction", True,
            _SUM + "theorem sum_formula (n : Nat) : 2 * sumTo n = n * (n + 1)"),
    Problem("double_eq", "induction", True, _DOUBLE + "theorem double_eq (n : Nat) : double n = 2 * n"),
    Problem("pow2_pos", "induction", True, _POW2 + "theorem pow2_pos (n : Nat) : pow2 n > 0"),
    Problem("pow2_ge", "induction", True, _POW2 + "theorem pow2_ge (n : Nat) : pow2 n ≥ n + 1"),
    Problem("mylen_eq", "induction", True,
            _MYLEN + "theorem mylen_eq (xs : List Nat) : myLen xs = xs.length"),
    Problem("mylen_append", "induction", True,
            _MYLEN + "theorem mylen_append (xs ys : List Nat) : myLen (xs ++ ys) = myLen xs + myLen ys"),
    Problem("sumlist_append", "induction", True,
            _SUMLIST + "theorem sumlist_append (xs ys : List Nat) : "
                       "sumList (xs ++ ys) = sumList xs + sumList ys"),
    Problem("sum_mono", "induction", True,
            _SUM + "theorem sum_mono (n : Nat) : sumTo n ≥ n"),
    Problem("add_comm_ind", "induction", True,
            "theorem add_comm_ind (m n : Nat) : m + n = n + m"),
    Problem("mul_two_ind", "induction", True, _DOUBLE + "theorem double_even (n : Nat) : double n % 2 = 0"),
    # --- case splits
    Problem("color_next3", "cases", True,
            _COLOR + "theorem color_next3 (c : Color) : c.next.next.next = c"),
    Problem("color_ne", "cases", True, _COLOR + "theorem color_ne (c : Color) : c.next ≠ c"),
    Problem("bool_cases", "cases", True,
            "theorem bool_cases (b : Bool) : (b || !b) = true"),
    Problem("or_elim_arith", "cases", True,
            "theorem or_elim_arith (n : Nat) (h : n = 1 ∨ n = 2) : n < 3"),
    Problem("option_cases", "cases", True,
            "theorem option_cases (o : Option Nat) : o.isSome = true ∨ o = none"),
    Problem("ite_max", "cases", True,
            "theorem ite_max (a b : Nat) : (if a ≤ b then b else a) ≥ a"),
    Problem("is_even_4", "cases", True, _EVEN + "theorem is_even_10 : isEven 10 = true"),
    # --- witnesses
    Problem("exists_mul", "exists", True, "theorem exists_mul : ∃ n : Nat, n * 3 = 21"),
    Problem("exists_two", "exists", True, "theorem exists_two : ∃ a b : Nat, a + b = 5 ∧ a * b = 6"),
    Problem("exists_int", "exists", True, "theorem exists_int : ∃ x : Int, x + 5 = 2"),
    Problem("exists_sq", "exists", True, "theorem exists_sq : ∃ n : Nat, n * n = 49 ∧ n > 3"),
    # --- false statements: never to be reported as proved
    Problem("false_closed", "false", False, "theorem false_closed : 2 + 2 = 5"),
    Problem("false_lin", "false", False, "theorem false_lin (n : Nat) : n + 1 < n"),
    Problem("false_sub", "false", False, "theorem false_sub (a b : Nat) : a - b + b = a"),
    Problem("false_and", "false", False, "theorem false_and' (n : Nat) : n > 0 ∧ n < 5"),
    Problem("false_double", "false", False, _DOUBLE + "theorem false_double (n : Nat) : double n = n + 1"),
    Problem("false_imp", "false", False, "theorem false_imp (p q : Prop) (hp : p) : q"),
    Problem("false_exists", "false", False, "theorem false_exists : ∃ n : Nat, n * 2 = 7"),
)
