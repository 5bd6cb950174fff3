"""Typed results of the reading and checking commands: `parse`, `next_command`, `audit`, `replay`.

The guard decides on a `ParseResult`, the reader on `CommandRead`s; both travel as JSON where a
caller needs them to (`to_json` / `from_json`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import prover.lean.syntax as syntax
from prover.lean.types import LeanMessage


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
