"""The contracts between the search and its models: a policy proposes tactics, a value model
scores states. Implementations live in `search.policies` and `search.values`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from prover.lean import ProofState


@dataclass(frozen=True)
class TacticCandidate:
    """A proposed tactic and its log-probability under the policy (<= 0; higher is better)."""

    tactic: str
    logprob: float


@runtime_checkable
class Policy(Protocol):
    """Proposes up to `k` distinct tactics for the first goal(s) of a state, best first."""

    def propose(self, state: ProofState, k: int) -> list[TacticCandidate]: ...


@runtime_checkable
class ValueModel(Protocol):
    """Estimates how promising a state is: a number in [0, 1] (1: surely provable)."""

    def score(self, state: ProofState) -> float: ...
