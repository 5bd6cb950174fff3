"""The one assembly of a search: a `SearchSetup` (policy and value model by name, the numeric prune
hook, the budget) and a Lean server in, a `Searcher` out that searches any number of statements.

Every command that searches builds its search here: `prover prove` (`search.cli`),
`search.api.prove`, `prover bench` (`prover.bench.worker`), `prover iterate`
(`prover.learn.iterate`) and `prover solve` (`prover.formalize.solve`). What a name means is the
registry's (`search.registry`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from prover.lean.client import LeanClient
from search.best_first import BestFirstSearch, ProgressCallback, ProofVerifier, PruneHook, SearchConfig
from search.interfaces import Policy, ValueModel
from search.registry import PolicyMaker, check_policy, check_value, default_policy, load_policy, make_value
from search.result import SearchResult


@dataclass(frozen=True)
class SearchSetup:
    """How statements are searched. Every field has a usable default; names are the registry's.

    `policy` defaults to the strongest installed (`search.registry.default_policy`). Options are
    keyword arguments of the policy's / value model's constructor, as (key, value) pairs so the
    setup stays hashable and picklable (it travels to bench workers).
    """

    policy: str = field(default_factory=default_policy)
    model: str | None = None  # the policy's model (transformers, http, learned)
    policy_options: tuple[tuple[str, Any], ...] = ()
    value: str = "goal-size"
    value_model: str | None = None
    value_options: tuple[tuple[str, Any], ...] = ()
    numeric_prune: bool = True  # prune states whose goals Lean's typed numeric check refutes
    budget: SearchConfig = field(default_factory=SearchConfig)

    def check(self) -> SearchSetup:
        """Itself, once every name, model and option fits the registry (nothing is loaded).

        Raises:
            RegistryError: an unknown name, a missing model, an option not taken.
        """
        check_policy(self.policy, self.model, dict(self.policy_options))
        check_value(self.value, self.value_model, dict(self.value_options))
        return self

    def with_options(self, policy: Mapping[str, Any] | None = None,
                     value: Mapping[str, Any] | None = None) -> SearchSetup:
        """A copy with options given as mappings."""
        return replace(self, policy_options=tuple((policy or {}).items()),
                       value_options=tuple((value or {}).items()))


class Searcher:
    """A search assembled on one Lean server (see `assemble`). Holds no per-search state: each
    `search` builds its own policy for the snippet and its own `BestFirstSearch`.

    Attributes:
        setup: what it was assembled from.
        policy_name: the name of the policy it runs (or the class of a policy given as an object).
    """

    def __init__(self, setup: SearchSetup, server: LeanClient, make: PolicyMaker, policy_name: str,
                 value: ValueModel | None, verifier: ProofVerifier, prune_hook: PruneHook | None,
                 progress: ProgressCallback | None) -> None:
        self.setup = setup
        self.server = server
        self.policy_name = policy_name
        self.value = value
        self.verifier = verifier
        self.prune_hook = prune_hook
        self.progress = progress
        self._make = make

    def policy_for(self, snippet: str) -> Policy:
        """The policy for `snippet` (the prior reads the definitions and lemmas before the theorem)."""
        return self._make(snippet)

    def search(self, snippet: str, *, policy: Policy | None = None) -> SearchResult:
        """Search `snippet` under the setup's budget; `policy`: one from `policy_for` (to read its
        own counters afterwards), default a new one. The result names the policy that ran."""
        pol = policy if policy is not None else self.policy_for(snippet)
        result = BestFirstSearch(self.server, pol, self.value, self.setup.budget, verifier=self.verifier,
                                 prune_hook=self.prune_hook, progress=self.progress).search(snippet)
        return replace(result, policy=self.policy_name)


def assemble(setup: SearchSetup, server: LeanClient, *, policy: Policy | None = None,
             value: ValueModel | None = None, verifier: ProofVerifier | None = None,
             prune_hook: PruneHook | None = None, progress: ProgressCallback | None = None) -> Searcher:
    """Build the search `setup` describes on `server`: the policy by name (loaded once), the value
    model, the prune hook (with `setup.numeric_prune`, `search.prune.NumericPruneHook` on the
    typed path of the same server), the verifier (`prover.verify.Verifier(server)`) and the budget.

    Args:
        policy, value: objects to use instead of the setup's names (notebooks); `value` replaces
            `setup.value` only when given.
        verifier, prune_hook: replace the defaults above.
        progress: called after every expansion.

    Raises:
        RegistryError: an unknown name, a missing model, an option not taken.
        ImportError: a model-backed policy or value whose dependency is not installed.
        ModelError: a model that cannot be loaded.
    """
    if policy is None:
        make = load_policy(setup.policy, lean=server, model=setup.model, options=dict(setup.policy_options))
        name = setup.policy
    else:
        given = policy
        make, name = (lambda snippet: given), type(policy).__name__
    val = value if value is not None else make_value(setup.value, model=setup.value_model,
                                                     options=dict(setup.value_options))
    hook = prune_hook
    if hook is None and setup.numeric_prune:
        from search.prune import NumericPruneHook

        hook = NumericPruneHook(lean=server)  # the typed path: the states come from `server`
    if verifier is None:
        from prover.verify import Verifier

        verifier = Verifier(server)
    return Searcher(setup, server, make, name, val, verifier, hook, progress)
