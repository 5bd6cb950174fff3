"""Exact evaluation of Lean's elaborated goals (`prover.lean.exprs` trees).

Semantics are chosen by the type in the tree, never guessed from text: `HSub.hSub ℕ ℕ ℕ` is
truncated subtraction, `HDiv.hDiv ℤ` is `Int.ediv`, `HAdd.hAdd (Fin 4)` wraps modulo 4,
`UInt8` modulo 2⁸, `Rat` is exact. An operation is modelled only when its constant AND its
instance are the standard core ones (every constant in the instance is a known core instance);
any other constant raises `UnknownConstant`, which Lean itself may still decide
(`LeanServer.refute`).

Values: ℕ, ℤ, `Fin n` (its value), `UIntN` (unsigned), `IntN` (signed) are Python ints, `Rat` is
a `Fraction`, `Bool` a bool. Truth values are True / False / None (not decided exactly).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from enum import Enum
from fractions import Fraction
from typing import Any

from prover.lean.exprs import (
    App,
    BVar,
    Const,
    Expr,
    Forall,
    FVar,
    Lam,
    Let,
    NatLit,
    Proj,
    Sort,
    mentions_bvar,
)
from prover.numeric import lean_semantics as ls
from prover.numeric.errors import Undetermined, Unsupported


class Kind(str, Enum):
    NAT = "Nat"
    INT = "Int"
    FIN = "Fin"
    UINT = "UInt"
    SINT = "SInt"
    BOOL = "Bool"
    RAT = "Rat"


@dataclass(frozen=True, slots=True)
class Ty:
    """A value type the evaluator models; `size` is `n` for `Fin n`, the bit width for `UIntN`/`IntN`."""

    kind: Kind
    size: int = 0
    name: str = ""  # the Lean type constant ("UInt8", "Int16", "Nat", ...)

    def __str__(self) -> str:
        return f"Fin {self.size}" if self.kind is Kind.FIN else self.name


class UnknownConstant(Unsupported):
    """A constant (or an instance) the evaluator does not model: a user's `def`, a library
    function, a non-standard instance. Lean may still decide the closed instance."""

    def __init__(self, name: str) -> None:
        super().__init__(f"`{name}` is not modelled")
        self.name = name


NAT = Ty(Kind.NAT, 0, "Nat")
INT = Ty(Kind.INT, 0, "Int")
BOOL = Ty(Kind.BOOL, 0, "Bool")
RAT = Ty(Kind.RAT, 0, "Rat")
_FIXED = {"Nat": NAT, "Int": INT, "Bool": BOOL, "Rat": RAT}
_BITS = {"8": 8, "16": 16, "32": 32, "64": 64}
for _b, _n in _BITS.items():
    _FIXED[f"UInt{_b}"] = Ty(Kind.UINT, _n, f"UInt{_b}")
    _FIXED[f"Int{_b}"] = Ty(Kind.SINT, _n, f"Int{_b}")

# The standard core instance of each operation, per type: the path of instance heads from the
# outer `instHAdd`-style wrapper inwards (read off the real Lean's elaborated terms; the tests
# check them against Lean). `{T}` is the type's name (UIntN, IntN).
_MACHINE = {
    "add": ("instAdd{T}",), "sub": ("instSub{T}",), "mul": ("instMul{T}",), "div": ("instDiv{T}",),
    "mod": ("instMod{T}",), "pow": ("instPow{T}Nat",), "lt": ("instLT{T}",), "le": ("instLE{T}",),
    "min": ("instMin{T}",), "max": ("instMax{T}",), "deceq": ("instDecidableEq{T}",),
}
_INSTANCES: dict[tuple[str, str], tuple[str, ...]] = {
    ("add", "Nat"): ("instAddNat",), ("add", "Int"): ("Int.instAdd",), ("add", "Rat"): ("Rat.instAdd",),
    ("add", "Fin"): ("Fin.instAdd",),
    ("sub", "Nat"): ("instSubNat",), ("sub", "Int"): ("Int.instSub",), ("sub", "Rat"): ("Rat.instSub",),
    ("sub", "Fin"): ("Fin.instSub",),
    ("mul", "Nat"): ("instMulNat",), ("mul", "Int"): ("Int.instMul",), ("mul", "Rat"): ("Rat.instMul",),
    ("mul", "Fin"): ("Fin.instMul",),
    ("div", "Nat"): ("Nat.instDiv",), ("div", "Int"): ("Int.instDiv",), ("div", "Rat"): ("Rat.instDiv",),
    ("div", "Fin"): ("Fin.instDiv",),
    ("mod", "Nat"): ("Nat.instMod",), ("mod", "Int"): ("Int.instMod",), ("mod", "Fin"): ("Fin.instMod",),
    ("pow", "Nat"): ("instPowNat", "instNatPowNat"), ("pow", "Int"): ("instPowNat", "Int.instNatPow"),
    ("pow", "Rat"): ("Rat.instPowNat",),
    ("neg", "Int"): ("Int.instNegInt",), ("neg", "Rat"): ("Rat.instNeg",), ("neg", "Fin"): ("Fin.neg",),
    ("lt", "Nat"): ("instLTNat",), ("lt", "Int"): ("Int.instLTInt",), ("lt", "Rat"): ("Rat.instLT",),
    ("lt", "Fin"): ("instLTFin",),
    ("le", "Nat"): ("instLENat",), ("le", "Int"): ("Int.instLEInt",), ("le", "Rat"): ("Rat.instLE",),
    ("le", "Fin"): ("instLEFin",),
    ("min", "Nat"): ("instMinNat",), ("min", "Int"): ("Int.instMin",), ("min", "Rat"): ("Rat.instMin",),
    ("max", "Nat"): ("Nat.instMax",), ("max", "Int"): ("Int.instMax",), ("max", "Rat"): ("Rat.instMax",),
    ("dvd", "Nat"): ("Nat.instDvd",), ("dvd", "Int"): ("Int.instDvd",),
    ("deceq", "Nat"): ("instDecidableEqNat",), ("deceq", "Int"): ("Int.instDecidableEq",),
    ("deceq", "Rat"): ("instDecidableEqRat",), ("deceq", "Bool"): ("instDecidableEqBool",),
    ("deceq", "Fin"): ("instDecidableEqFin",),
    ("inv", "Rat"): ("Rat.instInv",),
    ("natcast", "Int"): ("instNatCastInt",), ("natcast", "Rat"): ("Rat.instNatCast",),
    ("intcast", "Rat"): ("Rat.instIntCast",),
    ("ofnat", "Nat"): ("instOfNatNat",), ("ofnat", "Int"): ("instOfNat",),
    ("ofnat", "Rat"): ("Rat.instOfNat",),
    ("ofnat", "Fin"): ("Fin.instOfNat",),
}
for _t in [n for n, t in _FIXED.items() if t.kind in (Kind.UINT, Kind.SINT)]:
    for _op, _path in _MACHINE.items():
        _INSTANCES[(_op, _t)] = tuple(p.replace("{T}", _t) for p in _path)
    _INSTANCES[("ofnat", _t)] = (f"{_t}.instOfNat",)
    _INSTANCES[("neg", _t)] = (f"instNeg{_t}",) if _t.startswith("U") else (f"{_t}.instNeg",)
_WRAPPERS = {"add": "instHAdd", "sub": "instHSub", "mul": "instHMul", "div": "instHDiv", "mod": "instHMod",
             "pow": "instHPow"}
_DECEQ_BEQ = "instBEqOfDecidableEq"
# Constants that may occur inside a standard instance besides the instances themselves: the types
# and numerals they are applied to.
_INSTANCE_ARGS = frozenset({"Nat", "Int", "Rat", "Bool", "Fin", "OfNat.ofNat", "instOfNatNat",
                            "Nat.instNeZeroSucc", "Nat.succ", *_FIXED})
_KNOWN_INSTANCES = frozenset({n for p in _INSTANCES.values() for n in p} | set(_WRAPPERS.values())
                             | {_DECEQ_BEQ})

_HOPS = {"HAdd.hAdd": "add", "HSub.hSub": "sub", "HMul.hMul": "mul", "HDiv.hDiv": "div", "HMod.hMod": "mod",
         "HPow.hPow": "pow"}
_RELS = {"LT.lt": "lt", "LE.le": "le", "GT.gt": "lt", "GE.ge": "le"}
MAX_POW_BITS = 4096  # results past this many bits are not computed (Undetermined)
MAX_ENUM = 300  # a quantifier over a finite domain larger than this is sampled, not enumerated


def _head(e: Expr) -> tuple[str | None, tuple[Expr, ...]]:
    if isinstance(e, App):
        return (e.fn.name if isinstance(e.fn, Const) else None), e.args
    if isinstance(e, Const):
        return e.name, ()
    return None, ()


def _consts(e: Expr) -> Iterator[Expr]:
    stack = [e]
    while stack:
        x = stack.pop()
        yield x
        if isinstance(x, App):
            stack.append(x.fn)
            stack.extend(x.args)
        elif isinstance(x, (Lam, Forall)):
            stack += [x.type, x.body]
        elif isinstance(x, Let):
            stack += [x.type, x.value, x.body]
        elif isinstance(x, Proj):
            stack.append(x.expr)


def _instance_path(inst: Expr) -> tuple[str, ...]:
    """Instance heads from the outside in, following each one's last argument that is itself an
    instance (`instHPow Nat Nat (instPowNat Nat instNatPowNat)` → the three heads)."""
    path: list[str] = []
    cur: Expr | None = inst
    while cur is not None:
        name, args = _head(cur)
        if name is None or name not in _KNOWN_INSTANCES:
            break
        path.append(name)
        cur = next((a for a in reversed(args) if _head(a)[0] in _KNOWN_INSTANCES), None)
    return tuple(path)


def standard_instance(inst: Expr, op: str, ty: Ty, wrapper: str | None = None) -> bool:
    """Whether `inst` is exactly the core instance of `op` on `ty` (no local instance, no
    user instance, nothing else inside it)."""
    key = "Fin" if ty.kind is Kind.FIN else ty.name
    want = _INSTANCES.get((op, key))
    if want is None:
        return False
    if wrapper is not None:
        want = (wrapper, *want)
    if _instance_path(inst) != want:
        return False
    for x in _consts(inst):
        if isinstance(x, (FVar, BVar)) or not isinstance(x, (Const, App, NatLit)):
            return False
        if isinstance(x, Const) and x.name not in _KNOWN_INSTANCES and x.name not in _INSTANCE_ARGS:
            return False
    return True


class Proof:
    """The value bound to a proof binder (`∀ h : p, …`, `dite`): proofs carry no number."""


_PROOF = Proof()


@dataclass(frozen=True, slots=True)
class Domain:
    values: tuple[Any, ...]
    complete: bool  # the whole type (or the whole bounded range), not a sample


def _nat_samples() -> tuple[int, ...]:
    return (*range(0, 13), 15, 16, 20, 25, 31, 32, 50, 63, 64, 99, 100, 127, 128, 255, 256, 1000, 1024)


def _int_samples() -> tuple[int, ...]:
    pos = _nat_samples()
    return tuple(v for p in pos for v in ((p, -p) if p else (0,)))


def _rat_samples() -> tuple[Fraction, ...]:
    base = [Fraction(v) for v in _int_samples()[:25]]
    return (*base, Fraction(1, 2), Fraction(-1, 2), Fraction(1, 3), Fraction(-1, 3), Fraction(3, 2),
            Fraction(-3, 2), Fraction(2, 3), Fraction(1, 4), Fraction(5, 2))


def _edges_first(values: range, edges: Sequence[int]) -> tuple[int, ...]:
    """All of `values`, the small ones and the edges (where junk values and wrap-around live)
    first, so that a sample of assignments meets them."""
    first = [v for v in (*range(0, 13), *edges) if v in values]
    seen = set(first)
    return (*dict.fromkeys(first), *(v for v in values if v not in seen))


def domain(ty: Ty) -> Domain:
    """The values a quantifier or a variable of type `ty` ranges over (all of them when small)."""
    if ty.kind is Kind.BOOL:
        return Domain((False, True), True)
    if ty.kind is Kind.FIN:
        if ty.size <= MAX_ENUM:
            return Domain(_edges_first(range(ty.size), (ty.size - 1, ty.size - 2, ty.size // 2)), True)
        near = {v for v in _nat_samples() if v < ty.size} | {ty.size - 1, ty.size - 2}
        return Domain(tuple(sorted(near)), False)
    if ty.kind is Kind.UINT:
        top = 1 << ty.size
        if top <= MAX_ENUM:
            return Domain(_edges_first(range(top), (top - 1, top - 2, top // 2, top // 2 - 1)), True)
        return Domain(tuple(sorted({v for v in _nat_samples() if v < top} | {top - 1, top - 2, top // 2,
                                                                              top // 2 - 1})), False)
    if ty.kind is Kind.SINT:
        half = 1 << (ty.size - 1)
        if 2 * half <= MAX_ENUM:
            return Domain(_edges_first(range(-half, half), (-1, -2, -half, half - 1, -half + 1)), True)
        return Domain(tuple(sorted({v for v in _int_samples() if -half <= v < half}
                                   | {-half, half - 1, -half + 1})), False)
    if ty.kind is Kind.NAT:
        return Domain(_nat_samples(), False)
    if ty.kind is Kind.INT:
        return Domain(_int_samples(), False)
    return Domain(_rat_samples(), False)


def _wrap(ty: Ty, v: int) -> int:
    if ty.kind is Kind.FIN:
        return v % ty.size
    if ty.kind is Kind.UINT:
        return v % (1 << ty.size)
    if ty.kind is Kind.SINT:
        half = 1 << (ty.size - 1)
        return (v + half) % (2 * half) - half
    return v


def _tdiv(a: int, b: int) -> int:
    return ls.int_tdiv(a, b)


def _tmod(a: int, b: int) -> int:
    return a if b == 0 else a - b * ls.int_tdiv(a, b)


def _fmod(a: int, b: int) -> int:
    return a if b == 0 else a % b


def _pow(ty: Ty, a: Any, k: int) -> Any:
    if ty.kind in (Kind.FIN, Kind.UINT):
        m = ty.size if ty.kind is Kind.FIN else 1 << ty.size
        return pow(a, k, m)
    if ty.kind is Kind.SINT:
        return _wrap(ty, pow(a, k, 1 << ty.size))
    if a in (0, 1) or k <= 1:
        return a ** k
    if a == -1:
        return 1 if k % 2 == 0 else -1
    size = (abs(a.numerator).bit_length() + abs(a.denominator).bit_length()) if isinstance(a, Fraction) \
        else abs(a).bit_length()
    if size * k > MAX_POW_BITS:
        raise Undetermined("power too large to compute")
    return a ** k


def _arith(op: str, ty: Ty, a: Any, b: Any) -> Any:
    k = ty.kind
    if op == "pow":
        return _pow(ty, a, b)
    if op == "add":
        return _wrap(ty, a + b)
    if op == "mul":
        return _wrap(ty, a * b)
    if op == "sub":
        if k is Kind.NAT:
            return ls.nat_sub(a, b)
        if k is Kind.FIN:
            return (a + (ty.size - b)) % ty.size  # Fin.sub: (a + (n - b)) % n
        return _wrap(ty, a - b)
    if op == "div":
        if k in (Kind.NAT, Kind.FIN, Kind.UINT):
            return ls.nat_div(a, b)
        if k is Kind.INT:
            return ls.int_ediv(a, b)
        if k is Kind.RAT:
            return Fraction(0) if b == 0 else a / b
        if k is Kind.SINT:  # BitVec.sdiv: rounds toward zero, x / 0 = 0, overflow wraps
            return _wrap(ty, _tdiv(a, b))
    if op == "mod":
        if k in (Kind.NAT, Kind.FIN, Kind.UINT):
            return ls.nat_mod(a, b)
        if k is Kind.INT:
            return ls.int_emod(a, b)
        if k is Kind.SINT:  # BitVec.srem: the sign of the dividend, x % 0 = x
            return _wrap(ty, _tmod(a, b))
    raise UnknownConstant(f"{op} on {ty}")


# Functions applied directly by name (no instance): name -> (argument types, result type, function).
_N, _I = NAT, INT
_DIRECT: dict[str, tuple[tuple[Ty, ...], Ty, Callable[..., Any]]] = {
    "Nat.add": ((_N, _N), _N, lambda a, b: a + b), "Nat.sub": ((_N, _N), _N, ls.nat_sub),
    "Nat.mul": ((_N, _N), _N, lambda a, b: a * b), "Nat.div": ((_N, _N), _N, ls.nat_div),
    "Nat.mod": ((_N, _N), _N, ls.nat_mod), "Nat.pow": ((_N, _N), _N, lambda a, b: _pow(NAT, a, b)),
    "Nat.succ": ((_N,), _N, lambda a: a + 1), "Nat.pred": ((_N,), _N, ls.nat_pred),
    "Nat.gcd": ((_N, _N), _N, lambda a, b: _gcd(a, b)), "Nat.lcm": ((_N, _N), _N, lambda a, b: _lcm(a, b)),
    "Nat.log2": ((_N,), _N, lambda a: max(a.bit_length() - 1, 0)),
    "Nat.min": ((_N, _N), _N, min), "Nat.max": ((_N, _N), _N, max),
    "Nat.beq": ((_N, _N), BOOL, lambda a, b: a == b), "Nat.ble": ((_N, _N), BOOL, lambda a, b: a <= b),
    "Nat.blt": ((_N, _N), BOOL, lambda a, b: a < b),
    "Int.add": ((_I, _I), _I, lambda a, b: a + b), "Int.sub": ((_I, _I), _I, lambda a, b: a - b),
    "Int.mul": ((_I, _I), _I, lambda a, b: a * b), "Int.neg": ((_I,), _I, lambda a: -a),
    "Int.ediv": ((_I, _I), _I, ls.int_ediv), "Int.emod": ((_I, _I), _I, ls.int_emod),
    "Int.tdiv": ((_I, _I), _I, _tdiv), "Int.tmod": ((_I, _I), _I, _tmod),
    "Int.fdiv": ((_I, _I), _I, ls.int_fdiv), "Int.fmod": ((_I, _I), _I, _fmod),
    "Int.natAbs": ((_I,), _N, abs), "Int.toNat": ((_I,), _N, ls.int_to_nat),
    "Int.gcd": ((_I, _I), _N, lambda a, b: _gcd(abs(a), abs(b))),
    "Int.lcm": ((_I, _I), _N, lambda a, b: _lcm(abs(a), abs(b))),
    "Int.ofNat": ((_N,), _I, lambda a: a), "Int.negSucc": ((_N,), _I, lambda a: -a - 1),
    "Int.pow": ((_I, _N), _I, lambda a, b: _pow(INT, a, b)),
    "Bool.and": ((BOOL, BOOL), BOOL, lambda a, b: a and b),
    "Bool.or": ((BOOL, BOOL), BOOL, lambda a, b: a or b),
    "Bool.not": ((BOOL,), BOOL, lambda a: not a), "Bool.xor": ((BOOL, BOOL), BOOL, lambda a, b: a != b),
    "and": ((BOOL, BOOL), BOOL, lambda a, b: a and b), "or": ((BOOL, BOOL), BOOL, lambda a, b: a or b),
    "not": ((BOOL,), BOOL, lambda a: not a),
}
_DIRECT["Rat.num"] = ((RAT,), INT, lambda q: q.numerator)
_DIRECT["Rat.den"] = ((RAT,), NAT, lambda q: q.denominator)
for _t, _ty in _FIXED.items():
    if _ty.kind is Kind.UINT:
        _DIRECT[f"{_t}.toNat"] = ((_ty,), NAT, lambda a: a)
        _DIRECT[f"Nat.to{_t}"] = ((NAT,), _ty, lambda a, _w=_ty: _wrap(_w, a))
    if _ty.kind is Kind.SINT:
        _DIRECT[f"{_t}.toInt"] = ((_ty,), INT, lambda a: a)


def _gcd(a: int, b: int) -> int:
    from math import gcd

    return gcd(a, b)


def _lcm(a: int, b: int) -> int:
    from math import lcm

    return lcm(a, b)


_CONST_VALUES: dict[str, tuple[Ty, Any]] = {"Bool.true": (BOOL, True), "Bool.false": (BOOL, False),
                                            "Nat.zero": (NAT, 0)}
_PROPS = frozenset({"True", "False", "And", "Or", "Not", "Iff", "Eq", "Ne", "Exists", "Dvd.dvd", "NeZero",
                    *_RELS})


class Evaluator:
    """Evaluates one goal's trees under an assignment of its free variables.

    Args:
        env: free-variable id -> value (numbers, bools); let-bound variables are given as
            `lets` (id -> expression) and evaluated on use.
        types: free-variable id -> its type, for the variables in `env`.
        deadline: a `time.perf_counter()` value; past it evaluation raises `Undetermined`.
    """

    def __init__(self, env: dict[str, Any], types: dict[str, Ty], lets: dict[str, Expr] | None = None,
                 deadline: float | None = None) -> None:
        self.env = env
        self.types = types
        self.lets = lets or {}
        self.deadline = deadline
        self._steps = 0

    # ------------------------------------------------------------------ types

    def ty(self, e: Expr, bound: Sequence[tuple[Ty | None, Any]] = ()) -> Ty:
        """The modelled type an expression denotes (`Nat`, `Fin 4`, ...); `Unsupported` otherwise."""
        if isinstance(e, Const) and e.name in _FIXED:
            return _FIXED[e.name]
        name, args = _head(e)
        if name == "Fin" and len(args) == 1:
            n = self.value(args[0], bound, NAT)
            if n <= 0:
                raise Unsupported("Fin 0")
            return Ty(Kind.FIN, n, "Fin")
        raise UnknownConstant(name or type(e).__name__) if name else Unsupported(f"type {type(e).__name__}")

    def is_prop(self, e: Expr) -> bool:
        """Whether `e` is (by its head) a proposition the evaluator reads; a binder type that is not a
        modelled value type and not one of these is out of reach."""
        if isinstance(e, Forall):
            return self.is_prop(e.body)
        if isinstance(e, Sort):
            return False
        name, _ = _head(e)
        return name in _PROPS

    # ------------------------------------------------------------------ values

    def _tick(self) -> None:
        self._steps += 1
        if self.deadline is not None and self._steps % 256 == 0 and time.perf_counter() > self.deadline:
            raise Undetermined("time budget exhausted")

    def value(self, e: Expr, bound: Sequence[tuple[Ty | None, Any]] = (), want: Ty | None = None) -> Any:
        """The value of a term; with `want`, the term's type must be `want`."""
        ty, v = self.typed(e, bound)
        if want is not None and ty != want:
            raise Unsupported(f"expected {want}, found {ty}")
        return v

    def typed(self, e: Expr, bound: Sequence[tuple[Ty | None, Any]] = ()) -> tuple[Ty, Any]:
        self._tick()
        if isinstance(e, FVar):
            if e.id in self.env:
                return self.types[e.id], self.env[e.id]
            if e.id in self.lets:
                return self.typed(self.lets[e.id], bound)
            raise Unsupported("a free variable without a value")
        if isinstance(e, BVar):
            if e.index >= len(bound):
                raise Unsupported("loose bound variable")
            bty, bv = bound[-1 - e.index]
            if bty is None:
                raise Unsupported("a proof used as a value")
            return bty, bv
        if isinstance(e, NatLit):
            return NAT, e.value
        if isinstance(e, Let):
            val = self.typed(e.value, bound)
            return self.typed(e.body, (*bound, val))
        if isinstance(e, Proj):
            if e.struct == "Fin" and e.index == 0:
                ty, v = self.typed(e.expr, bound)
                if ty.kind is Kind.FIN:
                    return NAT, v
            raise UnknownConstant(f"{e.struct}.{e.index}")
        if isinstance(e, Const):
            if e.name in _CONST_VALUES:
                return _CONST_VALUES[e.name]
            raise UnknownConstant(e.name)
        if isinstance(e, App) and isinstance(e.fn, Lam):
            return self.typed(_beta(e), bound)
        if not isinstance(e, App) or not isinstance(e.fn, Const):
            raise Unsupported(f"term {type(e).__name__}")
        name, args = e.fn.name, e.args
        if name in _HOPS and len(args) == 6:
            op = _HOPS[name]
            ty = self.ty(args[0], bound)
            if op == "pow":
                if self.ty(args[1], bound) != NAT or self.ty(args[2], bound) != ty:
                    raise Unsupported("a power that is not T ^ ℕ → T")
            elif not (args[1] == args[0] and args[2] == args[0]):
                raise Unsupported("heterogeneous arithmetic")
            if not standard_instance(args[3], op, ty, _WRAPPERS[op]):
                raise UnknownConstant(f"{name} instance on {ty}")
            a = self.value(args[4], bound, ty)
            b = self.value(args[5], bound, NAT if op == "pow" else ty)
            return ty, _arith(op, ty, a, b)
        if name == "OfNat.ofNat" and len(args) == 3:
            ty = self.ty(args[0], bound)
            if not isinstance(args[1], NatLit) or not standard_instance(args[2], "ofnat", ty):
                raise UnknownConstant(f"numeral instance on {ty}")
            n = args[1].value
            return ty, (Fraction(n) if ty.kind is Kind.RAT else _wrap(ty, n))
        if name == "Neg.neg" and len(args) == 3:
            ty = self.ty(args[0], bound)
            if not standard_instance(args[1], "neg", ty):
                raise UnknownConstant(f"negation on {ty}")
            a = self.value(args[2], bound, ty)
            return ty, ((ty.size - a) % ty.size if ty.kind is Kind.FIN else _wrap(ty, -a))
        if name == "Inv.inv" and len(args) == 3:
            ty = self.ty(args[0], bound)
            if not standard_instance(args[1], "inv", ty):
                raise UnknownConstant(f"inverse on {ty}")
            a = self.value(args[2], bound, ty)
            return ty, (Fraction(0) if a == 0 else 1 / a)
        if name in ("Min.min", "Max.max") and len(args) == 4:
            ty = self.ty(args[0], bound)
            op = "min" if name == "Min.min" else "max"
            if not standard_instance(args[1], op, ty):
                raise UnknownConstant(f"{op} on {ty}")
            a, b = self.value(args[2], bound, ty), self.value(args[3], bound, ty)
            return ty, (min(a, b) if op == "min" else max(a, b))
        if name in ("Nat.cast", "Int.cast") and len(args) == 3:
            ty = self.ty(args[0], bound)
            src = NAT if name == "Nat.cast" else INT
            if not standard_instance(args[1], "natcast" if src is NAT else "intcast", ty):
                raise UnknownConstant(f"{name} into {ty}")
            a = self.value(args[2], bound, src)
            return ty, (Fraction(a) if ty.kind is Kind.RAT else a)
        if name == "Fin.val" and len(args) == 2:
            n = self.value(args[0], bound, NAT)
            return NAT, self.value(args[1], bound, Ty(Kind.FIN, n, "Fin"))
        if name == "BEq.beq" and len(args) == 4:
            ty = self.ty(args[0], bound)
            if not standard_instance(args[1], "deceq", ty, _DECEQ_BEQ):
                raise UnknownConstant(f"== on {ty}")
            return BOOL, self.value(args[2], bound, ty) == self.value(args[3], bound, ty)
        if name == "Decidable.decide" and len(args) == 2:
            t = self.truth(args[0], bound)
            if t is None:
                raise Undetermined("decide of an undecided proposition")
            return BOOL, t
        if name in ("ite", "dite") and len(args) == 5:
            ty = self.ty(args[0], bound)
            c = self.truth(args[1], bound)
            if c is None:
                raise Undetermined("an `if` whose condition is undecided")
            branch = args[3] if c else args[4]
            if name == "dite":  # the branch is `fun h => …`: bind the proof
                if not isinstance(branch, Lam):
                    raise Unsupported("dite branch")
                return ty, self.value(branch.body, (*bound, (None, _PROOF)), ty)
            return ty, self.value(branch, bound, ty)
        if name in _DIRECT:
            arg_tys, res, fn = _DIRECT[name]
            if len(args) != len(arg_tys):
                raise Unsupported(f"{name} applied partially")
            vals = [self.value(a, bound, t) for a, t in zip(args, arg_tys, strict=True)]
            return res, fn(*vals)
        raise UnknownConstant(name)

    # ------------------------------------------------------------------ truth

    def truth(self, e: Expr, bound: Sequence[tuple[Ty | None, Any]] = ()) -> bool | None:
        """Exact truth of a proposition, None when not decided (sampled ∀ that held, …)."""
        self._tick()
        if isinstance(e, Const):
            if e.name == "True":
                return True
            if e.name == "False":
                return False
            raise UnknownConstant(e.name)
        if isinstance(e, FVar) and e.id in self.lets:
            return self.truth(self.lets[e.id], bound)
        if isinstance(e, Forall):
            return self._forall(e, bound)
        if isinstance(e, App) and isinstance(e.fn, Lam):
            return self.truth(_beta(e), bound)
        if not isinstance(e, App) or not isinstance(e.fn, Const):
            raise Unsupported(f"proposition {type(e).__name__}")
        name, args = e.fn.name, e.args
        if name in ("And", "Or", "Iff") and len(args) == 2:
            a = self.truth(args[0], bound)
            if name == "And" and a is False:
                return False
            if name == "Or" and a is True:
                return True
            b = self.truth(args[1], bound)
            if name == "And":
                return False if b is False else (True if a and b else None)
            if name == "Or":
                return True if b is True else (False if a is False and b is False else None)
            return None if a is None or b is None else a == b
        if name == "Not" and len(args) == 1:
            a = self.truth(args[0], bound)
            return None if a is None else not a
        if name in ("Eq", "Ne") and len(args) == 3:
            ty = self.ty(args[0], bound)
            same = self.value(args[1], bound, ty) == self.value(args[2], bound, ty)
            return same if name == "Eq" else not same
        if name in _RELS and len(args) == 4:
            ty = self.ty(args[0], bound)
            op = _RELS[name]
            if ty.kind is Kind.BOOL or not standard_instance(args[1], op, ty):
                raise UnknownConstant(f"{name} on {ty}")
            a, b = self.value(args[2], bound, ty), self.value(args[3], bound, ty)
            if name in ("GT.gt", "GE.ge"):
                a, b = b, a
            return a < b if op == "lt" else a <= b
        if name == "Dvd.dvd" and len(args) == 4:
            ty = self.ty(args[0], bound)
            if not standard_instance(args[1], "dvd", ty):
                raise UnknownConstant(f"∣ on {ty}")
            a, b = self.value(args[2], bound, ty), self.value(args[3], bound, ty)
            return b == 0 if a == 0 else b % a == 0
        if name == "NeZero" and len(args) == 3:  # `NeZero n` for n : ℕ is `n ≠ 0`
            ty = self.ty(args[0], bound)
            if ty != NAT:
                raise UnknownConstant("NeZero")
            return self.value(args[2], bound, NAT) != 0
        if name == "Exists" and len(args) == 2:
            return self._exists(args, bound)
        raise UnknownConstant(name)

    def _bounded(self, var_ty: Ty, body: Expr, bound: Sequence[tuple[Ty | None, Any]],
                 guard_of: Callable[[Expr], Expr | None]) -> Domain:
        """The domain of a quantified ℕ/ℤ variable: a range when its body starts with `x < e` or
        `x ≤ e` (and for ℤ also a lower bound is not needed to refute, so samples); else samples."""
        dom = domain(var_ty)
        guard = guard_of(body)
        if var_ty == NAT and guard is not None:
            name, args = _head(guard)
            if name in ("LT.lt", "LE.le") and len(args) == 4 and args[2] == BVar(0) \
                    and not mentions_bvar(args[3], 0) and standard_instance(args[1], _RELS[name], NAT):
                try:
                    top = self.value(_lower(args[3]), bound, NAT)
                except (Unsupported, Undetermined):
                    return dom
                top = top if name == "LT.lt" else top + 1
                if top <= MAX_ENUM:
                    return Domain(tuple(range(top)), True)
        return dom

    def _forall(self, e: Forall, bound: Sequence[tuple[Ty | None, Any]]) -> bool | None:
        if self.is_prop(e.type) and not mentions_bvar(e.body, 0):
            premise = self.truth(e.type, bound)
            if premise is False:
                return True
            concl = self.truth(e.body, (*bound, (None, _PROOF)))
            if concl is True:
                return True
            return False if premise is True and concl is False else None
        if self.is_prop(e.type):
            raise Unsupported("a proof used in the statement")
        ty = self.ty(e.type, bound)

        def guard(body: Expr) -> Expr | None:
            return body.type if isinstance(body, Forall) else None

        dom = self._bounded(ty, e.body, bound, guard)
        undecided = False
        for v in dom.values:
            r = self.truth(e.body, (*bound, (ty, v)))
            if r is False:
                return False
            if r is None:
                undecided = True
        return True if dom.complete and not undecided else None

    def _exists(self, args: tuple[Expr, ...], bound: Sequence[tuple[Ty | None, Any]]) -> bool | None:
        lam = args[1]
        if not isinstance(lam, Lam):
            raise Unsupported("∃ over a non-lambda")
        ty = self.ty(args[0], bound)

        def guard(body: Expr) -> Expr | None:
            name, a = _head(body)
            return a[0] if name == "And" and len(a) == 2 else None

        dom = self._bounded(ty, lam.body, bound, guard)
        undecided = False
        for v in dom.values:
            r = self.truth(lam.body, (*bound, (ty, v)))
            if r is True:
                return True
            if r is None:
                undecided = True
        return False if dom.complete and not undecided else None


def _map_bvars(e: Expr, leaf: Callable[[BVar, int], Expr], crossed: int = 0) -> Expr:
    """`e` with every bound variable `b` replaced by `leaf(b, binders crossed to reach it)`: the
    one walk under binders that shifting and substituting share."""
    if isinstance(e, BVar):
        return leaf(e, crossed)
    if isinstance(e, App):
        return App(_map_bvars(e.fn, leaf, crossed), tuple(_map_bvars(a, leaf, crossed) for a in e.args))
    if isinstance(e, Lam):
        return Lam(e.name, _map_bvars(e.type, leaf, crossed), _map_bvars(e.body, leaf, crossed + 1), e.binder)
    if isinstance(e, Forall):
        return Forall(e.name, _map_bvars(e.type, leaf, crossed), _map_bvars(e.body, leaf, crossed + 1),
                      e.binder)
    if isinstance(e, Let):
        return Let(e.name, _map_bvars(e.type, leaf, crossed), _map_bvars(e.value, leaf, crossed),
                   _map_bvars(e.body, leaf, crossed + 1))
    if isinstance(e, Proj):
        return Proj(e.struct, e.index, _map_bvars(e.expr, leaf, crossed))
    return e


def _shift(e: Expr, by: int, cutoff: int = 0) -> Expr:
    """Adjust loose bound variables ≥ `cutoff` by `by` (for moving a term across binders)."""
    return _map_bvars(e, lambda b, crossed: BVar(b.index + by) if b.index >= cutoff + crossed else b)


def _lower(e: Expr) -> Expr:
    """A term under the quantifier's binder that does not mention it, read outside the binder."""
    return _shift(e, -1, 1)


def _subst(e: Expr, value: Expr, depth: int = 0) -> Expr:
    """Replace bound variable `depth` by `value` (closed under the binders crossed), lowering the rest."""
    def leaf(b: BVar, crossed: int) -> Expr:
        k = depth + crossed
        if b.index == k:
            return _shift(value, k)
        return BVar(b.index - 1) if b.index > k else b

    return _map_bvars(e, leaf)


def _beta(e: App) -> Expr:
    fn: Expr = e.fn
    args = list(e.args)
    while isinstance(fn, Lam) and args:
        fn = _subst(fn.body, args.pop(0))
    return App(fn, tuple(args)) if args else fn
