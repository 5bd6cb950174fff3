"""The pool of servers and the warm background server behind the CLI, on the real Lean."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from lean_client_members import exercise_client

from prover.lean import LeanClient, LeanConfig, ProofFinished, ProofState
from prover.lean.daemon import DaemonPaths, connect, start_daemon, stop_daemon
from prover.lean.pool import LeanServerPool
from prover.verify import Verifier
from search.prune import NumericPruneHook


def _prove_with_omega(server, stmt: str) -> bool:
    st = server.open_proof(stmt)
    return isinstance(st, ProofState) and isinstance(server.run_tactic(st, "omega"), ProofFinished)


def test_pool_spreads_work_over_servers(lean_config: LeanConfig) -> None:
    stmts = [f"theorem p{i} (n : Nat) : n + {i} = {i} + n" for i in range(6)]
    with LeanServerPool(2, lean_config) as pool:
        pool.start()
        pids = {s.pid for s in pool.servers}
        assert len(pids) == 2 and None not in pids
        assert pool.map(_prove_with_omega, stmts) == [True] * 6
        assert all(s.stats.requests > 0 for s in pool.servers)
        chans = [s.process._chan for s in pool.servers]
        assert all(c is not None and c.exists() for c in chans)
    assert all(not s.alive for s in pool.servers)
    # close() reaped each process (no zombie) and removed its channel.
    assert not any(c is not None and c.exists() for c in chans)
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)  # type: ignore[arg-type]


def test_warm_server_serves_cli_commands(daemon_paths: DaemonPaths, tmp_path: Path) -> None:
    paths = daemon_paths
    assert connect(paths) is None
    remote = start_daemon(paths, idle_timeout=600)
    try:
        assert isinstance(remote, LeanClient)
        exercise_client(remote)  # every `LeanClient` member, through the daemon's typed wire
        assert remote.check("#eval 6 * 7").infos[0].text == "42"
        # The numeric prune hook's typed path and the verifier work through the warm server too.
        false = remote.open_proof("theorem f (x : Nat) (h : x < 3) : x + 1 < 3")
        assert isinstance(false, ProofState)
        assert NumericPruneHook(lean=remote).check(false) is not None
        assert Verifier(remote).verify("theorem v (a b : Nat) : a + b = b + a", "omega").ok
        # A message off the typed wire gets a fault saying why, and the connection goes on.
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as raw, raw.makefile("rwb") as f:
            raw.connect(str(paths.socket))
            f.write(b'{"method": "check", "args": {"code": "#eval 1"}}\n')
            f.flush()
            fault = json.loads(f.readline())
            assert fault["ok"] is False and fault["fault"]["type"] == "InvalidRequest"
            assert "each has an `op`" in fault["fault"]["message"]
        assert remote.ping()
        remote.close()  # releases what this client still held in the daemon's Lean
        # A second client (what the next CLI command is) is served without a new import.
        again = start_daemon(paths)
        status = again.status()
        assert status.pid == remote_pid(paths) and status.requests > 0 and status.anomalies == 0
        assert len(status.start_seconds) == 1  # no second import
        assert again.live_states() == 0  # the first client's states were released on close
        again.close()
        # And the real CLI, as a user runs it, against the same warm server.
        out = subprocess.run(
            [sys.executable, "-m", "prover.cli", "server", "status", "--cache-dir", str(tmp_path)],
            capture_output=True, text=True, timeout=120)
        assert out.returncode == 0 and json.loads(out.stdout)["requests"] > 0
    finally:
        assert stop_daemon(paths)
    assert connect(paths) is None and not paths.socket.exists()


def remote_pid(paths: DaemonPaths) -> int:
    return int(paths.pidfile.read_text())


def test_lean_exits_when_its_client_is_killed(lean_subprocess_env: dict[str, str]) -> None:
    """A client killed with SIGKILL cannot clean up: Lean notices it was orphaned and exits."""
    code = ("import time\nfrom prover.lean import LeanServer\n"
            "s = LeanServer(); s.start(); print(s.pid, flush=True); time.sleep(600)")
    client = subprocess.Popen([sys.executable, "-c", code], env=lean_subprocess_env, stdout=subprocess.PIPE,
                              text=True)
    try:
        assert client.stdout is not None
        lean_pid = int(client.stdout.readline())
        os.kill(lean_pid, 0)  # running
        client.kill()
        client.wait(timeout=30)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                os.kill(lean_pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.5)
        with pytest.raises(ProcessLookupError):
            os.kill(lean_pid, 0)
    finally:
        client.kill()


_STARTER = """
import sys
from pathlib import Path
from prover.lean.daemon import DaemonPaths, start_daemon
client = start_daemon(DaemonPaths.under(Path(sys.argv[1])), idle_timeout=300)
print("daemon", client.status().pid, flush=True)
client.close()
"""


def test_two_commands_starting_at_once_start_one_warm_server(daemon_paths: DaemonPaths, tmp_path: Path,
                                                             lean_subprocess_env: dict[str, str]) -> None:
    """Two real processes call `start_daemon` at the same moment: the start lock lets one start
    the daemon and the other connect to it (without it both saw no socket and both started)."""
    paths = daemon_paths
    procs = [subprocess.Popen([sys.executable, "-c", _STARTER, str(tmp_path)], env=lean_subprocess_env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for _ in range(2)]
    try:
        outs = [p.communicate(timeout=900)[0] for p in procs]
        pids = [int(line.split()[1]) for out in outs for line in out.splitlines()
                if line.startswith("daemon ")]
        assert len(pids) == 2 and pids[0] == pids[1] == remote_pid(paths), outs
        # One daemon process, hence one Lean: the log shows a single start.
        client = start_daemon(paths)
        assert len(client.status().start_seconds) == 1
        client.close()
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
        stop_daemon(paths)
