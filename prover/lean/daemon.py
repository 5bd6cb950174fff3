"""A warm Lean server for the CLI: one background process that owns a `LeanServer`, so a second
`prover` command in a row does not pay the import again.

The daemon listens on a Unix socket in the cache directory and speaks JSON lines: a request
`{"method": ..., "args": {...}}`, a reply `{"ok": true, "result": ...}` or
`{"ok": false, "error": {"type": ..., "message": ...}}`. `RemoteLeanServer` is the client: it offers
the `LeanServer` methods the CLI, the search and the verifier use, and re-raises faults as the same
exception types. The daemon exits after `idle_timeout` seconds without a request.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from prover.lean import errors
from prover.lean.exprs import GoalTerms, RefuteStatus, goal_terms_from_json
from prover.lean.runtime import default_cache_dir
from prover.lean.server import (
    AuditFinding,
    CommandRead,
    LeanConfig,
    LeanServer,
    ParseResult,
    ReplayResult,
)
from prover.lean.types import (
    CommandResult,
    DeclInfo,
    LeanError,
    ProofState,
    TacticResult,
    result_from_json,
)

DEFAULT_IDLE_TIMEOUT = 1800.0


@dataclass(frozen=True)
class DaemonPaths:
    socket: Path
    pidfile: Path
    log: Path
    lock: Path  # held (flock) by whoever is starting the daemon, so two never start at once

    @classmethod
    def under(cls, cache_dir: Path | None = None) -> DaemonPaths:
        root = cache_dir or default_cache_dir()
        return cls(root / "server.sock", root / "server.pid", root / "server.log",
                   root / "server.lock")


# ----------------------------------------------------------------------------- daemon side


def _result_json(r: Any) -> Any:
    if hasattr(r, "to_json"):
        return r.to_json()
    if isinstance(r, DeclInfo):
        return asdict(r)
    return r


class _Daemon:
    def __init__(self, server: LeanServer, paths: DaemonPaths, idle_timeout: float) -> None:
        self.server = server
        self.paths = paths
        self.idle_timeout = idle_timeout
        self.last_activity = time.monotonic()
        self.started = time.time()
        self.stop = threading.Event()

    def dispatch(self, method: str, args: dict[str, Any]) -> Any:
        s = self.server
        if method == "ping":
            return s.ping()
        if method == "status":
            return {
                "pid": os.getpid(), "lean_pid": s.pid, "runtime": s.runtime.description,
                "lean_version": s.lean_version, "uptime_s": time.time() - self.started,
                "requests": s.stats.requests, "restarts": s.stats.restarts, "anomalies": s.anomalies,
                "start_seconds": s.stats.start_seconds, "idle_timeout_s": self.idle_timeout,
                "config": {"heartbeats": s.config.heartbeats, "request_timeout": s.config.request_timeout},
            }
        if method == "anomalies":
            return s.anomalies
        if method == "sync":
            return s.sync()
        if method == "stop":
            self.stop.set()
            return True
        if method == "check":
            return s.check(args["code"], env=args.get("env", 0), keep=args.get("keep", False),
                           timeout=args.get("timeout"))
        if method == "parse":
            return s.parse(args["text"], args.get("category", "tactic"), env=args.get("env", 0))
        if method == "decl_info":
            return s.decl_info(args["env"], args["name"], compare_env=args.get("compare_env"),
                               compare_name=args.get("compare_name", ""))
        if method == "next_command":
            return s.next_command(args["code"], args.get("pos", 0), env=args.get("env", 0))
        if method == "known_tokens":
            return list(s.known_tokens(args["tokens"], env=args.get("env", 0)))
        if method == "audit":
            return [asdict(f) for f in s.audit(args["env"], namespaces=args.get("namespaces", ()))]
        if method == "replay":
            return asdict(s.replay(args["env"], args["names"], heartbeats=args.get("heartbeats"),
                                   timeout=args.get("timeout")))
        if method == "open_proof":
            return s.open_proof(args["snippet"], timeout=args.get("timeout"),
                                heartbeats=args.get("heartbeats"))
        if method == "run_tactic":
            return s.run_tactic(args["state"], args["tactic"], timeout=args.get("timeout"),
                                heartbeats=args.get("heartbeats"))
        if method == "goal_terms_json":
            return list(s.goal_terms_json(args["state"], cap=args.get("cap", 50_000),
                                          timeout=args.get("timeout")))
        if method == "refute":
            return [r.value for r in s.refute(args["state"], args["assignments"], goal=args.get("goal", 0),
                                              heartbeats=args.get("heartbeats"), timeout=args.get("timeout"))]
        if method == "forget":
            s.forget(args["states"])
            return True
        if method == "forget_env":
            s.forget_env(args["env"])
            return True
        raise errors.InvalidRequest(f"unknown method {method!r}")

    def handle(self, conn: socket.socket) -> None:
        with conn, conn.makefile("rwb") as f:
            for line in f:
                self.last_activity = time.monotonic()
                try:
                    req = json.loads(line)
                    result = self.dispatch(req["method"], req.get("args", {}))
                    reply = {"ok": True, "result": _result_json(result)}
                except errors.LeanServerError as e:
                    reply = {"ok": False, "error": {"type": type(e).__name__, "message": str(e)}}
                except (KeyError, TypeError, ValueError) as e:
                    reply = {"ok": False, "error": {"type": "InvalidRequest", "message": repr(e)}}
                f.write(json.dumps(reply).encode() + b"\n")
                f.flush()
                self.last_activity = time.monotonic()
                if self.stop.is_set():
                    return

    def serve(self) -> None:
        self.paths.socket.unlink(missing_ok=True)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.bind(str(self.paths.socket))
        sock.listen(8)
        sock.settimeout(1.0)
        self.paths.pidfile.write_text(str(os.getpid()))
        try:
            while not self.stop.is_set():
                if time.monotonic() - self.last_activity > self.idle_timeout:
                    break
                try:
                    conn, _ = sock.accept()
                except TimeoutError:
                    continue
                threading.Thread(target=self.handle, args=(conn,), daemon=True).start()
        finally:
            sock.close()
            self.paths.socket.unlink(missing_ok=True)
            self.paths.pidfile.unlink(missing_ok=True)
            self.server.close()


def main(argv: list[str] | None = None) -> int:
    """Entry point of the background process (`python -m prover.lean.daemon`)."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--cache-dir", type=Path, default=None)
    p.add_argument("--idle-timeout", type=float, default=DEFAULT_IDLE_TIMEOUT)
    p.add_argument("--runtime", default="auto", choices=["auto", "native", "wasm"])
    p.add_argument("--state-dir", type=Path, default=None,
                   help="where the socket, pid file and log go (default: the cache dir)")
    args = p.parse_args(argv)
    paths = DaemonPaths.under(args.state_dir or args.cache_dir)
    server = LeanServer(LeanConfig(runtime=args.runtime, cache_dir=args.cache_dir))
    server.start()
    daemon = _Daemon(server, paths, args.idle_timeout)
    signal.signal(signal.SIGTERM, lambda *_: daemon.stop.set())
    daemon.serve()
    return 0


# ----------------------------------------------------------------------------- client side


class RemoteLeanServer:
    """Client of the warm daemon with the `LeanServer` methods the CLI needs."""

    def __init__(self, paths: DaemonPaths, timeout: float = 3600.0) -> None:
        self.paths = paths
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.settimeout(timeout)
        self._sock.connect(str(paths.socket))
        self._file = self._sock.makefile("rwb")
        status = self.call("status")
        self.config = LeanConfig(heartbeats=status["config"]["heartbeats"],
                                 request_timeout=status["config"]["request_timeout"])
        self.lean_version = status["lean_version"]

    def call(self, method: str, **args: Any) -> Any:
        self._file.write(json.dumps({"method": method, "args": args}).encode() + b"\n")
        self._file.flush()
        line = self._file.readline()
        if not line:
            raise errors.LeanCrashed("the warm Lean server closed the connection")
        reply = json.loads(line)
        if reply["ok"]:
            return reply["result"]
        err = reply["error"]
        exc_type = getattr(errors, err["type"], errors.LeanServerError)
        raise exc_type(err["message"])

    def start(self) -> RemoteLeanServer:
        """The daemon's Lean is already running: nothing to do (kept for `LeanServer` parity)."""
        return self

    def ping(self) -> bool:
        return bool(self.call("ping"))

    @property
    def anomalies(self) -> int:
        """`LeanServer.anomalies` of the daemon's server."""
        return int(self.call("anomalies"))

    def sync(self) -> int:
        """`LeanServer.sync()` on the daemon's server."""
        return int(self.call("sync"))

    def status(self) -> dict[str, Any]:
        return self.call("status")

    def check(self, code: str, *, env: int = 0, keep: bool = False,
              timeout: float | None = None) -> CommandResult:
        return CommandResult.from_json(self.call("check", code=code, env=env, keep=keep, timeout=timeout))

    def parse(self, text: str, category: str = "tactic", *, env: int = 0) -> ParseResult:
        return ParseResult.from_json(self.call("parse", text=text, category=category, env=env))

    def next_command(self, code: str, pos: int = 0, *, env: int = 0) -> CommandRead:
        return CommandRead.from_json(self.call("next_command", code=code, pos=pos, env=env))

    def known_tokens(self, tokens: Iterable[str], *, env: int = 0) -> tuple[bool, ...]:
        return tuple(self.call("known_tokens", tokens=list(tokens), env=env))

    def audit(self, env: int, *, namespaces: Iterable[str] = ()) -> tuple[AuditFinding, ...]:
        found = self.call("audit", env=env, namespaces=list(namespaces))
        return tuple(AuditFinding(f["name"], f["problem"], tuple(f["what"])) for f in found)

    def replay(self, env: int, names: Iterable[str], *, heartbeats: int | None = None,
               timeout: float | None = None) -> ReplayResult:
        return ReplayResult(**self.call("replay", env=env, names=list(names), heartbeats=heartbeats,
                                        timeout=timeout))

    def decl_info(self, env: int, name: str, *, compare_env: int | None = None,
                  compare_name: str = "") -> DeclInfo:
        d = self.call("decl_info", env=env, name=name, compare_env=compare_env, compare_name=compare_name)
        d["axioms"] = tuple(tuple(a) for a in d["axioms"])
        return DeclInfo(**d)

    def open_proof(self, snippet: str, *, timeout: float | None = None,
                   heartbeats: int | None = None) -> ProofState | LeanError:
        r = result_from_json(self.call("open_proof", snippet=snippet, timeout=timeout, heartbeats=heartbeats))
        if not isinstance(r, (ProofState, LeanError)):
            raise errors.LeanProtocolError(f"open_proof returned {type(r).__name__}")
        return r

    def run_tactic(self, state: ProofState | int, tactic: str, *, timeout: float | None = None,
                   heartbeats: int | None = None) -> TacticResult:
        sid = state.id if isinstance(state, ProofState) else state
        return result_from_json(self.call("run_tactic", state=sid, tactic=tactic, timeout=timeout,
                                          heartbeats=heartbeats))

    def goal_terms(self, state: ProofState | int, *, cap: int = 50_000,
                   timeout: float | None = None) -> tuple[GoalTerms, ...]:
        sid = state.id if isinstance(state, ProofState) else state
        return tuple(goal_terms_from_json(g) for g in
                     self.call("goal_terms_json", state=sid, cap=cap, timeout=timeout))

    def refute(self, state: ProofState | int, assignments: Iterable[Iterable[tuple[str, str]]], *,
               goal: int = 0, heartbeats: int | None = None,
               timeout: float | None = None) -> tuple[RefuteStatus, ...]:
        sid = state.id if isinstance(state, ProofState) else state
        asgs = [[list(pair) for pair in a] for a in assignments]
        return tuple(RefuteStatus(r) for r in self.call("refute", state=sid, assignments=asgs, goal=goal,
                                                        heartbeats=heartbeats, timeout=timeout))

    def forget(self, states: list[ProofState | int]) -> None:
        self.call("forget", states=[s.id if isinstance(s, ProofState) else s for s in states])

    def forget_env(self, handle: int) -> None:
        self.call("forget_env", env=handle)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._file.close()
            self._sock.close()

    def __enter__(self) -> RemoteLeanServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def connect(paths: DaemonPaths) -> RemoteLeanServer | None:
    """A client of the running daemon, or None when none answers."""
    if not paths.socket.exists():
        return None
    try:
        return RemoteLeanServer(paths)
    except OSError:
        return None


def start_daemon(paths: DaemonPaths, *, idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
                 runtime: str = "auto", cache_dir: Path | None = None,
                 wait: float = 900.0) -> RemoteLeanServer:
    """Start the daemon in the background (if none runs) and wait until it answers.

    Two commands starting at once must not start two daemons (each would load its own Lean): the
    check-then-start runs under an exclusive `flock` on `paths.lock`, held until the new daemon
    answers; a second starter waits for the lock and then finds the daemon running.
    """
    if (client := connect(paths)) is not None:
        return client
    paths.lock.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait
    with paths.lock.open("a") as lock:
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise errors.LeanStartupError(
                        f"another command held {paths.lock} for {wait:.0f} s while starting the "
                        "warm server") from None
                time.sleep(0.2)
        # The lock is released when the file closes, also if this process dies.
        if (client := connect(paths)) is not None:
            return client
        return _spawn_daemon(paths, idle_timeout, runtime, cache_dir, deadline - time.monotonic())


def _spawn_daemon(paths: DaemonPaths, idle_timeout: float, runtime: str, cache_dir: Path | None,
                  wait: float) -> RemoteLeanServer:
    paths.log.parent.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "prover.lean.daemon", "--idle-timeout", str(idle_timeout),
           "--runtime", runtime, "--state-dir", str(paths.socket.parent)]
    if cache_dir is not None:
        cmd += ["--cache-dir", str(cache_dir)]
    with paths.log.open("ab") as log:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                start_new_session=True)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise errors.LeanStartupError(f"the warm server exited (code {proc.returncode}); "
                                          f"see {paths.log}")
        if (client := connect(paths)) is not None:
            return client
        time.sleep(0.5)
    proc.kill()
    raise errors.LeanStartupError(f"the warm server did not answer within {wait:.0f} s; see {paths.log}")


def stop_daemon(paths: DaemonPaths) -> bool:
    """Ask the daemon to stop; True if one was running."""
    client = connect(paths)
    if client is None:
        return False
    with contextlib.suppress(errors.LeanServerError, OSError):
        client.call("stop")
    client.close()
    deadline = time.monotonic() + 30
    while paths.socket.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    return True


if __name__ == "__main__":
    sys.exit(main())
