"""In-memory proof states (issue 10): a step runs one tactic on one goal of a state kept in the
Lean process; heartbeats count for that tactic alone; a restart rebuilds states by replay; and
forgotten states are released."""

from __future__ import annotations

import pytest

from prover.lean import LeanServer
from prover.lean.transport import tree_rss_mb
from prover.lean.types import ErrorKind, LeanError, ProofFinished, ProofState

STATEMENT = "theorem t (a b : Nat) : a + b = b + a ∧ True"


def _open(server: LeanServer, statement: str = STATEMENT) -> ProofState:
    st = server.open_proof(statement)
    assert isinstance(st, ProofState), st
    return st


def _step(server: LeanServer, st: ProofState, tactic: str, **kw: object) -> ProofState:
    r = server.run_tactic(st, tactic, **kw)  # type: ignore[arg-type]
    assert isinstance(r, ProofState), r
    return r


def _verified(server: LeanServer, statement: str, fin: ProofFinished) -> None:
    res = server.check(f"{statement} := by\n{fin.script}\n")
    assert not res.errors, (fin.script, res.errors)


def test_tactic_on_second_goal(lean_server: LeanServer) -> None:
    st = _step(lean_server, _open(lean_server), "constructor")
    assert [g.target for g in st.goals] == ["a + b = b + a", "True"]
    second = _step(lean_server, st, "trivial", goal=1)
    assert [g.target for g in second.goals] == ["a + b = b + a"]
    fin = lean_server.run_tactic(second, "omega")
    assert isinstance(fin, ProofFinished)
    _verified(lean_server, STATEMENT, fin)  # the script does what the in-memory steps did
    # The parent is unchanged and its first goal still open to another tactic.
    first = _step(lean_server, st, "omega", goal=0)
    assert [g.target for g in first.goals] == ["True"]
    bad = lean_server.run_tactic(st, "trivial", goal=2)
    assert isinstance(bad, LeanError) and bad.kind is ErrorKind.REJECTED
    lean_server.forget([st, second, first])


def test_new_goals_take_the_goals_place(lean_server: LeanServer) -> None:
    stmt = "theorem t2 (p q r : Prop) (hp : p) (hq : q) (hr : r) : r ∧ (p ∧ q) ∧ r"
    st = _step(lean_server, _open(lean_server, stmt), "refine ⟨?_, ?_, ?_⟩")
    assert [g.target for g in st.goals] == ["r", "p ∧ q", "r"]
    mid = _step(lean_server, st, "constructor", goal=1)
    assert [g.target for g in mid.goals] == ["r", "p", "q", "r"]
    cur: ProofState | ProofFinished = mid
    for tac, goal in (("exact hq", 2), ("exact hr", 0), ("exact hr", 1), ("exact hp", 0)):
        assert isinstance(cur, ProofState)
        cur = lean_server.run_tactic(cur, tac, goal=goal)
    assert isinstance(cur, ProofFinished), cur
    _verified(lean_server, stmt, cur)


def test_failed_step_is_an_error_not_a_state(lean_server: LeanServer) -> None:
    st = _open(lean_server)
    r = lean_server.run_tactic(st, "exact foo")  # `exact` logs the error and admits the goal
    assert isinstance(r, LeanError) and r.kind is ErrorKind.ELABORATION
    assert "foo" in r.text
    lean_server.forget([st])


def test_heartbeats_count_for_the_new_tactic_alone(lean_server: LeanServer) -> None:
    st = _open(lean_server, "theorem t3 (a b : Nat) : a + b = b + a")
    heavy = "have h : (List.range 60).foldl (· + ·) 0 = 1770 := by decide"
    # The heavy tactic alone is over a small limit ...
    over = lean_server.run_tactic(st, heavy, heartbeats=2)
    assert isinstance(over, LeanError) and over.kind is ErrorKind.HEARTBEATS, over
    # ... and a cheap one after a path of heavy ones still fits in that limit.
    for _ in range(3):
        st = _step(lean_server, st, heavy)
    fin = lean_server.run_tactic(st, "exact Nat.add_comm a b", heartbeats=2)
    assert isinstance(fin, ProofFinished), fin


@pytest.mark.usefixtures("lean_server_to_restart")
def test_restart_mid_search_replays_and_goes_on(lean_server: LeanServer) -> None:
    st = _step(lean_server, _open(lean_server), "constructor")
    st = _step(lean_server, st, "trivial", goal=1)
    replays = lean_server.replays
    lean_server.restart()
    fin = lean_server.run_tactic(st, "omega")
    assert isinstance(fin, ProofFinished), fin
    assert lean_server.replays == replays + 1
    # The rebuilt state is in memory again: the next step needs no replay.
    again = lean_server.run_tactic(st, "exact Nat.add_comm a b")
    assert isinstance(again, ProofFinished) and lean_server.replays == replays + 1
    lean_server.forget([st])


def test_forgotten_states_are_released(lean_server: LeanServer) -> None:
    root = _open(lean_server, "theorem t4 (a b : Nat) : a + b = b + a")
    base = lean_server.live_states()
    rss = []
    for _ in range(3):
        kids = [_step(lean_server, root, f"have h{i} : {i} + a ≥ a := by omega") for i in range(1000)]
        assert lean_server.live_states() == base + 1000
        lean_server.forget(kids)
        assert lean_server.live_states() == base
        rss.append(tree_rss_mb(lean_server.pid or 0))
    print(f"\nRSS (MiB) after each round of 1,000 states stored and forgotten: {rss}")
    # The embedded Lean's linear memory never shrinks, but freed states are reused: no growth
    # beyond noise after the first round.
    assert rss[2] <= rss[0] + 200, rss
    lean_server.forget([root])


@pytest.mark.parametrize("tactic", ["skip", "intro x"])
def test_state_from_a_no_op_or_failing_tactic(lean_server: LeanServer, tactic: str) -> None:
    st = _open(lean_server, "theorem t5 : ∀ n : Nat, n = n")
    r = lean_server.run_tactic(st, tactic)
    assert isinstance(r, ProofState)
    lean_server.forget([st, r])


# Each path ends in a state whose rendering is compared with Lean's own (`trace_state`): the goal
# text is laid out from per-hypothesis renderings kept across steps, and must not drift from it.
RENDER_PATHS = [
    ("theorem r1 (a b c : Nat) (p q : Prop) (hp : p) (h : a < b) : a + c < b + c ∧ p",
     ["constructor", "omega"]),
    ("theorem r2 : ∀ n : Nat, n > 0 → n ≥ 1", ["intro", "intro", "rename_i m h"]),
    ("theorem r3 (n : Nat) : n + 0 = n", ["induction n with\n  | zero => rfl\n  | succ k ih => ?_"]),
    ("theorem r4 (x : Nat) (h : x = 2) : ∀ x : Nat, x = x", ["intro x"]),  # `x` twice: Lean's `x✝`
    ("theorem r5 (a : Nat) : a = a", ["have hb : a + 1 = a + 1 := rfl", "have hc : a = a := rfl",
                                      "clear hb"]),
    ("theorem r6 (n : Nat) (h : n = 1) : n + 1 = 2", ["subst h"]),
]


@pytest.mark.parametrize(("statement", "path"), RENDER_PATHS)
def test_goal_rendering_matches_lean_at_every_step(lean_server: LeanServer, statement: str,
                                                    path: list[str]) -> None:
    st = lean_server.open_proof(statement)
    assert isinstance(st, ProofState)
    done: list[str] = []
    for tactic in path:
        nxt = lean_server.run_tactic(st, tactic)
        assert isinstance(nxt, ProofState), (tactic, nxt)
        st, done = nxt, [*done, tactic]
        script = "\n".join("  " + line for t in done for line in t.split("\n"))
        res = lean_server.check(f"{statement} := by\n{script}\n  trace_state\n  sorry")
        traced = [m.text for m in res.infos]
        assert traced == [st.pretty], (done, traced, st.pretty)
