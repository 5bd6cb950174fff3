"""The autoformalizer: natural language in, checked Lean statements (and `solve`: proofs) out.

Modules, one job each: `llm` (model backends), `examples` (few-shot pool and retrieval),
`prompts`, `extract` (answer text to one statement), `lean_checks` (what Lean says about
statements), `pipeline` (the staged screen), `answers` (sympy's own answers), `api`
(`formalize`), `solve`, `evaluate` (the harness), `cli`.

Names resolve lazily, so importing the package for the CLI's parser loads no model code.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "LLM": "llm", "LLMError": "llm", "OpenAILLM": "llm", "OpenAILLMConfig": "llm",
    "TransformersLLM": "llm", "TransformersLLMConfig": "llm", "make_llm": "llm",
    "Example": "examples", "ExamplePool": "examples", "make_retriever": "examples",
    "Candidate": "pipeline", "CandidatePipeline": "pipeline", "FormalizeConfig": "pipeline",
    "Outcome": "pipeline", "Screened": "pipeline", "Stage": "pipeline", "StageVerdict": "pipeline",
    "Agreement": "pipeline",
    "Formalization": "api", "formalize": "api",
    "Solution": "solve", "SolveConfig": "solve", "SolveStatus": "solve", "solve": "solve",
    "compute_answer": "answers",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"prover.formalize.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'prover.formalize' has no attribute {name!r}")
