"""`prover prove` (search.cli) and the statement helpers of search.api."""

from __future__ import annotations

import argparse
import json

import pytest

from prover.lean import LeanServer
from search import cli
from search.api import StatementError, as_snippet, load_theorem, make_policy, make_value
from search.policies.builtin import BuiltinPolicy


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    return parser.parse_args([*argv, "--no-progress"])


def test_as_snippet() -> None:
    assert as_snippet("theorem t (n : Nat) : n + 0 = n := by") == "theorem t (n : Nat) : n + 0 = n := by"
    assert as_snippet("∀ n : Nat, n + 0 = n") == "theorem goal : ∀ n : Nat, n + 0 = n := by"
    assert as_snippet("import Lean\ndef f := 1\ntheorem t : f = 1 := sorry").startswith("\ndef f := 1")
    with pytest.raises(StatementError):
        as_snippet("theorem t : 1 = 1 := rfl")
    with pytest.raises(StatementError):
        as_snippet("  ")


def test_load_theorem(tmp_path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "x.lean"
    f.write_text("def f (n : Nat) : Nat := n + 1\n\n"
                 "theorem first (n : Nat) : f n > 0 := by\n  unfold f\n  omega\n\n"
                 "/-- doc -/\ntheorem second (n : Nat) :\n    f n ≠ 0 := by\n  simp [f]\n\n"
                 "theorem third : True := trivial\n", encoding="utf-8")
    s = load_theorem(f, "second")
    assert s.endswith("theorem second (n : Nat) :\n    f n ≠ 0 := by")
    assert "theorem first" in s and "third" not in s
    with pytest.raises(StatementError):
        load_theorem(f, "fourth")


def test_factories() -> None:
    assert isinstance(make_policy("builtin", "def g := 1\ntheorem t : g = 1 := by"), BuiltinPolicy)
    assert make_value("none") is None and make_value("goal-size") is not None
    with pytest.raises(ValueError):
        make_policy("nope")
    with pytest.raises(ValueError):
        make_policy("transformers")  # needs --model
    with pytest.raises(ValueError):
        make_value("transformers")


def test_cli_argument_errors(capsys) -> None:  # type: ignore[no-untyped-def]
    assert cli.run(_args()) == cli.EXIT_ERROR
    assert cli.run(_args("--file", "x.lean")) == cli.EXIT_ERROR
    assert cli.run(_args("theorem t : True", "--policy-option", "a=1")) == cli.EXIT_ERROR
    assert "error" in capsys.readouterr().err


def test_cli_proves_and_writes_tree(lean_server: LeanServer, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    tree = tmp_path / "tree.html"
    code = cli.run(_args("theorem t (a b : Nat) (h : a < b) : a + 1 ≤ b", "--tree", str(tree),
                         "--max-expansions", "10"), server=lean_server)
    out = capsys.readouterr().out
    assert code == cli.EXIT_PROVED
    assert "proved" in out and "omega" in out and tree.exists()


def test_cli_false_statement_exit_code_and_json(lean_server: LeanServer, capsys) -> None:  # type: ignore[no-untyped-def]
    code = cli.run(_args("theorem t : 2 + 2 = 5", "--json", "--max-expansions", "5"), server=lean_server)
    data = json.loads(capsys.readouterr().out)
    assert code == cli.EXIT_NO_PROOF
    assert data["status"] == "failed" and data["proof"] is None
    assert data["stats"]["pruned"] == {"hook": 1}


def test_cli_statement_error(lean_server: LeanServer, capsys) -> None:  # type: ignore[no-untyped-def]
    code = cli.run(_args("theorem t : (1 : Nat) = \"one\""), server=lean_server)
    assert code == cli.EXIT_ERROR
    assert "error" in capsys.readouterr().out
