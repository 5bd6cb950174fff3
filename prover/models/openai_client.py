"""A client of OpenAI-compatible HTTP servers (vLLM, Ollama, llama.cpp, hosted APIs): the transport.

It sends one prompt (as a legacy completion or as a chat message), returns the raw choices with
their token log-probabilities, and copes with how servers differ and fail:
- Some ignore `n` (llama.cpp returns one choice per request): `batches` keeps asking, for as many
  as the caller still misses, until it has enough or has spent `max_requests`.
- Token log-probabilities are requested when configured; a server that refuses the field (400 or
  422) is asked again without it, and the refusal is remembered for later requests.
- Connection failures, timeouts, 429 and 5xx are retried with exponential backoff (a Retry-After
  header is honoured up to a cap); when retries run out, `complete` raises `ServerUnavailable`.
  Other 4xx answers raise `RequestRejected` without a retry. Malformed replies yield no choices.
- `ModelError` is raised only for what retrying cannot fix: a malformed URL, 401/403 (key),
  404 (wrong path or model), or a server that has never once answered this client.

What the text means (a tactic, a formal statement) is the caller's business. Uses only the
standard library (urllib), so it adds no dependency.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http.client import HTTPException
from typing import Any, Literal

from prover.models.errors import ModelError

__all__ = [
    "Choice", "Endpoint", "OpenAIClient", "OpenAIClientConfig", "RequestRejected", "ServerUnavailable",
    "TokenLogprob", "normalise_base_url", "tactic_logprob",
]

log = logging.getLogger(__name__)

Endpoint = Literal["completions", "chat"]

_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
# Retry-After values above this are not honoured in full: a search cannot wait minutes.
_MAX_RETRY_WAIT = 30.0


@dataclass(frozen=True)
class OpenAIClientConfig:
    """Where the server is and how to ask it.

    Raises (at construction):
        ModelError: a malformed URL, an unknown endpoint, or a non-positive limit.
    """

    # Server root or its API prefix: "http://127.0.0.1:8000" becomes ".../v1"; a URL with a path
    # (".../v1", "https://openrouter.ai/api/v1") is used as given.
    base_url: str
    model: str
    # Environment variable holding the API key (sent as a Bearer token); unset: no key sent.
    api_key_env: str | None = "OPENAI_API_KEY"
    # "completions": the prompt as is; "chat": sent as one user message (chat models).
    endpoint: Endpoint = "completions"
    system_prompt: str | None = None
    # Completions asked for per request; None: as many as are still missing.
    n: int | None = None
    temperature: float = 1.0
    top_p: float = 1.0
    max_tokens: int = 64
    stop: tuple[str, ...] = ()
    logprobs: bool = True
    # Seconds for connecting and for each read of one request.
    timeout: float = 60.0
    # Further tries of one request after a connection error, timeout, 429 or 5xx.
    retries: int = 3
    # Seconds before the first retry, doubled for each next one.
    backoff: float = 0.5
    # Requests per `batches` call; None: 2n + 2 for n wanted (room for duplicates and garbage).
    max_requests: int | None = None
    # Merged into every request body (e.g. {"top_k": 20} for vLLM).
    extra_body: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.endpoint not in ("completions", "chat"):
            raise ModelError(f"endpoint must be 'completions' or 'chat', not {self.endpoint!r}")
        if self.timeout <= 0 or self.retries < 0 or self.backoff < 0 or self.max_tokens < 1:
            raise ModelError("timeout and max_tokens must be positive, retries and backoff non-negative")
        if self.n is not None and self.n < 1:
            raise ModelError(f"n must be positive, not {self.n}")
        if self.max_requests is not None and self.max_requests < 1:
            raise ModelError(f"max_requests must be positive, not {self.max_requests}")
        normalise_base_url(self.base_url)


def normalise_base_url(url: str) -> str:
    """The API prefix requests go under, without a trailing slash.

    Raises:
        ModelError: not an http(s) URL with a host.
    """
    parts = urllib.parse.urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ModelError(f"base_url must be an http(s) URL with a host, not {url!r}")
    try:
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError as e:
        raise ModelError(f"bad port in base_url {url!r}") from e
    path = parts.path.rstrip("/")
    if not path:
        path = "/v1"
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, "", ""))


class ServerUnavailable(Exception):
    """A request failed in a way worth retrying (connection, timeout, 429, 5xx), and the retries
    ran out; the server has answered this client before, so the configuration is not at fault."""

    def __init__(self, message: str, retry_after: float = 0.0) -> None:
        super().__init__(message)
        # Seconds the server asked the client to wait (Retry-After), 0 when it did not say.
        self.retry_after = retry_after


class RequestRejected(Exception):
    """The server refused this one request (a 4xx other than 401/403/404/429); not retried."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"HTTP {status}: {body[:200]}")
        self.status = status


@dataclass(frozen=True)
class TokenLogprob:
    """One generated token as a server reports it."""

    token: str
    logprob: float | None
    # Character offset of the token in the text (legacy completions' `text_offset`), if given.
    offset: int | None = None
    # Length of the token's UTF-8 bytes (chat's `bytes`), if given.
    nbytes: int | None = None


@dataclass(frozen=True)
class Choice:
    """One completion: its raw (untrusted) text and, when the server sent them, its tokens."""

    text: str
    # The generated tokens in order; None when the server sent no log-probabilities.
    tokens: tuple[TokenLogprob, ...] | None


class OpenAIClient:
    """Completions of a prompt from one OpenAI-compatible server and model.

    Not per-search state: the client remembers only whether the server has ever answered and
    whether it accepts requests for log-probabilities, and counts the requests it sent.
    """

    def __init__(self, config: OpenAIClientConfig) -> None:
        self.config = config
        self.base_url = normalise_base_url(config.base_url)
        host = urllib.parse.urlsplit(self.base_url).hostname or ""
        # A proxy from the environment must not intercept a server on this machine.
        handlers = [urllib.request.ProxyHandler({})] if host in _LOOPBACK else []
        self._opener = urllib.request.build_opener(*handlers)
        self._reached = False
        self._logprobs_ok = config.logprobs
        self.requests_sent = 0

    # ------------------------------------------------------------------ public

    def complete(self, prompt: str, n: int) -> list[Choice]:
        """The choices of one completion request for `prompt` asking for `n` (servers may send
        fewer); malformed choices are skipped.

        Raises:
            ServerUnavailable: retries ran out (after the server has answered before).
            RequestRejected: the server refused this request.
            ModelError: the key is rejected, the path or model does not exist, or the server has
                never answered this client.
        """
        cfg = self.config
        body: dict[str, Any] = {
            "model": cfg.model, "max_tokens": cfg.max_tokens, "temperature": cfg.temperature,
            "top_p": cfg.top_p, "n": n,
        }
        if cfg.stop:
            body["stop"] = list(cfg.stop)
        if cfg.endpoint == "chat":
            messages = [{"role": "system", "content": cfg.system_prompt}] if cfg.system_prompt else []
            body["messages"] = [*messages, {"role": "user", "content": prompt}]
            path = "/chat/completions"
        else:
            body["prompt"] = prompt
            path = "/completions"
        body.update(cfg.extra_body)
        if not self._logprobs_ok:
            return _parse_choices(self._request("POST", path, body), cfg.endpoint)
        # Chat takes a flag; the legacy completions API takes how many alternatives to list.
        if cfg.endpoint == "chat":
            # llama.cpp sends chat log-probabilities only when top_logprobs is set too.
            body.update(logprobs=True, top_logprobs=1)
        else:
            body["logprobs"] = 1
        try:
            reply = self._request("POST", path, body)
        except RequestRejected as e:
            if e.status not in (400, 422):
                raise
            # Servers without log-probabilities may refuse the field: ask once more without it
            # and remember, so later calls go without straight away.
            log.warning("model server refused a request with logprobs (%s); retrying without", e)
            body.pop("logprobs")
            body.pop("top_logprobs", None)
            reply = self._request("POST", path, body)
            self._logprobs_ok = False
        return _parse_choices(reply, cfg.endpoint)

    def batches(self, prompt: str, missing: Callable[[], int]) -> Iterator[list[Choice]]:
        """The choices of successive requests for `prompt`, each asking for `missing()` more
        (at most `config.n`), until `missing()` is 0, `max_requests` requests (default
        2 * the first `missing()` + 2) are spent, or the server stays unavailable (logged, not
        raised). A rejected request costs one request and is skipped.

        Raises:
            ModelError: as `complete`.
        """
        cfg = self.config
        want = missing()
        for _ in range(cfg.max_requests or 2 * want + 2):
            want = missing()
            if want <= 0:
                return
            try:
                choices = self.complete(prompt, min(cfg.n or want, want))
            except RequestRejected as e:
                log.warning("model server rejected a request: %s", e)
                continue
            except ServerUnavailable as e:
                log.warning("model server unavailable after %d retries: %s", cfg.retries, e)
                return
            yield choices

    def complete_texts(self, prompt: str, n: int) -> list[str]:
        """Up to `n` raw completions of `prompt`, asking again while the server sends fewer
        (see `batches`); fewer, maybe none, when the server fails.

        Raises:
            ModelError: as `complete`.
        """
        if n <= 0:
            return []
        texts: list[str] = []
        for choices in self.batches(prompt, lambda: n - len(texts)):
            texts.extend(c.text for c in choices[: n - len(texts)])
        return texts

    def check(self) -> list[str]:
        """The model ids the server lists at `/models`; a cheap start-up check of the configuration.

        Raises:
            ModelError: unreachable after retries, key rejected, or the endpoint is missing.
        """
        try:
            reply = self._request("GET", "/models", None)
        except ServerUnavailable as e:
            raise ModelError(f"model server at {self.base_url} unreachable: {e}") from e
        except RequestRejected as e:
            raise ModelError(f"model server at {self.base_url} refused /models: {e}") from e
        data = reply.get("data") if isinstance(reply, dict) else None
        return [str(m.get("id")) for m in data if isinstance(m, dict)] if isinstance(data, list) else []

    # ------------------------------------------------------------------ one request

    def _request(self, method: str, path: str, body: dict[str, Any] | None) -> Any:
        """JSON reply of one request (None for a reply that is not JSON), retrying transient
        failures with exponential backoff.

        Raises:
            ServerUnavailable: retries exhausted (after the server has answered at least once before).
            RequestRejected: a 4xx answer other than 401/403/404/429.
            ModelError: 401/403/404, or the server has never answered and retries ran out.
        """
        cfg = self.config
        delay = cfg.backoff
        for attempt in range(cfg.retries + 1):
            try:
                reply = self._send(method, path, body)
                self._reached = True
                return reply
            except ServerUnavailable as e:
                if attempt == cfg.retries:
                    if not self._reached:
                        raise ModelError(
                            f"model server at {self.base_url} never answered "
                            f"({cfg.retries + 1} tries): {e}"
                        ) from e
                    raise
                wait = min(max(delay, e.retry_after), _MAX_RETRY_WAIT)
                log.info("model server: %s; retry %d in %.1fs", e, attempt + 1, wait)
                time.sleep(wait)
                delay *= 2
        raise AssertionError("unreachable")  # the loop returns or raises

    def _send(self, method: str, path: str, body: dict[str, Any] | None) -> Any:
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        key = os.environ.get(self.config.api_key_env) if self.config.api_key_env else None
        if key:
            headers["Authorization"] = f"Bearer {key}"
        request = urllib.request.Request(self.base_url + path, data=data, headers=headers, method=method)
        self.requests_sent += 1
        try:
            with self._opener.open(request, timeout=self.config.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as e:
            text = _read_error(e)
            if e.code in (401, 403):
                raise ModelError(
                    f"model server at {self.base_url} rejected the credentials (HTTP {e.code}); "
                    f"check ${self.config.api_key_env}: {text[:200]}"
                ) from e
            if e.code == 404:
                raise ModelError(
                    f"{self.base_url}{path} not found (HTTP 404): wrong base_url or model "
                    f"{self.config.model!r}? {text[:200]}"
                ) from e
            if e.code == 429 or e.code >= 500:
                raise ServerUnavailable(f"HTTP {e.code}: {text[:200]}", _retry_after(e)) from e
            raise RequestRejected(e.code, text) from e
        except (urllib.error.URLError, TimeoutError, ConnectionError, HTTPException) as e:
            raise ServerUnavailable(f"{type(e).__name__}: {getattr(e, 'reason', e)}") from e
        try:
            return json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            # Garbage from a reachable server: the caller treats it as a reply with no choices.
            log.warning("model server sent a non-JSON reply: %r", raw[:200])
            return None


def _read_error(e: urllib.error.HTTPError) -> str:
    try:
        return e.read().decode("utf-8", "replace")
    except (OSError, HTTPException):
        return ""


def _retry_after(e: urllib.error.HTTPError) -> float:
    try:
        return max(0.0, float(e.headers.get("Retry-After", 0)))
    except (TypeError, ValueError):
        return 0.0


def _parse_choices(reply: Any, endpoint: Endpoint) -> list[Choice]:
    """The choices of a reply; anything malformed is skipped, never raised."""
    if not isinstance(reply, dict) or not isinstance(reply.get("choices"), list):
        if reply is not None:
            log.warning("model server reply without choices: %.200r", reply)
        return []
    out: list[Choice] = []
    for choice in reply["choices"]:
        if not isinstance(choice, dict):
            continue
        if endpoint == "chat":
            message = choice.get("message")
            text = message.get("content") if isinstance(message, dict) else None
            tokens = _chat_tokens(choice.get("logprobs"))
        else:
            text = choice.get("text")
            tokens = _completion_tokens(choice.get("logprobs"))
        if isinstance(text, str):
            out.append(Choice(text, tokens))
    return out


def _number(x: Any) -> float | None:
    if isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x):
        return float(x)
    return None


def _completion_tokens(lp: Any) -> tuple[TokenLogprob, ...] | None:
    """Legacy completions format: {"tokens": [...], "token_logprobs": [...], "text_offset": [...]}."""
    if not isinstance(lp, dict):
        return None
    tokens, values, offsets = lp.get("tokens"), lp.get("token_logprobs"), lp.get("text_offset")
    if not isinstance(tokens, list) or not isinstance(values, list) or len(tokens) != len(values):
        return None
    if not all(isinstance(t, str) for t in tokens):
        return None
    if not (
        isinstance(offsets, list) and len(offsets) == len(tokens)
        and all(isinstance(o, int) and not isinstance(o, bool) for o in offsets)
    ):
        offsets = [None] * len(tokens)
    return tuple(
        TokenLogprob(t, _number(v), o) for t, v, o in zip(tokens, values, offsets, strict=True)
    )


def _chat_tokens(lp: Any) -> tuple[TokenLogprob, ...] | None:
    """Chat format: {"content": [{"token": ..., "logprob": ..., "bytes": [...]}, ...]}."""
    content = lp.get("content") if isinstance(lp, dict) else None
    if not isinstance(content, list):
        return None
    out = []
    for item in content:
        if not isinstance(item, dict) or not isinstance(item.get("token"), str):
            return None
        raw = item.get("bytes")
        nbytes = len(raw) if isinstance(raw, list) else None
        out.append(TokenLogprob(item["token"], _number(item.get("logprob")), nbytes=nbytes))
    return tuple(out)


def tactic_logprob(tokens: tuple[TokenLogprob, ...] | None, text: str, end: int) -> float | None:
    """Sum of the log-probabilities of the generated tokens that start before offset `end` of `text`
    (the part of a completion a caller kept, e.g. the tactic cut out of it).

    None when the server gave no usable log-probabilities. Where a token starts is taken, in
    order of trust, from the byte lengths the server sent (exact even when a character is split
    over tokens), from its character offsets, or from the token texts when they spell `text`
    exactly. When none of these locate the tokens (byte pieces without offsets), all tokens are
    summed: the kept part is charged for the whole completion, which overstates its cost but
    never understates it.
    """
    if not tokens or any(t.logprob is None for t in tokens):
        return None
    values = [t.logprob for t in tokens if t.logprob is not None]
    starts: list[int] | None = None
    if all(t.nbytes is not None for t in tokens):
        limit = len(text[:end].encode("utf-8"))
        pos, starts = 0, []
        for t in tokens:
            starts.append(pos)
            pos += t.nbytes or 0
    elif all(t.offset is not None for t in tokens):
        limit = end
        first = tokens[0].offset or 0
        starts = [(t.offset or 0) - first for t in tokens]
    elif "".join(t.token for t in tokens) == text:
        limit = end
        pos, starts = 0, []
        for t in tokens:
            starts.append(pos)
            pos += len(t.token)
    if starts is None:
        return sum(values)
    return sum(v for v, start in zip(values, starts, strict=True) if start < limit)
