"""The wire protocol: golden request/reply transcripts for every command, against the real Lean.

`tests/golden/protocol.jsonl` holds, per line, a request, the reply the Lean server gave it
(normalised: the request id, timings and the live-state count are placeholders; an id bound by
`bind` is written `$name` and later requests use it) and so pins the Lean side. Each successful
reply must also decode into its `prover.lean.protocol` type and each well-formed request is sent
as its typed dataclass, which pins the Python side. After a deliberate protocol change, rewrite
the transcript with `PROVER_UPDATE_GOLDEN=1 pytest tests/test_protocol.py` and review the diff.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from prover.lean import LeanServer
from prover.lean import protocol as P
from prover.lean.errors import LeanProtocolError
from prover.lean.server_source import SERVER_PARTS, server_parts

GOLDEN = Path(__file__).parent / "golden" / "protocol.jsonl"
UPDATE = os.environ.get("PROVER_UPDATE_GOLDEN") == "1"


def load_golden() -> list[dict[str, Any]]:
    return [json.loads(line) for line in GOLDEN.read_text(encoding="utf-8").splitlines() if line.strip()]


def substitute(v: Any, bound: dict[str, Any]) -> Any:
    if isinstance(v, str) and v.startswith("$"):
        return bound[v[1:]]
    if isinstance(v, list):
        return [substitute(x, bound) for x in v]
    if isinstance(v, dict):
        return {k: substitute(x, bound) for k, x in v.items()}
    return v


def names_used(v: Any) -> list[str]:
    if isinstance(v, str) and v.startswith("$"):
        return [v[1:]]
    if isinstance(v, list | dict):
        return [n for x in (v.values() if isinstance(v, dict) else v) for n in names_used(x)]
    return []


def normalise(reply: dict[str, Any], bind: str | None, used: dict[str, Any]) -> dict[str, Any]:
    """Placeholders for what depends on the session: ids, timings, bound ids named in a refusal."""
    out: dict[str, Any] = {}
    for k, v in reply.items():
        if k == "error" and isinstance(v, dict) and isinstance(v.get("desc"), str):
            desc = v["desc"]
            for name, value in used.items():
                desc = re.sub(rf"\b{value}\b", f"${name}", desc, count=1)
            v = {**v, "desc": desc}
        if k == "id":
            v = "<id>"
        elif k.endswith("_ns"):
            assert isinstance(v, int) and v >= 0, (k, v)
            v = "<ns>"
        elif k == "live":
            assert isinstance(v, int) and v >= 0
            v = "<int>"
        elif bind and k in ("env", "state") and isinstance(v, int):
            v = f"${bind}"
        out[k] = v
    return out


def typed_request(req: dict[str, Any]) -> P.Request | None:
    """The request as its dataclass, or None for a deliberately malformed one."""
    cls = P.REQUESTS.get(req.get("cmd", ""))
    if cls is None:
        return None
    fields = {k: v for k, v in req.items() if k != "cmd"}
    try:
        return P.decode(cls, {**_defaults(cls), **fields})
    except LeanProtocolError:
        return None


def _defaults(cls: type[P.Request]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING:
            out[f.name] = list(f.default) if isinstance(f.default, tuple) else f.default
    return out


def test_every_command_has_a_golden_transcript() -> None:
    cmds = {e["request"].get("cmd") for e in load_golden()}
    assert set(P.REQUESTS) <= cmds
    # Every refusal category the server can give appears too.
    refusals = [e["reply"] for e in load_golden() if e["reply"] and not e["reply"]["ok"]]
    assert {r["error"]["category"] for r in refusals} == {c.value for c in P.ErrorCategory}


def lean_error_categories() -> tuple[list[str], list[tuple[str, str]]]:
    """The constructors of `ErrorCategory` in Protocol.lean, and the (constructor, wire name) arms of
    `ErrorCategory.wire`, read from the Lean source."""
    src = (server_parts()[SERVER_PARTS.index("Protocol.lean")]).read_text(encoding="utf-8")
    block = re.search(r"^meta inductive ErrorCategory where\n(.*?)\n\n", src, re.M | re.S)
    wire = re.search(r"^meta def ErrorCategory\.wire : ErrorCategory → String\n(.*?)\n\n", src, re.M | re.S)
    assert block and wire, "ErrorCategory or ErrorCategory.wire not found in Protocol.lean"
    ctors = re.findall(r"^  \| (\w+)\s*$", block.group(1), re.M)
    arms = re.findall(r'^  \| \.(\w+) => "(\w+)"$', wire.group(1), re.M)
    return ctors, arms


def test_error_categories_are_one_enumeration_on_both_sides() -> None:
    ctors, arms = lean_error_categories()
    assert len(ctors) == 5  # the reader found the inductive's members, not an empty match
    assert [c for c, _ in arms] == ctors  # `wire` names each constructor once, in order
    assert [w for _, w in arms] == [c.value for c in P.ErrorCategory]


def test_error_category_decodes_into_the_enum_and_refuses_an_unknown_one() -> None:
    desc = "state 3 has no goal 1"
    err = P.decode_error({"ok": False, "error": {"category": "unknown_goal", "desc": desc}})
    assert err == P.ErrorRecord(P.ErrorCategory.UNKNOWN_GOAL, desc)
    with pytest.raises(LeanProtocolError, match="unknown ErrorCategory"):
        P.decode_error({"ok": False, "error": {"category": "unknown_thing", "desc": ""}})
    with pytest.raises(LeanProtocolError, match="unknown ErrorCategory"):
        P.decode_error({"ok": False, "error": {"category": 3, "desc": ""}})


def concrete(v: Any) -> Any:
    """A golden reply with its placeholders filled by values of the right type."""
    if isinstance(v, str) and (v in ("<ns>", "<int>") or v.startswith("$")):
        return 1
    if isinstance(v, list):
        return [concrete(x) for x in v]
    if isinstance(v, dict):
        return {k: concrete(x) for k, x in v.items()}
    return v


def test_golden_replies_decode_into_their_types() -> None:
    for e in load_golden():
        reply, cmd = concrete(e["reply"]), e["request"].get("cmd")
        assert reply is not None, f"{e['name']}: transcript not recorded"
        if reply["ok"]:
            P.decode_reply(P.REQUESTS[cmd], reply)
        else:
            assert isinstance(P.decode_error(reply).category, P.ErrorCategory)


def test_strict_decoding_refuses_drift() -> None:
    ok = {"checked": 1, "error": None, "lean_ns": 5}
    assert P.decode(P.ReplayReply, ok) == P.ReplayReply(1, None, 5)
    with pytest.raises(LeanProtocolError, match="missing"):
        P.decode(P.ReplayReply, {"checked": 1, "lean_ns": 5})
    with pytest.raises(LeanProtocolError, match="does not know"):
        P.decode(P.ReplayReply, {**ok, "extra": 1})
    with pytest.raises(LeanProtocolError, match="integer"):
        P.decode(P.ReplayReply, {**ok, "checked": True})
    with pytest.raises(LeanProtocolError, match="list"):
        P.decode(P.TokensReply, {"known": True})


def test_ready_line_must_list_exactly_this_protocol() -> None:
    good = {"ready": True, "protocol": P.PROTOCOL_VERSION, "commands": sorted(P.REQUESTS)}
    P.check_ready(good)
    with pytest.raises(LeanProtocolError, match="protocol"):
        P.check_ready({**good, "commands": sorted(P.REQUESTS)[1:]})
    with pytest.raises(LeanProtocolError, match="protocol"):
        P.check_ready({**good, "protocol": P.PROTOCOL_VERSION + 1})


def test_golden_transcripts_against_the_real_lean(lean_server: LeanServer) -> None:
    entries = load_golden()
    bound: dict[str, Any] = {}
    mismatches = []
    lean_server.ping()  # started, and its `ready` line matched this protocol (`check_ready`)
    for e in entries:
        if e["request"].get("cmd") == "exit":  # would stop the shared server: see test_sandbox
            continue
        req = substitute(e["request"], bound)
        typed = typed_request(req)
        payload = typed.to_json() if typed is not None else req
        if typed is not None:  # the dataclass writes what the transcript says, defaults aside
            assert req.items() <= payload.items(), (e["name"], req, payload)
        with lean_server.process.lock:
            reply = lean_server.process._exchange(payload, 120)
        if e.get("bind") and reply.get("ok"):
            bound[e["bind"]] = reply.get("env", reply.get("state"))
        if reply.get("ok"):
            assert typed is not None
            P.decode_reply(typed, reply)
        got = normalise(reply, e.get("bind"), {n: bound[n] for n in names_used(e["request"])})
        if UPDATE:
            e["reply"] = got
        elif got != e["reply"]:
            mismatches.append((e["name"], got, e["reply"]))
    if UPDATE:  # `exit` keeps its transcript (checked by test_sandbox on its own server)
        lines = (json.dumps(x, ensure_ascii=False) + "\n" for x in entries)
        GOLDEN.write_text("".join(lines), encoding="utf-8")
    assert not mismatches, "\n".join(f"{n}:\n  got  {g}\n  want {w}" for n, g, w in mismatches)
