"""Learned policy (a ranker over the hand prior's candidates) and value (state → P(provable)).

Choice, and why: the search spends its time in Lean, the machine has 2 shared CPU cores and a
round has a few thousand trace states, so the networks are small: hashed bag-of-n-gram
features of the state (target and hypotheses separately) and of the tactic, an `EmbeddingBag`
per side and a two-layer MLP over `[s, t, s*t]`. One forward pass is well under a millisecond,
it trains in seconds on CPU, and it cannot overfit a few thousand examples the way fine-tuning
SmolLM2-135M would. Both are `transformers.PreTrainedModel`s, so a checkpoint is the standard
`save_pretrained` directory (`config.json` + `model.safetensors`) and `from_pretrained` loads it.

The ranker is residual on the prior: score = prior_scale · prior_logprob + mlp(state, tactic),
with the MLP's last layer zero at initialisation, so an untrained ranker reproduces the hand
prior's ordering exactly and training moves it only as far as the traces justify. It re-ranks a
larger pool of the prior's candidates (`pool`, default 32) than the search tries (`k`), so it can
promote tactics the prior ranks below the cut.
"""

from __future__ import annotations

import itertools
import math
import re
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn
from transformers import PretrainedConfig, PreTrainedModel

from prover.lean import ProofState
from search.interfaces import Policy, TacticCandidate

_TOKEN = re.compile(r"[A-Za-z_][\w.']*|\d+|[^\s\w]")


def _h(text: str, buckets: int) -> int:
    return zlib.crc32(text.encode("utf-8")) % (buckets - 1) + 1  # 0 is padding


def _ngrams(prefix: str, text: str, buckets: int, limit: int = 256) -> list[int]:
    toks = _TOKEN.findall(text)[:limit]
    # Numerals are mostly noise for which tactic works; their size class is not.
    toks = [t if not t.isdigit() else ("<n1>" if len(t) == 1 else "<n>") for t in toks]
    feats = [f"{prefix}:{t}" for t in toks] + [f"{prefix}:{a}_{b}" for a, b in itertools.pairwise(toks)]
    return [_h(f, buckets) for f in feats] or [_h(f"{prefix}:<empty>", buckets)]


def state_features(state: str, buckets: int) -> list[int]:
    """Hashed features of a state's text (Lean's rendering: hypotheses, then `⊢ target`)."""
    goals = state.split("\n\n") if state.strip() else [""]
    first = goals[0]
    hyps, _, target = first.rpartition("⊢")
    feats = _ngrams("T", target, buckets) + _ngrams("H", hyps, buckets, 128)
    feats.append(_h(f"G:{min(len(goals), 4)}", buckets))
    return feats


def tactic_features(tactic: str, buckets: int) -> list[int]:
    """Hashed features of a tactic: its head word, its whole text (numerals masked), its n-grams."""
    words = tactic.split()
    head = words[0] if words else ""
    whole = re.sub(r"\d+", "<n>", " ".join(words))
    return [_h(f"A:{head}", buckets), _h(f"W:{whole}", buckets), *_ngrams("a", tactic, buckets, 48)]


def _bag(rows: Sequence[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """EmbeddingBag input: the flattened ids and each row's start offset."""
    offsets = torch.tensor([0, *itertools.accumulate(len(r) for r in rows)][:-1], dtype=torch.long)
    flat = torch.tensor([i for r in rows for i in r], dtype=torch.long)
    return flat, offsets


class FeatureNetConfig(PretrainedConfig):
    """Configuration of `FeatureNet`. `task` is "policy" (ranker) or "value"."""

    model_type = "prover-feature-net"

    def __init__(self, task: str = "policy", buckets: int = 1 << 15, dim: int = 64, pool: int = 32,
                 calibration_temperature: float = 1.0, calibration_bias: float = 0.0,
                 value_weight: float = 0.5, **kwargs: Any) -> None:
        if task not in ("policy", "value"):
            raise ValueError(f"task must be 'policy' or 'value', not {task!r}")
        self.task = task
        self.buckets = buckets
        self.dim = dim
        self.pool = pool  # prior candidates the ranker re-ranks
        # value: logits are divided by it (fitted on held-out states for calibration)
        self.calibration_temperature = calibration_temperature
        self.calibration_bias = calibration_bias  # value: p = sigmoid(logit / temperature + bias)
        self.value_weight = value_weight  # value: the priority weight chosen by measurement
        super().__init__(**kwargs)


class FeatureNet(PreTrainedModel):
    """The ranker / value network over hashed features (see the module docstring)."""

    config_class = FeatureNetConfig
    base_model_prefix = "feature_net"

    def __init__(self, config: FeatureNetConfig) -> None:
        super().__init__(config)
        d = config.dim
        self.state_emb = nn.EmbeddingBag(config.buckets, d, mode="mean", padding_idx=0)
        inp = d
        if config.task == "policy":
            self.tactic_emb = nn.EmbeddingBag(config.buckets, d, mode="mean", padding_idx=0)
            inp = 3 * d
        self.hidden = nn.Linear(inp, d)
        self.out = nn.Linear(d, 1)
        self.prior_scale = nn.Parameter(torch.ones(1))
        self.post_init()

    def _init_weights(self, module: nn.Module) -> None:
        if isinstance(module, nn.EmbeddingBag):
            nn.init.normal_(module.weight, std=0.1)
        elif isinstance(module, nn.Linear):
            nn.init.xavier_uniform_(module.weight)
            nn.init.zeros_(module.bias)
        if module is getattr(self, "out", None):
            # Zero last layer: an untrained ranker is the prior, an untrained value says 0.5.
            nn.init.zeros_(module.weight)

    def encode_states(self, states: Sequence[str]) -> torch.Tensor:
        flat, off = _bag([state_features(s, self.config.buckets) for s in states])
        return self.state_emb(flat, off)

    def policy_logits(self, state: str, tactics: Sequence[str], prior: Sequence[float]) -> torch.Tensor:
        """Scores of `tactics` for `state`, shape (len(tactics),): higher is better."""
        s = self.encode_states([state]).expand(len(tactics), -1)
        flat, off = _bag([tactic_features(t, self.config.buckets) for t in tactics])
        t = self.tactic_emb(flat, off)
        h = torch.relu(self.hidden(torch.cat([s, t, s * t], dim=-1)))
        prior_t = torch.tensor(list(prior), dtype=torch.float32)
        return self.prior_scale * prior_t + self.out(h).squeeze(-1)

    def value_logits(self, states: Sequence[str]) -> torch.Tensor:
        """Logits of P(provable within the budget), before the calibration temperature."""
        h = torch.relu(self.hidden(self.encode_states(states)))
        return self.out(h).squeeze(-1)

    def forward(self, *args: Any, **kwargs: Any) -> torch.Tensor:  # transformers wants one
        raise NotImplementedError("use policy_logits or value_logits")


def new_model(task: str, **kwargs: Any) -> FeatureNet:
    torch.manual_seed(int(kwargs.pop("seed", 0)))
    return FeatureNet(FeatureNetConfig(task=task, **kwargs))


def load_model(path: str | Path, task: str) -> FeatureNet:
    """A checkpoint written by `save_pretrained`.

    Raises:
        ValueError: the checkpoint is for the other task.
    """
    model = FeatureNet.from_pretrained(str(path))
    if model.config.task != task:
        raise ValueError(f"{path} holds a {model.config.task} model, not a {task} model")
    return model.eval()


class LearnedPolicy:
    """`Policy`: the base policy's top `pool` candidates, re-ranked by the trained ranker.

    The returned log-probabilities are a softmax over the pool of the ranker's scores, so the
    search's cumulative path priority uses the learned distribution.
    """

    def __init__(self, base: Policy, model: FeatureNet) -> None:
        self.base = base
        self.model = model

    def propose(self, state: ProofState, k: int) -> list[TacticCandidate]:
        cands = self.base.propose(state, max(k, self.model.config.pool))
        if not cands:
            return []
        with torch.inference_mode():
            scores = self.model.policy_logits(state.pretty, [c.tactic for c in cands],
                                              [c.logprob for c in cands])
            logp = torch.log_softmax(scores, dim=0).tolist()
        ranked = sorted(zip(cands, logp, strict=False), key=lambda cl: -cl[1])[:k]
        return [TacticCandidate(c.tactic, float(lp)) for c, lp in ranked]


class LearnedValue:
    """`ValueModel`: sigmoid(logit / temperature + bias) of the trained value network (Platt scaling)."""

    def __init__(self, model: FeatureNet) -> None:
        self.model = model

    @property
    def value_weight(self) -> float:
        return float(self.model.config.value_weight)

    def score(self, state: ProofState | str) -> float:
        return self.score_many([state])[0]

    def score_many(self, states: Sequence[ProofState | str]) -> list[float]:
        texts = [s if isinstance(s, str) else s.pretty for s in states]
        with torch.inference_mode():
            cfg = self.model.config
            z = self.model.value_logits(texts) / cfg.calibration_temperature + cfg.calibration_bias
            return [float(p) for p in torch.sigmoid(z)]


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))
