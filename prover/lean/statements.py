"""What to prove, from what a user gives: a statement, a bare proposition, or a theorem in a file,
turned into a snippet for `LeanServer.open_proof` (read by the splitter, `prover.lean.decls`,
because this runs before a server starts; Lean reads the snippet again when the proof opens).

`search.api` re-exports these for `prover prove` and notebooks.
"""

from __future__ import annotations

from pathlib import Path

from prover.lean import decls
from prover.lean.errors import InvalidRequest
from prover.lean.snippet import split_snippet

CORE_MODULES = ("Lean", "Init", "Std")  # imported by the server already


class StatementError(ValueError):
    """The statement or the named theorem cannot be turned into something to prove."""


def as_snippet(statement: str) -> str:
    """A snippet for `open_proof`: a `theorem`/`lemma`/`example` (with any definitions before it),
    or a bare proposition, which becomes `theorem goal : <proposition>`.

    Imports of Lean's core (`Lean`, `Init`, `Std`) are dropped, a trailing `:= by`, `:= by sorry` or
    `:= sorry` is dropped, and `lemma` (not a core Lean keyword) is spelled `theorem`.

    Raises:
        StatementError: empty, or the last theorem already carries a proof.
    """
    text = statement.strip()
    if not text:
        raise StatementError("the statement is empty")
    text = _drop_core_imports(text)
    text = decls.lemmas_as_theorems(text) if decls.theorems(text) else f"theorem goal : {text}"
    try:
        parts = split_snippet(text)
    except InvalidRequest as e:
        raise StatementError(str(e)) from None
    return f"{parts.header}{parts.statement} := by"


def load_theorem(path: str | Path, name: str) -> str:
    """The snippet for theorem `name` in a `.lean` file: everything before it, and its statement
    without its proof. `name` is its full name (with the namespaces around it) or a suffix of it
    (`foo` for `Nat.foo`); imports of Lean's core are dropped (the server has them already).

    Raises:
        StatementError: no such theorem in the file, or the name fits several.
        OSError: the file cannot be read.
    """
    text = Path(path).read_text(encoding="utf-8")
    want = decls.name_parts(name)
    found = [d for d in decls.theorems(text) if d.full_parts[-len(want):] == want]
    exact = [d for d in found if d.full_parts == want]
    chosen = exact or found
    if not chosen:
        raise StatementError(f"no theorem named {name!r} in {path}")
    if len({d.full_parts for d in chosen}) > 1:
        raise StatementError(f"{name!r} names several theorems in {path}: "
                             + ", ".join(sorted({str(d.full_name) for d in chosen})))
    d = chosen[0]
    return as_snippet(text[:d.start] + d.statement(text))


def _drop_core_imports(text: str) -> str:
    """`text` without its `import Lean…`/`Init…`/`Std…` commands (their lines stay, empty)."""
    for c in reversed(decls.split(text)):
        if isinstance(c, decls.Command) and c.keyword == "import" and c.argument[:1] and (
                c.argument[0] in CORE_MODULES):
            text = text[:c.start] + text[c.stop:]
    return text
