"""One registry of policies and values, one assembly of a search (`search.registry`,
`search.assemble`), reached from every command that searches: `prover prove`, `search.api.prove`,
the bench worker, iterate's search step and `prover solve`.

Every registered policy runs through every command on the session's real Lean. Models: a tiny
randomly initialised T5 with ByT5's vocabulary (transformers), an untrained ranker checkpoint
(learned: it keeps the prior's order), and for http the repository's scripted model-server DOUBLE
(`tests/formalizer_double.py`, the OpenAI chat format) answering `omega`, since no model server
runs in this test tier; the real `OpenAIPolicy` client talks to it.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from prover.lean import LeanServer
from search import registry
from search.assemble import SearchSetup, assemble
from search.best_first import SearchConfig
from search.registry import RegistryError, check_policy, default_policy, policy_names, value_names

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ("builtin", "numeric", "transformers", "http", "learned")
VALUES = ("goal-size", "none", "transformers", "learned")
HAS_Z3 = importlib.util.find_spec("z3") is not None
# omega proves it in one step; the prior ranks omega high, the http double answers it.
THEOREM = "theorem asm (a b : Nat) (h : a < b) : a + 1 ≤ b"
BUDGET = SearchConfig(k=4, max_expansions=3, wall_time=120.0, tactic_timeout=30.0)
# Policies whose candidates include omega here: they must prove THEOREM; the random T5 need not.
PROVING = ("builtin", "numeric", "http", "learned")


# ------------------------------------------------------------------ the registry, no Lean


def test_every_policy_and_value_is_registered() -> None:
    assert set(POLICIES) <= set(policy_names())
    assert set(VALUES) <= set(value_names())


def _choices(argv: list[str], dest: str) -> tuple[str, ...]:
    from prover.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    action = next(a for a in sub.choices[argv[0]]._actions if a.dest == dest)
    return tuple(action.choices or ())


@pytest.mark.parametrize("command", ["prove", "bench", "iterate", "solve"])
def test_every_searching_command_offers_every_registered_name(command: str) -> None:
    assert _choices([command], "policy") == policy_names()
    assert _choices([command], "value") == value_names()


def test_the_default_policy_is_the_strongest_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    assert default_policy() == ("numeric" if HAS_Z3 else "builtin")
    # A DOUBLE of a machine without z3: find_spec answers None for it.
    real = importlib.util.find_spec
    monkeypatch.setattr(registry.importlib.util, "find_spec",
                        lambda name, *a: None if name == "z3" else real(name, *a))
    assert default_policy() == "builtin"
    assert SearchSetup().policy == "builtin"


@pytest.mark.parametrize(("name", "needs"), [("transformers", "Hugging Face id"), ("http", "served model"),
                                             ("learned", "checkpoint directory")])
def test_a_model_policy_without_its_model_names_what_is_missing(name: str, needs: str) -> None:
    with pytest.raises(RegistryError, match=f"the {name} policy needs a model: .*{needs}"):
        check_policy(name)


def test_misfitting_requests_are_refused_before_anything_loads() -> None:
    with pytest.raises(RegistryError, match="unknown policy 'nope'; choose one of builtin, numeric"):
        check_policy("nope")
    with pytest.raises(RegistryError, match="builtin policy takes no option a"):
        check_policy("builtin", options={"a": 1})
    with pytest.raises(RegistryError, match="takes no model"):
        check_policy("numeric", model="x")
    with pytest.raises(RegistryError, match="needs the option base_url"):
        check_policy("http", model="m")
    with pytest.raises(RegistryError, match="numeric policy needs the Lean server"):
        registry.load_policy("numeric")


def test_learned_is_declared_as_entry_points_of_prover_learn() -> None:
    from conftest import declared_entry_points

    eps = {(ep.group, ep.name): ep for ep in declared_entry_points()}
    assert set(eps) == {("prover.policies", "learned"), ("prover.values", "learned")}
    for ep in eps.values():
        spec = ep.load()
        assert spec.name == "learned" and spec.model is not None and ep.module == "prover.learn.plugin"


def _installed_here() -> bool:
    # `pip install -e .` also leaves a prover.egg-info in the checkout (no direct_url.json there):
    # look at every `prover` distribution, not only the first found.
    return any(json.loads(d.read_text("direct_url.json") or "{}").get("url") == ROOT.as_uri()
               for d in importlib.metadata.distributions(name="prover"))


@pytest.mark.skipif(not _installed_here(), reason="the installed `prover` is another checkout (its entry "
                                                   "points are that checkout's): pip install -e .")
def test_the_installed_metadata_carries_the_entry_points() -> None:
    names = {(ep.group, ep.name) for g in ("prover.policies", "prover.values")
             for ep in importlib.metadata.entry_points(group=g)}
    assert {("prover.policies", "learned"), ("prover.values", "learned")} <= names


def test_a_learned_round_reranks_the_configured_policy_with_the_measured_value_weight(tmp_path: Path) -> None:
    from prover.learn.config import IterateConfig
    from prover.learn.iterate import round_setup
    from prover.learn.models import new_model

    value = new_model("value", dim=8, buckets=512)
    value.config.value_weight = 2.0
    value.save_pretrained(tmp_path / "value")
    cfg = IterateConfig(search=SearchSetup(policy="numeric", policy_options=(("max_numeric", 3),)))
    s = round_setup(cfg, tmp_path / "policy", tmp_path / "value")
    assert (s.policy, s.model, dict(s.policy_options)) == (
        "learned", str(tmp_path / "policy"), {"base": "numeric", "max_numeric": 3})
    assert (s.value, s.budget.value_weight) == ("learned", 2.0)
    assert s.budget == replace(cfg.search.budget, value_weight=2.0)  # the rest of the budget is kept
    assert round_setup(cfg) == cfg.search


# ------------------------------------------------------------------ the models each policy needs


@pytest.fixture(scope="module")
def byt5_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch
    from transformers import ByT5Tokenizer, T5Config, T5ForConditionalGeneration

    torch.manual_seed(0)
    tokenizer = ByT5Tokenizer()
    config = T5Config(vocab_size=len(tokenizer), d_model=16, d_kv=4, d_ff=32, num_layers=1,
                      num_decoder_layers=1, num_heads=2, pad_token_id=0, eos_token_id=1,
                      decoder_start_token_id=0)
    path = tmp_path_factory.mktemp("tiny-byt5")
    T5ForConditionalGeneration(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def ranker_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from prover.learn.models import new_model

    path = tmp_path_factory.mktemp("ranker")
    new_model("policy", dim=8, buckets=512).save_pretrained(path)  # untrained: the prior's order
    return path


@pytest.fixture(scope="module")
def tactic_server() -> Any:
    from formalizer_double import ScriptedFormalizerDouble

    with ScriptedFormalizerDouble(["omega"]) as double:
        yield double


@pytest.fixture
def case(request: pytest.FixtureRequest, byt5_dir: Path, ranker_dir: Path,
         tactic_server: Any) -> tuple[str, str | None, dict[str, Any]]:
    """(policy, model, options) for the parametrised policy name."""
    name = request.param
    if name == "transformers":
        return name, str(byt5_dir), {"max_new_tokens": 6, "num_samples": 2}
    if name == "http":
        return name, "scripted-double", {"base_url": tactic_server.url, "endpoint": "chat",
                                         "max_requests": 1, "api_key_env": None}
    if name == "learned":
        return name, str(ranker_dir), {}
    return name, None, {}


def _setup(case: tuple[str, str | None, dict[str, Any]]) -> SearchSetup:
    name, model, options = case
    return SearchSetup(policy=name, model=model, policy_options=tuple(options.items()), budget=BUDGET)


def _option_flags(options: dict[str, Any]) -> list[str]:
    return [f for k, v in options.items() for f in ("--policy-option", f"{k}={json.dumps(v)}")]


def _budget_flags() -> list[str]:
    return ["-k", str(BUDGET.k), "--max-expansions", str(BUDGET.max_expansions),
            "--wall-time", str(BUDGET.wall_time), "--tactic-timeout", str(BUDGET.tactic_timeout)]


def _policy_flags(case: tuple[str, str | None, dict[str, Any]], model_flag: str = "--model") -> list[str]:
    name, model, options = case
    return ["--policy", name, *([model_flag, model] if model else []), *_option_flags(options)]


# ------------------------------------------------------------------ every policy through every command


@pytest.mark.lean
@pytest.mark.parametrize("case", POLICIES, indirect=True)
def test_prove_cli(case: tuple[str, str | None, dict[str, Any]], lean_server: LeanServer,
                   capsys: pytest.CaptureFixture[str]) -> None:
    from prover.cli import build_parser
    from search import cli

    args = build_parser().parse_args(["prove", THEOREM, *_budget_flags(), *_policy_flags(case), "--json",
                                      "--no-progress"])
    code = cli.run(args, server=lean_server)
    out = json.loads(capsys.readouterr().out)
    assert out["policy"] == case[0]
    if case[0] in PROVING:
        assert code == cli.EXIT_PROVED and out["status"] == "proved"
    else:
        assert code == cli.EXIT_NO_PROOF and out["stats"]["expansions"] >= 1, out


@pytest.mark.lean
@pytest.mark.parametrize("case", POLICIES, indirect=True)
def test_api_prove(case: tuple[str, str | None, dict[str, Any]], lean_server: LeanServer) -> None:
    from search.api import prove

    name, model, options = case
    res = prove(THEOREM, server=lean_server, policy=name, model=model, options=options, config=BUDGET)
    assert res.policy == name
    assert res.proved if name in PROVING else res.stats.expansions >= 1


@pytest.mark.lean
@pytest.mark.parametrize("case", POLICIES, indirect=True)
def test_bench_worker(case: tuple[str, str | None, dict[str, Any]], lean_server: LeanServer) -> None:
    from prover.bench.config import WorkerConfig
    from prover.bench.data import Problem
    from prover.bench.worker import BenchWorker, Status

    problem = Problem(benchmark="own", name="asm", split="test", informal="",
                      formal_statement=THEOREM + " := by\n", header="")
    worker = BenchWorker(WorkerConfig(search=_setup(case), baseline=()), server=lean_server)
    r = worker.run(problem)
    assert r.settings["policy"] == case[0] and r.stats["policy"] == case[0]
    assert r.status is Status.PROVED if case[0] in PROVING else r.expansions >= 1, r


@pytest.mark.lean
@pytest.mark.parametrize("case", POLICIES, indirect=True)
def test_iterate_search_step(case: tuple[str, str | None, dict[str, Any]], lean_server: LeanServer,
                             tmp_path: Path) -> None:
    from prover.learn.config import IterateConfig
    from prover.learn.iterate import Task, search_tasks

    cfg = IterateConfig(out_dir=tmp_path, search=_setup(case), progress=False)
    [r] = search_tasks(lean_server, [Task("asm", "train", THEOREM + " := by", True)], cfg, 0,
                       tmp_path / "traces.jsonl", tmp_path / "results.jsonl")
    assert r.proved if case[0] in PROVING else r.expansions >= 1, r
    assert (tmp_path / "traces.jsonl").read_text(encoding="utf-8")  # the traces the ranker trains on


@pytest.mark.lean
@pytest.mark.parametrize("case", POLICIES, indirect=True)
def test_solve_cli(case: tuple[str, str | None, dict[str, Any]], lean_server: LeanServer,
                   capsys: pytest.CaptureFixture[str]) -> None:
    from formalizer_double import ScriptedFormalizerDouble

    from prover.cli import build_parser
    from prover.formalize.cli import run_solve

    answer = "Answer: 2\n```lean\ntheorem s (a b : Nat) (h : a < b) (h2 : b = 2) : a + 1 ≤ 2 := by sorry\n```"
    with ScriptedFormalizerDouble([answer]) as llm:
        args = build_parser().parse_args([
            "solve", "If a < b and b = 2, what bounds a + 1?", "--backend", "http", "--base-url", llm.url,
            "--model", "scripted-double", "--samples", "1", "--json", *_budget_flags(),
            *_policy_flags(case, "--policy-model")])
        code = run_solve(args, server=lean_server)
    out = json.loads(capsys.readouterr().out)
    assert out["policy"] == case[0]
    search = next(c for c in out["checks"] if c["name"] == "proof search")
    assert f"{case[0]} policy" in search["detail"]
    if case[0] in PROVING:
        assert code == 0 and out["status"] == "proved", out
    else:
        assert out["status"] == "not_proved" and search["passed"] is False


@pytest.mark.lean
@pytest.mark.skipif(not HAS_Z3, reason="z3 is not installed (the smt extra): the default is builtin")
def test_prove_with_no_flags_runs_the_numeric_policy_and_says_so(lean_server: LeanServer,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    from prover.cli import build_parser
    from search import cli

    code = cli.run(build_parser().parse_args(["prove", THEOREM, "--no-progress"]), server=lean_server)
    assert code == cli.EXIT_PROVED
    assert "policy: numeric" in capsys.readouterr().out.splitlines()


@pytest.mark.lean
def test_one_searcher_serves_many_statements_and_holds_no_search_state(lean_server: LeanServer) -> None:
    searcher = assemble(SearchSetup(policy="builtin", budget=BUDGET), lean_server)
    first = searcher.search(THEOREM + " := by")
    second = searcher.search("theorem asm2 (n : Nat) : n + 0 = n := by")
    assert first.proved and second.proved and first.tree is not second.tree
    assert first.policy == second.policy == "builtin"
