"""The package structure has no import cycles, imports inside functions included.

Every `import` and `from ... import` in `prover/` and `search/` is read from the source (an import
deferred into a function body still ties the two packages together, so it counts). A cycle between
packages, or an edge the layering forbids, fails with the modules that make it.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("prover", "search")

# Packages that must not depend on the ones listed (beyond what a cycle check already finds).
FORBIDDEN = {
    "search": {"prover.learn", "prover.bench", "prover.formalize"},
    "prover.models": {"search", "prover.learn", "prover.bench", "prover.formalize"},
    "prover.lean": {"search", "prover.numeric", "prover.verify", "prover.learn", "prover.bench",
                    "prover.formalize", "prover.models"},
}
# Modules of prover.lean that must form a one-way chain (each may import only those after it).
LEAN_CHAIN = ("prover.lean.guard", "prover.lean.reader", "prover.lean.server")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, modules: frozenset[str] = frozenset()) -> set[str]:
    """Absolute module names `path` imports (relative imports resolved against its package).

    `from pkg import sub` names the submodule `pkg.sub` (one of `modules`), not `pkg` itself."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    here = _module_name(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                prefix = package[: len(package) - node.level + 1]
                base = ".".join([*prefix, base] if base else prefix)
            subs = {f"{base}.{alias.name}" for alias in node.names}
            out.update(subs & modules)
            if subs - modules:
                out.add(base)
    return {name for name in out if name.split(".")[0] in SOURCES}


def _package(module: str) -> str:
    """`prover.lean.server` -> `prover.lean`; `search.policies.builtin` -> `search`; `prover.cli` stays."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "prover" and len(parts) > 1 else parts[0]


def _module_graph() -> nx.DiGraph:
    modules = {_module_name(p): p for src in SOURCES for p in (ROOT / src).rglob("*.py")}
    graph = nx.DiGraph()
    graph.add_nodes_from(modules)
    for name, path in modules.items():
        for target in _imports(path, frozenset(modules)):
            if target in modules and target != name:
                graph.add_edge(name, target)
    return graph


def _package_graph(modules: nx.DiGraph) -> tuple[nx.DiGraph, dict[tuple[str, str], list[str]]]:
    graph = nx.DiGraph()
    why: dict[tuple[str, str], list[str]] = defaultdict(list)
    for a, b in modules.edges:
        pa, pb = _package(a), _package(b)
        # The bare `prover` package is only `__version__`; every layer may read it.
        if pa != pb and pb != "prover":
            graph.add_edge(pa, pb)
            why[(pa, pb)].append(f"{a} -> {b}")
    return graph, why


MODULES = _module_graph()
PACKAGES, WHY = _package_graph(MODULES)


def test_the_reader_sees_deferred_imports() -> None:
    # The check is only as good as its reader: an import inside a function counts.
    src = ROOT / "search" / "api.py"
    assert any(_package(m) == "prover.lean" for m in _imports(src))
    assert PACKAGES.number_of_nodes() >= 6, sorted(PACKAGES.nodes)


def test_no_cycle_between_packages() -> None:
    cycles = list(nx.simple_cycles(PACKAGES))
    detail = [" / ".join("; ".join(WHY[(c[i], c[(i + 1) % len(c)])][:3]) for i in range(len(c)))
              for c in cycles]
    assert not cycles, "\n".join(f"{c}: {d}" for c, d in zip(cycles, detail, strict=True))


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_layering(package: str) -> None:
    bad = {target: WHY[(package, target)] for target in FORBIDDEN[package]
           if PACKAGES.has_edge(package, target)}
    assert not bad, bad


def test_guard_reader_server_are_a_one_way_chain() -> None:
    for i, module in enumerate(LEAN_CHAIN):
        upstream = set(LEAN_CHAIN[:i])
        reached = nx.descendants(MODULES, module) & upstream
        assert not reached, f"{module} reaches {sorted(reached)}"
