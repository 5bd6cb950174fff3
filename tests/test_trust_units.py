"""The trust rules' pure parts (no Lean): the axiom audit, guard decisions, input shaping, the CLI."""

from __future__ import annotations

import argparse
import contextlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from prover.lean import LeanServer, ParseResult
from prover.lean import syntax as S
from prover.lean.guard import SyntaxGuard, is_tactic_kind
from prover.verify import audit_axioms
from prover.verify import cli as verify_cli
from prover.verify.verifier import proof_term

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


def _parsed(tree: S.Syntax) -> ParseResult:
    return ParseResult(True, tree=tree)


def _node(kind: str, *children: S.Syntax) -> S.Node:
    return S.Node(kind, tuple(children))


def test_guard_allowlist_is_open_for_extension() -> None:
    parsed = _parsed(_node("tacticMy_tac", S.Atom("my_tac")))
    assert SyntaxGuard().check_tactic("my_tac", parsed) is not None
    assert SyntaxGuard(extra_tactic_kinds=["tacticMy_tac"]).check_tactic("my_tac", parsed) is None


def test_guard_extension_cannot_readmit_a_denied_kind() -> None:
    g = SyntaxGuard(extra_tactic_kinds=["Lean.Parser.Tactic.nativeDecide"])
    tree = _node("Lean.Parser.Tactic.nativeDecide", S.Atom("native_decide"))
    assert g.check_tactic("native_decide", _parsed(tree)) is not None


def _set_option(*name: str, value: str = "2000") -> S.Node:
    return _node("Lean.Parser.Tactic.set_option", S.Atom("set_option"), S.Ident(name), _node("null"),
                 _node("num", S.Atom(value)), S.Atom("in"),
                 _node("Lean.Parser.Tactic.omega", S.Atom("omega")))


def test_guard_reads_set_option_names_from_the_identifier_node() -> None:
    g = SyntaxGuard()
    assert g.check_tactic("…", _parsed(_set_option("maxRecDepth"))) is None
    # The name is the one Lean read (`«debug».skipKernelTC` arrives as these components).
    assert g.check_tactic("…", _parsed(_set_option("debug", "skipKernelTC", value="1"))) is not None
    assert g.check_tactic("…", _parsed(_set_option("maxRecDepth", value="100000"))) is not None
    assert g.check_tactic("…", _parsed(_set_option("maxHeartbeats", value="0"))) is not None


def test_syntax_tree_json_round_trip() -> None:
    tree = _node("Lean.Parser.Command.set_option", S.Atom("set_option"), S.Ident(("a", "b"), (11, 14)))
    assert S.from_json(S.to_json(tree)) == tree
    assert S.source("αβ x", (5, 6)) == "x"  # byte offsets: α and β are two bytes each
    assert S.string_literal(S.Atom(r'" ⊕\\ "')) == " ⊕\\ "


@pytest.mark.parametrize(("kind", "tactic"), [
    ("Lean.Parser.Tactic.omega", True), ("tacticFunext___", True), ("«tacticBy_cases_:_»", True),
    ("Lean.Elab.Tactic.Ext.ext", True), ("Lean.calcTactic", True), ("Lean.Parser.Term.app", False),
    ("«term_+_»", False), ("null", False),
])
def test_is_tactic_kind(kind: str, tactic: bool) -> None:
    assert is_tactic_kind(kind) is tactic


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


def test_cli_snippet_and_proof(shared_server: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert verify_cli.run(_args("theorem t : 2 + 2 = 4", "--proof", "decide")) == 0
    assert "proved" in capsys.readouterr().out
    capsys.readouterr()
    assert verify_cli.run(_args("theorem t : 2 + 2 = 4", "--json")) == 1  # no proof anywhere
    assert json.loads(capsys.readouterr().out)["failure"] == "input"
