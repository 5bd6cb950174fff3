"""The Python API of `prover prove` (usable from a notebook): turn a statement or a theorem in a
`.lean` file into a snippet, choose a policy and a value model by name (`search.registry`), and
run the search (assembled by `search.assemble`).

    >>> from search.api import prove
    >>> result = prove("theorem t (n : Nat) : 0 + n = n")
    >>> result.status, result.proof
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from prover.lean import LeanConfig, LeanServer
from prover.lean.client import LeanClient

# Re-exported: `prover prove`, notebooks and tests take the statement helpers from here.
from prover.lean.statements import StatementError as StatementError
from prover.lean.statements import as_snippet as as_snippet
from prover.lean.statements import load_theorem as load_theorem
from search.best_first import ProgressCallback, ProofVerifier, PruneHook, SearchConfig
from search.interfaces import Policy, ValueModel
from search.registry import make_policy, make_value
from search.result import SearchResult

__all__ = ["StatementError", "as_snippet", "load_theorem", "make_policy", "make_value", "prove"]


def prove(statement: str, *, server: LeanClient | None = None, policy: Policy | str | None = None,
          value: ValueModel | str | None = "goal-size", config: SearchConfig | None = None,
          numeric_prune: bool = True, prune_hook: PruneHook | None = None,
          verifier: ProofVerifier | None = None, progress: ProgressCallback | None = None,
          lean_config: LeanConfig | None = None, model: str | None = None,
          options: Mapping[str, Any] | None = None) -> SearchResult:
    """Search for a proof of `statement` (see `as_snippet` for what it may be), assembled by
    `search.assemble.assemble`.

    Args:
        statement: a theorem (definitions may precede it) or a bare proposition.
        server: a Lean server to use; default: start one for this call and close it after.
        policy: a `Policy`, or a name in `search.registry` (model policies also need `model`);
            default: the strongest installed (`search.registry.default_policy`).
        value: a `ValueModel`, a name in `search.registry`, or None.
        config: search budgets and weights.
        numeric_prune: prune states whose goals the numeric checker refutes.
        prune_hook: a hook of your own (replaces the numeric one).
        verifier: default `prover.verify.Verifier(server)`.
        progress: called after every expansion.
        lean_config: for the server started here when `server` is None.
        model: the model of a policy given by name ("transformers", "http", "learned").
        options: keywords of a policy given by name.

    Returns:
        The search result (its `policy` says which ran); its status is PROVED only for a proof
        verified from scratch.

    Raises:
        StatementError: the statement is unusable before Lean sees it.
        RegistryError: an unknown policy or value name, a missing model, an option not taken.
        LeanServerError: Lean could not be started.
    """
    from search.assemble import SearchSetup, assemble

    snippet = as_snippet(statement)
    setup = SearchSetup(numeric_prune=numeric_prune, budget=config or SearchConfig())
    if isinstance(policy, str):
        setup = replace(setup, policy=policy, model=model, policy_options=tuple((options or {}).items()))
    if isinstance(value, str) or value is None:
        setup = replace(setup, value=value or "none")
    obj_policy = None if policy is None or isinstance(policy, str) else policy
    obj_value = None if isinstance(value, str) or value is None else value
    setup.check()
    own = server is None
    srv = server or LeanServer(lean_config)
    try:
        searcher = assemble(setup, srv, policy=obj_policy, value=obj_value, verifier=verifier,
                            prune_hook=prune_hook, progress=progress)
        return searcher.search(snippet)
    finally:
        if own:
            srv.close()
