"""prover: a neuro-symbolic theorem-proving agent for Lean 4.

Subpackages: `prover.lean` talks to Lean, `prover.numeric` checks statements on concrete values,
`prover.verify` re-checks claimed proofs from scratch, `prover.models` talks to language models; the proof
search lives in `search`.
"""

__version__ = "0.1.0"
