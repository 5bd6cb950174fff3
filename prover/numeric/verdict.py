"""One numeric verdict on a statement for users: `prover check`, the bench pre-screen and the
formalizer's screen all ask `statement_verdict`.

Where this Lean elaborates the statement, the verdict is the typed path's: the goals of the root
proof state as Lean elaborated them (`prover.numeric.typed.check_state`), and `REFUTED` only for
a counterexample Lean's kernel confirmed (`LeanServer.refute`). Only a statement this Lean cannot
elaborate (one written for Mathlib) falls back to the surface path, the checker's own reading of
the text (`prover.numeric.checker`); its refutation is `REFUTED_UNCONFIRMED`, "refuted
numerically, not checked by Lean", and never discards anything that elaborates.

Exact evaluation on Lean's terms of a goal the kernel cannot decide (no `Decidable` instance) is
`REFUTED_UNCONFIRMED` too: exact, but not checked by Lean.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import Enum

import prover.lean.decls as decls
from prover.lean.client import LeanClient, has_mathlib
from prover.lean.exprs import RefuteStatus
from prover.lean.types import ErrorKind, ProofState
from prover.numeric.checker import CheckConfig, CheckResult, NumericChecker, Verdict
from prover.numeric.typed import TypedCheck, TypedConfig, check_state

# What a user reads for each verdict (text output); JSON carries `Verdict.value` beside it.
VERDICT_TEXT = {
    Verdict.REFUTED: "refuted (counterexample confirmed by Lean's kernel)",
    Verdict.REFUTED_UNCONFIRMED: "refuted numerically, not checked by Lean",
    Verdict.SURVIVED: "survived",
    Verdict.VACUOUS: "vacuous",
    Verdict.UNSUPPORTED: "not decided",
    Verdict.INVALID: "invalid input",
}


class LeanReading(str, Enum):
    """What Lean made of the statement."""

    ELABORATED = "elaborated"  # the typed path ran on Lean's goal terms
    NOT_ELABORATED = "not_elaborated"  # Lean reported errors (e.g. it needs Mathlib): surface path
    REFUSED = "refused"  # refused before elaboration (the guard, a proof given, size, encoding)
    NOT_ASKED = "not_asked"  # no Lean: the surface-only checker


class CheckPath(str, Enum):
    """Which checker gave the verdict."""

    TYPED = "typed"  # Lean's elaborated goal terms, counterexamples confirmed by the kernel
    SURFACE = "surface"  # the checker's reading of the text (Lean surface syntax → sympy)
    NONE = "none"  # nothing was checked (invalid input)


@dataclass(frozen=True, slots=True)
class VerdictConfig:
    """Limits of both paths."""

    typed: TypedConfig = field(default_factory=TypedConfig)
    surface: CheckConfig = field(default_factory=CheckConfig)


@dataclass(frozen=True, slots=True)
class Refutation:
    """The counterexample behind a `REFUTED` or `REFUTED_UNCONFIRMED` verdict."""

    assignment: tuple[tuple[str, str], ...]  # (variable, value)
    method: str  # how the statement was evaluated there
    # Lean's kernel on the instance (typed path); None on the surface path, whose own `decide`
    # check (in `StatementVerdict.surface`) is on its reading of the text, not on Lean's.
    kernel: RefuteStatus | None = None

    def to_dict(self) -> dict[str, object]:
        return {"assignment": dict(self.assignment), "method": self.method,
                "lean": self.kernel.value if self.kernel is not None else "not checked"}


@dataclass(frozen=True, slots=True)
class StatementVerdict:
    """The numeric verdict on one statement.

    `verdict` is `REFUTED` only with a kernel-confirmed `counterexample` (then `lean` is
    `ELABORATED`); `REFUTED_UNCONFIRMED` carries one nobody in Lean checked; `INVALID` means
    nothing could read the statement (`reason` says why); `SURVIVED`, `VACUOUS` and
    `UNSUPPORTED` are the checkers' own "no counterexample" cases.
    """

    verdict: Verdict
    reason: str
    lean: LeanReading
    path: CheckPath
    counterexample: Refutation | None = None
    lean_error: str = ""  # why Lean did not elaborate or refused it
    typed: tuple[TypedCheck, ...] = ()  # one per goal checked (typed path)
    surface: CheckResult | None = None  # the surface checker's result (surface path)
    elapsed_s: float = 0.0

    @property
    def refuted(self) -> bool:
        """Refuted with a counterexample Lean's kernel confirmed."""
        return self.verdict is Verdict.REFUTED

    @property
    def text(self) -> str:
        return VERDICT_TEXT[self.verdict]

    @property
    def tried(self) -> int:
        return sum(t.tried for t in self.typed) if self.typed else (self.surface.tried if self.surface else 0)

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "verdict": self.verdict.value, "verdict_text": self.text, "reason": self.reason,
            "lean": self.lean.value, "path": self.path.value, "tried": self.tried,
            "elapsed_ms": round(self.elapsed_s * 1000, 2),
        }
        if self.lean_error:
            out["lean_error"] = self.lean_error
        if self.counterexample is not None:
            out["counterexample"] = self.counterexample.to_dict()
        if self.typed:
            out["goals"] = [{"verdict": t.verdict.value, "reason": t.reason,
                             "lean": t.lean.value if t.lean is not None else None, "tried": t.tried,
                             "satisfying": t.satisfying} for t in self.typed]
        if self.surface is not None:
            out["surface"] = self.surface.to_dict()
        return out


def statement_verdict(statement: str, lean: LeanClient | None, config: VerdictConfig | None = None, *,
                      header: str = "", lean_has_mathlib: bool | None = None) -> StatementVerdict:
    """The numeric verdict on `statement`: typed where Lean elaborates it, else the surface path.

    Args:
        statement: a `theorem`/`lemma`/`example` (definitions may precede it) without a proof, or
            a bare proposition (read as `theorem goal : <proposition>`).
        lean: the Lean server (or the warm daemon's client); None runs the surface checker alone.
        config: limits of both paths.
        header: commands Lean reads before the statement (e.g. the ℕ/ℤ notation prelude); not
            shown to the surface reader.
        lean_has_mathlib: whether this Lean has Mathlib (asked when None and needed): there, a
            statement that does not elaborate is invalid rather than "written for Mathlib".

    Raises:
        LeanServerError: an infrastructure fault of Lean (not a verdict on the statement).
    """
    cfg = config or VerdictConfig()
    start = time.perf_counter()
    text = statement.strip() if isinstance(statement, str) else ""
    if not text:
        return _invalid("the statement is empty", LeanReading.NOT_ASKED, start)
    if lean is None:
        return surface_verdict(text, None, cfg, reading=LeanReading.NOT_ASKED)
    if not decls.declarations(text):  # a bare proposition
        text = f"theorem goal : {text}"
    opened = lean.open_proof(header + text)
    if isinstance(opened, ProofState):
        try:
            return typed_verdict(lean, opened, cfg, start=start)
        finally:
            lean.forget([opened])
    why = opened.text or opened.kind.value
    if opened.kind is ErrorKind.REJECTED:
        return _invalid(f"Lean refused the statement: {why}", LeanReading.REFUSED, start, why)
    if lean_has_mathlib is None:
        lean_has_mathlib = has_mathlib(lean)
    if lean_has_mathlib:
        return _invalid(f"the statement does not elaborate (this Lean has Mathlib): {why}",
                        LeanReading.NOT_ELABORATED, start, why)
    return surface_verdict(statement, lean, cfg, reading=LeanReading.NOT_ELABORATED, lean_error=why,
                           start=start)


def typed_verdict(lean: LeanClient, state: ProofState, config: VerdictConfig | None = None, *,
                  start: float | None = None) -> StatementVerdict:
    """The verdict on an opened statement (its root `state`, not forgotten here), on Lean's terms.

    Raises:
        LeanServerError: an infrastructure fault of Lean.
    """
    cfg = config or VerdictConfig()
    start = time.perf_counter() if start is None else start
    checks = check_state(lean, state, cfg.typed)

    def done(verdict: Verdict, reason: str, cex: Refutation | None = None) -> StatementVerdict:
        return StatementVerdict(verdict, reason, LeanReading.ELABORATED, CheckPath.TYPED, cex, typed=checks,
                                elapsed_s=time.perf_counter() - start)

    several = len(state.goals) > 1
    for i, c in enumerate(checks):
        if c.verdict is not Verdict.REFUTED:
            continue
        where = f"goal {i + 1}: " if several else ""
        method = ("Lean's kernel evaluated the instance" if c.by_lean else
                  "exact evaluation of Lean's terms" + (" (a model from the SMT solver)" if c.by_smt else ""))
        cex = Refutation(c.assignment, method, c.lean)
        if c.lean is RefuteStatus.CONFIRMED:
            return done(Verdict.REFUTED, where + c.reason, cex)
        # The evaluator's exact counterexample on a goal the kernel cannot decide: not confirmed.
        return done(Verdict.REFUTED_UNCONFIRMED, f"{where}{c.reason}; the instance is not decidable, so "
                    "Lean's kernel could not check it", cex)
    verdicts = {c.verdict for c in checks}
    # Several goals: the weakest verdict stands (undecided over vacuous over survived).
    for v in (Verdict.UNSUPPORTED, Verdict.VACUOUS, Verdict.SURVIVED):
        if v in verdicts:
            reasons = [f"goal {i + 1}: {c.reason}" if several else c.reason
                       for i, c in enumerate(checks) if c.verdict is v]
            return done(v, "; ".join(reasons))
    return done(Verdict.UNSUPPORTED, "no goal was checked")


def surface_verdict(statement: str, lean: LeanClient | None, config: VerdictConfig | None = None, *,
                    reading: LeanReading, lean_error: str = "", goal: bool = False,
                    start: float | None = None) -> StatementVerdict:
    """The surface checker's verdict on the text of `statement` (a pretty-printed goal with
    `goal`), for a statement Lean did not elaborate (`reading`, with Lean's `lean_error`) or was
    not asked about. Its refutation is `REFUTED_UNCONFIRMED`; text it cannot read is `INVALID`.

    `lean`, when given, decides the surface reading's instance with `decide` (recorded in
    `surface`); that is Lean on the checker's reading of the text, not on Lean's own.
    """
    cfg = config or VerdictConfig()
    start = time.perf_counter() if start is None else start
    checker = NumericChecker(cfg.surface, lean=lean)
    result = checker.check_goal_text(statement) if goal else checker.check_statement(statement)
    elapsed = time.perf_counter() - start
    if not result.read:
        lean_part = f"Lean: {lean_error}; " if lean_error else ""
        return StatementVerdict(Verdict.INVALID, f"the statement cannot be read: {lean_part}the numeric "
                                f"reader: {result.reason}", reading, CheckPath.SURFACE, lean_error=lean_error,
                                surface=result, elapsed_s=elapsed)
    cex = None
    verdict = result.verdict
    if verdict is Verdict.REFUTED:
        verdict = Verdict.REFUTED_UNCONFIRMED
        if result.counterexample is not None:
            cex = Refutation(result.counterexample.assignment, result.counterexample.method)
    return StatementVerdict(verdict, result.reason, reading, CheckPath.SURFACE, cex, lean_error=lean_error,
                            surface=result, elapsed_s=elapsed)


def _invalid(reason: str, reading: LeanReading, start: float, lean_error: str = "") -> StatementVerdict:
    return StatementVerdict(Verdict.INVALID, reason, reading, CheckPath.NONE, lean_error=lean_error,
                            elapsed_s=time.perf_counter() - start)
