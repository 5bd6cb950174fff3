"""The OpenAI-compatible HTTP policy.

Two servers:
- the real thing: llama.cpp's OpenAI-compatible server (`llama-cpp-python[server]`) serving the
  real SmolLM2-135M-Instruct GGUF, started here on a free 127.0.0.1 port. It ignores `n`, so the
  client's repeat-until-k logic is exercised for real. The model is weak: behaviour only.
- a SCRIPTED DOUBLE (`ScriptedServer`, clearly a fake) for what a real server cannot be made to
  do on demand: time out, fail with 5xx, send malformed replies, reject the key, honour `n`.
"""

from __future__ import annotations

import json
import math
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from prover.lean import Goal, ProofState
from prover.models.errors import ModelError
from prover.models.openai_client import TokenLogprob, normalise_base_url, tactic_logprob
from search.interfaces import Policy, TacticCandidate
from search.policies.http_policy import OpenAIPolicy

STATE = ProofState(id=0, goals=(Goal((), "a + b = b + a", "a b : Nat\n⊢ a + b = b + a"),))





def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def check_candidates(cands: list[TacticCandidate], k: int) -> None:
    assert len(cands) <= k
    tactics = [c.tactic for c in cands]
    assert len(set(tactics)) == len(tactics)
    for c in cands:
        assert c.tactic and c.tactic == c.tactic.strip()
        assert "```" not in c.tactic and "⊢" not in c.tactic
        assert math.isfinite(c.logprob) and c.logprob <= 0
    assert [c.logprob for c in cands] == sorted((c.logprob for c in cands), reverse=True)


# ---------------------------------------------------------------- configuration and parsing


def test_base_url_normalisation_and_bad_urls() -> None:
    assert normalise_base_url("http://127.0.0.1:8000") == "http://127.0.0.1:8000/v1"
    assert normalise_base_url("http://127.0.0.1:8000/v1/") == "http://127.0.0.1:8000/v1"
    assert normalise_base_url("https://openrouter.ai/api/v1") == "https://openrouter.ai/api/v1"
    for bad in ["localhost:8000", "ftp://host/v1", "http://", "http://host:notaport/v1", ""]:
        with pytest.raises(ModelError, match="base_url"):
            OpenAIPolicy(bad, "m")
    with pytest.raises(ModelError, match="prompt format"):
        OpenAIPolicy("http://127.0.0.1:1", "m", prompt_format="bogus")


def test_tactic_logprob_counts_tokens_up_to_the_tactic() -> None:
    text = "```lean\nsimp\n```"
    pieces = [("```", -0.1), ("lean", -0.2), ("\n", -0.3), ("simp", -1.0), ("\n", -2.0), ("```", -4.0)]
    end = len("```lean\nsimp")
    spelled = tuple(TokenLogprob(t, lp) for t, lp in pieces)
    assert tactic_logprob(spelled, text, end) == pytest.approx(-1.6)
    assert tactic_logprob(None, text, end) is None
    assert tactic_logprob((TokenLogprob("simp", None),), "simp", 4) is None


def test_tactic_logprob_locates_split_characters() -> None:
    # "⊢" (3 UTF-8 bytes) split over two tokens whose texts are empty, as llama.cpp reports them.
    text = "⊢ x\nrest"
    end = len("⊢ x")
    with_offsets = (
        TokenLogprob("", -1.0, offset=40), TokenLogprob("", -1.0, offset=40),
        TokenLogprob(" x", -1.0, offset=41), TokenLogprob("\n", -5.0, offset=43),
        TokenLogprob("rest", -5.0, offset=44),
    )
    assert tactic_logprob(with_offsets, text, end) == pytest.approx(-3.0)
    with_bytes = (
        TokenLogprob("\ufffd", -1.0, nbytes=2), TokenLogprob("\ufffd", -1.0, nbytes=1),
        TokenLogprob(" x", -1.0, nbytes=2), TokenLogprob("\n", -5.0, nbytes=1),
        TokenLogprob("rest", -5.0, nbytes=4),
    )
    assert tactic_logprob(with_bytes, text, end) == pytest.approx(-3.0)
    # Nothing locates the tokens: the whole completion is charged.
    unlocated = tuple(TokenLogprob(t.token, t.logprob) for t in with_offsets)
    assert tactic_logprob(unlocated, text, end) == pytest.approx(-13.0)


# ---------------------------------------------------------------- SCRIPTED DOUBLE (a fake server)


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # dict/list: sent as JSON; bytes: sent raw
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


def completion(*texts: str, logprobs: bool = False) -> dict[str, Any]:
    choices = []
    for i, text in enumerate(texts):
        choice: dict[str, Any] = {"index": i, "text": text, "finish_reason": "stop"}
        if logprobs:
            choice["logprobs"] = {"tokens": [text], "token_logprobs": [-0.5 * (i + 1)]}
        choices.append(choice)
    return {"object": "text_completion", "choices": choices}


class ScriptedServer:
    """A FAKE OpenAI-compatible server: replies come from `script(path, body)`, requests are kept.

    Only for faults a real server cannot be made to produce on demand; never for normal behaviour.
    """

    def __init__(self, script: Callable[[str, dict[str, Any] | None], Reply]) -> None:
        self.script = script
        self.requests: list[tuple[str, dict[str, Any] | None, dict[str, str]]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                outer.requests.append((self.path, body, dict(self.headers)))
                reply = outer.script(self.path, body)
                if reply.delay:
                    time.sleep(reply.delay)
                data = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
                try:
                    self.send_response(reply.status)
                    for k, v in reply.headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

            do_GET = _handle
            do_POST = _handle

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> ScriptedServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def sequence(*replies: Reply) -> Callable[[str, dict[str, Any] | None], Reply]:
    """Replies in order; the last one repeats."""
    items = list(replies)

    def script(path: str, body: dict[str, Any] | None) -> Reply:
        return items.pop(0) if len(items) > 1 else items[0]

    return script


def test_double_5xx_is_retried_with_backoff() -> None:
    script = sequence(
        Reply(500, {"error": "boom"}), Reply(503, b"busy"), Reply(200, completion("simp", "ring"))
    )
    with ScriptedServer(script) as srv:
        policy = OpenAIPolicy(srv.url, "m", n=2, retries=3, backoff=0.05, max_requests=1)
        start = time.perf_counter()
        cands = policy.propose(STATE, 2)
        assert time.perf_counter() - start >= 0.05 + 0.1  # two waits, the second doubled
    assert {c.tactic for c in cands} == {"simp", "ring"}
    assert len(srv.requests) == 3


def test_double_timeout_before_any_answer_is_a_configuration_error() -> None:
    with ScriptedServer(sequence(Reply(200, completion("simp"), delay=1.0))) as srv:
        policy = OpenAIPolicy(srv.url, "m", timeout=0.2, retries=1, backoff=0.0)
        start = time.perf_counter()
        with pytest.raises(ModelError, match="never answered"):
            policy.propose(STATE, 1)
        assert time.perf_counter() - start < 1.5


def test_double_timeout_after_answers_returns_what_it_has() -> None:
    script = sequence(Reply(200, completion("simp")), Reply(200, completion("ring"), delay=1.0))
    with ScriptedServer(script) as srv:
        policy = OpenAIPolicy(srv.url, "m", timeout=0.2, retries=1, backoff=0.0, max_requests=5)
        start = time.perf_counter()
        cands = policy.propose(STATE, 3)
        assert time.perf_counter() - start < 2.0
        assert [c.tactic for c in cands] == ["simp"]
        assert policy.propose(STATE, 2) == []  # still down: nothing, no exception


def test_double_malformed_replies_never_raise() -> None:
    garbage = [
        Reply(200, b"<html>not json</html>"),
        Reply(200, {"no": "choices"}),
        Reply(200, {"choices": "nope"}),
        Reply(200, {"choices": [None, 3, {"text": None}, {"text": 17}]}),
        Reply(200, {"choices": [{"text": "```lean\n```"}, {"text": "sorry"}, {"text": "x" * 5000}]}),
        Reply(200, {"choices": [{"text": "omega", "logprobs": {"tokens": "bad", "token_logprobs": [1]}}]}),
        Reply(200, [1, 2, 3]),
    ]
    with ScriptedServer(sequence(*garbage)) as srv:
        policy = OpenAIPolicy(srv.url, "m", max_requests=len(garbage))
        cands = policy.propose(STATE, 4)
    # Only the one well-formed tactic survives; without usable logprobs it gets the fallback score.
    assert [c.tactic for c in cands] == ["omega"]
    assert cands[0].logprob == pytest.approx(0.0, abs=1e-5)
    assert len(srv.requests) == len(garbage)


def test_double_401_is_a_configuration_error_and_key_comes_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROVER_TEST_KEY", "sekrit")
    with ScriptedServer(sequence(Reply(401, {"error": "bad key"}))) as srv:
        policy = OpenAIPolicy(srv.url, "m", api_key_env="PROVER_TEST_KEY", retries=3)
        with pytest.raises(ModelError, match="PROVER_TEST_KEY"):
            policy.propose(STATE, 2)
    assert len(srv.requests) == 1  # not retried
    assert srv.requests[0][2].get("Authorization") == "Bearer sekrit"


def test_double_server_honouring_n_needs_one_request() -> None:
    """Like vLLM: n choices per request, with logprobs; the client asks once and ranks by them."""
    def script(path: str, body: dict[str, Any] | None) -> Reply:
        assert body is not None
        texts = ["simp", "ring", "omega", "linarith", "norm_num"][: body["n"]]
        return Reply(200, completion(*texts, logprobs=True))

    with ScriptedServer(script) as srv:
        policy = OpenAIPolicy(srv.url, "m", prompt_format="bfs_prover")
        cands = policy.propose(STATE, 4)
    assert [c.tactic for c in cands] == ["simp", "ring", "omega", "linarith"]
    assert [c.logprob for c in cands] == [-0.5, -1.0, -1.5, -2.0]
    assert len(srv.requests) == 1
    path, body, _ = srv.requests[0]
    assert path == "/v1/completions"
    assert body is not None and body["n"] == 4 and body["prompt"] == STATE.pretty + ":::"


def test_double_logprobs_refused_then_frequency_fallback() -> None:
    def script(path: str, body: dict[str, Any] | None) -> Reply:
        assert body is not None
        if "logprobs" in body:
            return Reply(400, {"error": "logprobs not supported"})
        return Reply(200, completion("simp" if len(calls) % 3 else "ring"))

    calls: list[int] = []

    def counting(path: str, body: dict[str, Any] | None) -> Reply:
        calls.append(1)
        return script(path, body)

    with ScriptedServer(counting) as srv:
        policy = OpenAIPolicy(srv.url, "m", max_requests=6)
        cands = policy.propose(STATE, 3)
        first_with_logprobs = sum(1 for _, b, _ in srv.requests if b and "logprobs" in b)
        policy.propose(STATE, 1)
        assert sum(1 for _, b, _ in srv.requests if b and "logprobs" in b) == first_with_logprobs == 1
    assert {c.tactic for c in cands} == {"simp", "ring"}
    assert all(c.logprob <= 0 for c in cands)


def test_double_other_4xx_costs_one_request_only() -> None:
    script = sequence(Reply(413, {"error": "prompt too long"}), Reply(200, completion("simp")))
    with ScriptedServer(script) as srv:
        policy = OpenAIPolicy(srv.url, "m", logprobs=False, max_requests=3)
        assert [c.tactic for c in policy.propose(STATE, 1)] == ["simp"]
    assert len(srv.requests) == 2


def test_connection_refused_never_answered_is_a_configuration_error() -> None:
    # A real closed port, no double needed.
    policy = OpenAIPolicy(f"http://127.0.0.1:{free_port()}", "m", retries=1, backoff=0.01)
    with pytest.raises(ModelError, match="never answered"):
        policy.propose(STATE, 2)
    with pytest.raises(ModelError, match="never answered"):
        policy.check()


# ---------------------------------------------------------------- real llama.cpp server


# The server itself is the session fixture `llama_server` (tests/conftest.py).


def test_llama_server_lists_its_model(llama_server: str) -> None:
    assert "smollm2" in OpenAIPolicy(llama_server, "smollm2").check()


def test_llama_server_ignores_n_and_client_keeps_asking(llama_server: str) -> None:
    policy = OpenAIPolicy(llama_server, "smollm2", prompt_format="bfs_prover", max_tokens=16, timeout=60)
    assert isinstance(policy, Policy)
    start = time.perf_counter()
    cands = policy.propose(STATE, 4)
    print(f"\nllama.cpp propose k=4: {time.perf_counter() - start:.1f}s, "
          f"{policy.requests_sent} requests, {len(cands)} candidates")
    check_candidates(cands, 4)
    # One choice per request: at least as many requests as distinct candidates, within the budget.
    assert len(cands) <= policy.requests_sent <= 2 * 4 + 2
    assert policy.requests_sent > 1


def test_llama_server_gives_token_logprobs(llama_server: str) -> None:
    """Real logprobs reach the scores: each candidate's score is a sum of token log-probs."""
    policy = OpenAIPolicy(llama_server, "smollm2", prompt_format="bfs_prover", max_tokens=12)
    choices = policy.client.complete(policy.format.render(STATE), 3)
    assert len(choices) == 1  # llama.cpp ignores n
    tokens = choices[0].tokens
    assert tokens is not None and all(t.logprob is not None and t.logprob <= 0 for t in tokens)
    assert all(t.offset is not None for t in tokens)  # llama.cpp sends text_offset
    cands = policy.propose(STATE, 2)
    check_candidates(cands, 2)


def test_llama_server_chat_endpoint(llama_server: str) -> None:
    policy = OpenAIPolicy(
        llama_server, "smollm2", endpoint="chat", prompt_format="instruct", max_tokens=12,
        system_prompt="You are a Lean 4 expert. Answer with one tactic.",
    )
    choices = policy.client.complete(policy.format.render(STATE), 1)
    assert len(choices) == 1 and choices[0].tokens  # chat logprobs arrive (top_logprobs is sent)
    cands = policy.propose(STATE, 2)
    check_candidates(cands, 2)


def test_llama_server_wrong_path_is_a_configuration_error(llama_server: str) -> None:
    policy = OpenAIPolicy(llama_server.removesuffix("/v1") + "/not-an-api", "smollm2", retries=0)
    with pytest.raises(ModelError, match="404"):
        policy.propose(STATE, 1)
