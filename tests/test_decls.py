"""The one reader of Lean declarations: the splitter (`prover.lean.decls`, no Lean), what is built
on it (`as_snippet`, `load_theorem`, the built-in prior's header names), and its agreement with
Lean's own parser (`prover.lean.reader.declarations`, the real Lean) on a table of snippets."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from prover.lean import LeanServer, decls
from prover.lean.reader import ReadError, declarations
from prover.lean.statements import StatementError, as_snippet, load_theorem
from search.policies.builtin import BuiltinPolicy, header_names


def _one(text: str) -> decls.Decl:
    (d,) = decls.declarations(text)
    return d


@pytest.mark.parametrize("modifier", ["private", "protected", "noncomputable", "nonrec", "partial", "public",
                                      "unsafe"])
@pytest.mark.parametrize("keyword", ["theorem", "def"])
def test_every_modifier(modifier: str, keyword: str) -> None:
    text = f"def before : Nat := 0\n{modifier} {keyword} named (n : Nat) : n = n := rfl\n"
    first, d = decls.declarations(text)
    assert first.name == "before"
    assert (d.keyword, d.name, d.modifiers) == (keyword, "named", (modifier,))
    assert d.start == text.index(modifier)
    assert d.statement(text) == f"{modifier} {keyword} named (n : Nat) : n = n"
    assert d.signature(text) == "(n : Nat) : n = n"


def test_modifiers_attributes_and_docstrings_together() -> None:
    text = ("/-- The doc,\n  two lines. -/\n"
            "@[simp, norm_cast] private noncomputable def f (n : Nat) : Nat := n")
    d = _one(text)
    assert d.docstring == "The doc,\n  two lines." and d.attributes == ("simp, norm_cast",)
    assert d.modifiers == ("private", "noncomputable") and d.start == 0 and d.name == "f"
    assert decls.declarations("@[simp]\ntheorem s : 1 = 1 := rfl")[0].attributes == ("simp",)


@pytest.mark.parametrize(("text", "keyword", "name", "body"), [
    ("example : True := trivial", "example", None, ":= trivial"),
    ("lemma l (a : Nat) : a = a := rfl", "lemma", "l", ":= rfl"),
    ("abbrev A := Nat", "abbrev", "A", ":= Nat"),
    ("instance : Inhabited Nat := ⟨0⟩", "instance", None, ":= ⟨0⟩"),
    ("instance (priority := low) named : Inhabited Nat where\n  default := 1", "instance", "named",
     "where\n  default := 1"),
    ("def f : Nat → Nat\n  | 0 => 1\n  | n + 1 => f n", "def", "f", "| 0 => 1\n  | n + 1 => f n"),
    ("structure P where\n  x : Nat", "structure", "P", "where\n  x : Nat"),
    ("inductive T | a | b", "inductive", "T", "| a | b"),
    ("axiom ax : 1 = 1", "axiom", "ax", None),
    ("theorem t : True", "theorem", "t", None),
    # `:=` in brackets, comments and strings, and a `let` in the type, do not start the body.
    ('theorem k (x : Nat := 3) /- := -/ (s : String := ":=") : let y := x; y = x := rfl', "theorem", "k",
     ":= rfl"),
    # `|x|` starting a line is an absolute value, not an equation.
    ("theorem abs (x : Int) :\n    |x| ≥ 0 := by\n  omega", "theorem", "abs", ":= by\n  omega"),
])
def test_keywords_and_bodies(text: str, keyword: str, name: str | None, body: str | None) -> None:
    d = _one(text)
    assert (d.keyword, d.name) == (keyword, name)
    assert (text[d.body_at:d.stop] if d.body_at is not None else None) == body


def test_names_unicode_dots_guillemets_and_universes() -> None:
    text = ("theorem «my thm» : True := trivial\ndef α₁.β' : Nat := 1\n"
            "theorem Nat.foo.{u} (α : Sort u) : True := trivial\ntheorem _root_.top : True := trivial")
    a, b, c, d = decls.declarations(text)
    assert a.name_parts == ("my thm",) and a.name == "«my thm»"
    assert b.name_parts == ("α₁", "β'") and c.name == "Nat.foo" and c.universes == ".{u}"
    assert c.signature(text) == "(α : Sort u) : True"
    assert d.full_parts == ("top",)
    assert decls.name_parts("Nat.«my thm»") == ("Nat", "my thm")


def test_namespaces_sections_and_comments() -> None:
    text = ("-- theorem fake : False\n/- theorem fake2 : False -/\n"
            "def s : String := \"\ntheorem x : False\"\n"
            "namespace X.Y\ndef g : Nat := 2\nsection\n  theorem in_sec : g = 2 := rfl\nend\nend X.Y\n"
            "def top : Nat := 3\n")
    names = [(d.name, d.namespace, d.full_name) for d in decls.declarations(text)]
    assert names == [("s", (), "s"), ("g", ("X", "Y"), "X.Y.g"), ("in_sec", ("X", "Y"), "X.Y.in_sec"),
                     ("top", (), "top")]


def test_multi_line_signature_and_open_in() -> None:
    text = "open Nat in\ntheorem multi (a b : Nat)\n    (h : a ≤ b) :\n    a ≤ b + 1 := by\n  omega"
    d = _one(text)
    assert d.start == 0 and d.name == "multi"
    assert d.statement(text) == "open Nat in\ntheorem multi (a b : Nat)\n    (h : a ≤ b) :\n    a ≤ b + 1"
    # An indented `open … in` is a tactic, not a command.
    assert [x.name for x in decls.declarations("theorem t : True := by\n  open Nat in\n  trivial")] == ["t"]


def test_as_snippet_reads_modifiers_and_lemma() -> None:
    # The bug: `nonrec` was not seen, and the text was wrapped as `theorem goal : nonrec theorem …`.
    assert as_snippet("nonrec theorem t : 1 = 1") == "nonrec theorem t : 1 = 1 := by"
    assert (as_snippet("@[simp] private theorem p : 1 = 1 := by sorry")
            == "@[simp] private theorem p : 1 = 1 := by")
    assert as_snippet("lemma l : 2 = 2") == "theorem l : 2 = 2 := by"
    assert as_snippet("1 + 1 = 2") == "theorem goal : 1 + 1 = 2 := by"
    with pytest.raises(StatementError, match="already has a proof"):
        as_snippet("nonrec theorem t : 1 = 1 := rfl")


def test_builtin_prior_keeps_every_header_name() -> None:
    # The bug: `nonrec def f` was dropped from the prior's definitions.
    p = BuiltinPolicy.for_snippet("nonrec def f (n : Nat) : Nat := n\n"
                                  "@[simp] private theorem f_id (n : Nat) : f n = n := rfl\n"
                                  "instance named : Inhabited Nat := ⟨0⟩\n"
                                  "namespace Q\nabbrev g := 1\nend Q\ntheorem t (n : Nat) : f n = n")
    assert p.definitions == ("f", "named", "Q.g") and p.lemmas == ("f_id",)
    # Inside the theorem's namespace the names are as the theorem sees them.
    inside = decls.declarations("namespace Q\ndef g := 1\ntheorem t : g = 1")
    assert header_names(inside) == (("g",), ())


def test_load_theorem_picks_one_of_several(tmp_path: Path) -> None:
    f = tmp_path / "x.lean"
    f.write_text("import Lean\ndef f (n : Nat) : Nat := n + 1\n\n"
                 "theorem first (n : Nat) : f n > 0 := by\n  unfold f\n  omega\n\n"
                 "namespace A\n/-- doc -/\nprotected nonrec theorem second (n : Nat) :\n    f n ≠ 0 := by\n"
                 "  simp [f]\nend A\n\nnamespace B\ntheorem second : True := trivial\nend B\n"
                 "lemma third : True := trivial\n", encoding="utf-8")
    s = load_theorem(f, "A.second")
    assert s.startswith("\ndef f") and "theorem first" in s and "B" not in s
    assert s.endswith("namespace A\n/-- doc -/\n"
                      "protected nonrec theorem second (n : Nat) :\n    f n ≠ 0 := by")
    assert load_theorem(f, "third").endswith("theorem third : True := by")
    with pytest.raises(StatementError, match="several"):
        load_theorem(f, "second")
    with pytest.raises(StatementError, match="no theorem"):
        load_theorem(f, "f")


@pytest.mark.parametrize("hostile", ["@[simp]\n" * 30_000, "private\n" * 30_000, "@[\n" * 60_000,
                                     "theorem t : P\n" + "| x\n" * 50_000, "theorem t : " + "(" * 100_000])
def test_hostile_text_is_split_in_linear_time(hostile: str) -> None:
    # Quadratic work on these took minutes (30,000 attribute lines: 380 s); linear takes under 1 s.
    began = time.monotonic()
    decls.split(hostile)
    assert time.monotonic() - began < 10


# The splitter and Lean's parser must cut these the same way (boundaries, names, bodies, namespaces).
AGREEMENT = [
    "theorem t (n : Nat) : n + 0 = n := by simp",
    "/-- The doc. -/\n@[simp] private theorem p : 1 = 1 := rfl",
    "protected nonrec theorem Nat.foo : 1 = 1 := rfl",
    "noncomputable def nc : Nat := 0\npartial def loop (n : Nat) : Nat := loop n\nunsafe def u : Nat := 1",
    "public def pub : Nat := 1\nnonrec def f (n : Nat) : Nat := n",
    "example : True := trivial\nexample (n : Nat) : n = n := rfl",
    "abbrev A := Nat\ninstance : Inhabited A := ⟨0⟩\ninstance (priority := low) named : Inhabited Nat where\n"
    "  default := 1",
    "namespace X.Y\ndef g : Nat := 2\nsection\ntheorem in_sec : g = 2 := rfl\nend\nend X.Y\n"
    "def top : Nat := 3",
    "theorem multi (a b : Nat)\n    (h : a ≤ b) :\n    a ≤ b + 1 := by\n  omega",
    "def f : Nat → Nat\n  | 0 => 1\n  | n + 1 => 2 * f n\ntheorem eqns : ∀ n : Nat, n = n\n  | n => rfl",
    "theorem «my thm» : True := trivial\ndef α₁.β' : Nat := 1\ntheorem _root_.root_t : True := trivial",
    "theorem t.{u} (α : Sort u) : True := trivial\naxiom ax : 1 = 1",
    "structure P where\n  x : Nat\nclass C (α : Type) where\n  c : α\n"
    "inductive T | a | b\ninductive U where\n  | u",
    "-- theorem fake : False\n/- theorem fake2 : False -/\ndef s : String := \"theorem x : False\"\n"
    "theorem real : s = s := rfl",
    "open Nat in\ntheorem o : succ 0 = 1 := rfl\n"
    "set_option maxHeartbeats 400 in\ntheorem so : True := trivial",
    "mutual\ndef ev : Nat → Bool\n  | 0 => true\n  | n + 1 => od n\ndef od : Nat → Bool\n  | 0 => false\n"
    "  | n + 1 => ev n\nend",
    "theorem lets : let x := 1; x = 1 := rfl",
    "def k (x : Nat := 3) : Nat := x\ntheorem last (n : Nat) : k n = n",
    "def w : Nat := 1\ntheorem last2 (n : Nat) : w + n = n + 1 := by",
]


def test_splitter_agrees_with_lean(lean_server: LeanServer) -> None:
    for text in AGREEMENT:
        lean = declarations(lean_server, text)
        assert not isinstance(lean, ReadError), (text, lean)
        assert decls.declarations(text) == lean, text
    # Lean's reading feeds the prior when a server is at hand, with the same names.
    snippet = ("nonrec def f (n : Nat) : Nat := n\ntheorem f_id (n : Nat) : f n = n := rfl\n"
               "theorem t : f 1 = 1")
    read = declarations(lean_server, snippet)
    assert not isinstance(read, ReadError) and header_names(read) == (("f",), ("f_id",))
    assert BuiltinPolicy.for_snippet(snippet, lean=lean_server) == BuiltinPolicy.for_snippet(snippet)
    assert isinstance(declarations(lean_server, "theorem bad : := rfl"), ReadError)
