"""Fine-tuning a language model (SmolLM2-135M by default) into a tactic generator on search traces.

Examples are the steps that proved something: every tactic of a verified proof (`on_proof`) and
every tactic that closed all goals of the state it was tried on (`finished`), each as (state,
tactic), deduplicated. The loss is the policy's own `TransformersPolicy.tactic_nll`, the negative
of the score the search ranks candidates by, so the checkpoint is trained on exactly the prompt
the search will show it. Problems are split by `train.split_of` (a hash of the problem id): the
"test" problems' examples are held out and measured before and after training (mean NLL per
example and greedy exact match), so a run says whether the fine-tune generalised, not only
whether the loss fell.

The output is a `save_pretrained` directory (model + tokenizer) plus `generator.json` (config,
base model, example counts, losses, held-out metrics); `--policy transformers --model DIR`
loads it like any other model.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from prover.learn.config import GeneratorTrainConfig
from prover.learn.train import split_of
from search.traces import StateRecord


@dataclass(frozen=True)
class GeneratorExample:
    problem: str
    state: str
    tactic: str


def generator_examples(records: Sequence[StateRecord]) -> list[GeneratorExample]:
    """(state, tactic) pairs that proved something, in trace order, without duplicates."""
    seen: set[tuple[str, str]] = set()
    out = []
    for r in records:
        for s in r.steps:
            if (s.on_proof or s.outcome == "finished") and (r.state, s.tactic) not in seen:
                seen.add((r.state, s.tactic))
                out.append(GeneratorExample(r.problem, r.state, s.tactic))
    return out


def _evaluate(policy: Any, examples: Sequence[GeneratorExample]) -> dict[str, float]:
    """Mean NLL of the held-out tactics and how often greedy decoding produces exactly one."""
    import torch

    from prover.models.prompts import tactic_key

    if not examples:
        return {"examples": 0, "mean_nll": math.nan, "greedy_exact": math.nan}
    greedy = policy.with_options(beam=True, num_samples=1)
    nll, exact = 0.0, 0
    with torch.inference_mode():
        for ex in examples:
            nll += float(policy.tactic_nll(ex.state, ex.tactic))
            got = greedy.propose(ex.state, 1)
            exact += bool(got) and tactic_key(got[0].tactic) == tactic_key(ex.tactic)
    return {"examples": len(examples), "mean_nll": nll / len(examples), "greedy_exact": exact / len(examples)}


def finetune_generator(records: Sequence[StateRecord], base: str | Path, out: Path,
                       cfg: GeneratorTrainConfig | None = None, *, progress: bool = False) -> dict[str, Any]:
    """Fine-tune `base` (a directory, hub id or `.gguf` file) on `records`; save it to `out`.

    Returns the metrics also written to `out/generator.json`.

    Raises:
        ValueError: the traces hold no training example.
        prover.models.errors.ModelError: `base` cannot be loaded.
    """
    import torch
    from tqdm import tqdm

    from search.policies.transformers_policy import TransformersPolicy

    cfg = cfg or GeneratorTrainConfig()
    examples = generator_examples(records)
    train = [e for e in examples if split_of(e.problem) != "test"]
    held = [e for e in examples if split_of(e.problem) == "test"]
    if not train:
        raise ValueError("no proof steps in the traces to train a generator on")
    rng = random.Random(cfg.seed)
    torch.manual_seed(cfg.seed)
    eval_set = rng.sample(held, min(len(held), cfg.max_eval_examples))
    policy = TransformersPolicy(base, prompt_format=cfg.prompt_format, max_input_tokens=cfg.max_input_tokens,
                                max_new_tokens=cfg.max_new_tokens)
    before = _evaluate(policy, eval_set)
    t0 = time.monotonic()
    model = policy.model
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=cfg.lr,
                            weight_decay=cfg.weight_decay)
    losses: list[float] = []
    model.train()
    for _ in tqdm(range(cfg.steps), desc="generator", disable=not progress):
        batch = [train[rng.randrange(len(train))] for _ in range(cfg.batch_size)]
        loss = torch.stack([policy.tactic_nll(e.state, e.tactic) for e in batch]).mean()
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.max_grad_norm)
        opt.step()
        losses.append(float(loss))
    model.eval()
    train_seconds = time.monotonic() - t0
    after = _evaluate(policy, eval_set)
    out.mkdir(parents=True, exist_ok=True)
    if getattr(model, "hf_quantizer", None) is not None:
        # A GGUF checkpoint is de-quantised to float32 when loaded: what is saved is a plain model.
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
    model.save_pretrained(out)
    policy.tokenizer.save_pretrained(out)
    metrics = {"base": str(base), "config": asdict(cfg), "examples": len(examples),
               "train_examples": len(train),
               "heldout_examples": len(held), "heldout_before": before, "heldout_after": after,
               "first_losses": losses[:10], "last_losses": losses[-10:], "seconds": train_seconds}
    (out / "generator.json").write_text(json.dumps(metrics, indent=2), encoding="utf-8")
    return metrics
