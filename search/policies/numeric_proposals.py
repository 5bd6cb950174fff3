"""A policy that merges the numeric model's proposals (`prover.numeric.proposals`) into another
policy's candidates (the built-in prior by default).

The numeric model reads the first goal as Lean elaborated it (`LeanServer.goal_terms`), so the
policy needs the server the states come from. Its proposals are ordinary candidates: Lean runs
them, and a false one (a bound that does not hold) is just a failed tactic.
"""

from __future__ import annotations

import math
import time

from prover.lean import ProofState
from prover.lean.client import LeanClient
from prover.numeric.proposals import Proposal, ProposalConfig, propose
from search.interfaces import Policy, TacticCandidate

# Numeric logits sit on the prior's scale minus this (the prior's best logits are ~3.5–6).
_OFFSET = 5.0


class NumericProposalPolicy:
    """`base`'s candidates plus up to `max_numeric` numeric proposals, re-normalised together.

    Args:
        base: the policy whose candidates are kept (e.g. `BuiltinPolicy`).
        lean: the `LeanServer` the states come from (for `goal_terms`).
        max_numeric: how many of the `k` slots the numeric proposals may take at most.
    """

    def __init__(self, base: Policy, lean: LeanClient, *, max_numeric: int = 5,
                 config: ProposalConfig | None = None) -> None:
        self.base = base
        self.lean = lean
        self.max_numeric = max_numeric
        self.config = config or ProposalConfig()
        self.numeric_seconds = 0.0  # time in the numeric model (goal_terms and z3), all calls
        self.proposed = 0
        self._cache: dict[int, tuple[Proposal, ...]] = {}

    def numeric(self, state: ProofState) -> tuple[Proposal, ...]:
        """The numeric proposals for the first goal of `state` (cached per state)."""
        if state.id in self._cache:
            return self._cache[state.id]
        from prover.lean.errors import LeanServerError

        t0 = time.monotonic()
        try:
            goals = self.lean.goal_terms(state)
            found = propose(goals[0], self.config) if goals else ()
        except LeanServerError:
            found = ()
        finally:
            self.numeric_seconds += time.monotonic() - t0
        self._cache[state.id] = found
        self.proposed += len(found)
        return found

    def propose(self, state: ProofState, k: int) -> list[TacticCandidate]:
        if not state.goals:
            return []
        base = self.base.propose(state, k)
        nums = self.numeric(state)[: self.max_numeric]
        if not nums:
            return base
        scored = {c.tactic: c.logprob for c in base}
        for p in nums:
            lp = p.logit - _OFFSET
            scored[p.tactic] = max(lp, scored.get(p.tactic, -math.inf))
        m = max(scored.values())
        norm = m + math.log(sum(math.exp(v - m) for v in scored.values()))
        ranked = sorted(scored.items(), key=lambda kv: -kv[1])
        numeric = {p.tactic for p in nums}
        # Keep every numeric proposal within the k slots: they are the steps the prior cannot guess.
        chosen = [t for t, _ in ranked if t in numeric]
        chosen += [t for t, _ in ranked if t not in numeric][: max(k - len(chosen), 0)]
        chosen.sort(key=lambda t: -scored[t])
        return [TacticCandidate(t, scored[t] - norm) for t in chosen[:k]]
