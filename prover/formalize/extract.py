"""From a model's raw answer to one Lean theorem statement (text only; Lean has not seen it yet).

Two steps, each a verdict of its own in the pipeline:

* `extract_code`: the Lean code in the answer: the first fenced block (```lean, ```lean4 or a
  bare fence) holding a `theorem`/`lemma`/`example`, else the answer from the first line that
  starts one.
* `normalise`: one statement: `import` lines dropped (the server's environment is what it
  imported), the first theorem-like declaration kept with the commands before it as its header,
  `lemma` spelled `theorem` (core Lean has no `lemma`), and its proof (whatever follows the
  top-level `:=`) dropped. Everything after that declaration is dropped too.

Declarations are found by the splitter (`prover.lean.decls`): model answers are prose around code,
which Lean's parser cannot read as a whole. Nothing here decides what a statement means or
whether it is safe: Lean reads the result command by command and the guard decides on its parse
trees (`prover.lean.reader`). These functions only cut text, and every failure is a value with a
reason, never an exception.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from prover.lean import decls

MAX_ANSWER_CHARS = 50_000  # a longer answer is rambling, not a statement
MAX_STATEMENT_CHARS = 8_000

_FENCE = re.compile(r"```[ \t]*(?P<lang>[\w+-]*)[ \t]*\n(?P<body>.*?)(?:```|\Z)", re.S)
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
    return bool(decls.theorems(text))


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
    found = decls.theorems(answer)
    if not found:
        return Extracted(None, "no `theorem`, `lemma` or `example` in the answer")
    # Text before the declaration on earlier lines is prose; commands the model meant as a header
    # belong in a fence, which the loop above took.
    return Extracted(answer[found[0].start:].split("```", 1)[0])


def normalise(code: str) -> Normalised:
    """One theorem statement from extracted code (see the module docstring)."""
    text = _drop_imports(code.replace("\r\n", "\n"))
    found = decls.theorems(text)
    if not found:
        return Normalised("", "", "no `theorem`, `lemma` or `example` declaration")
    d = found[0]
    if not d.has_type:
        return Normalised("", "", "the declaration has no type (`: …`)")
    header = text[:d.start]
    statement = decls.lemmas_as_theorems(d.statement(text))
    if len(statement) > MAX_STATEMENT_CHARS:
        return Normalised("", "", f"the statement has {len(statement)} characters; the limit is "
                                  f"{MAX_STATEMENT_CHARS}")
    header = header.strip()
    return Normalised(header + "\n" if header else "", statement.strip() + "\n")


def _drop_imports(text: str) -> str:
    """`text` without its `import` commands (the server's environment is what it imported)."""
    for c in reversed(decls.split(text)):
        if isinstance(c, decls.Command) and c.keyword == "import":
            text = text[:c.start] + text[c.stop:].removeprefix("\n")
    return text


def extract_answer(answer: str) -> str | None:
    """The value after `Answer:` on a line of its own (the solve prompt asks for it), or None."""
    if not isinstance(answer, str):
        return None
    m = _ANSWER.search(answer[:MAX_ANSWER_CHARS])
    if m is None:
        return None
    value = m.group("value").strip().strip("*`$ ").rstrip(".")
    return value[:200] or None
