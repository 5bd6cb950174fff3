"""Loading a local `transformers` language model (seq2seq or causal) and sampling text from it.

`load_lm` turns a directory, hub id or `.gguf` file into a `LoadedLM` (model, tokenizer, and
whether it is an encoder-decoder), with every loading failure as `ModelError`. `LoadedLM` encodes
prompts (optionally through the tokenizer's chat template), decodes completions by sampling or
beam search (`Decoding`), and returns the raw, untrusted texts: what they mean is the caller's
business (a tactic policy cleans and scores them, the autoformalizer extracts statements).

torch and transformers are imported when a model is loaded or used, never when this module is
imported.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from prover.models.errors import ModelError

if TYPE_CHECKING:
    import torch

__all__ = ["Decoding", "LMConfig", "LoadedLM", "ModelKind", "load_lm"]

log = logging.getLogger(__name__)

ModelKind = Literal["auto", "causal", "seq2seq"]


@dataclass(frozen=True)
class LMConfig:
    """Which model to load and where it runs.

    `model` is a local directory, a hub id, or a `.gguf` file (then `gguf_file` is implied).

    Raises (at construction):
        ModelError: an unknown `kind`.
    """

    model: str
    gguf_file: str | None = None
    # "auto": what the checkpoint's config says (`is_encoder_decoder`).
    kind: ModelKind = "auto"
    device: str = "cpu"
    # torch dtype name ("float32", "bfloat16", ...); None: float32 on CPU, the checkpoint's elsewhere.
    dtype: str | None = None
    trust_remote_code: bool = False

    def __post_init__(self) -> None:
        if self.kind not in ("auto", "causal", "seq2seq"):
            raise ModelError(f"kind must be auto, causal or seq2seq, not {self.kind!r}")


@dataclass(frozen=True)
class Decoding:
    """How completions are decoded: sampling (temperature, top-p) or beam search.

    Raises (at construction):
        ModelError: a non-positive length, or sampling at temperature 0, or top_p outside (0, 1].
    """

    max_new_tokens: int = 64
    temperature: float = 1.0
    top_p: float = 1.0
    # Beam search (deterministic, n beams all returned) instead of sampling.
    beam: bool = False
    # Longer prompts lose their beginning (for a proof state the goal, at the end, matters most).
    max_input_tokens: int = 2048

    def __post_init__(self) -> None:
        if self.max_new_tokens < 1 or self.max_input_tokens < 1:
            raise ModelError("max_new_tokens and max_input_tokens must be positive")
        if not self.beam and self.temperature <= 0:
            raise ModelError("sampling needs temperature > 0 (use beam=True for deterministic output)")
        if not 0 < self.top_p <= 1:
            raise ModelError(f"top_p must be in (0, 1], not {self.top_p}")


@dataclass(frozen=True)
class LoadedLM:
    """A loaded model and its tokenizer. Build with `load_lm` or `LoadedLM.wrap`, which set the
    tokenizer up for batched generation; the objects stay mutable (a trainer may update them)."""

    model: Any
    tokenizer: Any
    is_seq2seq: bool

    @classmethod
    def wrap(cls, model: Any, tokenizer: Any, kind: ModelKind = "auto") -> LoadedLM:
        """An already loaded model and tokenizer (e.g. one being fine-tuned).

        Raises:
            ModelError: `kind` is not what the model is.
        """
        is_seq2seq = bool(getattr(model.config, "is_encoder_decoder", False))
        if kind != "auto" and (kind == "seq2seq") != is_seq2seq:
            actual = "seq2seq" if is_seq2seq else "causal"
            raise ModelError(f"kind={kind!r} but the model is {actual}")
        return cls._prepared(model, tokenizer, is_seq2seq)

    @classmethod
    def _prepared(cls, model: Any, tokenizer: Any, is_seq2seq: bool) -> LoadedLM:
        # Causal models continue the prompt, so batches pad on the left; the prompt's start is
        # the part to lose when it is too long.
        tokenizer.truncation_side = "left"
        if not is_seq2seq:
            tokenizer.padding_side = "left"
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token
        model.eval()
        return cls(model, tokenizer, is_seq2seq)

    @property
    def kind(self) -> str:
        return "seq2seq" if self.is_seq2seq else "causal"

    @property
    def has_chat_template(self) -> bool:
        return not self.is_seq2seq and bool(getattr(self.tokenizer, "chat_template", None))

    def prompt_text(self, text: str, *, chat_template: bool) -> str:
        """The exact text the model reads: `text`, or (causal models, `chat_template`) `text` as
        one user message in the tokenizer's chat template, ready for the assistant's answer."""
        if chat_template and not self.is_seq2seq:
            text = self.tokenizer.apply_chat_template(
                [{"role": "user", "content": text}], tokenize=False, add_generation_prompt=True
            )
        return text

    def encode(self, prompts: list[str], *, max_input_tokens: int, chat_template: bool) -> Any:
        """Token ids and attention mask of `prompt_text` outputs, truncated on the left, on the
        model's device."""
        # A chat template already carries the special tokens it needs.
        special = not (chat_template and not self.is_seq2seq)
        enc = self.tokenizer(
            prompts, return_tensors="pt", padding=True, truncation=True,
            max_length=max_input_tokens, add_special_tokens=special,
        )
        return enc.to(self.model.device)

    def generate(self, enc: Any, n: int, decoding: Decoding) -> list[str]:
        """`n` decoded completions of the encoded prompt, without the prompt and special tokens.

        Call under `torch.inference_mode()` unless gradients are wanted.
        """
        kwargs: dict[str, Any] = {
            "max_new_tokens": decoding.max_new_tokens,
            "num_return_sequences": n,
            "pad_token_id": self.tokenizer.pad_token_id,
        }
        if decoding.beam:
            # early_stopping=True ends the search once n short hypotheses have finished, even
            # when a live beam is far likelier (a fine-tuned "omega" lost to "o" that way).
            kwargs.update(do_sample=False, num_beams=n, early_stopping=False)
        else:
            kwargs.update(do_sample=True, num_beams=1, temperature=decoding.temperature,
                          top_p=decoding.top_p, top_k=0)
        out = self.model.generate(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"], **kwargs)
        if not self.is_seq2seq:
            out = out[:, enc["input_ids"].shape[1]:]
        return list(self.tokenizer.batch_decode(out, skip_special_tokens=True))

    def sample_texts(self, text: str, n: int, decoding: Decoding, *, chat_template: bool) -> list[str]:
        """`n` raw completions of `text` (through the chat template if asked); none when the
        prompt encodes to no tokens (a causal model without a BOS token has nothing to continue)."""
        if n <= 0:
            return []
        import torch

        enc = self.encode([self.prompt_text(text, chat_template=chat_template)],
                          max_input_tokens=decoding.max_input_tokens, chat_template=chat_template)
        if enc["input_ids"].shape[1] == 0:
            return []
        with torch.inference_mode():
            return self.generate(enc, n, decoding)


def _split_gguf(model: str, gguf_file: str | None) -> tuple[str, str | None]:
    """A path to a .gguf file becomes (its directory, its name), as transformers wants."""
    if gguf_file is None and model.endswith(".gguf") and Path(model).is_file():
        path = Path(model)
        return str(path.parent), path.name
    return model, gguf_file


def _torch_dtype(name: str | None, device: str) -> torch.dtype | str:
    import torch

    if name is None:
        # Half precision on CPU is slow and imprecise; elsewhere trust the checkpoint.
        return torch.float32 if device == "cpu" else "auto"
    if name == "auto":
        return "auto"
    dtype = getattr(torch, name, None)
    if not isinstance(dtype, torch.dtype):
        raise ModelError(f"unknown torch dtype {name!r}")
    return dtype


def load_lm(config: LMConfig) -> LoadedLM:
    """The model and tokenizer `config` names, on its device, in eval mode.

    Raises:
        ModelError: the model or tokenizer cannot be loaded, or the dtype is unknown.
    """
    from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForSeq2SeqLM, AutoTokenizer

    source, gguf = _split_gguf(config.model, config.gguf_file)
    common: dict[str, Any] = {"trust_remote_code": config.trust_remote_code}
    if gguf is not None:
        common["gguf_file"] = gguf
    try:
        model_config = AutoConfig.from_pretrained(source, **common)
        is_seq2seq = (
            bool(getattr(model_config, "is_encoder_decoder", False))
            if config.kind == "auto"
            else config.kind == "seq2seq"
        )
        tokenizer = AutoTokenizer.from_pretrained(source, **common)
        auto = AutoModelForSeq2SeqLM if is_seq2seq else AutoModelForCausalLM
        # Passing the parsed config spares a second read of the checkpoint's metadata
        # (slow for GGUF files, which are parsed in full).
        model = auto.from_pretrained(
            source, config=model_config, dtype=_torch_dtype(config.dtype, config.device), **common
        )
    except (OSError, ValueError, KeyError, RuntimeError) as e:
        raise ModelError(f"cannot load model {config.model!r}: {e}") from e
    model.to(config.device)
    log.info("loaded %s model %s", "seq2seq" if is_seq2seq else "causal", config.model)
    return LoadedLM._prepared(model, tokenizer, is_seq2seq)
