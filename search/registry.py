"""The one registry of tactic policies and value models, by name.

The search's own entries are registered here: policies "builtin" (the hand prior), "numeric" (the
prior plus the numeric model's proposals), "transformers" (a local model) and "http" (an
OpenAI-compatible server); values "goal-size", "none" and "transformers". Other packages add theirs
without `search` naming them: through the entry-point groups `prover.policies` and `prover.values`
(each entry point names a `PolicySpec` / `ValueSpec`; `prover.learn` declares "learned" in both in
pyproject.toml), read lazily on the first lookup, or directly with `register_policy` /
`register_value` (notebooks, tests). Entry-point names are listed without importing anything, so
a command's `--policy` choices cost nothing; a spec is loaded only when its name is looked up.

A policy is built in two steps: `load_policy` loads what is shared by every statement (a model's
weights, a checkpoint), once; the `PolicyMaker` it returns builds the policy for one snippet
(the built-in prior learns the snippet's definitions and lemmas).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from prover.lean.client import LeanClient
from search.interfaces import Policy, ValueModel

POLICY_GROUP = "prover.policies"
VALUE_GROUP = "prover.values"

PolicyMaker = Callable[[str], Policy]  # snippet -> the policy for that statement


class RegistryError(ValueError):
    """A policy or value model that cannot be built as asked (unknown name, missing model, an
    option it does not take). The message says what to give instead."""


@dataclass(frozen=True)
class PolicyRequest:
    """What a policy's loader gets."""

    lean: LeanClient | None  # the server the states come from (the numeric model reads goals there)
    model: str | None
    options: Mapping[str, Any]


@dataclass(frozen=True)
class ValueRequest:
    """What a value model's loader gets."""

    model: str | None
    options: Mapping[str, Any]


@dataclass(frozen=True)
class PolicySpec:
    """A registered policy.

    `model`: what the model argument names (shown when it is missing); None: the policy takes no
    model. `options`: the keywords it accepts; None: any (passed to a constructor that checks).
    `needs_lean`: it reads goals from the Lean server the states come from. `flags`: the options
    the commands' shortcut flags may set (`--base-url`, `--device`, `--prompt-format`). `required`:
    options without a default.
    """

    name: str
    summary: str
    load: Callable[[PolicyRequest], PolicyMaker]
    model: str | None = None
    options: frozenset[str] | None = frozenset()
    needs_lean: bool = False
    flags: frozenset[str] = frozenset()
    required: tuple[tuple[str, str], ...] = ()  # (option, what it is) that must be given


@dataclass(frozen=True)
class ValueSpec:
    """A registered value model (fields as in `PolicySpec`)."""

    name: str
    summary: str
    load: Callable[[ValueRequest], ValueModel | None]
    model: str | None = None
    options: frozenset[str] | None = frozenset()
    flags: frozenset[str] = frozenset()


_POLICIES: dict[str, PolicySpec] = {}
_VALUES: dict[str, ValueSpec] = {}


def register_policy(spec: PolicySpec) -> None:
    """Add (or replace) a policy under `spec.name`."""
    _POLICIES[spec.name] = spec


def register_value(spec: ValueSpec) -> None:
    """Add (or replace) a value model under `spec.name`."""
    _VALUES[spec.name] = spec


def _entry_points(group: str) -> tuple[importlib.metadata.EntryPoint, ...]:
    return tuple(importlib.metadata.entry_points(group=group))


def load_entry_points(eps: Iterable[importlib.metadata.EntryPoint]) -> None:
    """Register the specs these entry points name (each must be a `PolicySpec` or `ValueSpec`
    whose name is the entry point's).

    Raises:
        RegistryError: an entry point names something else.
    """
    for ep in eps:
        spec = ep.load()
        if not isinstance(spec, PolicySpec | ValueSpec) or spec.name != ep.name:
            raise RegistryError(f"entry point {ep.name} = {ep.value} ({ep.group}) is not a policy or "
                                f"value spec named {ep.name!r}")
        if isinstance(spec, PolicySpec):
            register_policy(spec)
        else:
            register_value(spec)


def policy_names() -> tuple[str, ...]:
    """Every policy's name: the registered ones, then the entry points' (not loaded)."""
    return _names(_POLICIES, POLICY_GROUP)


def value_names() -> tuple[str, ...]:
    """Every value model's name (as `policy_names`)."""
    return _names(_VALUES, VALUE_GROUP)


def _names(table: Mapping[str, Any], group: str) -> tuple[str, ...]:
    extra = [ep.name for ep in _entry_points(group) if ep.name not in table]
    return (*table, *dict.fromkeys(extra))


def policy_spec(name: str) -> PolicySpec:
    """The policy registered as `name` (loading its entry point on first use).

    Raises:
        RegistryError: no such policy.
    """
    if name not in _POLICIES:
        load_entry_points(ep for ep in _entry_points(POLICY_GROUP) if ep.name == name)
    if name not in _POLICIES:
        raise RegistryError(f"unknown policy {name!r}; choose one of {', '.join(policy_names())}")
    return _POLICIES[name]


def value_spec(name: str) -> ValueSpec:
    """The value model registered as `name` (as `policy_spec`)."""
    if name not in _VALUES:
        load_entry_points(ep for ep in _entry_points(VALUE_GROUP) if ep.name == name)
    if name not in _VALUES:
        raise RegistryError(f"unknown value model {name!r}; choose one of {', '.join(value_names())}")
    return _VALUES[name]


def check_policy(name: str, model: str | None = None, options: Mapping[str, Any] | None = None) -> PolicySpec:
    """The spec, once `model` and `options` fit it (nothing is loaded).

    Raises:
        RegistryError: unknown name, a missing model, or an option the policy does not take.
    """
    spec = policy_spec(name)
    _check(f"the {name} policy", spec.model, spec.options, model, options or {})
    for key, what in spec.required:
        if not (options or {}).get(key):
            raise RegistryError(f"the {name} policy needs the option {key}: {what}")
    return spec


def check_value(name: str, model: str | None = None, options: Mapping[str, Any] | None = None) -> ValueSpec:
    """As `check_policy`, for a value model."""
    spec = value_spec(name)
    _check(f"the {name} value model", spec.model, spec.options, model, options or {})
    return spec


def _check(what: str, wants: str | None, allowed: frozenset[str] | None, model: str | None,
           options: Mapping[str, Any]) -> None:
    if wants is not None and not model:
        raise RegistryError(f"{what} needs a model: {wants}")
    if wants is None and model:
        raise RegistryError(f"{what} takes no model (got {model!r})")
    if allowed is not None and (bad := sorted(set(options) - allowed)):
        accepts = f"it accepts {', '.join(sorted(allowed))}" if allowed else "it takes none"
        raise RegistryError(f"{what} takes no option {', '.join(bad)} ({accepts})")


def load_policy(name: str, *, lean: LeanClient | None = None, model: str | None = None,
                options: Mapping[str, Any] | None = None) -> PolicyMaker:
    """Load policy `name` once; the result builds its policy for one snippet.

    Raises:
        RegistryError: as `check_policy`, or a policy that reads Lean's goals without `lean`.
        ImportError: the policy's optional dependency is not installed.
        ModelError: a model that cannot be loaded.
    """
    spec = check_policy(name, model, options)
    if spec.needs_lean and lean is None:
        raise RegistryError(f"the {name} policy needs the Lean server the states come from")
    return spec.load(PolicyRequest(lean, model, dict(options or {})))


def make_policy(name: str, snippet: str = "", *, model: str | None = None,
                options: Mapping[str, Any] | None = None, lean: LeanClient | None = None) -> Policy:
    """The policy `name` for `snippet` (see `load_policy`)."""
    return load_policy(name, lean=lean, model=model, options=options)(snippet)


def make_value(name: str | None, *, model: str | None = None,
               options: Mapping[str, Any] | None = None) -> ValueModel | None:
    """The value model `name`; None for "none" (or None).

    Raises:
        RegistryError: as `check_value`.
        ImportError: the value model's optional dependency is not installed.
    """
    spec = check_value(name or "none", model, options)
    return spec.load(ValueRequest(model, dict(options or {})))


def default_policy() -> str:
    """The strongest policy installed: "numeric" when z3 (the `smt` extra) is importable, else
    "builtin" (without z3 the numeric model proposes nothing)."""
    return "numeric" if importlib.util.find_spec("z3") is not None else "builtin"


# ---------------------------------------------------------------- the search's own entries


def _builtin(snippet: str, lean: LeanClient | None) -> Policy:
    from search.policies.builtin import BuiltinPolicy

    # With the server, Lean's own parser reads the header's names (once per search).
    return BuiltinPolicy.for_snippet(snippet, lean=lean) if snippet else BuiltinPolicy()


def _load_builtin(req: PolicyRequest) -> PolicyMaker:
    return lambda snippet: _builtin(snippet, req.lean)


def _load_numeric(req: PolicyRequest) -> PolicyMaker:
    from search.policies.numeric_proposals import NumericProposalPolicy

    opts = dict(req.options)
    return lambda snippet: NumericProposalPolicy(_builtin(snippet, req.lean), req.lean, **opts)


def _load_transformers(req: PolicyRequest) -> PolicyMaker:
    from search.policies.transformers_policy import TransformersPolicy

    policy = TransformersPolicy(str(req.model), **dict(req.options))  # loaded once: it is slow
    return lambda snippet: policy


def _load_http(req: PolicyRequest) -> PolicyMaker:
    from search.policies.http_policy import OpenAIPolicy

    opts = dict(req.options)
    opts.pop("device", None)  # a remote server has no local device
    policy = OpenAIPolicy(model=str(req.model), **opts)
    return lambda snippet: policy


def _load_goal_size(req: ValueRequest) -> ValueModel:
    from search.values.simple import GoalSizeValue

    return GoalSizeValue(**dict(req.options))


def _load_transformers_value(req: ValueRequest) -> ValueModel:
    from search.values.transformers_value import TransformersValue

    return TransformersValue(str(req.model), **dict(req.options))  # type: ignore[no-any-return]


register_policy(PolicySpec("builtin", "the hand-written prior over Lean's own tactics (no model)",
                           _load_builtin))
register_policy(PolicySpec("numeric", "the prior plus the numeric model's proposals (needs z3 to propose)",
                           _load_numeric, options=frozenset({"max_numeric", "config"}), needs_lean=True))
register_policy(PolicySpec("transformers", "a local transformers model", _load_transformers,
                           model="a Hugging Face id or a local path", options=None,
                           flags=frozenset({"device", "prompt_format"})))
register_policy(PolicySpec("http", "an OpenAI-compatible completions server", _load_http,
                           model="the served model's name", options=None,
                           flags=frozenset({"base_url", "prompt_format"}),
                           required=(("base_url", "the server's URL (--base-url), e.g. "
                                                  "http://127.0.0.1:8080/v1"),)))
register_value(ValueSpec("goal-size", "fewer and smaller goals score higher (no model)", _load_goal_size,
                         options=frozenset({"goal_cost", "size_cost"})))
register_value(ValueSpec("none", "no value model: the policy's log-probabilities alone",
                         lambda req: None))
register_value(ValueSpec("transformers", "a local transformers encoder with a value head",
                         _load_transformers_value, model="a Hugging Face id or a local path", options=None,
                         flags=frozenset({"device"})))
