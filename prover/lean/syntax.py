"""Lean syntax trees as the server reports them: the one reader of Lean's parse on the Python side.

Lean parses every untrusted text (header commands, statements, proofs, tactics); the server
sends the tree back (`stxJson` in `lean_project/ProverServer/Handlers/Text.lean`). Nodes carry
their kind, their children and the UTF-8 byte range of their first to last token, so text is cut
out of the source exactly where Lean's parser put the boundaries (comments and string literals
included), never by masking or regular expressions. Identifiers carry the name Lean read, as
components, so `«debug».skipKernelTC` and `debug.skipKernelTC` are the same name here as they are
to Lean.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from prover.lean.errors import InvalidRequest, LeanProtocolError


@dataclass(frozen=True)
class Atom:
    """A token: a keyword, a symbol, or the text of a literal (`"\\" ⊕ \\""`, `42`)."""

    text: str


@dataclass(frozen=True)
class Ident:
    """An identifier, as the name Lean read: one string per component."""

    parts: tuple[str, ...]
    span: tuple[int, int] | None = None

    @property
    def name(self) -> str:
        return ".".join(self.parts)


@dataclass(frozen=True)
class Node:
    """An inner node: its syntax kind, children, and byte range (None when it holds no token)."""

    kind: str
    children: tuple[Syntax, ...]
    span: tuple[int, int] | None = None

    def child(self, i: int) -> Syntax:
        return self.children[i] if 0 <= i < len(self.children) else None


Syntax = Node | Atom | Ident | None  # None: Lean's `missing` (a hole the parser left)


def from_json(j: Any) -> Syntax:
    """The tree from the server's JSON; a malformed tree is a protocol fault, not a verdict."""
    try:
        return _from_json(j)
    except RecursionError:
        raise InvalidRequest("the text nests too deeply to be checked") from None


def _from_json(j: Any) -> Syntax:
    if j is None:
        return None
    if not isinstance(j, dict):
        raise LeanProtocolError(f"malformed syntax tree: {str(j)[:80]}")
    if "a" in j:
        return Atom(str(j["a"]))
    if "i" in j:
        return Ident(tuple(str(p) for p in j["i"]), _span(j.get("r")))
    if "k" in j:
        return Node(str(j["k"]), tuple(_from_json(c) for c in j.get("c", ())), _span(j.get("r")))
    raise LeanProtocolError(f"malformed syntax tree node: {str(j)[:80]}")


def to_json(tree: Syntax) -> Any:
    """The server's JSON form of `tree` (for the warm daemon's socket)."""
    if tree is None:
        return None
    if isinstance(tree, Atom):
        return {"a": tree.text}
    if isinstance(tree, Ident):
        return {"i": list(tree.parts), "r": list(tree.span) if tree.span else None}
    return {"k": tree.kind, "c": [to_json(c) for c in tree.children],
            "r": list(tree.span) if tree.span else None}


def _span(r: Any) -> tuple[int, int] | None:
    if isinstance(r, list) and len(r) == 2 and all(isinstance(x, int) for x in r):
        return (r[0], r[1])
    return None


def walk(tree: Syntax) -> Iterator[Syntax]:
    """Every node, atom and identifier of `tree`, parents before children."""
    stack = [tree]
    while stack:
        t = stack.pop()
        if t is None:
            continue
        yield t
        if isinstance(t, Node):
            stack.extend(reversed(t.children))


def nodes(tree: Syntax, kind: str | None = None) -> Iterator[Node]:
    """The inner nodes of `tree` (of one kind, if given), parents before children."""
    for t in walk(tree):
        if isinstance(t, Node) and (kind is None or t.kind == kind):
            yield t


def find(tree: Syntax, kind: str) -> Node | None:
    """The first node of `kind` in `tree` (depth first), or None."""
    return next(nodes(tree, kind), None)


def atoms(tree: Syntax) -> list[str]:
    return [t.text for t in walk(tree) if isinstance(t, Atom)]


def idents(tree: Syntax) -> list[Ident]:
    return [t for t in walk(tree) if isinstance(t, Ident)]


def is_empty(tree: Syntax) -> bool:
    """An optional part that is absent (a `null` node with no children)."""
    return tree is None or (isinstance(tree, Node) and not tree.children)


def source(text: str, span: tuple[int, int] | None) -> str:
    """The source text of a byte range of `text` (Lean positions are UTF-8 byte offsets)."""
    if span is None:
        return ""
    return text.encode("utf-8")[span[0]:span[1]].decode("utf-8")


def string_literal(atom: Atom) -> str | None:
    """The value of a Lean string literal atom (`"a\\"b"` -> `a"b`), or None if it is not one."""
    t = atom.text
    if len(t) < 2 or t[0] != '"' or t[-1] != '"':
        return None
    out, i, body = [], 0, t[1:-1]
    escapes = {"n": "\n", "t": "\t", "\\": "\\", '"': '"', "'": "'", "r": "\r"}
    while i < len(body):
        c = body[i]
        if c == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if nxt in escapes:
                out.append(escapes[nxt])
                i += 2
                continue
            return None  # \x, \u escapes: not worth decoding for tokens; refuse by returning None
        out.append(c)
        i += 1
    return "".join(out)


def escape_name_part(part: str) -> str:
    """A name component as Lean source: plain when it is an identifier, else in «guillemets»."""
    if part and (part[0].isalpha() or part[0] == "_") and all(c.isalnum() or c in "_'!?" for c in part):
        return part
    return f"«{part}»"
