"""Confirming a ℕ/ℤ counterexample with the real Lean.

The instantiated statement (every variable replaced by its value) is rendered in core Lean
syntax (``Nat``/``Int``, no Mathlib) and submitted as
``example : ¬ (H₁ → … → C) := by decide``.  Only if Lean accepts that is the
counterexample reported as confirmed.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import Protocol

from prover.numeric.errors import Undetermined, Unsupported
from prover.numeric.evaluate import Evaluator
from prover.numeric.nodes import Arith, BigOp, Call, Cmp, Coe, Lit, Logic, ModEq, Node, Pow, Ref, UserApp
from prover.numeric.problem import Problem
from prover.numeric.types import Num


class LeanResult(Protocol):
    """What the checker needs from ``prover.lean.CommandResult``."""

    @property
    def ok(self) -> bool: ...


class LeanChecker(Protocol):
    """Anything that elaborates Lean 4 commands, e.g. ``prover.lean.LeanServer``."""

    def check(self, code: str) -> LeanResult: ...


class LeanStatus(str, Enum):
    CONFIRMED = "confirmed by Lean (decide)"
    REJECTED = "not confirmed: Lean did not accept the decide proof"
    NOT_CORE = "not confirmed: not expressible in core Lean"
    NO_LEAN = "not confirmed (no Lean)"
    LEAN_FAILED = "not confirmed: Lean failed"


class NotCore(Exception):
    """The node has no faithful core-Lean rendering."""


_LEAN_TY = {Num.NAT: "Nat", Num.INT: "Int"}
_CMP = {"eq": "=", "ne": "≠", "lt": "<", "le": "≤", "gt": ">", "ge": "≥"}
_LOGIC = {"and": "∧", "or": "∨", "imp": "→", "iff": "↔"}
_CORE_CALLS = {
    "Nat.gcd": "Nat.gcd",
    "Nat.lcm": "Nat.lcm",
    "Int.natAbs": "Int.natAbs",
    "Int.toNat": "Int.toNat",
    "min": "min",
    "max": "max",
    "Nat.succ": "Nat.succ",
    "Nat.pred": "Nat.pred",
    "Int.emod": "Int.emod",
    "Int.ediv": "Int.ediv",
    "Int.fdiv": "Int.fdiv",
    "Int.tdiv": "Int.tdiv",
    "Int.gcd": "Int.gcd",
    "Int.lcm": "Int.lcm",
    "gcd": None,
    "lcm": None,
}


def _lit(v: int, ty: Num) -> str:
    return f"({v} : {_LEAN_TY[ty]})"


_MAX_EXPANSION = 64


def render(node: Node, env: Mapping[str, object], ev: Evaluator | None = None) -> str:
    """Core-Lean text of ``node`` with variables replaced by their values.

    With an evaluator, a big operator over a closed finite set is written out term by term
    and a function variable defined by a hypothesis is unfolded at its (computed) argument:
    both are the instance itself, spelled without Mathlib.
    """
    if isinstance(node, BigOp) and ev is not None and node.ty in _LEAN_TY:
        try:
            elems = ev.collection(node.coll, env)
        except (Undetermined, Unsupported) as err:
            raise NotCore("collection") from err
        if len(elems) > _MAX_EXPANSION:
            raise NotCore("big operator too long to write out")
        terms = [render(node.body, {**env, node.var: x}, ev) for x in elems]
        if not terms:
            return _lit(0 if node.kind == "sum" else 1, node.ty)
        return "(" + (" + " if node.kind == "sum" else " * ").join(terms) + ")"
    if isinstance(node, UserApp) and ev is not None and node.ty in _LEAN_TY:
        f = ev.functions.get(node.name)
        if f is None:
            raise NotCore("undefined function")
        try:
            args = [ev.value(a, env) for a in node.args]
        except (Undetermined, Unsupported) as err:
            raise NotCore("function argument") from err
        inner = {**env, **{p: v for (p, _), v in zip(f.lam.params, args, strict=True)}}
        if f.guard is not None and ev.truth(f.guard, inner) is not True:
            raise NotCore("function outside its defining guard")
        return render(f.lam.body, inner, ev)
    return _render(node, env, ev)


def _render(node: Node, env: Mapping[str, object], ev: Evaluator | None) -> str:
    if isinstance(node, Lit):
        if node.ty not in _LEAN_TY or node.value.denominator != 1:
            raise NotCore("literal")
        return _lit(int(node.value), node.ty)
    if isinstance(node, Ref):
        if node.ty not in _LEAN_TY:
            raise NotCore("variable type")
        return _lit(int(env[node.name]), node.ty)  # type: ignore[call-overload]
    if isinstance(node, Coe):
        if (node.src, node.ty) != (Num.NAT, Num.INT):
            raise NotCore("coercion")
        return f"(Int.ofNat {render(node.arg, env, ev)})"
    if isinstance(node, Arith):
        if node.ty not in _LEAN_TY:
            raise NotCore("arith type")
        a = [render(x, env, ev) for x in node.args]
        if node.op == "neg":
            return f"(-{a[0]})"
        sym = {"add": "+", "sub": "-", "mul": "*", "div": "/", "mod": "%"}.get(node.op)
        if sym is None:
            raise NotCore(node.op)
        return f"({a[0]} {sym} {a[1]})"
    if isinstance(node, Pow):
        if node.ty not in _LEAN_TY or node.exp_ty != Num.NAT:
            raise NotCore("pow")
        return f"({render(node.base, env, ev)} ^ {render(node.exp, env, ev)})"
    if isinstance(node, Cmp):
        if node.ty not in _LEAN_TY:
            raise NotCore("relation type")
        a, b = render(node.lhs, env, ev), render(node.rhs, env, ev)
        if node.op == "dvd":
            # a ∣ b ↔ b % a = 0 holds for Lean's % on ℕ and ℤ (b % 0 = b)
            return f"({b} % {a} = 0)"
        return f"({a} {_CMP[node.op]} {b})"
    if isinstance(node, ModEq):
        if node.ty not in _LEAN_TY:
            raise NotCore("modeq type")
        n = render(node.modulus, env, ev)
        return f"({render(node.lhs, env, ev)} % {n} = {render(node.rhs, env, ev)} % {n})"
    if isinstance(node, Logic):
        if node.op == "true":
            return "True"
        if node.op == "false":
            return "False"
        if node.op == "not":
            return f"(¬ {render(node.args[0], env, ev)})"
        return f"({render(node.args[0], env, ev)} {_LOGIC[node.op]} {render(node.args[1], env, ev)})"
    if isinstance(node, Call) and node.fn in _CORE_CALLS and _CORE_CALLS[node.fn] is not None:
        args = " ".join(render(a, env, ev) for a in node.args)
        return f"({_CORE_CALLS[node.fn]} {args})"
    raise NotCore(type(node).__name__)


def instance_code(problem: Problem, env: Mapping[str, object]) -> str:
    """``example : ¬ (H₁ → … → C) := by decide`` for the instantiated problem.

    Hypotheses that define function variables are not listed: the instance takes the
    functions they define, unfolded where they are applied.
    """
    ev = Evaluator(functions=dict(problem.functions))
    parts = [render(h, env, ev) for _, h in problem.hypotheses] + [render(problem.conclusion, env, ev)]
    return f"example : ¬ ({' → '.join(parts)}) := by decide"


def confirm(
    problem: Problem, env: Mapping[str, object], lean: LeanChecker | None
) -> tuple[LeanStatus, str | None]:
    """Ask Lean to prove the negation of the instance; the status and the code sent."""
    try:
        code = instance_code(problem, env)
    except (NotCore, KeyError, TypeError, ValueError):
        return LeanStatus.NOT_CORE, None
    if lean is None:
        return LeanStatus.NO_LEAN, code
    try:
        result = lean.check(code)
    except (OSError, RuntimeError, TimeoutError):
        # an infrastructure fault of the Lean process is not a verdict on the statement
        return LeanStatus.LEAN_FAILED, code
    return (LeanStatus.CONFIRMED if result.ok else LeanStatus.REJECTED), code
