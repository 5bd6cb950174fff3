"""One benchmark worker: a long-lived Lean server and what is done to each problem on it.

For each problem, in this order:
1. `classify`: ask Lean whether the statement elaborates (with `sorry` for the proof), first with
   the header it was published with (minus its imports: the server's environment is what it
   imported), then in core Lean under `CORE_PRELUDE`. Neither: it needs Mathlib (when this Lean
   has none) or it is not a valid statement. Then the numeric verdict (`prover.numeric.verdict`):
   on Lean's terms of the opened statement, refuted only when Lean's kernel confirmed the
   counterexample; the surface checker's (unconfirmed) verdict only for a statement that does not
   elaborate here.
2. `run`: a statement that elaborates and was not refuted gets the one-shot baseline (each
   baseline tactic alone on the root) and the best-first search under the budget.

The same class runs in a local worker process and as a Ray actor.
"""

from __future__ import annotations

import platform
import random
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from enum import Enum
from typing import TYPE_CHECKING, Any

from prover.bench.config import WorkerConfig, upgrade_settings
from prover.bench.data import Problem
from prover.lean.client import has_mathlib

if TYPE_CHECKING:
    from prover.lean import LeanServer
    from search.assemble import Searcher



class Elaboration(str, Enum):
    PUBLISHED = "published"  # elaborates with its own header (this Lean has what it imports)
    CORE = "core"  # elaborates in core Lean under the prelude
    NEEDS_MATHLIB = "needs_mathlib"  # neither, and this Lean has no Mathlib
    INVALID = "invalid"  # neither, on a Lean with Mathlib
    REFUSED = "refused"  # the guard or Lean's audit refuses the statement or its header


class Status(str, Enum):
    PROVED = "proved"  # the search found a proof and it was verified from scratch
    FAILED = "failed"  # the search ran out of states to expand
    BUDGET_EXHAUSTED = "budget_exhausted"
    ERROR = "error"  # the search ended in an error, or Lean failed on this problem
    REFUTED = "refuted"  # the numeric checker found a counterexample: never searched
    NEEDS_MATHLIB = "needs_mathlib"  # cannot run on this Lean: never searched
    INVALID = "invalid"  # does not elaborate even with Mathlib: never searched
    REFUSED = "refused"  # untrusted text the guard refuses (meta code, core-meaning changes)


SEARCHED = frozenset({Status.PROVED, Status.FAILED, Status.BUDGET_EXHAUSTED, Status.ERROR})


@dataclass(frozen=True)
class Classification:
    """What Lean and the numeric checker say about a statement before any search."""

    elaboration: Elaboration
    snippet: str | None  # what the search opens (header + statement `:= by`), when it elaborates
    error_kinds: tuple[str, ...] = ()  # Lean's error names when it does not elaborate
    first_error: str = ""  # Lean's first error, for the report (never used to decide anything)
    numeric: dict[str, Any] = field(default_factory=dict)  # StatementVerdict.to_dict()
    lean_calls: int = 0
    seconds: float = 0.0

    @property
    def refuted(self) -> bool:
        """Refuted with a counterexample Lean's kernel confirmed (`Verdict.REFUTED`); a surface-only
        refutation is `refuted_unconfirmed` and refutes nothing here."""
        return self.numeric.get("verdict") == "refuted"

    @property
    def runnable(self) -> bool:
        return self.snippet is not None and not self.refuted


@dataclass(frozen=True)
class ProblemResult:
    """One line of the results JSONL."""

    benchmark: str
    name: str
    split: str
    category: str
    status: Status
    elaboration: Elaboration
    numeric: dict[str, Any]
    baseline: dict[str, str] = field(default_factory=dict)  # tactic -> proved / failed / error
    proof: str | None = None
    message: str = ""
    expansions: int = 0
    lean_calls: int = 0
    search_seconds: float = 0.0
    baseline_seconds: float = 0.0
    classify_seconds: float = 0.0
    error_kinds: tuple[str, ...] = ()
    stats: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, Any] = field(default_factory=dict)
    finished_at: str = ""
    id: str = ""  # unique in the benchmark (`Problem.id`); the name where that is unique

    def __post_init__(self) -> None:
        if not self.id:
            object.__setattr__(self, "id", self.name)

    @property
    def proved(self) -> bool:
        return self.status is Status.PROVED

    @property
    def baseline_proved(self) -> bool:
        return "proved" in self.baseline.values()

    def to_json(self) -> dict[str, Any]:
        return {
            "benchmark": self.benchmark, "name": self.name, "split": self.split,
            "category": self.category, "status": self.status.value,
            "elaboration": self.elaboration.value, "numeric": self.numeric, "baseline": self.baseline,
            "proof": self.proof, "message": self.message, "expansions": self.expansions,
            "lean_calls": self.lean_calls, "search_seconds": self.search_seconds,
            "baseline_seconds": self.baseline_seconds, "classify_seconds": self.classify_seconds,
            "error_kinds": list(self.error_kinds), "stats": self.stats, "settings": self.settings,
            "versions": self.versions, "finished_at": self.finished_at, "id": self.id,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ProblemResult:
        """Inverse of `to_json`. Raises KeyError / ValueError / TypeError on a malformed record."""
        return cls(
            benchmark=str(d["benchmark"]), name=str(d["name"]), split=str(d["split"]),
            category=str(d["category"]), status=Status(d["status"]),
            elaboration=Elaboration(d["elaboration"]), numeric=dict(d["numeric"]),
            baseline=dict(d.get("baseline", {})), proof=d.get("proof"), message=str(d.get("message", "")),
            expansions=int(d.get("expansions", 0)), lean_calls=int(d.get("lean_calls", 0)),
            search_seconds=float(d.get("search_seconds", 0.0)),
            baseline_seconds=float(d.get("baseline_seconds", 0.0)),
            classify_seconds=float(d.get("classify_seconds", 0.0)),
            error_kinds=tuple(d.get("error_kinds", ())), stats=dict(d.get("stats", {})),
            settings=upgrade_settings(dict(d.get("settings", {}))), versions=dict(d.get("versions", {})),
            finished_at=str(d.get("finished_at", "")), id=str(d.get("id", "")),
        )


def published_header(header: str) -> str:
    """The published header without its `import` lines: imports can only start a file, and the
    server's environment already holds whatever it imported."""
    return "".join(line for line in header.splitlines(keepends=True)
                   if not line.lstrip().startswith("import "))


class BenchWorker:
    """Holds one Lean server for its whole life; `classify` and `run` one problem at a time.

    Args:
        config: budgets, policy, value model, baseline, seed, which Lean.
        versions: prover version and git commit from the driver; Lean's version is added here.
        server: a running server to use instead of starting one (tests share theirs).
    """

    def __init__(self, config: WorkerConfig, versions: dict[str, Any] | None = None,
                 server: LeanServer | None = None) -> None:
        self.config = config
        self._versions = dict(versions or {})
        self._server = server
        self._own = server is None
        self._has_mathlib: bool | None = None
        self._searcher: Searcher | None = None

    @property
    def server(self) -> LeanServer:
        if self._server is None:
            from pathlib import Path

            from prover.lean import LeanConfig, LeanServer

            cfg = self.config
            self._server = LeanServer(LeanConfig(
                runtime=cfg.runtime, cache_dir=Path(cfg.cache_dir) if cfg.cache_dir else None,
                tactic_timeout=cfg.budget.tactic_timeout))
        return self._server.start()

    def versions(self) -> dict[str, Any]:
        srv = self.server
        return {**self._versions, "lean": srv.lean_version, "lean_runtime": srv.runtime.kind,
                "python": platform.python_version(), "model": self.config.search.model}

    def ready(self) -> dict[str, Any]:
        """Start Lean (if needed) and report the versions; lets the driver wait for every worker."""
        return self.versions()

    def close(self) -> None:
        if self._own and self._server is not None:
            self._server.close()
            self._server = None
        self._searcher = None

    # ------------------------------------------------------------------ before the search

    def has_mathlib(self) -> bool:
        if self._has_mathlib is None:
            self._has_mathlib = has_mathlib(self.server)
        return self._has_mathlib

    def classify(self, problem: Problem) -> Classification:
        """Ask Lean whether (and how) the statement elaborates, then the numeric checker."""
        from prover.lean import ErrorKind, LeanServerError, ProofState
        from search.api import StatementError, as_snippet

        t0 = time.monotonic()
        calls = 0
        kinds: tuple[str, ...] = ()
        first = ""
        snippet: str | None = None
        numeric: dict[str, Any] | None = None
        elaboration = Elaboration.NEEDS_MATHLIB
        attempts = ((Elaboration.PUBLISHED, published_header(problem.header)),
                    (Elaboration.CORE, self.config.prelude))
        for mode, header in attempts:
            try:
                candidate = as_snippet(header + problem.formal_statement)
            except StatementError as e:
                kinds, first = ("statement",), str(e)
                break
            # Benchmark files are untrusted: the statement is read and elaborated through the
            # guarded reader (`open_proof`), never with a raw `check`.
            try:
                opened = self.server.open_proof(candidate)
            except LeanServerError as e:
                kinds, first = ("lean_failed",), str(e)
                calls += 1
                continue
            calls += 1
            if isinstance(opened, ProofState):
                try:
                    numeric = self._typed_numeric(opened)
                finally:
                    self.server.forget([opened])
                snippet, elaboration = candidate, mode
                break
            refused = opened.kind is ErrorKind.REJECTED
            # The last attempt's errors are kept: on a Lean without Mathlib the published header
            # fails on its `open`s alone, while the core attempt names what is missing.
            errors = [m for m in opened.messages if m.severity.value == "error"]
            kinds = ("refused",) if refused else tuple(sorted({m.kind or "unnamed" for m in errors}))
            first = opened.reason if refused or not errors else errors[0].text
        if snippet is None:
            calls += 1
            if kinds == ("refused",):
                elaboration = Elaboration.REFUSED
            else:
                elaboration = Elaboration.INVALID if self.has_mathlib() else Elaboration.NEEDS_MATHLIB
        if numeric is None:
            numeric = self._surface_numeric(problem.formal_statement, first)
        return Classification(elaboration, snippet, kinds if snippet is None else (), first[:300],
                              numeric, calls, time.monotonic() - t0)

    def _verdict_config(self) -> Any:
        from prover.numeric import CheckConfig, TypedConfig, VerdictConfig

        seed = self.config.seed
        return VerdictConfig(typed=TypedConfig(seed=seed), surface=CheckConfig(seed=seed))

    def _typed_numeric(self, state: Any) -> dict[str, Any]:
        """The numeric verdict on the opened statement, on Lean's terms (kernel-confirmed)."""
        from prover.lean import LeanServerError
        from prover.numeric import Verdict
        from prover.numeric.verdict import typed_verdict

        try:
            return typed_verdict(self.server, state, self._verdict_config()).to_dict()
        except LeanServerError as e:  # Lean could not answer: no verdict, never a refutation
            return {"verdict": Verdict.UNSUPPORTED.value,
                    "reason": f"Lean failed during the numeric check: {e}"}

    def _surface_numeric(self, statement: str, lean_error: str) -> dict[str, Any]:
        """For a statement that does not elaborate here: the surface checker, never confirmed."""
        from prover.numeric.verdict import LeanReading, surface_verdict

        return surface_verdict(statement, self.server, self._verdict_config(),
                               reading=LeanReading.NOT_ELABORATED, lean_error=lean_error).to_dict()

    # ------------------------------------------------------------------ the search

    def run(self, problem: Problem, cls: Classification | None = None) -> ProblemResult:
        """Classify (unless given) and, when the statement can run, baseline and search."""
        cls = cls if cls is not None else self.classify(problem)
        base = ProblemResult(
            benchmark=problem.benchmark, name=problem.name, id=problem.id, split=problem.split,
            category=problem.category, status=Status.NEEDS_MATHLIB, elaboration=cls.elaboration,
            numeric=cls.numeric, lean_calls=cls.lean_calls, classify_seconds=cls.seconds,
            error_kinds=cls.error_kinds, settings=self.config.settings(), versions=self.versions())
        if cls.snippet is None:
            status = {Elaboration.INVALID: Status.INVALID, Elaboration.REFUSED: Status.REFUSED}.get(
                cls.elaboration, Status.NEEDS_MATHLIB)
            return _done(replace(base, status=status, message=cls.first_error))
        if cls.refuted:
            return _done(replace(base, status=Status.REFUTED,
                                 message=str(cls.numeric.get("reason", "refuted"))))
        # Seeded per problem, so a result does not depend on which worker ran it or what came before.
        random.seed(f"{self.config.seed}:{problem.benchmark}:{problem.id}")
        baseline, base_calls, base_s = self._baseline(cls.snippet)
        return _done(self._search(cls.snippet, replace(
            base, baseline=baseline, baseline_seconds=base_s, lean_calls=base.lean_calls + base_calls)))

    def _baseline(self, snippet: str) -> tuple[dict[str, str], int, float]:
        from prover.lean import LeanError, LeanServerError, ProofFinished
        from prover.verify import Verifier

        t0 = time.monotonic()
        out: dict[str, str] = {}
        if not self.config.baseline:
            return out, 0, 0.0
        srv = self.server
        calls = 1
        try:
            root = srv.open_proof(snippet)
        except LeanServerError:
            return dict.fromkeys(self.config.baseline, "error"), calls, time.monotonic() - t0
        if isinstance(root, LeanError):
            return dict.fromkeys(self.config.baseline, "error"), calls, time.monotonic() - t0
        verifier = Verifier(srv)
        try:
            for tactic in self.config.baseline:
                calls += 1
                try:
                    res = srv.run_tactic(root, tactic, timeout=self.config.budget.tactic_timeout,
                                         heartbeats=self.config.budget.heartbeats)
                except LeanServerError:
                    out[tactic] = "error"
                    continue
                if isinstance(res, ProofFinished):
                    calls += 1
                    out[tactic] = "proved" if verifier.verify(snippet, res.script).ok else "failed"
                else:
                    out[tactic] = "failed"
                    if not isinstance(res, LeanError):
                        srv.forget([res])
        finally:
            srv.forget([root])
        return out, calls, time.monotonic() - t0

    def searcher(self) -> Searcher:
        """The search of `config.search` on this worker's server, assembled once (a model policy
        loads its weights once for all problems)."""
        if self._searcher is None:
            from search.assemble import assemble

            self._searcher = assemble(self.config.search, self.server)
        return self._searcher

    def _search(self, snippet: str, base: ProblemResult) -> ProblemResult:
        from prover.lean import LeanServerError
        from prover.models.errors import ModelError

        t0 = time.monotonic()
        try:
            searcher = self.searcher()
            policy = searcher.policy_for(snippet)
            result = searcher.search(snippet, policy=policy)
        except (LeanServerError, ModelError) as e:
            return replace(base, status=Status.ERROR, message=f"{type(e).__name__}: {e}",
                           search_seconds=time.monotonic() - t0)
        stats = result.stats
        record = stats.to_json()
        record["policy"] = result.policy
        # The numeric proposal policy times itself; its share of the wall time is reported.
        if (numeric_s := getattr(policy, "numeric_seconds", None)) is not None:
            record["numeric_seconds"] = numeric_s
        return replace(base, status=Status(result.status.value), proof=result.proof,
                       message=result.message, expansions=stats.expansions,
                       lean_calls=base.lean_calls + stats.lean_calls, search_seconds=stats.wall_seconds,
                       stats=record)


def _done(r: ProblemResult) -> ProblemResult:
    return replace(r, finished_at=datetime.now(timezone.utc).isoformat(timespec="seconds"))
