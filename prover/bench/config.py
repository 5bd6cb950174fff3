"""What a benchmark run does: the search (`search.assemble.SearchSetup`: policy and value by name,
prune hook, budget), the one-shot baseline, the seed.

Every field has a working default. The settings that decide a problem's outcome are written into
every result line (`WorkerConfig.settings()`), so a run can be reproduced and `--resume` can refuse
to mix results obtained under other settings.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from search.assemble import SearchSetup
from search.best_first import SearchConfig

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


# A benchmark's search budget per problem: the search's own budget dataclass with a shorter wall time.
BENCH_BUDGET = SearchConfig(wall_time=45.0)

# What a results log written before a budget field existed ran with (the search's defaults then;
# the bench worker did not set them): `upgrade_settings` fills them in so such a log resumes.
_LEGACY_BUDGET = {"length_normalisation": 0.0, "max_crashes": 3, "independent_goals": True}


def bench_setup() -> SearchSetup:
    """`prover bench`'s default search: the strongest installed policy, the bench budget."""
    return SearchSetup(budget=BENCH_BUDGET)


@dataclass(frozen=True)
class WorkerConfig:
    """How each worker treats a problem. Picklable: it travels to worker processes and Ray actors."""

    search: SearchSetup = field(default_factory=bench_setup)  # policy, value, prune hook, budget
    baseline: tuple[str, ...] = BASELINE_TACTICS  # () for no baseline
    seed: int = 0
    prelude: str = CORE_PRELUDE
    runtime: str = "auto"  # which Lean: "auto", "native" or "wasm"
    cache_dir: str | None = None  # the Lean runtime cache (default $PROVER_CACHE_DIR)

    @property
    def budget(self) -> SearchConfig:
        return self.search.budget

    def settings(self) -> dict[str, Any]:
        """What decides outcomes (not where Lean lives): recorded with every result."""
        s = self.search
        return {
            "budget": asdict(s.budget), "policy": s.policy, "model": s.model,
            "policy_options": dict(s.policy_options), "value": s.value, "value_model": s.value_model,
            "value_options": dict(s.value_options), "numeric_prune": s.numeric_prune,
            "baseline": list(self.baseline), "seed": self.seed, "prelude": self.prelude,
        }


def upgrade_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """Settings as `WorkerConfig.settings` writes them now, from a record of any earlier format:
    the value weight moved into the budget, and budget fields the log predates take the values
    those runs used. A current record comes back unchanged."""
    if not settings:
        return settings
    out = dict(settings)
    budget = dict(out.get("budget", {}))
    if "value_weight" in out:
        budget.setdefault("value_weight", out.pop("value_weight"))
    for key, used in _LEGACY_BUDGET.items():
        budget.setdefault(key, used)
    out["budget"] = budget
    out.setdefault("value_options", {})
    return out


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
