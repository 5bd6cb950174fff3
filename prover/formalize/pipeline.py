"""The candidate pipeline: raw model answers in, ranked Lean statements out, every verdict kept.

Stages, in order, each recorded per candidate as a `StageVerdict`:

1. `extract`: Lean code in the answer (`extract.extract_code`).
2. `normalise`: one theorem statement (`extract.normalise`).
3. `parse`: Lean reads the snippet (prelude + the model's header + the theorem) command by command.
4. `guard`: `SyntaxGuard` on every command's parse tree and on the signature, Lean's audit of the
   header (`prover.lean.reader`). A refused candidate stops here (nothing of it is elaborated or
   evaluated).
5. `typecheck`: the statement with `sorry` elaborates with no error into a theorem.
6. `numeric`: the numeric verdict (`prover.numeric.verdict`) on the theorem. On a candidate that
   type-checked it runs on Lean's terms, and only a counterexample Lean's kernel confirmed is a
   failure (it carries the counterexample): an elaborating candidate is never dropped on the
   surface checker's reading. It also runs on the candidates Lean could not elaborate here (a
   statement written for Mathlib is still checked on its text: "refuted numerically, not checked
   by Lean"), but never on one the guard refused.
7. `merge`: a kept candidate (type-checked, not refuted) joins the first earlier group that Lean
   shows states the same thing (`lean_checks.same_statement`), else founds a group.

Groups are ranked by agreement (how many samples gave the statement), then numerically
`survived` before the rest, then first appearance. Model output decides nothing by itself: every
verdict comes from Lean, the guard or the numeric checker, and "proved" is never claimed here.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any

import prover.lean.decls as decls
from prover.bench.config import CORE_PRELUDE
from prover.formalize.extract import extract_answer, extract_code, normalise
from prover.formalize.lean_checks import (
    Elaborated,
    Rejected,
    Rejection,
    Sameness,
    elaborate_statement,
    equivalent,
    release,
    same_statement,
)
from prover.lean.client import LeanClient, has_mathlib
from prover.lean.errors import LeanCrashed, LeanTimeout
from prover.lean.guard import SyntaxGuard
from prover.numeric import CheckConfig, StatementVerdict, Verdict, VerdictConfig
from prover.numeric.verdict import LeanReading, statement_verdict, surface_verdict


class Stage(str, Enum):
    EXTRACT = "extract"
    NORMALISE = "normalise"
    PARSE = "parse"
    GUARD = "guard"
    TYPECHECK = "typecheck"
    NUMERIC = "numeric"
    MERGE = "merge"


class Outcome(str, Enum):
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"  # not run (an earlier stage failed, or the stage is switched off)


@dataclass(frozen=True)
class StageVerdict:
    stage: Stage
    outcome: Outcome
    reason: str = ""

    def to_json(self) -> dict[str, str]:
        return {"stage": self.stage.value, "outcome": self.outcome.value, "reason": self.reason}


@dataclass(frozen=True)
class FormalizeConfig:
    """How candidates are produced and screened. Every field has a working default."""

    samples: int = 8  # answers asked of the model
    few_shot: int = 4  # retrieved examples in the prompt
    prelude: str = CORE_PRELUDE  # header before every candidate (ℕ/ℤ notation on core Lean)
    numeric: bool = True  # run the numeric screen
    # The surface checker's reading of a statement Lean cannot elaborate: its ℕ/ℤ instance decided by
    # `decide` (recorded; such a refutation stays unconfirmed, as the reading is not Lean's).
    confirm_with_lean: bool = True
    merge_heartbeats: int = 20_000  # Lean's budget for one sameness/equivalence check
    lean_timeout: float = 60.0  # wall clock per Lean request


@dataclass(frozen=True)
class Candidate:
    """One model answer and what each stage said about it."""

    index: int  # position among the samples
    raw: str
    verdicts: tuple[StageVerdict, ...]
    statement: str = ""  # the normalised statement: the model's header commands, then the theorem
    theorem: str = ""  # the theorem alone (what the numeric checker reads)
    answer: str | None = None  # the `Answer:` line, for questions
    numeric: StatementVerdict | None = None
    group: int | None = None  # index of its group's first candidate (kept candidates only)
    same_as: Sameness | None = None  # how Lean showed it equal to that one (None: it founded the group)
    votes: int = 0  # samples in its group
    rank: int | None = None  # 1-based rank of its group

    def verdict(self, stage: Stage) -> StageVerdict | None:
        return next((v for v in self.verdicts if v.stage is stage), None)

    def passed(self, stage: Stage) -> bool:
        v = self.verdict(stage)
        return v is not None and v.outcome is Outcome.PASSED

    @property
    def refuted(self) -> bool:
        """The numeric verdict drops it (`_drops`)."""
        return self.numeric is not None and _drops(self.numeric, self.passed(Stage.TYPECHECK))

    @property
    def kept(self) -> bool:
        return self.passed(Stage.TYPECHECK) and not self.refuted

    @property
    def dropped_at(self) -> Stage | None:
        return next((v.stage for v in self.verdicts if v.outcome is Outcome.FAILED), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index, "statement": self.statement, "answer": self.answer,
            "kept": self.kept, "dropped_at": self.dropped_at.value if self.dropped_at else None,
            "verdicts": [v.to_json() for v in self.verdicts],
            "numeric": self.numeric.to_dict() if self.numeric is not None else None,
            "group": self.group, "same_as": self.same_as.value if self.same_as else None,
            "votes": self.votes, "rank": self.rank, "raw": self.raw,
        }


class Agreement(str, Enum):
    """How the top candidate compares with a reference statement (evaluation)."""

    EQUAL_TEXT = "equal_text"  # equal after normalisation (whitespace, theorem name)
    ALPHA = "alpha"
    REDUCIBLE_DEFEQ = "reducible_defeq"
    PROVED_EQUIVALENT = "proved_equivalent"
    DIFFERENT = "different"  # not shown equal (Lean checked both)
    UNCHECKABLE = "uncheckable"  # the reference or the candidate does not elaborate here
    NO_CANDIDATE = "no_candidate"

    @property
    def agrees(self) -> bool:
        return self in (Agreement.EQUAL_TEXT, Agreement.ALPHA, Agreement.REDUCIBLE_DEFEQ,
                        Agreement.PROVED_EQUIVALENT)


@dataclass(frozen=True)
class Screened:
    """All candidates (in sample order) and the ranked group representatives."""

    candidates: tuple[Candidate, ...]
    lean_has_mathlib: bool
    agreement: Agreement | None = None  # only when a reference was given
    seconds: float = 0.0

    @property
    def ranked(self) -> tuple[Candidate, ...]:
        reps = [c for c in self.candidates if c.rank is not None and c.group == c.index]
        return tuple(sorted(reps, key=lambda c: c.rank or 0))

    @property
    def best(self) -> Candidate | None:
        return self.ranked[0] if self.ranked else None

    def to_json(self) -> dict[str, Any]:
        return {"lean_has_mathlib": self.lean_has_mathlib,
                "agreement": self.agreement.value if self.agreement else None,
                "ranked": [c.index for c in self.ranked], "seconds": round(self.seconds, 3),
                "candidates": [c.to_json() for c in self.candidates]}


def _drops(numeric: StatementVerdict, typechecked: bool) -> bool:
    """Whether a numeric verdict drops a candidate: a counterexample Lean's kernel confirmed; for a
    candidate that did not type-check, also the surface checker's unconfirmed one. An unconfirmed
    refutation never drops a candidate that type-checked."""
    v = numeric.verdict
    return v is Verdict.REFUTED or (v is Verdict.REFUTED_UNCONFIRMED and not typechecked)


def _signature_key(theorem: str) -> str:
    """The theorem without keyword and name, whitespace collapsed (textual normal form)."""
    words = decls.mask(theorem).split()
    if words and words[0] == "theorem":
        words = words[2:]
    elif words and words[0] == "example":
        words = words[1:]
    return " ".join(words)


def _same_text(header: str, theorem: str, c: Candidate) -> bool:
    """Equal after textual normalisation: same header commands and signature, whitespace collapsed."""
    c_header = c.statement[: len(c.statement) - len(c.theorem)]
    return (" ".join(header.split()) == " ".join(c_header.split())
            and _signature_key(theorem) == _signature_key(c.theorem))


@dataclass
class _Work:
    """Per-run state: the elaborated statements to release at the end."""

    elaborated: dict[int, Elaborated] = field(default_factory=dict)


class CandidatePipeline:
    """Runs the stages on a batch of answers, on one Lean server. Holds no per-run state."""

    def __init__(self, lean: LeanClient, config: FormalizeConfig | None = None, *,
                 guard: SyntaxGuard | None = None, numeric: VerdictConfig | None = None) -> None:
        self.lean = lean
        self.config = config or FormalizeConfig()
        self.guard = guard or SyntaxGuard()
        self.numeric = numeric or VerdictConfig(
            surface=CheckConfig(confirm_with_lean=self.config.confirm_with_lean))
        self._has_mathlib: bool | None = None

    def lean_has_mathlib(self) -> bool:
        if self._has_mathlib is None:
            self._has_mathlib = has_mathlib(self.lean)
        return self._has_mathlib

    def run(self, answers: Sequence[str], *, reference: str | None = None) -> Screened:
        """Screen `answers` (raw model text); with `reference` (a formal statement), also say how
        the top candidate compares with it.

        Raises:
            LeanServerError: an infrastructure fault of Lean unrelated to a candidate.
        """
        t0 = time.monotonic()
        work = _Work()
        try:
            cands = [self._one(i, a, work) for i, a in enumerate(answers)]
            cands = self._merge_and_rank(cands, work)
            agreement = None if reference is None else self._agreement(cands, reference, work)
        finally:
            for e in work.elaborated.values():
                release(self.lean, e)
        return Screened(tuple(cands), self.lean_has_mathlib(), agreement, time.monotonic() - t0)

    # ------------------------------------------------------------------ one candidate

    def _one(self, index: int, raw: Any, work: _Work) -> Candidate:
        if not isinstance(raw, str):
            why = StageVerdict(Stage.EXTRACT, Outcome.FAILED, "the answer is not text")
            return Candidate(index, "", (why,))
        answer = extract_answer(raw)
        verdicts: list[StageVerdict] = []
        got = extract_code(raw)
        if got.code is None:
            verdicts.append(StageVerdict(Stage.EXTRACT, Outcome.FAILED, got.reason))
            return Candidate(index, raw, tuple(verdicts), answer=answer)
        verdicts.append(StageVerdict(Stage.EXTRACT, Outcome.PASSED))
        norm = normalise(got.code)
        if not norm.ok:
            verdicts.append(StageVerdict(Stage.NORMALISE, Outcome.FAILED, norm.reason))
            return Candidate(index, raw, tuple(verdicts), answer=answer)
        verdicts.append(StageVerdict(Stage.NORMALISE, Outcome.PASSED))
        elab = self._elaborate(self.config.prelude + norm.snippet)
        refused = False
        if isinstance(elab, Elaborated):
            work.elaborated[index] = elab
            verdicts += [StageVerdict(s, Outcome.PASSED) for s in (Stage.PARSE, Stage.GUARD, Stage.TYPECHECK)]
        elif elab.where is Rejection.PARSE:
            verdicts += [StageVerdict(Stage.PARSE, Outcome.FAILED, elab.reason),
                         StageVerdict(Stage.GUARD, Outcome.SKIPPED, "Lean could not read it"),
                         StageVerdict(Stage.TYPECHECK, Outcome.SKIPPED, "Lean could not read it")]
        elif elab.where is Rejection.GUARD:
            refused = True
            verdicts += [StageVerdict(Stage.PARSE, Outcome.PASSED),
                         StageVerdict(Stage.GUARD, Outcome.FAILED, elab.reason)]
        else:
            verdicts += [StageVerdict(Stage.PARSE, Outcome.PASSED), StageVerdict(Stage.GUARD, Outcome.PASSED),
                         StageVerdict(Stage.TYPECHECK, Outcome.FAILED, elab.reason)]
        numeric = None
        if refused:
            pass  # a refused candidate is not looked at further
        elif not self.config.numeric:
            verdicts.append(StageVerdict(Stage.NUMERIC, Outcome.SKIPPED, "numeric screen off"))
        else:
            numeric, why = self._numeric(norm.header, norm.statement, elab)
            if numeric is None:
                verdicts.append(StageVerdict(Stage.NUMERIC, Outcome.SKIPPED, why))
            else:
                outcome = Outcome.FAILED if _drops(numeric, isinstance(elab, Elaborated)) else Outcome.PASSED
                verdicts.append(StageVerdict(Stage.NUMERIC, outcome, f"{numeric.text}: {numeric.reason}"))
        return Candidate(index, raw, tuple(verdicts), norm.snippet, norm.statement, answer, numeric)

    def _numeric(self, header: str, theorem: str,
                 elab: Elaborated | Rejected) -> tuple[StatementVerdict | None, str]:
        """The numeric verdict: on Lean's terms when the candidate elaborated, else on its text."""
        if not isinstance(elab, Elaborated):
            return surface_verdict(theorem, self.lean, self.numeric, reading=LeanReading.NOT_ELABORATED,
                                   lean_error=elab.reason), ""
        try:
            return statement_verdict(theorem, self.lean, self.numeric, header=self.config.prelude + header,
                                     lean_has_mathlib=self.lean_has_mathlib()), ""
        except LeanTimeout:
            return None, f"Lean did not finish the numeric check within {self.config.lean_timeout:.0f} s"
        except LeanCrashed as e:
            return None, f"the Lean process died during the numeric check: {e}"

    def _elaborate(self, snippet: str) -> Elaborated | Rejected:
        try:
            return elaborate_statement(self.lean, snippet, guard=self.guard, timeout=self.config.lean_timeout)
        except LeanTimeout:
            return Rejected(Rejection.TYPECHECK,
                            f"Lean did not finish within {self.config.lean_timeout:.0f} s")
        except LeanCrashed as e:
            return Rejected(Rejection.TYPECHECK, f"the Lean process died on this statement: {e}")

    # ------------------------------------------------------------------ merge and rank

    def _merge_and_rank(self, cands: list[Candidate], work: _Work) -> list[Candidate]:
        reps: list[int] = []  # group founders, in order of appearance
        member_of: dict[int, tuple[int, Sameness | None]] = {}
        for c in cands:
            if not c.kept or c.index not in work.elaborated:
                continue
            me = work.elaborated[c.index]
            home: tuple[int, Sameness | None] = (c.index, None)
            for r in reps:
                same = same_statement(self.lean, work.elaborated[r], me, timeout=self.config.lean_timeout,
                                      heartbeats=self.config.merge_heartbeats)
                if same is not None:
                    home = (r, same)
                    break
            if home[0] == c.index:
                reps.append(c.index)
            member_of[c.index] = home
        votes = {r: sum(1 for g, _ in member_of.values() if g == r) for r in reps}

        def key(r: int) -> tuple[int, int, int]:
            num = cands[r].numeric
            return (-votes[r], 0 if num is not None and num.verdict is Verdict.SURVIVED else 1, r)

        rank = {r: i + 1 for i, r in enumerate(sorted(reps, key=key))}
        out = []
        for c in cands:
            if c.index not in member_of:
                reached = c.verdict(Stage.TYPECHECK) is not None
                out.append(replace(c, verdicts=(*c.verdicts, StageVerdict(Stage.MERGE, Outcome.SKIPPED,
                                                                          "not kept"))) if reached else c)
                continue
            g, same = member_of[c.index]
            why = (f"founds group {g} ({votes[g]} sample(s))" if same is None
                   else f"same statement as candidate {g} ({same.value})")
            out.append(replace(c, verdicts=(*c.verdicts, StageVerdict(Stage.MERGE, Outcome.PASSED, why)),
                               group=g, same_as=same, votes=votes[g], rank=rank[g]))
        return out

    # ------------------------------------------------------------------ evaluation

    def _agreement(self, cands: list[Candidate], reference: str, work: _Work) -> Agreement:
        best = next((c for c in sorted(cands, key=lambda c: c.rank or 1 << 30) if c.rank is not None), None)
        ref_norm = normalise(reference)
        fallback = best or next((c for c in cands if c.theorem and not c.refuted
                                 and c.dropped_at not in (Stage.GUARD,)), None)
        if fallback is None:
            return Agreement.NO_CANDIDATE
        if ref_norm.ok and _same_text(ref_norm.header, ref_norm.statement, fallback):
            return Agreement.EQUAL_TEXT
        if best is None or not ref_norm.ok:
            return Agreement.UNCHECKABLE
        ref = self._elaborate(self.config.prelude + ref_norm.snippet)
        if not isinstance(ref, Elaborated):
            return Agreement.UNCHECKABLE
        work.elaborated[-1] = ref
        same = equivalent(self.lean, ref, work.elaborated[best.index],
                          heartbeats=self.config.merge_heartbeats, timeout=self.config.lean_timeout)
        return Agreement.DIFFERENT if same is None else Agreement(same.value)
