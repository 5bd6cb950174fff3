"""The language models the autoformalizer asks: one interface, two backends.

`LLM.generate(prompt, n)` returns up to `n` raw answers to one prompt (untrusted text; the
pipeline cleans and checks it). The backends are the shared model clients of `prover.models`
(the tactic policies use the same ones), so there is one HTTP client and one transformers loader
in the project:

* `TransformersLLM`: a local causal LM (`prover.models.transformers_lm`), the tokenizer's
  chat template when it has one, sampling, `n` candidates in one `generate` call.
* `OpenAILLM`: an OpenAI-compatible chat endpoint (`prover.models.openai_client`): base URL,
  model, key from an environment variable, retries with backoff, timeouts, and servers that
  ignore `n` (asked again until `n` answers or the request budget is spent). Point it at a served
  formalizer, e.g. Kimina-Autoformalizer-7B behind vLLM or Ollama.

Models are loaded when a backend is built, never at import.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from prover.models.errors import ModelError

__all__ = ["LLM", "LLMError", "OpenAILLM", "OpenAILLMConfig", "TransformersLLM", "TransformersLLMConfig",
           "make_llm"]


class LLMError(ModelError):
    """A formalizer's model backend cannot work as configured (bad path, URL, key, unknown
    backend). Bad output never raises."""


@runtime_checkable
class LLM(Protocol):
    """Answers a prompt `n` times (fewer when a server fails); each answer is raw text."""

    @property
    def name(self) -> str: ...

    def generate(self, prompt: str, n: int) -> list[str]: ...


@dataclass(frozen=True)
class TransformersLLMConfig:
    """A local causal LM. `model`: a directory, a hub id, or a `.gguf` file."""

    model: str
    gguf_file: str | None = None
    max_new_tokens: int = 256
    temperature: float = 0.8
    top_p: float = 0.95
    device: str = "cpu"
    dtype: str | None = None
    max_input_tokens: int = 2048
    # None: the tokenizer's chat template when it has one.
    chat_template: bool | None = None


class TransformersLLM:
    """`LLM` over a local transformers causal model (sampling)."""

    def __init__(self, config: TransformersLLMConfig) -> None:
        from prover.models.transformers_lm import Decoding, LMConfig, load_lm

        try:
            self._decoding = Decoding(max_new_tokens=config.max_new_tokens, temperature=config.temperature,
                                      top_p=config.top_p, max_input_tokens=config.max_input_tokens)
            self._lm = load_lm(LMConfig(model=config.model, gguf_file=config.gguf_file, kind="causal",
                                        device=config.device, dtype=config.dtype))
        except ModelError as e:
            raise LLMError(str(e)) from e
        self._chat = self._lm.has_chat_template if config.chat_template is None else config.chat_template
        self.config = config

    @property
    def name(self) -> str:
        from pathlib import Path

        return f"transformers:{Path(self.config.gguf_file or self.config.model).name}"

    @property
    def uses_chat_template(self) -> bool:
        return self._chat

    def generate(self, prompt: str, n: int) -> list[str]:
        return self._lm.sample_texts(prompt, n, self._decoding, chat_template=self._chat)


@dataclass(frozen=True)
class OpenAILLMConfig:
    """An OpenAI-compatible chat endpoint (vLLM, Ollama, llama.cpp, a hosted API)."""

    base_url: str
    model: str
    api_key_env: str | None = "OPENAI_API_KEY"  # the key is read from this variable, never stored
    system_prompt: str | None = None
    temperature: float = 0.8
    top_p: float = 0.95
    max_tokens: int = 512
    timeout: float = 120.0  # seconds to connect and for each read
    retries: int = 3  # further tries after a connection error, timeout, 429 or 5xx
    backoff: float = 0.5  # seconds before the first retry, doubled each time
    n: int | None = None  # answers asked per request; None: all still missing (servers may ignore it)
    max_requests: int | None = None  # None: 2n + 2


class OpenAILLM:
    """`LLM` over an OpenAI-compatible `/chat/completions` endpoint."""

    def __init__(self, config: OpenAILLMConfig) -> None:
        from prover.models.openai_client import OpenAIClient, OpenAIClientConfig

        try:
            self._client = OpenAIClient(OpenAIClientConfig(
                base_url=config.base_url, model=config.model, api_key_env=config.api_key_env,
                endpoint="chat", system_prompt=config.system_prompt,
                n=config.n, temperature=config.temperature, top_p=config.top_p,
                max_tokens=config.max_tokens, logprobs=False, timeout=config.timeout,
                retries=config.retries, backoff=config.backoff, max_requests=config.max_requests))
        except ModelError as e:
            raise LLMError(str(e)) from e
        self.config = config

    @property
    def name(self) -> str:
        return f"openai:{self.config.model}@{self._client.base_url}"

    @property
    def requests_sent(self) -> int:
        return self._client.requests_sent

    def generate(self, prompt: str, n: int) -> list[str]:
        try:
            return self._client.complete_texts(prompt, n)
        except ModelError as e:
            raise LLMError(str(e)) from e


def make_llm(backend: str, model: str, **options: Any) -> LLM:
    """A backend by name: "transformers" (a local model) or "http" (`base_url` required).

    Raises:
        LLMError: an unknown backend, a missing option, or a model that cannot be loaded.
    """
    if backend == "transformers":
        return TransformersLLM(TransformersLLMConfig(model=model, **options))
    if backend == "http":
        if "base_url" not in options:
            raise LLMError("the http backend needs base_url")
        return OpenAILLM(OpenAILLMConfig(model=model, **options))
    raise LLMError(f"unknown LLM backend {backend!r}; choose transformers or http")
