"""What the problem-set benchmarks share: loading a problem file from `benchmarks/data/`, the
budget flags, one table cell per search, and ending with the report (printed, written, and exit 1
if a false problem was reported proved)."""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path
from typing import Any

from search.result import SearchResult

DATA = Path(__file__).resolve().parent / "data"


def load_problems(module: str) -> tuple[Any, ...]:
    """`PROBLEMS` of `benchmarks/data/<module>.py`."""
    spec = importlib.util.spec_from_file_location(module, DATA / f"{module}.py")
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load benchmarks/data/{module}.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[module] = mod  # dataclasses look their module up while building
    spec.loader.exec_module(mod)
    return mod.PROBLEMS  # type: ignore[no-any-return]


def problem_run(doc: str | None, argv: list[str] | None, module: str, *,
                wall_time: float) -> tuple[argparse.Namespace, list[Any]]:
    """The flags every problem-set benchmark takes (runtime, expansions, wall and tactic time,
    `--only NAME ...`, `--out FILE`) parsed from `argv`, and the problems of `module` they select."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runtime", default="auto")
    ap.add_argument("--max-expansions", type=int, default=200)
    ap.add_argument("--wall-time", type=float, default=wall_time)
    ap.add_argument("--tactic-timeout", type=float, default=20.0, help="as in the miniF2F runs")
    ap.add_argument("--only", nargs="*", default=None, help="problem names to run")
    ap.add_argument("--out", type=Path, default=None, help="also write the Markdown report here")
    args = ap.parse_args(argv)
    return args, [p for p in load_problems(module) if not args.only or p.name in args.only]


def cell(r: SearchResult) -> str:
    """One search as table cells: status | expansions | wall seconds."""
    return f"{r.status.value} | {r.stats.expansions} | {r.stats.wall_seconds:.1f}"


def emit(report: str, out: Path | None, unsound: list[str]) -> int:
    """Print and (with `out`) write the report; the exit code: 1 if a false problem was proved."""
    print()
    print(report)
    if out:
        out.write_text(report, encoding="utf-8")
    if unsound:
        print(f"FALSE PROBLEMS REPORTED PROVED: {unsound}", file=sys.stderr)
        return 1
    return 0
