"""The trust rules' pure parts (no Lean): the axiom audit, guard decisions, input shaping, the CLI."""

from __future__ import annotations

import argparse
import contextlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from prover.lean import InvalidRequest, LeanServer, ParseResult
from prover.lean.guard import SyntaxGuard, is_tactic_kind
from prover.verify import audit_axioms, split_proof
from prover.verify import cli as verify_cli
from prover.verify.verifier import proof_term, split_signature

# -- the axiom audit


def test_audit_accepts_the_three_standard_axioms() -> None:
    used, bad = audit_axioms([("propext", "Init.Core"), ("Classical.choice", "Init.Prelude"),
                              ("Quot.sound", "Init.Core")], imports_have_proofs=False)
    assert used == ("propext", "Classical.choice", "Quot.sound") and bad == ()


@pytest.mark.parametrize("name", ["sorryAx", "Lean.ofReduceBool", "Lean.ofReduceNat", "Lean.trustCompiler"])
def test_audit_refuses_unsound_library_axioms(name: str) -> None:
    _, bad = audit_axioms([(name, "Init.Core")], imports_have_proofs=False)
    assert [n for n, _ in bad] == [name]


def test_audit_refuses_axioms_declared_by_the_submitted_code() -> None:
    # Named like an allowed one's neighbour, declared in the session: refused whatever the name.
    _, bad = audit_axioms([("_private.ProverServer.0.Nat.add_comm", None)], imports_have_proofs=False)
    assert bad and "submitted code" in bad[0][1] and "Nat.add_comm" in bad[0][1]


def test_audit_on_the_embedded_build_trusts_imported_theorems_only() -> None:
    used, bad = audit_axioms([("Nat.add_comm", "Init.Data.Nat.Basic"), ("Foo.my_axiom", "Init.Core")],
                             imports_have_proofs=False)
    assert used == () and [n for n, _ in bad] == ["Foo.my_axiom"]


def test_audit_on_a_native_build_refuses_every_other_axiom() -> None:
    _, bad = audit_axioms([("Nat.add_comm", "Init.Data.Nat.Basic")], imports_have_proofs=True)
    assert bad


# -- guard decisions on Lean-shaped parses


def _parsed(kinds: list[str], atoms: tuple[str, ...] = (), idents: tuple[str, ...] = ()) -> ParseResult:
    return ParseResult(True, kinds=tuple(kinds), atoms=atoms, idents=idents)


def test_guard_allowlist_is_open_for_extension() -> None:
    parsed = _parsed(["myTacticKind", "tacticMy_tac"], atoms=("my_tac",))
    assert SyntaxGuard().check_tactic("my_tac", parsed) is not None
    assert SyntaxGuard(extra_tactic_kinds=["tacticMy_tac"]).check_tactic("my_tac", parsed) is None


def test_guard_extension_cannot_readmit_a_denied_kind() -> None:
    g = SyntaxGuard(extra_tactic_kinds=["Lean.Parser.Tactic.nativeDecide"])
    assert g.check_tactic("native_decide", _parsed(["Lean.Parser.Tactic.nativeDecide"])) is not None


def test_guard_set_option_names_must_match_the_parse() -> None:
    g = SyntaxGuard()
    kinds = ["Lean.Parser.Tactic.set_option", "Lean.Parser.Tactic.omega"]
    ok = g.check_tactic("set_option maxRecDepth 2000 in omega", _parsed(kinds, idents=("maxRecDepth",)))
    assert ok is None
    # A comment between keyword and name hides the name from the text reading: refused.
    sneaky = "set_option /- x -/ debug.skipKernelTC true in omega"
    assert g.check_tactic(sneaky, _parsed(kinds, idents=("maxRecDepth",))) is not None


@pytest.mark.parametrize(("kind", "tactic"), [
    ("Lean.Parser.Tactic.omega", True), ("tacticFunext___", True), ("«tacticBy_cases_:_»", True),
    ("Lean.Elab.Tactic.Ext.ext", True), ("Lean.calcTactic", True), ("Lean.Parser.Term.app", False),
    ("«term_+_»", False), ("null", False),
])
def test_is_tactic_kind(kind: str, tactic: bool) -> None:
    assert is_tactic_kind(kind) is tactic


def test_header_rules() -> None:
    g = SyntaxGuard()
    assert g.check_header("def f := 1\n@[simp] theorem x : f = 1 := rfl\nnotation \"F\" => f\n") is None
    assert g.check_header("-- #eval in a comment\ndef s := \"#eval in a string\"\n") is None
    assert g.check_header("attribute [local simp] Nat.add_comm\n") is None
    assert g.check_header("@[simp, implemented_by g] def f := 1") is not None
    assert g.check_header("attribute [tactic foo] bar") is not None
    assert g.check_header("set_option debug.skipKernelTC true") is not None
    assert g.check_header("set_option maxHeartbeats 400000") is None


# -- shaping the inputs


@pytest.mark.parametrize(("proof", "term"), [
    ("omega", "by\n  omega"),
    ("intro h\n  omega", "by\n  intro h\n  omega"),  # ProofFinished.script after strip()
    ("  intro h\n  omega", "by\n  intro h\n  omega"),  # ProofFinished.script as is
    ("have h : 1 = 1 := by\n    rfl", "by\n  have h : 1 = 1 := by\n    rfl"),
    (":= by omega", "by omega"),
    ("  :=  Nat.add_comm a b ", "Nat.add_comm a b"),
])
def test_proof_term(proof: str, term: str) -> None:
    assert proof_term(proof) == term


@pytest.mark.parametrize(("statement", "sig"), [
    ("theorem foo (a : Nat) : a = a", " (a : Nat) : a = a"),
    ("/-- doc -/\n@[simp] private theorem Foo.bar : True", " : True"),
    ("theorem foo.{u} (α : Sort u) : α = α", ".{u} (α : Sort u) : α = α"),
    ("theorem «weird name» : True", " : True"),
    ("example : 1 = 1", " : 1 = 1"),
    ("lemma x(n : Nat) : n = n", " (n : Nat) : n = n"),
])
def test_split_signature(statement: str, sig: str) -> None:
    assert split_signature(statement) == sig


def test_split_proof() -> None:
    text = ("def f := 1\n-- theorem fake : False := sorry\n"
            "theorem t (h : ∀ x, x = (1 : Nat)) : f = 1 := by\n  rfl\n")
    snippet, proof = split_proof(text)
    assert snippet.endswith(": f = 1 ") and proof == ":= by\n  rfl\n"
    with pytest.raises(InvalidRequest):
        split_proof("theorem t : True")


# -- the CLI, on the shared server


@pytest.fixture
def shared_server(monkeypatch: pytest.MonkeyPatch, lean_server: LeanServer) -> None:
    @contextlib.contextmanager
    def reuse(*_a: object, **_k: object) -> Iterator[LeanServer]:
        yield lean_server
    monkeypatch.setattr(verify_cli, "LeanServer", reuse)


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    verify_cli.add_arguments(parser)
    return parser.parse_args(list(argv))


@pytest.mark.lean
def test_cli_verifies_a_file(shared_server: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.lean"
    good.write_text("theorem t (a b : Nat) : a + b = b + a := by omega\n")
    assert verify_cli.run(_args(str(good))) == 0
    bad = tmp_path / "bad.lean"
    bad.write_text("theorem t : 1 = 2 := by native_decide\n")
    capsys.readouterr()
    assert verify_cli.run(_args(str(bad), "--json")) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] is False and out["failure"] == "guard"


@pytest.mark.lean
def test_cli_snippet_and_proof(shared_server: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert verify_cli.run(_args("theorem t : 2 + 2 = 4", "--proof", "decide")) == 0
    assert "proved" in capsys.readouterr().out
    assert verify_cli.run(_args("theorem t : 2 + 2 = 4")) == 2  # no proof anywhere
