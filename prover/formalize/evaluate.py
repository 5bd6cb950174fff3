"""The formalizer's evaluation harness over a benchmark JSONL with informal and formal statements.

Two phases, each resumable and each writing JSONL:

1. `generate` (no Lean): for every problem of the chosen splits, the prompt (retrieved examples
   from a pool that never contains the evaluated problems) and the model's raw answers, to
   `candidates.jsonl`.
2. `check` (Lean): every problem's answers through the pipeline, with the published formal
   statement as the reference, to `results.jsonl`.

`summarise` computes from `results.jsonl` alone, per split: the type-check rate (candidates that
elaborate), problems with at least one such candidate, the numeric-refutation rate (of the
candidates screened), and agreement of the top candidate with the reference (equal after
normalisation, or Lean shows them the same or proves them equivalent within a small budget), also
over the problems whose reference elaborates here at all. `summary.json` and `summary.md` hold it.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prover.bench.data import Problem, parse_benchmark
from prover.formalize.pipeline import Agreement, CandidatePipeline, FormalizeConfig, Outcome, Stage
from prover.formalize.prompts import formalize_prompt
from prover.lean.client import LeanClient


@dataclass(frozen=True)
class EvalConfig:
    """Which problems, where results go, how many samples. Every field has a working default."""

    data: Path = Path("../shared/benchmarks/minif2f.jsonl")
    splits: tuple[str, ...] = ("valid",)
    limit: int | None = None  # at most this many problems per split (file order)
    out_dir: Path = Path("formalize-runs/minif2f")
    formalize: FormalizeConfig = field(default_factory=lambda: FormalizeConfig(samples=4))


def load_problems(cfg: EvalConfig) -> list[Problem]:
    bench = parse_benchmark("eval", cfg.data, cfg.data.read_bytes())
    return [p for p in bench.select(cfg.splits, limit=cfg.limit) if p.informal]


def _done(path: Path) -> set[str]:
    if not path.is_file():
        return set()
    out = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            try:
                out.add(json.loads(line)["id"])
            except (json.JSONDecodeError, KeyError, TypeError):
                continue  # a torn last line from a killed run: that problem is redone
    return out


def _append(path: Path, record: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as f:
        f.write(json.dumps(record, ensure_ascii=False) + "\n")
        f.flush()
        os.fsync(f.fileno())


def generate(cfg: EvalConfig, llm: Any, retriever: Any | None = None) -> Iterator[dict[str, Any]]:
    """Phase 1: prompts and raw answers to `candidates.jsonl` (problems already there are skipped)."""
    out = cfg.out_dir / "candidates.jsonl"
    done = _done(out)
    for p in load_problems(cfg):
        if p.id in done:
            continue
        k = cfg.formalize.few_shot
        shots = retriever.top(p.informal, k) if retriever is not None and k > 0 else []
        prompt = formalize_prompt(p.informal, shots)
        t0 = time.monotonic()
        answers = llm.generate(prompt, cfg.formalize.samples)
        record = {"id": p.id, "name": p.name, "split": p.split, "informal": p.informal,
                  "reference": p.formal_statement, "examples": [e.name for e in shots], "prompt": prompt,
                  "answers": answers, "model": llm.name, "generate_seconds": round(time.monotonic() - t0, 2)}
        _append(out, record)
        yield record


def check(cfg: EvalConfig, lean: LeanClient) -> Iterator[dict[str, Any]]:
    """Phase 2: the pipeline on every generated problem, to `results.jsonl` (resumable)."""
    src, out = cfg.out_dir / "candidates.jsonl", cfg.out_dir / "results.jsonl"
    done = _done(out)
    pipeline = CandidatePipeline(lean, cfg.formalize)
    for line in src.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        rec = json.loads(line)
        if rec["id"] in done:
            continue
        screened = pipeline.run(rec["answers"], reference=rec["reference"])
        cands = screened.candidates

        def reached(stage: Stage, c: Any) -> bool:
            return c.passed(stage)

        screened_n = sum(1 for c in cands if c.numeric is not None)
        result = {
            "id": rec["id"], "name": rec["name"], "split": rec["split"], "model": rec["model"],
            "samples": len(cands),
            "extracted": sum(reached(Stage.NORMALISE, c) for c in cands),
            "guard_refused": sum(1 for c in cands if c.verdict(Stage.GUARD) is not None
                                 and c.verdict(Stage.GUARD).outcome is Outcome.FAILED),
            "typechecked": sum(reached(Stage.TYPECHECK, c) for c in cands),
            "numeric_screened": screened_n, "refuted": sum(c.refuted for c in cands),
            "kept": sum(c.kept for c in cands), "groups": len(screened.ranked),
            "agreement": screened.agreement.value if screened.agreement else None,
            "best": screened.best.statement if screened.best else None,
            "dropped_at": [c.dropped_at.value if c.dropped_at else None for c in cands],
            "lean_has_mathlib": screened.lean_has_mathlib, "check_seconds": round(screened.seconds, 2),
        }
        _append(out, result)
        yield result


def summarise(out_dir: Path) -> dict[str, Any]:
    """Per-split figures from `results.jsonl` alone; written to summary.json and summary.md."""
    rows: dict[str, dict[str, Any]] = {}
    for line in (out_dir / "results.jsonl").read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        r = json.loads(line)
        s = rows.setdefault(r["split"], {"model": r["model"], "problems": 0, "samples": 0, "extracted": 0,
                                         "typechecked": 0, "problems_typechecked": 0, "screened": 0,
                                         "refuted": 0, "guard_refused": 0, "agree": 0,
                                         "reference_uncheckable": 0})
        s["problems"] += 1
        s["samples"] += r["samples"]
        s["extracted"] += r["extracted"]
        s["typechecked"] += r["typechecked"]
        s["problems_typechecked"] += r["typechecked"] > 0
        s["screened"] += r["numeric_screened"]
        s["refuted"] += r["refuted"]
        s["guard_refused"] += r["guard_refused"]
        ag = Agreement(r["agreement"]) if r["agreement"] else None
        s["agree"] += bool(ag and ag.agrees)
        s["reference_uncheckable"] += ag is Agreement.UNCHECKABLE
    for s in rows.values():
        s["typecheck_rate"] = s["typechecked"] / s["samples"] if s["samples"] else 0.0
        s["refutation_rate"] = s["refuted"] / s["screened"] if s["screened"] else 0.0
        s["agreement_rate"] = s["agree"] / s["problems"] if s["problems"] else 0.0
    summary = {"splits": rows}
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    (out_dir / "summary.md").write_text(table(summary) + "\n", encoding="utf-8")
    return summary


def table(summary: dict[str, Any]) -> str:
    head = ("| model | split | problems | samples | extracted | type-checked | problems with a "
            "type-checked candidate | numerically refuted (of screened) | refused by the guard | "
            "top agrees with reference |")
    lines = [head, "|" + "---|" * 10]
    for split, s in summary["splits"].items():
        lines.append(
            f"| {s['model']} | {split} | {s['problems']} | {s['samples']} | {s['extracted']} | "
            f"{s['typechecked']} ({100 * s['typecheck_rate']:.1f} %) | {s['problems_typechecked']} | "
            f"{s['refuted']} of {s['screened']} ({100 * s['refutation_rate']:.1f} %) | "
            f"{s['guard_refused']} | "
            f"{s['agree']} ({100 * s['agreement_rate']:.1f} %) |")
    return "\n".join(lines)


# ---------------------------------------------------------------------- CLI


def add_arguments(p: argparse.ArgumentParser) -> None:
    from prover.formalize.cli import _add_model_arguments

    p.add_argument("--data", type=Path, required=True, help="the benchmark JSONL to evaluate on")
    p.add_argument("--split", action="append", default=None, help="split(s) to evaluate (default valid)")
    p.add_argument("--limit", type=int, default=None, help="at most this many problems per split")
    p.add_argument("--out", type=Path, default=Path("formalize-runs/eval"))
    p.add_argument("--phase", choices=("generate", "check", "summary", "all"), default="all")
    _add_model_arguments(p, samples=4)


def run_cli(args: argparse.Namespace, *, server: LeanClient | None) -> int:
    from prover.formalize.cli import build_llm, build_retriever
    from prover.formalize.examples import RetrievalError
    from prover.formalize.llm import LLMError

    cfg = EvalConfig(data=args.data, splits=tuple(args.split or ("valid",)), limit=args.limit,
                     out_dir=args.out,
                     formalize=FormalizeConfig(samples=args.samples, few_shot=args.few_shot,
                                               numeric=not args.no_numeric))
    if args.phase in ("generate", "all"):
        try:
            exclude = tuple((p.name, p.informal, p.formal_statement) for p in load_problems(cfg))
            llm, retriever = build_llm(args), build_retriever(args, exclude)
        except (LLMError, RetrievalError, OSError) as e:
            print(f"prover formalize-eval: {e}")
            return 2
        if retriever is not None:
            print(f"example pool: {len(retriever.pool.examples)} examples, {retriever.pool.excluded} "
                  "evaluated problems left out")
        for rec in generate(cfg, llm, retriever):
            print(f"generated {rec['id']} ({rec['generate_seconds']} s)", flush=True)
    if args.phase in ("check", "all"):
        if server is None:
            print("prover formalize-eval: the check phase needs Lean")
            return 2
        for r in check(cfg, server):
            print(f"checked {r['id']}: {r['typechecked']}/{r['samples']} type-check, {r['refuted']} refuted, "
                  f"agreement {r['agreement']}", flush=True)
    if args.phase in ("summary", "check", "all"):
        print(table(summarise(cfg.out_dir)))
    return 0
