"""`prover bench`: loaders, the per-problem worker on the real Lean, the runner's backends (local
processes, Ray), resuming a SIGKILLed run, the summary and plots.

Worker processes start their own Lean servers, so those tests run few problems on 1-2 workers;
the in-process tests share the session's `lean_server`. The tests that start processes come
first, so that the shared server is not yet running beside them.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from prover.bench.config import (
    BASELINE_TACTICS,
    BENCH_BUDGET,
    CORE_PRELUDE,
    RunConfig,
    WorkerConfig,
    bench_setup,
)
from prover.bench.data import BenchmarkError, category_of, load_benchmark, parse_benchmark
from prover.bench.runner import (
    BenchRunError,
    InlineBackend,
    RunObserver,
    read_results,
    run_benchmark,
)
from prover.bench.worker import Elaboration, ProblemResult, Status

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "benchmarks"
HEADER = ("import Mathlib\nimport Aesop\n\nset_option maxHeartbeats 0\n\n"
          "open BigOperators Real Nat Topology Rat\n\n")

# Our own small problems in the benchmark's format (written to a temporary file per test).
EASY_1 = "theorem bench_easy_add (n : ℕ) : n + 0 = n := by\n"
EASY_2 = "theorem bench_easy_mod (a : ℕ) (h₀ : a % 4 = 3) : (a + 1) % 4 = 0 := by\n"
EASY_3 = "theorem bench_easy_int (x : ℤ) (h₀ : 3 * x = 12) : x = 4 := by\n"
# True (Fermat for cubes) but out of reach: ends by its expansion budget, deterministically.
HARD = ("theorem bench_hard_flt3 (a b c : ℕ) (h₀ : 0 < a) (h₁ : 0 < b) (h₂ : a ^ 3 + b ^ 3 = c ^ 3) :"
        " False := by\n")
MATHLIB_ONLY = "theorem bench_needs_real (x : ℝ) (h₀ : 0 < x) : Real.sqrt (x ^ 2) = x := by\n"
FALSE = "theorem bench_false_sq (n : ℕ) (h₀ : n < 5) : n * n < 10 := by\n"

FAST = ["--max-expansions", "4", "--wall-time", "120", "--tactic-timeout", "30"]


def _worker(**budget: object) -> WorkerConfig:
    """The default worker with these budget fields changed."""
    return WorkerConfig(search=replace(bench_setup(), budget=replace(BENCH_BUDGET, **budget)))  # type: ignore[arg-type]


def _write(path: Path, statements: list[tuple[str, str]]) -> Path:
    with path.open("w", encoding="utf-8") as f:
        for split, stmt in statements:
            name = stmt.split()[1]
            f.write(json.dumps({"name": name, "split": split, "informal_prefix": f"/-- {name} -/\n",
                                "formal_statement": stmt, "header": HEADER}, ensure_ascii=False) + "\n")
    return path


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "prover.cli", "bench", *args]


def _records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _outcome(recs: list[dict]) -> dict[str, tuple]:
    """What must not depend on how many workers ran it (times and worker order may)."""
    return {r["name"]: (r["status"], r["proof"], r["elaboration"], r["numeric"]["verdict"],
                        tuple(sorted(r["baseline"].items()))) for r in recs}


# ------------------------------------------------------------------------ loaders (no Lean)


def test_bad_lines_are_named_and_lose_nothing_else(tmp_path: Path) -> None:
    good = [json.dumps({"name": f"p{i}", "split": "valid", "formal_statement": f"theorem p{i} : True := by",
                        "header": "", "informal_prefix": "/-- x -/"}) for i in range(3)]
    lines = [good[0], "{not json", json.dumps(["a", "list"]), good[1],
             json.dumps({"name": "q", "split": "train", "formal_statement": "theorem q : True"}),
             json.dumps({"name": "r", "split": "test"}), good[2], good[0],
             json.dumps({"name": "s", "split": "test", "formal_statement": "theorem s : True := trivial"}),
             json.dumps({"name": "u", "split": "test", "formal_statement": "def u : Nat := 1"})]
    bench = parse_benchmark("minif2f", tmp_path / "x.jsonl", ("\n".join(lines) + "\n").encode())
    assert [p.name for p in bench.problems] == ["p0", "p1", "p2"]
    assert [b.line for b in bench.bad_lines] == [2, 3, 5, 6, 8, 9, 10]
    reasons = [b.reason for b in bench.bad_lines]
    assert "not JSON" in reasons[0] and "list" in reasons[1] and "train" in reasons[2]
    assert "formal_statement" in reasons[3] and "duplicate of line 1" in reasons[4]
    assert "already has a proof" in reasons[5] and "does not end in" in reasons[6]
    assert str(bench.bad_lines[0]).startswith(f"{tmp_path / 'x.jsonl'}:2:")


def test_not_utf8_and_missing_file(tmp_path: Path) -> None:
    bench = parse_benchmark("proofnet", tmp_path / "y.jsonl", b'\xff\xfe{"a": 1}\n')
    assert bench.problems == () and "UTF-8" in bench.bad_lines[0].reason
    with pytest.raises(BenchmarkError, match="no benchmark file"):
        load_benchmark("minif2f", tmp_path / "missing.jsonl")
    with pytest.raises(BenchmarkError, match="unknown benchmark"):
        load_benchmark("putnam", tmp_path)


@pytest.mark.skipif(not SHARED.is_dir(), reason="the shared benchmark files are not on this machine")
def test_real_benchmark_files_load_completely() -> None:
    mini = load_benchmark("minif2f", SHARED)
    assert mini.bad_lines == ()
    assert Counter(p.split for p in mini.problems) == {"valid": 244, "test": 244}
    pn = load_benchmark("proofnet", SHARED)
    assert pn.bad_lines == ()
    assert Counter(p.split for p in pn.problems) == {"valid": 185, "test": 186}
    # Same exercise number, different textbooks: distinct problems, told apart by their ids.
    assert len({p.id for p in pn.problems}) == 371 and len({p.name for p in pn.problems}) < 371
    assert [p.id for p in pn.problems if p.name == "exercise_3_3"] == ["exercise_3_3", "exercise_3_3#2"]
    cats = Counter(p.category for p in mini.problems)
    assert {"mathd_algebra", "mathd_numbertheory", "amc", "aime", "imo", "induction"} <= set(cats)
    assert sum(cats.values()) == 488
    p = next(p for p in mini.problems if p.name == "amc12a_2015_p10")
    assert p.informal.startswith("Integers $x$") and p.formal_statement.startswith("theorem amc12a_2015_p10")
    assert len(mini.select(("test",), limit=5)) == 5
    with pytest.raises(BenchmarkError, match="not in minif2f"):
        mini.select(names=("no_such_problem",))


def test_category_of() -> None:
    assert category_of("mathd_numbertheory_33") == "mathd_numbertheory"
    assert category_of("amc12b_2002_p19") == "amc"
    assert category_of("aimeI_2000_p7") == "aime"
    assert category_of("imosl_2007_algebra_p6") == "imo"
    assert category_of("induction_12dvd4expnp1p20") == "induction"


def test_truncated_last_line_is_dropped_and_repaired(tmp_path: Path) -> None:
    rec = ProblemResult("minif2f", "a", "valid", "amc", Status.FAILED, Elaboration.CORE, {"verdict": "x"})
    path = tmp_path / "results.jsonl"
    path.write_text(json.dumps(rec.to_json()) + "\n" + '{"benchmark": "minif2f", "na', encoding="utf-8")
    assert [r.name for r in read_results(path, repair=True)] == ["a"]
    assert path.read_text(encoding="utf-8").endswith("}\n")
    path.write_text("garbage\n" + json.dumps(rec.to_json()) + "\n", encoding="utf-8")
    with pytest.raises(BenchRunError, match=r"results.jsonl:1: not a result record"):
        read_results(path)


def test_resume_refuses_other_settings(tmp_path: Path) -> None:
    rec = ProblemResult("minif2f", "a", "valid", "amc", Status.FAILED, Elaboration.CORE, {},
                        settings=WorkerConfig().settings())
    (tmp_path / "results.jsonl").write_text(json.dumps(rec.to_json()) + "\n", encoding="utf-8")
    other = RunConfig(out_dir=tmp_path, resume=True, worker=_worker(max_expansions=7))
    with pytest.raises(BenchRunError, match="other settings"):
        run_benchmark(other, [], backend=None)
    with pytest.raises(BenchRunError, match="--resume"):
        run_benchmark(RunConfig(out_dir=tmp_path), [])


# A record's settings as `prover bench` wrote them before the budget was the search's own
# dataclass: the value weight beside the budget, no length normalisation / independent goals.
OLD_SETTINGS = {
    "budget": {"max_expansions": 200, "wall_time": 45.0, "tactic_timeout": 20.0, "k": 12, "heartbeats": None,
               "max_depth": 12},
    "policy": "builtin", "model": None, "policy_options": {}, "value": "goal-size", "value_model": None,
    "value_weight": 0.5, "numeric_prune": True, "baseline": list(BASELINE_TACTICS), "seed": 0,
    "prelude": CORE_PRELUDE,
}


def test_a_log_in_the_old_settings_format_resumes_under_the_same_settings(tmp_path: Path) -> None:
    rec = {**ProblemResult("minif2f", "a", "valid", "amc", Status.FAILED, Elaboration.CORE, {}).to_json(),
           "settings": OLD_SETTINGS}
    (tmp_path / "results.jsonl").write_text(json.dumps(rec) + "\n", encoding="utf-8")
    same = WorkerConfig(search=replace(bench_setup(), policy="builtin"))
    outcome = run_benchmark(RunConfig(out_dir=tmp_path, resume=True, worker=same), [], backend=None)
    assert [r.name for r in outcome.results] == ["a"]
    assert outcome.results[0].settings == same.settings()  # read back in the current format
    # Settings the old run did not use still refuse to mix: another value weight, another policy.
    for worker in (replace(same, search=replace(same.search, budget=replace(BENCH_BUDGET, value_weight=1.0))),
                   replace(same, search=replace(same.search, policy="numeric"))):
        with pytest.raises(BenchRunError, match="other settings"):
            run_benchmark(RunConfig(out_dir=tmp_path, resume=True, worker=worker), [], backend=None)


def test_compare_counts_each_side_over_the_problems_both_searched(tmp_path: Path) -> None:
    from prover.bench.compare import compare, load_leg

    def write(run: str, rows: list[tuple[str, str, Status, int, float]]) -> Path:
        d = tmp_path / run
        d.mkdir()
        recs = [ProblemResult("minif2f", n, split, "amc", st, Elaboration.CORE, {}, expansions=e,
                              search_seconds=10.0, stats={"model_seconds": m})
                for n, split, st, e, m in rows]
        lines = "".join(json.dumps(r.to_json()) + "\n" for r in recs)
        (d / "results.jsonl").write_text(lines, encoding="utf-8")
        return d

    P, F, M = Status.PROVED, Status.BUDGET_EXHAUSTED, Status.NEEDS_MATHLIB
    a = write("prior", [("p1", "valid", P, 2, 0.0), ("p2", "valid", F, 50, 0.0), ("p3", "test", P, 4, 0.0),
                        ("p4", "test", M, 0, 0.0), ("p5", "test", F, 9, 0.0)])
    b = write("numeric", [("p1", "valid", P, 1, 1.0), ("p2", "valid", P, 3, 2.0), ("p3", "test", F, 60, 4.0),
                          ("p4", "test", M, 0, 0.0)])
    text = compare(load_leg(a), load_leg(b))
    # p4 was not searched and p5 only by one run: three problems in common.
    assert "Problems both runs searched: 3." in text
    assert "| **total** | 3 | **2** | **2** | 1 | 1 | 1 |" in text
    assert "| split valid | 2 | **1** | **2** | 1 | 0 | 1 |" in text
    assert "| split test | 1 | **1** | **0** | 0 | 1 | 0 |" in text
    assert "| expansions per proof (its own proofs) | 3.0 (median 3) | 2.0 (median 2) |" in text
    assert "total / in the models | 30 s / 7 s (23.3 %)" in text
    assert "Proved by A only: p3." in text and "Proved by B only: p2." in text


# ------------------------------------------------------------------------ worker processes


@pytest.fixture(scope="module")
def problems_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("bench-data")
    return _write(d / "minif2f.jsonl", [("valid", MATHLIB_ONLY), ("valid", EASY_1), ("valid", EASY_2),
                                        ("test", EASY_3), ("test", HARD), ("test", FALSE)])


@pytest.fixture(scope="module")
def killed_and_resumed(problems_file: Path, tmp_path_factory: pytest.TempPathFactory,
                       lean_subprocess_env: dict[str, str]) -> dict:
    """A 1-worker CLI run SIGKILLed once its first searched problem is logged, then resumed."""
    out = tmp_path_factory.mktemp("run-1-worker")
    log = out / "results.jsonl"
    args = ["minif2f", "--data", str(problems_file), "--out", str(out), "--workers", "1", "--no-progress",
            *FAST]
    proc = subprocess.Popen(_cli(*args), cwd=ROOT, env=lean_subprocess_env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    searched_at_kill: list[dict] = []
    deadline = time.monotonic() + 600
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            recs = _records(log) if log.exists() else []
            if any(r["status"] in ("proved", "failed", "budget_exhausted") for r in recs):
                proc.send_signal(signal.SIGKILL)
                searched_at_kill = recs
                break
            time.sleep(0.05)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, "the run ended before it could be killed mid-way"
    before = _records(log)
    resumed = subprocess.run(_cli(*args, "--resume"), cwd=ROOT, env=lean_subprocess_env, capture_output=True,
                             text=True, timeout=600)
    return {"out": out, "before": before, "at_kill": searched_at_kill, "resumed": resumed}


def test_resume_after_sigkill_runs_every_problem_exactly_once(killed_and_resumed: dict) -> None:
    k = killed_and_resumed
    assert k["resumed"].returncode == 0, k["resumed"].stderr[-2000:]
    assert 0 < len(k["before"]) < 6  # killed mid-run: something was done, something was not
    final = _records(k["out"] / "results.jsonl")
    names = [r["name"] for r in final]
    assert sorted(names) == sorted(["bench_needs_real", "bench_easy_add", "bench_easy_mod", "bench_easy_int",
                                    "bench_hard_flt3", "bench_false_sq"])
    assert len(names) == len(set(names))
    # What was logged before the kill is kept as it was, not redone.
    assert final[:len(k["before"])] == k["before"]


def test_outcomes_of_the_small_run(killed_and_resumed: dict) -> None:
    final = {r["name"]: r for r in _records(killed_and_resumed["out"] / "results.jsonl")}
    assert final["bench_needs_real"]["status"] == "needs_mathlib"
    assert final["bench_false_sq"]["status"] == "refuted"
    assert final["bench_false_sq"]["numeric"]["counterexample"]["assignment"] == {"n": "4"}
    assert final["bench_false_sq"]["expansions"] == 0 and final["bench_false_sq"]["stats"] == {}
    for name in ("bench_easy_add", "bench_easy_mod", "bench_easy_int"):
        assert final[name]["status"] == "proved" and final[name]["proof"], name
        assert final[name]["elaboration"] == "core"
    assert final["bench_hard_flt3"]["status"] == "budget_exhausted"
    assert final["bench_hard_flt3"]["expansions"] == 4
    r = final["bench_easy_add"]
    assert r["settings"]["budget"]["max_expansions"] == 4 and r["settings"]["seed"] == 0
    assert r["versions"]["lean"] and r["versions"]["prover"] and "git_commit" in r["versions"]


@pytest.fixture(scope="module")
def two_workers(problems_file: Path, tmp_path_factory: pytest.TempPathFactory,
                lean_subprocess_env: dict[str, str]) -> dict:
    out = tmp_path_factory.mktemp("run-2-workers")
    run = subprocess.run(_cli("minif2f", "--data", str(problems_file), "--out", str(out), "--workers", "2",
                              "--no-progress", *FAST), cwd=ROOT, env=lean_subprocess_env, capture_output=True,
                         text=True, timeout=900)
    return {"out": out, "run": run}


def test_two_workers_give_the_same_results_as_one(killed_and_resumed: dict, two_workers: dict) -> None:
    assert two_workers["run"].returncode == 0, two_workers["run"].stderr[-2000:]
    one = _records(killed_and_resumed["out"] / "results.jsonl")
    two = _records(two_workers["out"] / "results.jsonl")
    assert len(two) == 6
    assert _outcome(two) == _outcome(one)


def test_mathlib_message_is_given_once_and_clearly(two_workers: dict) -> None:
    err = two_workers["run"].stderr
    assert err.count("need Mathlib") == 1
    assert "1 of 6 statements need Mathlib" in err and "bench_needs_real" in err
    assert "lake exe cache get" in err and "lakefile.toml" in err


def test_summary_and_plots_match_the_log(two_workers: dict) -> None:
    out: Path = two_workers["out"]
    recs = _records(out / "results.jsonl")
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    by_split = Counter(r["split"] for r in recs)
    proved_by_split = Counter(r["split"] for r in recs if r["status"] == "proved")
    for split in by_split:
        assert summary["by_split"][split]["problems"] == by_split[split]
        assert summary["by_split"][split]["proved"] == proved_by_split[split]
    assert summary["total"]["proved"] == sum(r["status"] == "proved" for r in recs)
    assert summary["total"]["needs_mathlib"] == sum(r["status"] == "needs_mathlib" for r in recs)
    assert summary["lean_calls"]["total"] == sum(r["lean_calls"] for r in recs)
    cats = Counter(r["category"] for r in recs)
    assert {c: g["problems"] for c, g in summary["by_category"].items()} == dict(cats)
    searched = ("proved", "failed", "budget_exhausted")
    times = sorted(r["search_seconds"] for r in recs if r["status"] in searched)
    assert summary["time_s"]["median"] in times
    omega = sum(r["baseline"].get("omega") == "proved" for r in recs)
    assert summary["baseline_by_tactic"]["omega"] == omega
    assert [x["name"] for x in summary["refuted"]] == ["bench_false_sq"]
    md = (out / "summary.md").read_text(encoding="utf-8")
    assert "bench_false_sq" in md and "n = 4" in md
    from PIL import Image

    for png in ("proved_vs_time.png", "proved_vs_expansions.png"):
        with Image.open(out / png) as im:
            im.load()  # decodes the whole image
            assert im.format == "PNG" and im.size[0] > 100 and im.size[1] > 100


def test_ray_backend_on_a_local_instance(problems_file: Path, killed_and_resumed: dict,
                                         tmp_path: Path) -> None:
    pytest.importorskip("ray")
    from prover.bench.runner import RayBackend, driver_versions

    bench = load_benchmark("minif2f", problems_file)
    chosen = bench.select(names=("bench_easy_mod", "bench_hard_flt3"))
    cfg = RunConfig(out_dir=tmp_path, workers=1,
                    worker=_worker(max_expansions=4, wall_time=120, tactic_timeout=30))
    backend = RayBackend(cfg.worker, driver_versions(), "local",
                         init_kwargs={"num_cpus": 2, "object_store_memory": 100 * 2**20})
    outcome = run_benchmark(cfg, chosen, backend=backend)
    import ray

    assert not ray.is_initialized()  # the instance started for the run was shut down
    ray_recs = _records(tmp_path / "results.jsonl")
    assert sorted(r["name"] for r in ray_recs) == ["bench_easy_mod", "bench_hard_flt3"]
    assert outcome.new == 2
    one = _outcome(_records(killed_and_resumed["out"] / "results.jsonl"))
    assert _outcome(ray_recs) == {n: one[n] for n in ("bench_easy_mod", "bench_hard_flt3")}


# ------------------------------------------------------------------------ in process, shared server


class _Notes(RunObserver):
    def __init__(self) -> None:
        self.notes: list[str] = []
        self.done: list[ProblemResult] = []

    def notice(self, text: str) -> None:
        self.notes.append(text)

    def finished(self, result: ProblemResult) -> None:
        self.done.append(result)


@pytest.mark.skipif(not SHARED.is_dir(), reason="the shared benchmark files are not on this machine")
def test_real_minif2f_problems_on_the_shared_server(lean_server, tmp_path: Path) -> None:
    from prover.bench.runner import driver_versions

    bench = load_benchmark("minif2f", SHARED)
    # mathd_algebra_182 is over ℂ (Mathlib); mathd_numbertheory_33 is over ℕ (core).
    chosen = bench.select(names=("mathd_algebra_182", "mathd_numbertheory_33"))
    # A wall budget that survives a loaded machine (the search now enforces it strictly, and a
    # slow first tactic can use it up); the heartbeat cap keeps such a tactic short.
    worker = _worker(max_expansions=20, wall_time=300, heartbeats=20_000)
    cfg = RunConfig(out_dir=tmp_path, worker=replace(worker, baseline=("omega", "decide")))
    notes = _Notes()
    outcome = run_benchmark(cfg, chosen, observer=notes,
                            backend=InlineBackend(cfg.worker, driver_versions(), lean_server))
    by = {r.name: r for r in outcome.results}
    assert by["mathd_algebra_182"].status is Status.NEEDS_MATHLIB
    assert by["mathd_algebra_182"].error_kinds  # Lean's own error names, for the record
    assert by["mathd_numbertheory_33"].elaboration is Elaboration.CORE
    assert by["mathd_numbertheory_33"].status is Status.PROVED
    assert set(by["mathd_numbertheory_33"].baseline) == {"omega", "decide"}
    assert by["mathd_numbertheory_33"].baseline["omega"] == "proved"
    assert outcome.needs_mathlib == ("mathd_algebra_182",)
    assert len(notes.notes) == 1 and "1 of 2 statements need Mathlib" in notes.notes[0]
    assert [r.name for r in notes.done] == ["mathd_algebra_182", "mathd_numbertheory_33"]
    assert lean_server.alive  # the inline backend leaves a server it was given running
