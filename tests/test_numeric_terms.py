"""The numeric checker on Lean's elaborated goals (issue 11): the typed trees of `terms`, their
evaluation with the semantics the types choose, and Lean's kernel confirming counterexamples
(`refute`). Every core value here is also decided by the real Lean."""

from __future__ import annotations

from fractions import Fraction

import pytest

from prover.lean import LeanServer, ProofState
from prover.lean.exprs import App, Const, FVar, GoalTerms, RefuteStatus
from prover.numeric.checker import Verdict
from prover.numeric.terms import Evaluator
from prover.numeric.typed import TypedCheck, check_state
from search.api import prove
from search.best_first import SearchConfig
from search.prune import NumericPruneHook
from search.result import SearchStatus


def _open(lean: LeanServer, snippet: str) -> ProofState:
    st = lean.open_proof(snippet)
    assert isinstance(st, ProofState), st
    return st


def _check(lean: LeanServer, snippet: str) -> TypedCheck:
    st = _open(lean, snippet)
    try:
        checks = check_state(lean, st)
    finally:
        lean.forget([st])
    assert len(checks) == 1
    return checks[0]


def _lean_proves(lean: LeanServer, statement: str, header: str = "") -> bool:
    """Lean's kernel decides `statement` true (`decide +kernel`: the kernel's own evaluation, which
    also gets through `Rat` arithmetic that the elaborator's `decide` does not unfold)."""
    return lean.check(f"{header}example : {statement} := by decide +kernel").ok


LOG = ("def logAux : Nat → Nat → Nat\n  | 0, _ => 0\n"
       "  | k + 1, n => if n < 2 then 0 else 1 + logAux k (n / 2)\n"
       "def log (n : Nat) : Nat := logAux n n\n")
SQRT = ("def sqrtAux : Nat → Nat → Nat\n  | 0, _ => 0\n"
        "  | k + 1, n => if (k + 1) * (k + 1) ≤ n then k + 1 else sqrtAux k n\n"
        "def sqrt (n : Nat) : Nat := sqrtAux n n\n")

# True statements that the text path refuted (the list), each proved here by Lean.
TRUE_STATEMENTS = [
    ("", "(3 : Fin 4) + 1 = 0"),
    ("", "(1 : Fin 3) - 2 = 2"),
    ("", "(255 : UInt8) + 1 = 0"),
    ("", "(0 : UInt8) - 1 = 255"),
    ("", "(2 : Fin 5) * 3 = 1"),
    ("", "(-128 : Int8) - 1 = 127"),
    (LOG, "log 8 = 3"),
    (SQRT, "sqrt 10 = 3"),
    ("", "(7 : Int) / -2 = -3"),
    ("", "Int.fmod (-7) 2 = 1 ∧ Int.tmod (-7) 2 = -1 ∧ Int.emod (-7) (-2) = 1"),
    ("", "Int.fdiv (-7) 2 = -4 ∧ Int.tdiv (-7) 2 = -3 ∧ Int.ediv (-7) 2 = -4"),
    ("", "(5 : Nat) - 7 + 7 = 7 ∧ (5 : Nat) / 0 = 0 ∧ (5 : Nat) % 0 = 5"),
    ("", "((5 : Nat) - 7 : Int) = -2"),  # binop% lifts `5` to ℤ before subtracting
    ("", "((1 : Rat) / 3 + 1 / 6 = 1 / 2) ∧ (1 : Rat) / 0 = 0"),
    ("", "(if (2 : Nat) < 1 then (1 : Int) else -1) * 3 = -3"),
    ("", "∀ x : Fin 3, x + 3 = x"),
    ("", "∀ m < 5, m * m < 20"),
    ("", "∃ k : Nat, k < 3 ∧ k * k = 4"),
    ("", "(true && !false) = true ∧ decide ((3 : Nat) ∣ 12) = true"),
    ("", "@HAdd.hAdd Nat Nat Nat ⟨Nat.mul⟩ 2 3 = 6"),  # not the standard `+`: never read as 2 + 3
]


@pytest.mark.parametrize(("header", "statement"), TRUE_STATEMENTS)
def test_true_statements_are_never_refuted(lean_server: LeanServer, header: str, statement: str) -> None:
    assert _lean_proves(lean_server, statement, header)  # Lean: true
    check = _check(lean_server, f"{header}theorem t : {statement}")
    assert check.verdict is not Verdict.REFUTED, check
    hook = NumericPruneHook(lean=lean_server)
    st = _open(lean_server, f"{header}theorem t : {statement}")
    assert hook.check(st) is None
    lean_server.forget([st])


# False statements: refuted, with the kernel's confirmation, at the assignment shown.
FALSE_STATEMENTS = [
    ("", "(3 : Fin 4) + 1 = 1", ()),
    ("", "(1 : Fin 3) - 2 = 1", ()),
    ("", "(255 : UInt8) + 1 = 1", ()),
    ("", "(7 : Int) / -2 = -4", ()),
    ("", "Int.fmod (-7) 2 = Int.tmod (-7) 2", ()),
    ("", "∀ m < 6, m * m < 20", ()),
    ("", "∃ k : Nat, k < 3 ∧ k * k = 9", ()),
    ("", "(x : Int) (h : x ^ 2 = 4) : x = 2", (("x", "-2"),)),
    ("", "(n : Nat) (h : n < 5) : n - 3 + 3 = n", (("n", "0"),)),
    ("", "(a : UInt8) : a + 1 > a", (("a", "255"),)),
    ("", "(x : Fin 4) (y : Fin 4) : x + y ≥ x", (("x", "1"), ("y", "3"))),
    ("", "(q : Rat) (h : 0 < q) : 1 / q < 1", (("q", "1"),)),
    ("", "(b : Bool) : (b && !b) = b", (("b", "true"),)),
]


@pytest.mark.parametrize(("header", "statement", "where"), FALSE_STATEMENTS)
def test_false_statements_are_refuted_and_confirmed(lean_server: LeanServer, header: str, statement: str,
                                                    where: tuple[tuple[str, str], ...]) -> None:
    closed = not where
    snippet = f"{header}theorem t {statement}" if not closed else f"{header}theorem t : {statement}"
    check = _check(lean_server, snippet)
    assert check.verdict is Verdict.REFUTED, check
    assert check.lean is RefuteStatus.CONFIRMED
    assert check.assignment == where
    if closed:  # Lean itself: the statement is false
        assert _lean_proves(lean_server, f"¬ ({statement})", header)


def test_user_definitions_are_decided_by_lean(lean_server: LeanServer) -> None:
    assert _lean_proves(lean_server, "¬ (log 8 = 4)", LOG)
    false = _check(lean_server, f"{LOG}theorem t : log 8 = 4")
    assert false.verdict is Verdict.REFUTED and false.by_lean and false.lean is RefuteStatus.CONFIRMED
    # With a variable: Lean evaluates the user's function on sampled values.
    open_ = _check(lean_server, f"{SQRT}theorem t (n : Nat) : sqrt n * sqrt n = n")
    assert open_.verdict is Verdict.REFUTED and open_.by_lean
    n = open_.assignment[0][1]
    assert _lean_proves(lean_server, f"¬ (sqrt {n} * sqrt {n} = {n})", SQRT)
    true = _check(lean_server, f"{SQRT}theorem t (n : Nat) (h : n < 50) : sqrt n * sqrt n ≤ n")
    assert true.verdict is not Verdict.REFUTED


def test_the_kernel_has_the_last_word(lean_server: LeanServer) -> None:
    st = _open(lean_server, "theorem t (x : Int) (h : x ^ 2 = 4) : x = 2")
    fv = lean_server.goal_terms(st)[0].hypotheses[0].fvar
    # x = 2 is no counterexample: the kernel rejects it, and the list goes on to x = -2.
    assert lean_server.refute(st, [[(fv, "2")], [(fv, "-2")]]) == (RefuteStatus.NOT_CONFIRMED,
                                                                   RefuteStatus.CONFIRMED)
    assert lean_server.refute(st, [[]]) == (RefuteStatus.NOT_CLOSED,)  # x left free
    assert lean_server.refute(st, [[(fv, "true")]]) == (RefuteStatus.BAD_VALUE,)  # not an Int
    lean_server.forget([st])
    st = _open(lean_server, "theorem t (f : Nat → Nat) (h : ∀ x, f x = x) : ∀ x, f (f x) = x")
    assert lean_server.refute(st, [[]]) == (RefuteStatus.NOT_CLOSED,)
    lean_server.forget([st])


def _closed_value(lean: LeanServer, term: str) -> tuple[str, object]:
    st = _open(lean, f"theorem t : ({term}) = ({term})")
    target = lean.goal_terms(st)[0].target
    lean.forget([st])
    assert isinstance(target, App) and isinstance(target.fn, Const) and target.fn.name == "Eq"
    ty, v = Evaluator({}, {}).typed(target.args[1])
    return str(ty), v


# (term, type, value): the value by the type's semantics; each is also decided by Lean below.
SEMANTICS = [
    ("(2 : Nat) - 5", "Nat", 0), ("(7 : Nat) / 2", "Nat", 3), ("(7 : Nat) / 0", "Nat", 0),
    ("(7 : Nat) % 0", "Nat", 7), ("(2 : Nat) ^ 10", "Nat", 1024), ("Nat.pred 0", "Nat", 0),
    ("(-7 : Int) / 2", "Int", -4), ("(7 : Int) / -2", "Int", -3), ("(-7 : Int) % 2", "Int", 1),
    ("(-7 : Int) % -2", "Int", 1), ("(5 : Int) / 0", "Int", 0), ("(5 : Int) % 0", "Int", 5),
    ("Int.tdiv (-7) 2", "Int", -3), ("Int.tmod (-7) 2", "Int", -1), ("Int.fdiv 7 (-2)", "Int", -4),
    ("Int.fmod 7 (-2)", "Int", -1), ("Int.toNat (-3)", "Nat", 0), ("Int.natAbs (-3)", "Nat", 3),
    ("((3 : Nat) : Int) - 5", "Int", -2),
    ("(3 : Fin 4) + 1", "Fin 4", 0), ("(1 : Fin 3) - 2", "Fin 3", 2), ("(2 : Fin 5) * 3", "Fin 5", 1),
    ("(3 : Fin 5) / 2", "Fin 5", 1), ("(3 : Fin 5) % 0", "Fin 5", 3), ("-(1 : Fin 5)", "Fin 5", 4),
    ("(7 : Fin 5)", "Fin 5", 2),
    ("(255 : UInt8) + 1", "UInt8", 0), ("(0 : UInt8) - 1", "UInt8", 255), ("(16 : UInt8) * 16", "UInt8", 0),
    ("(7 : UInt8) / 0", "UInt8", 0), ("(300 : UInt8)", "UInt8", 44), ("(0 : UInt16) - 1", "UInt16", 65535),
    ("(2 : UInt32) ^ 32", "UInt32", 0), ("(0 : UInt64) - 1", "UInt64", 2 ** 64 - 1),
    ("(127 : Int8) + 1", "Int8", -128), ("(-7 : Int8) / 2", "Int8", -3), ("(-7 : Int8) % 2", "Int8", -1),
    ("(1 : Rat) / 3 + 1 / 6", "Rat", Fraction(1, 2)), ("(1 : Rat) / 0", "Rat", Fraction(0)),
    ("((2 : Rat) / 3)⁻¹", "Rat", Fraction(3, 2)), ("((-3 : Int) : Rat) / 4", "Rat", Fraction(-3, 4)),
    ("(true && !true) || true", "Bool", True), ("(3 == 4 : Bool)", "Bool", False),
    ("if (3 : Nat) ∣ 7 then (1 : Nat) else 0", "Nat", 0), ("max (3 : Int) (-5) - min 2 (-4)", "Int", 7),
]


@pytest.mark.parametrize(("term", "ty", "value"), SEMANTICS)
def test_semantics_by_type(lean_server: LeanServer, term: str, ty: str, value: object) -> None:
    assert _closed_value(lean_server, term) == (ty, value)
    if isinstance(value, bool):
        lit = "true" if value else "false"
    elif isinstance(value, Fraction):
        lit = f"({value.numerator} / {value.denominator})"
    else:
        lit = f"({value})"
    assert _lean_proves(lean_server, f"(({term} : {ty}) = ({lit} : {ty}))")  # Lean agrees


def test_goal_terms_are_faithful_trees(lean_server: LeanServer) -> None:
    st = _open(lean_server, "theorem t (n : Nat) (h : n < 4) : let m := n + 1; (3 : Fin 4) + 1 = 0 ∧ m > n")
    st2 = lean_server.run_tactic(st, "intro m")
    assert isinstance(st2, ProofState)
    (g,) = lean_server.goal_terms(st2)
    assert isinstance(g, GoalTerms) and not g.too_large
    names = [h.name for h in g.hypotheses]
    assert names == ["n", "h", "m"]
    n, _, m = g.hypotheses
    assert n.type == Const("Nat") and m.value is not None  # the let-value arrives as a tree
    # `(3 : Fin 4) + 1`: the type, the instance and the numeral's own type are explicit.
    assert isinstance(g.target, App) and g.target.fn == Const("And")
    eq = g.target.args[0]
    assert isinstance(eq, App) and eq.fn == Const("Eq", eq.fn.levels)  # type: ignore[union-attr]
    add = eq.args[1]
    assert isinstance(add, App) and add.fn == Const("HAdd.hAdd", add.fn.levels)  # type: ignore[union-attr]
    fin4 = add.args[0]
    assert isinstance(fin4, App) and fin4.fn == Const("Fin")
    inst = add.args[3]
    assert isinstance(inst, App) and inst.fn == Const("instHAdd", inst.fn.levels)  # type: ignore[union-attr]
    assert isinstance(inst.args[1], App) and inst.args[1].fn == Const("Fin.instAdd")
    gt = g.target.args[1]
    assert isinstance(gt, App) and FVar(m.fvar) in gt.args and FVar(n.fvar) in gt.args
    # A tiny cap: the goal comes back too large instead of cut short.
    (big,) = lean_server.goal_terms(st2, cap=10)
    assert big.too_large and big.target is None
    lean_server.forget([st, st2])


def test_hook_on_subgoals_and_multiple_goals(lean_server: LeanServer) -> None:
    hook = NumericPruneHook(lean=lean_server)
    st = _open(lean_server, "theorem t (n : Nat) : (n : Int) - 1 < n ∧ n - 1 < n")
    st2 = lean_server.run_tactic(st, "constructor")
    assert isinstance(st2, ProofState) and len(st2.goals) == 2
    why = hook.check(st2)  # goal 1 holds; goal 2 is false at n = 0 (ℕ subtraction)
    assert why is not None and why.startswith("goal 2") and "n = 0" in why
    assert _lean_proves(lean_server, "¬ ((0 : Nat) - 1 < 0)")
    lean_server.forget([st, st2])


def test_search_no_longer_gives_up_on_true_theorems(lean_server: LeanServer) -> None:
    cfg = SearchConfig(max_expansions=20, wall_time=60)
    res = prove("theorem t : (3 : Fin 4) + 1 = 0", server=lean_server, config=cfg)
    assert res.stats.pruned.get("hook", 0) == 0
    assert res.status is SearchStatus.PROVED, res.message
    bad = prove("theorem t : (3 : Fin 4) + 1 = 1", server=lean_server, config=cfg)
    assert bad.status is SearchStatus.FAILED and bad.stats.pruned == {"hook": 1}
    assert bad.stats.expansions == 0
