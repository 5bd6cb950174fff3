"""The splitter: Lean text cut into its top-level commands without Lean, for where Lean is not running.

This is the one reading of Lean declarations on the Python side before Lean sees the text
(`search.api.as_snippet` before the server starts, `load_theorem`, the formalizer's extraction,
the benchmark loaders, the built-in prior's header names). Where a server is running, Lean's own
parser reads the same things (`prover.lean.reader.declarations`, which returns the same `Decl`
records); a test keeps the two in agreement on a table of snippets. Nothing here decides what text
means or whether it is safe: Lean reads it again command by command (`prover.lean.reader`).

How it reads:

* A lexer skips comments (`--`, nested `/- -/`), keeps docstrings (`/-- -/`) as tokens, and takes
  string and character literals whole, so a `theorem` inside a comment or a string is never a
  command. Identifiers follow Lean's rules (Greek, letter-like symbols, subscripts, `«…»`, dots).
* A command starts with the first token of a line: an optional docstring, attributes `@[…]` and
  modifiers (`MODIFIERS`, any order), then a keyword. Declaration and scope keywords
  (`DECL_KEYWORDS`, `SCOPE_KEYWORDS`) count at any indentation (they never occur inside a term or
  a proof); other commands (`open`, `set_option`, `#eval`, …) only in column 0, because `open … in`
  and `set_option … in` are tactics too. A column-0 `open …`/`set_option …` ending in `in` is
  part of the command after it, as in Lean's parser (`Command.in`).
* A declaration's name is the identifier after its keyword (`instance` may have none, `example`
  never has one); its body starts at the first `:=` outside brackets (a `let`/`have` before it
  takes its own `:=`), at `where`, or at an equation `| pat => …` that starts a line (a `|`
  without `=>` before the next `:=` is an absolute value `|x|`, not an equation). `inductive`
  constructors `| c` start its body anywhere.
* `namespace`/`section`/`mutual` and `end` are followed, so each declaration knows the namespace
  it is declared in.

Offsets are indices into the Python string (not UTF-8 bytes, which is what Lean reports).
"""

from __future__ import annotations

from dataclasses import dataclass

from prover.lean.syntax import escape_name_part

THEOREM_KEYWORDS = ("theorem", "lemma", "example")
DECL_KEYWORDS = (*THEOREM_KEYWORDS, "def", "abbrev", "instance", "axiom", "opaque", "structure", "class",
                 "class inductive", "inductive")
MODIFIERS = ("private", "protected", "public", "noncomputable", "nonrec", "partial", "unsafe",
             "local", "scoped")
SCOPE_KEYWORDS = ("namespace", "section", "end", "mutual")
# Commands recognised only in column 0 (some are tactics too when indented).
OTHER_KEYWORDS = ("import", "open", "export", "set_option", "variable", "universe", "attribute",
                  "notation", "infix", "infixl", "infixr", "prefix", "postfix", "macro", "macro_rules",
                  "syntax", "elab", "elab_rules", "declare_syntax_cat", "initialize", "deriving",
                  "add_decl_doc", "omit", "include", "#eval", "#check", "#print", "#reduce", "#exit",
                  "#guard_msgs", "#synth", "#help", "#lint")
_OPEN, _CLOSE = frozenset("([{⟨⦃"), frozenset(")]}⟩⦄")


@dataclass(frozen=True)
class Decl:
    """One top-level declaration. Offsets index the text it was split from.

    `start` is where it begins (its docstring, attributes, modifiers or `open … in` included);
    `stop` ends its last token.
    `body_at` is the offset of the `:=`, `where` or first equation `|` that starts its body, or
    None when it has none (a statement without proof, an `axiom`). The signature runs from
    `signature_at` (after the name and universes) to the body, or to `stop`.
    """

    keyword: str  # one of DECL_KEYWORDS
    name_parts: tuple[str, ...]  # the name as written, one string per component; () for `example`
    namespace: tuple[str, ...]  # the namespaces open where it is declared
    modifiers: tuple[str, ...]
    attributes: tuple[str, ...]  # the inside of each `@[…]`, as written
    docstring: str | None  # the text of its `/-- … -/`, without the delimiters
    start: int
    keyword_at: int
    signature_at: int
    body_at: int | None
    stop: int
    universes: str = ""  # `.{u, v}` or ""
    has_type: bool = False  # a `:` outside brackets in the signature

    @property
    def is_theorem(self) -> bool:
        """`theorem`, `lemma` or `example`."""
        return self.keyword in THEOREM_KEYWORDS

    @property
    def name(self) -> str | None:
        """The name as Lean source (`Foo.«my thm»`), or None (`example`, an anonymous instance)."""
        return _spell(self.name_parts) if self.name_parts else None

    @property
    def full_parts(self) -> tuple[str, ...]:
        """The declared name with its namespace (`_root_.x` is `x`)."""
        if self.name_parts[:1] == ("_root_",):
            return self.name_parts[1:]
        return (*self.namespace, *self.name_parts) if self.name_parts else ()

    @property
    def full_name(self) -> str | None:
        return _spell(self.full_parts) if self.full_parts else None

    def statement(self, text: str) -> str:
        """Its text up to the body (`theorem t (n : Nat) : P n`), without trailing blanks."""
        return text[self.start:self.body_at if self.body_at is not None else self.stop].rstrip()

    def signature(self, text: str) -> str:
        """Its binders and type, as written."""
        return text[self.signature_at:self.body_at if self.body_at is not None else self.stop].strip()


@dataclass(frozen=True)
class Command:
    """A top-level command that declares nothing: `import`, `open`, `namespace`, `end`, `#eval`, …"""

    keyword: str
    argument: tuple[str, ...]  # the identifier after the keyword (`namespace A.B` -> ("A", "B")), or ()
    start: int
    stop: int


Item = Decl | Command


@dataclass(frozen=True)
class _Tok:
    kind: str  # "id", "doc", "sym", "lit"
    text: str
    start: int
    end: int
    first: bool  # the first token on its line
    column: int
    parts: tuple[str, ...] = ()  # identifiers: the components, «» removed


def split(text: str) -> tuple[Item, ...]:
    """The top-level commands of `text`, in order (text before the first command is not one)."""
    toks = _lex(text)
    close = _closers(toks)
    starts = _command_starts(toks, close)
    items: list[Item] = []
    scopes: list[tuple[str, tuple[str, ...]]] = []
    for n, i in enumerate(starts):
        j = starts[n + 1] if n + 1 < len(starts) else len(toks)
        namespace = tuple(p for kind, parts in scopes if kind == "namespace" for p in parts)
        item = _read(text, toks, close, i, j, namespace)
        if isinstance(item, Command):
            if item.keyword in ("namespace", "section", "mutual"):
                scopes.append((item.keyword, item.argument))
            elif item.keyword == "end" and scopes:
                scopes.pop()
        items.append(item)
    return tuple(items)


def declarations(text: str) -> tuple[Decl, ...]:
    """The top-level declarations of `text`, in order."""
    return tuple(d for d in split(text) if isinstance(d, Decl))


def theorems(text: str) -> tuple[Decl, ...]:
    """The `theorem`, `lemma` and `example` declarations of `text`, in order."""
    return tuple(d for d in declarations(text) if d.is_theorem)


def body_tokens(text: str, decl: Decl) -> tuple[str, ...]:
    """The tokens of `decl`'s body after its `:=` (comments dropped); () when it has no `:=` body."""
    if decl.body_at is None or not text.startswith(":=", decl.body_at):
        return ()
    return tuple(t.text for t in _lex(text[decl.body_at + 2:decl.stop]))


def tactics_at(text: str, decl: Decl) -> int | None:
    """The offset just after the `by` that opens `decl`'s body (`:= by`), or None if it has none."""
    if decl.body_at is None or not text.startswith(":=", decl.body_at):
        return None
    toks = _lex(text[decl.body_at + 2:decl.stop])
    if not toks or toks[0].text != "by":
        return None
    return decl.body_at + 2 + toks[0].end


def lemmas_as_theorems(text: str) -> str:
    """`text` with each declaration's `lemma` keyword spelled `theorem` (core Lean has no `lemma`)."""
    for d in reversed(declarations(text)):
        if d.keyword == "lemma":
            text = text[:d.keyword_at] + "theorem" + text[d.keyword_at + len("lemma"):]
    return text


def name_parts(name: str) -> tuple[str, ...]:
    """The components of a name as Lean source (`Nat.«my thm»` -> ("Nat", "my thm")); a text that
    is not one identifier is split at its dots."""
    end, parts = _ident(name.strip(), 0)
    return parts if parts and end == len(name.strip()) else tuple(name.strip().split("."))


def mask(text: str, *, literals: bool = True) -> str:
    """`text` with comments, docstrings and (with `literals`) string/char literals blanked (same
    length, newlines kept), for callers that look at code only."""
    out = [c if c == "\n" else " " for c in text]
    for t in _lex(text):
        if t.kind in ("id", "sym") or (t.kind == "lit" and (not literals or t.text[:1].isdigit())):
            out[t.start:t.end] = t.text
    return "".join(out)


def _spell(parts: tuple[str, ...]) -> str:
    return ".".join(escape_name_part(p) for p in parts)


# ---------------------------------------------------------------------------------------- commands


def _command_starts(toks: list[_Tok], close: list[int]) -> list[int]:
    """Indices of the tokens that start a command."""
    starts: list[int] = []
    i = 0
    while i < len(toks):
        if not toks[i].first:
            i += 1
            continue
        kw, at = _keyword_after_prefix(toks, close, i)
        command = kw is not None and (kw in DECL_KEYWORDS or kw in SCOPE_KEYWORDS
                                      or (kw in OTHER_KEYWORDS and toks[i].column == 0))
        # The command after `open … in` / `set_option … in` is one command with it.
        if command and not (starts and _is_in_prefix(toks, starts[-1], i)):
            starts.append(i)
        # No command starts inside the prefix just read: a later start would end at the same token.
        i = max(at, i) + 1
    return starts


def _is_in_prefix(toks: list[_Tok], s: int, i: int) -> bool:
    """Whether the command at token `s` is a column-0 `open …`/`set_option …` ending in `in` at `i`."""
    return toks[s].text in ("open", "set_option") and toks[s].column == 0 and toks[i - 1].text == "in"


def _keyword_after_prefix(toks: list[_Tok], close: list[int], i: int) -> tuple[str | None, int]:
    """The keyword after docstring, attributes and modifiers from token `i` (None if another token
    comes first), and the index of the token where reading stopped."""
    n = len(toks)
    while i < n:
        t = toks[i]
        if t.kind == "doc" or (t.kind == "id" and t.text in MODIFIERS):
            i += 1
        elif t.kind == "sym" and t.text == "@[":
            i = close[i] + 1
        elif t.kind == "id" and (t.text in DECL_KEYWORDS or t.text in SCOPE_KEYWORDS
                                 or t.text in OTHER_KEYWORDS):
            if t.text == "class" and i + 1 < n and toks[i + 1].text == "inductive":
                return "class inductive", i + 1
            return t.text, i
        else:
            return None, i
    return None, n - 1


def _closers(toks: list[_Tok]) -> list[int]:
    """For each token that opens a bracket group (`(`, `@[`, …), the index of the token closing it
    (the last token if it is never closed); -1 for the other tokens. Closers pair with the latest
    open group whatever its kind, as depth counting would."""
    out = [-1] * len(toks)
    stack: list[int] = []
    for j, t in enumerate(toks):
        if t.kind != "sym":
            continue
        if t.text in _OPEN or t.text == "@[":
            stack.append(j)
        elif t.text in _CLOSE and stack:
            out[stack.pop()] = j
    for j in stack:
        out[j] = len(toks) - 1
    return out


def _read(text: str, toks: list[_Tok], close: list[int], i: int, j: int, namespace: tuple[str, ...]) -> Item:
    """The command made of tokens i..j-1."""
    start, stop = toks[i].start, toks[j - 1].end
    k = i
    while toks[k].text in ("open", "set_option"):  # an `… in` prefix: read the command after it
        m = next((x for x in range(k + 1, j) if toks[x].kind == "id" and toks[x].text == "in"), None)
        if m is None or m + 1 >= j:
            break
        k = m + 1
    doc: str | None = None
    attrs: list[str] = []
    mods: list[str] = []
    while k < j - 1:
        t = toks[k]
        if t.kind == "doc":
            doc = t.text[3:-2].strip()
            k += 1
        elif t.kind == "sym" and t.text == "@[":
            attrs.append(text[t.end:toks[close[k]].start].strip())
            k = close[k] + 1
        elif t.kind == "id" and t.text in MODIFIERS:
            mods.append(t.text)
            k += 1
        else:
            break
    keyword_at = toks[k].start
    kw = toks[k].text
    if kw == "class" and k + 1 < j and toks[k + 1].text == "inductive":
        kw, k = "class inductive", k + 1
    if kw not in DECL_KEYWORDS:
        nxt = toks[k + 1] if k + 1 < j else None
        arg = nxt.parts if nxt is not None and nxt.kind == "id" and not nxt.first else ()
        return Command(kw, arg, start, stop)
    p = k + 1
    if kw == "instance" and p + 1 < j and toks[p].text == "(" and toks[p + 1].text == "priority":
        p = close[p] + 1
    name: tuple[str, ...] = ()
    universes = ""
    if kw != "example" and p < j and toks[p].kind == "id" and toks[p].text not in ("where", "extends"):
        name = toks[p].parts
        p += 1
        if p + 1 < j and toks[p].text == "." and toks[p].start == toks[p - 1].end and toks[p + 1].text == "{":
            universes = text[toks[p].start:toks[close[p + 1]].end]
            p = close[p + 1] + 1
    signature_at = toks[p].start if p < j else stop
    body, has_type = _body(toks, p, j, kw)
    return Decl(kw, name, namespace, tuple(mods), tuple(attrs), doc, start, keyword_at, signature_at,
                body, stop, universes, has_type)


def _body(toks: list[_Tok], p: int, j: int, kw: str) -> tuple[int | None, bool]:
    """Where the body of the declaration whose signature starts at token `p` begins, and whether
    the signature has a `:` outside brackets."""
    depth = pending = 0
    has_type = False
    for x in range(p, j):
        t = toks[x]
        if t.kind == "sym" and t.text in _OPEN:
            depth += 1
        elif t.kind == "sym" and t.text in _CLOSE:
            depth = max(depth - 1, 0)
        elif depth:
            continue
        elif t.kind == "id" and t.text in ("let", "have", "letI", "haveI"):
            pending += 1
        elif t.kind == "sym" and t.text == ":=":
            if pending:
                pending -= 1
            else:
                return t.start, has_type
        elif t.kind == "sym" and t.text == ":":
            has_type = True
        elif (t.kind == "id" and t.text == "where") or (t.kind == "sym" and t.text == "|" and (
                kw in ("inductive", "class inductive") or (t.first and _equation(toks, x, j)))):
            return t.start, has_type
    return None, has_type


def _equation(toks: list[_Tok], x: int, j: int) -> bool:
    """Whether the `|` at token `x` starts `| pattern => …`: a `=>` outside brackets before a `:=`
    or the next line that starts with `|` (which bounds the work to one alternative)."""
    depth = 0
    for y in range(x + 1, j):
        t = toks[y]
        if t.kind != "sym":
            continue
        if t.first and t.text == "|":
            return False
        if t.text in _OPEN:
            depth += 1
        elif t.text in _CLOSE:
            depth -= 1
        elif depth == 0 and t.text == "=>":
            return True
        elif depth == 0 and t.text == ":=":
            return False
    return False


# ------------------------------------------------------------------------------------------- lexer


def _is_letter_like(c: str) -> bool:
    o = ord(c)
    return ((0x3B1 <= o <= 0x3C9 and o != 0x3BB) or (0x391 <= o <= 0x3A9 and o not in (0x3A0, 0x3A3))
            or 0x3CA <= o <= 0x3FB or 0x1F00 <= o <= 0x1FFE or 0x2100 <= o <= 0x214F
            or 0x1D49C <= o <= 0x1D59F)


def _is_subscript(c: str) -> bool:
    o = ord(c)
    return 0x2080 <= o <= 0x2089 or 0x2090 <= o <= 0x209C or 0x1D62 <= o <= 0x1D6A


def _id_first(c: str) -> bool:
    return (c.isascii() and c.isalpha()) or c == "_" or _is_letter_like(c)


def _id_rest(c: str) -> bool:
    return (c.isascii() and c.isalnum()) or c in "_'!?" or _is_letter_like(c) or _is_subscript(c)


_SYMBOLS = (":=", "=>", "@[")


def _lex(text: str) -> list[_Tok]:
    """Tokens of `text`: identifiers (dotted, «» allowed), docstrings, literals and symbols."""
    toks: list[_Tok] = []
    i, n = 0, len(text)
    line_start, seen_on_line = 0, False

    def add(kind: str, a: int, b: int, parts: tuple[str, ...] = ()) -> None:
        nonlocal seen_on_line
        toks.append(_Tok(kind, text[a:b], a, b, not seen_on_line, a - line_start, parts))
        seen_on_line = True

    while i < n:
        c = text[i]
        if c == "\n":
            i += 1
            line_start, seen_on_line = i, False
        elif c.isspace():
            i += 1
        elif text.startswith("--", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/-", i):
            j = _block_comment_end(text, i)
            if text.startswith("/--", i) and not text.startswith("/--/", i):
                add("doc", i, j)
            elif "\n" in text[i:j]:  # what follows a comment spanning lines starts a line
                line_start, seen_on_line = text.rfind("\n", i, j) + 1, False
            i = j
        elif c == '"' or (c == "r" and _raw_string_at(text, i)):
            j = _string_end(text, i)
            add("lit", i, j)
            i = j
        elif c == "'" and (j := _char_end(text, i)) > 0:
            add("lit", i, j)
            i = j
        elif _id_first(c) or c == "«":
            j, parts = _ident(text, i)
            if not parts:  # an unclosed «: a symbol
                add("sym", i, i + 1)
                i += 1
            else:
                add("id", i, j, parts)
                i = j
        elif c.isdigit():
            j = i
            while j < n and (text[j].isalnum() or text[j] in "._"):
                j += 1
            add("lit", i, j)
            i = j
        elif c == "#" and i + 1 < n and text[i + 1].isalpha():
            j = i + 1
            while j < n and _id_rest(text[j]):
                j += 1
            add("id", i, j, (text[i:j],))
            i = j
        else:
            sym = next((s for s in _SYMBOLS if text.startswith(s, i)), c)
            add("sym", i, i + len(sym))
            i += len(sym)
    return toks


def _block_comment_end(text: str, i: int) -> int:
    depth, j, n = 1, i + 2, len(text)
    while j < n and depth:
        if text.startswith("/-", j):
            depth, j = depth + 1, j + 2
        elif text.startswith("-/", j):
            depth, j = depth - 1, j + 2
        else:
            j += 1
    return j


def _raw_string_at(text: str, i: int) -> bool:
    j = i + 1
    while j < len(text) and text[j] == "#":
        j += 1
    return j < len(text) and text[j] == '"' and (i == 0 or not _id_rest(text[i - 1]))


def _string_end(text: str, i: int) -> int:
    n = len(text)
    if text[i] == "r":
        hashes = 0
        j = i + 1
        while text[j] == "#":
            hashes, j = hashes + 1, j + 1
        close = '"' + "#" * hashes
        k = text.find(close, j + 1)
        return n if k < 0 else k + len(close)
    j = i + 1
    while j < n and text[j] != '"':
        j += 2 if text[j] == "\\" else 1
    return min(j + 1, n)


def _char_end(text: str, i: int) -> int:
    """The end of a character literal at `i` (`'a'`, `'\\n'`, `'\\''`), or 0 if there is none."""
    n = len(text)
    if i + 2 < n and text[i + 1] != "\\" and text[i + 1] != "\n" and text[i + 2] == "'":
        return i + 3
    if i + 1 < n and text[i + 1] == "\\":
        k = text.find("'", i + 3)
        if 0 < k <= i + 10 and "\n" not in text[i:k]:
            return k + 1
    return 0


def _ident(text: str, i: int) -> tuple[int, tuple[str, ...]]:
    """The end of the (dotted) identifier at `i` and its components; () if `«` is never closed."""
    parts: list[str] = []
    n = len(text)
    while True:
        if i < n and text[i] == "«":
            k = text.find("»", i + 1)
            if k < 0 or "\n" in text[i:k]:
                return i, tuple(parts)
            parts.append(text[i + 1:k])
            i = k + 1
        elif i < n and _id_first(text[i]):
            j = i + 1
            while j < n and _id_rest(text[j]):
                j += 1
            parts.append(text[i:j])
            i = j
        else:
            return i, tuple(parts)
        if i + 1 < n and text[i] == "." and (_id_first(text[i + 1]) or text[i + 1] == "«"):
            i += 1
            continue
        return i, tuple(parts)
