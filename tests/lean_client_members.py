"""Every member of `LeanClient`, called once on a real client and checked (shared by the tests of
the local server and of the warm daemon's client, so both are held to the same behaviour)."""

from __future__ import annotations

import time

from prover.lean import LeanClient, ProofFinished, ProofState
from prover.lean.exprs import RefuteStatus


def exercise_client(c: LeanClient) -> None:
    assert c.config.heartbeats > 0 and c.lean_version
    assert c.start() is c and c.ping()
    requests, before = c.stats.requests, c.anomalies
    c.ensure_running()
    with c.deadline(time.monotonic() + 300):
        header = c.check("def two : Nat := 2", keep=True)
    assert header.ok and header.env_id
    env = header.env_id
    assert c.parse("omega", env=env).ok and not c.parse("omega (", env=env).ok
    read = c.next_command("theorem t : two = 2 := rfl", env=env)
    assert not read.eoi and read.one and read.same and not read.errors
    assert c.known_tokens(["+", "⊕⊕⊕"], env=env) == (True, False)
    assert c.audit(env) == ()
    lemma = c.check("theorem t : two = 2 := rfl", env=env, keep=True)
    assert lemma.ok and lemma.env_id
    replay = c.replay(lemma.env_id, ["t"])
    assert replay.error is None and replay.checked >= 1
    info = c.decl_info(lemma.env_id, "t")
    assert info.found and info.kind == "theorem" and not info.is_unsafe
    false = c.open_proof("theorem f (x : Nat) (h : x < 3) : x + 1 < 3")
    true = c.open_proof("theorem w (a b : Nat) : a + b = b + a")
    assert isinstance(false, ProofState) and isinstance(true, ProofState)
    (goal,) = c.goal_terms(false)
    x = next(h for h in goal.hypotheses if h.name == "x")
    assert c.refute(false, [[(x.fvar, "1")], [(x.fvar, "2")]]) == (
        RefuteStatus.NOT_CONFIRMED, RefuteStatus.CONFIRMED)
    assert isinstance(c.run_tactic(true, "omega"), ProofFinished)
    c.forget([false, true])
    c.forget_env(lemma.env_id)
    c.forget_env(env)
    assert c.sync() == before == c.anomalies
    assert c.stats.requests > requests
