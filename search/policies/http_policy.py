"""A tactic policy that asks an OpenAI-compatible HTTP server (vLLM, Ollama, llama.cpp, ...).

Typical use: a served BFS-Prover-V2-7B behind vLLM, `OpenAIPolicy("http://host:8000/v1",
"BFS-Prover-V2-7B", prompt_format="bfs_prover")`.

The transport (retries, servers that ignore `n`, log-probability negotiation, configuration
faults as `ModelError`) is `prover.models.openai_client.OpenAIClient`; this policy renders the
state with its prompt format, asks the client until it has `k` distinct cleaned tactics or has
spent `max_requests`, and ranks them. A candidate's `logprob` is the sum of the log-probabilities
of the generated tokens up to the end of the kept tactic (text the cleaner drops after it does not
count); where the server gives none, tactics are scored by their sampling frequency,
log(count / samples) (`prover.models.prompts.rank_candidates`). When the server fails after having
answered, `propose` returns what it has (maybe nothing) and logs a warning.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from prover.lean import ProofState
from prover.models.openai_client import Choice, Endpoint, OpenAIClient, OpenAIClientConfig, tactic_logprob
from prover.models.prompts import (
    DEFAULT_MAX_TACTIC_CHARS,
    PromptFormat,
    Scored,
    extract_tactic,
    prompt_format,
    rank_candidates,
    tactic_key,
)
from search.interfaces import TacticCandidate

__all__ = ["OpenAIPolicy", "OpenAIPolicyConfig"]


@dataclass(frozen=True)
class OpenAIPolicyConfig(OpenAIClientConfig):
    """Everything needed to build an `OpenAIPolicy`: the client's configuration plus how states
    become prompts and how long a kept tactic may be. `max_requests` (None: 2k + 2) bounds the
    requests of one `propose` call."""

    # A built-in name ("reprover", "bfs_prover", "instruct") or a template containing {state}.
    prompt_format: str = "bfs_prover"
    max_tactic_chars: int = DEFAULT_MAX_TACTIC_CHARS

    def __post_init__(self) -> None:
        super().__post_init__()
        prompt_format(self.prompt_format)


class OpenAIPolicy:
    """`Policy` over an OpenAI-compatible `/completions` or `/chat/completions` endpoint."""

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key_env: str | None = "OPENAI_API_KEY",
        prompt_format: str = "bfs_prover",
        endpoint: Endpoint = "completions",
        system_prompt: str | None = None,
        n: int | None = None,
        temperature: float = 1.0,
        top_p: float = 1.0,
        max_tokens: int = 64,
        stop: tuple[str, ...] = (),
        logprobs: bool = True,
        timeout: float = 60.0,
        retries: int = 3,
        backoff: float = 0.5,
        max_requests: int | None = None,
        max_tactic_chars: int = DEFAULT_MAX_TACTIC_CHARS,
        extra_body: Mapping[str, Any] | None = None,
    ) -> None:
        self._setup(OpenAIPolicyConfig(
            base_url=base_url, model=model, api_key_env=api_key_env, prompt_format=prompt_format,
            endpoint=endpoint, system_prompt=system_prompt, n=n, temperature=temperature, top_p=top_p,
            max_tokens=max_tokens, stop=tuple(stop), logprobs=logprobs, timeout=timeout, retries=retries,
            backoff=backoff, max_requests=max_requests, max_tactic_chars=max_tactic_chars,
            extra_body=dict(extra_body or {}),
        ))

    @classmethod
    def from_config(cls, config: OpenAIPolicyConfig) -> OpenAIPolicy:
        self = cls.__new__(cls)
        self._setup(config)
        return self

    def _setup(self, config: OpenAIPolicyConfig) -> None:
        self.config = config
        self.format: PromptFormat = prompt_format(config.prompt_format)
        self.client = OpenAIClient(config)

    @property
    def requests_sent(self) -> int:
        return self.client.requests_sent

    def propose(self, state: ProofState | str, k: int) -> list[TacticCandidate]:
        """Up to `k` distinct cleaned tactics, best first; fewer (or none) if the server fails.

        Raises:
            ModelError: the key is rejected, the path or model does not exist, or the server has
                never answered this client.
        """
        if k <= 0:
            return []
        prompt = self.format.render(state)
        echoes = (prompt, state if isinstance(state, str) else state.pretty)
        samples: list[Scored] = []
        distinct: set[str] = set()
        for choices in self.client.batches(prompt, lambda: k - len(distinct)):
            for choice in choices:
                scored = self._clean(choice, echoes)
                if scored is not None:
                    samples.append(scored)
                    distinct.add(tactic_key(scored.tactic))
        return [TacticCandidate(t, lp) for t, lp in rank_candidates(samples, k)]

    def _clean(self, choice: Choice, echoes: tuple[str, ...]) -> Scored | None:
        got = extract_tactic(choice.text, echoes=echoes, max_chars=self.config.max_tactic_chars)
        if got is None:
            return None
        return Scored(got.tactic, tactic_logprob(choice.tokens, choice.text, got.end))

    def check(self) -> list[str]:
        """The model ids the server lists at `/models` (`OpenAIClient.check`).

        Raises:
            ModelError: unreachable after retries, key rejected, or the endpoint is missing.
        """
        return self.client.check()
