"""What a benchmark run does: budgets, policy and value choice, the one-shot baseline, the seed.

Every field has a working default. The settings that decide a problem's outcome are written into
every result line (`WorkerConfig.settings()`), so a run can be reproduced and `--resume` can refuse
to mix results obtained under other settings.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

# The notation miniF2F's core-Lean statements need and nothing more: core has no ℚ or ℝ, so a
# statement over them must fail here rather than silently mean something else. Auto-bound
# implicits off, so a name Mathlib would supply (`Real.sqrt`, `Finset.range`) is an error instead
# of a fresh universally quantified variable.
CORE_PRELUDE = 'set_option autoImplicit false\nnotation "ℕ" => Nat\nnotation "ℤ" => Int\n'

# The one-shot baseline: each of Lean's own finishing tactics alone on the root goal.
BASELINE_TACTICS: tuple[str, ...] = (
    "rfl", "trivial", "decide", "omega", "simp", "simp_all", "grind", "simp_all <;> omega",
)

# One embedded (WebAssembly) Lean server measured at ~3.6 GiB resident (benchmarks/results/
# lean_server.md); a little headroom for the worker's Python process on top.
SERVER_MEMORY_BYTES = int(3.9 * 2**30)


@dataclass(frozen=True)
class Budget:
    """Per-problem search budget."""

    max_expansions: int = 200
    wall_time: float = 45.0  # seconds for the whole search of one problem
    tactic_timeout: float = 20.0  # wall clock per tactic (Lean is killed and restarted past it)
    k: int = 12  # tactics asked of the policy per expansion
    heartbeats: int | None = None  # Lean's own per-tactic limit (None: the server's default)
    max_depth: int = 12

    def __post_init__(self) -> None:
        if self.max_expansions < 1 or self.k < 1 or self.max_depth < 1:
            raise ValueError("max_expansions, k and max_depth must be at least 1")
        if self.wall_time <= 0 or self.tactic_timeout <= 0:
            raise ValueError("wall_time and tactic_timeout must be positive")


@dataclass(frozen=True)
class WorkerConfig:
    """How each worker treats a problem. Picklable: it travels to worker processes and Ray actors."""

    budget: Budget = field(default_factory=Budget)
    policy: str = "builtin"  # see search.api.make_policy
    model: str | None = None  # the policy's model (transformers / http policies)
    policy_options: tuple[tuple[str, Any], ...] = ()
    value: str = "goal-size"  # see search.api.make_value
    value_model: str | None = None
    value_weight: float = 0.5
    numeric_prune: bool = True  # the numeric prune hook inside the search
    baseline: tuple[str, ...] = BASELINE_TACTICS  # () for no baseline
    seed: int = 0
    prelude: str = CORE_PRELUDE
    runtime: str = "auto"  # which Lean: "auto", "native" or "wasm"
    cache_dir: str | None = None  # the Lean runtime cache (default $PROVER_CACHE_DIR)

    def settings(self) -> dict[str, Any]:
        """What decides outcomes (not where Lean lives): recorded with every result."""
        return {
            "budget": asdict(self.budget), "policy": self.policy, "model": self.model,
            "policy_options": dict(self.policy_options), "value": self.value,
            "value_model": self.value_model, "value_weight": self.value_weight,
            "numeric_prune": self.numeric_prune, "baseline": list(self.baseline), "seed": self.seed,
            "prelude": self.prelude,
        }


@dataclass(frozen=True)
class RunConfig:
    """A whole run: which problems, how many workers, where results go."""

    benchmark: str = "minif2f"
    splits: tuple[str, ...] = ("valid", "test")
    limit: int | None = None  # at most this many problems per split
    problems: tuple[str, ...] | None = None  # only these names
    data: Path | None = None  # a local benchmark file or directory (default: download, cached)
    out_dir: Path = Path("bench-runs")
    workers: int | None = None  # None: default_workers()
    ray: str | None = None  # None: local processes; "auto", "local" or a cluster address
    resume: bool = False
    progress: bool = True
    worker: WorkerConfig = field(default_factory=WorkerConfig)

    @property
    def results_path(self) -> Path:
        return self.out_dir / "results.jsonl"


def default_workers(memory_per_server: int = SERVER_MEMORY_BYTES) -> int:
    """As many workers as there are cores, but no more than the available memory holds servers."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(cores, available_memory() // memory_per_server))


def available_memory() -> int:
    """MemAvailable from /proc/meminfo in bytes; where that is missing, room for one server."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return SERVER_MEMORY_BYTES
