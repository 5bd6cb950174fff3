"""Exact sign and zero decisions for real and complex numbers held as sympy expressions.

Rational numbers are decided directly.  Other closed real expressions (radicals, π, exp,
log, trigonometric values) are enclosed with mpmath interval arithmetic at increasing
precision: a sign is reported only when the enclosing interval excludes zero.  Equality
with zero is reported only when it is proved: for algebraic numbers by their minimal
polynomial being ``x``.  Anything else raises :class:`Undetermined`.
"""

from __future__ import annotations

import mpmath
import sympy

from prover.numeric.errors import Undetermined

_PRECISIONS = (60, 200)
_X = sympy.Symbol("_x")


def _iv(e: sympy.Expr, iv: mpmath.ctx_iv.ivmpf) -> object:  # type: ignore[name-defined]
    """Enclose a closed real sympy expression in an mpmath interval."""
    ctx = mpmath.iv
    if e.is_Integer:
        return ctx.mpf(int(e))
    if e.is_Rational:
        return ctx.mpf(int(e.p)) / ctx.mpf(int(e.q))
    if e is sympy.pi:
        return ctx.pi
    if e is sympy.E:
        return ctx.e
    if e.is_Add:
        total = ctx.mpf(0)
        for a in e.args:
            total = total + _iv(a, iv)
        return total
    if e.is_Mul:
        prod = ctx.mpf(1)
        for a in e.args:
            prod = prod * _iv(a, iv)
        return prod
    if e.is_Pow:
        base, ex = e.args
        b = _iv(base, iv)
        if ex.is_Integer:
            n = int(ex)
            if n >= 0:
                return b**n
            return 1 / (b**-n)
        if ex == sympy.S.Half:
            if b.a < 0:  # type: ignore[attr-defined]
                raise Undetermined("square root of a possibly negative number")
            return ctx.sqrt(b)
        if b.a <= 0:  # type: ignore[attr-defined]
            raise Undetermined("real power of a possibly non-positive base")
        return ctx.exp(ctx.log(b) * _iv(ex, iv))
    if isinstance(e, sympy.exp):
        return ctx.exp(_iv(e.args[0], iv))
    if isinstance(e, sympy.log):
        a = _iv(e.args[0], iv)
        if a.a <= 0:  # type: ignore[attr-defined]
            raise Undetermined("logarithm of a possibly non-positive number")
        return ctx.log(a)
    if isinstance(e, sympy.sin):
        return ctx.sin(_iv(e.args[0], iv))
    if isinstance(e, sympy.cos):
        return ctx.cos(_iv(e.args[0], iv))
    if isinstance(e, sympy.tan):
        return ctx.tan(_iv(e.args[0], iv))
    if isinstance(e, sympy.Abs):
        a = _iv(e.args[0], iv)
        return abs(a)
    raise Undetermined(f"no interval enclosure for {type(e).__name__}")


def enclose(e: sympy.Expr, prec: int = 60) -> tuple[mpmath.mpf, mpmath.mpf]:
    """A rigorous enclosure ``(lo, hi)`` of a closed real expression."""
    ctx = mpmath.iv
    saved = ctx.prec
    ctx.prec = prec
    try:
        v = _iv(sympy.sympify(e), None)
        return v.a, v.b  # type: ignore[attr-defined]
    except (ArithmeticError, ValueError, TypeError) as err:
        # mpmath refuses some enclosures (e.g. overflow, a pole inside the interval)
        raise Undetermined(f"interval arithmetic failed: {err}") from err
    finally:
        ctx.prec = saved


def _is_algebraic(e: sympy.Expr) -> bool:
    return all(a.is_Rational for a in e.atoms(sympy.Number)) and not e.has(
        sympy.pi, sympy.E, sympy.exp, sympy.log, sympy.sin, sympy.cos, sympy.tan, sympy.atan
    )


def sign(e: object) -> int:
    """The exact sign (-1, 0, 1) of a closed real number, or raise :class:`Undetermined`."""
    if isinstance(e, int):
        return (e > 0) - (e < 0)
    e = sympy.sympify(e)
    if e.is_Rational:
        return int(e.p > 0) - int(e.p < 0)
    if e.free_symbols:
        raise Undetermined("expression still has free variables")
    if e.has(sympy.I) or e.has(sympy.zoo, sympy.nan, sympy.oo):
        raise Undetermined("not a real number")
    for prec in _PRECISIONS:
        lo, hi = enclose(e, prec)
        if lo > 0:
            return 1
        if hi < 0:
            return -1
    if _is_algebraic(e):
        try:
            mp = sympy.minimal_polynomial(e, _X)
        except (NotImplementedError, ValueError) as err:
            raise Undetermined(f"cannot decide whether {e} is zero") from err
        if sympy.Poly(mp, _X).as_expr() == _X:
            return 0
    raise Undetermined(f"cannot decide the sign of {e}")


def is_zero(e: object) -> bool:
    """Whether a closed real or complex number is exactly zero (or raise Undetermined)."""
    if isinstance(e, int):
        return e == 0
    e = sympy.sympify(e)
    if e.is_Rational:
        return e == 0
    if e.has(sympy.I):
        re, im = sympy.expand_complex(e).as_real_imag()
        return sign(re) == 0 and sign(im) == 0
    return sign(e) == 0


def to_int_exact(e: object) -> int:
    """The floor of a closed real number, decided exactly."""
    if isinstance(e, int):
        return e
    e = sympy.sympify(e)
    if e.is_Rational:
        return int(sympy.floor(e))
    lo, hi = enclose(e, 200)
    fl = int(mpmath.floor(lo))
    if mpmath.floor(hi) == fl:
        # lo <= e <= hi < fl + 1 and e >= lo >= fl
        return fl
    cand = int(mpmath.floor(hi))
    if sign(e - cand) >= 0:
        return cand
    return cand - 1
