"""From a model's raw answer to one Lean theorem statement (text only; Lean has not seen it yet).

Two steps, each a verdict of its own in the pipeline:

* `extract_code`: the Lean code in the answer: the first fenced block (```lean, ```lean4 or a
  bare fence) holding a `theorem`/`lemma`/`example`, else the answer from the first line that
  starts one.
* `normalise`: one statement: `import` lines dropped (the server's environment is what it
  imported), the first theorem-like declaration kept with the commands before it as its header,
  `lemma` spelled `theorem` (core Lean has no `lemma`), and its proof (whatever follows the
  top-level `:=`) dropped. Everything after that declaration is dropped too.

Nothing here decides what a statement means or whether it is safe: Lean reads the result command
by command and the guard decides on its parse trees (`prover.lean.reader`). These functions only
cut text, and every failure is a value with a reason, never an exception.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from prover.lean.snippet import DECL_START, mask_comments_and_strings, top_level_assign

MAX_ANSWER_CHARS = 50_000  # a longer answer is rambling, not a statement
MAX_STATEMENT_CHARS = 8_000

_FENCE = re.compile(r"```[ \t]*(?P<lang>[\w+-]*)[ \t]*\n(?P<body>.*?)(?:```|\Z)", re.S)
_IMPORT = re.compile(r"(?m)^[ \t]*import[ \t]+[^\n]*\n?")
_ANSWER = re.compile(r"(?im)^[ \t*#>-]*(?:final[ \t]+)?answer[ \t*]*[:=][ \t*]*(?P<value>[^\n]+)$")


@dataclass(frozen=True)
class Extracted:
    """The Lean code found in an answer, or why none was."""

    code: str | None
    reason: str = ""


@dataclass(frozen=True)
class Normalised:
    """One theorem statement: `header` commands (may be empty), then `statement` without a proof."""

    header: str
    statement: str
    reason: str = ""  # why normalisation failed (then `statement` is empty)

    @property
    def ok(self) -> bool:
        return bool(self.statement)

    @property
    def snippet(self) -> str:
        return f"{self.header}{self.statement}"


def _has_decl(text: str) -> bool:
    return DECL_START.search(mask_comments_and_strings(text)) is not None


def extract_code(answer: str) -> Extracted:
    """The Lean code of a raw model answer."""
    if not isinstance(answer, str) or not answer.strip():
        return Extracted(None, "the answer is empty")
    if len(answer) > MAX_ANSWER_CHARS:
        return Extracted(None, f"the answer has {len(answer)} characters; the limit is {MAX_ANSWER_CHARS}")
    if "\x00" in answer:
        return Extracted(None, "the answer contains a NUL character")
    for m in _FENCE.finditer(answer):
        if m.group("lang").lower() in ("", "lean", "lean4") and _has_decl(m.group("body")):
            return Extracted(m.group("body"))
    found = DECL_START.search(mask_comments_and_strings(answer))
    if found is None:
        return Extracted(None, "no `theorem`, `lemma` or `example` in the answer")
    # Text before the declaration on earlier lines is prose; commands the model meant as a header
    # belong in a fence, which the loop above took.
    return Extracted(answer[found.start():].split("```", 1)[0])


def normalise(code: str) -> Normalised:
    """One theorem statement from extracted code (see the module docstring)."""
    text = _IMPORT.sub("", code.replace("\r\n", "\n"))
    masked = mask_comments_and_strings(text)
    found = DECL_START.search(masked)
    if found is None:
        return Normalised("", "", "no `theorem`, `lemma` or `example` declaration")
    header, decl, mdecl = text[:found.start()], text[found.start():], masked[found.start():]
    kw = found.start(1) - found.start()
    if found.group(1) == "lemma":
        decl, mdecl = decl[:kw] + "theorem" + decl[kw + 5:], mdecl[:kw] + "theorem" + mdecl[kw + 5:]
    # The declaration ends at its top-level `:=`, or at the next declaration, or at the end.
    nxt = DECL_START.search(mdecl, found.end(1) - found.start() + 2)
    stop = nxt.start() if nxt is not None else len(mdecl)
    assign = top_level_assign(mdecl[:stop])
    statement = (decl[:assign] if assign >= 0 else decl[:stop]).rstrip()
    if ":" not in mask_comments_and_strings(statement):
        return Normalised("", "", "the declaration has no type (`: …`)")
    if len(statement) > MAX_STATEMENT_CHARS:
        return Normalised("", "", f"the statement has {len(statement)} characters; the limit is "
                                  f"{MAX_STATEMENT_CHARS}")
    header = header.strip()
    return Normalised(header + "\n" if header else "", statement.strip() + "\n")


def extract_answer(answer: str) -> str | None:
    """The value after `Answer:` on a line of its own (the solve prompt asks for it), or None."""
    if not isinstance(answer, str):
        return None
    m = _ANSWER.search(answer[:MAX_ANSWER_CHARS])
    if m is None:
        return None
    value = m.group("value").strip().strip("*`$ ").rstrip(".")
    return value[:200] or None
