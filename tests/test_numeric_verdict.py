"""One numeric verdict for users (issue 20): `prover check`, the bench pre-screen and the
formalizer's screen check a statement Lean elaborates on Lean's terms and call it refuted only
with a counterexample Lean's kernel confirmed; the surface checker (text → sympy) speaks only for
statements this Lean cannot elaborate, and its refutation is named unconfirmed. Everything runs
on the real Lean; each true statement below is also proved by Lean."""

from __future__ import annotations

import argparse
import json

import pytest

from prover.bench.config import CORE_PRELUDE, WorkerConfig
from prover.bench.data import Problem
from prover.bench.worker import BenchWorker
from prover.formalize.pipeline import CandidatePipeline, FormalizeConfig, Outcome, Stage
from prover.lean import LeanServer
from prover.lean.exprs import RefuteStatus
from prover.numeric import NumericChecker, Verdict
from prover.numeric import cli as numeric_cli
from prover.numeric.verdict import CheckPath, LeanReading, statement_verdict

pytestmark = pytest.mark.lean

# The issue's example: the `if` is elaborated at ℕ (so `1 - 3 = 0`) and then cast to ℤ; the
# surface checker reads `n - 3` at ℤ and "refutes" it.
ITE = "theorem t (f : Nat → Int) (hf : ∀ n, f n = if n < 3 then n - 3 else n) : f 1 = 0"

# True statements, each with a proof Lean accepts.
TRUE = [
    (ITE, "by rw [hf]; decide"),
    ("theorem t2 (f : ℕ → ℤ) (hf : ∀ n, f n = if n < 2 then n - 5 else 1) (n : ℕ) (h : n < 2) : f n = 0",
     "by rw [hf]; split <;> omega"),
    ("theorem s (n : ℕ) (h : n < 3) : n - 5 = 0", "by omega"),  # ℕ subtraction truncates
    ("theorem d (a b : ℤ) (h : a = -7) (hb : b = -2) : a / b = 4 ∧ a % b = 1",  # Int.ediv / emod
     "by subst h hb; decide"),
    ("theorem d2 (a : ℤ) (h : a = -7) : a / 2 = -4 ∧ a % 2 = 1", "by subst h; decide"),
    ("theorem w (i : Fin 4) (h : i = 3) : i + 1 = 0", "by subst h; decide"),  # Fin wraps around
    ("theorem w2 (i j : Fin 5) (h : i = 4) (hj : j = 3) : i + j = 2", "by subst h hj; decide"),
    ("def g (n : Nat) : Nat := n * 2\ntheorem tg (n : Nat) (h : n < 4) : g n - n = n", "by unfold g; omega"),
]

# False statements and the one counterexample each has among small values.
FALSE = [
    ("theorem x (x : Int) (h : x ^ 2 = 4) : x = 2", {"x": "-2"}),
    ("theorem wf (i : Fin 4) (h : i = 3) : i + 1 = 3", {"i": "3"}),
    ("def g2 (n : Nat) : Nat := n * 2\ntheorem tg2 (n : Nat) (h : 0 < n) (h2 : n < 2) : g2 n = n + 2",
     {"n": "1"}),
]

MATHLIB_ONLY = "theorem r (x : ℝ) (h : x = 4) : Real.sqrt x = 3"


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    numeric_cli.add_arguments(parser)
    return parser.parse_args(list(argv))


def _has_mathlib(lean: LeanServer) -> bool:
    return bool(lean.decl_info(0, "Real").found)


@pytest.mark.parametrize(("statement", "proof"), TRUE)
def test_true_statements_are_not_refuted(lean_server: LeanServer, statement: str, proof: str,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert lean_server.check(f"{CORE_PRELUDE}{statement} := {proof}").ok, "the statement is true"
    v = statement_verdict(statement, lean_server, header=CORE_PRELUDE)
    assert v.lean is LeanReading.ELABORATED and v.path is CheckPath.TYPED
    assert v.verdict not in (Verdict.REFUTED, Verdict.REFUTED_UNCONFIRMED, Verdict.INVALID), v
    code = numeric_cli.run(_args("--json", statement), lean=lean_server, header=CORE_PRELUDE)
    out = json.loads(capsys.readouterr().out)
    assert code == numeric_cli.EXIT_NOT_REFUTED
    assert out["lean"] == "elaborated" and not out["verdict"].startswith("refuted")


def test_the_issue_example_in_text(lean_server: LeanServer, capsys: pytest.CaptureFixture[str]) -> None:
    # The surface checker alone still refutes it: that is the weaker path this verdict replaces.
    assert NumericChecker().check_statement(ITE).verdict is Verdict.REFUTED
    assert numeric_cli.run(_args(ITE), lean=lean_server, header=CORE_PRELUDE) == 0
    out = capsys.readouterr().out
    assert "refuted" not in out and "checked on the terms Lean elaborated" in out
    # The old opt-in flag changes nothing.
    assert numeric_cli.run(_args("--lean", ITE), lean=lean_server, header=CORE_PRELUDE) == 0


@pytest.mark.parametrize(("statement", "counterexample"), FALSE)
def test_false_statements_are_refuted_with_a_kernel_confirmed_counterexample(
        lean_server: LeanServer, statement: str, counterexample: dict[str, str],
        capsys: pytest.CaptureFixture[str]) -> None:
    v = statement_verdict(statement, lean_server, header=CORE_PRELUDE)
    assert v.verdict is Verdict.REFUTED and v.refuted and v.lean is LeanReading.ELABORATED
    assert v.counterexample is not None and v.counterexample.kernel is RefuteStatus.CONFIRMED
    assert dict(v.counterexample.assignment) == counterexample
    assert numeric_cli.run(_args("--json", statement), lean=lean_server, header=CORE_PRELUDE) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["verdict"] == "refuted" and out["counterexample"]["lean"] == "confirmed"
    assert out["counterexample"]["assignment"] == counterexample


def test_bare_proposition_and_text_output(lean_server: LeanServer,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert numeric_cli.run(_args("(2 : ℤ) - 5 = 0"), lean=lean_server, header=CORE_PRELUDE) == 1
    out = capsys.readouterr().out
    assert out.startswith("refuted (counterexample confirmed by Lean's kernel)")
    assert "Lean's kernel: confirmed" in out
    assert numeric_cli.run(_args("(2 : ℕ) - 5 = 0"), lean=lean_server, header=CORE_PRELUDE) == 0


def test_a_statement_lean_cannot_elaborate_gets_the_unconfirmed_verdict(
        lean_server: LeanServer, capsys: pytest.CaptureFixture[str]) -> None:
    if _has_mathlib(lean_server):
        pytest.skip("this Lean has Mathlib: the statement elaborates here")
    v = statement_verdict(MATHLIB_ONLY, lean_server, header=CORE_PRELUDE)
    assert v.verdict is Verdict.REFUTED_UNCONFIRMED and not v.refuted
    assert v.lean is LeanReading.NOT_ELABORATED and v.path is CheckPath.SURFACE and v.lean_error
    assert v.counterexample is not None and v.counterexample.kernel is None
    code = numeric_cli.run(_args("--json", MATHLIB_ONLY), lean=lean_server, header=CORE_PRELUDE)
    out = json.loads(capsys.readouterr().out)
    assert code == numeric_cli.EXIT_REFUTED_UNCONFIRMED == 4
    assert out["verdict"] == "refuted_unconfirmed" and out["lean"] == "not_elaborated"
    assert out["verdict_text"] == "refuted numerically, not checked by Lean"
    assert out["counterexample"]["lean"] == "not checked"
    assert numeric_cli.run(_args(MATHLIB_ONLY), lean=lean_server, header=CORE_PRELUDE) == 4
    text = capsys.readouterr().out
    assert text.startswith("refuted numerically, not checked by Lean: ")
    assert "Lean did not elaborate the statement here" in text


@pytest.mark.parametrize("statement", ["", "   ", "hello world", "theorem p : 1 = 1 := by simp"])
def test_bad_input_exits_2_with_a_message(lean_server: LeanServer, statement: str,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert numeric_cli.run(_args(statement), lean=lean_server, header=CORE_PRELUDE) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith("prover check: invalid input: ")
    assert statement_verdict(statement, lean_server, header=CORE_PRELUDE).verdict is Verdict.INVALID


def test_surface_only_is_labelled_and_unconfirmed(capsys: pytest.CaptureFixture[str]) -> None:
    assert numeric_cli.run(_args("--surface-only", "--json", "(2 : ℤ) - 5 = 0")) == 4
    out = json.loads(capsys.readouterr().out)
    assert out["verdict"] == "refuted_unconfirmed" and out["lean"] == "not_asked" and out["path"] == "surface"
    assert numeric_cli.run(_args("--surface-only", "2 - 5 = 0")) == 0
    text = capsys.readouterr().out
    assert text.startswith("survived") and "surface checker, without Lean" in text
    assert numeric_cli.run(_args("--goal", "x : ℤ\nh : x ^ 2 = 4\n⊢ x = 2")) == 4
    capsys.readouterr()
    assert numeric_cli.run(_args("--surface-only", "hello world")) == 2


def test_bench_prescreen_keeps_an_elaborating_statement_the_surface_would_refute(
        lean_server: LeanServer) -> None:
    worker = BenchWorker(WorkerConfig(baseline=()), server=lean_server)
    true = worker.classify(Problem("minif2f", "ite", "test", "", ITE + " := by", ""))
    assert true.snippet is not None and true.runnable and not true.refuted
    assert true.numeric["lean"] == "elaborated" and not str(true.numeric["verdict"]).startswith("refuted")
    false = worker.classify(Problem("minif2f", "sq", "test", "", FALSE[0][0] + " := by", ""))
    assert false.refuted and not false.runnable
    assert false.numeric["counterexample"]["lean"] == "confirmed"
    if not _has_mathlib(lean_server):
        real = worker.classify(Problem("minif2f", "r", "test", "", MATHLIB_ONLY + " := by", ""))
        assert real.snippet is None and real.numeric["verdict"] == "refuted_unconfirmed"


def test_formalizer_keeps_an_elaborating_candidate_the_surface_would_refute(lean_server: LeanServer) -> None:
    answers = [f"```lean\n{ITE} := by sorry\n```",
               "```lean\ntheorem f (a b : ℕ) (h : a ≤ b) : a < b := by sorry\n```"]
    screened = CandidatePipeline(lean_server, FormalizeConfig()).run(answers)
    kept, false = screened.candidates
    assert kept.kept and not kept.refuted and kept.rank == 1
    assert kept.numeric is not None and kept.numeric.lean is LeanReading.ELABORATED
    numeric_stage = kept.verdict(Stage.NUMERIC)
    assert numeric_stage is not None and numeric_stage.outcome is Outcome.PASSED
    assert false.dropped_at is Stage.NUMERIC and false.refuted and false.numeric is not None
    assert false.numeric.counterexample is not None
    assert false.numeric.counterexample.kernel is RefuteStatus.CONFIRMED
