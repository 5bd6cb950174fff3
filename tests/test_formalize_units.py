"""The autoformalizer's parts that need no Lean: extraction, sympy's answers, retrieval, the HTTP
backend against the scripted TEST DOUBLE (`formalizer_double`), and the evaluation summary."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sympy
from formalizer_double import ScriptedFormalizerDouble

from prover.formalize.answers import ParseError, compute_answer, parse_expr, parse_value
from prover.formalize.examples import ExamplePool, make_retriever
from prover.formalize.extract import extract_answer, extract_code, normalise
from prover.formalize.llm import LLMError, OpenAILLM, OpenAILLMConfig, make_llm

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "benchmarks"


def test_extract_takes_the_fenced_lean_block_with_a_theorem() -> None:
    text = "Here:\n```python\nprint(1)\n```\n```lean\ntheorem a : 1 = 1 := by sorry\n```\nDone."
    assert extract_code(text).code == "theorem a : 1 = 1 := by sorry\n"
    assert extract_code("so theorem x\ntheorem b : 2 = 2 := rfl").code == "theorem b : 2 = 2 := rfl"
    for bad in ("", "   ", "no code at all", "x" * 60_000, "theorem\x00"):
        got = extract_code(bad)
        assert got.code is None and got.reason


def test_normalise_keeps_one_statement_without_proof_or_imports() -> None:
    n = normalise("import Mathlib\nopen Nat\nlemma foo (n : ℕ) : n + 0 = n := by\n  simp\n"
                  "theorem bar : True := trivial\n")
    assert n.ok and n.header == "open Nat\n"
    assert n.statement == "theorem foo (n : ℕ) : n + 0 = n\n"
    # `:=` inside brackets is not the proof's start; a comment's `theorem` is not a declaration.
    n = normalise("-- theorem fake : False\ntheorem t (h : ∀ x : Nat, (x := 1) = x) : True := trivial")
    assert n.statement == "theorem t (h : ∀ x : Nat, (x := 1) = x) : True\n"
    assert not normalise("theorem nothing_here").ok
    assert not normalise("def f := 1").ok


def test_extraction_reads_modifiers_attributes_docstrings_and_namespaces() -> None:
    answer = ("The statement:\n```lean\nimport Mathlib\nnamespace P\n/-- Doc. -/\n"
              "@[simp] private nonrec lemma p (n : ℕ) :\n    n + 0 = n := by\n  simp\nend P\n```")
    code = extract_code(answer).code
    assert code is not None and code.startswith("import Mathlib")
    n = normalise(code)
    assert n.header == "namespace P\n"
    assert n.statement == "/-- Doc. -/\n@[simp] private nonrec theorem p (n : ℕ) :\n    n + 0 = n\n"
    # Without a fence: from the first line that starts a declaration (modifiers included).
    got = extract_code("So:\nprotected theorem q : True := trivial").code
    assert got == "protected theorem q : True := trivial"
    # An equation body, an `example`, a header of definitions, and no type.
    eqns = normalise("theorem e : ∀ n : Nat, n = n\n  | n => rfl")
    assert eqns.statement == "theorem e : ∀ n : Nat, n = n\n"
    assert normalise("example : True := trivial\ntheorem later : False").statement == "example : True\n"
    assert normalise("def f := 1\ntheorem w : f = 1 := by rfl").header == "def f := 1\n"
    assert normalise("-- lemma x : False\ntheorem t (h : 1 = 1) := h").reason  # no type


def test_answer_line() -> None:
    assert extract_answer("blah\n**Answer:** 155/3.\n```lean\n```") == "155/3"
    assert extract_answer("Final answer = 2") == "2"
    assert extract_answer("no answer line") is None


@pytest.mark.parametrize(("question", "expected"), [
    ("What is the area under y = x^2 + 2 from x = 0 to x = 5?", sympy.Rational(155, 3)),
    ("What is the area under y = x - 1 from 0 to 2?", sympy.Integer(1)),  # |f|, split at x = 1
    ("What is the integral of x - 1 from 0 to 2?", sympy.Integer(0)),
    ("What is the remainder when 2^10 is divided by 7?", sympy.Integer(2)),
    ("What is the sum of k^2 for k from 1 to 10?", sympy.Integer(385)),
    ("What is the sum of the integers from 1 to 100?", sympy.Integer(5050)),
    ("Solve 2x + 3 = 11 for x.", sympy.Integer(4)),
    ("What is 3^4 - 17?", sympy.Integer(64)),
])
def test_sympy_computes_answers_exactly(question: str, expected: sympy.Expr) -> None:
    got = compute_answer(question)
    assert got is not None and got.values == (expected,)


def test_unrecognised_questions_and_hostile_expressions() -> None:
    assert compute_answer("Who wrote Hamlet?") is None
    assert compute_answer("What is __import__('os').system('true')?") is None  # never eval'd
    with pytest.raises(ParseError):
        parse_expr("2^100000")
    with pytest.raises(ParseError):
        parse_expr("y + 1", ("x",))
    assert parse_value("47.5") == sympy.Rational(95, 2)
    assert parse_value("41.67") == sympy.Rational(4167, 100)  # exactly the decimal it spells
    assert parse_value("155/3 ≈ 51.67") == sympy.Rational(155, 3)
    assert parse_value("about five") is None


def test_pool_never_holds_the_evaluated_problems(tmp_path: Path) -> None:
    lines = [{"name": f"p{i}", "split": "valid" if i < 3 else "test", "informal_prefix": f"/-- {t} -/",
              "formal_statement": f"theorem p{i} : {i} = {i} := by", "header": ""}
             for i, t in enumerate(["sum of two even numbers is even", "the remainder of 2^10 mod 7",
                                    "area under a parabola", "even plus even is even",
                                    "remainder of a power modulo seven"])]
    path = tmp_path / "pool.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    evaluated = [("p1", "the remainder of 2^10 mod 7", "theorem p1 : 1 = 1 := by")]
    pool = ExamplePool.load(path, exclude=evaluated)
    assert pool.excluded == 1 and "p1" not in {e.name for e in pool.examples}
    top = make_retriever(pool).top("what is the remainder of 3^5 modulo 7", 2)
    assert top and top[0].name == "p4"
    assert [e.name for e in make_retriever(ExamplePool.load(path, splits=("test",))).top("even", 5)] == ["p3"]


@pytest.mark.skipif(not (SHARED / "minif2f.jsonl").is_file(), reason="../shared/benchmarks not present")
def test_pool_from_the_real_benchmark_file() -> None:
    pool = ExamplePool.load(SHARED / "minif2f.jsonl", splits=("test",))
    assert len(pool.examples) == 244 and all(e.split == "test" for e in pool.examples)
    top = make_retriever(pool).top("Find the remainder when 2^2010 is divided by 10.", 3)
    assert len(top) == 3 and all(e.informal for e in top)


def test_http_backend_against_the_double_ignoring_n() -> None:
    with ScriptedFormalizerDouble(["one", "two", "three"]) as double:
        llm = OpenAILLM(OpenAILLMConfig(base_url=double.url, model="scripted-double", retries=0,
                                        system_prompt="You formalize."))
        assert llm.generate("prompt text", 3) == ["one", "two", "three"]
    assert len(double.requests) == 3  # one choice per reply: asked three times
    body = double.requests[0]
    assert body["model"] == "scripted-double" and body["messages"][0] == {"role": "system",
                                                                          "content": "You formalize."}
    assert body["messages"][-1] == {"role": "user", "content": "prompt text"}


def test_backend_configuration_errors() -> None:
    with pytest.raises(LLMError, match="base_url"):
        make_llm("http", "m")
    with pytest.raises(LLMError, match="base_url"):
        make_llm("http", "m", base_url="not a url")
    with pytest.raises(LLMError, match="unknown LLM backend"):
        make_llm("carrier-pigeon", "m")
    with pytest.raises(LLMError, match="never answered"):
        OpenAILLM(OpenAILLMConfig(base_url="http://127.0.0.1:9", model="m", retries=0)).generate("p", 1)
