"""Typed results of talking to Lean.

A command yields a `CommandResult`; a tactic yields a new `ProofState`, a `ProofFinished`, or a
`LeanError` (Lean's verdict that the step failed). Faults are exceptions (`prover.lean.errors`).
All of these are frozen and serialise to plain JSON (`to_json` / `from_json`) so the warm CLI
server can send them over its socket.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from typing import Any


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True)
class LeanMessage:
    """One message Lean logged. Lines are 1-based, columns 0-based, relative to the code sent."""

    severity: Severity
    text: str
    line: int = 0
    col: int = 0
    end_line: int = 0
    end_col: int = 0
    # Lean's error name when it has one (e.g. "lean.unknownIdentifier"), else "".
    kind: str = ""

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> LeanMessage:
        return cls(
            severity=Severity(d["severity"]),
            text=d["text"],
            line=int(d.get("line", 0)),
            col=int(d.get("col", 0)),
            end_line=int(d.get("end_line", 0)),
            end_col=int(d.get("end_col", 0)),
            kind="" if d.get("kind") in (None, "[anonymous]") else d["kind"],
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "severity": self.severity.value, "text": self.text, "line": self.line, "col": self.col,
            "end_line": self.end_line, "end_col": self.end_col, "kind": self.kind,
        }

    def __str__(self) -> str:
        return f"{self.line}:{self.col}: {self.severity.value}: {self.text}"


def _messages_json(ms: tuple[LeanMessage, ...]) -> list[dict[str, Any]]:
    return [m.to_json() for m in ms]


def messages_from(ms: Iterable[dict[str, Any]]) -> tuple[LeanMessage, ...]:
    """Lean's messages as they arrive in JSON (server replies, the warm server's socket)."""
    return tuple(LeanMessage.from_json(m) for m in ms)


@dataclass(frozen=True)
class CommandResult:
    """Lean's answer to elaborating some commands."""

    messages: tuple[LeanMessage, ...]
    # Id of the stored environment after the commands (only when asked to keep it).
    env_id: int | None = None
    # Time inside `IO.processCommands`, and Lean's whole handling including rendering messages.
    elab_seconds: float = 0.0
    lean_seconds: float = 0.0

    @property
    def errors(self) -> tuple[LeanMessage, ...]:
        return tuple(m for m in self.messages if m.severity is Severity.ERROR)

    def first_error(self) -> str:
        """The first error as `line:col: text`, for a one-line reason."""
        errors = self.errors
        if not errors:
            return "no error message"
        return f"{errors[0].line}:{errors[0].col}: {errors[0].text}"

    @property
    def infos(self) -> tuple[LeanMessage, ...]:
        return tuple(m for m in self.messages if m.severity is Severity.INFO)

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_json(self) -> dict[str, Any]:
        return {
            "messages": _messages_json(self.messages), "env_id": self.env_id,
            "elab_seconds": self.elab_seconds, "lean_seconds": self.lean_seconds,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> CommandResult:
        return cls(messages_from(d["messages"]), d.get("env_id"), d["elab_seconds"], d["lean_seconds"])


@dataclass(frozen=True)
class Hypothesis:
    name: str
    type: str
    # The body of a `let`/`set` hypothesis, else None.
    value: str | None = None


@dataclass(frozen=True)
class Goal:
    """One open goal: hypotheses in context order, the target, and Lean's own rendering."""

    hypotheses: tuple[Hypothesis, ...]
    target: str
    pretty: str
    tag: str | None = None

    @property
    def key(self) -> tuple[Any, ...]:
        """Content identity up to hypothesis order (for merging duplicate states)."""
        hyps = tuple(sorted((h.name, h.type, h.value or "") for h in self.hypotheses))
        return (hyps, self.target)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Goal:
        tag = d.get("tag") or None
        return cls(
            hypotheses=tuple(Hypothesis(h["name"], h["type"], h.get("value")) for h in d["hyps"]),
            target=d["target"],
            pretty=d["pp"],
            tag=None if tag == "[anonymous]" else tag,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "hyps": [{"name": h.name, "type": h.type, "value": h.value} for h in self.hypotheses],
            "target": self.target, "pp": self.pretty, "tag": self.tag or "",
        }


@dataclass(frozen=True)
class ProofState:
    """An open proof state. `id` names it on the server that made it; `tactics` is the path."""

    id: int
    goals: tuple[Goal, ...]
    tactics: tuple[str, ...] = ()
    lean_seconds: float = 0.0

    @property
    def pretty(self) -> str:
        return "\n\n".join(g.pretty for g in self.goals)

    @property
    def key(self) -> tuple[Any, ...]:
        return tuple(g.key for g in self.goals)

    def to_json(self) -> dict[str, Any]:
        return {
            "type": "state", "id": self.id, "goals": [g.to_json() for g in self.goals],
            "tactics": list(self.tactics), "lean_seconds": self.lean_seconds,
        }


@dataclass(frozen=True)
class ProofFinished:
    """No goals are left. Still to be verified from scratch before it counts (`prover.verify`)."""

    state_id: int
    tactics: tuple[str, ...]
    lean_seconds: float = 0.0

    @property
    def script(self) -> str:
        """The proof as a tactic block body (one tactic per line, multi-line ones indented)."""
        return "\n".join(indent_tactic(t, 2) for t in self.tactics)

    def to_json(self) -> dict[str, Any]:
        return {
            "type": "finished", "state_id": self.state_id, "tactics": list(self.tactics),
            "lean_seconds": self.lean_seconds,
        }


class ErrorKind(str, Enum):
    PARSE = "parse"  # the tactic or statement does not parse
    ELABORATION = "elaboration"  # Lean ran it and reported errors
    REJECTED = "rejected"  # refused before Lean ran it (guard, size, encoding)
    HEARTBEATS = "heartbeats"  # stopped by Lean's own limit (maxHeartbeats)


@dataclass(frozen=True)
class LeanError:
    """Lean's verdict that a step failed; the state it was applied to is unchanged."""

    kind: ErrorKind
    messages: tuple[LeanMessage, ...] = ()
    reason: str = ""
    lean_seconds: float = 0.0

    @property
    def text(self) -> str:
        parts = [self.reason] if self.reason else []
        parts += [m.text for m in self.messages if m.severity is Severity.ERROR]
        return "\n".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {
            "type": "error", "kind": self.kind.value, "messages": _messages_json(self.messages),
            "reason": self.reason, "lean_seconds": self.lean_seconds,
        }


TacticResult = ProofState | ProofFinished | LeanError


def result_from_json(d: dict[str, Any]) -> TacticResult:
    """Inverse of `to_json` for the three tactic results."""
    if d["type"] == "state":
        return ProofState(d["id"], tuple(Goal.from_json(g) for g in d["goals"]), tuple(d["tactics"]),
                          d.get("lean_seconds", 0.0))
    if d["type"] == "finished":
        return ProofFinished(d["state_id"], tuple(d["tactics"]), d.get("lean_seconds", 0.0))
    if d["type"] == "error":
        return LeanError(ErrorKind(d["kind"]), messages_from(d["messages"]), d.get("reason", ""),
                         d.get("lean_seconds", 0.0))
    raise ValueError(f"unknown result type {d['type']!r}")


def indent_tactic(tactic: str, width: int) -> str:
    """Indent every line of a (possibly multi-line) tactic by `width`, keeping its shape."""
    pad = " " * width
    return "\n".join(pad + line if line.strip() else line for line in tactic.split("\n"))


@dataclass(frozen=True)
class DeclInfo:
    """What the verifier needs to know about one declaration in a stored environment."""

    found: bool
    kind: str = ""
    # (name, module) for each axiom the declaration depends on; module None = this session's code.
    axioms: tuple[tuple[str, str | None], ...] = ()
    is_unsafe: bool = False
    # Whether its type is identical to the compared declaration's, when one was given.
    same_type: bool | None = None
