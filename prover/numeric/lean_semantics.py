"""Lean 4's definitions of the operations where they differ from school arithmetic.

Each function computes exactly what the corresponding Lean 4 / Mathlib definition computes,
on Python integers (ℕ, ℤ).  The field cases (``x / 0 = 0``, ``Real.sqrt`` of a negative
number) are handled in :mod:`prover.numeric.evaluate`, which owns the exact real values.
"""

from __future__ import annotations


def nat_sub(a: int, b: int) -> int:
    """Truncated subtraction on ℕ: ``2 - 5 = 0``."""
    return a - b if a >= b else 0


def nat_div(a: int, b: int) -> int:
    """``Nat.div``: floor division, and ``a / 0 = 0``."""
    return 0 if b == 0 else a // b


def nat_mod(a: int, b: int) -> int:
    """``Nat.mod``: ``a % 0 = a``."""
    return a if b == 0 else a % b


def int_ediv(a: int, b: int) -> int:
    """``Int.div`` as Lean 4 core defines ``/`` on ℤ (Euclidean: ``Int.ediv``).

    The remainder ``a - b * (a / b)`` is always in ``[0, |b|)``; ``a / 0 = 0``.
    Examples: ``-7 / 2 = -4``, ``7 / -2 = -3``, ``-7 / -2 = 4``.
    """
    if b == 0:
        return 0
    q = a // abs(b)  # floor division by |b| gives the non-negative remainder
    return q if b > 0 else -q


def int_emod(a: int, b: int) -> int:
    """``Int.emod`` (Lean's ``%`` on ℤ): result in ``[0, |b|)``, and ``a % 0 = a``."""
    if b == 0:
        return a
    return a % abs(b)


def int_tdiv(a: int, b: int) -> int:
    """``Int.tdiv``: division rounding toward zero, ``a / 0 = 0``."""
    if b == 0:
        return 0
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def int_fdiv(a: int, b: int) -> int:
    """``Int.fdiv``: floor division, ``a / 0 = 0``."""
    return 0 if b == 0 else a // b


def int_tmod(a: int, b: int) -> int:
    """``Int.tmod``: the remainder of ``tdiv`` (the sign of ``a``), ``a % 0 = a``."""
    return a - b * int_tdiv(a, b)


def int_fmod(a: int, b: int) -> int:
    """``Int.fmod``: the remainder of ``fdiv`` (the sign of ``b``), ``a % 0 = a``."""
    return a if b == 0 else a % b


def nat_pred(a: int) -> int:
    """``Nat.pred``: ``pred 0 = 0``."""
    return a - 1 if a > 0 else 0


def int_to_nat(a: int) -> int:
    """``Int.toNat``: negative integers go to 0."""
    return a if a > 0 else 0


def nat_sqrt(a: int) -> int:
    """``Nat.sqrt``: the floor of the square root."""
    from math import isqrt

    return isqrt(a)
