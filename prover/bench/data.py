"""Loading miniF2F and ProofNet (Lean 4) from JSONL: one `Problem` per line.

The files are those of the public DeepSeek-Prover-V1.5 repository (`datasets/`). Users get them
downloaded once into the cache (`$PROVER_CACHE_DIR/benchmarks/`); tests and CI pass a local copy
with `data=` (`--data PATH`). Benchmark files are untrusted input: a bad line is reported with its
number and the reason (a `formal_statement` must end in one theorem statement without its proof,
as the splitter `prover.lean.decls` reads it), and every good line is still loaded.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import prover.lean.decls as decls
from prover.lean.errors import InvalidRequest
from prover.lean.snippet import split_snippet

SOURCE_URL = "https://raw.githubusercontent.com/deepseek-ai/DeepSeek-Prover-V1.5/main/datasets/{file}"
BENCHMARKS: dict[str, str] = {"minif2f": "minif2f.jsonl", "proofnet": "proofnet.jsonl"}
SPLITS = ("valid", "test")
MAX_LINE_CHARS = 200_000  # no statement of either benchmark comes near; a larger line is not one

# Category from the problem name: miniF2F names start with their source (`mathd_algebra_…`,
# `amc12a_…`, `aime_…`, `imo_…`, `induction_…`); ProofNet names are `exercise_<chapter>_…`.
_CATEGORY_PREFIXES: tuple[tuple[str, str], ...] = (
    ("mathd_algebra", "mathd_algebra"), ("mathd_numbertheory", "mathd_numbertheory"),
    ("amc", "amc"), ("aime", "aime"), ("imo", "imo"), ("induction", "induction"),
    ("algebra", "algebra"), ("numbertheory", "numbertheory"), ("exercise", "exercise"),
)


class BenchmarkError(ValueError):
    """A benchmark cannot be loaded at all (unknown name, missing file, failed download)."""


@dataclass(frozen=True)
class Problem:
    """One benchmark problem as published."""

    benchmark: str
    name: str
    split: str
    informal: str  # the natural-language statement (a Lean doc comment in the source)
    formal_statement: str  # a Lean 4 theorem, ending in `:= by` or `:=`
    header: str  # imports, options and `open`s it was published with
    # Unique within the benchmark: the name, or `name#2`, `#3`, … for later problems of the same
    # name (ProofNet has a few: exercises of the same number from different textbooks).
    id: str = ""

    def __post_init__(self) -> None:
        if not self.id:
            object.__setattr__(self, "id", self.name)

    @property
    def category(self) -> str:
        return category_of(self.name)

    def to_json(self) -> dict[str, str]:
        return {"benchmark": self.benchmark, "name": self.name, "split": self.split,
                "informal": self.informal, "formal_statement": self.formal_statement,
                "header": self.header, "id": self.id}

    @classmethod
    def from_json(cls, d: dict[str, str]) -> Problem:
        return cls(d["benchmark"], d["name"], d["split"], d["informal"], d["formal_statement"],
                   d["header"], d.get("id", ""))


@dataclass(frozen=True)
class BadLine:
    """A line of a benchmark file that is not a usable problem."""

    path: str
    line: int  # 1-based
    reason: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.reason}"


@dataclass(frozen=True)
class Benchmark:
    """The problems of one benchmark file, and the lines that could not be read."""

    name: str
    path: Path
    problems: tuple[Problem, ...]
    bad_lines: tuple[BadLine, ...] = field(default=())

    def select(self, splits: tuple[str, ...] = SPLITS, names: tuple[str, ...] | None = None,
               limit: int | None = None) -> list[Problem]:
        """Problems of `splits` in file order, only `names` (ids or names) if given, at most `limit`
        per split.

        Raises:
            BenchmarkError: a name in `names` is not in the benchmark.
        """
        if names:
            known = {p.name for p in self.problems} | {p.id for p in self.problems}
            missing = [n for n in names if n not in known]
            if missing:
                raise BenchmarkError(f"not in {self.name}: {', '.join(missing)}")
        chosen: list[Problem] = []
        taken: dict[str, int] = {}
        for p in self.problems:
            if p.split not in splits or (names and p.name not in names and p.id not in names):
                continue
            if limit is not None and taken.get(p.split, 0) >= limit:
                continue
            taken[p.split] = taken.get(p.split, 0) + 1
            chosen.append(p)
        return chosen


def category_of(name: str) -> str:
    """`mathd_algebra`, `mathd_numbertheory`, `amc`, `aime`, `imo`, `induction`, … from a name."""
    for prefix, cat in _CATEGORY_PREFIXES:
        if name.startswith(prefix):
            return cat
    m = re.match(r"[A-Za-z]+", name)
    return m.group(0).lower() if m else "other"


def default_cache_dir() -> Path:
    base = os.environ.get("PROVER_CACHE_DIR")
    return (Path(base) if base else Path.home() / ".cache" / "prover") / "benchmarks"


def benchmark_path(name: str, data: Path | None = None, *, cache_dir: Path | None = None,
                   download: bool = True) -> Path:
    """The JSONL file of benchmark `name`: `data` itself (a file, or a directory holding
    `<name>.jsonl`), else the cached copy, downloaded first if missing and `download`.

    Raises:
        BenchmarkError: unknown benchmark, missing file, or the download failed.
    """
    if name not in BENCHMARKS:
        raise BenchmarkError(f"unknown benchmark {name!r}; known: {', '.join(BENCHMARKS)}")
    file = BENCHMARKS[name]
    if data is not None:
        path = data / file if data.is_dir() else data
        if not path.is_file():
            raise BenchmarkError(f"no benchmark file at {path}")
        return path
    path = (cache_dir or default_cache_dir()) / file
    if path.is_file():
        return path
    if not download:
        raise BenchmarkError(f"{path} is missing (pass --data PATH, or allow the download)")
    _download(SOURCE_URL.format(file=file), path)
    return path


def _download(url: str, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with urllib.request.urlopen(url, timeout=120) as resp:
            body = resp.read()
    except OSError as e:
        raise BenchmarkError(f"cannot download {url}: {e} (pass --data PATH to a local copy)") from e
    # Written next to the target and renamed: an interrupted download never leaves half a file
    # that a later run would take for the benchmark.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".part")
    with os.fdopen(fd, "wb") as f:
        f.write(body)
    os.replace(tmp, path)


def load_benchmark(name: str, data: Path | None = None, *, cache_dir: Path | None = None,
                   download: bool = True) -> Benchmark:
    """Read benchmark `name` (see `benchmark_path` for where from).

    Raises:
        BenchmarkError: the file cannot be found, downloaded or read.
    """
    path = benchmark_path(name, data, cache_dir=cache_dir, download=download)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise BenchmarkError(f"cannot read {path}: {e}") from e
    return parse_benchmark(name, path, raw)


def parse_benchmark(name: str, path: Path, raw: bytes) -> Benchmark:
    """Problems from the bytes of a JSONL file; bad lines are collected, not fatal."""
    problems: list[Problem] = []
    bad: list[BadLine] = []
    seen: dict[str, list[tuple[int, Problem]]] = {}
    for lineno, line in enumerate(raw.split(b"\n"), start=1):
        if not line.strip():
            continue
        problem_or_reason = _parse_line(name, line)
        if isinstance(problem_or_reason, str):
            bad.append(BadLine(str(path), lineno, problem_or_reason))
            continue
        p = problem_or_reason
        same = seen.setdefault(p.name, [])
        twin = next((n for n, q in same if q.formal_statement == p.formal_statement), None)
        if twin is not None:
            bad.append(BadLine(str(path), lineno, f"duplicate of line {twin} ({p.name!r}, same statement)"))
            continue
        if same:
            p = Problem(p.benchmark, p.name, p.split, p.informal, p.formal_statement, p.header,
                        f"{p.name}#{len(same) + 1}")
        same.append((lineno, p))
        problems.append(p)
    return Benchmark(name, path, tuple(problems), tuple(bad))


def _parse_line(benchmark: str, line: bytes) -> Problem | str:
    if len(line) > MAX_LINE_CHARS:
        return f"line of {len(line)} bytes exceeds {MAX_LINE_CHARS}"
    try:
        d = json.loads(line.decode("utf-8"))
    except UnicodeDecodeError as e:
        return f"not UTF-8: {e}"
    except json.JSONDecodeError as e:
        return f"not JSON: {e.msg} at column {e.colno}"
    if not isinstance(d, dict):
        return f"a JSON {type(d).__name__}, not an object"
    for key in ("name", "split", "formal_statement"):
        if not isinstance(d.get(key), str) or not d[key].strip():
            return f"field {key!r} missing or not a non-empty string"
    for key in ("informal_prefix", "header"):
        if key in d and not isinstance(d[key], str):
            return f"field {key!r} is not a string"
    if not re.fullmatch(r"[\w.'’]+", d["name"]):
        return f"name {d['name'][:60]!r} is not a Lean identifier"
    if d["split"] not in SPLITS:
        return f"split {d['split'][:30]!r} is neither {' nor '.join(SPLITS)}"
    # The splitter's reading (`prover.lean.decls`); Lean reads it again when the proof opens. A
    # final `def` (ProofNet asks for a few constructions) stays loaded: the search reports it.
    items = decls.split(d["formal_statement"])
    if not items or not isinstance(items[-1], decls.Decl):
        return "formal_statement: it does not end in a declaration"
    last = items[-1]
    if last.is_theorem:
        try:
            split_snippet(d["formal_statement"])
        except InvalidRequest as e:
            return f"formal_statement: {e}"
    elif decls.body_tokens(d["formal_statement"], last) not in ((), ("by",), ("sorry",), ("by", "sorry")):
        return "formal_statement: it does not end in a theorem, nor in a definition still to be given"
    return Problem(benchmark, d["name"], d["split"], _informal(d.get("informal_prefix", "")),
                   d["formal_statement"], d.get("header", ""))


def _informal(prefix: str) -> str:
    """The statement without the doc-comment delimiters it is published in."""
    text = prefix.strip()
    if text.startswith("/--"):
        text = text[3:]
    if text.endswith("-/"):
        text = text[:-2]
    return text.strip()
