"""The one reader of untrusted snippets: header commands, then the final theorem, as Lean reads them.

A snippet (from a user, a model or a benchmark file) is read command by command by Lean's own
command parser, in the environment the earlier commands built (a `notation` changes how later
commands parse). Each header command is guarded on its parse tree (`SyntaxGuard.check_command`),
its new notation tokens are checked against Lean's token table, and only then is exactly that text
elaborated. Once the header has elaborated, Lean audits what it declared (`LeanServer.audit`).

The last command must be a `theorem` or `example`; its signature (binders and type) is cut out of
the source at the byte range Lean's parser gave it, guarded, and every statement the prover then
elaborates is composed around that signature and re-parsed (`compose_statement`), so no comment,
literal or stray token can make the composed text mean something else.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Protocol, runtime_checkable

import prover.lean.decls as decls
import prover.lean.syntax as S
from prover.lean.client import LeanClient
from prover.lean.errors import InvalidRequest
from prover.lean.results import CommandRead
from prover.lean.snippet import MAX_SNIPPET_CHARS, ensure_text
from prover.lean.types import LeanMessage

THEOREM_KINDS = ("Lean.Parser.Command.theorem", "Lean.Parser.Command.example")
# Text appended to try reading a final statement that has no proof yet (`… : P`, `… := by`, `… :=`).
# Each starts on a new line, so a trailing `--` comment cannot swallow it.
_COMPLETIONS = ("\n:= sorry", "\n  sorry", "\n    sorry", "\n        sorry")


class ReadStage(str, Enum):
    """Which check a snippet failed."""

    INPUT = "input"  # not text, too large, no statement at the end
    PARSE = "parse"  # Lean cannot read a command
    GUARD = "guard"  # a header command or the signature is refused
    HEADER = "header"  # the header commands do not elaborate
    MEANING = "meaning"  # the header changes what core names or notation mean


@dataclass(frozen=True)
class ReadError:
    """Why a snippet cannot be used; the `stage` says which check refused it."""

    stage: ReadStage
    reason: str
    messages: tuple[LeanMessage, ...] = ()


@dataclass(frozen=True)
class Statement:
    """The final theorem as Lean read it. `signature` is its binders and type, verbatim."""

    keyword: str  # "theorem" or "example"
    name_parts: tuple[str, ...]  # the declared name (empty for `example`)
    universes: str  # `.{u, v}` or ""
    signature: str
    proof: str | None  # the proof term's text when the snippet carries one (not `sorry`)
    signature_tree: S.Syntax = None

    @property
    def name(self) -> str | None:
        return ".".join(self.name_parts) if self.name_parts else None

    @property
    def namespace_parts(self) -> tuple[str, ...]:
        """The namespace the declaration's own name opens for its signature (`Nat.foo` -> `Nat`)."""
        return self.name_parts[:-1]


@dataclass(frozen=True)
class Reading:
    """A snippet read and its header elaborated: `env` is the stored header environment (0: none)."""

    statement: Statement
    env: int
    header_commands: tuple[str, ...] = ()
    lean_seconds: float = 0.0


class CommandParser(Protocol):
    """What reading declarations needs: Lean's command parser (`LeanServer`, the daemon's client)."""

    def next_command(self, code: str, pos: int = 0, *, env: int = 0) -> CommandRead: ...


@runtime_checkable
class SnippetGuard(Protocol):
    """What the reader asks of a guard (`prover.lean.guard.SyntaxGuard` is the one)."""

    trusted: bool  # a user's own files: header commands and statements pass unchecked

    def check_command(self, tree: S.Syntax) -> str | None: ...
    def check_statement(self, tree: S.Syntax) -> str | None: ...
    def notation_tokens(self, tree: S.Syntax) -> list[str]: ...


@dataclass
class _Envs:
    """Environment handles made while reading: all but the final one are released."""

    forget: Callable[[int], None]
    made: list[int] = field(default_factory=list)

    def release_all_but(self, keep: int) -> None:
        for e in self.made:
            if e != keep:
                self.forget(e)
        self.made = [keep] if keep else []


def read_snippet(lean: LeanClient, snippet: str | bytes, guard: SnippetGuard, *, timeout: float | None = None,
                 audit: bool = True) -> Reading | ReadError:
    """Read `snippet` (header commands, then a final `theorem`/`example`) and elaborate its header.

    Args:
        lean: the server (`LeanServer` or the warm daemon's client).
        snippet: untrusted text; the final theorem may end in `:= by`, `:= sorry`, `:=`, nothing,
            or carry a proof (then `Statement.proof` holds it).
        guard: a `SnippetGuard`, e.g. `SyntaxGuard` (its trusted mode lets a user's own files through).
        audit: run Lean's audit of what the header declared (skipped in trusted mode).

    Returns:
        The reading (the caller owns `Reading.env` and forgets it), or why the snippet is refused.
    """
    try:
        text = ensure_text(snippet, "snippet")
    except InvalidRequest as e:
        return ReadError(ReadStage.INPUT, str(e))
    if len(text) > MAX_SNIPPET_CHARS:
        return ReadError(ReadStage.INPUT,
                         f"snippet is {len(text)} characters; the limit is {MAX_SNIPPET_CHARS}")
    envs = _Envs(lean.forget_env)
    try:
        result = _read(lean, text, guard, timeout, audit, envs)
    except BaseException:
        envs.release_all_but(0)
        raise
    envs.release_all_but(result.env if isinstance(result, Reading) else 0)
    return result


def _read(lean: LeanClient, text: str, guard: SnippetGuard, timeout: float | None, audit: bool,
          envs: _Envs) -> Reading | ReadError:
    env, pos, lean_s = 0, 0, 0.0
    header: list[str] = []
    while True:
        cmd = lean.next_command(text, pos, env=env)
        lean_s += cmd.lean_seconds
        if cmd.eoi:
            return ReadError(ReadStage.INPUT,
                             "the snippet does not end in a `theorem` or `example` statement")
        final = _final_statement(lean, text, pos, env, cmd)
        if final is not None:
            if isinstance(final, ReadError):
                return final
            if (why := guard.check_statement(final.signature_tree)) is not None:
                return ReadError(ReadStage.GUARD, f"statement refused: {why}")
            if audit and not guard.trusted and env:
                findings = lean.audit(env, namespaces=[".".join(final.namespace_parts)]
                                      if final.namespace_parts else [])
                if findings:
                    return ReadError(ReadStage.MEANING, "header refused: " + "; ".join(map(str, findings)))
            return Reading(final, env, tuple(header), lean_s)
        if not cmd.one or not cmd.same or cmd.errors:
            where = _where(text, pos)
            why = cmd.errors[0].text if cmd.errors else "it is not read as one complete command on its own"
            return ReadError(ReadStage.PARSE, f"Lean cannot read the command at {where}: {why}", cmd.errors)
        if (why := guard.check_command(cmd.tree)) is not None:
            return ReadError(ReadStage.GUARD, f"{why} (at {_where(text, pos)})")
        tokens = guard.notation_tokens(cmd.tree)
        if tokens and not guard.trusted:
            # A notation may add new tokens only: an existing token (`+`) or a name Lean already
            # has (`False`, `Nat`) would change what the statement's text means.
            known = lean.known_tokens(tokens, env=env)
            clash = [t for t, k in zip(tokens, known, strict=True) if k]
            if clash:
                return ReadError(ReadStage.GUARD, "header refused: notation redefines existing token(s) "
                                 f"or name(s) {', '.join(f'`{t}`' for t in clash)}")
        result = lean.check(cmd.text, env=env, keep=True, timeout=timeout)
        lean_s += result.lean_seconds
        if result.env_id is not None:
            envs.made.append(result.env_id)
        if not result.ok:
            return ReadError(ReadStage.HEADER, "the commands before the theorem do not elaborate: "
                             + result.first_error(), result.messages)
        if result.env_id is None:
            return ReadError(ReadStage.HEADER, "Lean kept no environment for a header command")
        envs.release_all_but(result.env_id)
        env = result.env_id
        header.append(cmd.text)
        pos = cmd.end


def _final_statement(lean: LeanClient, text: str, pos: int, env: int,
                     cmd: CommandRead) -> Statement | ReadError | None:
    """The statement if the command at `pos` is the snippet's last and a theorem, else None."""
    if cmd.one and cmd.same and not cmd.errors:
        if not _is_theorem(cmd.tree) or not lean.next_command(text, cmd.end, env=env).eoi:
            return None
        return _statement(cmd.tree, cmd.text, completed=False)
    # A statement without its proof does not parse as a command: complete it and read again.
    for tail in _COMPLETIONS:
        done = lean.next_command(text + tail, pos, env=env)
        if done.eoi or not (done.one and done.same and not done.errors) or not _is_theorem(done.tree):
            continue
        if not lean.next_command(text + tail, done.end, env=env).eoi:
            continue
        st = _statement(done.tree, done.text, completed=True)
        if isinstance(st, Statement) and st.proof is None:
            return st
    return None


def _is_theorem(tree: S.Syntax) -> bool:
    return (isinstance(tree, S.Node) and tree.kind == "Lean.Parser.Command.declaration"
            and isinstance(tree.child(1), S.Node) and tree.child(1).kind in THEOREM_KINDS)


def _statement(tree: S.Node, text: str, *, completed: bool) -> Statement | ReadError:
    decl = tree.child(1)
    if not isinstance(decl, S.Node):  # `_is_theorem` checked it; a defect if this fails
        return ReadError(ReadStage.PARSE, "the theorem could not be read")
    keyword = "theorem" if decl.kind == "Lean.Parser.Command.theorem" else "example"
    name_parts: tuple[str, ...] = ()
    universes = ""
    if keyword == "theorem":
        decl_id = decl.child(1)
        ident = decl_id.child(0) if isinstance(decl_id, S.Node) else None
        if not isinstance(ident, S.Ident):
            return ReadError(ReadStage.PARSE, "the theorem's name could not be read")
        name_parts = ident.parts
        if isinstance(decl_id, S.Node) and not S.is_empty(decl_id.child(1)):
            universes = S.source(text, _node_span(decl_id.child(1)))
        sig, val = decl.child(2), decl.child(3)
    else:
        sig, val = decl.child(1), decl.child(2)
    if not isinstance(sig, S.Node) or S.find(sig, "Lean.Parser.Term.typeSpec") is None:
        return ReadError(ReadStage.PARSE, "the statement has no type (`: …`)")
    proof = _proof_text(val, text)
    if completed and proof is not None:
        return ReadError(ReadStage.PARSE, "the statement could not be read")
    return Statement(keyword, name_parts, universes, S.source(text, sig.span), proof, sig)


def _proof_text(val: S.Syntax, text: str) -> str | None:
    """The proof term of a `declValSimple` (`:= t`), or None for `sorry` / `by sorry`."""
    if not isinstance(val, S.Node) or val.kind != "Lean.Parser.Command.declValSimple":
        return None if S.is_empty(val) else S.source(text, _node_span(val))
    term = val.child(1)
    kinds = [n.kind for n in S.nodes(term)]
    if kinds in (["Lean.Parser.Term.sorry"],) or (
            kinds[:1] == ["Lean.Parser.Term.byTactic"] and "Lean.Parser.Tactic.tacticSorry" in kinds
            and len([k for k in kinds if k.startswith("Lean.Parser.Tactic.tactic") and k not in (
                "Lean.Parser.Tactic.tacticSeq", "Lean.Parser.Tactic.tacticSeq1Indented")]) == 1):
        return None
    return S.source(text, _node_span(term))


def _node_span(t: S.Syntax) -> tuple[int, int] | None:
    if isinstance(t, S.Node | S.Ident):
        return t.span
    return None


def statement_name(statement: Statement, tag: str | None = None) -> str:
    """A fresh declaration name for elaborating `statement`, in the namespace its own name opens
    (so `theorem Nat.foo : succ 0 = 1` still reads `succ` as `Nat.succ`)."""
    fresh = f"prover_{tag or secrets.token_hex(6)}"
    return ".".join([*(S.escape_name_part(p) for p in statement.namespace_parts), fresh])


def compose_statement(lean: LeanClient, statement: Statement, name: str, value: str, *, env: int,
                      prefix: str = "") -> str | ReadError:
    """`{prefix}theorem {name}{universes} {signature} := {value}`, re-parsed by Lean: it must be
    one command whose signature is exactly `statement.signature` and whose value is exactly
    `value`, or the composition is refused (a fault in what was composed, never guessed around).
    """
    code = f"{prefix}theorem {name}{statement.universes} {statement.signature} := {value}\n"
    cmd = lean.next_command(code, 0, env=env)
    if cmd.eoi or not (cmd.one and cmd.same and not cmd.errors):
        why = cmd.errors[0].text if cmd.errors else "it is not one command"
        return ReadError(ReadStage.PARSE, f"the composed theorem does not read back: {why}", cmd.errors)
    decl = next((n for n in S.nodes(cmd.tree, "Lean.Parser.Command.declaration")), None)
    inner = decl.child(1) if decl is not None else None
    if not isinstance(inner, S.Node) or inner.kind != "Lean.Parser.Command.theorem":
        return ReadError(ReadStage.PARSE, "the composed text is not a theorem")
    sig, val = inner.child(2), inner.child(3)
    sig_text = S.source(cmd.text, sig.span if isinstance(sig, S.Node) else None)
    simple = isinstance(val, S.Node) and val.kind == "Lean.Parser.Command.declValSimple"
    term = val.child(1) if simple and isinstance(val, S.Node) else None
    val_text = S.source(cmd.text, _node_span(term))
    if sig_text != statement.signature or val_text != value.strip():
        return ReadError(ReadStage.PARSE, "the composed theorem reads differently from its parts "
                                          "(the signature or the proof leaks into the other)")
    return code


def _where(text: str, pos: int) -> str:
    """`line N` of the first non-blank character at or after byte offset `pos`."""
    data = text.encode("utf-8")
    start = pos + len(data[pos:]) - len(data[pos:].lstrip())
    line = data[:start].count(b"\n") + 1
    return f"line {line}"



# ------------------------------------------------------------------------ declarations, as Lean reads

_DECL_KINDS = {"Lean.Parser.Command.theorem": "theorem", "Lean.Parser.Command.definition": "def",
               "Lean.Parser.Command.abbrev": "abbrev", "Lean.Parser.Command.instance": "instance",
               "Lean.Parser.Command.example": "example", "Lean.Parser.Command.axiom": "axiom",
               "Lean.Parser.Command.opaque": "opaque", "Lean.Parser.Command.structure": "structure",
               "Lean.Parser.Command.inductive": "inductive",
               "Lean.Parser.Command.classInductive": "class inductive"}
# Children of each declaration node: (name's declId, signature, body candidates), by index.
_DECL_PARTS: dict[str, tuple[int | None, int, tuple[int, ...]]] = {
    "theorem": (1, 2, (3,)), "def": (1, 2, (3,)), "abbrev": (1, 2, (3,)), "instance": (3, 4, (5,)),
    "example": (None, 1, (2,)), "axiom": (1, 2, ()), "opaque": (1, 2, (3,)), "structure": (1, 2, (4,)),
    "class": (1, 2, (4,)),
    "inductive": (1, 2, (3, 4)), "class inductive": (1, 2, (3, 4)),
}


def declarations(lean: CommandParser, text: str) -> tuple[decls.Decl, ...] | ReadError:
    """The top-level declarations of `text` as Lean's command parser reads them: the same records
    as the splitter's `prover.lean.decls.declarations`, read by Lean instead (one parse per command,
    nothing elaborated). The last command may be a statement without its proof (`theorem t : P`,
    `… := by`); a body that is not in `text` is then None.

    Commands are parsed in the empty environment: a `notation` in `text` is not applied, so text
    that uses its own notation is refused here (`read_snippet` elaborates as it reads).

    Returns:
        The declarations, or why Lean cannot read `text` (not text, too large, a parse error).
    """
    try:
        text = ensure_text(text, "text")
    except InvalidRequest as e:
        return ReadError(ReadStage.INPUT, str(e))
    if len(text) > MAX_SNIPPET_CHARS:
        return ReadError(ReadStage.INPUT, f"text is {len(text)} characters; the limit is {MAX_SNIPPET_CHARS}")
    at = _Offsets(text)
    out: list[decls.Decl] = []
    scopes: list[tuple[str, tuple[str, ...]]] = []
    pos = 0
    while True:
        cmd = lean.next_command(text, pos, env=0)
        if cmd.eoi:
            return tuple(out)
        tree, end = cmd.tree, cmd.end
        if not (cmd.one and cmd.same and not cmd.errors):
            tree, end = _completed(lean, text, pos), at.size
            if tree is None:
                why = cmd.errors[0].text if cmd.errors else "it is not read as one complete command"
                return ReadError(ReadStage.PARSE,
                                 f"Lean cannot read the command at {_where(text, pos)}: {why}", cmd.errors)
        namespace = tuple(p for kind, parts in scopes if kind == "namespace" for p in parts)
        for node, outer in _declaration_nodes(tree):
            d = _decl(node, outer, text, at.shifted(pos), namespace)
            if d is not None:
                out.append(d)
        if isinstance(tree, S.Node):
            arg = next((t.parts for t in S.walk(tree) if isinstance(t, S.Ident)), ())
            if tree.kind == "Lean.Parser.Command.namespace":
                scopes.append(("namespace", arg))
            elif tree.kind == "Lean.Parser.Command.section":
                scopes.append(("section", arg))
            elif tree.kind == "Lean.Parser.Command.end" and scopes:
                scopes.pop()
        pos = end


def _completed(lean: CommandParser, text: str, pos: int) -> S.Syntax | None:
    """The tree of the statement at `pos` read with a proof appended, if it is the last command."""
    for tail in _COMPLETIONS:
        done = lean.next_command(text + tail, pos, env=0)
        if (not done.eoi and done.one and done.same and not done.errors
                and lean.next_command(text + tail, done.end, env=0).eoi):
            return done.tree
    return None


class _Offsets:
    """UTF-8 byte offsets of a text (what Lean reports) as string indices; None past its end."""

    def __init__(self, text: str, base: int = 0, table: list[int] | None = None) -> None:
        if table is None:
            table = [i for i, ch in enumerate(text) for _ in range(len(ch.encode("utf-8")))]
            table.append(len(text))
        self.table, self.base, self.size = table, base, len(table) - 1

    def shifted(self, base: int) -> _Offsets:
        """The same text, for offsets counted from byte `base` (a command's own spans)."""
        return _Offsets("", base, self.table)

    def __call__(self, b: int) -> int:
        return self.table[min(self.base + b, self.size)]

    def inside(self, b: int) -> bool:
        return self.base + b < self.size


def _declaration_nodes(tree: S.Syntax) -> list[tuple[S.Node, S.Node]]:
    """The declaration nodes of a command (inside `mutual` and `… in` too), each with the outermost
    node it starts with (`open … in` is part of the declaration)."""
    if not isinstance(tree, S.Node):
        return []
    if tree.kind == "Lean.Parser.Command.declaration":
        return [(tree, tree)]
    if tree.kind == "Lean.Parser.Command.in":
        return [(d, tree) for d, _ in _declaration_nodes(tree.child(2))]
    if tree.kind == "Lean.Parser.Command.mutual":
        inner = tree.child(1)
        return [x for c in (inner.children if isinstance(inner, S.Node) else ())
                for x in _declaration_nodes(c)]
    return []


def _decl(tree: S.Node, outer: S.Node, text: str, at: _Offsets,
          namespace: tuple[str, ...]) -> decls.Decl | None:
    """The `Decl` of one `Command.declaration` node (spans counted from its command's start)."""
    mods, node = tree.child(0), tree.child(1)
    if not isinstance(node, S.Node) or node.kind not in _DECL_KINDS or not isinstance(mods, S.Node):
        return None
    keyword = _DECL_KINDS[node.kind]
    head = node.child(0)
    if keyword == "structure" and isinstance(head, S.Node) and head.kind == "Lean.Parser.Command.classTk":
        keyword = "class"

    def src(t: S.Syntax) -> str:
        span = t.span if isinstance(t, S.Node | S.Ident) else None
        return text[at(span[0]):at(span[1])] if span else ""

    id_at, sig_at, body_at = _DECL_PARTS[keyword]
    decl_id = node.child(id_at) if id_at is not None else None
    if isinstance(decl_id, S.Node) and decl_id.kind == "null":  # `instance`'s optional name
        decl_id = decl_id.child(0)
    name: tuple[str, ...] = ()
    universes = ""
    if isinstance(decl_id, S.Node) and isinstance(decl_id.child(0), S.Ident):
        name, universes = decl_id.child(0).parts, src(decl_id.child(1))
    doc_node = S.find(mods.child(0), "Lean.Parser.Command.docComment")
    doc = src(doc_node)[3:-2].strip() if doc_node is not None else None
    attrs = tuple(src(a)[2:-1].strip() for a in S.nodes(mods.child(1), "Lean.Parser.Term.attributes"))
    modifiers = [a for c in mods.children[2:] for a in S.atoms(c)]
    if keyword == "instance":  # `scoped`/`local` sit inside the instance node
        modifiers = S.atoms(head) + modifiers
    sig = node.child(sig_at)
    sig_span = sig.span if isinstance(sig, S.Node) else None
    body_span = next((b.span for b in (node.child(i) for i in body_at)
                      if isinstance(b, S.Node) and b.span is not None), None)
    # A body that lies in the appended completion is not the text's: the statement has none.
    body = at(body_span[0]) if body_span is not None and at.inside(body_span[0]) else None
    start = at(outer.span[0]) if outer.span else 0
    stop = at(outer.span[1]) if outer.span else start
    if body is None and body_span is not None:
        stop = at(sig_span[1]) if sig_span else stop
    stop = len(text[:stop].rstrip()) if stop >= len(text) else stop
    has_type = isinstance(sig, S.Node) and any(_is_type_spec(c) or (
        isinstance(c, S.Node) and c.kind == "null" and _is_type_spec(c.child(0))) for c in sig.children)
    keyword_at = at(node.span[0]) if node.span else start
    signature_at = at(sig_span[0]) if sig_span else (body if body is not None else stop)
    return decls.Decl(keyword, name, namespace, tuple(modifiers), attrs, doc, start, keyword_at,
                      signature_at, body, stop, universes, has_type)


def _is_type_spec(t: S.Syntax) -> bool:
    return isinstance(t, S.Node) and t.kind == "Lean.Parser.Term.typeSpec"
