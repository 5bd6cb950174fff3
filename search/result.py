"""Typed outcome of one proof search: status, verified proof, statistics and the search tree."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import networkx as nx


class SearchStatus(str, Enum):
    PROVED = "proved"  # a proof was found and verified from scratch
    FAILED = "failed"  # every reachable state was tried (within max depth) without a proof
    BUDGET_EXHAUSTED = "budget_exhausted"  # expansions or wall time ran out with states left open
    ERROR = "error"  # the statement does not elaborate, or Lean kept failing


@dataclass(frozen=True)
class SearchStats:
    """Counts and timings of one search. Seconds are wall-clock on the Python side."""

    expansions: int = 0
    nodes: int = 0  # distinct proof states in the tree
    lean_calls: int = 0  # open_proof + run_tactic + verify calls
    tactics_tried: int = 0
    tactic_errors: int = 0  # Lean rejected the tactic
    merged: int = 0  # tactics that led to a state already in the tree
    timeouts: int = 0
    crashes: int = 0
    refused: int = 0
    verifications: int = 0
    verification_failures: int = 0
    # Why nodes were closed unexpanded: "hook" (refuted goal), "depth" (at max depth),
    # "dominated" (another state has a subset of its goals to prove).
    pruned: dict[str, int] = field(default_factory=dict)
    max_depth_reached: int = 0
    goals_closed: int = 0  # first goals of multi-goal states closed with the others unchanged
    wall_seconds: float = 0.0
    lean_seconds: float = 0.0  # wall time spent waiting on Lean (tactics, opening, verifying)
    lean_reported_seconds: float = 0.0  # Lean's own measure of its work, for comparison
    model_seconds: float = 0.0  # policy + value model
    prune_seconds: float = 0.0  # the prune hook (e.g. numeric checks)

    @property
    def outside_lean_seconds(self) -> float:
        return max(self.wall_seconds - self.lean_seconds, 0.0)

    @property
    def outside_lean_share(self) -> float:
        return self.outside_lean_seconds / self.wall_seconds if self.wall_seconds > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {f.name: getattr(self, f.name) for f in fields(self)}
        out["outside_lean_share"] = self.outside_lean_share
        return out

    def summary(self) -> str:
        pruned = ", ".join(f"{k}: {v}" for k, v in sorted(self.pruned.items())) or "none"
        return (
            f"{self.expansions} expansions, {self.nodes} states, {self.tactics_tried} tactics "
            f"({self.tactic_errors} rejected, {self.merged} duplicates, {self.timeouts} timeouts, "
            f"{self.crashes} crashes), pruned: {pruned}; {self.wall_seconds:.1f} s wall, "
            f"{self.lean_seconds:.1f} s in Lean, {self.model_seconds:.2f} s in models, "
            f"{100 * self.outside_lean_share:.1f} % outside Lean"
        )


@dataclass(frozen=True)
class SearchResult:
    """What `BestFirstSearch.search` returns.

    `proof` is a tactic-block body (what follows `:= by`), set only when `status` is PROVED,
    i.e. only after the proof passed verification from scratch.
    """

    status: SearchStatus
    proof: str | None
    tactics: tuple[str, ...]
    stats: SearchStats
    # The search tree (see `search.export.tree_to_graph` for its attributes). networkx graphs
    # are mutable; treat this one as read-only.
    tree: nx.DiGraph
    message: str = ""  # why it ended, in words (the error for ERROR)
    axioms: tuple[str, ...] = ()  # the axioms the verified proof depends on
    policy: str = ""  # the policy that ran, by its registry name (set by `search.assemble`)

    @property
    def proved(self) -> bool:
        return self.status is SearchStatus.PROVED

    def to_json(self) -> dict[str, Any]:
        """Everything but the tree, as plain JSON values."""
        return {
            "status": self.status.value, "policy": self.policy, "message": self.message, "proof": self.proof,
            "tactics": list(self.tactics), "axioms": list(self.axioms), "stats": self.stats.to_json(),
        }

    def write_tree(self, path: str | Path) -> Path:
        """Write the tree as .html, .graphml or .dot (chosen by the suffix)."""
        from search.export import write_tree

        return write_tree(self.tree, path)
