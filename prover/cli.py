"""The `prover` command: a thin layer over the Python API.

Subcommands: `setup`, `doctor`, `server start|status|stop`, `demo`, `prove`, `verify`, `check`,
`bench`, `bench-compare`, `formalize`, `solve`, `formalize-eval`, `train`, `iterate`, `generate`.
Commands that need Lean use the warm background server (started on first use, stopped after an
idle timeout) unless `--no-daemon` is given, so the second command in a row does not pay the
import again.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from prover.lean.client import LeanClient

SAMPLE_THEOREM = "theorem add_comm_sample (a b : Nat) : a + b = b + a"


def _add_lean_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("Lean server")
    g.add_argument("--no-daemon", action="store_true",
                   help="start a private Lean for this command instead of using the warm server")
    g.add_argument("--cache-dir", type=Path, default=None, help="runtime and server cache directory")
    g.add_argument("--idle-timeout", type=float, default=1800.0,
                   help="seconds the warm server waits for a request before exiting (default 1800)")


def _with_server(args: argparse.Namespace, fn: Callable[[LeanClient], int]) -> int:
    """Run `fn(server)` on the warm server, or on a private one with `--no-daemon`."""
    from prover.lean import LeanConfig, LeanServer, LeanServerError
    from prover.lean.daemon import DaemonPaths, start_daemon

    runtime = getattr(args, "runtime", "auto")
    try:
        if args.no_daemon:
            with LeanServer(LeanConfig(runtime=runtime, cache_dir=args.cache_dir)) as server:
                return fn(server)
        paths = DaemonPaths.under(args.cache_dir)
        print("connecting to the warm Lean server (starting it if needed) ...", file=sys.stderr)
        with start_daemon(paths, idle_timeout=args.idle_timeout, runtime=runtime,
                          cache_dir=args.cache_dir) as remote:
            return fn(remote)
    except LeanServerError as e:
        print(f"prover: Lean failed: {e}", file=sys.stderr)
        return 3


def cmd_setup(args: argparse.Namespace) -> int:
    from prover.lean.runtime import find_native, install_wasm, wasm_runtime

    native = None if args.runtime == "wasm" else find_native(args.toolchain_dir)
    if native is not None:
        print(f"native Lean found: {native.description} ({native.version})")
        print("lean_project/ can be built with `lake build` there; the server needs no build step.")
        return 0
    if args.runtime == "native":
        print("no native Lean found", file=sys.stderr)
        return 1
    if args.force:
        from prover.lean.runtime import MANIFEST, default_cache_dir

        (args.cache_dir or default_cache_dir()).joinpath("runtime", MANIFEST).unlink(missing_ok=True)
    root = install_wasm(args.cache_dir)
    print(wasm_runtime(root).description)
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    from prover.lean import LeanConfig, LeanServer
    from prover.lean.daemon import DaemonPaths, connect
    from prover.lean.runtime import (
        GLUE_PATCHES,
        find_native,
        native_sandbox_tool,
        resolve_runtime,
        verify_patched,
    )

    native = find_native(args.toolchain_dir)
    print(f"native Lean: {native.description + ' (' + native.version + ')' if native else 'not found'}")
    runtime = resolve_runtime(args.runtime, args.cache_dir, args.toolchain_dir)
    print(f"runtime in use: {runtime.kind}: {runtime.description}")
    print(f"command: {' '.join(runtime.command)}")
    if runtime.kind == "wasm":
        applied = verify_patched(Path(runtime.command[1]))
        print(f"lean.js patches: {len(applied)}/{len(GLUE_PATCHES)} applied ({', '.join(applied)})")
        print("sandbox: embedded Lean sees only the runtime and its channel directory, read-only; "
              "it cannot spawn processes")
    elif native_sandbox_tool() is not None:
        print("sandbox: native Lean runs under bwrap (host read-only, no /tmp, /home, network)")
    else:
        print("sandbox: NONE - native Lean is not sandboxed (no working `bwrap` on PATH): code in "
              "trusted files runs with your rights")
    paths = DaemonPaths.under(args.cache_dir)
    remote = connect(paths)
    if remote is not None:
        with remote:
            st = remote.status()
        print(f"warm server: running (pid {st.pid}, Lean pid {st.lean_pid}, "
              f"{st.requests} requests, up {st.uptime_s:.0f} s)")
    else:
        print("warm server: not running")
    if args.skip_start:
        return 0
    t0 = time.monotonic()
    with LeanServer(LeanConfig(runtime=args.runtime, cache_dir=args.cache_dir), runtime=runtime) as s:
        ready = time.monotonic() - t0
        print(f"Lean version: {s.lean_version}")
        print(f"measured start (process spawn to ready, cold): {ready:.1f} s")
        t1 = time.monotonic()
        ok = s.check("theorem doctor_check (a b : Nat) : a + b = b + a := by omega").ok
        print(f"sample theorem with omega: {'ok' if ok else 'FAILED'} in {time.monotonic() - t1:.2f} s")
    return 0 if ok else 1


def cmd_server(args: argparse.Namespace) -> int:
    from prover.lean.daemon import DaemonPaths, connect, start_daemon, stop_daemon

    paths = DaemonPaths.under(args.cache_dir)
    if args.action == "start":
        t0 = time.monotonic()
        with start_daemon(paths, idle_timeout=args.idle_timeout, runtime=args.runtime,
                          cache_dir=args.cache_dir) as remote:
            st = remote.status()
        print(f"warm Lean server ready in {time.monotonic() - t0:.1f} s (pid {st.pid}, "
              f"socket {paths.socket}, idle timeout {st.idle_timeout_s:.0f} s)")
        return 0
    if args.action == "stop":
        print("stopped" if stop_daemon(paths) else "no warm server was running")
        return 0
    remote = connect(paths)
    if remote is None:
        print("no warm server running")
        return 1
    with remote:
        print(json.dumps(remote.status().to_json(), indent=2))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Open a sample theorem, run a few tactics (one wrong), print the verified proof."""
    from prover.lean import LeanError, ProofFinished, ProofState
    from prover.verify import Verifier

    def demo(server: LeanClient) -> int:
        state = server.open_proof(args.statement)
        if not isinstance(state, ProofState):
            print(f"cannot open the statement: {state.text}")
            return 1
        print(f"goal:\n{state.pretty}\n")
        for tactic in args.tactics:
            result = server.run_tactic(state, tactic)
            if isinstance(result, LeanError):
                print(f"  {tactic!r}: Lean says no: {result.text.splitlines()[0] if result.text else ''}")
                continue
            if isinstance(result, ProofFinished):
                verdict = Verifier(server).verify(args.statement, result.script)
                print(f"  {tactic!r}: no goals left")
                print(f"\nverified from scratch: {verdict.ok} ({verdict.reason or 'axioms ok'})")
                print(f"{args.statement} := by\n{result.script}")
                return 0 if verdict.ok else 1
            print(f"  {tactic!r}: new state\n{result.pretty}")
            state = result
        print("not finished")
        return 1

    return _with_server(args, demo)


def cmd_prove(args: argparse.Namespace) -> int:
    from search import cli as search_cli

    return _with_server(args, lambda server: search_cli.run(args, server=server))


def cmd_verify(args: argparse.Namespace) -> int:
    from prover.verify import cli as verify_cli

    return _with_server(args, lambda server: verify_cli.run(args, server=server))


def cmd_check(args: argparse.Namespace) -> int:
    from prover.bench.config import CORE_PRELUDE
    from prover.numeric import cli as numeric_cli

    if not numeric_cli.uses_lean(args):  # --surface-only / --goal: the surface checker, no Lean
        return numeric_cli.run(args)
    # The ℕ/ℤ prelude the bench and the formalizer elaborate statements under.
    return _with_server(args, lambda server: numeric_cli.run(args, lean=server, header=CORE_PRELUDE))


def cmd_bench_compare(args: argparse.Namespace) -> int:
    from prover.bench import compare

    return compare.run(args)


def cmd_bench(args: argparse.Namespace) -> int:
    from prover.bench import cli as bench_cli

    # No warm server: each worker starts its own long-lived Lean.
    return bench_cli.run(args)


def cmd_formalize(args: argparse.Namespace) -> int:
    from prover.formalize import cli as formalize_cli

    return _with_server(args, lambda server: formalize_cli.run_formalize(args, server=server))


def cmd_solve(args: argparse.Namespace) -> int:
    from prover.formalize import cli as formalize_cli

    return _with_server(args, lambda server: formalize_cli.run_solve(args, server=server))


def cmd_formalize_eval(args: argparse.Namespace) -> int:
    from prover.formalize import evaluate

    if args.phase in ("generate", "summary"):  # neither needs Lean
        return evaluate.run_cli(args, server=None)
    return _with_server(args, lambda server: evaluate.run_cli(args, server=server))


def cmd_train(args: argparse.Namespace) -> int:
    from prover.learn import cli as learn_cli

    return learn_cli.run_train(args)


def cmd_iterate(args: argparse.Namespace) -> int:
    from prover.learn import cli as learn_cli

    return learn_cli.run_iterate(args)  # starts its own Lean: a long run owns its server


def cmd_generate(args: argparse.Namespace) -> int:
    from prover.learn import cli as learn_cli

    return learn_cli.run_generate(args)


# Subcommands whose arguments their own module defines: (name, help, module, the module's function
# that adds the arguments, handler, whether the Lean-server options apply).
_DELEGATED: tuple[tuple[str, str, str, str, Callable[[argparse.Namespace], int], bool], ...] = (
    ("prove", "best-first proof search; exit 0 only for a verified proof", "search.cli", "add_arguments",
     cmd_prove, True),
    ("verify", "re-check a proof from scratch (types, kernel, axioms)", "prover.verify.cli", "add_arguments",
     cmd_verify, True),
    ("check", "numeric sanity check of a statement on concrete values", "prover.numeric.cli",
     "add_arguments", cmd_check, True),
    ("bench", "run miniF2F or ProofNet: parallel, resumable, with a summary", "prover.bench.cli",
     "add_arguments", cmd_bench, False),
    ("bench-compare", "two `prover bench` runs side by side: proved, expansions, model time",
     "prover.bench.compare", "add_arguments", cmd_bench_compare, False),
    ("formalize", "natural language to ranked, checked Lean statements", "prover.formalize.cli",
     "add_formalize_arguments", cmd_formalize, True),
    ("solve", "answer a question: sympy, Lean statement, search, verified proof", "prover.formalize.cli",
     "add_solve_arguments", cmd_solve, True),
    ("formalize-eval", "evaluate the formalizer on a benchmark JSONL", "prover.formalize.evaluate",
     "add_arguments", cmd_formalize_eval, True),
    ("train", "train the tactic ranker / value network on search traces", "prover.learn.cli",
     "add_train_arguments", cmd_train, False),
    ("iterate", "expert iteration: search, traces, training, evaluation per round", "prover.learn.cli",
     "add_iterate_arguments", cmd_iterate, False),
    ("generate", "synthetic core-Lean problems with known truth (JSONL)", "prover.learn.cli",
     "add_generate_arguments", cmd_generate, False),
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="prover", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("setup", help="find a native Lean or install the embedded one")
    p.add_argument("--runtime", choices=("auto", "native", "wasm"), default="auto")
    p.add_argument("--cache-dir", type=Path, default=None)
    p.add_argument("--toolchain-dir", type=Path, default=None, help="a native toolchain root")
    p.add_argument("--force", action="store_true", help="reinstall the embedded runtime")
    p.set_defaults(fn=cmd_setup)

    p = sub.add_parser("doctor", help="which Lean is used, versions, paths, measured start time")
    p.add_argument("--runtime", choices=("auto", "native", "wasm"), default="auto")
    p.add_argument("--cache-dir", type=Path, default=None)
    p.add_argument("--toolchain-dir", type=Path, default=None)
    p.add_argument("--skip-start", action="store_true", help="do not measure a cold start")
    p.set_defaults(fn=cmd_doctor)

    p = sub.add_parser("server", help="the warm background Lean server used by the CLI")
    p.add_argument("action", choices=("start", "status", "stop"))
    p.add_argument("--runtime", choices=("auto", "native", "wasm"), default="auto")
    p.add_argument("--cache-dir", type=Path, default=None)
    p.add_argument("--idle-timeout", type=float, default=1800.0)
    p.set_defaults(fn=cmd_server)

    p = sub.add_parser("demo", help="step through a sample proof by hand and verify it")
    p.add_argument("--statement", default=SAMPLE_THEOREM)
    p.add_argument("--tactics", nargs="+", default=["rfl", "omega"])
    p.add_argument("--runtime", choices=("auto", "native", "wasm"), default="auto")
    _add_lean_options(p)
    p.set_defaults(fn=cmd_demo)

    for name, help_, module, adder, fn, lean_options in _DELEGATED:
        p = sub.add_parser(name, help=help_)
        getattr(importlib.import_module(module), adder)(p)
        if lean_options:
            _add_lean_options(p)
        p.set_defaults(fn=fn)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.fn(args))


if __name__ == "__main__":
    sys.exit(main())
