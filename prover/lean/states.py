"""The client's store of stored environments and proof states, and their replay after a restart.

Proof states live in the Lean process (`open` / `step` / `release`): a step restores the stored
elaboration state and runs the new tactic alone, on one chosen goal. The store also keeps each
state's record (stored header environment, statement, tactic path), so states survive a restart of
the Lean process: a state whose Lean-side id is from a dead process (an older `generation` of the
transport) is rebuilt by re-running its path in the new one; a header environment is re-elaborated
lazily there too. Client-side ids (`ProofState.id`, environment handles) never change.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass, replace

import prover.lean.protocol as P
from prover.lean.errors import InvalidRequest, LeanServerError
from prover.lean.transport import Transport
from prover.lean.types import (
    ErrorKind,
    Goal,
    LeanError,
    LeanMessage,
    ProofFinished,
    ProofState,
    Severity,
    messages_from,
)

FORGET_BATCH = 256  # Lean-side states released in one request


@dataclass
class EnvRecord:
    code: str  # header commands ("" for the base environment after the import)
    lean_id: int | None  # id in the generation below, None until (re-)elaborated there
    generation: int


@dataclass(frozen=True)
class Step:
    tactic: str  # as the caller gave it (guarded), run on goal `goal` alone
    goal: int
    heartbeats: int


@dataclass(frozen=True)
class StateRecord:
    """What a proof state is, independent of any Lean process: enough to rebuild it."""

    env: int
    statement: str
    tactics: tuple[str, ...]  # the path as a Lean tactic script (what the verifier checks)
    steps: tuple[Step, ...] = ()  # the path as in-memory steps (what a replay re-runs)
    goals: int = 1  # how many goals are open


# One Lean-side outcome of opening or stepping: (new Lean-side id, goals, error, Lean seconds).
LiveResult = tuple[int | None, tuple[Goal, ...], LeanError | None, float]


class StateStore:
    """Environment handles and proof states of one client, mapped to the Lean-side ids of the
    transport's current generation. The caller holds `transport.lock` across a command."""

    def __init__(self, transport: Transport) -> None:
        self.t = transport
        self.envs: dict[int, EnvRecord] = {0: EnvRecord("", 0, 0)}
        self.states: dict[int, StateRecord] = {}
        # Client state id -> (Lean-side state id, generation of the process that holds it).
        self.live: dict[int, tuple[int, int]] = {}
        self._pending: list[int] = []  # Lean-side ids to release, of generation `_pending_gen`
        self._pending_gen = 0
        self.replays = 0  # states rebuilt by replay after a restart
        self._ids = itertools.count(1)
        transport.on_late_state = lambda state: self.release([state])

    def new_id(self) -> int:
        return next(self._ids)

    # ----------------------------------------------------------------- environments

    def lean_env(self, handle: int) -> int:
        """The Lean-side id of stored environment `handle`, re-elaborating it after a restart."""
        rec = self.envs.get(handle)
        if rec is None:
            raise InvalidRequest(f"unknown environment {handle} (forgotten?)")
        # Settle and restart first if needed: ids of a dead generation mean nothing to the next.
        self.t.ensure_running()
        if rec.lean_id is not None and rec.generation == self.t.generation:
            return rec.lean_id
        reply = self.t.send(P.Exec(rec.code, keep=True), self.t.config.request_timeout)
        rec.lean_id, rec.generation = reply.env, self.t.generation
        return rec.lean_id

    def keep_env(self, code: str, lean_id: int | None) -> int:
        """A handle for the environment `code` built (Lean-side `lean_id`, current generation)."""
        handle = self.new_id()
        self.envs[handle] = EnvRecord(code, lean_id, self.t.generation)
        return handle

    def drop_env(self, handle: int) -> None:
        """Drop a stored environment here and in Lean."""
        rec = self.envs.pop(handle, None)
        if rec and rec.lean_id and rec.generation == self.t.generation and self.t.alive:
            self.t.send(P.Forget((rec.lean_id,)), 30, generation=rec.generation)

    # ----------------------------------------------------------------- proof states

    def _open_code(self, statement: str, heartbeats: int) -> str:
        return (f"set_option maxHeartbeats {heartbeats} in\n{statement} := by\n"
                f'  prover_capture "{self.t.goals_tag}"\n')

    def open_live(self, rec: StateRecord, heartbeats: int, timeout: float) -> LiveResult:
        """Elaborate the statement in the current process and keep its state there."""
        lean_env = self.lean_env(rec.env)
        generation = self.t.generation
        code = self._open_code(rec.statement, heartbeats)
        reply = self.t.send(P.OpenProof(code, self.t.goals_tag, env=lean_env), timeout,
                            generation=generation)
        lean_s = reply.lean_ns / 1e9
        messages = messages_from(reply.messages)
        if (error := step_error(messages, lean_s)) or reply.state is None:
            if reply.state is not None:
                self.release([reply.state])
            return None, (), error or LeanError(ErrorKind.ELABORATION, messages, lean_seconds=lean_s,
                                                reason="Lean reported no goals for this statement"), lean_s
        return reply.state, tuple(Goal.from_json(g) for g in reply.goals), None, lean_s

    def step_live(self, lean_id: int, step: Step, timeout: float, generation: int) -> LiveResult:
        """Run one step on a Lean-side state of `generation`; (new id, goals, error, Lean seconds)."""
        reply = self.t.send(P.Step(lean_id, step.tactic, step.goal, step.heartbeats), timeout,
                            generation=generation)
        lean_s = reply.lean_ns / 1e9
        self.t.stats.tactic_seconds += reply.elab_ns / 1e9
        if reply.parse_error is not None:
            return None, (), LeanError(ErrorKind.PARSE, reason=f"not a tactic: {reply.parse_error}",
                                       lean_seconds=lean_s), lean_s
        messages = messages_from(reply.messages)
        if (error := step_error(messages, lean_s)) or reply.state is None:
            return None, (), error or LeanError(ErrorKind.ELABORATION, messages, lean_seconds=lean_s,
                                                reason="the step failed"), lean_s
        return reply.state, tuple(Goal.from_json(g) for g in reply.goals), None, lean_s

    def record(self, sid: int) -> StateRecord:
        rec = self.states.get(sid)
        if rec is None:
            raise InvalidRequest(f"unknown proof state {sid} (forgotten, or from another server)")
        return rec

    def lean_state(self, sid: int) -> tuple[int, int]:
        """The Lean-side id of client state `sid` and its generation, rebuilt by replaying its
        path after a restart."""
        self.t.ensure_running()
        live = self.live.get(sid)
        if live is not None and live[1] == self.t.generation:
            return live
        rec = self.states[sid]
        timeout = self.t.config.request_timeout
        lean_id, _, error, _ = self.open_live(rec, self.t.config.heartbeats, timeout)
        generation = self.t.generation
        for step in rec.steps:
            if error is not None or lean_id is None:
                break
            prev = lean_id
            lean_id, _, error, _ = self.step_live(prev, step, timeout, generation)
            self.release([prev])
        if error is not None or lean_id is None:
            raise LeanServerError(f"replaying proof state {sid} after a restart failed: "
                                  f"{error.text if error else 'no state'}")
        self.replays += 1
        self.live[sid] = (lean_id, generation)
        return lean_id, generation

    def release(self, ids: Iterable[int], flush: bool = False) -> None:
        """Queue Lean-side states (current generation) for release; sent in batches."""
        if self._pending_gen != self.t.generation:  # ids of a dead process mean nothing now
            self._pending, self._pending_gen = [], self.t.generation
        self._pending.extend(ids)
        if self._pending and (flush or len(self._pending) >= FORGET_BATCH) and self.t.alive:
            batch, self._pending = self._pending, []
            self.t.send(P.ForgetStates(tuple(batch)), 30.0, generation=self._pending_gen)

    def new_state(self, rec: StateRecord, lean_id: int, goals: tuple[Goal, ...], lean_s: float,
                  generation: int) -> ProofState | ProofFinished:
        sid = self.new_id()
        if not goals:
            self.release([lean_id])
            return ProofFinished(sid, rec.tactics, lean_seconds=lean_s)
        self.states[sid] = replace(rec, goals=len(goals))
        self.live[sid] = (lean_id, generation)
        return ProofState(sid, goals, rec.tactics, lean_seconds=lean_s)

    def forget(self, sids: Iterable[int]) -> set[int]:
        """Release proof states; returns the environments no remaining state uses."""
        envs = set()
        lean_ids = []
        for sid in sids:
            rec = self.states.pop(sid, None)
            live = self.live.pop(sid, None)
            if live is not None and live[1] == self.t.generation:
                lean_ids.append(live[0])
            if rec is not None and rec.env:
                envs.add(rec.env)
        self.release(lean_ids, flush=True)
        return envs - {r.env for r in self.states.values()}


def step_error(messages: tuple[LeanMessage, ...], lean_s: float) -> LeanError | None:
    errors = [m for m in messages if m.severity is Severity.ERROR]
    if not errors:
        return None
    kind = ErrorKind.HEARTBEATS if any(_is_heartbeat_error(m) for m in errors) else ErrorKind.ELABORATION
    return LeanError(kind, messages, lean_seconds=lean_s)


def _is_heartbeat_error(m: LeanMessage) -> bool:
    # Lean 4.28 tags it `runtime.maxHeartbeats` (`nested.…` inside another tactic's error); older
    # native toolchains leave messages untagged, so the text is the only sign there.
    return m.kind.endswith("runtime.maxHeartbeats") or (not m.kind and "maxHeartbeats" in m.text)
