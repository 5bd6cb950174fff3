"""One Lean process and the channel to it: spawn, reply reader, memory watch, kill and restart,
request framing, requests cut by a caller's deadline.

The Lean side (parts in `lean_project/ProverServer/`) imports once and answers JSON requests. Requests go
through a log file in a private channel directory under /tmp (stdin and FIFOs fail on the embedded
WebAssembly Lean); replies come back on stdout as lines framed with a per-process nonce. One request
is in flight at a time per process (`LeanProcess.lock` serialises them).

Why a reply cannot be forged from inside Lean (code elaborated in a request may run: trusted-mode
`#eval`, or anything that slips past the guard): the nonce never enters Lean's environment, the
request log or any file that exists while requests run. It is written to `<channel>/nonce`, read by
Lean once at start, and deleted when `ready` arrives; the `prover_capture` tag (`goals_tag`), which
elaborated source must contain, is a second, separate secret. Beyond that the reader thread is a
tripwire: any stdout line that looks framed but has another nonce, any reply with an id that is not
the one request in flight, and any second reply for it is an *anomaly*: counted in `anomalies`
(monotonic), and the request waiting (or the next one) raises `LeanProtocolError` after the process
is killed. A caller that must trust a verdict compares `anomalies` before and after its requests
and calls `sync()` at the end (a round trip, so every reply to earlier requests has arrived).

Every process started gets a new `generation`: Lean-side ids (stored environments and proof
states) mean something only in the generation that made them (`prover.lean.states` rebuilds them).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import queue
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import prover.lean.protocol as P
from prover.lean.config import LeanConfig
from prover.lean.errors import (
    InvalidRequest,
    LeanCrashed,
    LeanProtocolError,
    LeanRestarted,
    LeanServerError,
    LeanStartupError,
    LeanTimeout,
)
from prover.lean.runtime import Runtime, native_sandbox, resolve_runtime
from prover.lean.server_source import SERVER_FILE, write_server_file

_EOF = object()
# Anything on stdout that looks like a framed reply, whatever its nonce.
_FRAMED = re.compile(rb"@@PROVER:")


@dataclass
class ServerStats:
    requests: int = 0
    restarts: int = 0
    memory_kills: int = 0
    log_rotations: int = 0
    start_seconds: list[float] = field(default_factory=list)
    lean_seconds: float = 0.0
    wall_seconds: float = 0.0
    # Lean's time inside the tactics of `step` requests alone (no parsing, no goal rendering).
    tactic_seconds: float = 0.0


class Transport(Protocol):
    """The channel the state store and the commands send typed requests through: a local Lean
    process (`LeanProcess`) or the warm daemon's (`prover.lean.daemon.DaemonTransport`)."""

    config: LeanConfig
    stats: ServerStats
    lock: threading.RLock  # held across a command's requests so no other thread interleaves
    lean_version: str
    # Called with the Lean-side id of a proof state that a late reply (to a request the caller's
    # deadline cut) created, so that its owner releases it.
    on_late_state: Callable[[int], None] | None

    @property
    def generation(self) -> int:
        """Changes whenever earlier Lean-side ids stop meaning anything (a new process)."""
        ...

    @property
    def goals_tag(self) -> str:
        """The secret `prover_capture` tag of the current generation."""
        ...

    @property
    def alive(self) -> bool:
        """Whether a request can be sent to the current generation without a restart."""
        ...

    @property
    def anomalies(self) -> int: ...

    def send(self, request: P.Request, timeout: float, *, generation: int | None = None) -> Any:
        """One typed request and its typed reply. `generation`: the ids in the request were
        resolved in that generation; raise `LeanRestarted` if Lean restarted since."""
        ...

    def ensure_running(self) -> None: ...
    def deadline(self, when: float | None) -> AbstractContextManager[None]: ...
    def sync(self, timeout: float = 30.0) -> int: ...
    def start(self) -> None: ...
    def close(self) -> None: ...


class _Anomaly:
    """A break of the reply stream seen by the reader: queued so the waiting request raises."""

    def __init__(self, why: str) -> None:
        self.why = why


@dataclass
class _Stream:
    """The reply side of one Lean process. The reader thread is the only one that classifies
    lines, so the one-reply-per-request check cannot race with the waiting thread."""

    prefix: bytes
    replies: queue.Queue[Any] = field(default_factory=queue.Queue)
    # The id whose reply may come next ("ready" before the first request), None when none may.
    expected: int | str | None = "ready"
    lock: threading.Lock = field(default_factory=threading.Lock)
    memory_fault: str = ""  # set by the watchdog when it killed the process for its memory


class LeanProcess:
    """A local Lean process running our interaction server (a `Transport`). Thread-safe."""

    def __init__(self, config: LeanConfig | None = None, *, runtime: Runtime | None = None) -> None:
        self.config = config or LeanConfig()
        self._runtime = runtime
        self.stats = ServerStats()
        self.lock = threading.RLock()
        self.lean_version = ""
        self.on_late_state: Callable[[int], None] | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._stream = _Stream(b"")
        self._output: deque[str] = deque(maxlen=200)
        self._chan: Path | None = None
        self._requests: int | None = None
        self._log_name = "requests.jsonl"
        self._log_bytes = 0
        self._nonce = ""
        self._goals_tag = ""  # a second secret: it appears in elaborated source, the nonce never
        self._seq = 0
        self._anomalies = 0
        self._anomaly_lock = threading.Lock()
        self._failed_restarts = 0  # restarts in a row without a successful reply since
        self._deadline: float | None = None
        # A request cut by the caller's deadline whose reply is still due: (seq, give up at, request).
        self._cut: tuple[int, float, P.Request | None] | None = None
        self._spawned = False  # a process was started once: later starts are restarts
        self._generation = 0
        self._closed = False

    # ----------------------------------------------------------------- state

    @property
    def runtime(self) -> Runtime:
        if self._runtime is None:
            self._runtime = resolve_runtime(
                self.config.runtime, self.config.cache_dir, self.config.toolchain_dir,
                install=self.config.install,
            )
        return self._runtime

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def generation(self) -> int:
        return self._generation

    @property
    def goals_tag(self) -> str:
        return self._goals_tag

    @property
    def anomalies(self) -> int:
        """Breaks of the reply stream seen so far (forged-looking or unexpected replies). Monotonic:
        a verdict is only trustworthy if this did not change while its requests ran."""
        return self._anomalies

    def _anomaly(self, stream: _Stream, why: str) -> None:
        with self._anomaly_lock:
            self._anomalies += 1
        stream.replies.put(_Anomaly(why))

    def sync(self, timeout: float = 30.0) -> int:
        """One round trip, after which every reply to earlier requests has been read (Lean answers
        in order); returns `anomalies`. Raises `LeanProtocolError` if the stream broke."""
        self.send(P.Ping(), timeout)
        with self.lock:
            stream = self._stream
            while True:
                try:
                    msg = stream.replies.get_nowait()
                except queue.Empty:
                    break
                if isinstance(msg, _Anomaly):
                    self._kill()
                    raise LeanProtocolError(f"reply stream broken: {msg.why}")
        return self._anomalies

    @contextlib.contextmanager
    def deadline(self, when: float | None) -> Iterator[None]:
        """Within this block, no request, restart or backoff runs past `when` (a `time.monotonic()`
        value; None: no limit): past it a request raises `LeanTimeout` (and a restart in progress
        is abandoned, its process killed). For callers with a wall budget, e.g. a search."""
        old = self._deadline
        if when is not None and old is not None:
            when = min(when, old)
        self._deadline = when
        try:
            yield
        finally:
            self._deadline = old

    def _capped(self, timeout: float) -> float:
        """`timeout` shortened to the active `deadline`; raises `LeanTimeout` once it has passed."""
        if self._deadline is None:
            return timeout
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise LeanTimeout("the caller's deadline passed before this request could run")
        return min(timeout, left)

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> None:
        """Start Lean and wait until it is ready (a no-op if it is running)."""
        with self.lock:
            if self.alive:
                return
            if self._closed:
                raise LeanServerError("this LeanServer was closed")
            self._spawn()

    def _spawn(self) -> None:
        runtime = self.runtime
        t0 = time.monotonic()
        self._spawned = True
        self._chan = Path(tempfile.mkdtemp(prefix="prover-lean-", dir="/tmp"))
        write_server_file(self._chan / SERVER_FILE)
        req = self._chan / "req"
        req.mkdir()
        # Requests are appended, one JSON line each, to a log that Lean keeps open.
        self._log_name, self._log_bytes = "requests.jsonl", 0
        self._requests = os.open(req / self._log_name, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._nonce = secrets.token_hex(16)
        self._goals_tag = secrets.token_hex(16)
        # The nonce goes to Lean through a file that exists only until `ready` (never the
        # environment, which elaborated code can read at any time).
        nonce_file = req / "nonce"
        fd = os.open(nonce_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(self._nonce)
        self._seq = 0
        stream = self._stream = _Stream(f"@@PROVER:{self._nonce}@@ ".encode())
        env = {k: v for k, v in os.environ.items() if not k.startswith("PROVER_")}
        env.update(runtime.env)
        env.update({
            "PROVER_CHANNEL": str(req),
            # The embedded Lean's file system holds only these host directories, read-only.
            "PROVER_MOUNTS": ":".join((*runtime.mounts, str(self._chan))),
        })
        if self.config.lean_num_threads:
            env["LEAN_NUM_THREADS"] = str(self.config.lean_num_threads)
        command = [*runtime.command, SERVER_FILE]
        if runtime.kind == "native":
            command = native_sandbox(command, self._chan)
        proc = self._proc = subprocess.Popen(
            command, cwd=self._chan, env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
        )
        threading.Thread(target=self._read_stdout, args=(proc, stream), daemon=True).start()
        if self.config.memory_limit_mb:
            threading.Thread(target=self._watch_memory, args=(proc, stream), daemon=True).start()
        atexit.register(self.close)
        try:
            ready = self._wait_reply(None, time.monotonic() + self._capped(self.config.start_timeout))
        except LeanTimeout as e:
            self._kill()
            raise LeanStartupError(f"Lean was not ready after {self.config.start_timeout:.0f} s "
                                   f"(or the caller's deadline passed)\n{self.recent_output()}") from e
        except LeanCrashed as e:
            if stream.memory_fault:
                raise
            raise LeanStartupError(f"Lean exited while starting:\n{self.recent_output()}") from e
        finally:
            nonce_file.unlink(missing_ok=True)
        if not ready.get("ready"):
            raise LeanStartupError(f"unexpected first reply {ready!r}")
        try:
            P.check_ready(ready)
        except LeanProtocolError as e:
            self._kill()
            raise LeanStartupError(str(e)) from None
        self.lean_version = ready.get("lean_version", "")
        self._generation += 1
        self.stats.start_seconds.append(time.monotonic() - t0)

    def _read_stdout(self, proc: subprocess.Popen[bytes], stream: _Stream) -> None:
        """Classify every stdout line of one process: the one reply expected, an anomaly, or
        output (kept for error messages)."""
        prefix = stream.prefix
        if proc.stdout is None:  # cannot happen with stdout=PIPE; keeps the type checker honest
            return
        for raw in proc.stdout:
            if raw.startswith(prefix):
                try:
                    msg = json.loads(raw[len(prefix):])
                    rid = msg.get("id") if isinstance(msg, dict) else "?"
                except (json.JSONDecodeError, RecursionError) as e:
                    # (A reply nested deeper than Python's recursion limit, e.g. the parse tree
                    # of a hostile statement, cannot be read either: the request fails, never hangs.)
                    self._anomaly(stream, f"unparseable reply: {e}: {raw[:200]!r}")
                    continue
                with stream.lock:
                    expected = stream.expected
                    ok = (rid is None and expected == "ready") or (rid is not None and rid == expected)
                    if ok:
                        stream.expected = None  # a second reply for the same request is an anomaly
                if ok:
                    stream.replies.put(msg)
                else:
                    self._anomaly(stream, f"unexpected reply for request {rid!r} (waiting for "
                                          f"{expected!r}): a duplicate, or printed by code in Lean")
            elif _FRAMED.search(raw):
                # A frame with another nonce: only code running inside Lean prints those.
                self._anomaly(stream, f"framed line with a wrong nonce: {raw[:120]!r}")
            elif raw.strip():  # not the idle heartbeat
                self._output.append(raw.decode("utf-8", "replace").rstrip("\n"))
        stream.replies.put(_EOF)

    def _watch_memory(self, proc: subprocess.Popen[bytes], stream: _Stream) -> None:
        """Kill the process group once its resident memory passes `memory_limit_mb`."""
        limit = self.config.memory_limit_mb or 0
        while proc.poll() is None:
            rss = tree_rss_mb(proc.pid)
            if rss > limit:
                stream.memory_fault = (f"the Lean process hit the memory limit ({rss} MiB resident > "
                                       f"memory_limit_mb={limit}) and was killed")
                self.stats.memory_kills += 1
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
                return
            time.sleep(self.config.memory_poll_s)

    def recent_output(self, lines: int = 30) -> str:
        """The last lines Lean printed outside the protocol (for error messages)."""
        return "\n".join(list(self._output)[-lines:])

    def _kill(self) -> None:
        proc, self._proc = self._proc, None
        self._cut = None
        if proc is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=30)
            if proc.stdout is not None:
                proc.stdout.close()
        if self._requests is not None:
            with contextlib.suppress(OSError):
                os.close(self._requests)
            self._requests = None
        if self._chan is not None:
            shutil.rmtree(self._chan, ignore_errors=True)
            self._chan = None

    def close(self) -> None:
        """Stop Lean (politely, then by force) and remove the channel. Idempotent."""
        with self.lock:
            self._closed = True
            if self.alive:
                with contextlib.suppress(LeanServerError, OSError):
                    self.send(P.Exit(), timeout=10)
            self._kill()
            atexit.unregister(self.close)

    def ensure_running(self) -> None:
        """Settle a request the previous caller's deadline cut (await its late reply, or kill and
        restart Lean), so that the next caller's clock does not pay for it.

        Raises:
            LeanServerError: as a request would (closed, auto_restart off, the start failed).
        """
        with self.lock:
            self._settle_cut()
            self._ensure_running()

    def restart(self) -> None:
        """Kill and start again (at once, no backoff)."""
        with self.lock:
            self._kill()
            self.stats.restarts += 1
            self._spawn()

    def _ensure_running(self) -> None:
        if self.alive:
            return
        if self._closed:
            raise LeanServerError("this LeanServer was closed")
        if not self._spawned:
            self._spawn()
            return
        if not self.config.auto_restart:
            raise LeanCrashed("the Lean process is not running and auto_restart is off")
        self._kill()
        # Bounded exponential backoff: the n-th restart in a row without a successful reply in
        # between waits restart_backoff * 2**(n-1) s (the first none), at most restart_backoff_max.
        n = self._failed_restarts
        if n:
            delay = min(self.config.restart_backoff * 2 ** (n - 1), self.config.restart_backoff_max)
            if self._deadline is not None and time.monotonic() + delay >= self._deadline:
                raise LeanTimeout("the caller's deadline would pass during the restart backoff")
            time.sleep(delay)
        self._failed_restarts = n + 1
        self.stats.restarts += 1
        self._spawn()

    def _settle_cut(self) -> None:
        """Wait (up to `cut_reply_wait`) for the reply to a request the caller's deadline cut,
        and release what it created; Lean is killed if it does not come (restarted on demand)."""
        cut, self._cut = self._cut, None
        if cut is None or not self.alive:
            return
        seq, until, request = cut
        try:
            raw = self._wait_reply(seq, until)
        except LeanServerError:
            return  # killed: the next request restarts it
        if request is not None and raw.get("ok") is True and self.on_late_state is not None:
            with contextlib.suppress(LeanServerError, KeyError, TypeError, ValueError):
                state = getattr(P.decode_reply(request, raw), "state", None)
                if isinstance(state, int):
                    self.on_late_state(state)

    # ----------------------------------------------------------------- requests

    def _wait_reply(self, seq: int | None, deadline: float, *, cut_by_caller: bool = False) -> dict[str, Any]:
        """The reply to request `seq` (None: the `ready` line). The reader has already checked it
        is the one reply expected; anything else arrives here as an `_Anomaly`. `cut_by_caller`:
        `deadline` is the caller's, earlier than the request's own timeout (see `cut_reply_wait`)."""
        stream = self._stream
        remaining = deadline - time.monotonic()
        try:
            msg = stream.replies.get(timeout=max(remaining, 0.001))
        except queue.Empty:
            if cut_by_caller and seq is not None and self.config.cut_reply_wait > 0:
                self._cut = (seq, time.monotonic() + self.config.cut_reply_wait, None)
                raise LeanTimeout("the caller's deadline passed while Lean ran this request; Lean "
                                  "was left running and its reply is awaited before the next "
                                  "request") from None
            self._kill()
            raise LeanTimeout("Lean did not answer in time; its process was killed and will be "
                              "restarted on the next request") from None
        if msg is _EOF:
            code = self._proc.poll() if self._proc is not None else None
            self._kill()
            if stream.memory_fault:
                raise LeanCrashed(stream.memory_fault + "; it will be restarted on the next request")
            raise LeanCrashed(f"the Lean process exited (code {code}) before answering; "
                              f"it will be restarted on the next request.\n{self.recent_output(10)}")
        if isinstance(msg, _Anomaly):
            self._kill()
            raise LeanProtocolError(f"reply stream broken, Lean was killed: {msg.why}")
        if msg.get("id") != seq:  # the reader let it through, so this cannot happen
            self._kill()
            raise LeanProtocolError(f"reply for request {msg.get('id')} while waiting for {seq}")
        return msg

    def send(self, request: P.Request, timeout: float, *, generation: int | None = None) -> Any:
        """One typed request, its typed reply (`prover.lean.protocol`). `generation`: the request
        holds Lean-side ids of that generation (`LeanRestarted` if Lean restarted since)."""
        with self.lock:
            self._settle_cut()
            self._ensure_running()
            if generation is not None and generation != self._generation:
                raise LeanRestarted("the Lean process restarted after this request's ids were "
                                    "resolved; the request was not sent")
            if self._log_bytes >= self.config.request_log_max_bytes:
                self._rotate_log()
            try:
                reply = self._request(request.to_json(), timeout)
            except LeanTimeout:
                if self._cut is not None:  # its late reply is decoded against this request
                    self._cut = (self._cut[0], self._cut[1], request)
                raise
            self._failed_restarts = 0  # Lean is healthy again: the backoff starts over
            decoded = P.decode_reply(request, reply)
            self.stats.lean_seconds += getattr(decoded, "lean_ns", 0) / 1e9
            return decoded

    def _rotate_log(self) -> None:
        """Switch Lean to a fresh request log and delete the old one (Lean confirms first, so no
        request is written where Lean no longer reads)."""
        if self._chan is None or self._requests is None:
            return
        name = f"requests-{self.stats.log_rotations + 1}.jsonl"
        new = self._chan / "req" / name
        fd = os.open(new, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            self._request(P.Rotate(name).to_json(), 30.0)
        except BaseException:
            os.close(fd)
            raise
        old_fd, old_name = self._requests, self._log_name
        self._requests, self._log_name, self._log_bytes = fd, name, 0
        os.close(old_fd)
        (self._chan / "req" / old_name).unlink(missing_ok=True)
        self.stats.log_rotations += 1

    def _request(self, payload: dict[str, Any], timeout: float) -> dict[str, Any]:
        """One request and its raw successful reply (the caller holds the lock). A refusal (the
        error record) raises: `InvalidRequest` for a malformed request, else `LeanProtocolError`
        (the client asked for something the server does not hold)."""
        reply = self._exchange(payload, timeout)
        if reply.get("ok") is not True:
            err = P.decode_error(reply)
            if err.category is P.ErrorCategory.MALFORMED_REQUEST:
                raise InvalidRequest(err.desc)
            raise LeanProtocolError(f"{err.category.value}: {err.desc}")
        return reply

    def _exchange(self, payload: dict[str, Any], timeout: float) -> dict[str, Any]:
        """Write one request and wait for its reply, whatever it says (the caller holds the lock)."""
        if self._requests is None:
            raise LeanCrashed("the Lean process has no channel (it was stopped)")
        seq = self._seq
        data = json.dumps({**payload, "id": seq}, ensure_ascii=False)
        if len(data) > self.config.max_request_chars:
            raise InvalidRequest(f"request of {len(data)} characters exceeds the limit of "
                                 f"{self.config.max_request_chars}")
        own = timeout
        timeout = self._capped(timeout)
        # Only a request that is really written takes a number: replies are matched by it.
        self._seq += 1
        with self._stream.lock:
            self._stream.expected = seq
        t0 = time.monotonic()
        line = (data + "\n").encode("utf-8")
        # One write call per request: Lean never sees half a request unless the kernel splits
        # it, and then it waits for the newline.
        written = os.write(self._requests, line)
        while written < len(line):
            written += os.write(self._requests, line[written:])
        self._log_bytes += len(line)
        reply = self._wait_reply(seq, t0 + timeout, cut_by_caller=timeout < own)
        self.stats.requests += 1
        self.stats.wall_seconds += time.monotonic() - t0
        return reply


def tree_rss_mb(pid: int) -> int:
    """Resident memory (MiB) of `pid` and its descendants, from /proc (0 where unreadable)."""
    total_kb, todo, seen = 0, [pid], set()
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        with contextlib.suppress(OSError, ValueError):
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kb += int(line.split()[1])
                    break
        with contextlib.suppress(OSError):
            for task in os.listdir(f"/proc/{p}/task"):
                with contextlib.suppress(OSError, ValueError):
                    todo += [int(c) for c in Path(f"/proc/{p}/task/{task}/children").read_text().split()]
    return total_kb // 1024
