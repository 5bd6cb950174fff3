"""`solve`: a question in, an answer with a Lean statement and a verified proof out, or why not.

The chain: the model proposes answers, each with a Lean statement that pins it down; sympy
computes the answer independently (`answers.compute_answer`); every candidate goes through the
pipeline (guard, Lean type-check, numeric screen, merge, rank); the top statement is searched
(`search.assemble`, the strongest installed policy by default) and a proof it finds is verified again from
scratch (`prover.verify.Verifier`). Only that verification makes the status PROVED.

A disagreement between the model's answer and sympy's is reported, never resolved silently: the
chosen statement is the pipeline's, and the report says which answer each check supports. When no
statement elaborates here and this Lean has no Mathlib, the answer can still be checked
numerically (the checker reads Mathlib's notation); the report then says plainly that the
statement is not checkable on this Lean and what to install.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from prover.formalize.answers import Computed, compute_answer, parse_value
from prover.formalize.examples import Retriever
from prover.formalize.llm import LLM
from prover.formalize.pipeline import Candidate, CandidatePipeline, FormalizeConfig, Screened, Stage
from prover.formalize.prompts import solve_prompt
from prover.lean.client import LeanClient
from prover.numeric import Verdict
from search.assemble import SearchSetup
from search.best_first import SearchConfig

SOLVE_BUDGET = SearchConfig(max_expansions=100, wall_time=60.0)
MATHLIB_HINT = ("install Mathlib for this Lean (add it as a dependency in lean_project/lakefile.toml and "
                "run `lake update`), then run `prover solve` again")


class SolveStatus(str, Enum):
    PROVED = "proved"  # a statement of the answer type-checked and its proof was verified from scratch
    NOT_PROVED = "not_proved"  # a statement type-checked, no verified proof within the budget
    NUMERIC_ONLY = "numeric_only"  # no statement elaborates on this Lean (no Mathlib); checked numerically
    NO_STATEMENT = "no_statement"  # no candidate survived the checks


@dataclass(frozen=True)
class Check:
    """One check of the chain and what it said."""

    name: str
    passed: bool | None  # None: not run / not applicable here
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "passed": self.passed, "detail": self.detail}


@dataclass(frozen=True)
class SolveConfig:
    """The chain's settings. Every field has a working default."""

    formalize: FormalizeConfig = field(default_factory=lambda: FormalizeConfig(samples=4))
    # The proof search (`search.assemble`): the strongest installed policy by default.
    setup: SearchSetup = field(default_factory=lambda: SearchSetup(budget=SOLVE_BUDGET))
    search: bool = True


@dataclass(frozen=True)
class Solution:
    question: str
    status: SolveStatus
    answer: str | None  # the chosen candidate's answer (as the model wrote it)
    statement: str | None  # the chosen candidate's Lean statement
    proof: str | None  # the verified proof (tactic block body), only when PROVED
    computed: Computed | None  # sympy's own answer
    checks: tuple[Check, ...]
    notes: tuple[str, ...]
    screened: Screened
    model: str
    seconds: float
    policy: str | None = None  # the search's policy, when a statement was searched

    def to_json(self) -> dict[str, Any]:
        return {"question": self.question, "status": self.status.value, "policy": self.policy,
                "answer": self.answer,
                "statement": self.statement, "proof": self.proof,
                "computed": self.computed.to_json() if self.computed else None,
                "checks": [c.to_json() for c in self.checks], "notes": list(self.notes),
                "model": self.model, "seconds": round(self.seconds, 3), **self.screened.to_json()}


def _agrees(answer: str | None, computed: Computed | None) -> bool | None:
    if answer is None or computed is None:
        return None
    value = parse_value(answer)
    return None if value is None else computed.matches(value)


def _numeric_only_choice(screened: Screened) -> Candidate | None:
    """Without a statement Lean can check here: the most frequent statement that the numeric
    checker read and did not refute (it survived on concrete values), first seen on ties."""
    pool = [c for c in screened.candidates if c.theorem and c.numeric is not None
            and c.numeric.verdict is Verdict.SURVIVED and c.dropped_at in (Stage.PARSE, Stage.TYPECHECK)]
    if not pool:
        return None
    counts: dict[str, int] = {}
    for c in pool:
        counts[" ".join(c.theorem.split())] = counts.get(" ".join(c.theorem.split()), 0) + 1
    return max(pool, key=lambda c: (counts[" ".join(c.theorem.split())], -c.index))


def solve(question: str, llm: LLM, lean: LeanClient, *, config: SolveConfig | None = None,
          retriever: Retriever | None = None) -> Solution:
    """Answer `question` through the whole chain (see the module docstring).

    Raises:
        LLMError: the model backend cannot work as configured.
        LeanServerError: an infrastructure fault of Lean.
    """
    cfg = config or SolveConfig()
    t0 = time.monotonic()
    computed = compute_answer(question)
    fcfg = cfg.formalize
    shots = retriever.top(question, fcfg.few_shot) if retriever is not None and fcfg.few_shot > 0 else []
    answers = llm.generate(solve_prompt(question, shots), fcfg.samples)
    pipeline = CandidatePipeline(lean, fcfg)
    screened = pipeline.run(answers)
    checks: list[Check] = []
    notes: list[str] = []
    if computed is None:
        checks.append(Check("sympy", None, "no independent computation for a question of this shape"))
    else:
        checks.append(Check("sympy", True, f"{computed.computation} = {computed.shown}"))
    refuted = [c for c in screened.candidates if c.refuted]
    for c in refuted:
        cex = c.numeric.reason if c.numeric else ""
        notes.append(f"candidate {c.index} (answer {c.answer!r}) refuted by the numeric checker: {cex}")
    chosen = screened.best
    status = SolveStatus.NO_STATEMENT
    if chosen is None and not screened.lean_has_mathlib:
        chosen = _numeric_only_choice(screened)
        if chosen is not None:
            status = SolveStatus.NUMERIC_ONLY
            why = chosen.verdict(chosen.dropped_at).reason if chosen.dropped_at else ""
            notes.append("the statement is not checkable here: this Lean has no Mathlib, and Lean without "
                         f"it cannot read or elaborate the statement ({why[:200]}). The answer was checked "
                         f"numerically only. To check the statement: {MATHLIB_HINT}.")
    if chosen is None:
        checks.append(Check("statement", False, "no candidate statement survived the guard, Lean and the "
                                                "numeric checker"))
        return Solution(question, status, None, None, None, computed, tuple(checks), tuple(notes), screened,
                        llm.name, time.monotonic() - t0)
    agree = _agrees(chosen.answer, computed)
    if agree is False and computed is not None:
        notes.append(f"DISAGREEMENT: the model's answer {chosen.answer!r} differs from sympy's "
                     f"{computed.shown}; nothing was decided from either alone")
    checks.append(Check("answer agrees with sympy", agree,
                        "not comparable" if agree is None else f"model {chosen.answer!r}, sympy "
                        f"{computed.shown if computed else '-'}"))
    guarded = chosen.passed(Stage.GUARD)
    checks.append(Check("guard", guarded or None,
                        "passed" if guarded else "not reached: Lean could not read it here"))
    checks.append(Check("lean type-check", chosen.passed(Stage.TYPECHECK) or
                        (None if status is SolveStatus.NUMERIC_ONLY else False),
                        "the statement elaborates" if chosen.passed(Stage.TYPECHECK)
                        else "not checkable on this Lean (no Mathlib)"))
    num = chosen.numeric
    checks.append(Check("numeric screen", None if num is None else num.verdict is Verdict.SURVIVED,
                        "off" if num is None else f"{num.verdict.value}: {num.reason}"))
    checks.append(Check("agreement", chosen.votes > 1 if chosen.rank else None,
                        f"{chosen.votes} of {len(screened.candidates)} samples gave this statement"
                        if chosen.rank else "not ranked"))
    proof = None
    searched = status is not SolveStatus.NUMERIC_ONLY and cfg.search
    if status is not SolveStatus.NUMERIC_ONLY:
        status, proof = _prove(lean, fcfg.prelude + chosen.statement, cfg, checks)
    return Solution(question, status, chosen.answer, chosen.statement, proof, computed, tuple(checks),
                    tuple(notes), screened, llm.name, time.monotonic() - t0,
                    cfg.setup.policy if searched else None)


def _prove(lean: LeanClient, snippet: str, cfg: SolveConfig,
           checks: list[Check]) -> tuple[SolveStatus, str | None]:
    """Search, then verify from scratch; only a verified proof gives PROVED."""
    if not cfg.search:
        checks.append(Check("proof search", None, "switched off"))
        return SolveStatus.NOT_PROVED, None
    from prover.verify import Verifier
    from search.api import as_snippet
    from search.assemble import assemble

    result = assemble(cfg.setup, lean).search(as_snippet(snippet))
    if not result.proved or result.proof is None:
        checks.append(Check("proof search", False,
                            f"{result.status.value} ({result.policy} policy): {result.message}"))
        return SolveStatus.NOT_PROVED, None
    checks.append(Check("proof search", True,
                        f"found in {result.stats.expansions} expansions by the {result.policy} policy"))
    verdict = Verifier(lean).verify(as_snippet(snippet), result.proof)
    checks.append(Check("verified from scratch", verdict.ok, str(verdict)))
    return (SolveStatus.PROVED, result.proof) if verdict.ok else (SolveStatus.NOT_PROVED, None)

