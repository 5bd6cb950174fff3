"""`LeanClient`: what callers need from a Lean server, as a protocol they type against.

Two classes satisfy it: `prover.lean.LeanServer` (a local Lean process) and
`prover.lean.daemon.RemoteLeanServer` (the warm background server the CLI reuses).
`tests/test_lean_client.py` checks both, member by member. `anomalies` is required: the verifier's
forgery tripwire reads it directly, so a client without it cannot be used to verify.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import AbstractContextManager
from typing import Protocol, runtime_checkable

from prover.lean.config import LeanConfig
from prover.lean.exprs import GoalTerms, RefuteStatus
from prover.lean.results import AuditFinding, CommandRead, ParseResult, ReplayResult
from prover.lean.transport import ServerStats
from prover.lean.types import CommandResult, DeclInfo, LeanError, ProofState, TacticResult


@runtime_checkable
class LeanClient(Protocol):
    """A Lean server: commands on stored environments (handle 0: right after the import), proof
    states, and the reply-stream tripwire. Lean's verdicts are values; faults raise
    `prover.lean.errors.LeanServerError`s."""

    @property
    def config(self) -> LeanConfig: ...

    @property
    def stats(self) -> ServerStats: ...

    @property
    def lean_version(self) -> str: ...

    @property
    def anomalies(self) -> int:
        """Breaks of the reply stream seen so far; monotonic (see `prover.lean.transport`)."""
        ...

    def sync(self, timeout: float = 30.0) -> int:
        """A round trip after which every earlier reply has been read; returns `anomalies`."""
        ...

    def deadline(self, when: float | None) -> AbstractContextManager[None]:
        """No request, restart or backoff runs past `when` (`time.monotonic()`) inside the block."""
        ...

    def ensure_running(self) -> None:
        """Settle a request a caller's deadline cut, restart Lean if needed."""
        ...

    def start(self) -> LeanClient: ...
    def close(self) -> None: ...
    def ping(self, timeout: float = 30.0) -> bool: ...

    def check(self, code: str | bytes, *, env: int = 0, keep: bool = False,
              timeout: float | None = None) -> CommandResult: ...

    def forget_env(self, handle: int) -> None: ...
    def parse(self, text: str | bytes, category: str = "tactic", *, env: int = 0) -> ParseResult: ...
    def next_command(self, code: str | bytes, pos: int = 0, *, env: int = 0) -> CommandRead: ...
    def known_tokens(self, tokens: Iterable[str], *, env: int = 0) -> tuple[bool, ...]: ...
    def audit(self, env: int, *, namespaces: Iterable[str] = ()) -> tuple[AuditFinding, ...]: ...

    def replay(self, env: int, names: Iterable[str], *, heartbeats: int | None = None,
               timeout: float | None = None) -> ReplayResult: ...

    def decl_info(self, env: int, name: str, *, compare_env: int | None = None,
                  compare_name: str = "") -> DeclInfo: ...

    def open_proof(self, snippet: str | bytes, *, timeout: float | None = None,
                   heartbeats: int | None = None) -> ProofState | LeanError: ...

    def run_tactic(self, state: ProofState | int, tactic: str | bytes, *, goal: int = 0,
                   timeout: float | None = None, heartbeats: int | None = None) -> TacticResult: ...

    def goal_terms(self, state: ProofState | int, *, cap: int = 50_000,
                   timeout: float | None = None) -> tuple[GoalTerms, ...]: ...

    def refute(self, state: ProofState | int, assignments: Iterable[Iterable[tuple[str, str]]], *,
               goal: int = 0, heartbeats: int | None = None,
               timeout: float | None = None) -> tuple[RefuteStatus, ...]: ...

    def forget(self, states: Iterable[ProofState | int]) -> None: ...


# A constant of Mathlib's that core Lean does not have: where the environment holds it, a statement
# that fails to elaborate is invalid, not "written for Mathlib".
MATHLIB_PROBE = "Real"


def has_mathlib(lean: LeanClient) -> bool:
    """Whether the environment `lean` serves has Mathlib (one `decl_info` round trip)."""
    return bool(lean.decl_info(0, MATHLIB_PROBE).found)
