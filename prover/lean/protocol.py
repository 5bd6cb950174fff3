"""The Lean server's wire protocol, mirrored type for type from `lean_project/ProverServer/Protocol.lean`.

A request is one JSON object `{"id", "cmd", <fields>}`; a reply is `{"id", "ok": true, <fields>}`
or `{"id", "ok": false, "error": {"category", "desc"}}` (`ErrorRecord`, the one error record).
Each command has one request dataclass here (its fields are the wire fields, `cmd` names it) and
one reply dataclass (`Request.reply`); the Lean side has the same structures and a dispatch table.
The server's `ready` line lists its commands and protocol version, and `check_ready` refuses a
server that does not speak exactly this protocol. Replies are decoded strictly: a missing field,
a field of the wrong type or a field this side does not know is a `LeanProtocolError`, so the two
sides cannot drift apart silently. Golden transcripts (`tests/golden/protocol.jsonl`) pin both.
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from dataclasses import dataclass
from typing import Any, ClassVar, Union

from prover.lean.errors import LeanProtocolError

PROTOCOL_VERSION = 2

Json = Any  # a JSON value kept as parsed: messages, goals and syntax trees have their own readers


class ErrorCategory(enum.Enum):
    """Why the server refused a request: the members of `ErrorCategory` in `Protocol.lean`, by their
    wire names (`tests/test_protocol.py` checks the two lists are the same). A category this side
    does not know is a `LeanProtocolError` when decoded."""

    MALFORMED_REQUEST = "malformed_request"  # not JSON, no `cmd`, or a field missing or ill-typed
    UNKNOWN_COMMAND = "unknown_command"
    UNKNOWN_ENV = "unknown_env"  # no stored environment with that id (never stored, or forgotten)
    UNKNOWN_STATE = "unknown_state"  # no stored proof state with that id
    UNKNOWN_GOAL = "unknown_goal"  # the proof state has no goal with that index


@dataclass(frozen=True)
class ErrorRecord:
    """The one error record of a refusal."""

    category: ErrorCategory
    desc: str


# ----------------------------------------------------------------------------- replies


@dataclass(frozen=True)
class Reply:
    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Reply:
        return decode(cls, d)

    def to_json(self) -> dict[str, Any]:
        """The reply's fields as Lean sent them (what the warm daemon relays to its clients)."""
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Empty(Reply):
    """A reply with no fields (`rotate`, `forget`)."""


@dataclass(frozen=True)
class PingReply(Reply):
    pong: bool


@dataclass(frozen=True)
class ExitReply(Reply):
    bye: bool


@dataclass(frozen=True)
class ExecReply(Reply):
    messages: tuple[Json, ...]
    elab_ns: int  # inside `IO.processCommands`
    lean_ns: int  # all of Lean's handling, rendering messages included
    env: int | None  # the stored state, when `keep` was asked for


@dataclass(frozen=True)
class ParseReply(Reply):
    parsed: bool
    parse_error: str  # "" when parsed
    kinds: tuple[str, ...]
    atoms: tuple[str, ...]
    idents: tuple[str, ...]
    tree: Json  # `prover.lean.syntax` JSON; null when not parsed
    lean_ns: int


@dataclass(frozen=True)
class NextCommandReply(Reply):
    eoi: bool  # only whitespace and comments were left (the other fields are then empty)
    end: int
    text: str
    errors: tuple[Json, ...]
    one: bool
    same: bool
    tree: Json
    lean_ns: int


@dataclass(frozen=True)
class TokensReply(Reply):
    known: tuple[bool, ...]


@dataclass(frozen=True)
class AxiomRef:
    name: str
    module: str | None  # None: declared in this session's code


@dataclass(frozen=True)
class DeclReply(Reply):
    found: bool
    kind: str
    axioms: tuple[AxiomRef, ...]
    unsafe: bool
    same_type: bool | None  # only when a comparison was asked for


@dataclass(frozen=True)
class Finding:
    name: str
    problem: str  # "shadows", "alias" or "core_instance"
    what: tuple[str, ...]


@dataclass(frozen=True)
class AuditReply(Reply):
    findings: tuple[Finding, ...]


@dataclass(frozen=True)
class ReplayReply(Reply):
    checked: int
    error: str | None
    lean_ns: int


@dataclass(frozen=True)
class StateReply(Reply):
    """`open_proof` and `step`: a new stored state and its goals, or none (the messages, or
    `parse_error` for a step, say why). `elab_ns` is the statement's or the tactic's own time."""

    state: int | None
    goals: tuple[Json, ...]
    messages: tuple[Json, ...]
    parse_error: str | None
    elab_ns: int
    lean_ns: int


@dataclass(frozen=True)
class TermsReply(Reply):
    goals: tuple[Json, ...]  # `prover.lean.exprs` reads them
    lean_ns: int


@dataclass(frozen=True)
class RefuteReply(Reply):
    results: tuple[str, ...]  # one `prover.lean.exprs.RefuteStatus` value per assignment tried
    lean_ns: int


@dataclass(frozen=True)
class ForgetStatesReply(Reply):
    live: int  # proof states the server still holds


# ----------------------------------------------------------------------------- requests


@dataclass(frozen=True)
class Request:
    cmd: ClassVar[str]
    reply: ClassVar[type[Reply]]

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"cmd": self.cmd}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if v is not None:  # an absent optional field: the server's default applies
                out[f.name] = _wire(v)
        return out


@dataclass(frozen=True)
class Ping(Request):
    cmd: ClassVar[str] = "ping"
    reply: ClassVar[type[Reply]] = PingReply


@dataclass(frozen=True)
class Exit(Request):
    cmd: ClassVar[str] = "exit"
    reply: ClassVar[type[Reply]] = ExitReply


@dataclass(frozen=True)
class Rotate(Request):
    """Continue with the fresh request log `<channel>/<log>`."""

    log: str
    cmd: ClassVar[str] = "rotate"
    reply: ClassVar[type[Reply]] = Empty


@dataclass(frozen=True)
class Exec(Request):
    """Elaborate commands on a stored environment (0: right after the import)."""

    code: str
    env: int = 0
    keep: bool = False
    cmd: ClassVar[str] = "exec"
    reply: ClassVar[type[Reply]] = ExecReply


@dataclass(frozen=True)
class Parse(Request):
    category: str
    text: str
    env: int = 0
    cmd: ClassVar[str] = "parse"
    reply: ClassVar[type[Reply]] = ParseReply


@dataclass(frozen=True)
class NextCommand(Request):
    code: str
    pos: int = 0
    env: int = 0
    cmd: ClassVar[str] = "next_command"
    reply: ClassVar[type[Reply]] = NextCommandReply


@dataclass(frozen=True)
class Tokens(Request):
    tokens: tuple[str, ...]
    env: int = 0
    cmd: ClassVar[str] = "tokens"
    reply: ClassVar[type[Reply]] = TokensReply


@dataclass(frozen=True)
class Decl(Request):
    name: str
    env: int = 0
    cmp_env: int | None = None
    cmp_name: str | None = None  # default: `name`
    cmd: ClassVar[str] = "decl"
    reply: ClassVar[type[Reply]] = DeclReply


@dataclass(frozen=True)
class Audit(Request):
    env: int
    namespaces: tuple[str, ...] = ()
    cmd: ClassVar[str] = "audit"
    reply: ClassVar[type[Reply]] = AuditReply


@dataclass(frozen=True)
class Replay(Request):
    env: int
    names: tuple[str, ...]
    heartbeats: int = 200_000
    cmd: ClassVar[str] = "replay"
    reply: ClassVar[type[Reply]] = ReplayReply


@dataclass(frozen=True)
class Forget(Request):
    envs: tuple[int, ...]
    cmd: ClassVar[str] = "forget"
    reply: ClassVar[type[Reply]] = Empty


@dataclass(frozen=True)
class OpenProof(Request):
    """Elaborate a theorem whose proof is `prover_capture "<tag>"` and store its state."""

    code: str
    tag: str
    env: int = 0
    cmd: ClassVar[str] = "open_proof"
    reply: ClassVar[type[Reply]] = StateReply


@dataclass(frozen=True)
class Step(Request):
    """Run one tactic on goal `goal` of a stored state (heartbeats in thousands, this tactic's)."""

    state: int
    tactic: str
    goal: int = 0
    heartbeats: int = 200_000
    cmd: ClassVar[str] = "step"
    reply: ClassVar[type[Reply]] = StateReply


@dataclass(frozen=True)
class Terms(Request):
    """Each open goal of a stored state as typed expression trees (at most `cap` nodes a goal)."""

    state: int
    cap: int = 50_000
    cmd: ClassVar[str] = "terms"
    reply: ClassVar[type[Reply]] = TermsReply


@dataclass(frozen=True)
class Refute(Request):
    """Whether goal `goal` is false at each assignment (`(fvar id, value term)` pairs), in order up
    to the first the kernel confirms."""

    state: int
    assignments: tuple[tuple[tuple[str, str], ...], ...]
    goal: int = 0
    heartbeats: int = 200_000
    cmd: ClassVar[str] = "refute"
    reply: ClassVar[type[Reply]] = RefuteReply


@dataclass(frozen=True)
class ForgetStates(Request):
    states: tuple[int, ...]
    cmd: ClassVar[str] = "forget_states"
    reply: ClassVar[type[Reply]] = ForgetStatesReply


REQUESTS: dict[str, type[Request]] = {
    r.cmd: r for r in (Ping, Exit, Rotate, Exec, Parse, NextCommand, Tokens, Decl, Audit, Replay, Forget,
                       OpenProof, Step, Terms, Refute, ForgetStates)
}


def _wire(v: Any) -> Any:
    return [_wire(x) for x in v] if isinstance(v, tuple) else v


def check_ready(ready: dict[str, Any]) -> None:
    """Refuse a server whose protocol differs from this one (a stale build, another version)."""
    version, commands = ready.get("protocol"), ready.get("commands")
    if version != PROTOCOL_VERSION or not isinstance(commands, list) or set(commands) != set(REQUESTS):
        theirs = sorted(commands) if isinstance(commands, list) else commands
        raise LeanProtocolError(
            f"the Lean server speaks protocol {version!r} with commands {theirs}; this client speaks "
            f"protocol {PROTOCOL_VERSION} with {sorted(REQUESTS)} (is lean_project/ from another version?)")


def decode_request(d: Any) -> Request:
    """A request as `Request.to_json` wrote it (the warm daemon reads its clients' this way):
    `cmd` names the command, an optional field left out takes its default, and anything else
    missing, mistyped or unknown is a `LeanProtocolError`."""
    if not isinstance(d, dict) or not isinstance(d.get("cmd"), str):
        raise LeanProtocolError(f"a request must be an object with a `cmd`; got {str(d)[:200]}")
    cls = REQUESTS.get(d["cmd"])
    if cls is None:
        raise LeanProtocolError(f"unknown command {d['cmd']!r}; known: {sorted(REQUESTS)}")
    defaults = {f.name: f.default for f in dataclasses.fields(cls) if f.default is not dataclasses.MISSING}
    fields = {k: v for k, v in d.items() if k != "cmd"}
    return decode(cls, {**{k: _wire(v) for k, v in defaults.items()}, **fields})


def decode_error(reply: dict[str, Any]) -> ErrorRecord:
    return decode(ErrorRecord, reply.get("error"))


def decode_reply(request: Request | type[Request], reply: dict[str, Any]) -> Reply:
    """The fields of a successful reply (without `id`/`ok`) as the request's reply type."""
    return decode(request.reply, {k: v for k, v in reply.items() if k not in ("id", "ok")})


# ----------------------------------------------------------------------------- strict decoding

_T = typing.TypeVar("_T")


def decode(cls: type[_T], d: Any, where: str = "") -> _T:
    """`d` as dataclass `cls`: every field present with its annotated type, and no other field."""
    where = where or cls.__name__
    if not isinstance(d, dict):
        raise LeanProtocolError(f"{where}: expected an object, got {type(d).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    if extra := sorted(set(d) - fields):
        raise LeanProtocolError(f"{where}: fields this client does not know: {extra}")
    if absent := sorted(fields - set(d)):
        raise LeanProtocolError(f"{where}: missing fields {absent}")
    return cls(**{k: _value(hints[k], d[k], f"{where}.{k}") for k in fields})


def _value(ty: Any, v: Any, where: str) -> Any:
    if ty is Any:
        return v
    origin = typing.get_origin(ty)
    if origin in (Union, types.UnionType):
        options = typing.get_args(ty)
        if v is None and type(None) in options:
            return None
        (inner,) = [t for t in options if t is not type(None)]
        return _value(inner, v, where)
    if origin is tuple:
        if not isinstance(v, list):
            raise LeanProtocolError(f"{where}: expected a list, got {type(v).__name__}")
        item = typing.get_args(ty)[0]
        return tuple(_value(item, x, f"{where}[{i}]") for i, x in enumerate(v))
    if dataclasses.is_dataclass(ty):
        return decode(ty, v, where)
    if isinstance(ty, type) and issubclass(ty, enum.Enum):
        try:
            return ty(v)
        except ValueError:
            raise LeanProtocolError(f"{where}: unknown {ty.__name__} {v!r}") from None
    # bool is an int in Python; the wire keeps them apart.
    if ty is int and (not isinstance(v, int) or isinstance(v, bool)):
        raise LeanProtocolError(f"{where}: expected an integer, got {v!r}")
    if ty in (str, bool) and not isinstance(v, ty):
        raise LeanProtocolError(f"{where}: expected {ty.__name__}, got {v!r}")
    return v
