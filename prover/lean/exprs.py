"""Lean's elaborated expressions as typed trees: what the `terms` request returns.

Each goal arrives as a faithful encoding of the instantiated `Expr` (metadata dropped, application
spines flattened): fully qualified constants with their universe levels, explicit type and
instance arguments, literals, binders with their binder info, free variables by id. Nothing here
is recovered from pretty-printed text.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from prover.lean.errors import LeanProtocolError


class BinderInfo(str, Enum):
    DEFAULT = "default"
    IMPLICIT = "implicit"
    STRICT_IMPLICIT = "strict_implicit"
    INST_IMPLICIT = "inst_implicit"


@dataclass(frozen=True, slots=True)
class Level:
    """A universe level: `kind` is zero, succ, max, imax, param or mvar."""

    kind: str
    args: tuple[Level, ...] = ()
    name: str = ""


@dataclass(frozen=True, slots=True)
class Const:
    name: str
    levels: tuple[Level, ...] = ()


@dataclass(frozen=True, slots=True)
class App:
    """`fn a₁ … aₙ` with the whole spine flattened (`fn` is never an `App`)."""

    fn: Expr
    args: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class FVar:
    id: str


@dataclass(frozen=True, slots=True)
class BVar:
    index: int  # de Bruijn index


@dataclass(frozen=True, slots=True)
class MVar:
    id: str


@dataclass(frozen=True, slots=True)
class Sort:
    level: Level


@dataclass(frozen=True, slots=True)
class Lam:
    name: str
    type: Expr
    body: Expr
    binder: BinderInfo = BinderInfo.DEFAULT


@dataclass(frozen=True, slots=True)
class Forall:
    name: str
    type: Expr
    body: Expr
    binder: BinderInfo = BinderInfo.DEFAULT


@dataclass(frozen=True, slots=True)
class Let:
    name: str
    type: Expr
    value: Expr
    body: Expr


@dataclass(frozen=True, slots=True)
class NatLit:
    value: int


@dataclass(frozen=True, slots=True)
class StrLit:
    value: str


@dataclass(frozen=True, slots=True)
class Proj:
    struct: str
    index: int
    expr: Expr


Expr = Const | App | FVar | BVar | MVar | Sort | Lam | Forall | Let | NatLit | StrLit | Proj


@dataclass(frozen=True, slots=True)
class HypTerm:
    name: str  # the user-facing name (`n✝` for an inaccessible one)
    fvar: str  # the free variable's id, as the goal's terms refer to it
    type: Expr
    value: Expr | None = None  # the body of a `let`/`set`


@dataclass(frozen=True, slots=True)
class GoalTerms:
    """One open goal as trees; `too_large` goals (past the server's node cap) carry none."""

    tag: str | None
    hypotheses: tuple[HypTerm, ...]
    target: Expr | None
    too_large: bool = False


def mentions_bvar(e: Expr, i: int = 0) -> bool:
    """Whether `e` mentions bound variable `i` (de Bruijn, counted from where `e` stands)."""
    if isinstance(e, BVar):
        return e.index == i
    if isinstance(e, App):
        return mentions_bvar(e.fn, i) or any(mentions_bvar(a, i) for a in e.args)
    if isinstance(e, (Lam, Forall)):
        return mentions_bvar(e.type, i) or mentions_bvar(e.body, i + 1)
    if isinstance(e, Let):
        return mentions_bvar(e.type, i) or mentions_bvar(e.value, i) or mentions_bvar(e.body, i + 1)
    if isinstance(e, Proj):
        return mentions_bvar(e.expr, i)
    return False


def level_from_json(d: dict[str, Any]) -> Level:
    k = d["k"]
    if k == "succ":
        return Level(k, (level_from_json(d["u"]),))
    if k in ("max", "imax"):
        return Level(k, (level_from_json(d["a"]), level_from_json(d["b"])))
    return Level(k, (), d.get("n", ""))


def expr_from_json(d: dict[str, Any]) -> Expr:
    """Decode one tree; raises `LeanProtocolError` on a node kind this client does not know."""
    k = d.get("k")
    if k == "const":
        return Const(d["n"], tuple(level_from_json(u) for u in d["u"]))
    if k == "app":
        return App(expr_from_json(d["f"]), tuple(expr_from_json(a) for a in d["a"]))
    if k == "fvar":
        return FVar(d["id"])
    if k == "bvar":
        return BVar(int(d["i"]))
    if k == "mvar":
        return MVar(d["id"])
    if k == "sort":
        return Sort(level_from_json(d["u"]))
    if k in ("lam", "forall"):
        cls = Lam if k == "lam" else Forall
        return cls(d["n"], expr_from_json(d["t"]), expr_from_json(d["b"]), BinderInfo(d["bi"]))
    if k == "let":
        return Let(d["n"], expr_from_json(d["t"]), expr_from_json(d["v"]), expr_from_json(d["b"]))
    if k == "nat":
        return NatLit(int(d["v"]))
    if k == "str":
        return StrLit(d["v"])
    if k == "proj":
        return Proj(d["s"], int(d["i"]), expr_from_json(d["e"]))
    raise LeanProtocolError(f"unknown expression node {k!r}")


def goal_terms_from_json(d: dict[str, Any]) -> GoalTerms:
    tag = d.get("tag") or None
    tag = None if tag == "[anonymous]" else tag
    if d.get("too_large"):
        return GoalTerms(tag, (), None, too_large=True)
    hyps = tuple(
        HypTerm(h["name"], h["fvar"], expr_from_json(h["type"]),
                None if h.get("value") is None else expr_from_json(h["value"]))
        for h in d["hyps"]
    )
    return GoalTerms(tag, hyps, expr_from_json(d["target"]))


class RefuteStatus(str, Enum):
    """Lean's answer for one assignment of a `refute` request."""

    CONFIRMED = "confirmed"  # the kernel accepted `of_decide_eq_true rfl : ¬ (H₁ → … → T)`
    NOT_CONFIRMED = "not_confirmed"  # the kernel rejected it: the instance holds, or is stuck
    NOT_DECIDABLE = "not_decidable"  # no `Decidable` instance for the closed instance
    NOT_CLOSED = "not_closed"  # a free variable (a function, a proof) was left unassigned
    BAD_VALUE = "bad_value"  # a value did not elaborate at its variable's type
    ERROR = "error"  # elaboration threw (e.g. heartbeats)
