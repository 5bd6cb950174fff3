"""Model-free value estimates: fewer and smaller goals look closer to a proof."""

from __future__ import annotations

import math
from dataclasses import dataclass

from prover.lean import ProofState
from search.goal_shape import size


@dataclass(frozen=True)
class GoalSizeValue:
    """`exp(-(goal_cost * (goals - 1) + size_cost * total size))`, in (0, 1].

    Size is a token count of the targets plus a little per hypothesis (`goal_shape.size`).
    The defaults make one extra goal cost about as much as 35 tokens of goal text.
    """

    goal_cost: float = 0.35
    size_cost: float = 0.01

    def score(self, state: ProofState) -> float:
        extra = max(len(state.goals) - 1, 0)
        total = sum(size(g) for g in state.goals)
        return math.exp(-(self.goal_cost * extra + self.size_cost * total))


@dataclass(frozen=True)
class ConstantValue:
    """The same estimate for every state: the search is then guided by the policy alone."""

    value: float = 0.5

    def score(self, state: ProofState) -> float:
        return self.value
