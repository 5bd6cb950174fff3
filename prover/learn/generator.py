"""Synthetic core-Lean problems with known truth, for training and held-out evaluation.

Families (each with a difficulty knob 1..5 that grows constants, variables and nesting):
- `linear`: ℕ/ℤ linear goals under hypotheses that pin every variable (a triangular system);
- `modular`: `(a*n + b) % m` given `n % m = r`;
- `divisibility`: `d ∣ b*k + c` for all k;
- `bounded`: `∀ n, n < B → (a*n + b) % m ≠ r` (decidable, bounded quantifier);
- `exists`: `∃ x, a*x + b = c` (and a two-witness form), witnesses known;
- `recursive`: identities of a user-defined recursive function (`f (n+1) = f n + a`) needing induction;
- `list`: identities of `List.length`, `++`, `reverse` and a user-defined `sumL`, needing induction.

Truth is computed here exactly (Python arithmetic, closed forms, or evaluation of the same
definitions); every problem carries a reference proof (true ones) or a Lean proof of the negation
(false ones, usually by instantiating a counterexample), so its label can be checked by Lean
(`tests/test_learn_generator.py`). About `false_fraction` of the problems are false variants.
The same seed gives the same problems.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

FAMILIES = ("linear", "modular", "divisibility", "bounded", "exists", "recursive", "list")


@dataclass(frozen=True)
class GenConfig:
    """What to generate. Every field has a usable default."""

    n: int = 40
    seed: int = 0
    families: tuple[str, ...] = FAMILIES
    min_difficulty: int = 1
    max_difficulty: int = 3
    false_fraction: float = 0.3
    prefix: str = "gen"  # problem ids are `{prefix}_{index}_{family}`

    def __post_init__(self) -> None:
        unknown = set(self.families) - set(FAMILIES)
        if unknown:
            raise ValueError(f"unknown families {sorted(unknown)}; choose from {', '.join(FAMILIES)}")
        if not 1 <= self.min_difficulty <= self.max_difficulty <= 5:
            raise ValueError("difficulty must satisfy 1 <= min_difficulty <= max_difficulty <= 5")
        if not 0 <= self.false_fraction <= 1:
            raise ValueError("false_fraction must be in [0, 1]")


@dataclass(frozen=True)
class GenProblem:
    """One generated problem. `snippet` is what the search opens."""

    id: str
    family: str
    difficulty: int
    truth: bool
    header: str  # definitions the statement uses ("" when none)
    statement: str  # `theorem <id> ... : P` without `:= by`
    proof: str  # a tactic body proving `statement` (true problems), else ""
    negation: str  # `theorem <id>_neg : ¬ (...)` without `:= by` (false problems), else ""
    refutation: str  # a tactic body proving `negation` (false problems), else ""

    @property
    def snippet(self) -> str:
        return f"{self.header}{self.statement} := by"

    @property
    def negation_snippet(self) -> str:
        return f"{self.header}{self.negation} := by"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> GenProblem:
        return cls(str(d["id"]), str(d["family"]), int(d["difficulty"]), bool(d["truth"]),
                   str(d["header"]), str(d["statement"]), str(d["proof"]), str(d["negation"]),
                   str(d["refutation"]))


def _lit(v: int) -> str:
    return str(v) if v >= 0 else f"({v})"


def _refute_by_instance(args: list[str], n_hyps: int) -> str:
    """Negation proof: instantiate the ∀ at a counterexample, discharge hypotheses, decide the rest."""
    hyps = " (by decide)" * n_hyps
    return f"intro h\nexact absurd (h {' '.join(args)}{hyps}) (by decide)"


@dataclass(frozen=True)
class _Parts:
    binders: str  # e.g. "(x y : Nat) (h₀ : x = 3)"
    forall: str  # the same as a proposition prefix, e.g. "∀ (x y : Nat), x = 3 → "
    concl: str
    true_proof: str
    cex: list[str]  # counterexample arguments (for false variants)
    n_hyps: int
    header: str = ""


def _linear(rng: random.Random, d: int, truth: bool) -> _Parts:
    ty = rng.choice(("Nat", "Int"))
    k = min(1 + (d + 1) // 2, 3)
    names = ["x", "y", "z"][:k]
    hi = 4 + 4 * d
    vals = [rng.randint(-hi if ty == "Int" else 0, hi) for _ in names]
    hyps: list[str] = []
    for i, name in enumerate(names):
        if i == 0 or d < 2:
            hyps.append(f"{name} = {_lit(vals[i])}")
        else:  # pin through the previous variable: still a unique solution, but needs elimination
            hyps.append(f"{name} + {names[i - 1]} = {_lit(vals[i] + vals[i - 1])}")
    coefs = [rng.randint(1, 1 + d) for _ in names]
    c0 = rng.randint(0, 3 * d)
    lhs = " + ".join(f"{c} * {n}" for c, n in zip(coefs, names, strict=False)) + (f" + {c0}" if c0 else "")
    value = sum(c * v for c, v in zip(coefs, vals, strict=False)) + c0
    if ty == "Nat" and any(v < 0 for v in vals):  # cannot happen for Nat draws; keep the invariant
        raise AssertionError("negative Nat value")
    rhs = value if truth else value + rng.choice((-2, -1, 1, 2, d + 1))
    if ty == "Nat" and rhs < 0:
        rhs = value + 1
    hnames = [f"h{i}" for i in range(len(hyps))]
    typed = " ".join(f"({h} : {t})" for h, t in zip(hnames, hyps, strict=True))
    binders = f"({' '.join(names)} : {ty}) {typed}"
    forall = f"∀ ({' '.join(names)} : {ty}), " + "".join(f"{t} → " for t in hyps)
    return _Parts(binders, forall, f"{lhs} = {_lit(rhs)}", "omega", [_lit(v) for v in vals], len(hyps))


def _modular(rng: random.Random, d: int, truth: bool) -> _Parts:
    m = rng.randint(2, 3 + 3 * d)
    r = rng.randrange(m)
    a, b = rng.randint(1, 2 + 3 * d), rng.randint(0, 4 * d)
    res = (a * r + b) % m
    rhs = res if truth else (res + rng.randint(1, m - 1)) % m
    return _Parts(f"(n : Nat) (h : n % {m} = {r})", f"∀ (n : Nat), n % {m} = {r} → ",
                  f"({a} * n + {b}) % {m} = {rhs}", "omega", [str(r)], 1)


def _divisibility(rng: random.Random, d: int, truth: bool) -> _Parts:
    q = rng.randint(2, 2 + 2 * d)
    if truth:
        b, c = q * rng.randint(1, 2 + d), q * rng.randint(0, 3 + d)
    else:
        b = q * rng.randint(1, 2 + d)
        c = q * rng.randint(0, 3 + d) + rng.randint(1, q - 1)  # q ∤ c: k = 0 is a counterexample
    return _Parts("(k : Nat)", "∀ (k : Nat), ", f"{q} ∣ {b} * k + {c}", "omega", ["0"], 0)


def _bounded(rng: random.Random, d: int, truth: bool) -> _Parts:
    bound = 5 + 5 * d
    for _ in range(200):
        m = rng.randint(3, 4 + 2 * d)
        a, b = rng.randint(1, 3 + d), rng.randint(0, 5 + d)
        hits = {(a * n + b) % m for n in range(bound)}
        misses = [r for r in range(m) if r not in hits]
        if truth and misses:
            r = rng.choice(misses)
            break
        if not truth:
            r = rng.choice(sorted(hits))
            break
    else:  # pragma: no cover - the draws above always find one quickly
        raise RuntimeError("no bounded problem found")
    prop = f"∀ n, n < {bound} → ({a} * n + {b}) % {m} ≠ {r}"
    return _Parts("", "", prop, "decide", [], 0)


def _exists(rng: random.Random, d: int, truth: bool) -> _Parts:
    a, b = rng.randint(2, 2 + 2 * d), rng.randint(0, 5 * d)
    w = rng.randint(0, 4 + 3 * d)
    if d >= 3:
        s = w + rng.randint(0, 5)
        c = a * w + b
        if not truth:
            c += rng.randint(1, a - 1)
        prop = f"∃ x y : Nat, x + y = {s} ∧ {a} * x + {b} = {c}"
        proof = f"exact ⟨{w}, {s - w}, by decide, by decide⟩"
    else:
        c = a * w + b + (0 if truth else rng.randint(1, a - 1))
        prop = f"∃ x : Nat, {a} * x + {b} = {c}"
        proof = f"exact ⟨{w}, by decide⟩"
    return _Parts("", "", prop, proof, [], 0)


def _recursive(rng: random.Random, d: int, truth: bool, fname: str) -> _Parts:
    a, c0 = rng.randint(1, 2 + 2 * d), rng.randint(0, 3 * d)
    header = f"def {fname} : Nat → Nat\n  | 0 => {c0}\n  | n + 1 => {fname} n + {a}\n\n"
    if d >= 3:
        # f applied to a shifted argument: the induction hypothesis alone does not close it.
        s = rng.randint(1, 3)
        concl_true = f"{fname} (n + {s}) = {a} * n + {a * s + c0}"
        wrong = f"{fname} (n + {s}) = {a} * n + {a * s + c0 + rng.randint(1, 3)}"
    else:
        concl_true = f"{fname} n = {a} * n + {c0}"
        wrong = rng.choice((f"{fname} n = {a} * n + {c0 + 1}", f"{fname} n = {a + 1} * n + {c0}"))
    proof = f"induction n with\n  | zero => simp [{fname}]\n  | succ k ih => simp [{fname}] at *; omega"
    # n = 0 refutes "+ c0 + 1"-style claims, n = 1 the wrong slope; both are decided by evaluation.
    cex = "1" if "+ 1) * n" in wrong or f"{a + 1} * n" in wrong else "0"
    return _Parts("(n : Nat)", "∀ (n : Nat), ", concl_true if truth else wrong, proof, [cex], 0, header)


def _list(rng: random.Random, d: int, truth: bool, fname: str) -> _Parts:
    header = f"def {fname} : List Nat → Nat\n  | [] => 0\n  | x :: xs => x + {fname} xs\n\n"
    k = rng.randint(1, 2 + d)
    options: list[tuple[str, str, list[str]]] = [
        # (true conclusion, a false variant, counterexample arguments xs ys)
        ("(xs ++ ys).length = ys.length + xs.length", f"(xs ++ ys).length = xs.length + {k}",
         ["[]", "[]"]),
        (f"{fname} (xs ++ ys) = {fname} xs + {fname} ys", f"{fname} (xs ++ ys) = {fname} xs",
         ["[]", "[1]"]),
        (f"{fname} (xs.map (· * {k})) + {fname} ys = {k} * {fname} xs + {fname} ys",
         f"{fname} (xs.map (· * {k})) + {fname} ys = {k + 1} * {fname} xs + {fname} ys", ["[1]", "[]"]),
    ]
    if d >= 3:
        options.append((f"{fname} (xs ++ ys).reverse = {fname} ys + {fname} xs",
                        f"{fname} (xs ++ ys).reverse = {fname} ys", ["[1]", "[]"]))
    concl_true, wrong, cex = rng.choice(options)
    proof = (f"induction xs with\n  | nil => simp [{fname}]\n"
             f"  | cons x xs ih => simp_all [{fname}] <;> omega")
    if "reverse" in concl_true:
        proof = (f"have happ : ∀ as bs : List Nat, {fname} (as ++ bs) = {fname} as + {fname} bs := by\n"
                 f"  intro as bs\n  induction as with\n  | nil => simp [{fname}]\n"
                 f"  | cons x xs ih => simp [{fname}, ih]; omega\n"
                 f"have hrev : ∀ as : List Nat, {fname} as.reverse = {fname} as := by\n"
                 f"  intro as\n  induction as with\n  | nil => rfl\n"
                 f"  | cons x xs ih => simp [happ, ih, {fname}]; omega\n"
                 "rw [hrev, happ]; omega")
    return _Parts("(xs ys : List Nat)", "∀ (xs ys : List Nat), ", concl_true if truth else wrong, proof,
                  cex, 0, header)


_SIMPLE: dict[str, Callable[[random.Random, int, bool], _Parts]] = {
    "linear": _linear, "modular": _modular, "divisibility": _divisibility, "bounded": _bounded,
    "exists": _exists,
}


def _make(family: str, rng: random.Random, d: int, truth: bool, fname: str) -> _Parts:
    if family == "recursive":
        return _recursive(rng, d, truth, fname)
    if family == "list":
        return _list(rng, d, truth, fname)
    return _SIMPLE[family](rng, d, truth)


def generate(config: GenConfig | None = None) -> list[GenProblem]:
    """`config.n` problems, families in round-robin order, difficulty and truth drawn by the seed."""
    cfg = config or GenConfig()
    rng = random.Random(cfg.seed)
    out: list[GenProblem] = []
    for i in range(cfg.n):
        family = cfg.families[i % len(cfg.families)]
        d = rng.randint(cfg.min_difficulty, cfg.max_difficulty)
        truth = rng.random() >= cfg.false_fraction
        pid = f"{cfg.prefix}_{i}_{family}"
        fname = f"f{cfg.prefix}{i}"
        p = _make(family, rng, d, truth, fname)
        colon = f" {p.binders} :" if p.binders else " :"
        statement = f"theorem {pid}{colon} {p.concl}"
        negation, refutation = "", ""
        if not truth:
            negation = f"theorem {pid}_neg : ¬ ({p.forall}{p.concl})"
            if family in ("bounded",):
                refutation = "decide"
            elif family == "exists":
                refutation = "intro h\nobtain ⟨x, hx⟩ := h\nomega" if d < 3 else (
                    "intro h\nobtain ⟨x, y, hx, hy⟩ := h\nomega")
            else:
                refutation = _refute_by_instance(p.cex, p.n_hyps)
        out.append(GenProblem(pid, family, d, truth, p.header, statement,
                              p.true_proof if truth else "", negation, refutation))
    return out


def python_truth(problem: GenProblem) -> bool | None:
    """An independent check of the label where one is cheap: for `bounded` problems, enumeration;
    None for the others (their truth is by construction above)."""
    if problem.family != "bounded":
        return None
    import re

    m = re.search(r"n < (\d+) → \((\d+) \* n \+ (\d+)\) % (\d+) ≠ (\d+)", problem.statement)
    if m is None:
        return None
    bound, a, b, mod, r = (int(g) for g in m.groups())
    return all((a * n + b) % mod != r for n in range(bound))


def describe(problems: list[GenProblem]) -> dict[str, Any]:
    """Counts by family, truth and difficulty (for run reports)."""
    fam: dict[str, int] = {}
    for p in problems:
        fam[p.family] = fam.get(p.family, 0) + 1
    return {"n": len(problems), "true": sum(p.truth for p in problems), "by_family": fam,
            "mean_difficulty": (sum(p.difficulty for p in problems) / len(problems)
                                if problems else math.nan)}
