"""A tactic policy backed by a local `transformers` model: seq2seq (ByT5/T5, as ReProver) or causal.

The model (loaded by `prover.models.transformers_lm`) samples (or beam-searches) completions for
a prompt built from the state; each completion is cleaned into at most one tactic
(`prover.models.prompts.extract_tactic`); the distinct survivors are then re-scored by one
teacher-forced forward pass, so a candidate's `logprob` is exactly the sum of the model's token
log-probabilities (temperature 1, no top-p) of that tactic's tokens after the prompt, plus
end-of-sequence. Scores are thus comparable across decoding settings and independent of what the
cleaner cut away.

torch and transformers are imported when a policy is built, never when this module is imported.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prover.lean import ProofState
from prover.models.errors import ModelError
from prover.models.prompts import (
    DEFAULT_MAX_TACTIC_CHARS,
    PromptFormat,
    Scored,
    extract_tactic,
    prompt_format,
    rank_candidates,
)
from prover.models.transformers_lm import Decoding, LMConfig, LoadedLM, ModelKind, load_lm
from search.interfaces import TacticCandidate

if TYPE_CHECKING:
    import torch

__all__ = ["TransformersPolicy", "TransformersPolicyConfig"]


@dataclass(frozen=True)
class TransformersPolicyConfig(LMConfig):
    """Everything needed to build a `TransformersPolicy`: the model (`LMConfig`), the prompt, the
    decoding, and the cleaning.

    Raises (at construction):
        ModelError: an invalid option.
    """

    # A built-in name ("reprover", "bfs_prover", "instruct") or a template containing {state}.
    prompt_format: str = "reprover"
    # Wrap the rendered prompt in the tokenizer's chat template (instruction-tuned causal models).
    chat_template: bool = False
    # Completions generated per call; None: 2k when sampling (duplicates are common), k for beams.
    num_samples: int | None = None
    # Beam search (deterministic, num_samples beams all returned) instead of sampling.
    beam: bool = False
    max_new_tokens: int = 64
    temperature: float = 1.0
    top_p: float = 1.0
    # Longer prompts lose their beginning: the goal (after ⊢) is at the end and matters most.
    max_input_tokens: int = 2048
    max_tactic_chars: int = DEFAULT_MAX_TACTIC_CHARS
    # Count the end-of-sequence token in a tactic's score (the model saying "the tactic ends here").
    score_eos: bool = True

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.num_samples is not None and self.num_samples < 1:
            raise ModelError(f"num_samples must be positive, not {self.num_samples}")
        self.decoding  # noqa: B018 - validates the decoding options
        prompt_format(self.prompt_format)

    @property
    def decoding(self) -> Decoding:
        return Decoding(max_new_tokens=self.max_new_tokens, temperature=self.temperature, top_p=self.top_p,
                        beam=self.beam, max_input_tokens=self.max_input_tokens)


class TransformersPolicy:
    """`Policy` over a local transformers model. Build once (loading is slow), call `propose` often.

    Raises (at construction):
        ModelError: the model or tokenizer cannot be loaded, or the configuration is invalid.
    """

    def __init__(
        self,
        model: str | Path,
        *,
        gguf_file: str | None = None,
        kind: ModelKind = "auto",
        prompt_format: str = "reprover",
        chat_template: bool = False,
        num_samples: int | None = None,
        beam: bool = False,
        max_new_tokens: int = 64,
        temperature: float = 1.0,
        top_p: float = 1.0,
        device: str = "cpu",
        dtype: str | None = None,
        max_input_tokens: int = 2048,
        max_tactic_chars: int = DEFAULT_MAX_TACTIC_CHARS,
        score_eos: bool = True,
        trust_remote_code: bool = False,
    ) -> None:
        config = TransformersPolicyConfig(
            model=str(model), gguf_file=gguf_file, kind=kind, prompt_format=prompt_format,
            chat_template=chat_template, num_samples=num_samples, beam=beam,
            max_new_tokens=max_new_tokens, temperature=temperature, top_p=top_p, device=device,
            dtype=dtype, max_input_tokens=max_input_tokens, max_tactic_chars=max_tactic_chars,
            score_eos=score_eos, trust_remote_code=trust_remote_code,
        )
        self._setup(config, load_lm(config))

    @classmethod
    def from_config(cls, config: TransformersPolicyConfig) -> TransformersPolicy:
        self = cls.__new__(cls)
        self._setup(config, load_lm(config))
        return self

    @classmethod
    def from_objects(
        cls, model: Any, tokenizer: Any, config: TransformersPolicyConfig | None = None
    ) -> TransformersPolicy:
        """Wrap an already loaded model and tokenizer (e.g. one being fine-tuned).

        Raises:
            ModelError: `config.kind` is not what the model is.
        """
        config = config or TransformersPolicyConfig(model=type(model).__name__)
        self = cls.__new__(cls)
        self._setup(config, LoadedLM.wrap(model, tokenizer, config.kind))
        return self

    def _setup(self, config: TransformersPolicyConfig, lm: LoadedLM) -> None:
        self.config = config
        self.lm = lm
        self.model = lm.model
        self.tokenizer = lm.tokenizer
        self.is_seq2seq = lm.is_seq2seq
        self.format: PromptFormat = prompt_format(config.prompt_format)

    @property
    def kind(self) -> str:
        return self.lm.kind

    def prompt(self, state: ProofState | str) -> str:
        """The exact text the model reads for `state`."""
        return self.lm.prompt_text(self.format.render(state), chat_template=self.config.chat_template)

    def propose(self, state: ProofState | str, k: int) -> list[TacticCandidate]:
        """Up to `k` distinct cleaned tactics, best first; fewer (or none) if the model rambles."""
        if k <= 0:
            return []
        import torch

        prompt = self.prompt(state)
        state_text = state if isinstance(state, str) else state.pretty
        n = self.config.num_samples or (k if self.config.beam else 2 * k)
        enc = self._encode([prompt])
        if enc["input_ids"].shape[1] == 0:
            # A causal model without a BOS token has nothing to continue from.
            return []
        with torch.inference_mode():
            texts = self._generate(enc, n)
        samples: list[str] = []
        for text in texts:
            got = extract_tactic(text, echoes=(prompt, state_text), max_chars=self.config.max_tactic_chars)
            if got is not None:
                samples.append(got.tactic)
        if not samples:
            return []
        # Rank the distinct survivors by their true sequence log-probability.
        distinct = [t for t, _ in rank_candidates([Scored(t, 0.0) for t in samples], len(samples))]
        with torch.inference_mode():
            scores = self.score_tactics(prompt, distinct)
        ranked = rank_candidates([Scored(t, s) for t, s in zip(distinct, scores, strict=True)], k)
        return [TacticCandidate(t, lp) for t, lp in ranked]

    def _encode(self, prompts: list[str]) -> Any:
        return self.lm.encode(prompts, max_input_tokens=self.config.max_input_tokens,
                              chat_template=self.config.chat_template)

    def _generate(self, enc: Any, n: int) -> list[str]:
        return self.lm.generate(enc, n, self.config.decoding)

    def score_tactics(self, prompt: str, tactics: list[str]) -> list[float]:
        """Sum of the model's token log-probabilities of each tactic given the prompt.

        Call under `torch.inference_mode()` (or `no_grad`) unless gradients are wanted.

        Raises:
            ValueError: a causal model and a prompt that encodes to no tokens.
        """
        if not tactics:
            return []
        if self.is_seq2seq:
            return self._score_seq2seq(prompt, tactics)
        return self._score_causal(prompt, tactics)

    def tactic_nll(self, state: ProofState | str, tactic: str) -> torch.Tensor:
        """The differentiable negative of `score_tactics` for one tactic after `state`'s prompt:
        the loss that fine-tuning minimises, built from the same prompt and target tokens, so
        training and scoring can never disagree on what the model reads.

        Raises:
            ValueError: a causal model and a prompt that encodes to no tokens.
        """
        import torch

        enc = self._encode([self.prompt(state)])
        target = torch.tensor([self._target_ids(tactic)], device=self.model.device)
        if self.is_seq2seq:
            logits = self.model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"],
                                labels=target).logits[0]
        else:
            n = enc["input_ids"].shape[1]
            if n == 0:
                raise ValueError("cannot score a tactic after an empty prompt")
            ids = torch.cat([enc["input_ids"], target], dim=1)
            # Logits at position i predict token i + 1: the tactic's tokens are predicted from n - 1 on.
            logits = self.model(input_ids=ids).logits[0, n - 1 : -1]
        logp = torch.log_softmax(logits.float(), dim=-1)
        return -logp.gather(-1, target[0].unsqueeze(-1)).sum()

    def _target_ids(self, tactic: str) -> list[int]:
        ids = list(self.tokenizer(tactic, add_special_tokens=False)["input_ids"])
        eos = self.tokenizer.eos_token_id
        if self.config.score_eos and eos is not None:
            ids.append(eos)
        return ids

    def _score_causal(self, prompt: str, tactics: list[str]) -> list[float]:
        import torch

        device = self.model.device
        prompt_ids = self._encode([prompt])["input_ids"][0].tolist()
        if not prompt_ids:
            raise ValueError("cannot score tactics after an empty prompt")
        targets = [self._target_ids(t) for t in tactics]
        n, width = len(targets), max(len(t) for t in targets)
        # The prompt runs once; its cache is shared by every tactic (a state is usually far
        # longer than a tactic, so this is most of the cost saved).
        head = self.model(input_ids=torch.tensor([prompt_ids], device=device), use_cache=True)
        first_logp = torch.log_softmax(head.logits[0, -1].float(), dim=-1)
        cache = head.past_key_values
        cache.batch_repeat_interleave(n)
        # Right padding: positions continue the prompt's and the mask hides the tail.
        ids = torch.full((n, width), self.tokenizer.pad_token_id, dtype=torch.long)
        mask = torch.zeros((n, len(prompt_ids) + width), dtype=torch.long)
        mask[:, : len(prompt_ids)] = 1
        for row, target in enumerate(targets):
            ids[row, : len(target)] = torch.tensor(target)
            mask[row, len(prompt_ids) : len(prompt_ids) + len(target)] = 1
        ids, mask = ids.to(device), mask.to(device)
        logits = self.model(input_ids=ids, attention_mask=mask, past_key_values=cache, use_cache=True).logits
        # Logits at tactic position i predict token i + 1; the first token comes from the prompt's end.
        logp = torch.log_softmax(logits[:, :-1].float(), dim=-1)
        rest = logp.gather(-1, ids[:, 1:].unsqueeze(-1)).squeeze(-1)
        scores = []
        for row, target in enumerate(targets):
            total = first_logp[target[0]] + rest[row, : len(target) - 1].sum()
            scores.append(float(total))
        return scores

    def _score_seq2seq(self, prompt: str, tactics: list[str]) -> list[float]:
        import torch

        enc = self._encode([prompt])
        # Encode the state once and share it across the tactics.
        encoded = self.model.get_encoder()(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"])
        n = len(tactics)
        hidden = encoded.last_hidden_state.expand(n, -1, -1)
        attention = enc["attention_mask"].expand(n, -1)
        targets = [self._target_ids(t) for t in tactics]
        width = max(len(t) for t in targets)
        labels = torch.full((n, width), -100, dtype=torch.long)
        for row, target in enumerate(targets):
            labels[row, : len(target)] = torch.tensor(target)
        labels = labels.to(self.model.device)
        out = self.model(encoder_outputs=(hidden,), attention_mask=attention, labels=labels)
        logp = torch.log_softmax(out.logits.float(), dim=-1)
        keep = labels != -100
        token_logp = logp.gather(-1, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1) * keep
        return [float(s) for s in token_logp.sum(dim=-1)]

    def with_options(self, **changes: Any) -> TransformersPolicy:
        """The same loaded model under other decoding options (num_samples, beam, temperature...)."""
        config = replace(self.config, **changes)
        other = type(self).__new__(type(self))
        other._setup(config, self.lm)
        return other

