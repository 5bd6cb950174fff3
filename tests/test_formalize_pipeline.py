"""The autoformalizer and `prover solve` on the real Lean and the real numeric checker.

The model is a labelled TEST DOUBLE (`formalizer_double.ScriptedFormalizerDouble`, a scripted
OpenAI-format server on 127.0.0.1) standing in for a strong formalizer; the HTTP client, the
guard, Lean, the numeric checker, the search and the verifier are the real ones.
"""

from __future__ import annotations

import json

import pytest
from formalizer_double import ScriptedFormalizerDouble

from prover.formalize.api import formalize
from prover.formalize.llm import OpenAILLM, OpenAILLMConfig
from prover.formalize.pipeline import CandidatePipeline, FormalizeConfig, Outcome, Stage
from prover.formalize.solve import SolveStatus, solve
from prover.lean import LeanServer
from prover.numeric import Verdict

TRUE = "```lean\ntheorem t (a b : ℕ) (h : a ≤ b) : a < b + 1 := by sorry\n```"
ANSWERS = [
    TRUE,                                                                            # 0 true
    "Sure! Here it is:\ntheorem s (x y : Nat) (hxy : x ≤ y) : x < y + 1 := by\n  omega",  # 1 alpha-renamed
    "```lean4\nlemma r (a b : ℕ) (h : a ≤ b) : b + 1 > a := sorry\n```",             # 2 `>` notation
    "```lean\ntheorem f (a b : ℕ) (h : a ≤ b) : a < b := by sorry\n```",              # 3 false
    "```lean\ntheorem i (a b : ℕ) (h : a ≤ b) : a < b + \"1\" := by sorry\n```",        # 4 ill-typed
    "```lean\n#eval IO.println \"hi\"\ntheorem h1 (a b : ℕ) (h : a ≤ b) : a < b + 1 := by sorry\n```",  # 5
    "```lean\nset_option debug.skipKernelTC true\n"
    "theorem h2 (a b : ℕ) (h : a ≤ b) : a < b + 1 := by sorry\n```",                  # 6 hostile
    "I think the statement is about numbers. It is true.",                           # 7 no code
    "```lean\ntheorem w (a b : ℕ) (h : a ≤ b) : a ≤ b + 1 := by sorry\n```",          # 8 another true one
]


def _double_llm(double: ScriptedFormalizerDouble) -> OpenAILLM:
    return OpenAILLM(OpenAILLMConfig(base_url=double.url, model="scripted-double", retries=0))


def test_pipeline_drops_merges_and_ranks(lean_server: LeanServer) -> None:
    with ScriptedFormalizerDouble(ANSWERS) as double:
        result = formalize("If a ≤ b for natural numbers a and b, then a < b + 1.", _double_llm(double),
                           lean_server, config=FormalizeConfig(samples=len(ANSWERS), few_shot=0))
    # The double ignores `n`: the client asked once per answer.
    assert len(double.requests) == len(ANSWERS)
    c = result.screened.candidates
    assert [x.index for x in c] == list(range(len(ANSWERS)))
    # Dropped by the checks that should drop them, and by nothing earlier.
    assert c[3].dropped_at is Stage.NUMERIC and c[3].numeric is not None
    assert c[3].numeric.verdict is Verdict.REFUTED and c[3].numeric.counterexample is not None
    assert c[3].passed(Stage.TYPECHECK)
    assert c[4].dropped_at is Stage.TYPECHECK and c[4].passed(Stage.GUARD)
    for hostile in (c[5], c[6]):
        assert hostile.dropped_at is Stage.GUARD
        assert hostile.verdict(Stage.TYPECHECK) is None and hostile.numeric is None  # never elaborated
        assert not hostile.kept and hostile.rank is None and hostile.votes == 0
    assert c[7].dropped_at is Stage.EXTRACT
    # Duplicates merged: alpha-renaming (Expr equality) and `>` unfolded (reducible defeq).
    assert [x.kept for x in c] == [True, True, True, False, False, False, False, False, True]
    assert c[1].group == 0 and c[1].same_as is not None and c[1].same_as.value == "alpha"
    assert c[2].group == 0 and c[2].same_as is not None and c[2].same_as.value == "reducible_defeq"
    assert c[8].group == 8 and c[8].same_as is None
    # The true statement the most samples gave is ranked first.
    ranked = result.screened.ranked
    assert [x.index for x in ranked] == [0, 8]
    assert ranked[0].votes == 3 and ranked[1].votes == 1
    assert result.screened.best is not None and result.screened.best.index == 0
    # Every stage a kept candidate went through passed, each recorded once.
    for x in ranked:
        stages = [v.stage for v in x.verdicts]
        assert stages == [Stage.EXTRACT, Stage.NORMALISE, Stage.PARSE, Stage.GUARD, Stage.TYPECHECK,
                          Stage.NUMERIC, Stage.MERGE]
        assert all(v.outcome is Outcome.PASSED for v in x.verdicts)
    # The JSON form (`prover formalize --json`) carries the ranking and every verdict.
    out = json.loads(json.dumps(result.to_json()))
    assert out["ranked"] == [0, 8] and out["candidates"][5]["dropped_at"] == "guard"


def test_agreement_with_a_reference(lean_server: LeanServer) -> None:
    pipeline = CandidatePipeline(lean_server, FormalizeConfig())
    same = pipeline.run([ANSWERS[2]], reference="theorem ref (p q : ℕ) (hpq : p ≤ q) : p < q + 1 := by")
    assert same.agreement is not None and same.agreement.agrees
    # Equivalent but not the same statement (hypotheses swapped; false, so no tactic proves it
    # alone): Lean proves each from the other.
    swapped = "```lean\ntheorem c (a b : ℕ) (h1 : a = 1) (h2 : b = 2) : a + b = 4 := by sorry\n```"
    equiv = CandidatePipeline(lean_server, FormalizeConfig(numeric=False)).run(
        [swapped], reference="theorem ref (a b : ℕ) (h2 : b = 2) (h1 : a = 1) : a + b = 4 := by")
    assert equiv.agreement is not None and equiv.agreement.value == "proved_equivalent"
    # Two different true statements: each is provable alone, which is no evidence of equivalence.
    different = pipeline.run([ANSWERS[8]], reference="theorem ref (a b : ℕ) (h : a ≤ b) : a < b + 1 := by")
    assert different.agreement is not None and different.agreement.value == "different"


REMAINDER = "What is the remainder when 2^10 is divided by 7?"


def test_solve_core_question_to_a_verified_proof(lean_server: LeanServer) -> None:
    answers = ["The answer follows.\nAnswer: 2\n```lean\ntheorem rem : 2 ^ 10 % 7 = 2 := by sorry\n```",
               "Answer: 3\n```lean\ntheorem rem : 2 ^ 10 % 7 = 3 := by sorry\n```",
               "Answer: 2\n```lean\ntheorem rem2 : (2 : Nat) ^ 10 % 7 = 2 := by\n  decide\n```",
               "no idea"]
    with ScriptedFormalizerDouble(answers) as double:
        sol = solve(REMAINDER, _double_llm(double), lean_server)
    assert sol.status is SolveStatus.PROVED
    assert sol.answer == "2" and sol.proof
    assert sol.computed is not None and sol.computed.shown == "2"
    checks = {c.name: c.passed for c in sol.checks}
    assert checks["verified from scratch"] is True and checks["answer agrees with sympy"] is True
    assert checks["lean type-check"] is True and checks["numeric screen"] is True
    assert sol.screened.candidates[1].refuted  # the 3 was refuted on the numbers
    assert sol.screened.best is not None and sol.screened.best.votes == 2


def test_solve_cli_end_to_end(lean_server: LeanServer, capsys: pytest.CaptureFixture[str]) -> None:
    from prover.cli import build_parser
    from prover.formalize.cli import run_solve

    with ScriptedFormalizerDouble(["Answer: 4\n```lean\ntheorem s : 2 + 2 = 4 := by sorry\n```"]) as double:
        args = build_parser().parse_args(["solve", "What is 2 + 2?", "--backend", "http", "--base-url",
                                          double.url, "--model", "scripted-double", "--samples", "2",
                                          "--json"])
        code = run_solve(args, server=lean_server)
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["status"] == "proved" and out["proof"]
    assert out["computed"]["values"] == ["4"]


def test_solve_disagreement_is_shown(lean_server: LeanServer) -> None:
    # The model's answer line says 3 while its statement says 2: nothing is resolved silently.
    with ScriptedFormalizerDouble(["Answer: 3\n```lean\ntheorem rem : 2 ^ 10 % 7 = 2 := by sorry\n```"]) as d:
        sol = solve(REMAINDER, _double_llm(d), lean_server)
    checks = {c.name: c.passed for c in sol.checks}
    assert checks["answer agrees with sympy"] is False
    assert any(n.startswith("DISAGREEMENT") for n in sol.notes)


AREA = "What is the area under y = x^2 + 2 from x = 0 to x = 5?"


def test_solve_integral_example(lean_server: LeanServer) -> None:
    answers = ["Answer: 47.5\n```lean\ntheorem area : ∫ x in (0:ℝ)..5, (x^2 + 2) = 47.5 := by sorry\n```",
               "Answer: 41.67\n```lean\nimport Mathlib\n"
               "theorem area : ∫ x in (0:ℝ)..5, (x^2 + 2) = 41.67 := by sorry\n```",
               "Answer: 155/3\n```lean\n"
               "theorem area : ∫ x in (0:ℝ)..5, (x ^ 2 + 2) = 155 / 3 := by sorry\n```"]
    with ScriptedFormalizerDouble(answers) as double:
        sol = solve(AREA, _double_llm(double), lean_server)
    c = sol.screened.candidates
    assert c[0].refuted and c[1].refuted and not c[2].refuted
    assert c[2].numeric is not None and c[2].numeric.verdict is Verdict.SURVIVED
    assert sol.computed is not None and str(sol.computed.values[0]) == "155/3"
    assert sol.answer == "155/3"
    if sol.screened.lean_has_mathlib:
        pytest.skip("this Lean has Mathlib: the statement is checkable here (the case below is core Lean)")
    assert sol.status is SolveStatus.NUMERIC_ONLY and sol.proof is None
    checks = {ch.name: ch.passed for ch in sol.checks}
    assert checks["lean type-check"] is None and checks["answer agrees with sympy"] is True
    assert "verified from scratch" not in checks and "proof search" not in checks
    assert any("not checkable here" in n and "Mathlib" in n for n in sol.notes)
