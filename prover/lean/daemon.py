"""A warm Lean server for the CLI: one background process that owns a Lean process, so a second
`prover` command in a row does not pay the import again.

The daemon is a relay. It listens on a Unix socket in the cache directory and speaks JSON lines:
each client message is one of the typed messages below, and the Lean requests inside `LeanCall`
are the very `prover.lean.protocol` requests a local `LeanServer` sends its own Lean, serialised
the same way (`Request.to_json`, read back strictly by `protocol.decode_request`); their replies
come back as the protocol's reply fields (`Reply.to_json`, decoded strictly by the client). A fault
comes back as a `Fault` naming the `prover.lean.errors` type to re-raise. A message that cannot be
read (not JSON, an unknown `op`, a malformed Lean request) is answered with an `InvalidRequest`
fault that says why.

The client, `RemoteLeanServer`, is the same `LeanSession` as a local `LeanServer` (guard, reader,
state store with replay, commands) over a `DaemonTransport`: only the transport differs, so the
two cannot drift apart, and both satisfy `prover.lean.client.LeanClient`. Proof states are the
client's; the daemon keeps no record of them. The daemon exits after `idle_timeout` seconds
without a message.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar

import prover.lean.errors as errors
import prover.lean.protocol as P
from prover.lean.config import LeanConfig
from prover.lean.runtime import default_cache_dir
from prover.lean.server import TacticGuard
from prover.lean.session import DEFAULT_GUARD, LeanSession, _DefaultGuard
from prover.lean.transport import LeanProcess, ServerStats

DEFAULT_IDLE_TIMEOUT = 1800.0
MAX_MESSAGE_BYTES = 64 << 20

# The faults a `Fault` may name; anything else is re-raised as a protocol error.
FAULTS: dict[str, type[errors.LeanServerError]] = {
    cls.__name__: cls for cls in (errors.LeanServerError, errors.LeanStartupError, errors.LeanCrashed,
                                  errors.LeanRestarted, errors.LeanTimeout, errors.LeanProtocolError,
                                  errors.InvalidRequest, errors.LeanRuntimeNotFound)
}


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


# ----------------------------------------------------------------------------- the wire


@dataclass(frozen=True)
class LeanCall:
    """Send `request` to the daemon's Lean. `generation`: the ids in it were resolved in that
    generation (`LeanRestarted` if Lean restarted since); `limit`: seconds left of the caller's
    deadline (`LeanProcess.deadline`), None when it has none."""

    request: P.Request
    timeout: float
    limit: float | None = None
    generation: int | None = None
    op: ClassVar[str] = "lean"


@dataclass(frozen=True)
class Settle:
    """`LeanProcess.ensure_running` on the daemon's Lean."""

    op: ClassVar[str] = "settle"


@dataclass(frozen=True)
class Sync:
    """`LeanProcess.sync`: a round trip; the answer's result is `anomalies`."""

    op: ClassVar[str] = "sync"


@dataclass(frozen=True)
class GetStatus:
    op: ClassVar[str] = "status"


@dataclass(frozen=True)
class Stop:
    op: ClassVar[str] = "stop"


Message = LeanCall | Settle | Sync | GetStatus | Stop
_OPS: dict[str, type[Message]] = {m.op: m for m in (LeanCall, Settle, Sync, GetStatus, Stop)}


def encode_message(m: Message) -> bytes:
    out: dict[str, Any] = {"op": m.op}
    if isinstance(m, LeanCall):
        out.update(request=m.request.to_json(), timeout=m.timeout, limit=m.limit, generation=m.generation)
    return json.dumps(out, ensure_ascii=False).encode() + b"\n"


def decode_message(line: bytes) -> Message:
    """One client message; `InvalidRequest` saying why when it cannot be read."""
    try:
        d = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as e:
        raise errors.InvalidRequest(f"the warm server reads one JSON object a line: {e}") from None
    if not isinstance(d, dict) or d.get("op") not in _OPS:
        raise errors.InvalidRequest(f"unknown message {str(d)[:200]}; each has an `op`, one of "
                                    f"{sorted(_OPS)}")
    cls = _OPS[d["op"]]
    expected = {"op", "request", "timeout", "limit", "generation"} if cls is LeanCall else {"op"}
    if extra := sorted(set(d) - expected):
        raise errors.InvalidRequest(f"`{d['op']}` message with unknown fields {extra}")
    if cls is not LeanCall:
        return cls()
    timeout, limit, generation = d.get("timeout"), d.get("limit"), d.get("generation")
    if (not isinstance(timeout, int | float) or isinstance(timeout, bool)
            or not (limit is None or isinstance(limit, int | float))
            or not (generation is None or isinstance(generation, int))):
        raise errors.InvalidRequest("a `lean` message needs a numeric `timeout`, a numeric or null "
                                    "`limit` and an integer or null `generation`")
    try:
        request = P.decode_request(d.get("request"))
    except errors.LeanProtocolError as e:
        raise errors.InvalidRequest(f"malformed Lean request: {e}") from None
    return LeanCall(request, float(timeout), None if limit is None else float(limit), generation)


@dataclass(frozen=True)
class Answer:
    """A message's result, and the generation of the daemon's Lean that produced it."""

    generation: int
    result: Any  # the Lean reply's fields, `anomalies`, a `DaemonStatus`'s fields, or None


@dataclass(frozen=True)
class Fault:
    """A fault, to be re-raised by the client as `FAULTS[type]`."""

    type: str
    message: str


def _encode_outcome(o: Answer | Fault) -> bytes:
    d = {"ok": True, **asdict(o)} if isinstance(o, Answer) else {"ok": False, "fault": asdict(o)}
    return json.dumps(d, ensure_ascii=False).encode() + b"\n"


def _decode_outcome(line: bytes) -> Answer | Fault:
    try:
        d = json.loads(line)
        if d["ok"] is True and isinstance(d["generation"], int) and set(d) == {"ok", "generation", "result"}:
            return Answer(d["generation"], d["result"])
        if d["ok"] is False and set(d["fault"]) == {"type", "message"}:
            return Fault(str(d["fault"]["type"]), str(d["fault"]["message"]))
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError) as e:
        raise errors.LeanProtocolError(f"unreadable answer from the warm server: {e}: "
                                       f"{line[:200]!r}") from None
    raise errors.LeanProtocolError(f"unreadable answer from the warm server: {line[:200]!r}")


@dataclass(frozen=True)
class DaemonStatus:
    pid: int
    lean_pid: int | None
    runtime: str
    lean_version: str
    generation: int
    uptime_s: float
    requests: int
    restarts: int
    anomalies: int
    start_seconds: tuple[float, ...]
    idle_timeout_s: float
    heartbeats: int
    request_timeout: float
    tactic_timeout: float

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> DaemonStatus:
        return cls(**{**d, "start_seconds": tuple(d["start_seconds"])})


# ----------------------------------------------------------------------------- daemon side


class _Daemon:
    def __init__(self, process: LeanProcess, paths: DaemonPaths, idle_timeout: float) -> None:
        self.process = process
        self.paths = paths
        self.idle_timeout = idle_timeout
        self.last_activity = time.monotonic()
        self.started = time.time()
        self.stop = threading.Event()
        # A state a late reply created belongs to a client that has stopped waiting: release it.
        process.on_late_state = lambda state: process.send(P.ForgetStates((state,)), 30.0)

    def answer(self, m: Message) -> Any:
        p = self.process
        if isinstance(m, LeanCall):
            # The lock keeps the deadline this caller set from applying to another's request.
            with p.lock, p.deadline(None if m.limit is None else time.monotonic() + m.limit):
                return p.send(m.request, m.timeout, generation=m.generation).to_json()
        if isinstance(m, Settle):
            p.ensure_running()
            return None
        if isinstance(m, Sync):
            return p.sync()
        if isinstance(m, GetStatus):
            return self.status().to_json()
        self.stop.set()
        return None

    def status(self) -> DaemonStatus:
        p = self.process
        return DaemonStatus(
            pid=os.getpid(), lean_pid=p.pid, runtime=p.runtime.description, lean_version=p.lean_version,
            generation=p.generation, uptime_s=time.time() - self.started, requests=p.stats.requests,
            restarts=p.stats.restarts, anomalies=p.anomalies, start_seconds=tuple(p.stats.start_seconds),
            idle_timeout_s=self.idle_timeout, heartbeats=p.config.heartbeats,
            request_timeout=p.config.request_timeout, tactic_timeout=p.config.tactic_timeout)

    def handle(self, conn: socket.socket) -> None:
        with conn, conn.makefile("rwb") as f:
            for line in f:
                self.last_activity = time.monotonic()
                outcome: Answer | Fault
                try:
                    if len(line) > MAX_MESSAGE_BYTES:
                        raise errors.InvalidRequest(f"message of {len(line)} bytes exceeds the limit "
                                                    f"of {MAX_MESSAGE_BYTES}")
                    result = self.answer(decode_message(line))
                    outcome = Answer(self.process.generation, result)
                except errors.LeanServerError as e:
                    outcome = Fault(type(e).__name__, str(e))
                f.write(_encode_outcome(outcome))
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
            self.process.close()


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
    process = LeanProcess(LeanConfig(runtime=args.runtime, cache_dir=args.cache_dir))
    process.start()
    daemon = _Daemon(process, paths, args.idle_timeout)
    signal.signal(signal.SIGTERM, lambda *_: daemon.stop.set())
    daemon.serve()
    return 0


# ----------------------------------------------------------------------------- client side


class DaemonTransport:
    """The `Transport` to the daemon's Lean: typed requests relayed over the socket. The caller's
    deadline travels with each request, so the daemon cuts (and keeps alive) exactly as a local
    process would; each generation of the daemon's Lean gets a fresh `goals_tag` from this side."""

    def __init__(self, paths: DaemonPaths, timeout: float = 3600.0) -> None:
        self.paths = paths
        self.lock = threading.RLock()
        self.stats = ServerStats()  # this client's requests (the daemon's own: `status()`)
        self.on_late_state = None  # the daemon releases late states itself
        self._deadline: float | None = None
        self._generation = 0
        self._tag = (0, "")
        self._closed = False
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.settimeout(timeout)
        self._sock.connect(str(paths.socket))
        self._file = self._sock.makefile("rwb")
        status = self.status()
        self.config = LeanConfig(heartbeats=status.heartbeats, request_timeout=status.request_timeout,
                                 tactic_timeout=status.tactic_timeout)
        self.lean_version = status.lean_version

    def _call(self, m: Message) -> Any:
        with self.lock:
            if self._closed:
                raise errors.LeanCrashed("the connection to the warm Lean server was closed")
            try:
                self._file.write(encode_message(m))
                self._file.flush()
                line = self._file.readline()
            except OSError as e:
                raise errors.LeanCrashed(f"the warm Lean server's socket failed: {e}") from e
            if not line:
                raise errors.LeanCrashed("the warm Lean server closed the connection")
            outcome = _decode_outcome(line)
            if isinstance(outcome, Fault):
                raise FAULTS.get(outcome.type, errors.LeanProtocolError)(outcome.message)
            self._generation = outcome.generation
            return outcome.result

    @property
    def generation(self) -> int:
        return self._generation

    @property
    def goals_tag(self) -> str:
        if self._tag[0] != self._generation:
            self._tag = (self._generation, secrets.token_hex(16))
        return self._tag[1]

    @property
    def alive(self) -> bool:
        return not self._closed

    @property
    def anomalies(self) -> int:
        """`anomalies` of the daemon's Lean process."""
        return self.status().anomalies

    def status(self) -> DaemonStatus:
        return DaemonStatus.from_json(self._call(GetStatus()))

    def send(self, request: P.Request, timeout: float, *, generation: int | None = None) -> Any:
        with self.lock:
            limit = None
            if self._deadline is not None:
                limit = self._deadline - time.monotonic()
                if limit <= 0:
                    raise errors.LeanTimeout("the caller's deadline passed before this request could run")
            t0 = time.monotonic()
            raw = self._call(LeanCall(request, timeout, limit, generation))
            if not isinstance(raw, dict):
                raise errors.LeanProtocolError(f"the warm server answered {request.cmd!r} with {raw!r}")
            reply = P.decode_reply(request, raw)
            self.stats.requests += 1
            self.stats.wall_seconds += time.monotonic() - t0
            self.stats.lean_seconds += getattr(reply, "lean_ns", 0) / 1e9
            return reply

    def ensure_running(self) -> None:
        self._call(Settle())

    @contextlib.contextmanager
    def deadline(self, when: float | None) -> Iterator[None]:
        old = self._deadline
        if when is not None and old is not None:
            when = min(when, old)
        self._deadline = when
        try:
            yield
        finally:
            self._deadline = old

    def sync(self, timeout: float = 30.0) -> int:
        return int(self._call(Sync()))

    def start(self) -> None:
        """The daemon's Lean is already running: nothing to start."""

    def stop(self) -> None:
        """Ask the daemon to exit (its Lean with it)."""
        self._call(Stop())

    def close(self) -> None:
        with self.lock:
            self._closed = True
            with contextlib.suppress(OSError):
                self._file.close()
                self._sock.close()


class RemoteLeanServer(LeanSession):
    """Client of the warm daemon: a `LeanSession` (guard, reader, states, commands) over a
    `DaemonTransport`. Closing it releases the proof states and environments it still holds in
    the daemon's Lean, then the connection (the daemon keeps running)."""

    def __init__(self, paths: DaemonPaths, timeout: float = 3600.0, *,
                 guard: TacticGuard | _DefaultGuard | None = DEFAULT_GUARD) -> None:
        self.paths = paths
        self.connection = DaemonTransport(paths, timeout)
        super().__init__(self.connection, guard=guard)

    def status(self) -> DaemonStatus:
        return self.connection.status()

    def stop(self) -> None:
        """Ask the daemon to exit."""
        self.connection.stop()

    def start(self) -> RemoteLeanServer:
        return self

    def close(self) -> None:
        if self.connection.alive:
            with contextlib.suppress(errors.LeanServerError):
                self.forget(list(self.states.states))
                for handle in [h for h in self.states.envs if h]:
                    self.forget_env(handle)
        self.connection.close()

    def __enter__(self) -> RemoteLeanServer:
        return self


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
        client.stop()
    client.close()
    deadline = time.monotonic() + 30
    while paths.socket.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    return True


if __name__ == "__main__":
    sys.exit(main())
