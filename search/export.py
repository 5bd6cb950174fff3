"""The search tree as a `networkx.DiGraph`, and writers for GraphML, DOT and a browsable HTML page.

Graph attributes: `snippet`, `status`. Node attributes (all scalars, so GraphML can hold them):
`kind` ("state" or "qed"), `status`, `depth`, `goals` (Lean's rendering), `n_goals`, `logprob`,
`priority`, `value` (-1 when no value model ran), `expanded`, `pruned` ("" or the reason),
`prune_detail`, `proof` (on the proof path), `n_attempts`, `attempts` (JSON list of every tactic
tried there: tactic, outcome, message, logprob, seconds). Edge attributes: `tactic`, `outcome`
("new", "merged", "finished"), `logprob`, `seconds`, `proof`. Failed tactics have no target
state, so they appear in their node's `attempts`, not as edges.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import networkx as nx

from search.tree import EdgeOutcome, SearchTree

QED = "qed"


def tree_to_graph(tree: SearchTree | None, *, snippet: str = "", status: str = "") -> nx.DiGraph:
    """The tree as a DiGraph (empty but for graph attributes when the root never opened)."""
    g = nx.DiGraph(snippet=snippet, status=status)
    if tree is None:
        return g
    on_path = {e.src for e in tree.proof_path()}
    path_edges = {(e.src, e.dst) for e in tree.proof_path() if e.dst is not None}
    for n in tree.nodes:
        attempts = [
            {"tactic": e.tactic, "outcome": e.outcome.value, "message": e.message,
             "logprob": round(e.logprob, 4), "seconds": round(e.seconds, 3),
             "target": -1 if e.dst is None else e.dst}
            for e in n.edges
        ]
        g.add_node(
            n.id, kind="state", status=n.status.value, depth=n.depth, goals=n.state.pretty,
            n_goals=len(n.state.goals), logprob=n.logprob, priority=n.priority,
            value=-1.0 if n.value is None else n.value, expanded=n.expanded,
            pruned=n.prune_reason.value if n.prune_reason else "", prune_detail=n.prune_detail,
            proof=n.id in on_path, n_attempts=len(attempts),
            attempts=json.dumps(attempts, ensure_ascii=False),
        )
    for n in tree.nodes:
        for e in n.edges:
            if e.outcome in (EdgeOutcome.NEW, EdgeOutcome.MERGED) and e.dst is not None:
                g.add_edge(e.src, e.dst, tactic=e.tactic, outcome=e.outcome.value, logprob=e.logprob,
                           seconds=e.seconds, proof=(e.src, e.dst) in path_edges)
    if tree.proof_edge is not None:
        e = tree.proof_edge
        g.add_node(QED, kind="qed", status="proved", depth=tree.nodes[e.src].depth + 1, goals="no goals",
                   n_goals=0, logprob=0.0, priority=0.0, value=1.0, expanded=False, pruned="",
                   prune_detail="", proof=True, n_attempts=0, attempts="[]")
        g.add_edge(e.src, QED, tactic=e.tactic, outcome=e.outcome.value, logprob=e.logprob,
                   seconds=e.seconds, proof=True)
    return g


def write_tree(graph: nx.DiGraph, path: str | Path) -> Path:
    """Write `graph` in the format its suffix names: .html/.htm, .graphml/.xml or .dot/.gv.

    Raises:
        ValueError: an unknown suffix.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".html", ".htm"):
        path.write_text(to_html(graph), encoding="utf-8")
    elif suffix in (".graphml", ".xml"):
        nx.write_graphml(graph, path)
    elif suffix in (".dot", ".gv"):
        path.write_text(to_dot(graph), encoding="utf-8")
    else:
        raise ValueError(f"unknown tree format {suffix!r}: use .html, .graphml or .dot")
    return path


# --------------------------------------------------------------------------- DOT

_DOT_COLOURS = {"proved": "darkgreen", "failed": "firebrick", "open": "gray40"}


def _dot_str(text: str) -> str:
    # Left-justified lines (\l) keep goal layout readable.
    esc = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + esc.replace("\n", "\\l") + ('\\l"' if "\n" in text else '"')


def to_dot(graph: nx.DiGraph) -> str:
    """Graphviz source: one box per state showing its goals, one arrow per successful tactic."""
    lines = [
        "digraph search {",
        '  node [shape=box, fontname="monospace", fontsize=10];',
        '  edge [fontname="monospace", fontsize=9];',
    ]
    for n, a in graph.nodes(data=True):
        colour = _DOT_COLOURS.get(a.get("status", ""), "black")
        extra = ", penwidth=3" if a.get("proof") else ""
        label = a.get("goals", "")
        if a.get("pruned"):
            label += f"\n[pruned: {a['pruned']}]"
        lines.append(f"  {_dot_id(n)} [label={_dot_str(label)}, color={colour}{extra}];")
    for u, v, a in graph.edges(data=True):
        style = ", color=darkgreen, penwidth=3" if a.get("proof") else (
            ", style=dashed" if a.get("outcome") == "merged" else "")
        lines.append(f"  {_dot_id(u)} -> {_dot_id(v)} [label={_dot_str(a.get('tactic', ''))}{style}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _dot_id(n: Any) -> str:
    return f"n{n}" if isinstance(n, int) else f'"{n}"'


# --------------------------------------------------------------------------- HTML

_CSS = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
pre { margin: 0.2em 0 0.4em 0; padding: 0.4em; background: #f6f6f6; border-radius: 4px;
      white-space: pre-wrap; font-size: 0.9em; }
details { margin-left: 1.2em; border-left: 2px solid #ddd; padding-left: 0.6em; }
summary { cursor: pointer; padding: 0.15em 0; }
.tac { font-family: monospace; background: #eef; padding: 0 0.3em; border-radius: 3px; }
.proof > summary .tac { background: #bfb; font-weight: bold; }
.proof { border-left-color: #3a3; }
.st-proved { color: #186a1d; } .st-failed { color: #a11; } .st-open { color: #666; }
.badge { font-size: 0.8em; padding: 0 0.4em; border-radius: 3px; background: #eee; margin-left: 0.4em; }
table.att { border-collapse: collapse; font-size: 0.85em; margin: 0.3em 0 0.6em 0; }
table.att td { border-top: 1px solid #eee; padding: 0.1em 0.5em; vertical-align: top; }
table.att td.msg { color: #666; white-space: pre-wrap; font-family: monospace; max-width: 60em; }
"""


def to_html(graph: nx.DiGraph) -> str:
    """A self-contained page (no scripts, no external files): the tree as nested folds.

    Each state shows its goals and every tactic tried on it; the proof path is open and green.
    States reached again by another tactic are linked, not repeated.
    """
    status = graph.graph.get("status", "")
    snippet = graph.graph.get("snippet", "")
    proof_tactics = _proof_tactics(graph)
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>proof search tree</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>Proof search: <span class='st-{_esc(status.split('_')[0])}'>{_esc(status)}</span></h1>",
        f"<h3>Statement</h3><pre>{_esc(snippet)}</pre>",
    ]
    if proof_tactics:
        parts.append("<h3>Proof</h3><pre>" + _esc("\n".join(proof_tactics)) + "</pre>")
    n_states = sum(1 for _, a in graph.nodes(data=True) if a.get("kind") == "state")
    parts.append(f"<p>{n_states} states, {graph.number_of_edges()} successful tactics.</p>")
    if 0 in graph:
        parts.append("<h3>Tree</h3>")
        parts.append(_html_node(graph, 0, None, set()))
    parts.append("</body></html>")
    return "\n".join(parts)


def _proof_tactics(graph: nx.DiGraph) -> list[str]:
    if 0 not in graph or QED not in graph:
        return []
    out, cur, seen = [], 0, set()
    while cur != QED and cur not in seen:
        seen.add(cur)
        nxt = [(v, a) for _, v, a in graph.out_edges(cur, data=True) if a.get("proof")]
        if not nxt:
            return []
        cur, a = nxt[0]
        out.append(a["tactic"])
    return out


def _html_node(graph: nx.DiGraph, n: Any, via: dict[str, Any] | None, shown: set[Any]) -> str:
    a = graph.nodes[n]
    on_proof = bool(a.get("proof"))
    cls = "proof" if on_proof and (via is None or via.get("proof")) else ""
    tactic = f"<span class='tac'>{_esc(via['tactic'])}</span> → " if via else ""
    if a.get("kind") == "qed":
        return (f"<details class='{cls}' open><summary>{tactic}<b class='st-proved'>no goals: proof "
                "complete</b></summary></details>")
    st = a.get("status", "")
    badges = f"<span class='badge st-{_esc(st)}'>{_esc(st)}</span>"
    if a.get("pruned"):
        badges += f"<span class='badge'>pruned: {_esc(a['pruned'])}</span>"
    summary = f"{tactic}state #{n} (depth {a.get('depth')}, {a.get('n_goals')} goal(s)){badges}"
    if n in shown:
        return (f"<details class='{cls}'><summary>{summary} <a href='#s{n}'>(shown above)</a>"
                "</summary></details>")
    shown.add(n)
    body = [f"<pre>{_esc(a.get('goals', ''))}</pre>"]
    if a.get("prune_detail"):
        body.append(f"<p><i>pruned: {_esc(a['prune_detail'])}</i></p>")
    attempts = json.loads(a.get("attempts", "[]"))
    failed = [t for t in attempts if t["outcome"] not in ("new", "merged", "finished")]
    if failed:
        rows = "".join(
            f"<tr><td><span class='tac'>{_esc(t['tactic'])}</span></td><td>{_esc(t['outcome'])}</td>"
            f"<td class='msg'>{_esc(t['message'])}</td></tr>" for t in failed)
        body.append(f"<details><summary>{len(failed)} tactic(s) that did not help</summary>"
                    f"<table class='att'>{rows}</table></details>")
    children = sorted(graph.out_edges(n, data=True), key=lambda e: (not e[2].get("proof"), -e[2]["logprob"]))
    for _, v, ea in children:
        body.append(_html_node(graph, v, ea, shown))
    is_open = " open" if on_proof or via is None else ""
    return f"<details id='s{n}' class='{cls}'{is_open}><summary>{summary}</summary>{''.join(body)}</details>"


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)
