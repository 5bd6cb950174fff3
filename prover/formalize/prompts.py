"""The prompts the formalizer sends: a statement to formalize, or a question to answer and pin down.

Retrieved examples are shown as (informal, formal) pairs before the task. The model is asked for
one fenced Lean 4 block ending in `:= by sorry`; what it actually writes is untrusted and goes
through `extract` and the pipeline's checks.
"""

from __future__ import annotations

from collections.abc import Sequence

from prover.formalize.examples import Example

FORMALIZE_INSTRUCTIONS = (
    "Translate the mathematical statement into a Lean 4 theorem. Write only the statement, "
    "ending in `:= by sorry`, inside one ```lean block. Use ℕ, ℤ, ℝ for the number types; no "
    "imports, no proof."
)

SOLVE_INSTRUCTIONS = (
    "Answer the question. First write the exact answer on a line `Answer: <value>` (a fraction "
    "rather than a rounded decimal). Then write one Lean 4 theorem that states that the answer is "
    "correct, ending in `:= by sorry`, inside one ```lean block. No imports, no proof."
)


def _examples_text(examples: Sequence[Example]) -> str:
    parts = []
    for e in examples:
        parts.append(f"Statement: {e.informal}\n```lean\n{e.formal.rstrip()}\n```")
    return "\n\n".join(parts)


def formalize_prompt(text: str, examples: Sequence[Example] = ()) -> str:
    """The prompt for formalizing `text`, with retrieved `examples` first."""
    shots = _examples_text(examples)
    lead = f"{FORMALIZE_INSTRUCTIONS}\n\n" + (f"Examples:\n\n{shots}\n\n" if shots else "")
    return f"{lead}Statement: {text.strip()}\n"


def solve_prompt(question: str, examples: Sequence[Example] = ()) -> str:
    """The prompt for answering `question` with a statement that pins the answer down."""
    shots = _examples_text(examples)
    lead = f"{SOLVE_INSTRUCTIONS}\n\n" + (f"Examples of Lean statements:\n\n{shots}\n\n" if shots else "")
    return f"{lead}Question: {question.strip()}\n"
