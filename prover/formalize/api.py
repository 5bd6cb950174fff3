"""`formalize`: natural language in, ranked Lean statements out (the API under `prover formalize`).

    >>> from prover.formalize import formalize, OpenAILLM, OpenAILLMConfig
    >>> llm = OpenAILLM(OpenAILLMConfig("http://127.0.0.1:8000/v1", "Kimina-Autoformalizer-7B"))
    >>> with LeanServer() as lean:
    ...     result = formalize("The sum of two even numbers is even.", llm, lean)
    >>> result.screened.best.statement
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from prover.formalize.examples import Retriever
from prover.formalize.llm import LLM
from prover.formalize.pipeline import CandidatePipeline, FormalizeConfig, Screened
from prover.formalize.prompts import formalize_prompt
from prover.lean.client import LeanClient


@dataclass(frozen=True)
class Formalization:
    """What the model was asked, which examples it saw, and the screened candidates."""

    text: str
    prompt: str
    examples: tuple[str, ...]  # names of the retrieved examples
    model: str
    screened: Screened
    generate_seconds: float

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "model": self.model, "examples": list(self.examples),
                "prompt": self.prompt, "generate_seconds": round(self.generate_seconds, 3),
                **self.screened.to_json()}


def formalize(text: str, llm: LLM, lean: LeanClient, *, config: FormalizeConfig | None = None,
              retriever: Retriever | None = None, reference: str | None = None) -> Formalization:
    """Ask `llm` for `config.samples` formalizations of `text` and screen them on `lean`.

    Args:
        text: the informal statement (untrusted is fine: it only goes into the prompt).
        llm: the model.
        lean: a `LeanServer` (or the warm daemon's client).
        config: samples, few-shot count, prelude, budgets.
        retriever: few-shot examples (None: no examples).
        reference: a formal statement to compare the top candidate with (evaluation).

    Raises:
        LLMError: the model backend cannot work as configured.
        LeanServerError: an infrastructure fault of Lean.
    """
    cfg = config or FormalizeConfig()
    shots = retriever.top(text, cfg.few_shot) if retriever is not None and cfg.few_shot > 0 else []
    prompt = formalize_prompt(text, shots)
    t0 = time.monotonic()
    answers = llm.generate(prompt, cfg.samples)
    gen_s = time.monotonic() - t0
    screened = CandidatePipeline(lean, cfg).run(answers, reference=reference)
    return Formalization(text, prompt, tuple(e.name for e in shots), llm.name, screened, gen_s)
