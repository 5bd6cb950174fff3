"""The LeanDojo backend: our typed interface over `lean_dojo.Dojo`.

LeanDojo needs `lake` and a traced repository; neither exists on a machine without a native
toolchain. The adapter is tested against a small scripted DOUBLE of `Dojo` (below, labelled as
such) that returns LeanDojo's result shapes; the real-path test runs only where LeanDojo and
`lake` are installed.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from prover.lean import ErrorKind, LeanError, ProofFinished, ProofState
from prover.lean.dojo import DojoBackend, DojoTheorem, parse_pretty_goals


def test_parse_pretty_goals_multi_goal_and_continuations() -> None:
    pp = ("case left\np q : Prop\nhp : p\n⊢ p\n\ncase right\np q : Prop\nx : Nat := 3\n"
          "h : ∀ (n : Nat),\n    n = n\n⊢ q ∧\n    q")
    left, right = parse_pretty_goals(pp)
    assert left.tag == "left" and left.target == "p"
    assert [(h.name, h.type) for h in left.hypotheses] == [("p", "Prop"), ("q", "Prop"), ("hp", "p")]
    assert right.hypotheses[2].value == "3"
    assert right.hypotheses[3].type == "∀ (n : Nat),\n    n = n"
    assert right.target == "q ∧\n    q"
    assert parse_pretty_goals("no goals") == ()


# ---- a scripted DOUBLE of lean_dojo's Dojo: same result class names and fields -------------
@dataclass(frozen=True)
class TacticState:
    pp: str
    id: int


@dataclass(frozen=True)
class ProofGivenUp:
    pass


@dataclass(frozen=True)
class LeanDojoError:
    error: str


LeanDojoError.__name__ = "LeanError"


class DojoDouble:
    """Scripted stand-in for `lean_dojo.Dojo` on `theorem t (a b : Nat) : a + b = b + a`."""

    def __init__(self, theorem: DojoTheorem, timeout: int) -> None:
        self.theorem, self.timeout = theorem, timeout

    def __enter__(self) -> tuple[DojoDouble, TacticState]:
        return self, TacticState("a b : Nat\n⊢ a + b = b + a", 0)

    def __exit__(self, *exc: object) -> None:
        pass

    def run_tac(self, state: TacticState, tactic: str) -> object:
        if tactic == "omega":
            return type("ProofFinished", (), {"tactic_state_id": 1})()
        if tactic == "sorry":
            return ProofGivenUp()
        if tactic == "intro":
            return TacticState("a b : Nat\n⊢ b + a = a + b", 2)
        return LeanDojoError(f"unknown tactic {tactic}")


def test_adapter_maps_lean_dojo_results() -> None:
    thm = DojoTheorem("https://github.com/example/repo", "0" * 40, Path("T.lean"), "t")
    with DojoBackend(thm, dojo_factory=DojoDouble) as backend:
        st = backend.open_proof()
        assert isinstance(st, ProofState) and st.goals[0].target == "a + b = b + a"
        err = backend.run_tactic(st, "nonsense")
        assert isinstance(err, LeanError) and "unknown tactic" in err.text
        given_up = backend.run_tactic(st, "sorry")
        assert isinstance(given_up, LeanError) and given_up.kind is ErrorKind.REJECTED
        nxt = backend.run_tactic(st, "intro")
        assert isinstance(nxt, ProofState) and nxt.tactics == ("intro",)
        done = backend.run_tactic(nxt, "omega")
        assert isinstance(done, ProofFinished) and done.tactics == ("intro", "omega")


def _real_lean_dojo_missing() -> str | None:
    try:
        import lean_dojo  # noqa: F401
    except ImportError:
        return "lean_dojo is not installed (pip install 'prover[dojo]')"
    if shutil.which("lake") is None:
        return "LeanDojo needs `lake` (a native Lean toolchain) to trace a repository; none here"
    return None


@pytest.mark.skipif(_real_lean_dojo_missing() is not None, reason=str(_real_lean_dojo_missing()))
def test_real_lean_dojo_on_lean4_example() -> None:
    # LeanDojo's own example repository; tracing it takes minutes the first time.
    thm = DojoTheorem("https://github.com/yangky11/lean4-example",
                      "7b6ecb9ad4829e4e73600a3329baeb3b5df8d23f", Path("Lean4Example.lean"), "hello_world")
    with DojoBackend(thm) as backend:
        st = backend.open_proof()
        assert isinstance(st, ProofState)
        done = backend.run_tactic(st, "rw [Nat.add_assoc, Nat.add_comm b, ← Nat.add_assoc]")
        assert isinstance(done, ProofFinished)
