"""`LeanClient`: the local server and the warm daemon's client both satisfy it, member by member;
the daemon's wire reads only typed messages; the verifier refuses a client without its tripwire."""

from __future__ import annotations

import inspect
import json
import typing

import pytest
from lean_client_members import exercise_client

import prover.lean.protocol as P
from prover.lean import InvalidRequest, LeanClient, LeanServer
from prover.lean.daemon import LeanCall, RemoteLeanServer, Settle, decode_message, encode_message
from prover.verify import Verifier

MEMBERS = sorted(typing._get_protocol_attrs(LeanClient))  # type: ignore[attr-defined]


def test_the_protocol_lists_what_callers_use() -> None:
    assert {"anomalies", "sync", "deadline", "ensure_running", "open_proof", "run_tactic", "refute",
            "goal_terms", "check", "forget", "forget_env", "stats", "config"} <= set(MEMBERS)


@pytest.mark.parametrize("cls", [LeanServer, RemoteLeanServer])
@pytest.mark.parametrize("name", MEMBERS)
def test_both_clients_have_every_member_with_its_signature(cls: type, name: str) -> None:
    want = inspect.getattr_static(LeanClient, name)
    got = inspect.getattr_static(cls, name, None)
    if got is None:  # inherited: look along the MRO
        got = next((vars(k)[name] for k in cls.__mro__ if name in vars(k)), None)
    assert got is not None, f"{cls.__name__} has no `{name}`"
    assert isinstance(got, property) == isinstance(want, property), name
    if callable(want) and not isinstance(want, property):
        params = lambda f: [(p.name, p.kind, p.default) for p in inspect.signature(f).parameters.values()]  # noqa: E731
        assert params(got) == params(want), (cls.__name__, name)


def test_each_member_on_the_local_server(lean_server: LeanServer) -> None:
    assert isinstance(lean_server, LeanClient)
    exercise_client(lean_server)


class ClientWithoutAnomaliesDouble:
    """TEST DOUBLE: the real server's members, all but the reply-stream tripwire `anomalies`."""

    def __init__(self, real: LeanServer) -> None:
        self._real = real

    def __getattr__(self, name: str) -> object:
        if name == "anomalies":
            raise AttributeError(name)
        return getattr(self._real, name)


def test_a_client_without_anomalies_cannot_pass_the_verifier(lean_server: LeanServer) -> None:
    snippet, proof = "theorem v (a b : Nat) : a + b = b + a", "omega"
    assert Verifier(lean_server).verify(snippet, proof).ok  # the proof itself is fine
    double = ClientWithoutAnomaliesDouble(lean_server)
    assert not isinstance(double, LeanClient)
    with pytest.raises(TypeError, match=r"no `anomalies`.*forged reply could not be detected"):
        Verifier(double).verify(snippet, proof)  # type: ignore[arg-type]


# -- the daemon's wire (no Lean needed)


def test_a_lean_call_travels_as_the_protocol_request() -> None:
    call = LeanCall(P.Refute(7, ((("_uniq.1", "2"),),), goal=0, heartbeats=1000), 30.0, 12.5, 3)
    line = encode_message(call)
    assert json.loads(line)["request"] == call.request.to_json()  # serialised as sent to Lean
    assert decode_message(line) == call
    assert decode_message(encode_message(Settle())) == Settle()


@pytest.mark.parametrize(("line", "why"), [
    (b"{not json", "one JSON object a line"),
    (b'{"method": "check", "args": {"code": "x"}}', "each has an `op`"),
    (b'{"op": "restart"}', "each has an `op`"),
    (b'{"op": "status", "pid": 1}', "unknown fields"),
    (b'{"op": "lean", "request": {"cmd": "exec", "code": "x"}}', "numeric `timeout`"),
    (b'{"op": "lean", "timeout": 5, "request": {"cmd": "shell", "code": "x"}}', "unknown command 'shell'"),
    (b'{"op": "lean", "timeout": 5, "request": {"cmd": "exec"}}', r"missing fields \['code'\]"),
    (b'{"op": "lean", "timeout": 5, "request": {"cmd": "exec", "code": 3}}', "expected str"),
    (b'{"op": "lean", "timeout": 5, "request": {"cmd": "exec", "code": "x", "sh": 1}}', "does not know"),
])
def test_a_malformed_message_is_refused_with_the_reason(line: bytes, why: str) -> None:
    with pytest.raises(InvalidRequest, match=why):
        decode_message(line)
