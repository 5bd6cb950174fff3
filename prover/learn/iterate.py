"""Expert iteration: search → traces → train policy and value → evaluate, for N rounds.

Round 0 is the search of `IterateConfig.search` (by default the strongest installed policy, the
goal-size value at weight 0.5: the `prover bench` defaults) at the run's budget; round r ≥ 1
searches with the ranker (re-ranking that policy's candidates) and value trained on the traces
of the training problems of rounds 0..r-1 (never on an evaluation problem's traces). Every search
is assembled by `search.assemble` (`round_setup` says what each round runs). Every round
searches the training problems (except the last, whose traces nothing would use) and the
evaluation sets, and appends a row per set to `metrics.jsonl`; `table.md` and `curves.png` are
rewritten after every round, so an interrupted run still has its table.

A run directory holds: `config.json` (everything below, the seed), `versions.json`, `tasks.json`
(the problems and where they came from), `traces/round{r}_{set}.jsonl`,
`results/round{r}_{set}.jsonl` (one line per problem), `checkpoints/round{r}/{policy,value}/`
(`save_pretrained` directories), `train/round{r}.json` (training and calibration metrics, the
value-weight replay table), `metrics.jsonl`, `table.md`, `curves.png`.
"""

from __future__ import annotations

import json
import math
import platform
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from prover.lean.client import LeanClient
from prover.learn.config import IterateConfig, TrainConfig
from prover.learn.generator import GenConfig, GenProblem, generate
from search.assemble import SearchSetup
from search.traces import StateRecord, read_traces, records_from_result, write_traces

# Statements that cannot elaborate in core Lean (no ℝ, Finset, ...): skipped before asking Lean,
# which would only say so after two failed elaborations each.
_NEEDS_MATHLIB = ("ℝ", "ℚ", "ℂ", "Real", "Finset", "∑", "∏", "Complex", "Polynomial", "Nat.Prime",
                  "Int.floor", "deriv", "√", "π", "Real.sqrt", "Nat.digits", "Nat.divisors")


@dataclass(frozen=True)
class Task:
    id: str
    set: str  # "train", "heldout_gen", "minif2f_test", ...
    snippet: str
    truth: bool | None  # known for generated problems


@dataclass(frozen=True)
class TaskResult:
    id: str
    set: str
    round: int
    status: str
    expansions: int
    wall_seconds: float
    lean_calls: int
    proof: str | None
    truth: bool | None

    @property
    def proved(self) -> bool:
        return self.status == "proved"


def _versions(server: LeanClient) -> dict[str, Any]:
    import torch
    import transformers

    from prover.bench.runner import driver_versions

    return {**driver_versions(), "lean": getattr(server, "lean_version", None),
            "python": platform.python_version(), "torch": torch.__version__,
            "transformers": transformers.__version__}


def _tasks_from_generated(problems: Sequence[GenProblem], name: str) -> list[Task]:
    return [Task(p.id, name, p.snippet, p.truth) for p in problems]


def _minif2f_tasks(cfg: IterateConfig, server: LeanClient, split: str, name: str) -> list[Task]:
    from prover.bench.config import WorkerConfig
    from prover.bench.data import load_benchmark
    from prover.bench.worker import BenchWorker

    bench = load_benchmark("minif2f", cfg.minif2f_data)
    worker = BenchWorker(WorkerConfig(seed=cfg.seed), server=server)
    out: list[Task] = []
    for p in [p for p in bench.problems if p.split == split]:
        if any(tok in p.formal_statement for tok in _NEEDS_MATHLIB):
            continue
        c = worker.classify(p)
        if c.runnable and c.snippet is not None:
            out.append(Task(p.id, name, c.snippet, None))
        if cfg.minif2f_limit is not None and len(out) >= cfg.minif2f_limit:
            break
    return out


def build_tasks(cfg: IterateConfig, server: LeanClient) -> dict[str, list[Task]]:
    """The training set and the evaluation sets (generated ones with disjoint seeds and ids)."""
    train_gen = generate(GenConfig(n=cfg.train_generated, seed=cfg.seed, prefix="train",
                                   max_difficulty=cfg.max_difficulty))
    held_gen = generate(GenConfig(n=cfg.heldout_generated, seed=cfg.seed + 10_000, prefix="held",
                                  max_difficulty=cfg.max_difficulty))
    sets: dict[str, list[Task]] = {"train": _tasks_from_generated(train_gen, "train"),
                                   "heldout_gen": _tasks_from_generated(held_gen, "heldout_gen")}
    if cfg.minif2f_data is not None:
        if cfg.train_minif2f_split:
            sets["train"] += [replace(t, set="train") for t in
                              _minif2f_tasks(cfg, server, cfg.train_minif2f_split, "train")]
        if cfg.eval_minif2f_split:
            sets[f"minif2f_{cfg.eval_minif2f_split}"] = _minif2f_tasks(
                cfg, server, cfg.eval_minif2f_split, f"minif2f_{cfg.eval_minif2f_split}")
    return sets


def round_setup(cfg: IterateConfig, policy_dir: Path | None = None,
                value_dir: Path | None = None) -> SearchSetup:
    """The search of a round: `cfg.search` in round 0; after it, the trained ranker over
    `cfg.search`'s policy and the trained value at the weight its replay chose."""
    setup = cfg.search
    if policy_dir is not None:
        base: dict[str, Any] = {"base": setup.policy, **dict(setup.policy_options)}
        if setup.model is not None:
            base["base_model"] = setup.model
        setup = replace(setup, policy="learned", model=str(policy_dir), policy_options=tuple(base.items()))
    if value_dir is not None:
        from prover.learn.models import load_model

        weight = float(load_model(value_dir, "value").config.value_weight)
        setup = replace(setup, value="learned", value_model=str(value_dir), value_options=(),
                        budget=replace(setup.budget, value_weight=weight))
    return setup


def search_tasks(server: LeanClient, tasks: Sequence[Task], cfg: IterateConfig, rnd: int, trace_path: Path,
                 result_path: Path, policy_dir: Path | None = None,
                 value_dir: Path | None = None) -> list[TaskResult]:
    """Search every task; write its trace records and its result line as it finishes."""
    from tqdm import tqdm

    from prover.lean import LeanServerError
    from search.assemble import assemble

    if cfg.resume and (done := _finished(tasks, result_path, trace_path)) is not None:
        return done
    trace_path.parent.mkdir(parents=True, exist_ok=True)
    result_path.parent.mkdir(parents=True, exist_ok=True)
    trace_path.write_text("")
    out: list[TaskResult] = []
    searcher = assemble(round_setup(cfg, policy_dir, value_dir), server)  # checkpoints loaded once
    with result_path.open("w", encoding="utf-8") as rf:
        bar = tqdm(tasks, desc=f"round {rnd} {tasks[0].set if tasks else ''}", file=sys.stderr,
                   disable=not cfg.progress)
        for t in bar:
            try:
                res = searcher.search(t.snippet)
            except LeanServerError as e:  # Lean died beyond repair for this task: record, go on
                r = TaskResult(t.id, t.set, rnd, "error", 0, 0.0, 0, None, t.truth)
                rf.write(json.dumps({**asdict(r), "message": str(e)}) + "\n")
                out.append(r)
                continue
            write_traces(records_from_result(res, t.id), trace_path, append=True)
            r = TaskResult(t.id, t.set, rnd, res.status.value, res.stats.expansions, res.stats.wall_seconds,
                           res.stats.lean_calls, res.proof, t.truth)
            rf.write(json.dumps({**asdict(r), "message": res.message}, ensure_ascii=False) + "\n")
            rf.flush()
            out.append(r)
            bar.set_postfix(proved=sum(x.proved for x in out))
    return out


def _finished(tasks: Sequence[Task], result_path: Path, trace_path: Path) -> list[TaskResult] | None:
    """The results of an earlier run of exactly these tasks (with its traces), or None."""
    if not (result_path.is_file() and trace_path.is_file()):
        return None
    try:
        rows = [json.loads(line) for line in result_path.read_text(encoding="utf-8").splitlines() if line]
        out = [TaskResult(str(r["id"]), str(r["set"]), int(r["round"]), str(r["status"]),
                          int(r["expansions"]), float(r["wall_seconds"]), int(r["lean_calls"]), r["proof"],
                          r["truth"]) for r in rows]
    except (json.JSONDecodeError, KeyError, TypeError, ValueError):
        return None  # damaged: search again
    return out if [r.id for r in out] == [t.id for t in tasks] else None


def summarise(results: Sequence[TaskResult]) -> dict[str, Any]:
    proved = [r for r in results if r.proved]
    true = [r for r in results if r.truth is not False]
    return {"problems": len(results), "provable_or_unknown": len(true), "proved": len(proved),
            "mean_expansions_per_proof": (sum(r.expansions for r in proved) / len(proved)
                                          if proved else math.nan),
            "wall_seconds": sum(r.wall_seconds for r in results),
            "false_proved": sum(1 for r in proved if r.truth is False)}


def write_table(run_dir: Path, rows: Sequence[dict[str, Any]]) -> None:
    """`table.md` and `curves.png` (proved vs round, expansions per proof vs round, per set)."""
    lines = ["| round | model | set | problems | proved | mean expansions / proof | search s |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        me = r["mean_expansions_per_proof"]
        lines.append(f"| {r['round']} | {r['model']} | {r['set']} | {r['problems']} | **{r['proved']}** | "
                     f"{'–' if math.isnan(me) else f'{me:.2f}'} | {r['wall_seconds']:.0f} |")
    (run_dir / "table.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # the plot is optional (extra `bench`); the table is not
        return
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for s in sorted({r["set"] for r in rows}):
        rs = sorted((r for r in rows if r["set"] == s), key=lambda r: r["round"])
        axes[0].plot([r["round"] for r in rs], [r["proved"] for r in rs], marker="o", label=s)
        axes[1].plot([r["round"] for r in rs], [r["mean_expansions_per_proof"] for r in rs],
                     marker="o", label=s)
    axes[0].set(xlabel="round (0 = untrained)", ylabel="problems proved", title="proved vs round")
    axes[1].set(xlabel="round (0 = untrained)", ylabel="mean expansions per proof",
                title="expansions per proof vs round")
    for ax in axes:
        ax.legend()
        ax.xaxis.get_major_locator().set_params(integer=True)
    fig.tight_layout()
    fig.savefig(run_dir / "curves.png", dpi=110)
    plt.close(fig)


def train_round(traces: Sequence[Path], out: Path, cfg: TrainConfig) -> dict[str, Any]:
    """Train the ranker and the value on `traces`; choose the value weight by replay; save both."""
    from prover.learn.train import choose_value_weight, train_policy, train_value

    records: list[StateRecord] = read_traces(list(traces))
    t0 = time.monotonic()
    policy, pm = train_policy(records, cfg)
    value, vm = train_value(records, cfg)
    from prover.learn.models import LearnedValue

    lv = LearnedValue(value)
    weight, table = choose_value_weight(records, lv.score, cfg, policy)
    value.config.value_weight = weight
    policy.save_pretrained(out / "policy")
    value.save_pretrained(out / "value")
    return {"records": len(records), "policy": pm, "value": vm, "value_weight": weight,
            "value_weight_replay": table, "seconds": time.monotonic() - t0}


def iterate(cfg: IterateConfig, server: LeanClient | None = None) -> list[dict[str, Any]]:
    """Run the whole experiment (see the module docstring); returns the metric rows."""
    from prover.lean import LeanConfig, LeanServer

    run = cfg.out_dir
    run.mkdir(parents=True, exist_ok=True)
    (run / "metrics.jsonl").unlink(missing_ok=True)  # rewritten row by row (resumed sets too)
    (run / "config.json").write_text(json.dumps(asdict(cfg), default=str, indent=2), encoding="utf-8")
    own = server is None
    timeout = cfg.search.budget.tactic_timeout
    srv = server if server is not None else LeanServer(LeanConfig(tactic_timeout=timeout))
    try:
        srv.start()
        (run / "versions.json").write_text(json.dumps(_versions(srv), indent=2), encoding="utf-8")
        sets = build_tasks(cfg, srv)
        (run / "tasks.json").write_text(json.dumps({k: [asdict(t) for t in v] for k, v in sets.items()},
                                                   ensure_ascii=False, indent=1), encoding="utf-8")
        rows: list[dict[str, Any]] = []
        train_traces: list[Path] = []
        pol: Path | None = None
        val: Path | None = None
        for rnd in range(cfg.rounds + 1):
            base = cfg.search.policy
            model = f"{base} (untrained)" if rnd == 0 else f"learned over {base} (round {rnd})"
            order = [s for s in sets if s != "train"] + (["train"] if rnd < cfg.rounds else [])
            for name in order:
                res = search_tasks(srv, sets[name], cfg, rnd, run / "traces" / f"round{rnd}_{name}.jsonl",
                                   run / "results" / f"round{rnd}_{name}.jsonl", pol, val)
                row = {"round": rnd, "model": model, "set": name, **summarise(res)}
                rows.append(row)
                with (run / "metrics.jsonl").open("a", encoding="utf-8") as f:
                    f.write(json.dumps(row) + "\n")
                write_table(run, rows)
                if name == "train":
                    train_traces.append(run / "traces" / f"round{rnd}_train.jsonl")
            if rnd < cfg.rounds:
                ck = run / "checkpoints" / f"round{rnd + 1}"
                tm = train_round(train_traces, ck, replace(cfg.train, seed=cfg.seed + rnd))
                (run / "train").mkdir(exist_ok=True)
                (run / "train" / f"round{rnd + 1}.json").write_text(json.dumps(tm, indent=2, default=str))
                pol, val = ck / "policy", ck / "value"
        return rows
    finally:
        if own:
            srv.close()
