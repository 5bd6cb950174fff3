"""The library functions the checker models: their Lean names, aliases and signatures.

A signature lists argument kinds and the result kind.  A kind is a concrete :class:`Num`,
``"a"`` (one number type shared by all ``"a"`` positions, fixed by the arguments or by the
surrounding expression), ``"f"`` (a field, ℝ when nothing fixes it), ``PROP``, or a
container.  The evaluation of each name lives in :mod:`prover.numeric.evaluate`.
"""

from __future__ import annotations

from dataclasses import dataclass

from prover.numeric.types import PROP, FinsetTy, ListTy, Num, PropTy

Kind = Num | str | PropTy | FinsetTy | ListTy

N, Z, R, C = Num.NAT, Num.INT, Num.REAL, Num.COMPLEX


@dataclass(frozen=True, slots=True)
class Signature:
    args: tuple[Kind, ...]
    ret: Kind


SIGNATURES: dict[str, Signature] = {
    "Real.sqrt": Signature((R,), R),
    "Real.exp": Signature((R,), R),
    "Real.log": Signature((R,), R),
    "Real.sin": Signature((R,), R),
    "Real.cos": Signature((R,), R),
    "Real.tan": Signature((R,), R),
    "Real.arctan": Signature((R,), R),
    "Real.logb": Signature((R, R), R),
    "Real.pi": Signature((), R),
    "Nat.factorial": Signature((N,), N),
    "Nat.choose": Signature((N, N), N),
    "Nat.gcd": Signature((N, N), N),
    "Nat.lcm": Signature((N, N), N),
    "Nat.succ": Signature((N,), N),
    "Nat.pred": Signature((N,), N),
    "Nat.sqrt": Signature((N,), N),
    "Nat.totient": Signature((N,), N),
    "Nat.Prime": Signature((N,), PROP),
    "Nat.Coprime": Signature((N, N), PROP),
    "Nat.ModEq": Signature((N, N, N), PROP),
    "Nat.divisors": Signature((N,), FinsetTy(N)),
    "Nat.properDivisors": Signature((N,), FinsetTy(N)),
    "Nat.digits": Signature((N, N), ListTy(N)),
    "Int.gcd": Signature((Z, Z), N),
    "Int.lcm": Signature((Z, Z), N),
    "Int.natAbs": Signature((Z,), N),
    "Int.toNat": Signature((Z,), N),
    "Int.emod": Signature((Z, Z), Z),
    "Int.ediv": Signature((Z, Z), Z),
    "Int.fdiv": Signature((Z, Z), Z),
    "Int.tdiv": Signature((Z, Z), Z),
    "Int.tmod": Signature((Z, Z), Z),
    "Int.fmod": Signature((Z, Z), Z),
    "Int.ModEq": Signature((Z, Z, Z), PROP),
    "Int.floor": Signature(("f",), Z),
    "Int.ceil": Signature(("f",), Z),
    "Nat.floor": Signature(("f",), N),
    "Nat.ceil": Signature(("f",), N),
    "Int.fract": Signature(("f",), "f"),
    "abs": Signature(("a",), "a"),
    "min": Signature(("a", "a"), "a"),
    "max": Signature(("a", "a"), "a"),
    "gcd": Signature(("a", "a"), "a"),
    "lcm": Signature(("a", "a"), "a"),
    "Even": Signature(("a",), PROP),
    "Odd": Signature(("a",), PROP),
    "Finset.range": Signature((N,), FinsetTy(N)),
    "Finset.Icc": Signature(("a", "a"), "finset"),
    "Finset.Ico": Signature(("a", "a"), "finset"),
    "Finset.Ioc": Signature(("a", "a"), "finset"),
    "Finset.Ioo": Signature(("a", "a"), "finset"),
    "Set.Icc": Signature(("a", "a"), "set"),
    "Set.Ico": Signature(("a", "a"), "set"),
    "Set.Ioc": Signature(("a", "a"), "set"),
    "Set.Ioo": Signature(("a", "a"), "set"),
    "Set.Ici": Signature(("a",), "set"),
    "Set.Ioi": Signature(("a",), "set"),
    "Set.Iic": Signature(("a",), "set"),
    "Set.Iio": Signature(("a",), "set"),
    "Complex.I": Signature((), C),
    "Complex.abs": Signature((C,), R),
    "Complex.re": Signature((C,), R),
    "Complex.im": Signature((C,), R),
}

# Unqualified names as they resolve with the miniF2F header ``open Real Nat ...``.
ALIASES: dict[str, str] = {
    "sqrt": "Real.sqrt",
    "exp": "Real.exp",
    "log": "Real.log",
    "sin": "Real.sin",
    "cos": "Real.cos",
    "tan": "Real.tan",
    "arctan": "Real.arctan",
    "logb": "Real.logb",
    "π": "Real.pi",
    "pi": "Real.pi",
    "factorial": "Nat.factorial",
    "choose": "Nat.choose",
    "succ": "Nat.succ",
    "pred": "Nat.pred",
    "totient": "Nat.totient",
    "φ": "Nat.totient",
    "digits": "Nat.digits",
    "divisors": "Nat.divisors",
    "Prime": "Nat.Prime",
    "Nat.prime": "Nat.Prime",
    "Coprime": "Nat.Coprime",
    "Nat.coprime": "Nat.Coprime",
    "Real.rpow": "rpow",
    # `Int.div`/`Int.mod` are the T-rounding pair (Lean 4 core; now `Int.tdiv`/`Int.tmod`), not `/`/`%`
    "Int.div": "Int.tdiv",
    "Int.mod": "Int.tmod",
    "Nat.abs": "abs",
    "|": "abs",
    "Finset.Icc": "Finset.Icc",
    "I": "Complex.I",
    "range": "Finset.range",
    "Icc": "Finset.Icc",
    "Ico": "Finset.Ico",
}

# Functions whose result field is chosen by dot notation, e.g. ``n.factorial``.
DOT_NAMESPACES: dict[str, str] = {"ℕ": "Nat", "ℤ": "Int", "finset": "Finset", "list": "List"}


def resolve(name: str) -> str | None:
    """The canonical Lean name of a library function, or None if it is not modelled."""
    if name in SIGNATURES:
        return name
    alias = ALIASES.get(name)
    if alias is not None and alias in SIGNATURES:
        return alias
    for ns in ("Real.", "Nat.", "Finset."):
        if ns + name in SIGNATURES:
            return ns + name
    return None
