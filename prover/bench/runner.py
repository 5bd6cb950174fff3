"""Running a benchmark: workers (local processes or Ray actors), the results log, resuming.

The driver hands one problem at a time to each idle worker, so it always knows what is in flight,
and it alone writes the results log: one JSON line per finished problem, flushed and synced at
once, so a killed run loses at most the problems in flight and `resume` skips what is done.

Two phases: every statement is first classified (does it elaborate, on this Lean, and does the
numeric checker refute it), so that what cannot run is known and said once before any search;
then each problem is run (problems that cannot run produce their record without a search).
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing as mp
import os
import queue
import subprocess
import time
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any, Protocol

from prover.bench.config import SERVER_MEMORY_BYTES, RunConfig, WorkerConfig, default_workers
from prover.bench.data import Problem
from prover.bench.worker import BenchWorker, Classification, Elaboration, ProblemResult, Status
from prover.lean.client import LeanClient

WORKER_FAULT = "worker_fault"
READY_TIMEOUT_S = 900.0  # a cold embedded Lean takes 25-60 s; several starting on 2 cores, longer


class BenchRunError(RuntimeError):
    """The run cannot go on: no worker could start, all died, or the results log is unusable."""


class RunObserver:
    """Told what happens during a run; the CLI draws its progress bar from this. All no-ops here."""

    def notice(self, text: str) -> None:
        """Something the user must read once (e.g. which problems need Mathlib)."""

    def started(self, total: int, done: int) -> None:
        """The search phase begins: `total` problems in this run, `done` of them from a resumed log."""

    def finished(self, result: ProblemResult) -> None:
        """A problem's record was written."""


# ---------------------------------------------------------------------------- results log


def read_results(path: Path, *, repair: bool = False) -> list[ProblemResult]:
    """The records of a results log. A last line cut off by a kill is dropped (and with `repair`
    cut from the file, so appending continues on a line of its own).

    Raises:
        BenchRunError: a line other than a cut-off last one is not a record.
    """
    if not path.exists():
        return []
    raw = path.read_bytes()
    lines = raw.split(b"\n")
    complete, tail = lines[:-1], lines[-1]  # `tail` is b"" when the file ends with a newline
    out: list[ProblemResult] = []
    for lineno, line in enumerate(complete, start=1):
        if not line.strip():
            continue
        try:
            out.append(ProblemResult.from_json(json.loads(line)))
        except (ValueError, KeyError, TypeError) as e:
            raise BenchRunError(f"{path}:{lineno}: not a result record ({type(e).__name__}: {e}); "
                                "fix or remove that line, or write to another --out") from None
    if tail.strip() and repair:
        with path.open("r+b") as f:
            f.truncate(len(raw) - len(tail))
    return out


class ResultsLog:
    """Appends records to the JSONL log, each flushed and synced to disk before the next."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._f: IO[str] = path.open("a", encoding="utf-8")

    def append(self, result: ProblemResult) -> None:
        self._f.write(json.dumps(result.to_json(), ensure_ascii=False) + "\n")
        self._f.flush()
        os.fsync(self._f.fileno())

    def close(self) -> None:
        self._f.close()


# ---------------------------------------------------------------------------- versions


def driver_versions() -> dict[str, Any]:
    """The prover's version and the git commit of its source (with a dirty flag), at run time."""
    from prover import __version__

    src = Path(__file__).resolve().parent
    commit, dirty = None, None
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        head = subprocess.run(["git", "-C", str(src), "rev-parse", "HEAD"], capture_output=True,
                              text=True, timeout=10)
        if head.returncode == 0:
            commit = head.stdout.strip()
            st = subprocess.run(["git", "-C", str(src), "status", "--porcelain", "--untracked-files=no"],
                                capture_output=True, text=True, timeout=10)
            dirty = bool(st.stdout.strip()) if st.returncode == 0 else None
    return {"prover": __version__, "git_commit": commit, "git_dirty": dirty}


# ---------------------------------------------------------------------------- backends


@dataclass(frozen=True)
class Reply:
    worker: int
    ok: bool
    value: Any  # the method's return value, or a description of the failure


class Backend(Protocol):
    def start(self, n: int) -> list[dict[str, Any]]: ...
    def submit(self, worker: int, method: str, args: tuple[Any, ...]) -> None: ...
    def poll(self, timeout: float) -> list[Reply]: ...
    def alive(self) -> list[int]: ...
    def close(self) -> None: ...


def _die_with_parent() -> None:
    """Linux: have the kernel kill this worker when the driver dies (even by SIGKILL)."""
    with contextlib.suppress(OSError, AttributeError):
        import ctypes
        import signal

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG


def _worker_main(idx: int, config: WorkerConfig, versions: dict[str, Any], inbox: Any, outbox: Any,
                 parent: int) -> None:
    _die_with_parent()
    worker = BenchWorker(config, versions)
    try:
        try:
            outbox.put((idx, True, worker.ready()))
        except Exception as e:  # any start-up fault goes back to the driver, which says what failed
            outbox.put((idx, False, f"worker {idx} could not start Lean: {type(e).__name__}: {e}"))
            return
        while True:
            try:
                msg = inbox.get(timeout=1.0)
            except queue.Empty:
                if os.getppid() != parent:  # the driver is gone (where PDEATHSIG is unavailable)
                    return
                continue
            if msg is None:
                return
            method, args = msg
            try:
                outbox.put((idx, True, getattr(worker, method)(*args)))
            except Exception as e:  # one problem's fault must not end the worker: report it
                outbox.put((idx, False, f"{type(e).__name__}: {e}"))
    finally:
        worker.close()


class LocalBackend:
    """N worker processes (spawned, each with its own Lean server)."""

    def __init__(self, config: WorkerConfig, versions: dict[str, Any]) -> None:
        self.config = config
        self.versions = versions
        self._ctx = mp.get_context("spawn")
        self._procs: list[Any] = []
        self._inboxes: list[Any] = []
        self._outbox: Any = self._ctx.Queue()
        self._dead: set[int] = set()

    def start(self, n: int) -> list[dict[str, Any]]:
        for i in range(n):
            inbox = self._ctx.Queue()
            p = self._ctx.Process(target=_worker_main, name=f"prover-bench-{i}", daemon=True,
                                  args=(i, self.config, self.versions, inbox, self._outbox, os.getpid()))
            p.start()
            self._procs.append(p)
            self._inboxes.append(inbox)
        ready: dict[int, dict[str, Any]] = {}
        errors: list[str] = []
        deadline = time.monotonic() + READY_TIMEOUT_S
        while len(ready) + len(errors) < n and time.monotonic() < deadline:
            for r in self.poll(5.0):
                if r.ok:
                    ready[r.worker] = r.value
                else:
                    errors.append(str(r.value))
                    self._dead.add(r.worker)
        if not ready:
            raise BenchRunError("no worker could start Lean: " + ("; ".join(errors) or "timed out"))
        return [ready[i] for i in sorted(ready)]

    def submit(self, worker: int, method: str, args: tuple[Any, ...]) -> None:
        self._inboxes[worker].put((method, args))

    def poll(self, timeout: float) -> list[Reply]:
        out: list[Reply] = []
        try:
            out.append(Reply(*self._outbox.get(timeout=timeout)))
            while True:
                out.append(Reply(*self._outbox.get_nowait()))
        except queue.Empty:
            pass
        for i, p in enumerate(self._procs):
            if i not in self._dead and not p.is_alive():
                self._dead.add(i)
                out.append(Reply(i, False, f"worker {i} exited (code {p.exitcode})"))
        return out

    def alive(self) -> list[int]:
        return [i for i in range(len(self._procs)) if i not in self._dead]

    def close(self) -> None:
        for i, inbox in enumerate(self._inboxes):
            if i not in self._dead:
                with contextlib.suppress(OSError, ValueError):
                    inbox.put(None)
        for p in self._procs:
            p.join(timeout=60)
            if p.is_alive():
                p.kill()
                p.join(timeout=10)


class InlineBackend:
    """One worker in this process on a server the caller owns (notebooks, tests)."""

    def __init__(self, config: WorkerConfig, versions: dict[str, Any], server: LeanClient) -> None:
        self._worker = BenchWorker(config, versions, server=server)
        self._replies: list[Reply] = []

    def start(self, n: int) -> list[dict[str, Any]]:
        return [self._worker.ready()]

    def submit(self, worker: int, method: str, args: tuple[Any, ...]) -> None:
        self._replies.append(Reply(worker, True, getattr(self._worker, method)(*args)))

    def poll(self, timeout: float) -> list[Reply]:
        out, self._replies = self._replies, []
        return out

    def alive(self) -> list[int]:
        return [0]

    def close(self) -> None:
        self._worker.close()  # leaves a server it was given running


class RayBackend:
    """The same workers as Ray actors: `address` "auto" (a running cluster, else a local instance),
    "local" (always a new local instance) or a cluster address."""

    def __init__(self, config: WorkerConfig, versions: dict[str, Any], address: str = "auto",
                 init_kwargs: dict[str, Any] | None = None) -> None:
        self.config = config
        self.versions = versions
        self.address = address
        self.init_kwargs = dict(init_kwargs or {})
        self._actors: list[Any] = []
        self._refs: dict[Any, int] = {}
        self._dead: set[int] = set()
        self._started_ray = False

    def _init(self, n: int) -> bool:
        """Connect to or start Ray; True when this is a cluster (not an instance started here)."""
        import ray

        if ray.is_initialized():
            return False
        # Local workers must import this source tree and use the same Lean cache as the driver.
        env = {k: v for k, v in os.environ.items() if k in ("PYTHONPATH", "PROVER_CACHE_DIR")}
        kwargs = {"runtime_env": {"env_vars": env}, "include_dashboard": False,
                  "log_to_driver": False, **self.init_kwargs}
        if self.address != "local":
            try:
                ray.init(address=self.address, **kwargs)
                self._started_ray = True
                return True
            except ConnectionError:
                if self.address != "auto":
                    raise
        ray.init(num_cpus=kwargs.pop("num_cpus", n), **kwargs)
        self._started_ray = True
        return False

    def start(self, n: int) -> list[dict[str, Any]]:
        import ray

        try:
            cluster = self._init(n)
        except (ConnectionError, RuntimeError, ValueError) as e:
            raise BenchRunError(f"cannot reach Ray at {self.address!r}: {e}") from e
        # On a cluster, Ray places actors by memory too: one Lean server each.
        opts: dict[str, Any] = {"num_cpus": 1, "max_concurrency": 1}
        if cluster:
            opts["memory"] = SERVER_MEMORY_BYTES
        actor_cls = ray.remote(BenchWorker).options(**opts)
        self._actors = [actor_cls.remote(self.config, self.versions) for _ in range(n)]
        refs = [a.ready.remote() for a in self._actors]
        ready: list[dict[str, Any]] = []
        errors: list[str] = []
        for i, ref in enumerate(refs):
            try:
                ready.append(ray.get(ref, timeout=READY_TIMEOUT_S))
            except (ray.exceptions.RayError, TimeoutError) as e:
                self._dead.add(i)
                errors.append(f"actor {i}: {e}")
        if not ready:
            raise BenchRunError("no Ray actor could start Lean: " + "; ".join(errors))
        return ready

    def submit(self, worker: int, method: str, args: tuple[Any, ...]) -> None:
        ref = getattr(self._actors[worker], method).remote(*args)
        self._refs[ref] = worker

    def poll(self, timeout: float) -> list[Reply]:
        import ray

        if not self._refs:
            return []
        done, _ = ray.wait(list(self._refs), num_returns=1, timeout=timeout)
        out = []
        for ref in done:
            worker = self._refs.pop(ref)
            try:
                out.append(Reply(worker, True, ray.get(ref)))
            except ray.exceptions.RayActorError as e:
                self._dead.add(worker)
                out.append(Reply(worker, False, f"actor {worker} died: {e}"))
            except ray.exceptions.RayError as e:
                out.append(Reply(worker, False, f"{type(e).__name__}: {e}"))
        return out

    def alive(self) -> list[int]:
        return [i for i in range(len(self._actors)) if i not in self._dead]

    def close(self) -> None:
        import ray

        for i, a in enumerate(self._actors):
            if i not in self._dead:
                with contextlib.suppress(ray.exceptions.RayError):
                    ray.get(a.close.remote(), timeout=60)
            with contextlib.suppress(ray.exceptions.RayError, ValueError):
                ray.kill(a)
        self._actors = []
        if self._started_ray:
            ray.shutdown()


# ---------------------------------------------------------------------------- the run


@dataclass(frozen=True)
class RunOutcome:
    results: tuple[ProblemResult, ...]  # every record in the log, resumed ones included
    new: int  # records written by this run
    needs_mathlib: tuple[str, ...]  # problems of this run that cannot run on this Lean
    refuted: tuple[str, ...]
    versions: dict[str, Any]


def mathlib_notice(names: list[str], total: int) -> str:
    """The one message about statements this Lean cannot elaborate for lack of Mathlib."""
    shown = ", ".join(names[:12]) + (f", … ({len(names) - 12} more)" if len(names) > 12 else "")
    return (
        f"{len(names)} of {total} statements need Mathlib, which this Lean does not have "
        f"(Lean elaborated each with `sorry`: neither with its published header nor in core Lean "
        f"with the notation prelude); they are recorded as `needs_mathlib` and not searched: {shown}.\n"
        "To run them: install a native Lean toolchain (elan), uncomment the Mathlib `require` in "
        "lean_project/lakefile.toml, run `lake update && lake exe cache get` there, add `public import "
        "Mathlib` to lean_project/ProverServer/Header.lean, and run the same command with `--runtime native` "
        "(steps in prover/bench/README.md)."
    )


def run_benchmark(config: RunConfig, problems: list[Problem], *, observer: RunObserver | None = None,
                  backend: Backend | None = None) -> RunOutcome:
    """Run `problems` under `config`, appending to `config.results_path`.

    Raises:
        BenchRunError: the results log exists without `resume` or holds other settings, or no
            worker could be started, or every worker died with problems left.
    """
    obs = observer or RunObserver()
    path = config.results_path
    previous = _previous(config, path)
    done = {(r.benchmark, r.id) for r in previous}
    todo = [p for p in problems if (p.benchmark, p.id) not in done]
    versions = driver_versions()
    if not todo:
        obs.started(len(problems), len(problems))
        return RunOutcome(tuple(previous), 0, (), (), versions)
    n = min(config.workers or default_workers(), len(todo))
    if backend is None:
        backend = (LocalBackend(config.worker, versions) if config.ray is None
                   else RayBackend(config.worker, versions, config.ray))
    log = ResultsLog(path)
    new: list[ProblemResult] = []
    try:
        worker_versions = backend.start(n)
        versions = {**versions, **worker_versions[0]}
        classes = dict(_dispatch(backend, "classify", [(p,) for p in todo],
                                 lambda task, why: _fault_class(why)))
        needs = [p.id for p in todo if classes[p.id].elaboration is Elaboration.NEEDS_MATHLIB]
        refuted = [p.id for p in todo if classes[p.id].snippet is not None and classes[p.id].refuted]
        if needs:
            obs.notice(mathlib_notice(needs, len(todo)))
        if refuted:
            obs.notice(f"{len(refuted)} statements refuted by the numeric checker, not searched: "
                       + ", ".join(refuted))
        obs.started(len(problems), len(problems) - len(todo))
        # Problems that cannot run go first: their records are immediate.
        order = sorted(todo, key=lambda p: classes[p.id].runnable)

        def fault(task: tuple[Any, ...], why: str) -> ProblemResult:
            return _fault_result(task[0], task[1], why, config.worker, versions)

        def record(result: ProblemResult) -> None:
            log.append(result)
            new.append(result)
            obs.finished(result)

        for p in order:
            if classes[p.id].error_kinds == (WORKER_FAULT,):
                record(fault((p, classes[p.id]), classes[p.id].first_error))
        runs = [(p, classes[p.id]) for p in order if classes[p.id].error_kinds != (WORKER_FAULT,)]
        for _, result in _dispatch(backend, "run", runs, fault):
            record(result)
    finally:
        log.close()
        backend.close()
    return RunOutcome(tuple(previous + new), len(new), tuple(needs), tuple(refuted), versions)


def _previous(config: RunConfig, path: Path) -> list[ProblemResult]:
    if not path.exists() or path.stat().st_size == 0:
        return []
    if not config.resume:
        raise BenchRunError(f"{path} already holds results: pass --resume to continue that run, "
                            "or choose another --out")
    previous = read_results(path, repair=True)
    want = config.worker.settings()
    for r in previous:
        if r.settings != want:
            diff = sorted(k for k in set(want) | set(r.settings) if want.get(k) != r.settings.get(k))
            raise BenchRunError(f"{path} holds results made with other settings ({', '.join(diff)} "
                                f"differ, e.g. for {r.name}); resume with the same options or choose "
                                "another --out")
    return previous


def _dispatch(backend: Backend, method: str, tasks: Iterable[tuple[Any, ...]],
              on_fault: Any) -> Iterator[tuple[str, Any]]:
    """Run `method(*task)` for every task, one at a time per worker; yields (problem id, value)
    as each finishes. A task whose worker failed or died yields `on_fault(task, why)`."""
    pending = deque(tasks)
    in_flight: dict[int, tuple[Any, ...]] = {}
    while pending or in_flight:
        alive = backend.alive()
        if not alive and pending:
            raise BenchRunError(f"every worker died; {len(pending)} problems were not run")
        for w in alive:
            if w not in in_flight and pending:
                task = pending.popleft()
                backend.submit(w, method, task)
                in_flight[w] = task
        for reply in backend.poll(1.0):
            task = in_flight.pop(reply.worker, None)
            if task is None:
                continue
            yield task[0].id, (reply.value if reply.ok else on_fault(task, str(reply.value)))


def _fault_class(why: str) -> Classification:
    # Not searched; the driver writes an `error` record with the reason.
    return Classification(Elaboration.INVALID, None, (WORKER_FAULT,), why[:300])


def _fault_result(problem: Problem, cls: Classification, why: str, config: WorkerConfig,
                  versions: dict[str, Any]) -> ProblemResult:
    return ProblemResult(
        benchmark=problem.benchmark, name=problem.name, id=problem.id, split=problem.split,
        category=problem.category,
        status=Status.ERROR, elaboration=cls.elaboration, numeric=cls.numeric,
        message=f"worker fault: {why}"[:1000], settings=config.settings(), versions=versions,
        finished_at=datetime.now(timezone.utc).isoformat(timespec="seconds"))
