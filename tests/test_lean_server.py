"""The Lean interaction server against the real Lean (embedded WebAssembly build here)."""

from __future__ import annotations

import os
import signal
import time

import pytest

from prover.lean import (
    ErrorKind,
    InvalidRequest,
    LeanCrashed,
    LeanError,
    LeanServer,
    LeanTimeout,
    ProofFinished,
    ProofState,
    Severity,
)

COMM = "theorem t (a b : Nat) : a + b = b + a"


def test_open_wrong_tactic_then_omega(lean_server: LeanServer) -> None:
    st = lean_server.open_proof(COMM)
    assert isinstance(st, ProofState)
    (goal,) = st.goals
    assert goal.target == "a + b = b + a"
    assert [(h.name, h.type) for h in goal.hypotheses] == [("a", "Nat"), ("b", "Nat")]
    assert goal.pretty == "a b : Nat\n⊢ a + b = b + a"

    wrong = lean_server.run_tactic(st, "rfl")
    assert isinstance(wrong, LeanError) and wrong.kind is ErrorKind.ELABORATION
    assert "rfl" in wrong.text
    # The state is unchanged: the same state still accepts the right tactic.
    done = lean_server.run_tactic(st, "omega")
    assert isinstance(done, ProofFinished)
    assert done.tactics == ("omega",)


def test_multi_goal_constructor(lean_server: LeanServer) -> None:
    st = lean_server.open_proof("theorem c (p q : Prop) (hp : p) (hq : q) : p ∧ q := by")
    assert isinstance(st, ProofState)
    two = lean_server.run_tactic(st, "constructor")
    assert isinstance(two, ProofState)
    assert [g.target for g in two.goals] == ["p", "q"]
    assert [g.tag for g in two.goals] == ["left", "right"]
    one = lean_server.run_tactic(two, "exact hp")
    assert isinstance(one, ProofState) and [g.target for g in one.goals] == ["q"]
    bad = lean_server.run_tactic(one, "exact hp")
    assert isinstance(bad, LeanError)
    done = lean_server.run_tactic(one, "exact hq")
    assert isinstance(done, ProofFinished)
    assert done.tactics == ("constructor", "exact hp", "exact hq")


def test_intro_and_induction(lean_server: LeanServer) -> None:
    st = lean_server.open_proof("theorem z : ∀ n : Nat, 0 + n = n := by")
    assert isinstance(st, ProofState)
    intro = lean_server.run_tactic(st, "intro n")
    assert isinstance(intro, ProofState)
    assert [h.name for h in intro.goals[0].hypotheses] == ["n"]
    ind = lean_server.run_tactic(intro, "induction n with\n| zero => rfl\n| succ k ih => omega")
    assert isinstance(ind, ProofFinished)
    # Plain `induction` leaves two goals with the induction hypothesis in the second.
    split = lean_server.run_tactic(intro, "induction n")
    assert isinstance(split, ProofState) and len(split.goals) == 2
    # Its hypotheses are inaccessible, and named as Lean prints them.
    assert [(h.name, h.type) for h in split.goals[1].hypotheses] == [("n✝", "Nat"), ("a✝", "0 + n✝ = n✝")]


def test_snippet_with_def_before_theorem(lean_server: LeanServer) -> None:
    snippet = ("def double (n : Nat) : Nat := 2 * n\n\n"
               "/-- doc -/\ntheorem d (n : Nat) : double n = n + n := by")
    st = lean_server.open_proof(snippet)
    assert isinstance(st, ProofState)
    assert st.goals[0].target == "double n = n + n"
    unfolded = lean_server.run_tactic(st, "unfold double")
    assert isinstance(unfolded, ProofState)
    assert isinstance(lean_server.run_tactic(unfolded, "omega"), ProofFinished)


def test_header_error_and_non_proposition(lean_server: LeanServer) -> None:
    bad_header = lean_server.open_proof("def f : Nat := true\ntheorem x : f = f := by")
    assert isinstance(bad_header, LeanError) and "before the theorem" in bad_header.reason
    not_prop = lean_server.open_proof("theorem n : Nat := by")
    assert isinstance(not_prop, LeanError)
    malformed = lean_server.open_proof("theorem m (a : Nat) : a + = 1 := by")
    assert isinstance(malformed, LeanError) and malformed.messages
    # A header that would run code is refused before Lean elaborates it.
    evil = lean_server.open_proof('#eval IO.println "pwned"\ntheorem e : True := by')
    assert isinstance(evil, LeanError) and evil.kind is ErrorKind.REJECTED


def test_check_commands_and_messages(lean_server: LeanServer) -> None:
    res = lean_server.check("#eval (-7 : Int) / 2\n#eval (2 : Nat) - 5")
    assert res.ok
    assert [m.text for m in res.infos] == ["-4", "0"]
    assert [m.line for m in res.infos] == [1, 2]
    err = lean_server.check("theorem bad : 1 = 2 := rfl")
    assert not err.ok and err.errors[0].severity is Severity.ERROR
    kept = lean_server.check("def sq (n : Nat) := n * n", keep=True)
    assert kept.ok and kept.env_id is not None
    on_top = lean_server.check("#eval sq 12", env=kept.env_id)
    assert [m.text for m in on_top.infos] == ["144"]
    lean_server.forget_env(kept.env_id)
    with pytest.raises(InvalidRequest):
        lean_server.check("#eval 1", env=kept.env_id)


def test_garbage_tactics_are_lean_errors(lean_server: LeanServer) -> None:
    st = lean_server.open_proof(COMM)
    assert isinstance(st, ProofState)
    for garbage in ["", "   ", "omega)", "simp [((", "foo bar baz", "omega\n#eval IO.println 1",
                    "2 + 2 = 4 is not a valid mathematical statement"]:
        res = lean_server.run_tactic(st, garbage)
        assert isinstance(res, LeanError), garbage
        assert res.kind in (ErrorKind.PARSE, ErrorKind.REJECTED, ErrorKind.ELABORATION)
    assert isinstance(lean_server.run_tactic(st, "omega"), ProofFinished)


def test_bad_input_gets_clear_errors(lean_server: LeanServer) -> None:
    st = lean_server.open_proof(COMM)
    assert isinstance(st, ProofState)
    bad_utf8 = lean_server.run_tactic(st, b"simp \xff\xfe")
    assert isinstance(bad_utf8, LeanError) and "UTF-8" in bad_utf8.reason
    huge = lean_server.run_tactic(st, "simp " * 100_000)
    assert isinstance(huge, LeanError) and huge.kind is ErrorKind.REJECTED
    with pytest.raises(InvalidRequest, match="UTF-8"):
        lean_server.check(b"#eval \xc3\x28")
    with pytest.raises(InvalidRequest, match="limit"):
        lean_server.check("-- " + "x" * 2_000_000)
    no_theorem = lean_server.open_proof("def x := 1")  # no theorem at the end: a verdict, not a fault
    assert isinstance(no_theorem, LeanError) and "does not end in a `theorem`" in no_theorem.reason
    with pytest.raises(InvalidRequest):
        lean_server.run_tactic(987_654, "omega")  # unknown state
    # A raw malformed request reaches the Lean side and comes back as a clear error.
    with pytest.raises(InvalidRequest, match="cmd"), lean_server.process.lock:
        lean_server.process._request({"no_cmd": 1}, timeout=30)
    assert lean_server.ping()


def test_heartbeat_limit_stops_a_runaway_tactic(lean_server: LeanServer) -> None:
    st = lean_server.open_proof("theorem h (a b : Nat) (h : a * b = 91) (h2 : a > 1) : a = 7 ∨ a = 13 := by")
    assert isinstance(st, ProofState)
    res = lean_server.run_tactic(st, "exact?", heartbeats=500)
    assert isinstance(res, LeanError) and res.kind is ErrorKind.HEARTBEATS
    assert lean_server.ping()
    assert isinstance(lean_server.run_tactic(lean_server.open_proof(COMM), "omega"), ProofFinished)


@pytest.mark.usefixtures("lean_server_to_restart")
def test_wall_clock_timeout_kills_and_restarts(lean_server: LeanServer) -> None:
    st = lean_server.open_proof("theorem w (a b : Nat) (h : a * b = 77) (h2 : a > 1) : a = 7 ∨ a = 11 := by")
    assert isinstance(st, ProofState)
    pid = lean_server.pid
    with pytest.raises(LeanTimeout):
        lean_server.run_tactic(st, "exact?", timeout=0.05, heartbeats=10_000_000)
    assert not lean_server.alive
    # The next request restarts Lean; the old state handle still works there.
    done = lean_server.run_tactic(st, "omega")
    assert isinstance(done, (ProofFinished, LeanError))
    assert lean_server.alive and lean_server.pid != pid


def test_a_request_cut_by_the_callers_deadline_keeps_lean_alive(lean_server: LeanServer) -> None:
    st = lean_server.open_proof("theorem cut (a b : Nat) : a + b = b + a := by")
    assert isinstance(st, ProofState)
    pid, restarts, anomalies = lean_server.pid, lean_server.stats.restarts, lean_server.anomalies
    # ~2.4 s of simp here: longer than the caller's 0.3 s, shorter than `cut_reply_wait` (5 s).
    medium = ("have : (a + b + 1) ^ 7 = 0 := by "
              "simp only [Nat.pow_succ, Nat.mul_add, Nat.add_mul, Nat.pow_zero]")
    with lean_server.deadline(time.monotonic() + 0.3), pytest.raises(LeanTimeout):
        lean_server.run_tactic(st, medium, timeout=60)
    assert lean_server.alive and lean_server.pid == pid
    # The next request waits for the late reply instead of paying for a restart.
    assert isinstance(lean_server.run_tactic(st, "omega"), ProofFinished)
    assert lean_server.pid == pid and lean_server.stats.restarts == restarts
    assert lean_server.sync() == anomalies  # the late reply was the one expected, not an anomaly


@pytest.mark.usefixtures("lean_server_to_restart")
def test_crash_mid_request_then_restart(lean_server: LeanServer) -> None:
    st = lean_server.open_proof(COMM)
    assert isinstance(st, ProofState)
    pid = lean_server.pid
    assert pid is not None
    restarts = lean_server.stats.restarts

    def kill_soon() -> None:
        time.sleep(0.3)
        os.killpg(pid, signal.SIGKILL)

    import threading

    threading.Thread(target=kill_soon, daemon=True).start()
    with pytest.raises(LeanCrashed):
        # A slow request, so the kill lands while it is in flight.
        lean_server.run_tactic(st, "exact?", heartbeats=10_000_000, timeout=120)
    done = lean_server.run_tactic(st, "omega")
    assert isinstance(done, ProofFinished)
    assert lean_server.stats.restarts == restarts + 1
    assert lean_server.pid != pid


def test_guard_lets_honest_tactics_with_arguments_run(lean_server: LeanServer) -> None:
    st = lean_server.open_proof("theorem g (f : Nat → Nat) (h : ∀ x, f x = x) : f 2 = 2 := by")
    assert isinstance(st, ProofState)
    for tac in ["simp [h]", "rw [h]", "exact h 2", "set_option maxRecDepth 2000 in simp [h]"]:
        res = lean_server.run_tactic(st, tac)
        assert isinstance(res, ProofFinished), (tac, res)
    comm = lean_server.open_proof("theorem g2 (a b : Nat) : a + b = b + a := by")
    assert isinstance(comm, ProofState)
    assert isinstance(lean_server.run_tactic(comm, "grind [Nat.add_comm]"), ProofFinished)
    refused = lean_server.run_tactic(st, "set_option maxRecDepth 100000 in simp [h]")
    assert isinstance(refused, LeanError) and refused.kind is ErrorKind.REJECTED


def test_a_reply_over_64_kib_arrives_whole(lean_server: LeanServer) -> None:
    # A pipe holds 64 KiB; the embedded Lean's stdout once wrote a longer line with one write
    # call and lost the rest (glue patch `stdout-full-writes`).
    text = "a" * 300_000
    result = lean_server.check(f'#check "{text}"')
    assert [m.text for m in result.infos] == [f'"{text}" : String']
