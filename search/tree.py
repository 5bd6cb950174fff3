"""The search tree of one proof search: nodes are Lean proof states, edges are tactics.

Duplicate states (same goals up to hypothesis order) share one node, so the "tree" is a DAG.
A node is OPEN until it is expanded; it becomes PROVED when a tactic from it finishes the proof
(or leads to a proved node) and FAILED when nothing reachable from it can still succeed. Status
changes propagate to parents, as in ReProver's search tree. A node is expanded at most once.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from enum import Enum

from prover.lean import ProofState


class NodeStatus(str, Enum):
    OPEN = "open"
    PROVED = "proved"
    FAILED = "failed"


class EdgeOutcome(str, Enum):
    """What running one tactic on a node gave."""

    NEW = "new"  # a new proof state (a child node)
    MERGED = "merged"  # a state already in the tree (the edge points at the existing node)
    FINISHED = "finished"  # no goals left, and the proof passed verification from scratch
    UNVERIFIED = "unverified"  # no goals left, but verification from scratch rejected the proof
    ERROR = "error"  # Lean rejected the tactic (parse/elaboration error, heartbeats)
    TIMEOUT = "timeout"  # the tactic ran past its wall-clock limit (Lean was restarted)
    CRASHED = "crashed"  # the Lean process died while running it (Lean restarts itself)
    REFUSED = "refused"  # never sent to Lean (e.g. `sorry`); recorded so it is not retried


class PruneReason(str, Enum):
    """Why a node was closed without being expanded."""

    HOOK = "hook"  # the prune hook (e.g. the numeric checker) refuted one of its goals
    DEPTH = "depth"  # it lies at the maximum depth
    # Its goals end with all of another state's, whose only other goal was closed: it can succeed
    # only where that state does (independent goals, `search.best_first`).
    DOMINATED = "dominated"


@dataclass
class Node:
    """One proof state in the tree. Mutable while its search runs; owned by that search only."""

    id: int
    state: ProofState
    depth: int  # length of the tactic path that first reached it
    # Cumulative policy log-probability of the best known path to it (<= 0).
    logprob: float
    priority: float
    value: float | None = None
    status: NodeStatus = NodeStatus.OPEN
    expanded: bool = False
    prune_reason: PruneReason | None = None
    prune_detail: str = ""
    parents: list[int] = field(default_factory=list)
    # Edges leaving this node, in the order they were tried.
    edges: list[Edge] = field(default_factory=list)


@dataclass(frozen=True)
class Edge:
    src: int
    tactic: str
    logprob: float
    outcome: EdgeOutcome
    dst: int | None = None  # the child node for NEW/MERGED, else None
    message: str = ""  # Lean's error, the verifier's reason, or the fault, shortened
    seconds: float = 0.0  # wall time of the Lean call(s)


class SearchTree:
    """Nodes indexed by id and by state key; the root is node 0."""

    def __init__(self, root: ProofState, priority: float, value: float | None) -> None:
        self.nodes: list[Node] = []
        self._by_key: dict[object, int] = {}
        self.proof_edge: Edge | None = None  # the FINISHED edge once a proof is found
        self.add_node(root, depth=0, logprob=0.0, priority=priority, value=value, parent=None)

    @property
    def root(self) -> Node:
        return self.nodes[0]

    def find(self, state: ProofState) -> Node | None:
        idx = self._by_key.get(state.key)
        return None if idx is None else self.nodes[idx]

    def add_node(self, state: ProofState, *, depth: int, logprob: float, priority: float,
                 value: float | None, parent: int | None) -> Node:
        node = Node(len(self.nodes), state, depth, logprob, priority, value)
        if parent is not None:
            node.parents.append(parent)
        self.nodes.append(node)
        self._by_key[state.key] = node.id
        return node

    def add_edge(self, edge: Edge) -> None:
        self.nodes[edge.src].edges.append(edge)
        # A tactic that changes nothing (dst == src) is a self-loop: not a parent link.
        if edge.outcome is EdgeOutcome.MERGED and edge.dst is not None and edge.dst != edge.src:
            dst = self.nodes[edge.dst]
            if edge.src not in dst.parents:
                dst.parents.append(edge.src)

    def children(self, node: Node) -> list[Node]:
        return [self.nodes[e.dst] for e in node.edges
                if e.dst is not None and e.dst != node.id
                and e.outcome in (EdgeOutcome.NEW, EdgeOutcome.MERGED)]

    # ----------------------------------------------------------------- status propagation

    def mark_proved(self, node: Node) -> None:
        """A proof was found from `node`: it and every ancestor are proved."""
        todo = deque([node.id])
        while todo:
            n = self.nodes[todo.popleft()]
            if n.status is NodeStatus.PROVED:
                continue
            n.status = NodeStatus.PROVED
            todo.extend(n.parents)

    def mark_failed(self, node: Node) -> None:
        """`node` cannot lead to a proof; parents all of whose children failed fail too."""
        todo = deque([node.id])
        while todo:
            n = self.nodes[todo.popleft()]
            if n.status is not NodeStatus.OPEN:
                continue
            n.status = NodeStatus.FAILED
            for p in n.parents:
                parent = self.nodes[p]
                if parent.status is NodeStatus.OPEN and parent.expanded and all(
                        c.status is NodeStatus.FAILED for c in self.children(parent)):
                    todo.append(p)

    def settle(self, node: Node) -> None:
        """After expanding `node`: fail it if none of its children is still open or proved."""
        if node.status is NodeStatus.OPEN and all(
                c.status is NodeStatus.FAILED for c in self.children(node)):
            self.mark_failed(node)

    # ----------------------------------------------------------------- proof extraction

    def proof_path(self) -> list[Edge]:
        """The edges from the root to the finishing tactic.

        This is the path the finishing Lean state was built along (each node's first parent,
        reached by a NEW edge), i.e. exactly the verified script, even where merged edges
        would offer another route through the DAG.
        """
        if self.proof_edge is None:
            return []
        target = self.proof_edge.src
        path: list[Edge] = [self.proof_edge]
        seen = {target}
        cur = target
        while cur != 0:
            node = self.nodes[cur]
            parent = node.parents[0]
            edge = next(e for e in self.nodes[parent].edges
                        if e.dst == cur and e.outcome is EdgeOutcome.NEW)
            path.append(edge)
            cur = parent
            if cur in seen:  # cannot happen: NEW edges form a tree
                break
            seen.add(cur)
        path.reverse()
        return path

    # ----------------------------------------------------------------- debug

    def check_invariants(self) -> list[str]:
        """Inconsistencies in the tree (empty when sound); for tests and debugging."""
        problems = []
        for n in self.nodes:
            if n.id and not n.parents:
                problems.append(f"node {n.id} has no parent")
            if n.status is NodeStatus.PROVED and n.id != self.proof_edge_src_or_none() and not any(
                    c.status is NodeStatus.PROVED for c in self.children(n)):
                problems.append(f"node {n.id} is proved but no child is")
            if n.status is NodeStatus.FAILED and n.prune_reason is None and (
                    not n.expanded or any(c.status is not NodeStatus.FAILED for c in self.children(n))):
                problems.append(f"node {n.id} is failed but has a live child or was never expanded")
            if self._by_key.get(n.state.key) != n.id:
                problems.append(f"node {n.id} is not indexed by its key")
        return problems

    def proof_edge_src_or_none(self) -> int | None:
        return None if self.proof_edge is None else self.proof_edge.src
