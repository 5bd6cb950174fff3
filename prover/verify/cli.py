"""`prover verify`: check a proof from scratch and say whether it counts as proved.

    prover verify Theorem.lean                      # the file ends in a theorem with its proof
    prover verify Statement.lean --proof ':= by omega'
    prover verify 'theorem t (a b : Nat) : a + b = b + a' --proof 'omega'
    prover verify Statement.lean --proof-file proof.txt --json

Exit status: 0 proved, 1 not proved, 2 unusable input (no theorem, unreadable file).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from prover.lean import InvalidRequest, LeanClient, LeanConfig, LeanServer
from prover.lean.guard import SyntaxGuard
from prover.verify.verifier import Verification, Verifier


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add `prover verify`'s arguments to its subcommand parser."""
    parser.add_argument("source", help="a .lean file, or the snippet text itself")
    proof = parser.add_mutually_exclusive_group()
    proof.add_argument("--proof", help="the proof: a tactic block body, or a full proof starting with ':='")
    proof.add_argument("--proof-file", type=Path, help="read the proof from this file")
    parser.add_argument("--heartbeats", type=int, default=None,
                        help="Lean's maxHeartbeats (thousands) for the proof (default: the server's)")
    parser.add_argument("--timeout", type=float, default=None, help="wall clock per Lean request, seconds")
    parser.add_argument("--trusted-header", action="store_true",
                        help="trusted mode for your own project file: its header commands and statement "
                             "are not guarded (meta code in them may run). The proof is still guarded, "
                             "and kernel replay and the axiom audit still apply. Never for model output.")
    parser.add_argument("--runtime", default="auto", choices=("auto", "native", "wasm"),
                        help="which Lean to use")
    parser.add_argument("--json", action="store_true", help="print the verdict as JSON")


def _read(path_or_text: str) -> bytes:
    path = Path(path_or_text)
    # A snippet is never a short single line naming an existing file, so this is unambiguous.
    if "\n" not in path_or_text and len(path_or_text) < 4096 and path.is_file():
        return path.read_bytes()
    return path_or_text.encode("utf-8", "surrogateescape")


def _inputs(args: argparse.Namespace) -> tuple[str | bytes, str | bytes | None]:
    source = _read(args.source)
    if args.proof is not None:
        return source, args.proof
    if args.proof_file is not None:
        return source, args.proof_file.read_bytes()
    # No proof given: the source ends in a theorem with its proof (Lean reads where it starts).
    return source, None


def _print(res: Verification, as_json: bool) -> None:
    if as_json:
        print(json.dumps({
            "ok": res.ok, "reason": res.reason, "failure": res.failure.value if res.failure else None,
            "axioms": list(res.axioms), "seconds": round(res.seconds, 4),
            "messages": [m.to_json() for m in res.messages],
        }, ensure_ascii=False))
        return
    print(res)
    for m in res.messages:
        if m.severity.value == "error":
            print(f"  {m}")


def run(args: argparse.Namespace, *, server: LeanClient | None = None) -> int:
    """Run `prover verify`; returns the exit status. `server`: a running Lean to use (the warm
    CLI server, tests); default: start one and stop it after."""
    try:
        snippet, proof = _inputs(args)
    except (InvalidRequest, OSError) as e:
        print(f"prover verify: {e}", file=sys.stderr)
        return 2
    guard = SyntaxGuard(trusted=True) if getattr(args, "trusted_header", False) else None
    if server is not None:
        res = Verifier(server, guard=guard, heartbeats=args.heartbeats,
                       timeout=args.timeout).verify(snippet, proof)
    else:
        with LeanServer(LeanConfig(runtime=args.runtime)) as own:
            res = Verifier(own, guard=guard, heartbeats=args.heartbeats,
                           timeout=args.timeout).verify(snippet, proof)
    _print(res, args.json)
    return 0 if res.ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="prover verify", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
