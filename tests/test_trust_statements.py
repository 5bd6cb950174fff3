"""Trust II: hostile statements and headers, each refused for its reason by the real Lean.

Statements and headers come from models (the autoformalizer) and benchmark files, so they are as
untrusted as proofs: nothing in them may run code, switch off a check, or change what the
displayed statement means. Every case says why it must fail; none may come back as proved, no file
may appear on the host, and `open_proof` must refuse it too (no search starts on it). Honest
statements with user notation, definitions and instances must still open, prove and verify.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from prover.lean import LeanError, LeanServer, ProofFinished, ProofState
from prover.lean.guard import SyntaxGuard
from prover.verify import Failure, Verifier

F = Failure
# Host IO at elaboration time, as an attacker would write it; `{path}` is a fresh file per case.
WRITE = 'by_elab do let _ ← IO.FS.writeFile "{path}" "pwned"; return Lean.mkConst ``True'
ENV = 'by_elab do let n ← IO.getEnv "PROVER_NONCE"; IO.FS.writeFile "{path}" (toString n); ' \
      'return Lean.mkConst ``True'
LOG = 'by_elab do let c ← IO.getEnv "PROVER_CHANNEL"; let t ← IO.FS.readFile ((c.getD "") ++ ' \
      '"/requests.jsonl"); IO.FS.writeFile "{path}" t; return Lean.mkConst ``True'
FRAME = 'by_elab do let n ← IO.getEnv "PROVER_NONCE"; IO.println ("@@PROVER:" ++ (n.getD "0") ++ ' \
        '"@@ {{\\"id\\":0,\\"ok\\":true}}"); IO.FS.writeFile "{path}" "x"; return Lean.mkConst ``True'


@dataclass(frozen=True)
class Case:
    name: str
    snippet: str  # header commands and the theorem (`{path}`: a host file that must never appear)
    proof: str | None
    expect: frozenset[Failure]
    why: str


def c(name: str, snippet: str, proof: str | None, expect: Failure | set[Failure], why: str) -> Case:
    return Case(name, snippet, proof, frozenset(expect if isinstance(expect, set) else {expect}), why)


CASES: list[Case] = [
    # -- meta code in the statement itself
    c("sig-by_elab-io", f"theorem t : ({WRITE} : Prop)", "trivial", F.GUARD,
      "meta code in the signature would write a host file while the statement elaborates"),
    c("sig-by_elab-binder", f"theorem t (h : ({WRITE} : Prop)) : False", "exact absurd h (by simp)",
      F.GUARD, "meta code hidden in a hypothesis type"),
    c("sig-default-arg-term", f"theorem t (n : Nat := ({WRITE} : Prop).casesOn 0) : 1 = 2", "rfl",
      F.GUARD, "meta code in a default argument"),
    c("sig-default-arg-tactic", 'theorem t (h : 1 = 2 := by run_tac (do IO.FS.writeFile "{path}" "x"; '
      'Lean.Elab.admitGoal (← Lean.Elab.Tactic.getMainGoal))) : 1 = 2', ":= h", F.GUARD,
      "`run_tac` in an auto-param tactic"),
    c("sig-reads-environment", f"theorem t : ({ENV} : Prop)", "trivial", F.GUARD,
      "reading the server's environment (its reply nonce) from a statement"),
    c("sig-reads-request-log", f"theorem t : ({LOG} : Prop)", "trivial", F.GUARD,
      "reading the server's request log from a statement"),
    c("sig-prints-framed-reply", f"theorem t : ({FRAME} : Prop)", "trivial", F.GUARD,
      "printing a framed reply to forge a verdict"),
    c("sig-quotation", "theorem t : (Lean.Syntax.missing = `(1)) := rfl\ntheorem u : True", "trivial",
      F.GUARD, "syntax quotations belong to meta code"),
    c("sig-open-in", "theorem t : (open Nat in succ 0 = 1)", "rfl", F.GUARD, "`open … in` inside a term"),
    c("sig-sorry-type", "theorem t : (sorry : Prop)", "sorry", F.GUARD, "`sorry` as the statement"),
    # -- meta code in the header
    c("hdr-eval-io", '#eval IO.FS.writeFile "{path}" "x"\ntheorem t : True', "trivial", F.GUARD,
      "`#eval` runs code with the server's rights"),
    c("hdr-run_cmd", 'run_cmd do IO.FS.writeFile "{path}" "x"\ntheorem t : True', "trivial", F.GUARD,
      "`run_cmd` runs meta code"),
    c("hdr-macro", 'macro "evil" : term => `((' + WRITE + ' : Prop))\ntheorem t : evil', "trivial", F.GUARD,
      "a macro can expand to anything, unchecked"),
    c("hdr-notation-meta-rhs", 'notation "⟪evil⟫" => ((' + WRITE + ' : Prop))\ntheorem t : ⟪evil⟫', "trivial",
      F.GUARD, "a notation whose right side is meta code"),
    c("hdr-syntax-macro_rules", 'syntax "evil2" : term\nmacro_rules | `(evil2) => `(True)\ntheorem t : evil2',
      "trivial", F.GUARD, "a syntax extension whose expansion is never checked"),
    c("hdr-elab", 'elab "evil3" : term => return Lean.mkConst ``True\ntheorem t : evil3', "trivial", F.GUARD,
      "an elaborator is meta code"),
    c("hdr-initialize", 'initialize IO.FS.writeFile "{path}" "x"\ntheorem t : True', "trivial", F.GUARD,
      "`initialize` runs code"),
    c("hdr-implemented_by", "def g := 2\n@[implemented_by g] def f : Nat := 1\ntheorem t : f = 1", "rfl",
      F.GUARD, "`implemented_by` swaps in other compiled code"),
    c("hdr-unsafe", "unsafe def f : Nat := 1\ntheorem t : True", "trivial", F.GUARD, "`unsafe` declarations"),
    c("hdr-def-by_elab", f"def p : Prop := ({WRITE} : Prop)\ntheorem t : p", "trivial", F.GUARD,
      "meta code in a header definition's body"),
    c("hdr-instance-run_tac", 'instance : Inhabited Nat := by run_tac (do IO.FS.writeFile "{path}" "x"; '
      'Lean.Elab.admitGoal (← Lean.Elab.Tactic.getMainGoal))\ntheorem t : True', "trivial", F.GUARD,
      "meta code in an instance's tactic proof"),
    c("hdr-code-attribute", "@[command_elab Lean.Parser.Command.check] def f := 1\ntheorem t : True", "trivial",
      F.GUARD, "a code-registering attribute"),
    c("hdr-exit", "#exit\ntheorem t : False", "trivial", F.GUARD, "`#exit` hides the rest of the file"),
    c("hdr-import", "import Lean\ntheorem t : True", "trivial", {F.PARSE, F.GUARD}, "imports are fixed by the server"),
    # -- switching checking off, whatever the spelling
    c("hdr-skipKernelTC", "set_option debug.skipKernelTC true\ntheorem t : 1 = 1", "rfl", F.GUARD,
      "kernel checking switched off for the header"),
    c("hdr-skipKernelTC-guillemets", "set_option «debug».skipKernelTC true\ntheorem t : 1 = 1", "rfl", F.GUARD,
      "the same option with its name in guillemets"),
    c("hdr-skipKernelTC-all-guillemets", "set_option «debug».«skipKernelTC» true\ntheorem t : 1 = 1", "rfl",
      F.GUARD, "every component quoted"),
    c("hdr-skipKernelTC-in", "set_option debug.skipKernelTC true in\ntheorem bad : 2 + 2 = 5 := by decide +kernel\n"
      "theorem t : 2 + 2 = 5", ":= bad", F.GUARD,
      "a lemma the kernel never saw (kernel off, `decide +kernel`)"),
    c("sig-skipKernelTC-term", "theorem t : (set_option debug.skipKernelTC true in 1 = 1)", "rfl", F.GUARD,
      "an option switched in a term of the statement"),
    c("tac-skipKernelTC-guillemets", "theorem t : 2 + 2 = 5", "set_option «debug».skipKernelTC true in decide +kernel",
      F.GUARD, "a quoted option name in the proof"),
    c("hdr-maxRecDepth", "set_option maxRecDepth 100000\ntheorem t : True", "trivial", F.GUARD,
      "a recursion depth that kills the embedded Lean"),
    # -- text tricks: char literals, raw strings, comments
    c("char-literal-hides-option", "def c : Char := '\"'\nset_option debug.skipKernelTC true\n"
      "theorem t : 1 = 1", "rfl", F.GUARD, "a char literal `'\"'` used to hide the rest from a text masker"),
    c("raw-string-hides-option", 'def s : String := r#"\\"#\nset_option debug.skipKernelTC true\n'
      "theorem t : 1 = 1", "rfl", F.GUARD, "a raw string literal ending in a backslash"),
    c("statement-carries-native-proof", "theorem t : 1 = 2 := by decide +native --", "rfl", F.INPUT,
      "a statement that brings its own (unguarded) proof"),
    c("statement-carries-proof-verify", "theorem t : 1 = 2 := by native_decide", None, F.GUARD,
      "a file whose own proof is `native_decide`"),
    c("comment-swallows-appended", "theorem t : 1 = 2 --", "rfl", F.ELABORATION,
      "a trailing comment must not swallow the text the verifier appends"),
    c("block-comment-swallows", "theorem t : 1 = 2 /-", "rfl", {F.INPUT, F.PARSE},
      "an unterminated comment must not swallow the appended proof"),
    # -- changing what the displayed statement means
    c("meaning-ofnat", "instance : OfNat Nat 2 := ⟨1⟩\ntheorem t : (1 : Nat) = 2", "rfl", F.MEANING,
      "a numeral instance makes `(1 : Nat) = 2` true"),
    c("meaning-ofnat-abbrev", "abbrev MyNat := Nat\ninstance : OfNat MyNat 2 := ⟨1⟩\ntheorem t : (1 : Nat) = 2",
      "rfl", F.MEANING, "the same through a reducible synonym"),
    # (the embedded Lean cannot compile this instance, so its header fails first there)
    c("meaning-hadd", "instance : HAdd Nat Nat Nat := ⟨Nat.mul⟩\ntheorem t : (2 : Nat) + 3 = 6", "rfl",
      {F.MEANING, F.HEADER}, "`+` on Nat redefined as multiplication"),
    c("meaning-hadd-noncomputable", "noncomputable instance : HAdd Nat Nat Nat := ⟨Nat.mul⟩\n"
      "theorem t : (2 : Nat) + 3 = 6", "rfl", F.MEANING, "the same, with nothing to compile"),
    c("meaning-lt-int", "instance : LT Int := ⟨fun _ _ => True⟩\ntheorem t : (3 : Int) < 1", "trivial",
      F.MEANING, "`<` on Int redefined"),
    c("meaning-decidable", "instance : Decidable (1 = 2) := .isFalse (by omega)\ntheorem t : 1 ≠ 2",
      "decide", F.MEANING, "an instance of a core class on a core proposition"),
    c("meaning-shadow-false", "namespace Foo\ndef False : Prop := True\ntheorem t : False", "trivial", F.MEANING,
      "an unclosed namespace with its own `False`"),
    c("meaning-shadow-open", "namespace Foo\ndef False : Prop := True\nend Foo\nopen Foo\ntheorem t : False",
      "trivial", {F.MEANING, F.STATEMENT}, "`open Foo` brings a `False` of its own"),
    c("meaning-shadow-decl-name", "def Foo.False : Prop := True\ntheorem Foo.t : False", "trivial", F.MEANING,
      "the theorem's own name opens `Foo` for its signature"),
    c("meaning-renaming", "def Foo.myTrue : Prop := True\nopen Foo renaming myTrue → False\ntheorem t : False",
      "trivial", F.MEANING, "an alias named `False`"),
    c("meaning-shadow-lemma", "namespace Nat\ntheorem add_comm' : 1 = 1 := rfl\nend Nat\n"
      "namespace Foo\ntheorem Nat.add_comm (a b : Nat) : True := trivial\n"
      "theorem t (a b : Nat) : a + b = b + a", ":= Nat.add_comm a b", F.MEANING,
      "a lemma named like a core lemma, hiding it inside the namespace"),
    c("meaning-default-instance", "@[default_instance] instance : OfNat Int 7 := ⟨0⟩\ntheorem t : 7 = 0",
      "rfl", F.GUARD, "a default instance changes the type numerals get"),
    c("meaning-notation-plus", 'infixl:65 (priority := high) " + " => HMul.hMul\ntheorem t : (2 : Nat) + 3 = 6',
      "rfl", F.GUARD, "a notation taking over `+`"),
    c("meaning-notation-name", 'notation "False" => True\ntheorem t : False', "trivial", F.GUARD,
      "a notation that turns a core name into a keyword"),
    c("meaning-export", "def Foo.x := 1\nexport Foo (x)\ntheorem t : x = 1", "rfl", F.GUARD, "`export` aliases"),
    c("meaning-variable-include", "variable (h : False)\ninclude h\ntheorem t : 1 = 2", "exact h.elim",
      F.GUARD, "a hidden hypothesis `False` the displayed statement does not show"),
    c("meaning-variable-instance", "variable [inst : Nonempty False]\ntheorem t : False",
      "exact Classical.choice inst", F.GUARD, "an instance variable is added to every theorem"),
    c("meaning-erase-instance", "attribute [-instance] instOfNatNat\ntheorem t : True", "trivial", F.GUARD,
      "erasing a core instance lets another one take its place"),
    c("meaning-homoglyph-cyrillic", "def Fаlse : Prop := True\ntheorem t : Fаlse", "trivial",
      {F.PARSE, F.GUARD}, "`Fаlse` with a Cyrillic `а` displays as `False`"),
    c("meaning-homoglyph-greek", "def Τrue : Prop := False\ntheorem t : ¬Τrue", "exact id", F.GUARD,
      "`Τrue` with a Greek capital tau displays as `True`"),
    c("meaning-bidi", "theorem t : 1 = 1 \u202e ∨ False", "rfl", F.INPUT,
      "a right-to-left override makes the shown statement differ from the read one"),
    c("deep-nesting", "theorem t : " + "(" * 2000 + "1 = 1" + ")" * 2000, "rfl", F.INPUT,
      "nesting that overflows the embedded Lean's stack (a crash and a restart for every try)"),
    c("meaning-notation-type-name", 'notation "Nat" => Int\ntheorem t : (0 : Nat) - 1 < 0', "decide", F.GUARD,
      "a notation that makes `Nat` mean `Int`"),
    c("meaning-attribute-instance", "def i : OfNat Nat 2 := ⟨1⟩\nattribute [instance] i\ntheorem t : (1 : Nat) = 2",
      "rfl", {F.GUARD, F.MEANING}, "making an existing definition an instance"),
]


@pytest.fixture(scope="module")
def verifier(lean_server: LeanServer) -> Verifier:
    return Verifier(lean_server)


@pytest.fixture
def host_file(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "pwned.txt"
    yield path
    assert not path.exists(), "code in an untrusted statement or header wrote a file on the host"


@pytest.mark.parametrize("case", CASES, ids=lambda k: k.name)
def test_hostile_statement_is_refused(case: Case, verifier: Verifier, lean_server: LeanServer,
                                      host_file: Path) -> None:
    snippet = case.snippet.replace("{path}", str(host_file))
    res = verifier.verify(snippet, case.proof)
    assert not res.ok, f"{case.name} was accepted although {case.why}"
    assert res.failure in case.expect, f"{case.name}: {res.failure}: {res.reason}"
    if case.name.startswith("tac-"):  # the statement is fine; the tactic is the attack
        opened = lean_server.open_proof(snippet)
        assert isinstance(opened, ProofState)
        step = lean_server.run_tactic(opened, case.proof or "")
        assert isinstance(step, LeanError), f"{case.name}: the search would run it"
        lean_server.forget([opened])
    elif case.proof is not None and res.failure not in (F.ELABORATION, F.STATEMENT, F.INPUT):
        # No search may start on a refused statement either (the reading is the same).
        opened = lean_server.open_proof(snippet)
        assert isinstance(opened, LeanError), f"{case.name}: open_proof accepted it"


def test_suite_size() -> None:
    assert len(CASES) >= 25 + 20  # statements and headers, beside the proof suite's 61


def test_kernel_replay_catches_what_trusted_mode_lets_through(lean_server: LeanServer) -> None:
    # Trusted mode (a user's own file) may switch kernel checking off for a lemma; the verifier
    # still replays every submitted declaration the proof rests on through the kernel.
    snippet = ("set_option debug.skipKernelTC true in\ntheorem bad : 2 + 2 = 5 := by decide +kernel\n"
               "theorem t : 2 + 2 = 5")
    res = Verifier(lean_server, guard=SyntaxGuard(trusted=True)).verify(snippet, ":= bad")
    assert not res.ok and res.failure is F.KERNEL, res


# -- honest statements keep working


HONEST: list[tuple[str, str, str]] = [
    ("notation", 'infixl:65 " ⊕⊕ " => Nat.add\ntheorem t (a : Nat) : a ⊕⊕ 0 = a', "rfl"),
    ("local-notation", 'def sq (n : Nat) := n * n\nlocal notation "⟦" n "⟧" => sq n\ntheorem t : ⟦3⟧ = 9', "rfl"),
    ("def-simp", "@[simp] def double (n : Nat) : Nat := 2 * n\ntheorem t (n : Nat) : double n = n + n",
     "(simp only [double]; omega)"),
    ("structure-instance", "structure V where\n  x : Nat\n  y : Nat\n"
     "instance : Add V := ⟨fun a b => ⟨a.x + b.x, a.y + b.y⟩⟩\ntheorem t (a b : V) : (a + b).x = a.x + b.x",
     "rfl"),
    ("inductive-recursion", "inductive T | leaf | node (l r : T)\ndef T.size : T → Nat\n  | .leaf => 1\n"
     "  | .node l r => l.size + r.size + 1\ntheorem t (l r : T) : (T.node l r).size = l.size + r.size + 1",
     "rfl"),
    ("namespace-open", "namespace Foo\ndef f (n : Nat) := n + 1\nend Foo\nopen Foo\ntheorem t : f 1 = 2", "rfl"),
    ("namespace-unclosed", "namespace Foo\ndef g (n : Nat) := n + 1\ntheorem t : g 1 = 2", "rfl"),
    ("options", "set_option autoImplicit false\nset_option maxHeartbeats 0\nset_option pp.all true\n"
     "theorem t (n : Nat) : n + 0 = n", "omega"),
    ("name-like-new-token", 'notation "ℕ" => Nat\ntheorem t (n : ℕ) : n + 0 = n', "omega"),
    ("decl-name-namespace", "theorem Nat.my_succ : succ 0 = 1", "rfl"),
    ("char-and-string", "def c : Char := '\"'\ndef s : String := \"theorem x : False := sorry\"\n"
     "theorem t : c = '\"'", "rfl"),
    ("universe-poly", "universe u\ntheorem t {α : Sort u} (a : α) : a = a", "rfl"),
    ("class-instance-user-type", "class Size (α : Type) where size : α → Nat\nstructure P where n : Nat\n"
     "instance : Size P := ⟨fun p => p.n⟩\ntheorem t : Size.size (P.mk 3) = 3", "rfl"),
]


@pytest.mark.parametrize(("name", "snippet", "proof"), HONEST, ids=[h[0] for h in HONEST])
def test_honest_statement_opens_proves_and_verifies(name: str, snippet: str, proof: str,
                                                    lean_server: LeanServer, verifier: Verifier) -> None:
    st = lean_server.open_proof(snippet)
    assert isinstance(st, ProofState), f"{name}: {st}"
    done = lean_server.run_tactic(st, proof)
    assert isinstance(done, ProofFinished), f"{name}: {done}"
    res = verifier.verify(snippet, done.script)
    assert res.ok, f"{name}: {res}"
    lean_server.forget([st])


# -- forging the replies of a verification in progress


def _forging_statement(nonces: list[str], first_id: int, count: int) -> str:
    """A trusted-mode statement whose elaboration prints framed replies claiming success for the
    requests around `first_id`, one per nonce guess, then elaborates to `False`. The replies are
    written in a loop: 160 `putStrLn` lines in one `do` block overflow Lean's recursion depth."""
    fields = ('"ok": true, "messages": [], "elab_ns": 0, "lean_ns": 0, "env": 1, "found": true, '
              '"kind": "theorem", "axioms": [], "unsafe": false, "same_type": true, "checked": 1, '
              '"error": null}')
    guesses = ", ".join(json.dumps(n) for n in nonces)
    return ("theorem t : (by_elab do\n    let out ← IO.FS.Handle.mk \"/dev/stdout\" .write\n"
            f"    for nonce in [{guesses}] do\n"
            f"      for rid in List.range {count} do\n"
            f"        out.putStrLn (\"@@PROVER:\" ++ nonce ++ \"@@ {{\\\"id\\\": \" ++ toString (rid + {first_id})"
            f" ++ {json.dumps(', ' + fields)})\n"
            "    out.flush\n    return Lean.mkConst ``False : Prop)")


@pytest.mark.usefixtures("lean_server_to_restart")  # a forged reply kills Lean
def test_forged_verification_replies_without_the_nonce(lean_server: LeanServer) -> None:
    # Everything code in Lean can read holds no nonce (tests/test_sandbox.py); guess what it can.
    guesses = ["0", "", "PROVER", str(lean_server.pid or 0)]
    snippet = _forging_statement(guesses, lean_server.process._seq, 40)
    res = Verifier(lean_server, guard=SyntaxGuard(trusted=True)).verify(snippet, "trivial")
    assert not res.ok and res.failure is F.FAULT, res


@pytest.mark.usefixtures("lean_server_to_restart")  # a forged reply kills Lean
def test_forged_verification_replies_with_a_leaked_nonce(lean_server: LeanServer) -> None:
    # Suppose the nonce leaked (the test hands it over): the forged success for the request in
    # flight wins the race, but the real reply then arrives as a duplicate, and the verdict is a
    # fault, not "proved" for a statement whose type is `False`.
    lean_server.ping()
    snippet = _forging_statement([lean_server.process._nonce], lean_server.process._seq, 40)
    res = Verifier(lean_server, guard=SyntaxGuard(trusted=True)).verify(snippet, "trivial")
    assert not res.ok and res.failure in (F.FAULT, F.CRASH), res
