"""Search traces as training records: one record per proof state the search reached.

A `StateRecord` holds the state's text, where it sits in the tree, whether it lies on the found
proof and its distance (in tactics) to "no goals", and every tactic tried on it as a
`StepRecord`: tactic, the policy's log-probability, the outcome (`error`, `new`, `merged`,
`finished`, `timeout`, ...), Lean's message, the state it led to (text and node id, "" / -1 when
none) and the Lean wall time of the call.

Labels:
- `proved`: the search proved this state (a proof was found through it, by any route in the DAG);
- `on_proof`: it lies on the verified proof script's path;
- `distance`: the fewest tactics from it to "no goals" along successful tactics of the tree
  (-1 when none is known, i.e. it was not proved in this search).
- a step's `on_proof`: that tactic is a step of the verified proof.

Files are JSONL, one state a line (`write_traces` / `read_traces`); `load_dataset` reads the same
files as a Hugging Face `datasets.Dataset` (nested `steps` become a list of structs).
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import networkx as nx

from search.export import QED

if TYPE_CHECKING:
    import datasets

    from search.result import SearchResult

TRACE_FORMAT = "prover-trace/1"


@dataclass(frozen=True)
class StepRecord:
    """One tactic tried on a state."""

    tactic: str
    logprob: float  # the policy's log-probability for it (<= 0)
    outcome: str  # search.tree.EdgeOutcome value
    message: str  # Lean's error or the fault ("" when it succeeded)
    next_state: str  # the resulting state's goals ("" when none: error, timeout, finished)
    next_node: int  # the resulting node's id (-1 when none)
    lean_seconds: float  # wall time of the Lean call(s)
    on_proof: bool  # a step of the verified proof


@dataclass(frozen=True)
class StateRecord:
    """One proof state of one search, with its tried tactics and its labels."""

    problem: str  # the problem's id (or the snippet when it has none)
    search_status: str  # how the whole search ended (search.result.SearchStatus value)
    node: int  # node id in the search tree (0: the root)
    state: str  # Lean's rendering of the goals
    n_goals: int
    depth: int
    expanded: bool
    status: str  # the node's status (proved / failed / open)
    proved: bool
    on_proof: bool
    distance: int  # tactics to "no goals" (-1 when not proved here)
    value: float  # the value model's score in the search (-1: none ran)
    steps: tuple[StepRecord, ...]
    format: str = TRACE_FORMAT

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["steps"] = [asdict(s) for s in self.steps]
        return out

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> StateRecord:
        """Inverse of `to_json`. Raises KeyError / TypeError / ValueError on a malformed record."""
        if d.get("format", TRACE_FORMAT) != TRACE_FORMAT:
            raise ValueError(f"not a {TRACE_FORMAT} record: {d.get('format')!r}")
        steps = tuple(StepRecord(str(s["tactic"]), float(s["logprob"]), str(s["outcome"]),
                                 str(s["message"]), str(s["next_state"]), int(s["next_node"]),
                                 float(s["lean_seconds"]), bool(s["on_proof"])) for s in d["steps"])
        return cls(str(d["problem"]), str(d["search_status"]), int(d["node"]), str(d["state"]),
                   int(d["n_goals"]), int(d["depth"]), bool(d["expanded"]), str(d["status"]),
                   bool(d["proved"]), bool(d["on_proof"]), int(d["distance"]), float(d["value"]), steps)


def _distances(graph: nx.DiGraph) -> dict[Any, int]:
    """Fewest successful tactics from each node to QED (breadth-first on the reversed graph)."""
    if QED not in graph:
        return {}
    dist = {QED: 0}
    todo = deque([QED])
    while todo:
        n = todo.popleft()
        for p in graph.predecessors(n):
            if p not in dist:
                dist[p] = dist[n] + 1
                todo.append(p)
    return dist


def records_from_graph(graph: nx.DiGraph, problem: str = "") -> list[StateRecord]:
    """The trace records of a search tree exported by `search.export.tree_to_graph`."""
    status = str(graph.graph.get("status", ""))
    problem = problem or str(graph.graph.get("snippet", ""))
    dist = _distances(graph)
    proof_steps = {(u, a["tactic"]) for u, v, a in graph.edges(data=True) if a.get("proof")}
    out: list[StateRecord] = []
    for n, a in sorted(((n, a) for n, a in graph.nodes(data=True) if a.get("kind") == "state"),
                       key=lambda na: na[0]):
        steps = []
        for t in json.loads(a.get("attempts", "[]")):
            target = int(t.get("target", -1))
            nxt = str(graph.nodes[target]["goals"]) if target >= 0 and target in graph else ""
            steps.append(StepRecord(
                tactic=t["tactic"], logprob=float(t["logprob"]), outcome=t["outcome"],
                message=t.get("message", ""), next_state=nxt, next_node=target,
                lean_seconds=float(t.get("seconds", 0.0)),
                on_proof=(n, t["tactic"]) in proof_steps and t["outcome"] in ("new", "finished")))
        out.append(StateRecord(
            problem=problem, search_status=status, node=int(n), state=str(a["goals"]),
            n_goals=int(a["n_goals"]), depth=int(a["depth"]), expanded=bool(a["expanded"]),
            status=str(a["status"]), proved=n in dist, on_proof=bool(a.get("proof")),
            distance=dist.get(n, -1), value=float(a.get("value", -1.0)), steps=tuple(steps)))
    return out


def records_from_result(result: SearchResult, problem: str = "") -> list[StateRecord]:
    """The trace records of one search."""
    return records_from_graph(result.tree, problem)


def write_traces(records: Iterable[StateRecord], path: str | Path, *, append: bool = False) -> int:
    """Write records as JSONL (one state a line); returns how many were written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with path.open("a" if append else "w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r.to_json(), ensure_ascii=False) + "\n")
            n += 1
    return n


def read_traces(paths: str | Path | Sequence[str | Path]) -> list[StateRecord]:
    """Records from one or more JSONL trace files.

    Raises:
        ValueError: a line is not a trace record (with its file and line number).
    """
    files = [paths] if isinstance(paths, (str, Path)) else list(paths)
    out: list[StateRecord] = []
    for p in files:
        with Path(p).open(encoding="utf-8") as f:
            for lineno, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                try:
                    out.append(StateRecord.from_json(json.loads(line)))
                except (ValueError, KeyError, TypeError) as e:
                    raise ValueError(f"{p}:{lineno}: not a trace record: {e}") from None
    return out


def load_dataset(paths: str | Path | Sequence[str | Path]) -> datasets.Dataset:
    """The trace files as a Hugging Face dataset (needs the `datasets` package)."""
    import datasets

    files = [str(paths)] if isinstance(paths, (str, Path)) else [str(p) for p in paths]
    return datasets.load_dataset("json", data_files=files, split="train")
