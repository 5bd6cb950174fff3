"""The command-line flags of a search, shared by every command that searches (`prover prove`,
`bench`, `iterate`, `solve`): budgets, policy and value model by registry name, their models and
options. `add_search_arguments` adds them with a command's own defaults; `setup_from_args` reads
them back into a `search.assemble.SearchSetup`.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from search.assemble import SearchSetup
from search.best_first import SearchConfig
from search.registry import RegistryError, policy_names, policy_spec, value_names, value_spec

# Shortcut flags -> the option they set, for the policies / values whose spec lists it in `flags`.
_SHORTCUTS = (("base_url", "--base-url"), ("device", "--device"), ("prompt_format", "--prompt-format"))


def add_search_arguments(parser: argparse.ArgumentParser, defaults: SearchSetup, *,
                         model_flag: str = "--model", shortcuts: bool = True) -> None:
    """Add the budget and policy / value flags with `defaults`' values as defaults.

    Args:
        model_flag: the flag naming the policy's model (`prover solve` has its own `--model`).
        shortcuts: add `--base-url`, `--device`, `--prompt-format` (where the command has none).
    """
    b = defaults.budget
    budget = parser.add_argument_group("search budget")
    budget.add_argument("-k", type=int, default=b.k, help="tactics asked of the policy per expansion")
    budget.add_argument("--max-expansions", type=int, default=b.max_expansions)
    budget.add_argument("--wall-time", type=float, default=b.wall_time, help="seconds for one search")
    budget.add_argument("--tactic-timeout", type=float, default=b.tactic_timeout,
                        help="wall seconds per tactic")
    budget.add_argument("--heartbeats", type=int, default=b.heartbeats,
                        help="Lean's maxHeartbeats per tactic")
    budget.add_argument("--max-depth", type=int, default=b.max_depth)
    budget.add_argument("--value-weight", type=float, default=b.value_weight,
                        help="weight of log(value) in a node's priority")
    budget.add_argument("--length-normalisation", type=float, default=b.length_normalisation,
                        help="alpha: cumulative log-probability / depth**alpha")
    budget.add_argument("--independent-goals", action=argparse.BooleanOptionalAction,
                        default=b.independent_goals, help="search a state's goals one at a time")

    g = parser.add_argument_group("policy and value model")
    g.add_argument("--policy", choices=policy_names(), default=defaults.policy,
                   help=f"tactic policy (default here: {defaults.policy}, the strongest installed)")
    g.add_argument(model_flag, dest="policy_model", default=defaults.model,
                   help="the policy's model: a Hugging Face id or path (transformers), the served model "
                        "(http), a checkpoint directory (learned)")
    g.add_argument("--policy-option", action="append", default=[], metavar="KEY=VALUE",
                   help="a keyword for the policy (value read as JSON when it parses, else as text); "
                        "repeatable")
    g.add_argument("--value", choices=value_names(), default=defaults.value)
    g.add_argument("--value-model", default=defaults.value_model, help="the value model's model")
    g.add_argument("--value-option", action="append", default=[], metavar="KEY=VALUE",
                   help="a keyword for the value model; repeatable")
    g.add_argument("--no-numeric-prune", dest="numeric_prune", action="store_false",
                   default=defaults.numeric_prune,
                   help="do not prune states whose goals the numeric checker refutes")
    if shortcuts:
        g.add_argument("--base-url", dest="search_base_url", default=None,
                       help="the OpenAI-compatible server (http policy)")
        g.add_argument("--device", dest="search_device", default=None,
                       help="torch device of transformers models")
        g.add_argument("--prompt-format", dest="search_prompt_format", default=None,
                       help="prompt format of a model policy")


def setup_from_args(args: argparse.Namespace) -> SearchSetup:
    """The setup the flags describe, checked against the registry (nothing is loaded).

    Raises:
        RegistryError: an unknown name, a missing model, an option not taken, a shortcut flag that
            neither the policy nor the value model reads, a malformed KEY=VALUE.
        ValueError: a budget out of range.
    """
    budget = SearchConfig(k=args.k, max_expansions=args.max_expansions, wall_time=args.wall_time,
                          tactic_timeout=args.tactic_timeout, heartbeats=args.heartbeats,
                          max_depth=args.max_depth, value_weight=args.value_weight,
                          length_normalisation=args.length_normalisation,
                          independent_goals=args.independent_goals)
    popts = parse_options(args.policy_option, "--policy-option")
    vopts = parse_options(args.value_option, "--value-option")
    pflags, vflags = policy_spec(args.policy).flags, value_spec(args.value).flags
    for key, flag in _SHORTCUTS:
        given = getattr(args, f"search_{key}", None)  # absent where the command has no shortcuts
        if given is None:
            continue
        if key not in pflags | vflags:
            raise RegistryError(f"{flag} is not read by the {args.policy} policy or the {args.value} value")
        if key in pflags:
            popts.setdefault(key, given)
        if key in vflags:
            vopts.setdefault(key, given)
    return SearchSetup(policy=args.policy, model=args.policy_model, policy_options=tuple(popts.items()),
                       value=args.value, value_model=args.value_model, value_options=tuple(vopts.items()),
                       numeric_prune=args.numeric_prune, budget=budget).check()


def parse_options(items: list[str], flag: str) -> dict[str, Any]:
    """KEY=VALUE items as keywords; a value is read as JSON when it parses, else kept as text.

    Raises:
        RegistryError: an item without `=` or with an empty key.
    """
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise RegistryError(f"{flag} wants KEY=VALUE, not {item!r}")
        try:
            out[key.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            out[key.strip()] = raw
    return out
