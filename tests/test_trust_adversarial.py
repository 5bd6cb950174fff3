"""The adversarial suite: hostile proofs and tactics, each refused for its reason by the real Lean.

Every case says why it must fail and which check must catch it; none may ever come back as
proved. The honest proofs at the end (same statements, where true) must pass, so the guard is
not simply refusing everything.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from prover.lean import LeanError, LeanServer, ProofFinished, ProofState
from prover.verify import Failure, Verifier

F = Failure
ADD = "theorem add_comm' (a b : Nat) : a + b = b + a := by"
FOUR = "theorem four : 2 + 2 = 4"
TRUE = "theorem triv : True"
FALSE = "theorem bad : 1 = 2"
EM = "theorem em' (p : Prop) : p ∨ ¬p"
# Passes under the default budget; exceeds a budget of 1 (thousand) heartbeats.
HEAVY = ("theorem heavy (x y z w : Nat) (h1 : 3*x + 5*y + 7*z + 11*w = 1000) "
         "(h2 : 13*x + 17*y + 19*z + 23*w = 3001) (h3 : 29*x + 31*y + 37*z + 41*w = 7777) : "
         "x + y + z + w ≠ 12345")


@dataclass(frozen=True)
class Hostile:
    name: str
    snippet: str
    proof: str | bytes
    expect: frozenset[Failure]  # the checks allowed to catch it (the first that runs wins)
    why: str  # why it must fail


def h(name: str, snippet: str, proof: str | bytes, expect: Failure | set[Failure], why: str) -> Hostile:
    return Hostile(name, snippet, proof, frozenset(expect if isinstance(expect, set) else {expect}), why)


HOSTILE: list[Hostile] = [
    # -- proofs that prove nothing
    h("sorry-tactic", ADD, "sorry", F.GUARD, "`sorry` closes any goal without a proof"),
    h("sorry-term", ADD, ":= sorry", F.GUARD, "`sorry` closes any goal without a proof"),
    h("admit", ADD, "admit", F.GUARD, "`admit` is `sorry`"),
    h("sorry-nested-have", ADD, "have h : 1 = 2 := by sorry\n  omega", F.GUARD,
      "a `sorry` hidden in a sub-proof"),
    h("sorryAx-direct", FALSE, ":= sorryAx (1 = 2) false", F.GUARD, "`sorryAx` is the axiom behind sorry"),
    h("header-lemma-sorry", "theorem helper : 1 = 2 := sorry\n" + FALSE, ":= helper", F.AXIOM,
      "the proof rests on a header lemma that was never proved"),
    # -- trusting compiled code instead of the kernel
    h("native_decide", FOUR, "native_decide", F.GUARD, "`native_decide` rests on `Lean.ofReduceBool`"),
    h("decide+native", FOUR, "decide +native", F.GUARD, "`decide +native` is native_decide"),
    h("decide-config-native", FOUR, "decide (config := { native := true })", F.GUARD,
      "native evaluation through the config structure"),
    h("ofReduceBool-term", FOUR, ":= Lean.ofReduceBool _ _ rfl", F.GUARD,
      "`Lean.ofReduceBool` trusts the compiler"),
    h("trustCompiler", FOUR, ":= by exact Lean.trustCompiler.elim", F.GUARD,
      "`Lean.trustCompiler` is an axiom"),
    h("header-native-lemma", "theorem helper : 2 + 2 = 4 := by decide +native\n" + FOUR, ":= helper",
      {F.GUARD, F.AXIOM}, "the header lemma was proved by native evaluation (caught by the axiom audit)"),
    h("header-native_decide", "theorem helper : 2 + 2 = 4 := by native_decide\n" + FOUR, ":= helper",
      F.GUARD, "`native_decide` in the header"),
    # -- new axioms
    h("header-axiom", "axiom cheat : False\n" + FALSE, ":= cheat.elim", F.AXIOM,
      "a proof from an axiom declared next to the theorem"),
    h("header-axiom-tactic", "axiom cheat (n : Nat) : n = n + 1\n" + FALSE, "exact cheat 1", F.AXIOM,
      "a tactic proof that uses a header axiom"),
    h("axiom-after-proof", FALSE, ":= cheat\naxiom cheat : 1 = 2", F.PARSE,
      "the proof tries to declare the axiom it uses after the theorem"),
    # -- escaping the theorem: re-declaration, weaker statements, new commands
    h("redeclare-weaker", ADD, ":= by omega\ntheorem add_comm' : True := trivial", F.PARSE,
      "a second theorem of the same name with a weaker statement"),
    h("redeclare-tactic-block", ADD, "omega\n\ntheorem add_comm'' : True := trivial", F.PARSE,
      "a new theorem appended to the tactic block"),
    h("end-namespace", "namespace Foo\n" + TRUE, ":= trivial\nend Foo\ntheorem x : True := trivial",
      F.PARSE, "closing the header's namespace and starting new commands"),
    h("statement-smuggles-command", TRUE + "\n#eval IO.println \"pwned\"", ":= trivial",
      {F.STATEMENT, F.PARSE}, "a command hidden at the end of the statement"),
    h("unterminated-comment", TRUE, ":= trivial /-", F.PARSE, "an open comment swallowing the rest"),
    # -- changing notation or names
    h("notation-eq", FALSE, ":= trivial\nnotation:50 a \" = \" b => True", F.PARSE,
      "notation that redefines `=` after the statement"),
    h("numeral-instance", FALSE, ":= rfl\ninstance : OfNat Nat 2 := ⟨1⟩", F.PARSE,
      "an instance that redefines the numeral 2"),
    h("local-notation-in-block", FALSE, "local notation \"two\" => 1\n  rfl", F.PARSE,
      "a notation command inside a tactic block"),
    h("open-in-tactic", EM, "open Classical in exact em p", F.GUARD, "`open … in` changes what names mean"),
    h("open-in-term", EM, ":= open Classical in em p", F.GUARD, "`open … in` changes what names mean"),
    h("attribute-in-block", ADD, "attribute [simp] Nat.add_comm\n  simp", F.PARSE,
      "an attribute change inside a tactic block"),
    h("macro-in-block", FALSE, "macro \"cheat\" : tactic => `(tactic| sorry)\n  cheat", F.PARSE,
      "a macro definition inside a tactic block"),
    # -- running code (IO, environment changes)
    h("run_tac-io", TRUE, "run_tac (IO.println \"pwned\" : IO Unit)\n  trivial", F.GUARD,
      "`run_tac` runs arbitrary meta code with IO"),
    h("by_elab", TRUE, ":= by_elab pure (Lean.mkConst ``True.intro)", F.GUARD, "`by_elab` runs meta code"),
    h("eval-in-block", TRUE, "#eval IO.println \"pwned\"\n  trivial", F.PARSE,
      "`#eval` inside a tactic block"),
    h("eval-after-proof", TRUE, ":= trivial\n#eval IO.println \"pwned\"", F.PARSE, "`#eval` after the proof"),
    h("header-eval", "#eval IO.println \"pwned\"\n" + TRUE, ":= trivial", F.GUARD, "`#eval` in the header"),
    h("header-run_cmd", "run_cmd Lean.logInfo \"pwned\"\n" + TRUE, ":= trivial", F.GUARD,
      "`run_cmd` in the header"),
    h("header-elab", "elab \"cheat\" : tactic => pure ()\n" + TRUE, "cheat", F.GUARD,
      "an elaborator (meta code) in the header"),
    h("header-implemented_by", "def g (n : Nat) : Nat := n\n@[implemented_by g] def f (n : Nat) : Nat := 0\n"
      + TRUE, ":= trivial", F.GUARD, "`implemented_by` swaps compiled code"),
    h("header-extern", "@[extern \"lean_nat_add\"] def f (n : Nat) : Nat := 0\n" + TRUE, ":= trivial",
      F.GUARD, "`extern` swaps compiled code"),
    h("unsafe-term", FALSE, ":= unsafe (unsafeCast ())", F.GUARD, "`unsafe` bypasses the kernel"),
    h("unsafeCast", FALSE, ":= by exact unsafeCast ()", F.GUARD, "`unsafeCast` is unsound"),
    h("dbg_trace", TRUE, "dbg_trace \"pwned\"\n  trivial", F.GUARD, "`dbg_trace` does IO"),
    h("sleep", TRUE, "sleep 100000\n  trivial", F.GUARD, "`sleep` only burns wall-clock time"),
    # -- switching off checks
    h("skipKernelTC", TRUE, "set_option debug.skipKernelTC true in trivial", F.GUARD,
      "`debug.skipKernelTC` skips the kernel"),
    h("skipKernelTC-term", TRUE, ":= set_option debug.skipKernelTC true in trivial", F.GUARD,
      "`debug.skipKernelTC` skips the kernel"),
    h("header-skipKernelTC", "set_option debug.skipKernelTC true\n" + TRUE, ":= trivial", F.GUARD,
      "switching the kernel off for the whole file"),
    h("heartbeats-off", TRUE, "set_option maxHeartbeats 0 in trivial", F.GUARD,
      "`maxHeartbeats 0` removes Lean's own timeout"),
    h("elab-async", TRUE, "set_option Elab.async true in trivial", F.GUARD,
      "an option outside the allowlist"),
    h("private-ident", TRUE, ":= _private.Init.Core.0.foo", {F.GUARD, F.PARSE},
      "reaching into private library names"),
    # -- termination cheats
    h("decreasing_by-sorry", ADD, ":= by omega\ndecreasing_by sorry", F.PARSE,
      "`decreasing_by sorry` attached to the theorem"),
    h("let-rec-decreasing_by-sorry", TRUE,
      ":= let rec f : Nat → Nat\n  | 0 => 0\n  | n + 1 => f (n + 1)\ndecreasing_by sorry\ntrivial",
      {F.GUARD, F.PARSE}, "a non-terminating helper accepted with `decreasing_by sorry`"),
    # -- malformed input
    h("unbalanced-paren", ADD, "exact (Nat.add_comm a b", F.PARSE, "unbalanced brackets"),
    h("unbalanced-anon", ADD, ":= ⟨Nat.add_comm a b", F.PARSE, "unbalanced brackets"),
    h("invalid-utf8", ADD, b"exact Nat.add_comm a b \xff\xfe", F.INPUT, "invalid UTF-8"),
    h("lone-surrogate", ADD, "exact Nat.add_comm a b \udcff", F.INPUT, "not valid Unicode"),
    h("nul", ADD, "omega\x00", F.INPUT, "a NUL character"),
    h("huge", ADD, "simp only []\n  " * 12_000 + "omega", F.INPUT, "a 200 kB proof"),
    h("empty", ADD, "   \n ", F.INPUT, "nothing to check"),
    # -- plainly wrong
    h("false-decide", FALSE, "decide", F.ELABORATION, "the statement is false"),
    h("wrong-term", ADD, ":= rfl", F.ELABORATION, "`rfl` does not prove commutativity"),
    h("recursion-limit", "theorem big : ∀ n, n < 300 → n * n ≠ 2", "decide", F.TIMEOUT,
      "runs out of Lean's recursion depth"),
]

HONEST: list[tuple[str, str, str]] = [
    ("omega", ADD, "omega"),
    ("term", ADD, ":= Nat.add_comm a b"),
    ("by-term", ADD, ":= by omega"),
    ("script-stripped", ADD, "rw [Nat.add_comm]"),
    ("decide", FOUR, "decide"),
    ("rfl", FOUR, ":= rfl"),
    ("decide-kernel", FOUR, "decide +kernel"),
    ("trivial", TRUE, "trivial"),
    ("classical", EM, ":= Classical.em p"),
    ("classical-tactic", EM, "exact Classical.em p"),
    ("header-def", "def f (n : Nat) : Nat := n + 1\ntheorem f_pos (n : Nat) : 0 < f n", "unfold f\n  omega"),
    ("namespace-header", "namespace Foo\ndef g (n : Nat) : Nat := 2 * n\n"
     "theorem g_even (n : Nat) : g n % 2 = 0", "simp [g]"),
    ("multi-line", "theorem two (p q : Prop) (hp : p) (hq : q) : p ∧ q",
     "constructor\n  · exact hp\n  · exact hq"),
    ("have", ADD, "have h : a + b = b + a := Nat.add_comm a b\n  exact h"),
    ("set_option-allowed", FOUR, "set_option maxRecDepth 2000 in decide"),
    ("example", "example (n : Nat) : n + 0 = n", "simp"),
    ("universe", "theorem refl'.{u} (α : Sort u) (a : α) : a = a", ":= rfl"),
    ("heavy-default-budget", HEAVY, "omega"),
]


@pytest.fixture(scope="module")
def verifier(lean_server: LeanServer) -> Verifier:
    return Verifier(lean_server)


def test_suite_is_large_enough() -> None:
    assert len(HOSTILE) + len(HOSTILE_TACTICS) >= 40
    assert len({c.name for c in HOSTILE}) == len(HOSTILE)


@pytest.mark.parametrize("case", HOSTILE, ids=lambda c: c.name)
def test_hostile_proof_is_refused(verifier: Verifier, case: Hostile) -> None:
    res = verifier.verify(case.snippet, case.proof)
    assert not res.ok, f"{case.name} was accepted although {case.why}"
    assert res.failure in case.expect, f"{case.name}: {res.failure}: {res.reason}"
    assert res.reason


@pytest.mark.parametrize(("name", "snippet", "proof"), HONEST, ids=[c[0] for c in HONEST])
def test_honest_proof_passes(verifier: Verifier, name: str, snippet: str, proof: str) -> None:
    res = verifier.verify(snippet, proof)
    assert res.ok, f"{name}: {res}"
    assert res.reason == "" and res.failure is None
    assert set(res.axioms) <= {"propext", "Quot.sound", "Classical.choice"}


def test_classical_axioms_are_reported(verifier: Verifier) -> None:
    # Used directly: on the embedded build imported theorems (`Classical.em`) hide their axioms.
    res = verifier.verify(EM, ":= Classical.choice (⟨Classical.em p⟩ : Nonempty (p ∨ ¬p))")
    assert res.ok and res.axioms == ("Classical.choice",), res


def test_a_proof_that_only_times_out(lean_server: LeanServer) -> None:
    """The same honest proof, under a budget too small for it: a timeout, never a success."""
    res = Verifier(lean_server, heartbeats=1).verify(HEAVY, "omega")
    assert not res.ok and res.failure is Failure.TIMEOUT, res


# -- the same rules on the search's path: tactics refused before Lean runs them

HOSTILE_TACTICS: list[tuple[str, str | bytes, str]] = [
    ("sorry", "sorry", "proves nothing"),
    ("admit", "admit", "proves nothing"),
    ("native_decide", "native_decide", "trusts compiled code"),
    ("decide+native", "decide +native", "trusts compiled code"),
    ("run_tac", "run_tac (IO.println \"pwned\" : IO Unit)", "meta code"),
    ("eval", "#eval IO.println \"pwned\"", "a command"),
    ("skipKernelTC", "set_option debug.skipKernelTC true in omega", "kernel"),
    ("open-in", "open Nat in omega", "changes what names"),
    ("by_elab", "exact (by_elab pure (Lean.mkConst ``True.intro))", "meta code"),
    ("sorryAx", "exact sorryAx _ false", "sorry"),
    ("sleep", "sleep 100000", "wall-clock"),
    ("unbalanced", "exact (Nat.add_comm a b", "bracket"),
    ("invalid-utf8", b"omega \xff", "UTF-8"),
    ("huge", "skip; " * 5000, "exceeds"),
    ("new-theorem", "omega\ntheorem x : False := sorry", "parse"),
]


@pytest.fixture(scope="module")
def add_state(lean_server: LeanServer) -> Iterator[ProofState]:
    assert lean_server.guard is not None, "the server must guard tactics by default"
    st = lean_server.open_proof(ADD)
    assert isinstance(st, ProofState), st
    yield st
    lean_server.forget([st])


@pytest.mark.parametrize(("name", "tactic", "_why"), HOSTILE_TACTICS, ids=[c[0] for c in HOSTILE_TACTICS])
def test_hostile_tactic_is_refused(lean_server: LeanServer, add_state: ProofState, name: str,
                                   tactic: str | bytes, _why: str) -> None:
    res = lean_server.run_tactic(add_state, tactic)
    assert isinstance(res, LeanError), f"{name} ran: {res}"
    assert res.text


def test_honest_tactic_runs(lean_server: LeanServer, add_state: ProofState, verifier: Verifier) -> None:
    res = lean_server.run_tactic(add_state, "omega")
    assert isinstance(res, ProofFinished)
    assert verifier.verify(ADD, res.script).ok
