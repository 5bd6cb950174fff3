"""The learned policy and value as registry entries ("learned"): declared as entry points of the
groups `prover.policies` and `prover.values` in pyproject.toml, so `search.registry` finds them
without `search` importing `prover.learn`. Loading this module is cheap; torch and the checkpoint
are loaded only when a learned policy or value is built.
"""

from __future__ import annotations

from search.interfaces import ValueModel
from search.registry import PolicyMaker, PolicyRequest, PolicySpec, ValueRequest, ValueSpec, load_policy


def _load_policy(req: PolicyRequest) -> PolicyMaker:
    """The ranker re-ranks the candidates of a base policy: option `base` (a registry name, default
    "builtin"), `base_model` its model; the other options go to the base."""
    from prover.learn.models import LearnedPolicy, load_model

    opts = dict(req.options)
    base_name = str(opts.pop("base", "builtin"))
    base_model = opts.pop("base_model", None)
    base = load_policy(base_name, lean=req.lean, model=base_model, options=opts)
    ranker = load_model(str(req.model), "policy")
    return lambda snippet: LearnedPolicy(base(snippet), ranker)


def _load_value(req: ValueRequest) -> ValueModel:
    from prover.learn.models import LearnedValue, load_model

    return LearnedValue(load_model(str(req.model), "value"))


LEARNED_POLICY = PolicySpec(
    "learned", "the trained ranker (`prover train policy`) over a base policy's candidates", _load_policy,
    model="a checkpoint directory written by `prover train policy` or `prover iterate`", options=None)
LEARNED_VALUE = ValueSpec(
    "learned", "the trained, calibrated value network (`prover train value`)", _load_value,
    model="a checkpoint directory written by `prover train value` or `prover iterate`")
