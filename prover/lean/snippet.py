"""Split a Lean snippet into its header (defs, opens, namespaces) and its final theorem statement.

The header is elaborated once and stored; each proof step then elaborates only the statement and
its tactics on top of it. Comments and string literals are masked before looking for keywords,
so a `theorem` inside a comment or a string is never taken for the statement.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from prover.lean.errors import InvalidRequest

MAX_SNIPPET_CHARS = 200_000

# The start of a theorem-like declaration (with its attributes and modifiers), on masked text.
DECL_START = re.compile(
    r"(?m)^[ \t]*(?:@\[[^\]\n]*\][ \t\n]*)?(?:(?:private|protected|noncomputable|nonrec|public)[ \t]+)*"
    r"(theorem|lemma|example)\b"
)
_DOC_BEFORE = re.compile(r"/--(?:.|\n)*?-/\s*$")


@dataclass(frozen=True)
class Snippet:
    """`header` (may be empty) and `statement` (a theorem/example without its proof)."""

    header: str
    statement: str
    name: str | None


def mask_comments_and_strings(text: str) -> str:
    """Same length as `text`, with comment and string contents replaced by spaces (newlines kept)."""
    out = list(text)
    i, n = 0, len(text)

    def blank(a: int, b: int) -> None:
        for k in range(a, min(b, n)):
            if out[k] != "\n":
                out[k] = " "

    while i < n:
        if text.startswith("--", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            blank(i, j)
            i = j
        elif text.startswith("/-", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/-", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("-/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            blank(i, j)
            i = j
        elif text[i] == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            blank(i, j + 1)
            i = j + 1
        else:
            i += 1
    return "".join(out)


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


def top_level_assign(masked: str, start: int = 0, *, equations: bool = False) -> int:
    """Index of the first `:=` outside brackets from `start` on (with `equations`, also a line
    starting with `|`, which ends an equation-style signature), or -1.

    `masked` must have comments and strings masked (`mask_comments_and_strings`).
    """
    depth = 0
    for i in range(start, len(masked)):
        ch = masked[i]
        if ch in "([{⟨⦃":
            depth += 1
        elif ch in ")]}⟩⦄":
            depth -= 1
        elif depth == 0 and (masked.startswith(":=", i) or (
                equations and ch == "\n" and masked[i + 1:].lstrip(" \t").startswith("|"))):
            return i
    return -1


def split_snippet(text: str) -> Snippet:
    """Split `text`, which must end in a theorem statement (with or without `:= by`/`:= sorry`).

    Raises:
        InvalidRequest: no statement at the end, or the statement already carries a proof.
    """
    if len(text) > MAX_SNIPPET_CHARS:
        raise InvalidRequest(f"snippet is {len(text)} characters; the limit is {MAX_SNIPPET_CHARS}")
    if "\x00" in text:
        raise InvalidRequest("snippet contains a NUL character")
    masked = mask_comments_and_strings(text)
    matches = list(DECL_START.finditer(masked))
    if not matches:
        raise InvalidRequest("the snippet does not end in a `theorem`/`lemma`/`example` statement")
    start = matches[-1].start()
    doc = _DOC_BEFORE.search(text[:start])
    if doc is not None:
        start = doc.start()
    header, statement = text[:start], text[start:]
    smask = masked[start:]
    assign = top_level_assign(smask)
    if assign >= 0:
        rest = statement[assign + 2:].split()
        if rest not in ([], ["by"], ["sorry"], ["by", "sorry"]):
            raise InvalidRequest(
                "the snippet's last theorem already has a proof; give the statement only "
                "(ending in `:= by` or nothing), or use `verify` for a complete proof"
            )
        statement = statement[:assign]
    statement = statement.rstrip()
    kw = matches[-1].group(1)
    name = None
    if kw != "example":
        after = masked[matches[-1].end():].split()
        name = after[0] if after else None
    return Snippet(header=header, statement=statement, name=name)
