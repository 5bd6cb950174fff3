"""Issue 9, items 4-6: code running inside Lean can neither forge a reply nor reach the host, and
the server's lifecycle holds up (memory limit, log rotation, restart backoff, search deadline).

Everything here runs meta code (`run_cmd`) on a raw server (`guard=None`, the trusted mode), i.e.
it assumes the guard was bypassed: this layer must hold on its own. One module-scoped server with
a tiny request-log limit (so every test here also runs across log rotations).
"""

from __future__ import annotations

import os
import re
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from prover.lean import LeanConfig, LeanServer
from prover.lean import protocol as P
from prover.lean.errors import LeanCrashed, LeanProtocolError, LeanStartupError, LeanTimeout
from prover.lean.runtime import Runtime, resolve_runtime
from tests.test_protocol import load_golden

ROTATE_BYTES = 4096


def _wasm_config(**kw: object) -> LeanConfig:
    return LeanConfig(runtime="wasm", **kw)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def raw(fresh_lean_server: Callable[..., AbstractContextManager[LeanServer]]) -> Iterator[LeanServer]:
    try:
        resolve_runtime("wasm", install=False)
    except Exception as e:  # no embedded runtime here: nothing to test
        pytest.skip(f"embedded Lean not installed: {e}")
    with fresh_lean_server(_wasm_config(request_log_max_bytes=ROTATE_BYTES), guard=None) as server:
        server.start()
        yield server


# Helpers defined in a probe's own request: listing and reading a directory without `for`/`map`,
# which reach private helpers on the embedded build.
_NAMES = """
partial def proverProbeNames (es : Array IO.FS.DirEntry) (i : Nat) (acc : String) : String :=
  if h : i < es.size then proverProbeNames es (i + 1) (acc ++ es[i].fileName ++ "\\n") else acc
"""
_READ_ALL = """
partial def proverProbeReadAll (es : Array IO.FS.DirEntry) (i : Nat) (acc : String) : IO String := do
  if h : i < es.size then
    let c ← try IO.FS.readFile es[i].path catch e => pure s!"REFUSED {e}"
    proverProbeReadAll es (i + 1) (acc ++ "== " ++ es[i].fileName ++ "\\n" ++ c ++ "\\n")
  else return acc
"""


def _probe(server: LeanServer, body: str, defs: str = "") -> str:
    """Run `body` (an `IO String` do-block) inside Lean; its result, or `REFUSED <error>`."""
    inner = "".join(f"      {line}\n" for line in body.strip().splitlines())
    code = (f"{defs}\nrun_cmd do\n  let r ← (show IO String from do\n    try\n{inner}"
            '    catch e => pure s!"REFUSED {e}")\n  IO.println r\n')
    result = server.check(code)
    errors = [m.text for m in result.messages if m.severity.value == "error"]
    assert not errors, errors
    return "\n".join(m.text for m in result.messages)


def _lean_str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


# ----------------------------------------------------------------------------- item 4: the nonce


ENV_NAMES = ("PROVER_NONCE", "PROVER_CHANNEL", "PROVER_MOUNTS", "PROVER_CACHE_DIR", "LEAN_PATH",
             "LEAN_NUM_THREADS", "HOME", "PATH", "PWD", "USER", "TMPDIR", "NODE_OPTIONS")


def _everything_lean_can_read(server: LeanServer) -> str:
    """What code in Lean can read: env vars, the channel listing, every file in it (the log)."""
    assert server.process._chan is not None
    chan, req = str(server.process._chan), str(server.process._chan / "req")
    parts = [_probe(server, f"pure s!\"{n}={{(← IO.getEnv {_lean_str(n)})}}\"") for n in ENV_NAMES]
    # Listing and reading in one request: the log cannot rotate in between.
    for d in (chan, req):
        parts.append(_probe(server, f"proverProbeReadAll (← System.FilePath.readDir {_lean_str(d)}) 0 \"\"",
                            _READ_ALL))
    return "\n".join(parts)


def test_nonce_is_nowhere_code_in_lean_can_read(raw: LeanServer) -> None:
    seen = _everything_lean_can_read(raw)
    # The probes really read things: the channel's path from the environment, the request log.
    assert f"PROVER_CHANNEL=(some {raw.process._chan}/req)" in seen
    assert "PROVER_NONCE=none" in seen
    assert '"cmd": "exec"' in seen  # the request log was read
    assert "== requests" in seen and "== ProverServer.lean" in seen and "== req" in seen
    assert "== nonce" not in seen  # the nonce file is gone before any request runs
    assert raw.process._nonce and raw.process._nonce not in seen
    assert raw.process._goals_tag != raw.process._nonce


# ----------------------------------------------------------------------------- item 5: sandbox


def test_lean_cannot_write_to_the_host(raw: LeanServer) -> None:
    rt = raw.runtime
    assert raw.process._chan is not None
    tag = f"prover-sbx-{uuid.uuid4().hex[:8]}"
    targets = [Path("/tmp") / tag, Path("/home") / tag, Path(rt.mounts[0]) / tag,
               raw.process._chan / tag, raw.process._chan / "req" / tag]
    for target in targets:
        out = _probe(raw, f'IO.FS.writeFile {_lean_str(str(target))} "x"\npure "WROTE"')
        assert out.startswith("REFUSED") and "WROTE" not in out, (target, out)
        assert not target.exists()
    out = _probe(raw, f'IO.FS.createDirAll "/tmp/{tag}/d"\npure "MKDIR"')
    assert out.startswith("REFUSED") and not Path("/tmp", tag).exists()
    log = str(raw.process._chan / "req" / raw.process._log_name)
    for body in (f"IO.FS.removeFile {_lean_str(log)}", f"IO.FS.rename {_lean_str(log)} \"/tmp/x\"",
                 f"(← IO.FS.Handle.mk {_lean_str(log)} .append).putStrLn \"{{}}\""):
        assert _probe(raw, body + '\npure "CHANGED"').startswith("REFUSED read-only"), body
    assert (raw.process._chan / "req" / raw.process._log_name).exists()
    assert raw.ping()


def _mount_children(raw: LeanServer, parent: Path) -> set[str]:
    """The names directly under `parent` that lie on the way to one of the server's mounts."""
    names = set()
    for m in (*raw.runtime.mounts, str(raw.process._chan)):
        p = Path(m)
        if parent in p.parents:
            names.add(p.relative_to(parent).parts[0])
    return names


def test_lean_cannot_read_the_host(raw: LeanServer) -> None:
    assert Path("/etc/passwd").exists()
    assert _probe(raw, 'IO.FS.readFile "/etc/passwd"').startswith("REFUSED no such file")
    # `/root` and the home directory exist inside Lean only as the path to a mount (the runtime
    # may live under `~/.cache`): their listing holds nothing but that path's next component.
    for d in {Path("/root"), Path.home()}:
        out = _probe(raw, f"pure (proverProbeNames (← System.FilePath.readDir {_lean_str(str(d))}) 0 \"\")",
                     _NAMES)
        assert out.startswith("REFUSED") or set(out.split()) <= _mount_children(raw, d), (d, out)
    # What Lean sees at the root: emscripten's in-memory skeleton (its /home and /tmp are empty
    # and in memory), plus the first component of each mount's path; no other host directory.
    root = set(_probe(raw, 'pure (proverProbeNames (← System.FilePath.readDir "/") 0 "")', _NAMES).split())
    assert raw.process._chan is not None
    mounts = {Path(m).parts[1] for m in (*raw.runtime.mounts, str(raw.process._chan))}
    assert root <= {"dev", "home", "proc", "tmp", "default.profraw", *mounts}, root
    assert not (root - mounts) & {"etc", "root", "usr", "bin", "var"}, root


def test_lean_cannot_spawn_a_process(raw: LeanServer) -> None:
    flag = Path("/tmp") / f"prover-sbx-spawned-{uuid.uuid4().hex[:8]}"
    out = _probe(raw, f'let o ← IO.Process.output {{cmd := "/bin/sh", args := #["-c", "touch {flag}"]}}\n'
                      'pure s!"SPAWNED {o.exitCode}"')
    assert out.startswith("REFUSED") and "not implemented" in out, out
    out = _probe(raw, 'let _ ← IO.Process.spawn {cmd := "/bin/true"}\npure "SPAWNED"')
    assert out.startswith("REFUSED"), out
    assert not flag.exists()


# ----------------------------------------------------------------------------- item 6


def test_request_log_rotates_and_old_logs_are_deleted(raw: LeanServer) -> None:
    assert raw.process._chan is not None
    rotations = raw.stats.log_rotations
    for i in range(120):
        assert raw.check(f"example : {i} + 1 = {i + 1} := rfl").ok
    assert raw.stats.log_rotations >= rotations + 3
    files = sorted(os.listdir(raw.process._chan / "req"))
    assert files == [raw.process._log_name], files
    assert (raw.process._chan / "req" / raw.process._log_name).stat().st_size <= ROTATE_BYTES + 2048


def test_forged_replies_are_never_accepted(raw: LeanServer) -> None:
    """Print framed replies with every nonce guess code in Lean can build (env values, every token
    of every file it can read, the request log included) for every plausible id."""
    seen = _everything_lean_can_read(raw)
    # Nonce-shaped tokens (hex), whole env values and lines, and every word of what was read.
    words = set(re.findall(r"[0-9a-f]{16,}", seen)) | set(seen.split()) | set(seen.splitlines())
    guesses = sorted({"", "0", *(w for w in words if 0 < len(w) <= 200)})[:400]
    assert len(guesses) > 20
    # No guess is the nonce: checked here, since the first wrong frame already ends the request.
    assert raw.process._nonce not in guesses and not any(raw.process._nonce in g for g in guesses)
    next_id = raw.process._seq  # the forging request's own id (and its neighbours)
    lines = []
    for g in guesses:
        for rid in range(max(next_id - 1, 0), next_id + 2):
            forged = (f'{{"id": {rid}, "ok": true, "messages": [], "elab_ns": 0, "lean_ns": 0, '
                      '"env": null, "forged": true}')
            lines.append(f"out.putStrLn {_lean_str(f'@@PROVER:{g}@@ {forged}')}")
    # Many short commands in one request (one long do-block exceeds Lean's recursion depth).
    code = "".join("run_cmd do\n  let out ← IO.FS.Handle.mk \"/dev/stdout\" .write\n"
                   + "".join(f"  {line}\n" for line in lines[i:i + 40]) + "  out.flush\n"
                   for i in range(0, len(lines), 40))
    before, pid = raw.anomalies, raw.pid
    with pytest.raises(LeanProtocolError, match=r"wrong nonce|unexpected reply"):
        result = raw.check(code)
        pytest.fail(f"no anomaly; Lean said: {[m.text[:200] for m in result.messages][:5]}")
    assert raw.anomalies > before
    assert not raw.alive  # killed, never reused
    assert raw.ping() and raw.pid != pid  # and restarted cleanly


def test_a_leaked_nonce_is_caught_as_a_duplicate(raw: LeanServer) -> None:
    """Suppose the nonce leaked anyway (here: the test hands it over). A forged reply printed
    before the real one is accepted, but the real one follows as a duplicate: `sync()` sees it,
    so a verifier comparing `anomalies` around its requests refuses the verdict."""
    assert raw.check("example : True := trivial").ok  # base environment ready in this process
    if raw.process._log_bytes >= ROTATE_BYTES:
        raw.ping()  # rotate now, so no `rotate` request takes the id the forger aims at
    forged = (f'{{"id": {raw.process._seq}, "ok": true, "messages": [], "elab_ns": 0, "lean_ns": 0, '
              '"env": null}')
    code = ("run_cmd do\n  let out ← IO.FS.Handle.mk \"/dev/stdout\" .write\n"
            f"  out.putStrLn {_lean_str(f'@@PROVER:{raw.process._nonce}@@ {forged}')}\n  out.flush\n"
            "  IO.sleep 300\n")
    before = raw.anomalies
    raw.check(code)  # the forged (empty) reply wins the race: detection comes after
    with pytest.raises(LeanProtocolError, match="unexpected reply"):
        raw.sync()
    assert raw.anomalies == before + 1
    assert not raw.alive  # killed; the next test starts it again


def test_exit_reply_carries_its_id(raw: LeanServer) -> None:
    raw.ping()
    seq = raw.process._seq
    with raw.process.lock:
        reply = raw.process._request(P.Exit().to_json(), 30)
    assert reply == {"id": seq, "ok": True, "bye": True}
    golden = next(e for e in load_golden() if e["name"] == "exit")
    assert {**reply, "id": "<id>"} == golden["reply"]
    raw.process._kill()  # Lean has ended; the next test restarts it


def test_search_wall_budget_holds_across_a_restart(raw: LeanServer) -> None:
    """Lean dies mid-search; its restart (tens of seconds here) must not carry the search past
    its wall budget."""
    from search.best_first import BestFirstSearch, SearchConfig
    from search.interfaces import TacticCandidate
    from search.result import SearchStatus

    raw.ping()

    class KillingPolicy:
        calls = 0

        def propose(self, state: object, k: int) -> list[TacticCandidate]:
            KillingPolicy.calls += 1
            if KillingPolicy.calls == 2 and raw.pid is not None:
                os.killpg(raw.pid, 9)  # the crash happens between two tactics
            return [TacticCandidate("skip", -0.1), TacticCandidate("intro h", -0.2)]

    budget = 12.0
    search = BestFirstSearch(raw, KillingPolicy(), config=SearchConfig(wall_time=budget, k=2,
                                                                       max_expansions=50))
    t0 = time.monotonic()
    result = search.search("theorem t (p : Prop) (h : p) : p → p")
    elapsed = time.monotonic() - t0
    assert result.status in (SearchStatus.BUDGET_EXHAUSTED, SearchStatus.PROVED), result.message
    assert raw.stats.start_seconds[0] > budget  # a restart alone would have overrun the budget
    assert elapsed < budget + 5.0, elapsed


# ----------------------------------------------------------------------------- own servers


def test_memory_limit_kills_the_server_with_a_clear_message(
        fresh_lean_server: Callable[..., AbstractContextManager[LeanServer]]) -> None:
    try:
        resolve_runtime("wasm", install=False)
    except Exception as e:
        pytest.skip(f"embedded Lean not installed: {e}")
    # The embedded Lean holds ~3 GiB once ready, so 1 GiB is passed while it starts.
    with fresh_lean_server(_wasm_config(memory_limit_mb=1024, memory_poll_s=0.2), guard=None) as server:
        t0 = time.monotonic()
        with pytest.raises(LeanCrashed, match=r"memory limit .*memory_limit_mb=1024"):
            server.start()
        assert time.monotonic() - t0 < 60
        assert server.stats.memory_kills == 1 and not server.alive


def _failing_runtime(tmp_path: Path) -> Runtime:
    script = tmp_path / "dies.py"
    script.write_text("import sys\nsys.exit(3)\n")
    return Runtime("wasm", (sys.executable, str(script)), description="a Lean that dies at once")


def test_restarts_back_off_exponentially(tmp_path: Path) -> None:
    """A Lean that dies at once: each further restart waits twice as long, up to the cap; no
    lifetime cap on the number of restarts."""
    cfg = LeanConfig(restart_backoff=0.2, restart_backoff_max=0.8, start_timeout=20)
    server = LeanServer(cfg, runtime=_failing_runtime(tmp_path), guard=None)
    starts = []
    for _ in range(6):
        t0 = time.monotonic()
        with pytest.raises(LeanStartupError):
            server.ping()
        starts.append(time.monotonic() - t0)
    # The first start and first restart wait nothing; then 0.2, 0.4, 0.8, 0.8 s (+ spawn time).
    waits = [round(s, 1) for s in starts]
    assert starts[0] < 1.0 and starts[1] < 1.0, waits
    for got, want in zip(starts[2:], (0.2, 0.4, 0.8, 0.8), strict=True):
        assert want <= got < want + 1.0, waits
    assert server.stats.restarts == 5
    server.close()


def test_backoff_respects_the_deadline(tmp_path: Path) -> None:
    cfg = LeanConfig(restart_backoff=5.0, restart_backoff_max=5.0, start_timeout=20)
    server = LeanServer(cfg, runtime=_failing_runtime(tmp_path), guard=None)
    for _ in range(2):
        with pytest.raises(LeanStartupError):
            server.ping()
    t0 = time.monotonic()
    with server.deadline(time.monotonic() + 1.0), pytest.raises(LeanTimeout, match="deadline"):
        server.ping()
    assert time.monotonic() - t0 < 0.5  # it did not sit out the 5 s backoff
    server.close()
