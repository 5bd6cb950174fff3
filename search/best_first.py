"""Best-first search over Lean proof states, driven by a tactic policy and a value model.

The frontier is a priority queue of open nodes. Expanding a node asks the policy for `k`
tactics, runs each through Lean, and adds the resulting states (merging duplicates). A node's
priority is its path's cumulative policy log-probability, optionally divided by `depth ** alpha`
(length normalisation as in BFS-Prover), plus `value_weight * log(value)`. The search stops at
the first proof that passes verification from scratch.

Goals are searched independently (`SearchConfig.independent_goals`): when a tactic path from a
state A with goals g₁, …, gₙ reaches a state S whose goals are exactly g₂, …, gₙ, goal g₁ is
solved and its other attempts are dominated (each still has g₂, …, gₙ to prove, plus more), so
they are closed; S then starts from A's log-probability and depth, as if g₁ had been free. A
9-way case split therefore costs nine sub-searches one after another, not their product.

Per-search state lives in a `_Run` made by `search()`; `BestFirstSearch` itself only holds
configuration and collaborators, so one instance can run many searches (not concurrently on one
server: the Lean server serialises requests anyway).
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import math
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from prover.lean import (
    InvalidRequest,
    LeanCrashed,
    LeanError,
    LeanProtocolError,
    LeanServer,
    LeanServerError,
    LeanTimeout,
    ProofFinished,
    ProofState,
)
from search.export import tree_to_graph
from search.interfaces import Policy, TacticCandidate, ValueModel
from search.result import SearchResult, SearchStats, SearchStatus
from search.tree import Edge, EdgeOutcome, Node, NodeStatus, PruneReason, SearchTree

# Tactics that close goals without proving them; the verifier would reject the proof, so do not
# spend a Lean call and a verification on them.
_CHEATS = re.compile(r"\b(sorry|admit|native_decide)\b")
_MAX_MESSAGE = 400


@dataclass(frozen=True)
class SearchConfig:
    """Budgets and weights of one search. Every field has a usable default."""

    k: int = 12  # tactics asked of the policy per expansion
    max_expansions: int = 200
    wall_time: float = 120.0  # seconds for the whole search (checked between tactics)
    tactic_timeout: float = 20.0  # wall-clock seconds for one tactic (Lean is killed past it)
    heartbeats: int | None = None  # Lean's own per-tactic limit (None: the server's default)
    max_depth: int = 12  # nodes at this depth are not expanded
    value_weight: float = 0.5  # weight of log(value) in the priority (0: policy only)
    length_normalisation: float = 0.0  # alpha: cumulative logprob / depth ** alpha
    max_crashes: int = 3  # Lean crashes in a row tolerated before the search ends with ERROR
    # Goals one at a time: once a state's first goal is closed with the others left as they were,
    # that goal is done (see `_Run._goal_closed`).
    independent_goals: bool = True

    def __post_init__(self) -> None:
        for name in ("k", "max_expansions", "max_depth"):
            if getattr(self, name) < 1:
                raise ValueError(f"SearchConfig.{name} must be at least 1")
        for name in ("wall_time", "tactic_timeout"):
            if getattr(self, name) <= 0:
                raise ValueError(f"SearchConfig.{name} must be positive")
        if self.value_weight < 0 or self.length_normalisation < 0:
            raise ValueError("SearchConfig.value_weight and length_normalisation must be >= 0")


class VerificationLike(Protocol):
    """What the search reads from `prover.verify.Verification`."""

    @property
    def ok(self) -> bool: ...

    @property
    def reason(self) -> Any: ...


class ProofVerifier(Protocol):
    """Re-checks a finished proof from scratch (`prover.verify.Verifier` is the real one)."""

    def verify(self, snippet: str, proof: str) -> VerificationLike: ...


class PruneHook(Protocol):
    """Looks at a new state; returns why it cannot be proved (to prune it), or None."""

    def check(self, state: ProofState) -> str | None: ...


@dataclass(frozen=True)
class SearchProgress:
    """A snapshot handed to the progress callback after each expansion."""

    expansions: int
    nodes: int
    open_nodes: int
    elapsed: float
    best_priority: float
    last_tactic: str = ""


ProgressCallback = Callable[[SearchProgress], None]


def default_verifier(server: LeanServer) -> ProofVerifier:
    """`prover.verify.Verifier` on `server` (imported here so importing `search` stays cheap)."""
    from prover.verify import Verifier

    return Verifier(server)  # type: ignore[no-any-return]


class BestFirstSearch:
    """Best-first proof search. See the module docstring for the algorithm.

    Args:
        server: a started (or startable) Lean server.
        policy: proposes tactics for a state.
        value: scores states in [0, 1]; None leaves the priority to the policy alone.
        config: budgets and weights.
        verifier: re-checks a finished proof; default `prover.verify.Verifier(server)`.
        prune_hook: closes states it refutes (e.g. `search.prune.NumericPruneHook`).
        progress: called after every expansion (for a progress display).
    """

    def __init__(self, server: LeanServer, policy: Policy, value: ValueModel | None = None,
                 config: SearchConfig | None = None, *, verifier: ProofVerifier | None = None,
                 prune_hook: PruneHook | None = None, progress: ProgressCallback | None = None) -> None:
        self.server = server
        self.policy = policy
        self.value = value
        self.config = config or SearchConfig()
        self._verifier = verifier
        self.prune_hook = prune_hook
        self.progress = progress

    @property
    def verifier(self) -> ProofVerifier:
        if self._verifier is None:
            self._verifier = default_verifier(self.server)
        return self._verifier

    def search(self, snippet: str) -> SearchResult:
        """Search for a proof of the theorem `snippet` ends with (definitions may precede it).

        Never raises for Lean's verdicts or Lean faults: those end up in the result's status
        and message. Raises only for programming errors (and `KeyboardInterrupt`).
        """
        ready = getattr(self.server, "ensure_running", None)
        if callable(ready):
            # A Lean killed when the previous search's deadline cut a tactic restarts here, before
            # this search's clock starts: a restart owed by one problem is not charged to the next.
            with contextlib.suppress(LeanServerError):
                ready()
        return _Run(self, snippet).run()


class _Run:
    """One search: its tree, frontier, counters and clock."""

    def __init__(self, owner: BestFirstSearch, snippet: str) -> None:
        self.o = owner
        self.cfg = owner.config
        self.snippet = snippet
        self.tree: SearchTree | None = None
        self.heap: list[tuple[float, int, int]] = []
        self.tie = itertools.count()
        self.counts: Counter[str] = Counter()
        self.pruned: Counter[str] = Counter()
        self.lean_s = 0.0
        self.lean_reported_s = 0.0
        self.model_s = 0.0
        self.prune_s = 0.0
        self.crashes_in_a_row = 0
        self.start = time.monotonic()
        self.deadline = self.start + self.cfg.wall_time
        self.states: list[ProofState] = []
        self.finished: ProofFinished | None = None
        self.axioms: tuple[str, ...] = ()
        self.last_tactic = ""
        # Depth that the depth limit and length normalisation see: a closed goal's steps are free.
        self.depth: dict[int, int] = {}
        # A state whose first goal was closed with the others unchanged -> the state that did it.
        self.closed: dict[int, Node] = {}

    @property
    def t(self) -> SearchTree:
        if self.tree is None:
            raise RuntimeError("the search tree exists only once the statement has been opened")
        return self.tree

    # ----------------------------------------------------------------- timing helpers

    def _lean(self, fn: Callable[[], Any]) -> Any:
        t0 = time.monotonic()
        self.counts["lean_calls"] += 1
        try:
            return fn()
        finally:
            self.lean_s += time.monotonic() - t0

    def _priority(self, logprob: float, depth: int, value: float | None) -> float:
        alpha = self.cfg.length_normalisation
        p = logprob / (max(depth, 1) ** alpha) if alpha else logprob
        if value is not None and self.cfg.value_weight:
            p += self.cfg.value_weight * math.log(min(max(value, 1e-6), 1.0))
        return p

    def _score(self, state: ProofState) -> float | None:
        if self.o.value is None:
            return None
        t0 = time.monotonic()
        try:
            return float(self.o.value.score(state))
        finally:
            self.model_s += time.monotonic() - t0

    # ----------------------------------------------------------------- the loop

    def run(self) -> SearchResult:
        # The wall budget covers everything the search waits for: tactics, restarts of a crashed
        # Lean (tens of seconds on the embedded build) and the final verification. A server that
        # supports it (`LeanServer.deadline`) enforces it on every request and restart; otherwise
        # each tactic's timeout is at least capped at what is left.
        bound = getattr(self.o.server, "deadline", None)
        try:
            with bound(self.deadline) if callable(bound) else contextlib.nullcontext():
                return self._run()
        finally:
            if self.states:
                with contextlib.suppress(LeanServerError):
                    self.o.server.forget(self.states)

    def _run(self) -> SearchResult:
        try:
            root = self._lean(lambda: self.o.server.open_proof(
                self.snippet, heartbeats=self.cfg.heartbeats))
        except LeanServerError as e:
            if time.monotonic() >= self.deadline:
                return self._result(SearchStatus.BUDGET_EXHAUSTED, self._budget_message())
            return self._result(SearchStatus.ERROR, f"Lean failed while opening the statement: {e}")
        if isinstance(root, LeanError):
            self.lean_reported_s += root.lean_seconds
            return self._result(SearchStatus.ERROR, f"the statement does not elaborate: {_short(root.text)}")
        self.lean_reported_s += root.lean_seconds
        self.states.append(root)
        value = self._score(root)
        self.tree = SearchTree(root, self._priority(0.0, 0, value), value)
        self.depth[0] = 0
        if (why := self._prune_reason(root)) is not None:
            self._prune(self.tree.root, PruneReason.HOOK, why)
            return self._result(SearchStatus.FAILED, f"the statement itself was refuted: {why}")
        self._push(self.tree.root)

        tree = self.tree
        while (node := self._pop()) is not None:
            if self._out_of_budget():
                return self._result(SearchStatus.BUDGET_EXHAUSTED, self._budget_message())
            outcome = self._expand(node)
            if outcome is not None:
                return outcome
            if self.o.progress is not None:
                self.o.progress(SearchProgress(
                    self.counts["expansions"], len(tree.nodes), len(self.heap),
                    time.monotonic() - self.start, -self.heap[0][0] if self.heap else float("-inf"),
                    self.last_tactic))
        return self._result(SearchStatus.FAILED, "no open states left: every tactic proposed failed "
                            "or led to a pruned state")

    def _out_of_budget(self) -> bool:
        return (self.counts["expansions"] >= self.cfg.max_expansions
                or time.monotonic() >= self.deadline)

    def _budget_message(self) -> str:
        if self.counts["expansions"] >= self.cfg.max_expansions:
            return f"expansion budget of {self.cfg.max_expansions} spent"
        return f"wall-time budget of {self.cfg.wall_time:g} s spent"

    def _push(self, node: Node) -> None:
        heapq.heappush(self.heap, (-node.priority, next(self.tie), node.id))

    def _pop(self) -> Node | None:
        """The best open, unexpanded node (skipping stale heap entries), or None when none is left."""
        while self.heap:
            _, _, idx = heapq.heappop(self.heap)
            node = self.t.nodes[idx]
            if not node.expanded and node.status is NodeStatus.OPEN:
                return node
        return None

    def _expand(self, node: Node) -> SearchResult | None:
        """Try the policy's tactics on `node`; a result if the search is over, else None."""
        tree = self.t
        node.expanded = True
        self.counts["expansions"] += 1
        t0 = time.monotonic()
        try:
            candidates = self.o.policy.propose(node.state, self.cfg.k)
        finally:
            self.model_s += time.monotonic() - t0
        for cand in _dedupe(candidates)[: self.cfg.k]:
            if time.monotonic() >= self.deadline:
                break  # the node keeps the edges tried so far; it is not re-expanded
            outcome = self._try(node, cand)
            if outcome is not None:
                return outcome
        tree.settle(node)
        return None

    def _try(self, node: Node, cand: TacticCandidate) -> SearchResult | None:
        tree = self.t
        tactic = cand.tactic
        self.last_tactic = tactic
        logprob = node.logprob + min(cand.logprob, 0.0)
        self.counts["tactics_tried"] += 1
        if _CHEATS.search(tactic):
            self.counts["refused"] += 1
            tree.add_edge(Edge(node.id, tactic, cand.logprob, EdgeOutcome.REFUSED,
                               message="closes goals without proof"))
            return None
        t0 = time.monotonic()
        try:
            timeout = min(self.cfg.tactic_timeout, max(self.deadline - time.monotonic(), 0.001))
            res = self._lean(lambda: self.o.server.run_tactic(
                node.state, tactic, timeout=timeout, heartbeats=self.cfg.heartbeats))
        except LeanTimeout as e:
            self.counts["timeouts"] += 1
            tree.add_edge(Edge(node.id, tactic, cand.logprob, EdgeOutcome.TIMEOUT, message=_short(str(e)),
                               seconds=time.monotonic() - t0))
            return None
        except InvalidRequest as e:  # the request itself was unusable (e.g. too large)
            self.counts["tactic_errors"] += 1
            tree.add_edge(Edge(node.id, tactic, cand.logprob, EdgeOutcome.ERROR, message=_short(str(e)),
                               seconds=time.monotonic() - t0))
            return None
        except LeanServerError as e:  # crashed, protocol broken, or refused to restart
            return self._crashed(node, cand, e, time.monotonic() - t0)
        seconds = time.monotonic() - t0
        self.crashes_in_a_row = 0
        self.lean_reported_s += res.lean_seconds
        if isinstance(res, LeanError):
            self.counts["tactic_errors"] += 1
            tree.add_edge(Edge(node.id, tactic, cand.logprob, EdgeOutcome.ERROR,
                               message=_short(res.text or res.kind.value), seconds=seconds))
            return None
        if isinstance(res, ProofFinished):
            return self._finished(node, cand, res, seconds)
        self.states.append(res)
        existing = tree.find(res)
        if existing is not None:
            self.counts["merged"] += 1
            tree.add_edge(Edge(node.id, tactic, cand.logprob, EdgeOutcome.MERGED, existing.id,
                               seconds=seconds))
            self._maybe_raise(existing, logprob, self.depth[node.id] + 1)
            return None
        value = self._score(res)
        depth = self.depth[node.id] + 1
        solved = self._goal_closed(node, res) if self.cfg.independent_goals else None
        if solved is not None:
            logprob, depth = solved.logprob, self.depth[solved.id]
        child = tree.add_node(res, depth=node.depth + 1, logprob=logprob,
                              priority=self._priority(logprob, depth, value), value=value, parent=node.id)
        self.depth[child.id] = depth
        tree.add_edge(Edge(node.id, tactic, cand.logprob, EdgeOutcome.NEW, child.id, seconds=seconds))
        self.counts["max_depth"] = max(self.counts["max_depth"], child.depth)
        if solved is not None:
            self.counts["goals_closed"] += 1
            self.closed[solved.id] = child
            self._close_dominated(solved, child)
        if (by := self._dominating(node, child)) is not None:
            self._prune_dominated(child, by)
        elif (why := self._prune_reason(res)) is not None:
            self._prune(child, PruneReason.HOOK, why)
        elif depth >= self.cfg.max_depth:
            self._prune(child, PruneReason.DEPTH, f"at the maximum depth {self.cfg.max_depth}")
        else:
            self._push(child)
        return None

    def _path(self, node: Node) -> Iterator[Node]:
        """`node` and its ancestors along the path that first reached it, up to the root (whose
        parents, if any, are merged edges back to it: following them would go round forever)."""
        cur = node
        while True:
            yield cur
            if cur.id == 0 or not cur.parents:
                return
            cur = self.t.nodes[cur.parents[0]]

    def _goal_closed(self, parent: Node, state: ProofState) -> Node | None:
        """The nearest state on the path to `parent` (itself included) whose first goal `state`
        has closed, leaving its other goals exactly as they were; None if there is none."""
        key = state.key
        return next((a for a in self._path(parent)
                     if len(a.state.key) == len(key) + 1 and a.state.key[1:] == key), None)

    def _dominating(self, parent: Node, child: Node) -> Node | None:
        """A state that closed the first goal of one of `child`'s ancestors and whose goals
        `child`'s end with (see `_close_dominated`), or None."""
        k = child.state.key
        for a in self._path(parent):
            done = self.closed.get(a.id)
            if done is not None and done is not child and _ends_with(k, done.state.key):
                return done
        return None

    def _close_dominated(self, solved: Node, done: Node) -> None:
        """`done` holds the goals `solved` had left once its first goal was closed. Close every
        open state below `solved` whose goals end with exactly those: it has all of `done`'s
        goals to prove and more, so it can succeed only where `done` does (never a lost proof)."""
        seen = {solved.id, done.id}
        todo = [solved]
        while todo:
            for c in self.t.children(todo.pop()):
                if c.id in seen:
                    continue
                seen.add(c.id)
                todo.append(c)
                if c.status is NodeStatus.OPEN and not c.expanded and _ends_with(c.state.key, done.state.key):
                    self._prune_dominated(c, done)

    def _prune_dominated(self, node: Node, by: Node) -> None:
        self._prune(node, PruneReason.DOMINATED, f"its goals include all of node {by.id}'s")

    def _maybe_raise(self, node: Node, logprob: float, depth: int) -> None:
        """A merged edge found a better path to an open node: requeue it with that priority."""
        if node.expanded or node.status is not NodeStatus.OPEN or logprob <= node.logprob:
            return
        node.logprob = logprob
        node.priority = self._priority(logprob, min(depth, self.depth[node.id]), node.value)
        self._push(node)

    def _crashed(self, node: Node, cand: TacticCandidate, err: LeanServerError,
                 seconds: float) -> SearchResult | None:
        if time.monotonic() >= self.deadline:
            # A fault at the deadline is the budget's doing (a restart or verification cut short).
            return self._result(SearchStatus.BUDGET_EXHAUSTED, self._budget_message())
        self.counts["crashes"] += 1
        self.crashes_in_a_row += 1
        self.t.add_edge(Edge(node.id, cand.tactic, cand.logprob, EdgeOutcome.CRASHED,
                                message=_short(f"{type(err).__name__}: {err}"), seconds=seconds))
        if isinstance(err, (LeanCrashed, LeanProtocolError)) and \
                self.crashes_in_a_row < self.cfg.max_crashes:
            return None  # the server restarts itself on the next request
        return self._result(SearchStatus.ERROR,
                            f"Lean failed {self.crashes_in_a_row} time(s) in a row; last: "
                            f"{type(err).__name__}: {_short(str(err))}")

    def _finished(self, node: Node, cand: TacticCandidate, res: ProofFinished,
                  seconds: float) -> SearchResult | None:
        tree = self.t
        self.counts["verifications"] += 1
        t0 = time.monotonic()
        try:
            verdict = self._lean(lambda: self.o.verifier.verify(self.snippet, res.script))
        except LeanServerError as e:
            # The proof may be fine but we could not check it; never report it as proved.
            return self._crashed(node, cand, e, seconds + time.monotonic() - t0)
        seconds += time.monotonic() - t0
        failure = str(getattr(getattr(verdict, "failure", None), "value", ""))
        if not verdict.ok and failure == "crash":
            # Lean died while checking: the proof is unjudged, not wrong. Count it as a crash.
            return self._crashed(node, cand, LeanCrashed(str(verdict.reason)), seconds)
        if not verdict.ok:
            self.counts["verification_failures"] += 1
            tree.add_edge(Edge(node.id, cand.tactic, cand.logprob, EdgeOutcome.UNVERIFIED,
                               message=_short(str(verdict.reason)), seconds=seconds))
            return None
        edge = Edge(node.id, cand.tactic, cand.logprob, EdgeOutcome.FINISHED, seconds=seconds)
        tree.add_edge(edge)
        tree.proof_edge = edge
        tree.mark_proved(node)
        self.finished = res
        self.axioms = tuple(_axiom_name(a) for a in getattr(verdict, "axioms", ()) or ())
        return self._result(SearchStatus.PROVED, "proof found and verified from scratch")

    # ----------------------------------------------------------------- pruning

    def _prune_reason(self, state: ProofState) -> str | None:
        if self.o.prune_hook is None:
            return None
        t0 = time.monotonic()
        try:
            return self.o.prune_hook.check(state)
        finally:
            self.prune_s += time.monotonic() - t0

    def _prune(self, node: Node, reason: PruneReason, detail: str) -> None:
        node.prune_reason = reason
        node.prune_detail = detail
        self.pruned[reason.value] += 1
        self.t.mark_failed(node)

    # ----------------------------------------------------------------- the result

    def _result(self, status: SearchStatus, message: str) -> SearchResult:
        c = self.counts
        stats = SearchStats(
            expansions=c["expansions"], nodes=len(self.tree.nodes) if self.tree else 0,
            lean_calls=c["lean_calls"], tactics_tried=c["tactics_tried"],
            tactic_errors=c["tactic_errors"], merged=c["merged"], timeouts=c["timeouts"],
            crashes=c["crashes"], refused=c["refused"], verifications=c["verifications"],
            verification_failures=c["verification_failures"], pruned=dict(self.pruned),
            max_depth_reached=c["max_depth"], goals_closed=c["goals_closed"],
            wall_seconds=time.monotonic() - self.start,
            lean_seconds=self.lean_s, lean_reported_seconds=self.lean_reported_s,
            model_seconds=self.model_s, prune_seconds=self.prune_s,
        )
        proved = status is SearchStatus.PROVED and self.finished is not None
        graph = tree_to_graph(self.tree, snippet=self.snippet, status=status.value)
        return SearchResult(
            status=status,
            proof=self.finished.script if proved and self.finished else None,
            tactics=self.finished.tactics if proved and self.finished else (),
            stats=stats, tree=graph, message=message, axioms=self.axioms,
        )


def _ends_with(key: tuple[Any, ...], tail: tuple[Any, ...]) -> bool:
    """Goals `key` are `tail`'s plus at least one more before them."""
    return len(key) > len(tail) and key[len(key) - len(tail):] == tail


def _dedupe(candidates: Sequence[TacticCandidate]) -> list[TacticCandidate]:
    """Candidates with distinct tactics (whitespace-normalised), best log-probability kept."""
    best: dict[str, TacticCandidate] = {}
    for c in candidates:
        t = c.tactic.strip()
        if not t:
            continue
        key = " ".join(t.split())
        if key not in best or c.logprob > best[key].logprob:
            best[key] = replace(c, tactic=t)
    return sorted(best.values(), key=lambda c: -c.logprob)


def _short(text: str) -> str:
    text = text.strip()
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 1] + "…"


def _axiom_name(a: object) -> str:
    if isinstance(a, tuple) and a:
        return str(a[0])
    return str(getattr(a, "name", a))
