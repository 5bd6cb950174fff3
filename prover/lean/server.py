"""`LeanCore`: the commands of our Lean interaction server, over a transport and a state store.

The parts, each in its own module: `prover.lean.transport` runs one Lean process and its channel
(framing, the reply tripwire, restarts, requests cut by a caller's deadline);
`prover.lean.states` maps the client's environment handles and proof states to Lean-side ids and
replays them after a restart; this module turns each command into typed requests of
`prover.lean.protocol` and typed results. It knows nothing of the guard or the snippet reader:
`prover.lean.session.LeanServer` (the public class) adds both on top, so the guard, the reader
and this module form a one-way chain (guard -> reader -> server).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any, Protocol

import prover.lean.protocol as P
import prover.lean.syntax as syntax
from prover.lean.config import LeanConfig
from prover.lean.errors import InvalidRequest, LeanProtocolError
from prover.lean.exprs import GoalTerms, RefuteStatus, goal_terms_from_json
from prover.lean.results import AuditFinding, CommandRead, ParseResult, ReplayResult
from prover.lean.snippet import ensure_text
from prover.lean.states import StateRecord, StateStore, Step
from prover.lean.transport import ServerStats, Transport
from prover.lean.types import (
    CommandResult,
    DeclInfo,
    ErrorKind,
    LeanError,
    ProofState,
    TacticResult,
    indent_tactic,
    messages_from,
)

__all__ = ["MAX_TACTIC_CHARS", "PARSE_CACHE_SIZE", "AuditFinding", "CommandRead", "LeanConfig", "LeanCore",
           "ParseResult", "ReplayResult", "ServerStats", "TacticGuard"]

MAX_TACTIC_CHARS = 20_000
PARSE_CACHE_SIZE = 8192


class TacticGuard(Protocol):
    """Decides, from a tactic's parsed syntax, whether it may run. Returns a reason to reject."""

    def check_tactic(self, tactic: str, parsed: ParseResult) -> str | None: ...


class LeanCore:
    """The commands, on one transport; thread-safe (a command's requests hold `transport.lock`).

    `guard` decides which tactics `run_tactic` lets run (None: every parsed tactic runs).
    """

    def __init__(self, transport: Transport, *, guard: TacticGuard | None = None) -> None:
        self.transport = transport
        self.guard = guard
        self.states = StateStore(transport)
        self._parse_cache: OrderedDict[tuple[int, str, str], ParseResult] = OrderedDict()

    # ----------------------------------------------------------------- the transport's

    @property
    def config(self) -> LeanConfig:
        return self.transport.config

    @property
    def stats(self) -> ServerStats:
        return self.transport.stats

    @property
    def lean_version(self) -> str:
        return self.transport.lean_version

    @property
    def anomalies(self) -> int:
        """Breaks of the reply stream seen so far (forged-looking or unexpected replies). Monotonic:
        a verdict is only trustworthy if this did not change while its requests ran."""
        return self.transport.anomalies

    @property
    def replays(self) -> int:
        """Proof states rebuilt by replaying their path after a restart."""
        return self.states.replays

    def sync(self, timeout: float = 30.0) -> int:
        """One round trip, after which every reply to earlier requests has been read (Lean answers
        in order); returns `anomalies`. Raises `LeanProtocolError` if the stream broke."""
        return self.transport.sync(timeout)

    @contextmanager
    def deadline(self, when: float | None) -> Iterator[None]:
        """Within this block, no request, restart or backoff runs past `when` (a `time.monotonic()`
        value; None: no limit): past it a request raises `LeanTimeout` (and a restart in progress
        is abandoned, its process killed). For callers with a wall budget, e.g. a search."""
        with self.transport.deadline(when):
            yield

    def ensure_running(self) -> None:
        """Settle a request the previous caller's deadline cut (await its late reply, or kill and
        restart Lean), so that the next caller's clock does not pay for it.

        Raises:
            LeanServerError: as a request would (closed, auto_restart off, the start failed).
        """
        self.transport.ensure_running()

    def ping(self, timeout: float = 30.0) -> bool:
        return bool(self.transport.send(P.Ping(), timeout).pong)

    # ----------------------------------------------------------------- commands

    def check(self, code: str | bytes, *, env: int = 0, keep: bool = False,
              timeout: float | None = None) -> CommandResult:
        """Elaborate Lean commands on top of stored environment `env` (0: just `import Lean`).

        With `keep`, the resulting environment is stored and its handle is `result.env_id`.
        """
        code = ensure_text(code, "code")
        t = self.transport
        with t.lock:
            lean_env = self.states.lean_env(env)
            reply = t.send(P.Exec(code, env=lean_env, keep=keep), timeout or self.config.request_timeout,
                           generation=t.generation)
            handle = self.states.keep_env(code, reply.env) if keep else None
        return CommandResult(
            messages=messages_from(reply.messages),
            env_id=handle,
            elab_seconds=reply.elab_ns / 1e9,
            lean_seconds=reply.lean_ns / 1e9,
        )

    def forget_env(self, handle: int) -> None:
        """Drop a stored environment here and in Lean."""
        with self.transport.lock:
            for key in [k for k in self._parse_cache if k[0] == handle]:
                del self._parse_cache[key]
            self.states.drop_env(handle)

    def _send_on(self, env: int, request: Any, timeout: float | None = None) -> Any:
        """`request` (a function of the Lean-side id of `env`) sent in that id's generation."""
        t = self.transport
        with t.lock:
            lean_env = self.states.lean_env(env)
            return t.send(request(lean_env), timeout or self.config.request_timeout, generation=t.generation)

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
        reply = self._send_on(env, lambda e: P.Parse(category, text, env=e))
        lean_s = reply.lean_ns / 1e9
        if not reply.parsed:
            return ParseResult(False, error=reply.parse_error, lean_seconds=lean_s)
        return ParseResult(True, kinds=reply.kinds, atoms=reply.atoms, idents=reply.idents,
                           lean_seconds=lean_s, tree=syntax.from_json(reply.tree))

    def next_command(self, code: str | bytes, pos: int = 0, *, env: int = 0) -> CommandRead:
        """Read (parse, not elaborate) the command at byte offset `pos` of `code` in environment `env`."""
        code = ensure_text(code, "code")
        reply = self._send_on(env, lambda e: P.NextCommand(code, pos, env=e))
        if reply.eoi:
            return CommandRead(eoi=True)
        return CommandRead(
            eoi=False, text=reply.text, end=reply.end, errors=messages_from(reply.errors), one=reply.one,
            same=reply.same, tree=syntax.from_json(reply.tree), lean_seconds=reply.lean_ns / 1e9,
        )

    def known_tokens(self, tokens: Iterable[str], *, env: int = 0) -> tuple[bool, ...]:
        """For each text, whether it is already a token of environment `env`'s parser."""
        toks = tuple(ensure_text(t, "token") for t in tokens)
        return self._send_on(env, lambda e: P.Tokens(toks, env=e)).known

    def audit(self, env: int, *, namespaces: Iterable[str] = ()) -> tuple[AuditFinding, ...]:
        """What the code in stored environment `env` declared that changes core names or notation,
        seen from where a statement is elaborated (plus `namespaces`, e.g. the theorem's prefix)."""
        spaces = tuple(namespaces)
        reply = self._send_on(env, lambda e: P.Audit(e, spaces))
        return tuple(AuditFinding(f.name, f.problem, f.what) for f in reply.findings)

    def replay(self, env: int, names: Iterable[str], *, heartbeats: int | None = None,
               timeout: float | None = None) -> ReplayResult:
        """Send every submitted constant the named declarations depend on to the kernel again, on
        top of the environment right after the import (where kernel checking was never off)."""
        wanted = tuple(names)
        reply = self._send_on(env, lambda e: P.Replay(e, wanted, heartbeats or self.config.heartbeats),
                              timeout)
        return ReplayResult(reply.checked, reply.error, reply.lean_ns / 1e9)

    def decl_info(self, env: int, name: str, *, compare_env: int | None = None,
                  compare_name: str = "") -> DeclInfo:
        """Kind, axioms and (optionally) type identity of a declaration in a stored environment."""
        t = self.transport
        with t.lock:
            request = P.Decl(name, env=self.states.lean_env(env))
            if compare_env is not None:
                request = replace(request, cmp_env=self.states.lean_env(compare_env),
                                  cmp_name=compare_name or name)
            reply = t.send(request, self.config.request_timeout, generation=t.generation)
        if not reply.found:
            return DeclInfo(found=False)
        return DeclInfo(found=True, kind=reply.kind, axioms=tuple((a.name, a.module) for a in reply.axioms),
                        is_unsafe=reply.unsafe, same_type=reply.same_type)

    # ----------------------------------------------------------------- proofs

    def open_statement(self, statement: str, *, env: int = 0, timeout: float | None = None,
                       heartbeats: int | None = None) -> ProofState | LeanError:
        """Open a proof of `theorem <name> <signature>` (text already read and guarded by the
        caller: `prover.lean.session.LeanServer.open_proof`) on stored environment `env`, which
        the new state then owns (it is forgotten with the state's last user, or here on failure)."""
        rec = StateRecord(env, statement, ())
        t = self.transport
        with t.lock:
            lean_id, goals, error, lean_s = self.states.open_live(
                rec, heartbeats or self.config.heartbeats, timeout or self.config.request_timeout)
            if error is None and lean_id is not None and not goals:  # a statement with no goal
                self.states.release([lean_id])
                error = LeanError(ErrorKind.ELABORATION, reason="the statement has no goal to prove")
            if error is not None or lean_id is None:
                if env:
                    self.forget_env(env)
                return error or LeanError(ErrorKind.ELABORATION, reason="no state")
            result = self.states.new_state(rec, lean_id, goals, lean_s, t.generation)
        if not isinstance(result, ProofState):  # cannot happen: goals is not empty
            raise LeanProtocolError("an opened proof had no goals")
        return result

    def run_tactic(self, state: ProofState | int, tactic: str | bytes, *, goal: int = 0,
                   timeout: float | None = None, heartbeats: int | None = None) -> TacticResult:
        """Run one tactic on goal `goal` of `state`; the state itself is never changed. On goal 0
        the tactic sees every goal, as the next line of a tactic script would; on another goal it
        sees that goal alone and its new goals take that goal's place among the others.

        Heartbeats and the wall-clock timeout apply to this tactic alone. After a restart of the
        Lean process the state is first rebuilt by replaying its path (under `request_timeout`).
        """
        sid = state.id if isinstance(state, ProofState) else state
        rec = self.states.record(sid)
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
        step = Step(tactic, goal, heartbeats or self.config.heartbeats)
        with self.transport.lock:
            lean_id, generation = self.states.lean_state(sid)
            new_id, goals, error, lean_s = self.states.step_live(
                lean_id, step, timeout or self.config.tactic_timeout, generation)
            # The step's Lean time includes the parse that preceded it.
            lean_s += parsed.lean_seconds
            if error is not None or new_id is None:
                return replace(error or LeanError(ErrorKind.ELABORATION), lean_seconds=lean_s)
            new = replace(rec, tactics=(*rec.tactics, _script_step(tactic, goal, rec.goals)),
                          steps=(*rec.steps, step))
            return self.states.new_state(new, new_id, goals, lean_s, generation)

    def goal_terms(self, state: ProofState | int, *, cap: int = 50_000,
                   timeout: float | None = None) -> tuple[GoalTerms, ...]:
        """The open goals of `state` as Lean's elaborated expressions (hypotheses and target,
        metavariables instantiated): typed trees, one per goal, in the state's goal order. A goal
        over `cap` nodes (or nested too deeply to send) comes back `too_large`."""
        return tuple(goal_terms_from_json(g) for g in self.goal_terms_json(state, cap=cap, timeout=timeout))

    def goal_terms_json(self, state: ProofState | int, *, cap: int = 50_000,
                        timeout: float | None = None) -> tuple[Any, ...]:
        """`goal_terms` as the JSON the server sent."""
        sid = state.id if isinstance(state, ProofState) else state
        self.states.record(sid)
        with self.transport.lock:
            lean_id, generation = self.states.lean_state(sid)
            reply = self.transport.send(P.Terms(lean_id, cap), timeout or self.config.request_timeout,
                                        generation=generation)
        return reply.goals

    def refute(self, state: ProofState | int, assignments: Iterable[Iterable[tuple[str, str]]], *,
               goal: int = 0, heartbeats: int | None = None,
               timeout: float | None = None) -> tuple[RefuteStatus, ...]:
        """Ask Lean's kernel whether goal `goal` of `state` is false at each assignment (pairs of a
        free variable's id, as in `goal_terms`, and a value term elaborated at its type), in
        order, up to the first one confirmed: one status each. Only `CONFIRMED` means false: the
        kernel accepted `of_decide_eq_true rfl : ¬ (H₁ → … → T)` for the instantiated goal."""
        sid = state.id if isinstance(state, ProofState) else state
        rec = self.states.record(sid)
        if not 0 <= goal < rec.goals:
            raise InvalidRequest(f"state {sid} has no goal {goal} ({rec.goals} open)")
        asgs = tuple(tuple((fv, value) for fv, value in a) for a in assignments)
        with self.transport.lock:
            lean_id, generation = self.states.lean_state(sid)
            reply = self.transport.send(P.Refute(lean_id, asgs, goal, heartbeats or self.config.heartbeats),
                                        timeout or self.config.tactic_timeout, generation=generation)
        return tuple(RefuteStatus(r) for r in reply.results)

    def live_states(self) -> int:
        """How many proof states the Lean process holds now (pending releases sent first)."""
        with self.transport.lock:
            self.states.release([], flush=True)
            return self.transport.send(P.ForgetStates(()), 30.0).live

    def forget(self, states: Iterable[ProofState | int]) -> None:
        """Release proof states (and their header environments once no state uses them)."""
        with self.transport.lock:
            unused = self.states.forget(s.id if isinstance(s, ProofState) else s for s in states)
            for env in unused:
                self.forget_env(env)


def _script_step(tactic: str, goal: int, goals: int) -> str:
    """One in-memory step as tactic-script text with the same effect. On goal 0 the tactic sees
    every goal, as a script's next line does: the text is the tactic. On goal i > 0 it sees only
    that goal (`focus`), and its new goals take that goal's place (`rotate_left`/`rotate_right`)."""
    if goal == 0 or goals == 1:
        return tactic
    return f"rotate_left {goal}\nfocus\n{indent_tactic(tactic, 2)}\nrotate_right {goal}"
