"""Fine-tuning a language model into a tactic generator (`prover.learn.tactic_lm`).

The model here is a real causal LM, just tiny: a randomly initialised two-layer Llama over ByT5's
byte vocabulary, built in the test (no download). Training it is real training; it stands in for
SmolLM2-135M only in size. The SmolLM2 path is the last test, skipped when the GGUF is absent.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from prover.learn.config import GeneratorTrainConfig
from prover.learn.tactic_lm import finetune_generator, generator_examples
from prover.learn.train import split_of
from search.traces import StateRecord, StepRecord

STATE = "a b : Nat\n⊢ a + b = b + a"
SNIPPET = "theorem comm_lm (a b : Nat) : a + b = b + a := by"


@pytest.fixture(scope="module")
def tiny_llama(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch
    from transformers import ByT5Tokenizer, LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    tokenizer = ByT5Tokenizer()
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=4, pad_token_id=0, eos_token_id=1,
                         bos_token_id=None, max_position_embeddings=512, tie_word_embeddings=False)
    path = tmp_path_factory.mktemp("tiny-llama")
    LlamaForCausalLM(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def _record(problem: str, state: str, tactic: str, outcome: str = "finished", on_proof: bool = True,
            ) -> StateRecord:
    step = StepRecord(tactic, -1.0, outcome, "", "", -1, 0.1, on_proof)
    return StateRecord(problem, "proved", 0, state, 1, 0, True, "proved", True, True, 1, -1.0, (step,))


def _train_ids(n: int) -> list[str]:
    return [p for p in (f"lm{i}" for i in range(100)) if split_of(p) == "train"][:n]


def _greedy(model_dir: Path):
    from search.api import make_policy

    return make_policy("transformers", model=str(model_dir),
                       options={"beam": True, "num_samples": 2, "max_new_tokens": 8})


def test_examples_are_the_proof_steps_without_duplicates() -> None:
    recs = [_record("p", STATE, "omega"), _record("q", STATE, "omega"),
            _record("p", "⊢ True", "simp", outcome="error", on_proof=False),
            _record("p", "⊢ 1 = 1", "rfl", outcome="new", on_proof=True)]
    got = [(e.state, e.tactic) for e in generator_examples(recs)]
    assert got == [(STATE, "omega"), ("⊢ 1 = 1", "rfl")]


def test_tactic_nll_is_the_negated_score_the_search_ranks_by(tiny_llama: Path) -> None:
    import torch

    policy = _greedy(tiny_llama)
    with torch.inference_mode():
        nll = float(policy.tactic_nll(STATE, "omega"))
        (score,) = policy.score_tactics(policy.prompt(STATE), ["omega"])
    assert nll == pytest.approx(-score, rel=1e-4)


def test_fine_tuned_generator_is_loaded_by_the_search_and_proves(tiny_llama: Path, lean_server,
                                                                 tmp_path: Path) -> None:
    from search.best_first import BestFirstSearch, SearchConfig

    base = _greedy(tiny_llama).propose(STATE, 1)
    assert not base or base[0].tactic != "omega"  # the untrained model does not know it
    recs = [_record(p, STATE, "omega") for p in _train_ids(4)]
    out = tmp_path / "generator"
    metrics = finetune_generator(recs, tiny_llama, out,
                                 GeneratorTrainConfig(steps=60, batch_size=2, lr=1e-2, max_new_tokens=8))
    assert metrics["last_losses"][-1] < 0.1 * metrics["first_losses"][0]
    assert (out / "generator.json").is_file() and (out / "config.json").is_file()
    policy = _greedy(out)
    assert policy.propose(STATE, 1)[0].tactic == "omega"
    result = BestFirstSearch(lean_server, policy, None, SearchConfig(k=2, max_expansions=3, wall_time=120)
                             ).search(SNIPPET)
    assert result.proved, result.message
    assert list(result.tactics) == ["omega"]


def test_held_out_problems_are_measured_not_trained_on(tiny_llama: Path, tmp_path: Path) -> None:
    test_ids = [p for p in (f"lm{i}" for i in range(200)) if split_of(p) == "test"][:2]
    recs = [_record(p, STATE, "omega") for p in _train_ids(3)]
    recs += [_record(t, "⊢ 2 = 2", "rfl") for t in test_ids]
    m = finetune_generator(recs, tiny_llama, tmp_path / "g", GeneratorTrainConfig(steps=2, batch_size=2))
    assert (m["train_examples"], m["heldout_examples"]) == (1, 1)
    assert m["heldout_before"]["examples"] == 1 and m["heldout_after"]["examples"] == 1


def test_no_proof_steps_is_a_clear_error(tiny_llama: Path, tmp_path: Path) -> None:
    recs = [_record("p", STATE, "simp", outcome="error", on_proof=False)]
    with pytest.raises(ValueError, match="no proof steps"):
        finetune_generator(recs, tiny_llama, tmp_path / "g", GeneratorTrainConfig(steps=1))


def test_smollm2_fine_tunes_a_step_and_saves_a_loadable_checkpoint(smollm2_gguf: Path,
                                                                   tmp_path: Path) -> None:
    recs = [_record(p, STATE, "omega") for p in _train_ids(2)]
    out = tmp_path / "smollm2-gen"
    m = finetune_generator(recs, smollm2_gguf, out,
                           GeneratorTrainConfig(steps=2, batch_size=1, max_input_tokens=64))
    assert m["last_losses"][-1] < m["first_losses"][0]  # two steps on one example: the loss falls
    assert _greedy(out).kind == "causal"
