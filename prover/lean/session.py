"""`LeanServer`, the public class: the commands (`prover.lean.server`) with the guard and the
snippet reader wired in, on a local Lean process (`prover.lean.transport`).

`LeanSession` is that assembly on any transport: `LeanServer` runs its own Lean process, the warm
daemon's client (`prover.lean.daemon.RemoteLeanServer`) relays to the daemon's. Both satisfy
`prover.lean.client.LeanClient`, which is what callers type against.
"""

from __future__ import annotations

from prover.lean.config import LeanConfig
from prover.lean.guard import SyntaxGuard
from prover.lean.reader import (
    ReadError,
    ReadStage,
    SnippetGuard,
    compose_statement,
    read_snippet,
    statement_name,
)
from prover.lean.runtime import Runtime
from prover.lean.server import LeanCore, TacticGuard
from prover.lean.transport import LeanProcess, Transport
from prover.lean.types import ErrorKind, LeanError, ProofState


class _DefaultGuard:
    """Marker for "use the default guard" (so that `guard=None` can mean no guard)."""


DEFAULT_GUARD = _DefaultGuard()


class LeanSession(LeanCore):
    """The commands on `transport`, guarded; snippets are read by `prover.lean.reader`."""

    def __init__(self, transport: Transport, *,
                 guard: TacticGuard | _DefaultGuard | None = DEFAULT_GUARD) -> None:
        """`guard` decides which tactics may run: by default `prover.lean.guard.SyntaxGuard()`;
        pass `None` for raw, unguarded access (tests of Lean itself, trusted callers)."""
        super().__init__(transport, guard=SyntaxGuard() if isinstance(guard, _DefaultGuard) else guard)

    def open_proof(self, snippet: str | bytes, *, timeout: float | None = None,
                   heartbeats: int | None = None) -> ProofState | LeanError:
        """Start a proof of the theorem a snippet ends with (preceding definitions allowed).

        The snippet is untrusted: Lean reads it command by command, the guard decides on each
        header command and on the signature, and Lean audits what the header declared
        (`prover.lean.reader`). With `guard=None` (raw access) nothing is refused.
        """
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
        return self.open_statement(f"theorem {name}{st.universes} {st.signature}", env=reading.env,
                                   timeout=timeout, heartbeats=heartbeats)

    def _snippet_guard(self) -> SnippetGuard:
        """The guard for snippets: the tactic guard if it can judge commands, else trusted mode."""
        if self.guard is not None and isinstance(self.guard, SnippetGuard):
            return self.guard
        return SyntaxGuard(trusted=True)

    def start(self) -> LeanSession:
        """Start Lean and wait until it is ready (a no-op if it is running)."""
        self.transport.start()
        return self

    def close(self) -> None:
        """Stop Lean (politely, then by force) and remove the channel. Idempotent."""
        self.transport.close()

    def __enter__(self) -> LeanSession:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


class LeanServer(LeanSession):
    """A Lean process answering requests; a context manager. Thread-safe (requests serialise).

    `anomalies` counts breaks of the reply stream (`prover.lean.transport`); it only grows.
    """

    def __init__(self, config: LeanConfig | None = None, *, runtime: Runtime | None = None,
                 guard: TacticGuard | _DefaultGuard | None = DEFAULT_GUARD) -> None:
        """`guard` decides which tactics may run: by default `prover.lean.guard.SyntaxGuard()`;
        pass `None` for raw, unguarded access (tests of Lean itself, trusted callers)."""
        self.process = LeanProcess(config, runtime=runtime)
        super().__init__(self.process, guard=guard)

    @property
    def runtime(self) -> Runtime:
        return self.process.runtime

    @property
    def alive(self) -> bool:
        return self.process.alive

    @property
    def pid(self) -> int | None:
        return self.process.pid

    def recent_output(self, lines: int = 30) -> str:
        """The last lines Lean printed outside the protocol (for error messages)."""
        return self.process.recent_output(lines)

    def restart(self) -> None:
        """Kill and start again (at once, no backoff); existing proof states stay usable."""
        self.process.restart()

    def start(self) -> LeanServer:
        self.process.start()
        return self

    def __enter__(self) -> LeanServer:
        return self.start()
