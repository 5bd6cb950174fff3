"""The numeric model's own answer to a question, computed with sympy, independently of any LLM.

`compute_answer` recognises a few question shapes and computes their answer exactly:

* area under a curve / definite integral: "the area under y = x^2 + 2 from x = 0 to x = 5"
  (for an area, the integral of |f|: the interval is split at the real roots of f);
* remainders: "the remainder when 2^10 is divided by 7";
* finite sums: "the sum of k^2 for k from 1 to 10", "the sum of the integers from 1 to 100";
* equations: "solve 2x + 3 = 11 for x", "what x satisfies x^2 = 9";
* plain arithmetic: "what is 3^4 - 17?".

Expressions are read by a small parser of its own (numbers, one variable, + - * / ^, unicode
superscripts, parentheses, implicit multiplication), never by `sympify`/`parse_expr`, which run
`eval` on their input. A question of another shape gives None: then nothing is computed, and the
caller says so. `parse_value` reads a model's answer ("47.5", "155/3", "51.67 (approx.)") as an
exact number for comparison; a decimal stays the exact decimal it spells.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

import sympy

_SUPERSCRIPTS = str.maketrans({"²": "^2", "³": "^3", "⁴": "^4", "−": "-", "×": "*", "·": "*", "÷": "/"})
_TOKEN = re.compile(r"\s*(?:(?P<num>\d+(?:\.\d+)?)|(?P<name>[A-Za-z]\w*)|(?P<op>\*\*|[-+*/^()]))")
MAX_EXPR_CHARS = 300
MAX_EXPONENT = 10_000  # 2^10000 is fine exactly; larger ones are refused, not computed


class ParseError(ValueError):
    """Text that is not an expression of the small language."""


@dataclass(frozen=True)
class Computed:
    """An exact answer and how it was obtained."""

    kind: str  # "integral", "area", "remainder", "sum", "solve", "arithmetic"
    computation: str  # what sympy computed, in words
    values: tuple[sympy.Expr, ...]  # the answer (several for an equation's solutions)

    @property
    def shown(self) -> str:
        return ", ".join(_show(v) for v in self.values)

    def matches(self, value: sympy.Expr) -> bool:
        """Whether `value` is exactly one of the answer's values."""
        return any(sympy.simplify(value - v) == 0 for v in self.values)

    def to_json(self) -> dict[str, object]:
        return {"kind": self.kind, "computation": self.computation, "values": [_show(v) for v in self.values]}


def _show(v: sympy.Expr) -> str:
    if v.is_Rational and not v.is_Integer:
        return f"{v} ≈ {float(v):.6g}"
    return str(v)


class _Parser:
    """Recursive descent over `expr := term (('+'|'-') term)*`, `term := unary (('*'|'/'|implicit) unary)*`,
    `unary := '-' unary | power`, `power := atom ('^' unary)?`, `atom := number | name | '(' expr ')'`."""

    def __init__(self, text: str, variables: frozenset[str]) -> None:
        text = text.translate(_SUPERSCRIPTS)
        if len(text) > MAX_EXPR_CHARS:
            raise ParseError("expression too long")
        self.toks: list[tuple[str, str]] = []
        pos = 0
        text = text.rstrip()
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if m is None:
                raise ParseError(f"cannot read {text[pos:pos + 10]!r}")
            kind = m.lastgroup or ""
            self.toks.append((kind, m.group(kind)))
            pos = m.end()
        self.i = 0
        self.variables = variables

    def parse(self) -> sympy.Expr:
        e = self.expr()
        if self.i != len(self.toks):
            raise ParseError(f"unexpected {self.toks[self.i][1]!r}")
        return e

    def peek(self) -> tuple[str, str] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self, op: str) -> bool:
        if self.peek() == ("op", op):
            self.i += 1
            return True
        return False

    def expr(self) -> sympy.Expr:
        e = self.term()
        while True:
            if self.take("+"):
                e = e + self.term()
            elif self.take("-"):
                e = e - self.term()
            else:
                return e

    def term(self) -> sympy.Expr:
        e = self.unary()
        while True:
            if self.take("*"):
                e = e * self.unary()
            elif self.take("/"):
                d = self.unary()
                if d == 0:
                    raise ParseError("division by zero")
                e = e / d
            elif (t := self.peek()) is not None and (t[0] in ("num", "name") or t == ("op", "(")):
                e = e * self.unary()  # implicit multiplication: 2x, 3(x + 1)
            else:
                return e

    def unary(self) -> sympy.Expr:
        if self.take("-"):
            return -self.unary()
        if self.take("+"):
            return self.unary()
        return self.power()

    def power(self) -> sympy.Expr:
        base = self.atom()
        if self.take("^") or self.take("**"):
            exp = self.unary()
            if exp.is_number and abs(exp) > MAX_EXPONENT:
                raise ParseError("exponent too large")
            return base ** exp
        return base

    def atom(self) -> sympy.Expr:
        t = self.peek()
        if t is None:
            raise ParseError("unexpected end")
        self.i += 1
        kind, text = t
        if kind == "num":
            return sympy.Rational(text)
        if kind == "name":
            if text not in self.variables:
                raise ParseError(f"unknown name {text!r}")
            return sympy.Symbol(text)
        if text == "(":
            e = self.expr()
            if not self.take(")"):
                raise ParseError("missing )")
            return e
        raise ParseError(f"unexpected {text!r}")


def parse_expr(text: str, variables: tuple[str, ...] = ()) -> sympy.Expr:
    """An exact sympy expression from `text` (see the module docstring).

    Raises:
        ParseError: not an expression of the language.
    """
    return _Parser(text, frozenset(variables)).parse()


def parse_value(text: str) -> sympy.Expr | None:
    """A model's answer as an exact number: the first number-like expression in it, or None."""
    if not isinstance(text, str):
        return None
    head = re.split(r"≈|~|\(|,|;| or | units| square", text, maxsplit=1)[0]
    head = head.strip().strip("$*`").rstrip(".")
    head = re.sub(r"^[A-Za-z ]*=\s*", "", head)
    try:
        v = parse_expr(head)
    except ParseError:
        return None
    return v if v.is_number else None


_NUM = r"-?\d+(?:\.\d+)?(?:/\d+)?"
_AREA = re.compile(rf"(?P<what>area|integral)\b.*?\b(?:under|of)\s+(?:the\s+(?:curve|graph|function)\s+)?"
                   rf"(?:(?:y|f\s*\(\s*x\s*\))\s*=\s*)?(?P<f>.+?)\s+(?:from|between)\s+(?:x\s*=\s*)?"
                   rf"(?P<a>{_NUM})\s+(?:to|and)\s+(?:x\s*=\s*)?(?P<b>{_NUM})", re.I)
_REMAINDER = re.compile(r"remainder\s+when\s+(?P<a>.+?)\s+is\s+divided\s+by\s+(?P<m>[\d^ ()+*-]*\d\)?)", re.I)
_SUM_OF_VAR = re.compile(rf"sum\s+of\s+(?P<f>.+?)\s+for\s+(?P<v>[a-z])\s+from\s+(?P<a>{_NUM})\s+to\s+"
                         rf"(?P<b>{_NUM})", re.I)
_SUM_RANGE = re.compile(r"sum\s+of\s+(?:all\s+)?(?:the\s+)?integers\s+from\s+(?P<a>-?\d+)\s+to\s+"
                        r"(?P<b>-?\d+)", re.I)
_SOLVE = re.compile(r"(?:solve\s+(?P<eq1>[^?]+?=[^?]+?)\s+for\s+(?P<v1>[a-z])\b)|"
                    r"(?:(?:value|values)\s+of\s+(?P<v2>[a-z])\s+(?:if|such\s+that|satisfying|for\s+which)\s+"
                    r"(?P<eq2>[^?]+?=[^?]+))|(?:what\s+(?P<v3>[a-z])\s+satisf(?:y|ies)\s+(?P<eq3>[^?]+?=[^?]+))",
                    re.I)
_WHAT_IS = re.compile(r"^\s*(?:what\s+is|compute|evaluate|calculate)\s+(?P<e>[^?]+?)\s*\??\s*$", re.I)
MAX_SUM_TERMS = 100_000


def compute_answer(question: str) -> Computed | None:
    """The exact answer to `question` if it has one of the recognised shapes, else None."""
    if not isinstance(question, str) or len(question) > 2_000:
        return None
    q = question.translate(_SUPERSCRIPTS).replace("\u00a0", " ")
    for attempt in (_area, _remainder, _sum, _solve, _arithmetic):
        try:
            got = attempt(q)
        except (ParseError, ValueError, ZeroDivisionError, NotImplementedError):
            got = None
        if got is not None:
            return got
    return None


def _area(q: str) -> Computed | None:
    m = _AREA.search(q)
    if m is None:
        return None
    x = sympy.Symbol("x")
    f = parse_expr(m.group("f").strip().rstrip(",").removesuffix("dx").strip(), ("x",))
    a, b = parse_expr(m.group("a")), parse_expr(m.group("b"))
    if m.group("what").lower() == "integral":
        return Computed("integral", f"∫ from {a} to {b} of {f} dx (sympy.integrate)",
                        (sympy.nsimplify(sympy.integrate(f, (x, a, b))),))
    lo, hi = min(a, b), max(a, b)
    roots = sorted(r for r in sympy.solveset(f, x, sympy.Interval.open(lo, hi)) if r.is_real) \
        if f.free_symbols else []
    cuts = [lo, *roots, hi]
    area = sum(abs(sympy.integrate(f, (x, u, v))) for u, v in itertools.pairwise(cuts))
    split = f", split at the roots {roots}" if roots else ""
    return Computed("area", f"∫ from {lo} to {hi} of |{f}| dx (sympy.integrate{split})",
                    (sympy.nsimplify(area),))


def _remainder(q: str) -> Computed | None:
    m = _REMAINDER.search(q)
    if m is None:
        return None
    a, n = parse_expr(m.group("a")), parse_expr(m.group("m"))
    if not (a.is_Integer and n.is_Integer) or n == 0:
        return None
    return Computed("remainder", f"({m.group('a').strip()}) mod {n} (sympy.Mod)", (sympy.Mod(a, n),))


def _sum(q: str) -> Computed | None:
    if (m := _SUM_RANGE.search(q)) is not None:
        k = sympy.Symbol("k")
        f, v, a, b = k, k, sympy.Integer(m.group("a")), sympy.Integer(m.group("b"))
    elif (m := _SUM_OF_VAR.search(q)) is not None:
        v = sympy.Symbol(m.group("v"))
        f = parse_expr(m.group("f"), (m.group("v"),))
        a, b = parse_expr(m.group("a")), parse_expr(m.group("b"))
    else:
        return None
    if not (a.is_Integer and b.is_Integer) or b - a > MAX_SUM_TERMS:
        return None
    return Computed("sum", f"Σ {f} for {v} = {a}..{b} (sympy.summation)", (sympy.summation(f, (v, a, b)),))


def _solve(q: str) -> Computed | None:
    m = _SOLVE.search(q)
    if m is None:
        return None
    eq = next(g for g in (m.group("eq1"), m.group("eq2"), m.group("eq3")) if g)
    var = next(g for g in (m.group("v1"), m.group("v2"), m.group("v3")) if g)
    lhs, rhs = eq.split("=", 1)
    v = sympy.Symbol(var)
    solutions = sympy.solve(sympy.Eq(parse_expr(lhs, (var,)), parse_expr(rhs.strip().rstrip("."), (var,))), v)
    if not solutions:
        return None
    return Computed("solve", f"solutions of {eq.strip()} in {var} (sympy.solve)", tuple(solutions))


def _arithmetic(q: str) -> Computed | None:
    m = _WHAT_IS.match(q)
    if m is None:
        return None
    v = parse_expr(m.group("e"))
    return Computed("arithmetic", f"{v} evaluated exactly", (v,)) if v.is_number else None
