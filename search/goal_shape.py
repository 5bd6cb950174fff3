"""Cheap syntactic reading of Lean's rendering of goals: the top-level connective of a
proposition, binder names, variables of number types. Used by the built-in prior and the simple
value model; it only guides the search (Lean decides), so a misreading costs time, not soundness.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from prover.lean import Goal, Hypothesis

_OPEN = "([{⟨⦃"
_CLOSE = ")]}⟩⦄"
_BINDERS = ("∀", "∃!", "∃", "fun ", "λ")
# Infix connectives from the lowest precedence up (Lean: ↔ 20, → 25, ∨ 30, ∧ 35, relations 50).
_LEVELS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("iff", ("↔",)),
    ("imp", ("→",)),
    ("or", ("∨",)),
    ("and", ("∧",)),
    ("rel", ("≠", "≤", "≥", "<", ">", "=", "∣", "∈", "∉", "⊆")),
)
_REL_NAMES = {"≠": "ne", "≤": "le", "≥": "ge", "<": "lt", ">": "gt", "=": "eq", "∣": "dvd",
              "∈": "mem", "∉": "notmem", "⊆": "subset"}
NUMBER_TYPES = frozenset({"Nat", "ℕ", "Int", "ℤ"})
_IDENT = re.compile(r"[A-Za-z_α-ωΑ-Ω][A-Za-z0-9_'!?.α-ωΑ-Ω₀-₉]*")
_BINDER_NAMES = re.compile(r"^(?:∀|∃!|∃)\s*(.*?),", re.S)
_KEYWORDS = frozenset({"fun", "let", "have", "show", "from", "if", "then", "else", "match", "with", "by",
                       "at", "in", "do", "True", "False", "Prop", "Type", "Sort"})


@dataclass(frozen=True)
class Shape:
    """The top-level form of a proposition.

    `head` is one of: forall, exists, iff, imp, or, and, not, eq, ne, le, lt, ge, gt, dvd, mem,
    notmem, subset, true, false, ite, match, other. `parts` are the operands of an infix head
    (left, right), the body of a binder or negation.
    """

    head: str
    parts: tuple[str, ...] = ()
    binders: tuple[str, ...] = ()  # names bound by a leading ∀/∃


def depth0_positions(text: str) -> list[int]:
    """Indices of `text` outside every bracket, up to the first binder at depth 0 (whose body
    extends to the end, so nothing after it is at the top level)."""
    out, depth, i = [], 0, 0
    while i < len(text):
        ch = text[i]
        if ch in _OPEN:
            depth += 1
        elif ch in _CLOSE:
            depth = max(depth - 1, 0)
        elif depth == 0:
            if i > 0 and any(text.startswith(b, i) for b in _BINDERS) and _word_start(text, i):
                break
            out.append(i)
        i += 1
    return out


def _word_start(text: str, i: int) -> bool:
    return i == 0 or not (text[i - 1].isalnum() or text[i - 1] in "_.'")


def strip_parens(text: str) -> str:
    text = text.strip()
    while text.startswith("(") and text.endswith(")") and _matching_close(text) == len(text) - 1:
        text = text[1:-1].strip()
    return text


def _matching_close(text: str) -> int:
    depth = 0
    for i, ch in enumerate(text):
        if ch in _OPEN:
            depth += 1
        elif ch in _CLOSE:
            depth -= 1
            if depth == 0:
                return i
    return -1


def shape(prop: str) -> Shape:
    """The top-level connective of a proposition as Lean renders it."""
    text = strip_parens(" ".join(prop.split()))
    if text in ("True", "False"):
        return Shape(text.lower())
    for b, head in (("∀", "forall"), ("∃!", "exists"), ("∃", "exists")):
        if text.startswith(b):
            m = _BINDER_NAMES.match(text)
            names = binder_names(m.group(1)) if m else ()
            body = text[m.end():].strip() if m else ""
            return Shape(head, (body,), names)
    positions = depth0_positions(text)
    for head, ops in _LEVELS:
        if head == "rel" and text.startswith("¬"):
            # `¬` binds looser than relations (`¬a = b` is `¬(a = b)`), tighter than ∧ and ∨.
            return Shape("not", (text[1:].strip(),))
        hit = _first_op(text, positions, ops, right_assoc=head in ("imp", "or", "and"))
        if hit is not None:
            i, op = hit
            name = _REL_NAMES.get(op, head)
            return Shape(name, (text[:i].strip(), text[i + len(op):].strip()))
    if text.startswith("if "):
        return Shape("ite")
    if text.startswith("match "):
        return Shape("match")
    return Shape("other")


def _first_op(text: str, positions: list[int], ops: tuple[str, ...],
              right_assoc: bool) -> tuple[int, str] | None:
    found = None
    for i in positions:
        for op in ops:
            if text.startswith(op, i):
                # `≤`/`≥` are single characters, but guard `=` inside `:=`, `==`, `!=` and `=>`.
                if op == "=" and (text[i - 1:i] in (":", "=", "!", "≠", "<", ">")
                                  or text[i + 1:i + 2] in ("=", ">")):
                    continue
                if op in ("<", ">") and (text[i + 1:i + 2] in ("=", "-", "|", ">", "<")
                                         or text[i - 1:i] in ("-", "=", "<", ">", "|")):
                    continue
                # Right-associative: the first occurrence splits; otherwise the last one.
                if right_assoc:
                    return i, op
                found = (i, op)
    return found


def binder_names(binders: str) -> tuple[str, ...]:
    """Names bound by a binder list such as `(a b : Nat) (h : a < b)`, `x y`, `x ∈ s`, `x > 0`."""
    names: list[str] = []
    groups = re.findall(r"[(\[{⦃]([^()\[\]{}⦃⦄]*)[)\]}⦄]", binders)
    if not groups:
        groups = [binders]
    for grp in groups:
        head = re.split(r"[:∈∉<>≤≥≠=]", grp, maxsplit=1)[0]
        names += [w for w in head.split() if _IDENT.fullmatch(w) and w not in _KEYWORDS]
    return tuple(names)


def accessible(h: Hypothesis) -> bool:
    """Whether a hypothesis can be named in a tactic (not `x✝`, not a hygienic name)."""
    return "✝" not in h.name and "._@." not in h.name and bool(_IDENT.fullmatch(h.name))


def idents(text: str) -> set[str]:
    return set(_IDENT.findall(text))


def is_number_type(t: str) -> bool:
    return strip_parens(t) in NUMBER_TYPES


def is_prop_hyp(h: Hypothesis, goal: Goal) -> bool:
    """A hypothesis that is a proof (its type is a proposition), judged from its rendering."""
    t = h.type.strip()
    if t in ("Prop", "Type") or t.startswith(("Type ", "Sort ")) or is_number_type(t):
        return False
    if shape(t).head != "other":
        return True
    # `p` where `p : Prop` is in scope.
    props = {x.name for x in goal.hypotheses if x.type.strip() == "Prop"}
    return t in props or t.split()[0] in props


def size(goal: Goal) -> int:
    """A crude size: tokens in the target plus a little per hypothesis."""
    return len(re.findall(r"\w+|[^\s\w]", goal.target)) + 2 * len(goal.hypotheses)


def fresh(base: str, taken: set[str]) -> str:
    if base not in taken:
        taken.add(base)
        return base
    i = 1
    while f"{base}{i}" in taken:
        i += 1
    name = f"{base}{i}"
    taken.add(name)
    return name
