"""The small type language of the checker: Lean's number types, Prop, and a few containers."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class Num(IntEnum):
    """Lean's number types, ordered by the coercions Lean inserts (ℕ → ℤ → ℚ → ℝ → ℂ)."""

    NAT = 0
    INT = 1
    RAT = 2
    REAL = 3
    COMPLEX = 4

    @property
    def lean(self) -> str:
        return _LEAN_NAMES[self]

    @property
    def is_field(self) -> bool:
        return self >= Num.RAT


_LEAN_NAMES = {Num.NAT: "ℕ", Num.INT: "ℤ", Num.RAT: "ℚ", Num.REAL: "ℝ", Num.COMPLEX: "ℂ"}

TYPE_NAMES: dict[str, Num] = {
    "ℕ": Num.NAT,
    "Nat": Num.NAT,
    "ℤ": Num.INT,
    "Int": Num.INT,
    "ℚ": Num.RAT,
    "Rat": Num.RAT,
    "ℝ": Num.REAL,
    "Real": Num.REAL,
    "ℂ": Num.COMPLEX,
    "Complex": Num.COMPLEX,
}


@dataclass(frozen=True, slots=True)
class PropTy:
    """The type of propositions."""


@dataclass(frozen=True, slots=True)
class FunTy:
    """A function between number types, e.g. ``ℕ → ℝ``."""

    args: tuple[Num, ...]
    ret: Num


@dataclass(frozen=True, slots=True)
class FinsetTy:
    """``Finset α`` (also used for ``Set α`` literals that are finite)."""

    elem: Num


@dataclass(frozen=True, slots=True)
class ListTy:
    """``List α`` (what ``Nat.digits`` returns)."""

    elem: Num


Ty = Num | PropTy | FunTy | FinsetTy | ListTy
PROP = PropTy()


def join(a: Num | None, b: Num | None) -> Num | None:
    """The larger of two number types (None means "not yet known")."""
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)
