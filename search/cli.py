"""`prover prove`: search for a proof of a statement and print it once verified.

A thin layer over `search.assemble`: parse flags (`search.options`), assemble the search, show
progress on stderr, print which policy ran, the verified proof and statistics, write the tree if
asked. The default policy is the strongest installed (`search.registry.default_policy`).
Exit codes: 0 a verified proof; 1 no proof (failed or budget exhausted); 2 an error (unusable
statement, Lean or a model could not be started, the search ended in an error); 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from search.best_first import SearchConfig

if TYPE_CHECKING:
    from prover.lean import LeanClient

EXIT_PROVED, EXIT_NO_PROOF, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 130
PROVE_BUDGET = SearchConfig()  # `prover prove`'s defaults: SearchConfig's own


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add `prover prove`'s arguments to `parser`."""
    what = parser.add_argument_group("what to prove")
    what.add_argument("statement", nargs="?", default=None,
                      help="a theorem (`theorem t (n : Nat) : n + 0 = n`), definitions before it "
                           "allowed, or a bare proposition; `-` reads it from stdin")
    what.add_argument("--file", type=Path, default=None, help="a .lean file holding the theorem")
    what.add_argument("--theorem", default=None, help="the theorem's name in --file")

    from search.assemble import SearchSetup
    from search.options import add_search_arguments

    add_search_arguments(parser, SearchSetup(budget=PROVE_BUDGET))

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
    from search.api import StatementError, as_snippet, load_theorem
    from search.assemble import assemble
    from search.best_first import SearchProgress
    from search.options import setup_from_args
    from search.registry import RegistryError
    from search.result import SearchStatus

    err = Console(stderr=True, highlight=False)
    try:
        snippet = _snippet(args, as_snippet, load_theorem)
        setup = setup_from_args(args)
    except (StatementError, ValueError, OSError) as e:
        err.print(f"[red]error:[/] {e}")
        return EXIT_ERROR

    show = not args.no_progress and err.is_terminal
    status = err.status("starting Lean…") if show else None

    def progress(p: SearchProgress) -> None:
        if status is not None:
            status.update(f"{p.expansions} expansions, {p.nodes} states, {p.open_nodes} open, "
                          f"{p.elapsed:.0f} s; last tactic: {p.last_tactic[:60]}")

    own = server is None
    srv = server if server is not None else LeanServer(LeanConfig(runtime=args.runtime))
    try:
        if status is not None:
            status.start()
        srv.start()
        if status is not None:
            status.update(f"loading the {setup.policy} policy…")
        searcher = assemble(setup, srv, progress=progress)
        if status is not None:
            status.update("searching…")
        result = searcher.search(snippet)
    except RegistryError as e:
        err.print(f"[red]error:[/] {e}")
        return EXIT_ERROR
    except ImportError as e:
        err.print(f"[red]error:[/] the {setup.policy} policy or the {setup.value} value is not available "
                  f"here: {e}")
        return EXIT_ERROR
    except LeanServerError as e:
        err.print(f"[red]error:[/] Lean failed: {e}")
        return EXIT_ERROR
    except ModelError as e:
        err.print(f"[red]error:[/] the {setup.policy} policy failed: {e}")
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
        out.print(f"policy: {result.policy}")
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

