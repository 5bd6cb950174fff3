"""Shared fixtures. One real Lean server per test session: starting it costs tens of seconds."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from prover.lean import LeanConfig, LeanServer


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
