"""`LeanServer`: one long-lived Lean process running our interaction server, and its client.

The Lean side (parts in `lean_project/ProverServer/`) imports once and answers JSON requests. Requests go
through a log file in a private channel directory under /tmp (stdin and FIFOs fail on the embedded
WebAssembly Lean); replies come back on stdout as lines framed with a per-process nonce. One request
is in flight at a time per server; use `LeanServerPool` for parallel work.

Why a reply cannot be forged from inside Lean (code elaborated in a request may run: trusted-mode
`#eval`, or anything that slips past the guard): the nonce never enters Lean's environment, the
request log or any file that exists while requests run. It is written to `<channel>/nonce`, read by
Lean once at start, and deleted by the client when `ready` arrives; the `prover_capture` tag, which
elaborated source must contain, is a second, separate secret. Beyond that the reader is a tripwire:
any stdout line that looks framed but has another nonce, any reply with an id that is not the one
request in flight, and any second reply for it is an *anomaly*: counted in `LeanServer.anomalies`
(monotonic), and the request waiting (or the next one) raises `LeanProtocolError` after the process
is killed. A caller that must trust a verdict compares `anomalies` before and after its requests
and calls `sync()` at the end (a round trip, so every reply to earlier requests has arrived).

Proof states live in the Lean process (`open_proof` / `step` / `forget_states`): a step restores
the stored elaboration state and runs the new tactic alone, on one chosen goal. The client also
keeps each state's record (stored header environment, statement, tactic path), so states survive
a restart of the Lean process: a state whose Lean-side id is from a dead process is rebuilt by
re-running its path in the new one (the header is re-elaborated lazily there too).

Every request and reply is a typed dataclass of `prover.lean.protocol`, mirrored on the Lean side.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
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
from collections import OrderedDict, deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from prover.lean import protocol as P
from prover.lean import syntax
from prover.lean.errors import (
    InvalidRequest,
    LeanCrashed,
    LeanProtocolError,
    LeanServerError,
    LeanStartupError,
    LeanTimeout,
)
from prover.lean.exprs import GoalTerms, RefuteStatus, goal_terms_from_json
from prover.lean.runtime import Runtime, native_sandbox, resolve_runtime
from prover.lean.server_source import SERVER_FILE, write_server_file
from prover.lean.snippet import ensure_text
from prover.lean.types import (
    CommandResult,
    DeclInfo,
    ErrorKind,
    Goal,
    LeanError,
    LeanMessage,
    ProofFinished,
    ProofState,
    Severity,
    TacticResult,
    indent_tactic,
    messages_from,
)

MAX_TACTIC_CHARS = 20_000
PARSE_CACHE_SIZE = 8192
_EOF = object()


@dataclass(frozen=True)
class LeanConfig:
    """How to run Lean. Every field has a default that works on a machine without a toolchain."""

    runtime: str = "auto"  # "auto" (native if found, else embedded), "native" or "wasm"
    cache_dir: Path | None = None  # default: $PROVER_CACHE_DIR or ~/.cache/prover
    toolchain_dir: Path | None = None  # a native toolchain root (contains bin/lean)
    start_timeout: float = 600.0  # seconds until the server must be ready
    request_timeout: float = 300.0  # wall clock for a command (`check`, opening a proof)
    tactic_timeout: float = 60.0  # wall clock for one tactic step
    heartbeats: int = 200_000  # Lean's maxHeartbeats for one step (its own, deterministic limit)
    max_request_chars: int = 1_000_000
    auto_restart: bool = True  # restart a dead process on the next request
    # Restarts after a failure wait restart_backoff * 2**(n-1) s (n-th in a row, capped) so a crash
    # loop cannot spin; a successful reply resets n, so a long healthy session restarts freely.
    restart_backoff: float = 0.5
    restart_backoff_max: float = 30.0
    # When a caller's deadline (not the request's own timeout) cuts a request, Lean is left running
    # and the next request first waits this long for the late reply; only then is Lean killed. A
    # restart of the embedded Lean costs ~25 s, and most cut tactics finish within a few seconds.
    cut_reply_wait: float = 5.0
    memory_limit_mb: int | None = 8192  # RSS of Lean's process tree; killed past it (None: no limit)
    memory_poll_s: float = 0.5  # how often the memory watchdog looks
    request_log_max_bytes: int = 64 << 20  # past this, Lean is switched to a fresh request log
    lean_num_threads: int | None = None
    install: bool = True  # install the embedded runtime on first use


@dataclass(frozen=True)
class ParseResult:
    """Syntax of a text in a category, without elaboration; what the guard decides on."""

    ok: bool
    error: str = ""
    kinds: tuple[str, ...] = ()
    atoms: tuple[str, ...] = ()
    idents: tuple[str, ...] = ()
    lean_seconds: float = 0.0
    tree: syntax.Syntax = None  # Lean's parse tree (the guard decides on this)

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "error": self.error, "kinds": list(self.kinds), "atoms": list(self.atoms),
                "idents": list(self.idents), "lean_seconds": self.lean_seconds,
                "tree": syntax.to_json(self.tree)}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ParseResult:
        return cls(d["ok"], d.get("error", ""), tuple(d.get("kinds", ())), tuple(d.get("atoms", ())),
                   tuple(d.get("idents", ())), d.get("lean_seconds", 0.0), syntax.from_json(d.get("tree")))


@dataclass(frozen=True)
class CommandRead:
    """One command read by Lean's command parser (`next_command`), not yet elaborated.

    `text` runs from the requested position to where the parser stopped (comments included);
    `tree` is Lean's parse of `text` on its own, which is what gets guarded and then elaborated.
    """

    eoi: bool  # nothing but whitespace and comments was left
    text: str = ""
    end: int = 0  # byte offset after the command, to read the next one from
    errors: tuple[LeanMessage, ...] = ()
    one: bool = False  # `text` alone is exactly one command, read without error
    same: bool = False  # both readings (in context, alone) gave the same tree
    tree: syntax.Syntax = None
    lean_seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {"eoi": self.eoi, "text": self.text, "end": self.end,
                "errors": [m.to_json() for m in self.errors], "one": self.one, "same": self.same,
                "tree": syntax.to_json(self.tree), "lean_seconds": self.lean_seconds}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> CommandRead:
        return cls(d["eoi"], d.get("text", ""), d.get("end", 0),
                   tuple(LeanMessage.from_json(m) for m in d.get("errors", ())), d.get("one", False),
                   d.get("same", False), syntax.from_json(d.get("tree")), d.get("lean_seconds", 0.0))


@dataclass(frozen=True)
class AuditFinding:
    """Something submitted text declared that changes what a core name or notation means."""

    name: str  # the declaration (or alias) as the user wrote it
    problem: str  # "shadows", "alias" or "core_instance"
    what: tuple[str, ...]  # the core names hidden, or the class instantiated

    def __str__(self) -> str:
        if self.problem == "core_instance":
            return (f"`{self.name}` is an instance of the core class `{self.what[0]}` on core types only: "
                    "it would change what core notation means")
        if self.problem == "alias":
            return f"`open … renaming/(…)` makes `{self.name}` (a core name) mean `{self.what[0]}`"
        return f"`{self.name}` hides the core name(s) {', '.join(f'`{w}`' for w in self.what)}"


@dataclass(frozen=True)
class ReplayResult:
    """The kernel's verdict on re-adding submitted declarations to a never-modified environment."""

    checked: int  # how many constants were re-sent to the kernel
    error: str | None  # None: every one was accepted
    lean_seconds: float = 0.0


class TacticGuard(Protocol):
    """Decides, from a tactic's parsed syntax, whether it may run. Returns a reason to reject."""

    def check_tactic(self, tactic: str, parsed: ParseResult) -> str | None: ...


class _DefaultGuard:
    """Marker for "use the default guard" (so that `guard=None` can mean no guard)."""


DEFAULT_GUARD = _DefaultGuard()


@dataclass
class _EnvRecord:
    code: str  # header commands ("" for the base environment after the import)
    lean_id: int | None  # id in the current process, None until (re-)elaborated there
    generation: int


@dataclass(frozen=True)
class _Step:
    tactic: str  # as the caller gave it (guarded), run on goal `goal` alone
    goal: int
    heartbeats: int


@dataclass(frozen=True)
class _StateRecord:
    """What a proof state is, independent of any Lean process: enough to rebuild it."""

    env: int
    statement: str
    tactics: tuple[str, ...]  # the path as a Lean tactic script (what the verifier checks)
    steps: tuple[_Step, ...] = ()  # the path as in-memory steps (what a replay re-runs)
    goals: int = 1  # how many goals are open


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


# Anything on stdout that looks like a framed reply, whatever its nonce.
_FRAMED = re.compile(rb"@@PROVER:")


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


class LeanServer:
    """A Lean process answering requests; a context manager. Thread-safe (requests serialise).

    `anomalies` counts breaks of the reply stream (see the module docstring); it only grows.
    """

    def __init__(self, config: LeanConfig | None = None, *, runtime: Runtime | None = None,
                 guard: TacticGuard | _DefaultGuard | None = DEFAULT_GUARD) -> None:
        """`guard` decides which tactics may run: by default `prover.lean.guard.SyntaxGuard()`;
        pass `None` for raw, unguarded access (tests of Lean itself, trusted callers)."""
        self.config = config or LeanConfig()
        self._runtime = runtime
        if isinstance(guard, _DefaultGuard):
            # Imported here: guard.py imports this module (for types).
            from prover.lean.guard import SyntaxGuard
            guard = SyntaxGuard()
        self.guard: TacticGuard | None = guard
        self.stats = ServerStats()
        self._lock = threading.RLock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._stream = _Stream(b"")
        self._output: deque[str] = deque(maxlen=200)
        self._chan: Path | None = None
        self._requests: int | None = None
        self._log_name = "requests.jsonl"
        self._log_bytes = 0
        self._parse_cache: OrderedDict[tuple[int, str, str], ParseResult] = OrderedDict()
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
        self._envs: dict[int, _EnvRecord] = {0: _EnvRecord("", 0, 0)}
        self._states: dict[int, _StateRecord] = {}
        # Client state id -> (Lean-side state id, generation of the process that holds it).
        self._live: dict[int, tuple[int, int]] = {}
        self._forget_pending: list[int] = []  # Lean-side ids to release (current generation)
        self.replays = 0  # states rebuilt by replay after a restart
        self._ids = itertools.count(1)
        self.lean_version = ""
        self._closed = False

    # ----------------------------------------------------------------- process lifecycle

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
        self.ping(timeout)
        with self._lock:
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

    def start(self) -> LeanServer:
        """Start Lean and wait until it is ready (a no-op if it is running)."""
        with self._lock:
            if self.alive:
                return self
            if self._closed:
                raise LeanServerError("this LeanServer was closed")
            self._spawn()
            return self

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
        self._forget_pending = []  # ids of the dead process mean nothing to this one
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
            rss = _tree_rss_mb(proc.pid)
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
        with self._lock:
            self._closed = True
            if self.alive:
                with contextlib.suppress(LeanServerError, OSError):
                    self._send(P.Exit(), timeout=10)
            self._kill()
            atexit.unregister(self.close)

    def ensure_running(self) -> None:
        """Settle a request the previous caller's deadline cut (await its late reply, or kill and
        restart Lean), so that the next caller's clock does not pay for it.

        Raises:
            LeanServerError: as a request would (closed, auto_restart off, the start failed).
        """
        with self._lock:
            self._settle_cut()
            self._ensure_running()

    def restart(self) -> None:
        """Kill and start again (at once, no backoff); existing proof states stay usable."""
        with self._lock:
            self._kill()
            self.stats.restarts += 1
            self._spawn()

    def __enter__(self) -> LeanServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----------------------------------------------------------------- requests

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
        if request is not None and raw.get("ok") is True:
            with contextlib.suppress(LeanServerError, KeyError, TypeError, ValueError):
                state = getattr(P.decode_reply(request, raw), "state", None)
                if isinstance(state, int):
                    self._forget_lean([state])

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

    def _send(self, request: P.Request, timeout: float) -> Any:
        """One typed request, its typed reply (`prover.lean.protocol`)."""
        with self._lock:
            self._settle_cut()
            self._ensure_running()
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

    def _lean_env(self, handle: int) -> int:
        """The Lean-side id of stored environment `handle`, re-elaborating it after a restart."""
        rec = self._envs.get(handle)
        if rec is None:
            raise InvalidRequest(f"unknown environment {handle} (forgotten?)")
        # Restart first if needed: ids from a dead process's generation mean nothing to the next.
        self._ensure_running()
        if rec.lean_id is not None and rec.generation == self._generation:
            return rec.lean_id
        reply = self._send(P.Exec(rec.code, keep=True), self.config.request_timeout)
        rec.lean_id, rec.generation = reply.env, self._generation
        return rec.lean_id

    def ping(self, timeout: float = 30.0) -> bool:
        return bool(self._send(P.Ping(), timeout).pong)

    def check(self, code: str | bytes, *, env: int = 0, keep: bool = False,
              timeout: float | None = None) -> CommandResult:
        """Elaborate Lean commands on top of stored environment `env` (0: just `import Lean`).

        With `keep`, the resulting environment is stored and its handle is `result.env_id`.
        """
        code = ensure_text(code, "code")
        with self._lock:
            lean_env = self._lean_env(env)
            reply = self._send(P.Exec(code, env=lean_env, keep=keep), timeout or self.config.request_timeout)
            handle = None
            if keep:
                handle = next(self._ids)
                self._envs[handle] = _EnvRecord(code, reply.env, self._generation)
        return CommandResult(
            messages=messages_from(reply.messages),
            env_id=handle,
            elab_seconds=reply.elab_ns / 1e9,
            lean_seconds=reply.lean_ns / 1e9,
        )

    def forget_env(self, handle: int) -> None:
        """Drop a stored environment here and in Lean."""
        with self._lock:
            for key in [k for k in self._parse_cache if k[0] == handle]:
                del self._parse_cache[key]
            rec = self._envs.pop(handle, None)
            if rec and rec.lean_id and rec.generation == self._generation and self.alive:
                self._send(P.Forget((rec.lean_id,)), 30)

    def parse(self, text: str | bytes, category: str = "tactic", *, env: int = 0) -> ParseResult:
        """Parse `text` in a syntax category without elaborating it.

        Results are cached per (environment, category, text): a search asks for the same tactics
        at many nodes, and the parse depends only on the header's syntax, not on the goal.
        """
        text = ensure_text(text, "text")
        key = (env, category, text)
        if (hit := self._parse_cache.get(key)) is not None:
            self._parse_cache.move_to_end(key)
            return replace(hit, lean_seconds=0.0)
        result = self._parse_uncached(text, category, env)
        self._parse_cache[key] = result
        if len(self._parse_cache) > PARSE_CACHE_SIZE:
            self._parse_cache.popitem(last=False)
        return result

    def _parse_uncached(self, text: str, category: str, env: int) -> ParseResult:
        with self._lock:
            reply = self._send(P.Parse(category, text, env=self._lean_env(env)), self.config.request_timeout)
        lean_s = reply.lean_ns / 1e9
        if not reply.parsed:
            return ParseResult(False, error=reply.parse_error, lean_seconds=lean_s)
        return ParseResult(True, kinds=reply.kinds, atoms=reply.atoms, idents=reply.idents,
                           lean_seconds=lean_s, tree=syntax.from_json(reply.tree))

    def next_command(self, code: str | bytes, pos: int = 0, *, env: int = 0) -> CommandRead:
        """Read (parse, not elaborate) the command at byte offset `pos` of `code` in environment `env`."""
        code = ensure_text(code, "code")
        with self._lock:
            reply = self._send(P.NextCommand(code, pos, env=self._lean_env(env)), self.config.request_timeout)
        if reply.eoi:
            return CommandRead(eoi=True)
        return CommandRead(
            eoi=False, text=reply.text, end=reply.end, errors=messages_from(reply.errors), one=reply.one,
            same=reply.same, tree=syntax.from_json(reply.tree), lean_seconds=reply.lean_ns / 1e9,
        )

    def known_tokens(self, tokens: Iterable[str], *, env: int = 0) -> tuple[bool, ...]:
        """For each text, whether it is already a token of environment `env`'s parser."""
        toks = [ensure_text(t, "token") for t in tokens]
        with self._lock:
            reply = self._send(P.Tokens(tuple(toks), env=self._lean_env(env)), self.config.request_timeout)
        return reply.known

    def audit(self, env: int, *, namespaces: Iterable[str] = ()) -> tuple[AuditFinding, ...]:
        """What the code in stored environment `env` declared that changes core names or notation,
        seen from where a statement is elaborated (plus `namespaces`, e.g. the theorem's prefix)."""
        with self._lock:
            reply = self._send(P.Audit(self._lean_env(env), tuple(namespaces)), self.config.request_timeout)
        return tuple(AuditFinding(f.name, f.problem, f.what) for f in reply.findings)

    def replay(self, env: int, names: Iterable[str], *, heartbeats: int | None = None,
               timeout: float | None = None) -> ReplayResult:
        """Send every submitted constant the named declarations depend on to the kernel again, on
        top of the environment right after the import (where kernel checking was never off)."""
        with self._lock:
            request = P.Replay(self._lean_env(env), tuple(names), heartbeats or self.config.heartbeats)
            reply = self._send(request, timeout or self.config.request_timeout)
        return ReplayResult(reply.checked, reply.error, reply.lean_ns / 1e9)

    def decl_info(self, env: int, name: str, *, compare_env: int | None = None,
                  compare_name: str = "") -> DeclInfo:
        """Kind, axioms and (optionally) type identity of a declaration in a stored environment."""
        with self._lock:
            request = P.Decl(name, env=self._lean_env(env))
            if compare_env is not None:
                request = replace(request, cmp_env=self._lean_env(compare_env), cmp_name=compare_name or name)
            reply = self._send(request, self.config.request_timeout)
        if not reply.found:
            return DeclInfo(found=False)
        return DeclInfo(found=True, kind=reply.kind, axioms=tuple((a.name, a.module) for a in reply.axioms),
                        is_unsafe=reply.unsafe, same_type=reply.same_type)

    # ----------------------------------------------------------------- proofs

    def _open_code(self, statement: str, heartbeats: int) -> str:
        return (f"set_option maxHeartbeats {heartbeats} in\n{statement} := by\n"
                f'  prover_capture "{self._goals_tag}"\n')

    def _open_live(self, rec: _StateRecord, heartbeats: int, timeout: float) -> tuple[
            int | None, tuple[Goal, ...], LeanError | None, float]:
        """Elaborate the statement in the current process and keep its state there."""
        lean_env = self._lean_env(rec.env)
        code = self._open_code(rec.statement, heartbeats)
        reply = self._send(P.OpenProof(code, self._goals_tag, env=lean_env), timeout)
        lean_s = reply.lean_ns / 1e9
        messages = messages_from(reply.messages)
        if (error := _step_error(messages, lean_s)) or reply.state is None:
            if reply.state is not None:
                self._forget_lean([reply.state])
            return None, (), error or LeanError(ErrorKind.ELABORATION, messages, lean_seconds=lean_s,
                                                reason="Lean reported no goals for this statement"), lean_s
        return reply.state, tuple(Goal.from_json(g) for g in reply.goals), None, lean_s

    def _step_live(self, lean_id: int, step: _Step, timeout: float) -> tuple[
            int | None, tuple[Goal, ...], LeanError | None, float]:
        """Run one step on a Lean-side state; (new id, goals, error, Lean seconds)."""
        reply = self._send(P.Step(lean_id, step.tactic, step.goal, step.heartbeats), timeout)
        lean_s = reply.lean_ns / 1e9
        self.stats.tactic_seconds += reply.elab_ns / 1e9
        if reply.parse_error is not None:
            return None, (), LeanError(ErrorKind.PARSE, reason=f"not a tactic: {reply.parse_error}",
                                       lean_seconds=lean_s), lean_s
        messages = messages_from(reply.messages)
        if (error := _step_error(messages, lean_s)) or reply.state is None:
            return None, (), error or LeanError(ErrorKind.ELABORATION, messages, lean_seconds=lean_s,
                                                reason="the step failed"), lean_s
        return reply.state, tuple(Goal.from_json(g) for g in reply.goals), None, lean_s

    def _lean_state(self, sid: int) -> int:
        """The Lean-side id of client state `sid`, rebuilt by replaying its path after a restart."""
        self._ensure_running()
        live = self._live.get(sid)
        if live is not None and live[1] == self._generation:
            return live[0]
        rec = self._states[sid]
        timeout = self.config.request_timeout
        lean_id, _, error, _ = self._open_live(rec, self.config.heartbeats, timeout)
        for step in rec.steps:
            if error is not None or lean_id is None:
                break
            prev = lean_id
            lean_id, _, error, _ = self._step_live(prev, step, timeout)
            self._forget_lean([prev])
        if error is not None or lean_id is None:
            raise LeanServerError(f"replaying proof state {sid} after a restart failed: "
                                  f"{error.text if error else 'no state'}")
        self.replays += 1
        self._live[sid] = (lean_id, self._generation)
        return lean_id

    def _forget_lean(self, ids: Iterable[int], flush: bool = False) -> None:
        """Queue Lean-side states for release; sent in batches (one request per 256)."""
        self._forget_pending.extend(ids)
        if self._forget_pending and (flush or len(self._forget_pending) >= 256) and self.alive:
            batch, self._forget_pending = self._forget_pending, []
            self._send(P.ForgetStates(tuple(batch)), 30.0)

    def _new_state(self, rec: _StateRecord, lean_id: int, goals: tuple[Goal, ...],
                   lean_s: float) -> ProofState | ProofFinished:
        sid = next(self._ids)
        if not goals:
            self._forget_lean([lean_id])
            return ProofFinished(sid, rec.tactics, lean_seconds=lean_s)
        self._states[sid] = replace(rec, goals=len(goals))
        self._live[sid] = (lean_id, self._generation)
        return ProofState(sid, goals, rec.tactics, lean_seconds=lean_s)

    def open_proof(self, snippet: str | bytes, *, timeout: float | None = None,
                   heartbeats: int | None = None) -> ProofState | LeanError:
        """Start a proof of the theorem a snippet ends with (preceding definitions allowed).

        The snippet is untrusted: Lean reads it command by command, the guard decides on each
        header command and on the signature, and Lean audits what the header declared
        (`prover.lean.reader`). With `guard=None` (raw access) nothing is refused.
        """
        from prover.lean.reader import ReadError, ReadStage, compose_statement, read_snippet, statement_name
        timeout = timeout or self.config.request_timeout
        reading = read_snippet(self, snippet, self._snippet_guard(), timeout=timeout)
        if isinstance(reading, ReadError):
            kind = {ReadStage.PARSE: ErrorKind.PARSE, ReadStage.HEADER: ErrorKind.ELABORATION,
                    ReadStage.INPUT: ErrorKind.REJECTED}.get(reading.stage, ErrorKind.REJECTED)
            return LeanError(kind, reading.messages, reason=reading.reason)
        st = reading.statement
        fail: LeanError | None = None
        if st.proof is not None:
            fail = LeanError(ErrorKind.REJECTED, reason=(
                "the snippet's last theorem already has a proof; give the statement only (ending in "
                "`:= by` or nothing), or use `verify` for a complete proof"))
        else:
            name = statement_name(st)
            composed = compose_statement(self, st, name, "sorry", env=reading.env)
            if isinstance(composed, ReadError):
                fail = LeanError(ErrorKind.PARSE, composed.messages, reason=composed.reason)
        if fail is not None:
            if reading.env:
                self.forget_env(reading.env)
            return fail
        statement = f"theorem {name}{st.universes} {st.signature}"
        rec = _StateRecord(reading.env, statement, ())
        with self._lock:
            lean_id, goals, error, lean_s = self._open_live(rec, heartbeats or self.config.heartbeats,
                                                            timeout)
            if error is None and lean_id is not None and not goals:  # a statement with no goal
                self._forget_lean([lean_id])
                error = LeanError(ErrorKind.ELABORATION, reason="the statement has no goal to prove")
            if error is not None or lean_id is None:
                if reading.env:
                    self.forget_env(reading.env)
                return error or LeanError(ErrorKind.ELABORATION, reason="no state")
            result = self._new_state(rec, lean_id, goals, lean_s)
        if not isinstance(result, ProofState):  # cannot happen: goals is not empty
            raise LeanProtocolError("an opened proof had no goals")
        return result

    def _snippet_guard(self) -> Any:
        """The guard for snippets: the tactic guard if it can judge commands, else trusted mode."""
        from prover.lean.guard import SyntaxGuard
        if self.guard is not None and hasattr(self.guard, "check_command"):
            return self.guard
        return SyntaxGuard(trusted=True)

    def run_tactic(self, state: ProofState | int, tactic: str | bytes, *, goal: int = 0,
                   timeout: float | None = None, heartbeats: int | None = None) -> TacticResult:
        """Run one tactic on goal `goal` of `state`; the state itself is never changed. On goal 0
        the tactic sees every goal, as the next line of a tactic script would; on another goal it
        sees that goal alone and its new goals take that goal's place among the others.

        Heartbeats and the wall-clock timeout apply to this tactic alone. After a restart of the
        Lean process the state is first rebuilt by replaying its path (under `request_timeout`).
        """
        sid = state.id if isinstance(state, ProofState) else state
        rec = self._states.get(sid)
        if rec is None:
            raise InvalidRequest(f"unknown proof state {sid} (forgotten, or from another server)")
        try:
            tactic = ensure_text(tactic, "tactic")
        except InvalidRequest as e:
            return LeanError(ErrorKind.REJECTED, reason=str(e))
        if not tactic.strip():
            return LeanError(ErrorKind.REJECTED, reason="empty tactic")
        if len(tactic) > MAX_TACTIC_CHARS:
            return LeanError(ErrorKind.REJECTED,
                             reason=f"tactic of {len(tactic)} characters exceeds {MAX_TACTIC_CHARS}")
        tactic = tactic.strip("\n").rstrip()
        parsed = self.parse(tactic, "tactic", env=rec.env)
        if not parsed.ok:
            return LeanError(ErrorKind.PARSE, reason=f"not a tactic: {parsed.error}",
                             lean_seconds=parsed.lean_seconds)
        if self.guard is not None and (why := self.guard.check_tactic(tactic, parsed)):
            return LeanError(ErrorKind.REJECTED, reason=why, lean_seconds=parsed.lean_seconds)
        if not 0 <= goal < rec.goals:
            return LeanError(ErrorKind.REJECTED, reason=f"state {sid} has no goal {goal} "
                             f"({rec.goals} open)")
        step = _Step(tactic, goal, heartbeats or self.config.heartbeats)
        with self._lock:
            lean_id = self._lean_state(sid)
            new_id, goals, error, lean_s = self._step_live(lean_id, step,
                                                           timeout or self.config.tactic_timeout)
            # The step's Lean time includes the parse that preceded it.
            lean_s += parsed.lean_seconds
            if error is not None or new_id is None:
                return replace(error or LeanError(ErrorKind.ELABORATION), lean_seconds=lean_s)
            new = replace(rec, tactics=(*rec.tactics, _script_step(tactic, goal, rec.goals)),
                          steps=(*rec.steps, step))
            return self._new_state(new, new_id, goals, lean_s)

    def goal_terms(self, state: ProofState | int, *, cap: int = 50_000,
                   timeout: float | None = None) -> tuple[GoalTerms, ...]:
        """The open goals of `state` as Lean's elaborated expressions (hypotheses and target,
        metavariables instantiated): typed trees, one per goal, in the state's goal order. A goal
        over `cap` nodes (or nested too deeply to send) comes back `too_large`."""
        return tuple(goal_terms_from_json(g) for g in self.goal_terms_json(state, cap=cap, timeout=timeout))

    def goal_terms_json(self, state: ProofState | int, *, cap: int = 50_000,
                        timeout: float | None = None) -> tuple[Any, ...]:
        """`goal_terms` as the JSON the server sent (what the warm CLI server passes on)."""
        sid = state.id if isinstance(state, ProofState) else state
        if sid not in self._states:
            raise InvalidRequest(f"unknown proof state {sid} (forgotten, or from another server)")
        with self._lock:
            lean_id = self._lean_state(sid)
            reply = self._send(P.Terms(lean_id, cap), timeout or self.config.request_timeout)
        return reply.goals

    def refute(self, state: ProofState | int, assignments: Iterable[Iterable[tuple[str, str]]], *,
               goal: int = 0, heartbeats: int | None = None,
               timeout: float | None = None) -> tuple[RefuteStatus, ...]:
        """Ask Lean's kernel whether goal `goal` of `state` is false at each assignment (pairs of a
        free variable's id, as in `goal_terms`, and a value term elaborated at its type), in
        order, up to the first one confirmed: one status each. Only `CONFIRMED` means false: the
        kernel accepted `of_decide_eq_true rfl : ¬ (H₁ → … → T)` for the instantiated goal."""
        sid = state.id if isinstance(state, ProofState) else state
        rec = self._states.get(sid)
        if rec is None:
            raise InvalidRequest(f"unknown proof state {sid} (forgotten, or from another server)")
        if not 0 <= goal < rec.goals:
            raise InvalidRequest(f"state {sid} has no goal {goal} ({rec.goals} open)")
        asgs = tuple(tuple((fv, value) for fv, value in a) for a in assignments)
        with self._lock:
            lean_id = self._lean_state(sid)
            reply = self._send(P.Refute(lean_id, asgs, goal, heartbeats or self.config.heartbeats),
                               timeout or self.config.tactic_timeout)
        return tuple(RefuteStatus(r) for r in reply.results)

    def live_states(self) -> int:
        """How many proof states the Lean process holds now (pending releases sent first)."""
        with self._lock:
            self._forget_lean([], flush=True)
            return self._send(P.ForgetStates(()), 30.0).live

    def forget(self, states: Iterable[ProofState | int]) -> None:
        """Release proof states (and their header environments once no state uses them)."""
        with self._lock:
            envs = set()
            lean_ids = []
            for s in states:
                sid = s.id if isinstance(s, ProofState) else s
                rec = self._states.pop(sid, None)
                live = self._live.pop(sid, None)
                if live is not None and live[1] == self._generation:
                    lean_ids.append(live[0])
                if rec is not None and rec.env:
                    envs.add(rec.env)
            self._forget_lean(lean_ids, flush=True)
            in_use = {r.env for r in self._states.values()}
            for env in envs - in_use:
                self.forget_env(env)


def _step_error(messages: tuple[LeanMessage, ...], lean_s: float) -> LeanError | None:
    errors = [m for m in messages if m.severity is Severity.ERROR]
    if not errors:
        return None
    kind = ErrorKind.HEARTBEATS if any(_is_heartbeat_error(m) for m in errors) else ErrorKind.ELABORATION
    return LeanError(kind, messages, lean_seconds=lean_s)


def _script_step(tactic: str, goal: int, goals: int) -> str:
    """One in-memory step as tactic-script text with the same effect. On goal 0 the tactic sees
    every goal, as a script's next line does: the text is the tactic. On goal i > 0 it sees only
    that goal (`focus`), and its new goals take that goal's place (`rotate_left`/`rotate_right`)."""
    if goal == 0 or goals == 1:
        return tactic
    return f"rotate_left {goal}\nfocus\n{indent_tactic(tactic, 2)}\nrotate_right {goal}"


def _is_heartbeat_error(m: LeanMessage) -> bool:
    # Lean 4.28 tags it `runtime.maxHeartbeats` (`nested.…` inside another tactic's error); older
    # native toolchains leave messages untagged, so the text is the only sign there.
    return m.kind.endswith("runtime.maxHeartbeats") or (not m.kind and "maxHeartbeats" in m.text)


def _tree_rss_mb(pid: int) -> int:
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
