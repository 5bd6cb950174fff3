"""`prover prove`: search for a proof of a statement and print it once verified.

A thin layer over `search.api`: parse flags, build the policy / value model / budgets, show
progress on stderr, print the verified proof and statistics, write the tree if asked.
Exit codes: 0 a verified proof; 1 no proof (failed or budget exhausted); 2 an error (unusable
statement, Lean or a model could not be started, the search ended in an error); 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from prover.lean import LeanClient

EXIT_PROVED, EXIT_NO_PROOF, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 130


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add `prover prove`'s arguments to `parser`."""
    what = parser.add_argument_group("what to prove")
    what.add_argument("statement", nargs="?", default=None,
                      help="a theorem (`theorem t (n : Nat) : n + 0 = n`), definitions before it "
                           "allowed, or a bare proposition; `-` reads it from stdin")
    what.add_argument("--file", type=Path, default=None, help="a .lean file holding the theorem")
    what.add_argument("--theorem", default=None, help="the theorem's name in --file")

    budget = parser.add_argument_group("budgets")
    budget.add_argument("-k", type=int, default=12, help="tactics asked of the policy per expansion")
    budget.add_argument("--max-expansions", type=int, default=200)
    budget.add_argument("--wall-time", type=float, default=120.0, help="seconds for the whole search")
    budget.add_argument("--tactic-timeout", type=float, default=20.0, help="wall seconds per tactic")
    budget.add_argument("--heartbeats", type=int, default=None, help="Lean's maxHeartbeats per tactic")
    budget.add_argument("--max-depth", type=int, default=12)

    model = parser.add_argument_group("policy and value model")
    model.add_argument("--policy", choices=("builtin", "transformers", "http"), default="builtin")
    model.add_argument("--model", default=None,
                       help="the policy's model: a Hugging Face id, a local path, or the served model name")
    model.add_argument("--base-url", default=None, help="the OpenAI-compatible server (http policy)")
    model.add_argument("--device", default=None, help="torch device for transformers models")
    model.add_argument("--prompt-format", default=None, help="prompt format of a model policy")
    model.add_argument("--policy-option", action="append", default=[], metavar="KEY=VALUE",
                       help="another keyword for the policy's constructor (value read as JSON "
                            "when it parses, else as text); repeatable")
    model.add_argument("--value", choices=("goal-size", "none", "transformers"), default="goal-size")
    model.add_argument("--value-model", default=None, help="the transformers value model")
    model.add_argument("--value-weight", type=float, default=0.5,
                       help="weight of log(value) in a node's priority")
    model.add_argument("--length-normalisation", type=float, default=0.0,
                       help="alpha: cumulative log-probability / depth**alpha")
    model.add_argument("--no-numeric-prune", action="store_true",
                       help="do not prune states whose goals the numeric checker refutes")
    model.add_argument("--no-independent-goals", action="store_true",
                       help="search a state's goals together, not one at a time")

    out = parser.add_argument_group("output")
    out.add_argument("--tree", type=Path, action="append", default=[],
                     help="write the search tree (.html, .graphml or .dot); repeatable")
    out.add_argument("--json", action="store_true", help="print the result as JSON")
    out.add_argument("--no-progress", action="store_true", help="no progress display")
    out.add_argument("--runtime", choices=("auto", "native", "wasm"), default="auto",
                     help="which Lean to run")


def run(args: argparse.Namespace, *, server: LeanClient | None = None) -> int:
    """Run `prover prove` with parsed `args`; returns the exit code.

    `server`: a running Lean server to use (tests, notebooks); default: start one and stop it after.
    """
    from rich.console import Console

    from prover.lean import LeanConfig, LeanServer, LeanServerError
    from prover.models.errors import ModelError
    from search.api import StatementError, as_snippet, load_theorem, make_policy, make_value
    from search.best_first import BestFirstSearch, SearchConfig, SearchProgress
    from search.prune import NumericPruneHook
    from search.result import SearchStatus

    err = Console(stderr=True, highlight=False)
    try:
        snippet = _snippet(args, as_snippet, load_theorem)
        config = SearchConfig(
            k=args.k, max_expansions=args.max_expansions, wall_time=args.wall_time,
            tactic_timeout=args.tactic_timeout, heartbeats=args.heartbeats, max_depth=args.max_depth,
            value_weight=args.value_weight, length_normalisation=args.length_normalisation,
            independent_goals=not args.no_independent_goals)
        policy = make_policy(args.policy, snippet, model=args.model, options=_policy_options(args),
                             lean=server)
        value = make_value(args.value, model=args.value_model,
                           options={"device": args.device} if args.device else None)
    except (StatementError, ValueError, OSError) as e:
        err.print(f"[red]error:[/] {e}")
        return EXIT_ERROR
    except ImportError as e:
        err.print(f"[red]error:[/] the {args.policy} policy is not available here: {e}")
        return EXIT_ERROR

    show = not args.no_progress and err.is_terminal
    status = err.status("starting Lean…") if show else None

    def progress(p: SearchProgress) -> None:
        if status is not None:
            status.update(f"{p.expansions} expansions, {p.nodes} states, {p.open_nodes} open, "
                          f"{p.elapsed:.0f} s; last tactic: {p.last_tactic[:60]}")

    own = server is None
    srv = server if server is not None else LeanServer(LeanConfig(runtime=args.runtime))
    hook = None if args.no_numeric_prune else NumericPruneHook(lean=srv)  # typed: states come from srv
    try:
        if status is not None:
            status.start()
        srv.start()
        if status is not None:
            status.update("searching…")
        result = BestFirstSearch(srv, policy, value, config, prune_hook=hook,
                                 progress=progress).search(snippet)
    except LeanServerError as e:
        err.print(f"[red]error:[/] Lean failed: {e}")
        return EXIT_ERROR
    except ModelError as e:
        err.print(f"[red]error:[/] the {args.policy} policy failed: {e}")
        return EXIT_ERROR
    except KeyboardInterrupt:
        err.print("interrupted")
        return EXIT_INTERRUPTED
    finally:
        if status is not None:
            status.stop()
        if own:
            srv.close()

    for path in args.tree:
        try:
            result.write_tree(path)
        except (ValueError, OSError) as e:
            err.print(f"[red]error:[/] cannot write the tree to {path}: {e}")
            return EXIT_ERROR

    if args.json:
        print(json.dumps({"snippet": snippet, **result.to_json()}, ensure_ascii=False, indent=2))
    else:
        out = Console(highlight=False)
        colour = {"proved": "green", "error": "red"}.get(result.status.value, "yellow")
        out.print(f"[bold {colour}]{result.status.value}[/]: {result.message}")
        if result.proof is not None:
            print(f"{snippet}\n{result.proof}")
            if result.axioms:
                out.print(f"axioms: {', '.join(result.axioms)}")
        out.print(result.stats.summary())
        for path in args.tree:
            out.print(f"search tree written to {path}")
    if result.status is SearchStatus.PROVED:
        return EXIT_PROVED
    return EXIT_ERROR if result.status is SearchStatus.ERROR else EXIT_NO_PROOF


def _snippet(args: argparse.Namespace, as_snippet: Any, load_theorem: Any) -> str:
    if args.file is not None:
        if args.statement is not None:
            raise ValueError("give either a statement or --file with --theorem, not both")
        if not args.theorem:
            raise ValueError("--file needs --theorem NAME")
        return str(load_theorem(args.file, args.theorem))
    if args.statement is None:
        raise ValueError("nothing to prove: give a statement, or --file and --theorem")
    text = sys.stdin.read() if args.statement == "-" else args.statement
    return str(as_snippet(text))


def _policy_options(args: argparse.Namespace) -> dict[str, Any]:
    opts: dict[str, Any] = {}
    if args.policy == "builtin":
        if args.policy_option:
            raise ValueError("the builtin policy takes no --policy-option")
        return opts
    if args.base_url:
        opts["base_url"] = args.base_url
    if args.device:
        opts["device"] = args.device
    if args.prompt_format:
        opts["prompt_format"] = args.prompt_format
    for item in args.policy_option:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--policy-option wants KEY=VALUE, not {item!r}")
        try:
            opts[key.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            opts[key.strip()] = raw
    return opts
