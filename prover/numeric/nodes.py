"""The typed terms produced by elaboration and consumed by evaluation.

Every numeric node carries its Lean type (after coercions were inserted at the leaves, as
Lean's ``binop%`` elaborator does), so evaluation can apply the right semantics: truncated
subtraction on ℕ, Euclidean division on ℤ, ``x / 0 = 0`` in fields, and so on.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from prover.numeric.types import Num, Ty


@dataclass(frozen=True, slots=True)
class Lit:
    """A numeral of type ``ty`` (decimal literals only in fields)."""

    value: Fraction
    ty: Num


@dataclass(frozen=True, slots=True)
class Ref:
    """A variable: a theorem binder or a bound variable."""

    name: str
    ty: Ty


@dataclass(frozen=True, slots=True)
class Coe:
    """The coercion ``↑arg`` from ``src`` up to ``ty``."""

    arg: Node
    src: Num
    ty: Num


@dataclass(frozen=True, slots=True)
class Arith:
    """``add sub mul div mod neg inv`` at type ``ty``."""

    op: str
    args: tuple[Node, ...]
    ty: Num


@dataclass(frozen=True, slots=True)
class Pow:
    """``base ^ exp``: monoid power (ℕ exponent), zpow (ℤ) or rpow (ℝ)."""

    base: Node
    exp: Node
    ty: Num
    exp_ty: Num


@dataclass(frozen=True, slots=True)
class Call:
    """A known library function, looked up by its Lean name in :mod:`builtins`."""

    fn: str
    args: tuple[Node, ...]
    ty: Ty


@dataclass(frozen=True, slots=True)
class UserApp:
    """Application of a function-typed variable (given by a defining hypothesis)."""

    name: str
    args: tuple[Node, ...]
    ty: Num


@dataclass(frozen=True, slots=True)
class Cmp:
    """A relation ``= ≠ < ≤ > ≥ ∣`` between two numbers of type ``ty``."""

    op: str
    lhs: Node
    rhs: Node
    ty: Num


@dataclass(frozen=True, slots=True)
class Mem:
    """``elem ∈ coll`` (or ``∉`` when ``negated``) for a finite collection."""

    elem: Node
    coll: Node
    negated: bool


@dataclass(frozen=True, slots=True)
class ModEq:
    """``a ≡ b [MOD n]`` / ``[ZMOD n]``: equal remainders (Lean's ``%``)."""

    lhs: Node
    rhs: Node
    modulus: Node
    ty: Num


@dataclass(frozen=True, slots=True)
class Logic:
    """``and or not imp iff`` of propositions, and the constants ``True``/``False``."""

    op: str
    args: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Quant:
    """``∀``/``∃``/``∃!`` over one variable.

    ``domain`` is a finite collection term when the binder was ``x ∈ s`` (the body then
    already contains the guard Lean inserts); None means the whole type.
    """

    kind: str
    var: str
    var_ty: Num
    domain: Node | None
    body: Node


@dataclass(frozen=True, slots=True)
class BigOp:
    """``∑``/``∏`` of ``body`` over the finite set ``coll``."""

    kind: str
    var: str
    var_ty: Num
    coll: Node
    body: Node
    ty: Num


@dataclass(frozen=True, slots=True)
class Integral:
    """The interval integral ``∫ var in lo..hi, body`` over ℝ."""

    var: str
    lo: Node
    hi: Node
    body: Node
    ty: Num = Num.REAL


@dataclass(frozen=True, slots=True)
class Ite:
    """``if cond then a else b``."""

    cond: Node
    then: Node
    other: Node
    ty: Ty


@dataclass(frozen=True, slots=True)
class FinsetLit:
    """A literal finite set ``{a, b, c}``."""

    elems: tuple[Node, ...]
    elem_ty: Num


@dataclass(frozen=True, slots=True)
class Filter:
    """``Finset.filter (fun var => pred) coll``."""

    var: str
    pred: Node
    coll: Node
    elem_ty: Num


@dataclass(frozen=True, slots=True)
class Lam:
    """``fun var => body`` (only as the definition of a function variable)."""

    params: tuple[tuple[str, Num], ...]
    body: Node
    ty: Ty


Node = (
    Lit
    | Ref
    | Coe
    | Arith
    | Pow
    | Call
    | UserApp
    | Cmp
    | Mem
    | ModEq
    | Logic
    | Quant
    | BigOp
    | Integral
    | Ite
    | FinsetLit
    | Filter
    | Lam
)
