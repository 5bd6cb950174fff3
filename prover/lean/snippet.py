"""Checks on snippet text before Lean reads it, and the split of a snippet into its header
(defs, opens, namespaces) and its final theorem statement, by the splitter (`prover.lean.decls`).

The header is elaborated once and stored; each proof step then elaborates only the statement and
its tactics on top of it. The splitter skips comments and string literals, so a `theorem` inside a
comment or a string is never taken for the statement.
"""

from __future__ import annotations

from dataclasses import dataclass

from prover.lean import decls
from prover.lean.errors import InvalidRequest

MAX_SNIPPET_CHARS = 200_000


@dataclass(frozen=True)
class Snippet:
    """`header` (may be empty) and `statement` (a theorem/example without its proof)."""

    header: str
    statement: str
    name: str | None


# A resource limit, not a reading: brackets are counted everywhere, comments included, which can
# only refuse more. 2000 nested parentheses overflowed the embedded Lean's stack (a crash and a
# restart); honest statements stay far below this.
MAX_NESTING = 256
_OPEN, _CLOSE = frozenset("([{⟨⦃"), frozenset(")]}⟩⦄")


def _nesting(text: str) -> int:
    depth = deepest = 0
    for ch in text:
        if ch in _OPEN:
            depth += 1
            deepest = max(deepest, depth)
        elif ch in _CLOSE:
            depth = max(depth - 1, 0)
    return deepest


_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")


def ensure_text(value: str | bytes, what: str) -> str:
    """`value` as a str that Lean can read, or `InvalidRequest` saying what is wrong with it."""
    if isinstance(value, bytes):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError as e:
            raise InvalidRequest(f"the {what} is not valid UTF-8 ({e.reason} at byte {e.start})") from None
    if not isinstance(value, str):
        raise InvalidRequest(f"the {what} is not text")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidRequest(f"the {what} is not valid Unicode (lone surrogates)") from None
    if "\x00" in value:
        raise InvalidRequest(f"the {what} contains a NUL character")
    if _nesting(value) > MAX_NESTING:
        raise InvalidRequest(f"the {what} nests brackets more than {MAX_NESTING} deep (Lean's parser "
                             "overflows its stack on such input)")
    # Bidirectional controls make the displayed text differ from what Lean reads.
    if any(ch in _BIDI_CONTROLS for ch in value):
        raise InvalidRequest(f"the {what} contains a bidirectional control character (U+202A-U+202E, "
                             "U+2066-U+2069): what is shown would differ from what Lean reads")
    return value


def split_snippet(text: str) -> Snippet:
    """Split `text`, which must end in a theorem statement (with or without `:= by`/`:= sorry`).

    Raises:
        InvalidRequest: no statement at the end, or the statement already carries a proof.
    """
    if len(text) > MAX_SNIPPET_CHARS:
        raise InvalidRequest(f"snippet is {len(text)} characters; the limit is {MAX_SNIPPET_CHARS}")
    if "\x00" in text:
        raise InvalidRequest("snippet contains a NUL character")
    items = decls.split(text)
    last = items[-1] if items else None
    if not isinstance(last, decls.Decl) or not last.is_theorem:
        raise InvalidRequest("the snippet does not end in a `theorem`/`lemma`/`example` statement")
    if last.body_at is not None and (not text.startswith(":=", last.body_at) or decls.body_tokens(text, last)
                                     not in ((), ("by",), ("sorry",), ("by", "sorry"))):
        raise InvalidRequest(
            "the snippet's last theorem already has a proof; give the statement only "
            "(ending in `:= by` or nothing), or use `verify` for a complete proof"
        )
    return Snippet(header=text[:last.start], statement=last.statement(text), name=last.name)
