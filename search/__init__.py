"""Best-first proof search over Lean proof states, driven by a tactic policy and a value model."""
