"""Learning from search: trace records, the problem generator, trained ranker and value.

Lean-backed tests use the session's real server; the training tests on hand-built traces need none.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from prover.learn.config import TrainConfig
from prover.learn.generator import GenConfig, generate, python_truth
from prover.learn.train import brier, ece, policy_examples, replay_expansions, train_policy, train_value
from search.traces import (
    StateRecord,
    StepRecord,
    load_dataset,
    read_traces,
    records_from_result,
    write_traces,
)

# ----------------------------------------------------------------------------- traces (real Lean)


def test_trace_records_round_trip_and_label_the_proof(lean_server, tmp_path: Path) -> None:
    from search.api import make_policy
    from search.best_first import BestFirstSearch, SearchConfig

    snippet = "theorem tr (a b : Nat) (h : a = b) : a + 0 = b ∧ b = a := by"
    result = BestFirstSearch(lean_server, make_policy("builtin", snippet), None,
                             SearchConfig(max_expansions=20, wall_time=120)).search(snippet)
    assert result.proved, result.message
    recs = records_from_result(result, "tr")
    root = next(r for r in recs if r.node == 0)
    assert root.on_proof and root.proved
    assert root.distance == len(result.tactics)  # the fewest steps to "no goals" from the root
    first = [s for s in root.steps if s.on_proof]
    assert [s.tactic for s in first] == [result.tactics[0]]
    assert all(s.lean_seconds > 0 for s in root.steps if s.outcome != "refused")
    # Every step that led somewhere names the state it led to, by id and by text.
    by_id = {r.node: r for r in recs}
    for r in recs:
        for s in r.steps:
            if s.outcome in ("new", "merged"):
                assert by_id[s.next_node].state == s.next_state

    path = tmp_path / "t.jsonl"
    assert write_traces(recs, path) == len(recs)
    assert read_traces(path) == recs
    ds = load_dataset(path)
    assert ds.num_rows == len(recs)
    row = ds[[r.node for r in recs].index(0)]
    assert row["state"] == root.state and row["distance"] == root.distance
    assert [s["tactic"] for s in row["steps"]] == [s.tactic for s in root.steps]


# ----------------------------------------------------------------------------- generator


def test_generator_is_seeded_and_covers_every_family() -> None:
    a = generate(GenConfig(n=21, seed=5))
    assert a == generate(GenConfig(n=21, seed=5))
    assert a != generate(GenConfig(n=21, seed=6))
    assert {p.family for p in a} == {"linear", "modular", "divisibility", "bounded", "exists",
                                     "recursive", "list"}
    hard = generate(GenConfig(n=40, seed=5, min_difficulty=4, max_difficulty=4))
    easy = generate(GenConfig(n=40, seed=5, min_difficulty=1, max_difficulty=1))
    # The knob grows the statements (constants, variables, nesting).
    assert sum(len(p.statement) for p in hard) > sum(len(p.statement) for p in easy)


def test_generated_labels_are_confirmed_by_lean_and_the_numeric_checker(lean_server) -> None:
    from prover.numeric import NumericChecker, Verdict
    from prover.verify import Verifier

    problems = generate(GenConfig(n=21, seed=3, false_fraction=0.5, max_difficulty=4))
    assert {p.truth for p in problems} == {True, False}
    verifier = Verifier(lean_server)
    checker = NumericChecker()
    refuted = 0
    for p in problems:
        if p.truth:
            v = verifier.verify(p.snippet, p.proof)
        else:  # the negation is proved in Lean (a counterexample instantiated, or decided)
            v = verifier.verify(p.negation_snippet, p.refutation)
        assert v.ok, (p.id, p.truth, v.reason)
        if python_truth(p) is not None:
            assert python_truth(p) == p.truth
        if not p.header:  # the checker has no user definitions; arithmetic families only
            verdict = checker.check_statement(p.statement + " := by sorry").verdict
            # It can only refute (a false ∃ is beyond it: "unsupported"), never refute a true one.
            assert verdict is not Verdict.REFUTED or not p.truth, p.id
            if not p.truth and p.family != "exists":
                assert verdict is Verdict.REFUTED, (p.id, verdict)
                refuted += 1
    assert refuted >= 3


# ----------------------------------------------------------------------------- training


_TACTICS = ["omega", "simp", "decide", "rfl", "simp_all", "subst h"]
_PRIOR = [-0.5, -1.0, -1.5, -2.0, -2.5, -3.0]


def _records_where(state: str, good: str, tactics: list[str] = _TACTICS, prior: list[float] = _PRIOR,
                   n: int = 12) -> list[StateRecord]:
    """Traces in which only `good` proves `state` and the others were rejected by Lean."""
    out = []
    for i in range(n):
        steps = tuple(StepRecord(t, lp, "finished" if t == good else "error", "", "", -1, 0.1, t == good)
                      for t, lp in zip(tactics, prior, strict=True))
        out.append(StateRecord(f"p{i}", "proved", 0, state, 1, 0, True, "proved", True, True, 1, -1.0, steps))
    return out


def test_tiny_training_yields_a_checkpoint_the_search_loads_and_follows(lean_server, tmp_path: Path) -> None:
    from prover.lean import ProofState
    from search.api import make_policy, make_value
    from search.best_first import BestFirstSearch, SearchConfig

    snippet = "theorem flip (x : Nat) (h : x = 3) : x + 1 = 4 := by"
    root = lean_server.open_proof(snippet)
    assert isinstance(root, ProofState)
    prior = make_policy("builtin", snippet).propose(root, 6)
    # The hand prior's last of its top 6 is what the traces say works.
    good = prior[-1].tactic
    assert prior[0].tactic != good
    recs = _records_where(root.pretty, good, [c.tactic for c in prior], [c.logprob for c in prior])
    model, metrics = train_policy(recs, TrainConfig(max_steps=20, epochs=100, lr=0.05))
    assert metrics["steps"] == 20
    model.save_pretrained(tmp_path / "policy")
    assert (tmp_path / "policy" / "config.json").is_file()

    learned = make_policy("learned", snippet, model=str(tmp_path / "policy"))
    assert learned.propose(root, 6)[0].tactic == good
    cfg = SearchConfig(k=6, max_expansions=3, wall_time=120)
    base_run = BestFirstSearch(lean_server, make_policy("builtin", snippet), None, cfg).search(snippet)
    run = BestFirstSearch(lean_server, learned, make_value("goal-size"), cfg).search(snippet)
    first_base = next(r for r in records_from_result(base_run) if r.node == 0).steps[0].tactic
    first = next(r for r in records_from_result(run) if r.node == 0).steps[0].tactic
    assert first == good and first_base != good
    lean_server.forget([root])


def test_untrained_ranker_keeps_the_prior_order() -> None:
    from prover.learn.models import new_model

    m = new_model("policy", dim=8, buckets=512)
    scores = m.policy_logits("⊢ True", _TACTICS, _PRIOR).tolist()
    assert sorted(range(6), key=lambda i: -scores[i]) == list(range(6))


def test_value_learns_a_separable_label_and_is_calibrated_better_than_the_base_rate() -> None:
    rng = random.Random(0)
    recs = []
    for i in range(300):
        provable = rng.random() < 0.4
        target = (f"x{i % 7} ∣ {i}" if provable else f"x{i % 7} ≠ {i} ∨ False")
        recs.append(StateRecord(f"q{i}", "proved", 0, f"x{i % 7} : Nat\n⊢ {target}", 1, 0, False,
                                "open", provable, False, 0 if provable else -1, -1.0, ()))
    _model, m = train_value(recs, TrainConfig(epochs=10, lr=0.02))
    assert m["test_states"] > 20
    assert m["learned"]["brier"] < 0.5 * m["base_rate"]["brier"]
    assert m["learned"]["ece"] < 0.15


def test_calibration_metrics_on_known_values() -> None:
    assert brier([1.0, 0.0], [True, False]) == 0.0
    assert brier([0.5, 0.5], [True, False]) == 0.25
    assert ece([0.9] * 10, [True] * 9 + [False]) == pytest.approx(0.0)
    assert ece([0.9] * 10, [False] * 10) == pytest.approx(0.9)


def test_replay_counts_expansions_and_follows_the_value() -> None:
    # Root 0 has two children: 1 (dead end, favoured by the prior) and 2 (which finishes).
    def st(node: int, steps: tuple[StepRecord, ...], text: str) -> StateRecord:
        return StateRecord("r", "proved", node, text, 1, min(node, 1), True, "open", node != 1, False, -1,
                           -1.0, steps)

    root = st(0, (StepRecord("a", -0.1, "new", "", "bad", 1, 0.1, False),
                  StepRecord("b", -2.0, "new", "", "good", 2, 0.1, False)), "root")
    bad = st(1, (StepRecord("c", -0.1, "error", "", "", -1, 0.1, False),), "bad")
    good = st(2, (StepRecord("d", -0.1, "finished", "", "", -1, 0.1, True),), "good")
    recs = [root, bad, good]
    assert replay_expansions(recs, None, 0.0, 10) == 3  # root, the dead end, then the good state
    def value(s: str) -> float:
        return 0.99 if s == "good" else 0.01

    assert replay_expansions(recs, value, 1.0, 10) == 2
    assert replay_expansions(recs, None, 0.0, 2) is None
    assert len(policy_examples(recs)) == 1  # only the root has a choice with a productive tactic


def test_resume_reuses_only_a_complete_set_of_the_same_tasks(tmp_path: Path) -> None:
    import json
    from dataclasses import asdict

    from prover.learn.iterate import Task, TaskResult, _finished

    tasks = [Task("a", "s", "theorem a : True := by", True), Task("b", "s", "theorem b : True := by", True)]
    results, traces = tmp_path / "r.jsonl", tmp_path / "t.jsonl"
    rows = [TaskResult("a", "s", 0, "proved", 1, 0.5, 3, "trivial", True),
            TaskResult("b", "s", 0, "budget_exhausted", 9, 20.0, 40, None, True)]
    results.write_text("".join(json.dumps({**asdict(r), "message": ""}) + "\n" for r in rows))
    assert _finished(tasks, results, traces) is None  # no traces: search again
    traces.write_text("")
    assert _finished(tasks, results, traces) == rows
    assert _finished(tasks[:1], results, traces) is None  # another task list
    results.write_text(json.dumps({**asdict(rows[0]), "message": ""}) + "\n")  # interrupted mid-set
    assert _finished(tasks, results, traces) is None


def test_an_uninformative_value_is_calibrated_to_the_base_rate_not_to_one_half() -> None:
    # Every state reads the same and 5 % are provable: the best calibrated answer is the rate.
    # Training balances the classes, so a temperature alone left p near 0.5 (Brier 0.25).
    rng = random.Random(2)
    recs = [StateRecord(f"u{i}", "proved", 0, "n : Nat\n⊢ n + 0 = n", 1, 0, False, "open",
                        rng.random() < 0.05, False, -1, -1.0, ()) for i in range(600)]
    _model, m = train_value(recs, TrainConfig(epochs=5, lr=0.02))
    assert m["test_states"] > 50
    assert m["learned"]["brier"] < 1.1 * m["base_rate"]["brier"]
    assert m["learned"]["ece"] < 0.05
