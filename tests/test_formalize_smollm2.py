"""The formalizer on the real SmolLM2-135M-Instruct (`../shared/MODELS.md`), both backends.

It is a 135 M general chat model and writes mostly prose: these tests check behaviour (no crash,
every candidate dropped with a recorded reason or kept only after Lean and the checker passed it,
nothing claimed proved without a verification from scratch), never quality.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from prover.formalize.api import formalize
from prover.formalize.llm import OpenAILLM, OpenAILLMConfig, TransformersLLM, TransformersLLMConfig
from prover.formalize.pipeline import FormalizeConfig, Outcome, Screened, Stage
from prover.formalize.solve import SolveConfig, SolveStatus, solve
from prover.lean import LeanServer
from search.assemble import SearchSetup
from search.best_first import SearchConfig


def _no_false_claims(screened: Screened) -> None:
    for c in screened.candidates:
        if c.kept:
            assert c.passed(Stage.GUARD) and c.passed(Stage.TYPECHECK) and not c.refuted
            assert c.rank is not None and c.votes >= 1
        else:
            failed = [v for v in c.verdicts if v.outcome is Outcome.FAILED]
            assert failed and all(v.reason for v in failed)
            assert c.rank is None


@pytest.fixture(scope="module")
def smollm2(smollm2_gguf: Path) -> TransformersLLM:
    return TransformersLLM(TransformersLLMConfig(model=str(smollm2_gguf), max_new_tokens=96))


def test_transformers_path_formalize(smollm2: TransformersLLM, lean_server: LeanServer) -> None:
    assert smollm2.uses_chat_template  # its tokenizer has one
    result = formalize("The sum of two even natural numbers is even.", smollm2, lean_server,
                       config=FormalizeConfig(samples=3, few_shot=0))
    assert len(result.screened.candidates) == 3
    _no_false_claims(result.screened)


def test_transformers_path_solve(smollm2: TransformersLLM, lean_server: LeanServer) -> None:
    sol = solve("What is the remainder when 2^10 is divided by 7?", smollm2, lean_server,
                config=SolveConfig(formalize=FormalizeConfig(samples=2, few_shot=0),
                                   setup=SearchSetup(budget=SearchConfig(max_expansions=20, wall_time=20))))
    _no_false_claims(sol.screened)
    checks = {c.name: c.passed for c in sol.checks}
    # "proved" exactly when a proof was verified from scratch.
    assert (sol.status is SolveStatus.PROVED) == (checks.get("verified from scratch") is True)
    assert sol.computed is not None and str(sol.computed.values[0]) == "2"  # sympy, not the model


def test_http_path_formalize(llama_server: str, lean_server: LeanServer) -> None:
    llm = OpenAILLM(OpenAILLMConfig(base_url=llama_server, model="smollm2", max_tokens=96, timeout=120))
    result = formalize("For every natural number n, n + 0 = n.", llm, lean_server,
                       config=FormalizeConfig(samples=3, few_shot=0))
    assert len(result.screened.candidates) == 3 and llm.requests_sent == 3  # it ignores `n`
    _no_false_claims(result.screened)
