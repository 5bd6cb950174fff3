"""Training the ranker and the value network on search traces; calibration; the value weight.

Policy examples: every expanded state where some tried tactic was productive (it finished the
proof or led to a state the search proved) gives a listwise example: softmax over the tactics
tried there, target spread over the productive ones. Every expanded state also gives pairwise
examples "a tactic that Lean accepted ranks above one it rejected" (weight `error_weight`),
which teaches the ranker to waste fewer Lean calls.

Value examples: every state, labelled by whether the search proved it (within its budget).
Problems are split by a hash of their id into train / calibration / test (never states of one
problem on both sides); temperature and bias (Platt scaling) are fitted on calibration, Brier
and ECE reported on test, next to the hand-written goal-size value's on the same states.

The value weight is chosen by measurement: the recorded search trees are replayed best-first
under each candidate weight (`replay_expansions`), and the weight that proves most of the
replayed problems within the expansion budget, then with the fewest expansions, wins.
"""

from __future__ import annotations

import heapq
import math
import random
import re
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

import torch

from prover.learn.config import TrainConfig
from prover.learn.models import FeatureNet, new_model
from search.traces import StateRecord

_T = TypeVar("_T")

PRODUCTIVE = ("finished",)
ACCEPTED = ("new", "merged", "finished")


def split_of(problem: str) -> str:
    """"train" (70 %), "calib" (15 %) or "test" (15 %), fixed by a hash of the problem id."""
    h = zlib.crc32(problem.encode("utf-8")) % 100
    return "train" if h < 70 else ("calib" if h < 85 else "test")


def _productive(rec: StateRecord, proved_nodes: set[int]) -> list[bool]:
    return [s.outcome in PRODUCTIVE or (s.next_node in proved_nodes and s.next_node != rec.node)
            for s in rec.steps]


def _by_problem(records: Sequence[StateRecord]) -> dict[str, list[StateRecord]]:
    out: dict[str, list[StateRecord]] = defaultdict(list)
    for r in records:
        out[r.problem].append(r)
    return out


@dataclass(frozen=True)
class PolicyExample:
    state: str
    tactics: tuple[str, ...]
    prior: tuple[float, ...]
    positive: tuple[bool, ...]
    accepted: tuple[bool, ...]


def policy_examples(records: Sequence[StateRecord]) -> list[PolicyExample]:
    out = []
    for recs in _by_problem(records).values():
        proved = {r.node for r in recs if r.proved}
        for r in recs:
            if not r.expanded or len(r.steps) < 2:
                continue
            pos = _productive(r, proved)
            acc = [s.outcome in ACCEPTED and s.next_node != r.node for s in r.steps]
            if not any(pos) and (all(acc) or not any(acc)):
                continue  # nothing to learn from this state
            out.append(PolicyExample(r.state, tuple(s.tactic for s in r.steps),
                                     tuple(s.logprob for s in r.steps), tuple(pos), tuple(acc)))
    return out


def _policy_loss(model: FeatureNet, ex: PolicyExample, error_weight: float) -> torch.Tensor:
    logits = model.policy_logits(ex.state, ex.tactics, ex.prior)
    loss = logits.new_zeros(())
    if any(ex.positive):
        target = torch.tensor(ex.positive, dtype=torch.float32)
        loss = loss - (torch.log_softmax(logits, 0) * target / target.sum()).sum()
    acc = torch.tensor(ex.accepted)
    if acc.any() and (~acc).any():
        diff = logits[acc].unsqueeze(1) - logits[~acc].unsqueeze(0)  # accepted minus rejected
        loss = loss + error_weight * torch.nn.functional.softplus(-diff).mean()
    return loss


def policy_rank_metrics(model: FeatureNet | None, examples: Sequence[PolicyExample]) -> dict[str, float]:
    """Mean reciprocal rank of the first productive tactic among those tried, and top-1 accuracy;
    `model=None` measures the hand prior's own order."""
    rr, top1, n = 0.0, 0.0, 0
    for ex in examples:
        if not any(ex.positive):
            continue
        if model is None:
            scores = list(ex.prior)
        else:
            with torch.inference_mode():
                scores = model.policy_logits(ex.state, ex.tactics, ex.prior).tolist()
        order = sorted(range(len(scores)), key=lambda i: -scores[i])
        rank = next(i for i, j in enumerate(order) if ex.positive[j]) + 1
        rr += 1.0 / rank
        top1 += rank == 1
        n += 1
    return {"mrr": rr / n if n else math.nan, "top1": top1 / n if n else math.nan, "examples": n}


def _batches(items: list[_T], size: int, cfg: TrainConfig,
             progress: Callable[[int, int], None] | None) -> Iterator[list[_T]]:
    """Shuffled batches, epoch after epoch (seeded by `cfg.seed`), up to `cfg.max_steps` batches."""
    rng, steps = random.Random(cfg.seed), 0
    for epoch in range(cfg.epochs):
        rng.shuffle(items)
        for i in range(0, len(items), size):
            yield items[i:i + size]
            steps += 1
            if cfg.max_steps is not None and steps >= cfg.max_steps:
                break
        if progress is not None:
            progress(epoch + 1, cfg.epochs)
        if cfg.max_steps is not None and steps >= cfg.max_steps:
            return


def train_policy(records: Sequence[StateRecord], cfg: TrainConfig | None = None,
                 progress: Callable[[int, int], None] | None = None) -> tuple[FeatureNet, dict[str, Any]]:
    """A ranker trained on `records`; metrics on the held-out (calib + test) problems."""
    cfg = cfg or TrainConfig()
    model = new_model("policy", dim=cfg.dim, buckets=cfg.buckets, pool=cfg.pool, seed=cfg.seed)
    exs = policy_examples(records)
    by_split = _split_examples(records, exs)
    train, held = by_split["train"], by_split["held"]
    held_is_train = not train  # too few problems to hold any out: train (and report) on all
    if held_is_train:
        train = held
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps = 0
    model.train()
    # Mini-batches: one Adam step updates every embedding row (weight decay makes the gradient
    # dense), so a step per example cost ~0.1 s and most of a round's training time.
    for batch in _batches(train, cfg.policy_batch, cfg, progress):
        opt.zero_grad()
        loss = torch.stack([_policy_loss(model, ex, cfg.error_weight) for ex in batch]).mean()
        if loss.requires_grad:
            loss.backward()
            opt.step()
        steps += 1
    model.eval()
    metrics = {"steps": steps, "train_examples": len(train), "held_examples": len(held),
               "held_is_train": held_is_train,
               "held_prior": policy_rank_metrics(None, held),
               "held_learned": policy_rank_metrics(model, held),
               "train_learned": policy_rank_metrics(model, train[:500])}
    return model, metrics


def _split_examples(records: Sequence[StateRecord],
                    exs: list[PolicyExample]) -> dict[str, list[PolicyExample]]:
    # Examples carry no problem id; map each state text to its problem's split (first seen wins).
    split_by_state: dict[str, str] = {}
    for r in records:
        split_by_state.setdefault(r.state, split_of(r.problem))
    out: dict[str, list[PolicyExample]] = {"train": [], "held": []}
    for e in exs:
        out["train" if split_by_state.get(e.state, "train") == "train" else "held"].append(e)
    return out


# ----------------------------------------------------------------------------- value


def brier(probs: Sequence[float], labels: Sequence[bool]) -> float:
    return sum((p - float(y)) ** 2 for p, y in zip(probs, labels, strict=False)) / max(len(probs), 1)


def ece(probs: Sequence[float], labels: Sequence[bool], bins: int = 10) -> float:
    """Expected calibration error over equal-width probability bins."""
    total = len(probs)
    if not total:
        return math.nan
    err = 0.0
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        idx = [i for i, p in enumerate(probs) if lo <= p < hi or (b == bins - 1 and p == 1.0)]
        if idx:
            conf = sum(probs[i] for i in idx) / len(idx)
            acc = sum(float(labels[i]) for i in idx) / len(idx)
            err += len(idx) / total * abs(conf - acc)
    return err


def _fit_calibration(logits: torch.Tensor, labels: torch.Tensor) -> tuple[float, float]:
    """Platt scaling: the (temperature, bias) minimising the calibration split's log loss of
    sigmoid(logit / temperature + bias), on a grid (robust, no NaNs). The bias matters: training
    balances the classes, and a temperature alone can only pull an uninformative model towards
    0.5, never towards the base rate (seen in a real run: Brier 0.19 against 0.05 for the rate)."""
    best, best_tb = math.inf, (1.0, 0.0)
    biases = torch.linspace(-10.0, 10.0, 161)
    for t in [0.25 * 1.2**i for i in range(25)]:
        z = (logits / t).unsqueeze(0) + biases.unsqueeze(1)  # (bias, state)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(
            z, labels.expand_as(z), reduction="none").mean(dim=1)
        i = int(torch.argmin(loss))
        if float(loss[i]) < best:
            best, best_tb = float(loss[i]), (t, float(biases[i]))
    return best_tb


def train_value(records: Sequence[StateRecord], cfg: TrainConfig | None = None,
                progress: Callable[[int, int], None] | None = None) -> tuple[FeatureNet, dict[str, Any]]:
    """A value network trained on the train split, Platt-scaled on calib, scored on test."""
    cfg = cfg or TrainConfig()
    model = new_model("value", dim=cfg.dim, buckets=cfg.buckets, seed=cfg.seed)
    parts: dict[str, list[StateRecord]] = {"train": [], "calib": [], "test": []}
    for r in records:
        parts[split_of(r.problem)].append(r)
    train = parts["train"] or parts["calib"] + parts["test"]  # tiny sets: train on all
    pos = sum(r.proved for r in train)
    # Balance the classes in the loss (few states lie on proofs); calibration undoes the tilt.
    pos_weight = torch.tensor((len(train) - pos) / max(pos, 1))
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps = 0
    model.train()
    for chunk in _batches(train, 64, cfg, progress):
        opt.zero_grad()
        logits = model.value_logits([r.state for r in chunk])
        y = torch.tensor([float(r.proved) for r in chunk])
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, y, pos_weight=pos_weight)
        loss.backward()
        opt.step()
        steps += 1
    model.eval()
    with torch.inference_mode():
        calib = parts["calib"] or train
        cl = model.value_logits([r.state for r in calib])
        t, b = _fit_calibration(cl, torch.tensor([float(r.proved) for r in calib]))
        model.config.calibration_temperature, model.config.calibration_bias = t, b
        test = parts["test"] or calib
        tp = torch.sigmoid(model.value_logits([r.state for r in test]) / t + b).tolist()
    labels = [r.proved for r in test]
    goal_size = [_goal_size(r.state, r.n_goals) for r in test]
    base_rate = sum(r.proved for r in train) / max(len(train), 1)
    metrics = {
        "steps": steps, "train_states": len(train), "calib_states": len(parts["calib"]),
        "test_states": len(test), "test_positive_rate": sum(labels) / max(len(labels), 1),
        "temperature": model.config.calibration_temperature,
        "bias": model.config.calibration_bias,
        "learned": {"brier": brier(tp, labels), "ece": ece(tp, labels)},
        "goal_size": {"brier": brier(goal_size, labels), "ece": ece(goal_size, labels)},
        "base_rate": {"brier": brier([base_rate] * len(labels), labels),
                      "ece": ece([base_rate] * len(labels), labels)},
        "calibration_bins": _bins(tp, labels),
    }
    return model, metrics


def _bins(probs: Sequence[float], labels: Sequence[bool], bins: int = 10) -> list[dict[str, float]]:
    out = []
    for b in range(bins):
        idx = [i for i, p in enumerate(probs) if b / bins <= p < (b + 1) / bins or (b == bins - 1 and p == 1)]
        if idx:
            out.append({"lo": b / bins, "hi": (b + 1) / bins, "n": len(idx),
                        "mean_p": sum(probs[i] for i in idx) / len(idx),
                        "frac_proved": sum(labels[i] for i in idx) / len(idx)})
    return out


def _goal_size(state: str, n_goals: int) -> float:
    """`GoalSizeValue`'s formula on the trace text: targets' tokens plus 2 per hypothesis line."""
    size = 0
    for goal in state.split("\n\n"):
        hyps, _, target = goal.rpartition("⊢")
        size += len(re.findall(r"\w+|[^\s\w]", target)) + 2 * len([h for h in hyps.splitlines() if h.strip()])
    return math.exp(-(0.35 * max(n_goals - 1, 0) + 0.01 * size))


# ----------------------------------------------------------------------------- replay


def replay_expansions(recs: Sequence[StateRecord], value: Callable[[str], float] | None, weight: float,
                      budget: int, policy: FeatureNet | None = None) -> int | None:
    """Expansions a best-first search over the recorded tree needs to reach the recorded proof
    under priority = cumulative logprob + weight · log(value); None when not within `budget`.

    Only what was recorded is known: a node the original search never expanded yields nothing when
    the replay expands it (a pessimistic proxy for a real run). With `policy`, the tried tactics'
    log-probabilities are the ranker's (softmax over the tried ones) instead of the recorded ones.
    """
    nodes = {r.node: r for r in recs}
    if not any(s.outcome == "finished" for r in recs for s in r.steps) or 0 not in nodes:
        return None
    vcache: dict[int, float] = {}

    def prio(n: int, lp: float) -> float:
        if value is None or weight == 0:
            return lp
        if n not in vcache:
            vcache[n] = value(nodes[n].state)
        return lp + weight * math.log(min(max(vcache[n], 1e-6), 1.0))

    heap = [(-prio(0, 0.0), 0, 0.0)]
    seen = {0}
    expansions = 0
    while heap and expansions < budget:
        _, n, lp = heapq.heappop(heap)
        expansions += 1
        r = nodes[n]
        if not r.expanded:
            continue
        lps = [s.logprob for s in r.steps]
        if policy is not None and r.steps:
            with torch.inference_mode():
                lps = torch.log_softmax(policy.policy_logits(r.state, [s.tactic for s in r.steps], lps),
                                        0).tolist()
        for s, slp in zip(r.steps, lps, strict=False):
            if s.outcome == "finished":
                return expansions
            if s.next_node >= 0 and s.next_node not in seen and s.next_node in nodes:
                seen.add(s.next_node)
                heapq.heappush(heap, (-prio(s.next_node, lp + slp), s.next_node, lp + slp))
    return None


def choose_value_weight(records: Sequence[StateRecord], value: Callable[[str], float], cfg: TrainConfig,
                        policy: FeatureNet | None = None) -> tuple[float, list[dict[str, Any]]]:
    """The weight in `cfg.value_weights` that replays best on the held-out problems' proved trees."""
    groups = [g for p, g in _by_problem(records).items() if split_of(p) != "train"]
    groups = [g for g in groups if any(s.outcome == "finished" for r in g for s in r.steps)]
    table = []
    for w in cfg.value_weights:
        res = [replay_expansions(g, value, w, cfg.replay_budget, policy) for g in groups]
        got = [x for x in res if x is not None]
        table.append({"weight": w, "problems": len(groups), "proved": len(got),
                      "mean_expansions": sum(got) / len(got) if got else math.nan})
    best = min(table, key=lambda t: (-t["proved"], 0 if math.isnan(t["mean_expansions"])
                                     else t["mean_expansions"], t["weight"]))
    return float(best["weight"]), table


def config_json(cfg: TrainConfig) -> dict[str, Any]:
    return asdict(cfg)
