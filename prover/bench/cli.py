"""`prover bench`: run miniF2F or ProofNet and write the results log, summary and plots.

A thin layer over `prover.bench`: parse flags into a `RunConfig`, load and select the problems,
draw the progress bar, write the report. Exit codes: 0 the run completed (whatever it proved);
2 an error (unknown benchmark, unreadable data, no worker could start, a log from other
settings); 130 interrupted (the log keeps every finished problem: rerun with `--resume`).
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path
from typing import Any

from prover.bench.config import BASELINE_TACTICS, RunConfig, WorkerConfig
from prover.bench.data import BENCHMARKS, SPLITS
from search.options import add_search_arguments, setup_from_args

EXIT_OK, EXIT_ERROR, EXIT_INTERRUPTED = 0, 2, 130


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add `prover bench`'s arguments to `parser`."""
    d = WorkerConfig()
    what = parser.add_argument_group("what to run")
    what.add_argument("benchmark", choices=sorted(BENCHMARKS))
    what.add_argument("--split", action="append", choices=SPLITS, default=None,
                      help="repeatable; default: both")
    what.add_argument("--limit", type=int, default=None, help="at most N problems per split")
    what.add_argument("--problems", default=None, help="comma-separated problem names")
    what.add_argument("--data", type=Path, default=None,
                      help="a local benchmark JSONL file, or a directory holding <benchmark>.jsonl "
                           "(default: download from the public source once, cached)")

    add_search_arguments(parser, d.search)
    model = parser.add_argument_group("baseline and seed")
    model.add_argument("--baseline-tactic", action="append", default=None, metavar="TACTIC",
                       help=f"one-shot baseline tactics (repeatable; default: {', '.join(BASELINE_TACTICS)})")
    model.add_argument("--no-baseline", action="store_true", help="skip the one-shot baseline")
    model.add_argument("--seed", type=int, default=d.seed)

    run = parser.add_argument_group("running")
    run.add_argument("--out", type=Path, default=None,
                     help="directory for results.jsonl, summary.json/.md and plots "
                          "(default: bench-runs/<benchmark>)")
    run.add_argument("--resume", action="store_true", help="skip problems already in the results log")
    run.add_argument("--workers", type=int, default=None,
                     help="parallel workers, one Lean server each (default: cores, capped by memory)")
    run.add_argument("--ray", default=None, metavar="auto|local|ADDRESS",
                     help="run the workers as Ray actors: on a running cluster (auto; else a local "
                          "instance), a new local instance, or the cluster at ADDRESS")
    run.add_argument("--runtime", choices=("auto", "native", "wasm"), default="auto", help="which Lean")
    run.add_argument("--title", default=None, help="title of the Markdown summary")
    run.add_argument("--no-plots", action="store_true")
    run.add_argument("--no-progress", action="store_true")


def config_from_args(args: argparse.Namespace) -> RunConfig:
    """The run's configuration from parsed flags. Raises ValueError on inconsistent flags."""
    if args.limit is not None and args.limit < 1:
        raise ValueError("--limit must be at least 1")
    if args.workers is not None and args.workers < 1:
        raise ValueError("--workers must be at least 1")
    baseline = () if args.no_baseline else tuple(args.baseline_tactic or BASELINE_TACTICS)
    worker = WorkerConfig(search=setup_from_args(args), baseline=baseline, seed=args.seed,
                          runtime=args.runtime)
    names = tuple(n.strip() for n in args.problems.split(",") if n.strip()) if args.problems else None
    return RunConfig(
        benchmark=args.benchmark, splits=tuple(args.split or SPLITS), limit=args.limit, problems=names,
        data=args.data, out_dir=args.out or Path("bench-runs") / args.benchmark, workers=args.workers,
        ray=args.ray, resume=args.resume, progress=not args.no_progress, worker=worker)


class _Bar:
    """A rich progress bar: solved / attempted, done of total, elapsed, ETA."""

    def __init__(self, enabled: bool) -> None:
        from rich.console import Console

        self.console = Console(stderr=True, highlight=False)
        self.enabled = enabled and self.console.is_terminal
        self.solved = self.attempted = 0
        self._progress: Any = None
        self._task: Any = None

    def notice(self, text: str) -> None:
        self.console.print(f"[yellow]note:[/] {text}")

    def started(self, total: int, done: int) -> None:
        if not self.enabled:
            return
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                  TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                                  console=self.console)
        self._progress.start()
        self._task = self._progress.add_task(self._describe(), total=total, completed=done)

    def _describe(self) -> str:
        return f"solved {self.solved} / attempted {self.attempted}"

    def finished(self, result: Any) -> None:
        from prover.bench.worker import SEARCHED

        if result.status in SEARCHED:
            self.attempted += 1
            self.solved += result.proved
        if self._progress is not None:
            self._progress.update(self._task, advance=1, description=self._describe())
        elif not self.enabled:
            # No terminal (a log file): one line per problem instead of a bar.
            print(f"{result.split:5} {result.id:45} {result.status.value:16} "
                  f"{result.search_seconds:6.1f}s  solved {self.solved} / attempted {self.attempted}",
                  file=sys.stderr, flush=True)

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()


def run(args: argparse.Namespace) -> int:
    """Run `prover bench` with parsed `args`; returns the exit code."""
    from prover.bench.data import BenchmarkError, load_benchmark
    from prover.bench.report import markdown, write_report
    from prover.bench.runner import BenchRunError, RunObserver, run_benchmark

    bar = _Bar(enabled=not args.no_progress)
    err = bar.console
    try:
        config = config_from_args(args)
        bench = load_benchmark(config.benchmark, config.data)
        for bad in bench.bad_lines:
            err.print(f"[red]bad line skipped:[/] {bad}")
        problems = bench.select(config.splits, config.problems, config.limit)
    except (ValueError, OSError) as e:  # BenchmarkError is a ValueError
        err.print(f"[red]error:[/] {e}")
        return EXIT_ERROR
    if not problems:
        err.print("[red]error:[/] no problems selected")
        return EXIT_ERROR
    err.print(f"{config.benchmark}: {len(problems)} problems ({', '.join(config.splits)}); policy "
              f"{config.worker.search.policy}; results in {config.results_path}")

    class Observer(RunObserver):
        def notice(self, text: str) -> None:
            bar.notice(text)

        def started(self, total: int, done: int) -> None:
            bar.started(total, done)

        def finished(self, result: Any) -> None:
            bar.finished(result)

    try:
        outcome = run_benchmark(config, problems, observer=Observer())
    except BenchRunError as e:
        bar.stop()
        err.print(f"[red]error:[/] {e}")
        return EXIT_ERROR
    except KeyboardInterrupt:
        bar.stop()
        err.print(f"interrupted; finished problems are in {config.results_path} (rerun with --resume)")
        return EXIT_INTERRUPTED
    except BenchmarkError as e:
        bar.stop()
        err.print(f"[red]error:[/] {e}")
        return EXIT_ERROR
    bar.stop()
    title = args.title or f"{config.benchmark}: {', '.join(config.splits)}"
    plots = not args.no_plots
    if plots and importlib.util.find_spec("matplotlib") is None:
        err.print("[yellow]note:[/] no plots: matplotlib is missing (pip install 'prover[bench]')")
        plots = False
    summary = write_report(outcome.results, config.out_dir, title=title, plots=plots)
    print(markdown(summary, title=title, plots=False))
    err.print(f"summary: {config.out_dir / 'summary.md'}, {config.out_dir / 'summary.json'}")
    return EXIT_OK
