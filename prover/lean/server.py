"""`LeanServer`: one long-lived Lean process running our interaction server, and its client.

The Lean side (`lean_project/ProverServer.lean`) imports once and answers JSON requests. Requests go
through files in a private channel directory under /tmp (the embedded WebAssembly Lean can read
nothing else: stdin and FIFOs fail there); replies come back on stdout as lines framed with a
per-session nonce. One request is in flight at a time per server; use `LeanServerPool` for
parallel work.

Proof states are kept as (stored header environment, statement, tactic path): a step elaborates the
statement with the path plus the new tactic on top of the stored header, so states survive a
restart of the Lean process (the header is re-elaborated lazily in the new process).
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import json
import os
import queue
import secrets
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from prover.lean import syntax
from prover.lean.errors import (
    InvalidRequest,
    LeanCrashed,
    LeanProtocolError,
    LeanServerError,
    LeanStartupError,
    LeanTimeout,
)
from prover.lean.runtime import Runtime, resolve_runtime, server_source_dir
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
)

SERVER_FILE = "ProverServer.lean"
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
    max_restarts: int = 20
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
class _StateRecord:
    env: int
    statement: str
    tactics: tuple[str, ...]


@dataclass
class ServerStats:
    requests: int = 0
    restarts: int = 0
    start_seconds: list[float] = field(default_factory=list)
    lean_seconds: float = 0.0
    wall_seconds: float = 0.0


class LeanServer:
    """A Lean process answering requests; a context manager. Thread-safe (requests serialise)."""

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
        self._replies: queue.Queue[Any] = queue.Queue()
        self._output: deque[str] = deque(maxlen=200)
        self._chan: Path | None = None
        self._requests: int | None = None
        self._parse_cache: OrderedDict[tuple[int, str, str], ParseResult] = OrderedDict()
        self._nonce = ""
        self._seq = 0
        self._generation = 0
        self._envs: dict[int, _EnvRecord] = {0: _EnvRecord("", 0, 0)}
        self._states: dict[int, _StateRecord] = {}
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
        self._chan = Path(tempfile.mkdtemp(prefix="prover-lean-", dir="/tmp"))
        shutil.copy(server_source_dir() / SERVER_FILE, self._chan / SERVER_FILE)
        (self._chan / "req").mkdir()
        # Requests are appended, one JSON line each, to a log that Lean keeps open.
        self._requests = os.open(self._chan / "req" / "requests.jsonl",
                                 os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._nonce = secrets.token_hex(12)
        self._seq = 0
        self._replies = queue.Queue()
        env = dict(os.environ)
        env.update(runtime.env)
        env.update({
            "PROVER_CHANNEL": str(self._chan / "req"),
            "PROVER_NONCE": self._nonce,
            "PROVER_MOUNTS": ":".join(runtime.mounts),
        })
        if self.config.lean_num_threads:
            env["LEAN_NUM_THREADS"] = str(self.config.lean_num_threads)
        self._proc = subprocess.Popen(
            [*runtime.command, SERVER_FILE], cwd=self._chan, env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
        )
        threading.Thread(target=self._read_stdout, args=(self._proc, self._replies), daemon=True).start()
        atexit.register(self.close)
        try:
            ready = self._wait_reply(None, time.monotonic() + self.config.start_timeout)
        except LeanTimeout as e:
            raise LeanStartupError(f"Lean was not ready after {self.config.start_timeout:.0f} s\n"
                                   + self.recent_output()) from e
        except LeanCrashed as e:
            raise LeanStartupError(f"Lean exited while starting:\n{self.recent_output()}") from e
        if not ready.get("ready"):
            raise LeanStartupError(f"unexpected first reply {ready!r}")
        self.lean_version = ready.get("lean_version", "")
        self._generation += 1
        self.stats.start_seconds.append(time.monotonic() - t0)

    def _read_stdout(self, proc: subprocess.Popen[bytes], replies: queue.Queue[Any]) -> None:
        prefix = f"@@PROVER:{self._nonce}@@ ".encode()
        if proc.stdout is None:  # cannot happen with stdout=PIPE; keeps the type checker honest
            return
        for raw in proc.stdout:
            if raw.startswith(prefix):
                try:
                    replies.put(json.loads(raw[len(prefix):]))
                except json.JSONDecodeError as e:
                    replies.put(LeanProtocolError(f"unparseable reply: {e}: {raw[:200]!r}"))
            else:
                self._output.append(raw.decode("utf-8", "replace").rstrip("\n"))
        replies.put(_EOF)

    def recent_output(self, lines: int = 30) -> str:
        """The last lines Lean printed outside the protocol (for error messages)."""
        return "\n".join(list(self._output)[-lines:])

    def _kill(self) -> None:
        proc, self._proc = self._proc, None
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
                    self._send({"cmd": "exit"}, timeout=10)
            self._kill()
            atexit.unregister(self.close)

    def restart(self) -> None:
        """Kill and start again; existing proof states stay usable."""
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
        if self._proc is None and self._generation == 0:
            self._spawn()
            return
        if not self.config.auto_restart or self.stats.restarts >= self.config.max_restarts:
            raise LeanCrashed("the Lean process is not running and may not be restarted")
        self._kill()
        self.stats.restarts += 1
        self._spawn()

    def _wait_reply(self, seq: int | None, deadline: float) -> dict[str, Any]:
        while True:
            remaining = deadline - time.monotonic()
            try:
                msg = self._replies.get(timeout=max(remaining, 0.001))
            except queue.Empty:
                self._kill()
                raise LeanTimeout("Lean did not answer in time; its process was killed and will be "
                                  "restarted on the next request") from None
            if msg is _EOF:
                code = self._proc.poll() if self._proc is not None else None
                self._kill()
                raise LeanCrashed(f"the Lean process exited (code {code}) before answering; "
                                  f"it will be restarted on the next request.\n{self.recent_output(10)}")
            if isinstance(msg, LeanProtocolError):
                self._kill()
                raise msg
            if seq is None or msg.get("id") == seq:
                return msg
            # A reply to an older request that timed out in our wait cannot arrive (we kill on
            # timeout), so anything else breaks the protocol.
            self._kill()
            raise LeanProtocolError(f"reply for request {msg.get('id')} while waiting for {seq}")

    def _send(self, payload: dict[str, Any], timeout: float) -> dict[str, Any]:
        with self._lock:
            self._ensure_running()
            if self._requests is None:
                raise LeanCrashed("the Lean process has no channel (it was stopped)")
            seq = self._seq
            data = json.dumps({**payload, "id": seq}, ensure_ascii=False)
            if len(data) > self.config.max_request_chars:
                raise InvalidRequest(f"request of {len(data)} characters exceeds the limit of "
                                     f"{self.config.max_request_chars}")
            # Only a request that is really written takes a number: replies are matched by it.
            self._seq += 1
            t0 = time.monotonic()
            line = (data + "\n").encode("utf-8")
            # One write call per request: Lean never sees half a request unless the kernel splits
            # it, and then it waits for the newline.
            written = os.write(self._requests, line)
            while written < len(line):
                written += os.write(self._requests, line[written:])
            reply = self._wait_reply(seq, t0 + timeout)
            self.stats.requests += 1
            self.stats.wall_seconds += time.monotonic() - t0
            self.stats.lean_seconds += reply.get("lean_ns", 0) / 1e9
            if not reply.get("ok", False):
                err = reply.get("error", {})
                if err.get("category") == "malformed_request":
                    raise InvalidRequest(err.get("desc", "malformed request"))
                raise LeanProtocolError(f"{err.get('category')}: {err.get('desc')}")
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
        reply = self._send({"cmd": "exec", "env": 0, "code": rec.code, "keep": True},
                           self.config.request_timeout)
        rec.lean_id, rec.generation = reply["env"], self._generation
        return rec.lean_id

    def ping(self, timeout: float = 30.0) -> bool:
        return bool(self._send({"cmd": "ping"}, timeout).get("pong"))

    def check(self, code: str | bytes, *, env: int = 0, keep: bool = False,
              timeout: float | None = None) -> CommandResult:
        """Elaborate Lean commands on top of stored environment `env` (0: just `import Lean`).

        With `keep`, the resulting environment is stored and its handle is `result.env_id`.
        """
        code = ensure_text(code, "code")
        with self._lock:
            lean_env = self._lean_env(env)
            reply = self._send({"cmd": "exec", "env": lean_env, "code": code, "keep": keep},
                               timeout or self.config.request_timeout)
            handle = None
            if keep:
                handle = next(self._ids)
                self._envs[handle] = _EnvRecord(code, reply["env"], self._generation)
        return CommandResult(
            messages=tuple(LeanMessage.from_json(m) for m in reply["messages"]),
            env_id=handle,
            elab_seconds=reply["elab_ns"] / 1e9,
            lean_seconds=reply["lean_ns"] / 1e9,
        )

    def forget_env(self, handle: int) -> None:
        """Drop a stored environment here and in Lean."""
        with self._lock:
            for key in [k for k in self._parse_cache if k[0] == handle]:
                del self._parse_cache[key]
            rec = self._envs.pop(handle, None)
            if rec and rec.lean_id and rec.generation == self._generation and self.alive:
                self._send({"cmd": "forget", "envs": [rec.lean_id]}, 30)

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
            reply = self._send({"cmd": "parse", "env": self._lean_env(env), "category": category,
                                "text": text}, self.config.request_timeout)
        lean_s = reply.get("lean_ns", 0) / 1e9
        if not reply["parsed"]:
            return ParseResult(False, error=reply.get("parse_error", ""), lean_seconds=lean_s)
        return ParseResult(True, kinds=tuple(reply["kinds"]), atoms=tuple(reply["atoms"]),
                           idents=tuple(reply["idents"]), lean_seconds=lean_s,
                           tree=syntax.from_json(reply.get("tree")))

    def next_command(self, code: str | bytes, pos: int = 0, *, env: int = 0) -> CommandRead:
        """Read (parse, not elaborate) the command at byte offset `pos` of `code` in environment `env`."""
        code = ensure_text(code, "code")
        with self._lock:
            reply = self._send({"cmd": "next_command", "env": self._lean_env(env), "code": code, "pos": pos},
                               self.config.request_timeout)
        if reply["eoi"]:
            return CommandRead(eoi=True)
        return CommandRead(
            eoi=False, text=reply["text"], end=reply["end"],
            errors=tuple(LeanMessage.from_json(m) for m in reply["errors"]), one=reply["one"],
            same=reply["same"], tree=syntax.from_json(reply["tree"]), lean_seconds=reply["lean_ns"] / 1e9,
        )

    def known_tokens(self, tokens: Iterable[str], *, env: int = 0) -> tuple[bool, ...]:
        """For each text, whether it is already a token of environment `env`'s parser."""
        toks = [ensure_text(t, "token") for t in tokens]
        with self._lock:
            reply = self._send({"cmd": "tokens", "env": self._lean_env(env), "tokens": toks},
                               self.config.request_timeout)
        return tuple(bool(k) for k in reply["known"])

    def audit(self, env: int, *, namespaces: Iterable[str] = ()) -> tuple[AuditFinding, ...]:
        """What the code in stored environment `env` declared that changes core names or notation,
        seen from where a statement is elaborated (plus `namespaces`, e.g. the theorem's prefix)."""
        with self._lock:
            reply = self._send({"cmd": "audit", "env": self._lean_env(env), "namespaces": list(namespaces)},
                               self.config.request_timeout)
        return tuple(AuditFinding(f["name"], f["problem"], tuple(f["what"])) for f in reply["findings"])

    def replay(self, env: int, names: Iterable[str], *, heartbeats: int | None = None,
               timeout: float | None = None) -> ReplayResult:
        """Send every submitted constant the named declarations depend on to the kernel again, on
        top of the environment right after the import (where kernel checking was never off)."""
        with self._lock:
            reply = self._send({"cmd": "replay", "env": self._lean_env(env), "names": list(names),
                                "heartbeats": heartbeats or self.config.heartbeats},
                               timeout or self.config.request_timeout)
        return ReplayResult(reply["checked"], reply["error"], reply.get("lean_ns", 0) / 1e9)

    def decl_info(self, env: int, name: str, *, compare_env: int | None = None,
                  compare_name: str = "") -> DeclInfo:
        """Kind, axioms and (optionally) type identity of a declaration in a stored environment."""
        with self._lock:
            payload: dict[str, Any] = {"cmd": "decl", "env": self._lean_env(env), "name": name}
            if compare_env is not None:
                payload.update(cmp_env=self._lean_env(compare_env), cmp_name=compare_name or name)
            reply = self._send(payload, self.config.request_timeout)
        if not reply["found"]:
            return DeclInfo(found=False)
        return DeclInfo(
            found=True, kind=reply["kind"],
            axioms=tuple((a["name"], a["module"]) for a in reply["axioms"]),
            is_unsafe=reply["unsafe"], same_type=reply.get("same_type"),
        )

    # ----------------------------------------------------------------- proofs

    def _step_code(self, statement: str, tactics: Iterable[str], heartbeats: int) -> str:
        body = "\n".join(indent_tactic(t, 2) for t in tactics)
        body = (body + "\n") if body else ""
        return (f"set_option maxHeartbeats {heartbeats} in\n{statement} := by\n{body}"
                f'  prover_goals "{self._nonce}"\n')

    def _run_step(self, rec: _StateRecord, heartbeats: int, timeout: float) -> TacticResult:
        with self._lock:
            lean_env = self._lean_env(rec.env)
            code = self._step_code(rec.statement, rec.tactics, heartbeats)
            reply = self._send({"cmd": "exec", "env": lean_env, "code": code, "keep": False}, timeout)
        lean_s = reply["lean_ns"] / 1e9
        messages = tuple(LeanMessage.from_json(m) for m in reply["messages"])
        tag = self._nonce
        goals_msg = [m for m in messages if m.text.startswith(tag)]
        others = tuple(m for m in messages if not m.text.startswith(tag))
        errors = [m for m in others if m.severity is Severity.ERROR]
        if errors:
            kind = ErrorKind.HEARTBEATS if any(_is_heartbeat_error(m) for m in errors) else \
                ErrorKind.ELABORATION
            return LeanError(kind, others, lean_seconds=lean_s)
        if len(goals_msg) != 1:
            return LeanError(ErrorKind.ELABORATION, others,
                             reason="Lean reported no goals for this step", lean_seconds=lean_s)
        goals = tuple(Goal.from_json(g) for g in json.loads(goals_msg[0].text[len(tag):]))
        sid = next(self._ids)
        if not goals:
            return ProofFinished(sid, rec.tactics, lean_seconds=lean_s)
        self._states[sid] = rec
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
        result = self._run_step(_StateRecord(reading.env, statement, ()),
                                heartbeats or self.config.heartbeats, timeout)
        if isinstance(result, ProofFinished):  # a statement with no goal at all
            return LeanError(ErrorKind.ELABORATION, reason="the statement has no goal to prove")
        if isinstance(result, LeanError) and reading.env:
            self.forget_env(reading.env)
        return result

    def _snippet_guard(self) -> Any:
        """The guard for snippets: the tactic guard if it can judge commands, else trusted mode."""
        from prover.lean.guard import SyntaxGuard
        if self.guard is not None and hasattr(self.guard, "check_command"):
            return self.guard
        return SyntaxGuard(trusted=True)

    def run_tactic(self, state: ProofState | int, tactic: str | bytes, *, timeout: float | None = None,
                   heartbeats: int | None = None) -> TacticResult:
        """Run one tactic on the first goal(s) of `state`; the state itself is never changed."""
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
        result = self._run_step(replace(rec, tactics=(*rec.tactics, tactic)),
                                heartbeats or self.config.heartbeats, timeout or self.config.tactic_timeout)
        # The step's Lean time includes the parse that preceded it.
        return replace(result, lean_seconds=result.lean_seconds + parsed.lean_seconds)

    def forget(self, states: Iterable[ProofState | int]) -> None:
        """Release proof states (and their header environments once no state uses them)."""
        with self._lock:
            envs = set()
            for s in states:
                rec = self._states.pop(s.id if isinstance(s, ProofState) else s, None)
                if rec is not None and rec.env:
                    envs.add(rec.env)
            in_use = {r.env for r in self._states.values()}
            for env in envs - in_use:
                self.forget_env(env)


def _is_heartbeat_error(m: LeanMessage) -> bool:
    # Lean 4.28 tags it `runtime.maxHeartbeats` (`nested.…` inside another tactic's error); older
    # native toolchains leave messages untagged, so the text is the only sign there.
    return m.kind.endswith("runtime.maxHeartbeats") or (not m.kind and "maxHeartbeats" in m.text)
