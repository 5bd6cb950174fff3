"""The Python API of `prover prove` (usable from a notebook): turn a statement or a theorem in a
`.lean` file into a snippet, choose a policy and a value model by name, and run the search.

    >>> from search.api import prove
    >>> result = prove("theorem t (n : Nat) : 0 + n = n")
    >>> result.status, result.proof
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from prover.lean import LeanConfig, LeanServer
from prover.lean.client import LeanClient

# Re-exported: `prover prove`, notebooks and tests take the statement helpers from here.
from prover.lean.statements import StatementError as StatementError
from prover.lean.statements import as_snippet as as_snippet
from prover.lean.statements import load_theorem as load_theorem
from search.best_first import BestFirstSearch, ProgressCallback, ProofVerifier, PruneHook, SearchConfig
from search.interfaces import Policy, ValueModel
from search.result import SearchResult

POLICIES = ("builtin", "numeric", "transformers", "http", "learned")
VALUES = ("goal-size", "none", "transformers", "learned")


def make_policy(name: str, snippet: str = "", *, model: str | None = None,
                options: Mapping[str, Any] | None = None, lean: LeanClient | None = None) -> Policy:
    """A policy by name: "builtin" (no model), "transformers" (a local model) or "http" (an
    OpenAI-compatible server). Model-backed policies are imported only when asked for.

    Raises:
        ValueError: an unknown name, or a model policy without `model`.
    """
    opts = dict(options or {})
    if name == "builtin":
        from search.policies.builtin import BuiltinPolicy

        return BuiltinPolicy.for_snippet(snippet) if snippet else BuiltinPolicy()
    if name == "numeric":
        # The built-in prior with the numeric model's proposals; it reads goals from `lean`.
        if lean is None:
            raise ValueError("the numeric policy needs the Lean server the states come from")
        from search.policies.builtin import BuiltinPolicy
        from search.policies.numeric_proposals import NumericProposalPolicy

        base = BuiltinPolicy.for_snippet(snippet) if snippet else BuiltinPolicy()
        return NumericProposalPolicy(base, lean, **opts)
    if name == "transformers":
        if not model:
            raise ValueError("the transformers policy needs a model (a Hugging Face id or a path)")
        from search.policies.transformers_policy import TransformersPolicy

        return TransformersPolicy(model, **opts)  # type: ignore[no-any-return]
    if name == "http":
        if not model:
            raise ValueError("the http policy needs a model name")
        from search.policies.http_policy import OpenAIPolicy

        opts.pop("device", None)  # a remote server has no local device
        return OpenAIPolicy(model=model, **opts)  # type: ignore[no-any-return]
    if name == "learned":
        if not model:
            raise ValueError("the learned policy needs a checkpoint directory (`prover train policy`)")
        from prover.learn.models import LearnedPolicy, load_model
        from search.policies.builtin import BuiltinPolicy

        base = BuiltinPolicy.for_snippet(snippet) if snippet else BuiltinPolicy()
        return LearnedPolicy(base, load_model(model, "policy"))
    raise ValueError(f"unknown policy {name!r}; choose one of {', '.join(POLICIES)}")


def make_value(name: str | None, *, model: str | None = None,
               options: Mapping[str, Any] | None = None) -> ValueModel | None:
    """A value model by name: "goal-size" (default), "none", or "transformers" (needs `model`).

    Raises:
        ValueError: an unknown name, or the transformers value without `model`.
    """
    if name in (None, "none"):
        return None
    if name == "goal-size":
        from search.values.simple import GoalSizeValue

        return GoalSizeValue()
    if name == "transformers":
        if not model:
            raise ValueError("the transformers value model needs a model (a Hugging Face id or a path)")
        from search.values.transformers_value import TransformersValue

        return TransformersValue(model, **dict(options or {}))  # type: ignore[no-any-return]
    if name == "learned":
        if not model:
            raise ValueError("the learned value needs a checkpoint directory (`prover train value`)")
        from prover.learn.models import LearnedValue, load_model

        return LearnedValue(load_model(model, "value"))
    raise ValueError(f"unknown value model {name!r}; choose one of {', '.join(VALUES)}")


def prove(statement: str, *, server: LeanClient | None = None, policy: Policy | str = "builtin",
          value: ValueModel | str | None = "goal-size", config: SearchConfig | None = None,
          numeric_prune: bool = True, prune_hook: PruneHook | None = None,
          verifier: ProofVerifier | None = None, progress: ProgressCallback | None = None,
          lean_config: LeanConfig | None = None, model: str | None = None) -> SearchResult:
    """Search for a proof of `statement` (see `as_snippet` for what it may be).

    Args:
        statement: a theorem (definitions may precede it) or a bare proposition.
        server: a Lean server to use; default: start one for this call and close it after.
        policy: a `Policy` or a name for `make_policy` (model policies also need `model`).
        value: a `ValueModel`, a name for `make_value`, or None.
        config: search budgets and weights.
        numeric_prune: prune states whose goals the numeric checker refutes.
        prune_hook: a hook of your own (replaces the numeric one).
        verifier: default `prover.verify.Verifier(server)`.
        progress: called after every expansion.
        lean_config: for the server started here when `server` is None.
        model: the model of a policy given by name ("transformers", "http").

    Returns:
        The search result; its status is PROVED only for a proof verified from scratch.

    Raises:
        StatementError: the statement is unusable before Lean sees it.
        LeanServerError: Lean could not be started.
    """
    snippet = as_snippet(statement)
    pol = make_policy(policy, snippet, model=model) if isinstance(policy, str) else policy
    val = make_value(value) if isinstance(value, str) or value is None else value
    own = server is None
    srv = server or LeanServer(lean_config)
    hook = prune_hook
    if hook is None and numeric_prune:
        from search.prune import NumericPruneHook

        hook = NumericPruneHook(lean=srv)  # the typed path: the states come from `srv`
    try:
        search = BestFirstSearch(srv, pol, val, config, verifier=verifier, prune_hook=hook,
                                 progress=progress)
        return search.search(snippet)
    finally:
        if own:
            srv.close()
