"""Configuration of the learning runs (no torch here: the CLI's parser reads the defaults)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from search.assemble import SearchSetup
from search.best_first import SearchConfig


@dataclass(frozen=True)
class TrainConfig:
    """Optimiser settings for both networks. Every field has a usable default."""

    epochs: int = 30
    lr: float = 0.02
    weight_decay: float = 1e-5
    dim: int = 64
    buckets: int = 1 << 15
    pool: int = 32
    error_weight: float = 0.3
    max_steps: int | None = None  # stop after this many optimiser steps (tiny test runs)
    policy_batch: int = 16  # ranker examples (states) per optimiser step
    seed: int = 0
    value_weights: tuple[float, ...] = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0)
    replay_budget: int = 30  # expansions in the replayed searches


# Expert iteration searches many small problems: a small budget per search.
ITERATE_BUDGET = SearchConfig(max_expansions=30, wall_time=10.0, tactic_timeout=5.0, k=8, max_depth=10)


def iterate_setup() -> SearchSetup:
    """Round 0's search (the strongest installed policy, the goal-size value) at the iterate budget;
    later rounds re-rank this policy's candidates with the trained ranker."""
    return SearchSetup(budget=ITERATE_BUDGET)


@dataclass(frozen=True)
class IterateConfig:
    """One expert-iteration run. Every field has a usable default (but `minif2f_data`)."""

    out_dir: Path = Path("learn-runs/run")
    rounds: int = 2
    seed: int = 0
    train_generated: int = 40
    heldout_generated: int = 40
    max_difficulty: int = 4
    minif2f_data: Path | None = None  # the miniF2F JSONL (or its directory); None: no miniF2F
    train_minif2f_split: str | None = "valid"
    eval_minif2f_split: str | None = "test"
    minif2f_limit: int | None = None  # at most this many core statements per split
    search: SearchSetup = field(default_factory=iterate_setup)  # round 0; the base of later rounds
    train: TrainConfig = field(default_factory=TrainConfig)
    progress: bool = True
    # Reuse a set's searches from an earlier, interrupted run of the same directory when its
    # results and traces are complete (one result line per task); everything else is redone.
    resume: bool = False


@dataclass(frozen=True)
class GeneratorTrainConfig:
    """Optimiser and prompt settings of a generator fine-tune. Every field has a usable default."""

    steps: int = 200
    batch_size: int = 4
    lr: float = 5e-5
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    # States are long and the goal (after ⊢) is at the end: the prompt keeps its last tokens.
    max_input_tokens: int = 384
    prompt_format: str = "reprover"
    max_new_tokens: int = 48
    seed: int = 0
    max_eval_examples: int = 64  # held-out examples measured before and after (generation is slow)
