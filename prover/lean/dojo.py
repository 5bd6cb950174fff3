"""LeanDojo backend: the same proof interface (`open_proof` / `run_tactic` / `forget` with our typed
results) over `lean_dojo.Dojo`, for users who have a repository traced by LeanDojo.

LeanDojo needs `lake` and a traced repo, which cannot exist on a machine without a native
toolchain; its real-path test is skipped there. `lean_dojo` is imported lazily, only when a
`DojoBackend` is opened.

Not a runtime of `prover prove` or `search.api` (no `--runtime dojo`), and not offered in the
README: a search there could never report a proof. The search reports PROVED only after
`prover.verify.Verifier` re-checks the proof from scratch with our server's commands (`check`,
`parse`, `decl_info`, `replay`), which a LeanDojo session does not have; the theorem lives in the
traced repository's environment, which our server has not loaded. The numeric policy and prune
hook read Lean's typed goals (`goal_terms`), which LeanDojo does not give either. What remains is
this adapter for scripts that step through a traced theorem by hand.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prover.lean.errors import InvalidRequest, LeanCrashed, LeanTimeout
from prover.lean.results import ParseResult
from prover.lean.server import TacticGuard
from prover.lean.types import (
    ErrorKind,
    Goal,
    Hypothesis,
    LeanError,
    ProofFinished,
    ProofState,
    TacticResult,
)

_CASE = re.compile(r"^case (\S+)$")


def parse_pretty_goals(pp: str) -> tuple[Goal, ...]:
    """Split Lean's pretty-printed goals (`a b : Nat\\n⊢ a + b = b + a`, several separated by blank
    lines, optionally headed `case tag`) into structured goals.

    Used where only the text is available (LeanDojo); our own server reports structure directly.
    A hypothesis line `x y : T` gives one `Hypothesis` per name; continuation lines (indented)
    belong to the previous hypothesis or target.
    """
    if pp.strip() in ("", "no goals"):
        return ()
    goals: list[Goal] = []
    for block in re.split(r"\n\s*\n", pp.strip()):
        lines = block.split("\n")
        tag = None
        if m := _CASE.match(lines[0]):
            tag, lines = m.group(1), lines[1:]
        entries: list[str] = []
        for line in lines:
            if line.startswith((" ", "\t")) and entries:
                entries[-1] += "\n" + line
            else:
                entries.append(line)
        hyps: list[Hypothesis] = []
        target = ""
        for entry in entries:
            if entry.startswith("⊢"):
                target = entry[1:].strip()
                continue
            names, sep, typ = entry.partition(" : ")
            if not sep:
                continue
            value = None
            if " := " in typ:
                typ, value = typ.split(" := ", 1)
            hyps.extend(Hypothesis(n, typ.strip(), value) for n in names.split())
        goals.append(Goal(tuple(hyps), target, block, tag))
    return tuple(goals)


@dataclass(frozen=True)
class DojoTheorem:
    """Where the theorem lives in a LeanDojo-traced repository."""

    repo_url: str
    commit: str
    file_path: Path
    full_name: str


class DojoBackend:
    """One theorem in LeanDojo, behind the `LeanServer` proof interface. A context manager."""

    def __init__(self, theorem: DojoTheorem, *, timeout: int = 600, guard: TacticGuard | None = None,
                 dojo_factory: Any = None) -> None:
        """`dojo_factory(theorem, timeout)` builds the Dojo; default: the real `lean_dojo.Dojo`."""
        self.theorem = theorem
        self.timeout = timeout
        self.guard = guard
        self._factory = dojo_factory
        self._dojo: Any = None
        self._ctx: Any = None
        self._states: dict[int, Any] = {}
        self._paths: dict[int, tuple[str, ...]] = {}
        self._ids = itertools.count(1)

    def _real_factory(self, theorem: DojoTheorem, timeout: int) -> Any:
        import lean_dojo  # a heavy optional dependency: `pip install prover[dojo]`

        repo = lean_dojo.LeanGitRepo(theorem.repo_url, theorem.commit)
        return lean_dojo.Dojo(lean_dojo.Theorem(repo, theorem.file_path, theorem.full_name),
                              timeout=timeout)

    def open_proof(self, snippet: str = "") -> ProofState | LeanError:
        """Enter the theorem (the snippet is ignored: LeanDojo locates it in the traced repo)."""
        factory = self._factory or self._real_factory
        self._ctx = factory(self.theorem, self.timeout)
        try:
            self._dojo, init = self._ctx.__enter__()
        except Exception as e:  # LeanDojo raises its own DojoInitError and plain errors alike
            return LeanError(ErrorKind.ELABORATION, reason=f"LeanDojo could not open the theorem: {e}")
        return self._wrap(init, ())

    def _wrap(self, st: Any, path: tuple[str, ...]) -> ProofState:
        sid = next(self._ids)
        self._states[sid] = st
        self._paths[sid] = path
        return ProofState(sid, parse_pretty_goals(st.pp), path)

    def run_tactic(self, state: ProofState | int, tactic: str, *, timeout: float | None = None,
                   heartbeats: int | None = None) -> TacticResult:
        sid = state.id if isinstance(state, ProofState) else state
        if sid not in self._states or self._dojo is None:
            raise InvalidRequest(f"unknown proof state {sid}")
        if not tactic.strip() or "\x00" in tactic:
            return LeanError(ErrorKind.REJECTED, reason="empty tactic or NUL character")
        if self.guard is not None and (why := self.guard.check_tactic(tactic, ParseResult(True))):
            return LeanError(ErrorKind.REJECTED, reason=why)
        path = (*self._paths[sid], tactic)
        try:
            res = self._dojo.run_tac(self._states[sid], tactic)
        except Exception as e:
            name = type(e).__name__
            if "Timeout" in name:
                raise LeanTimeout(f"LeanDojo: {e}") from e
            if "Crash" in name:
                raise LeanCrashed(f"LeanDojo: {e}") from e
            raise
        kind = type(res).__name__
        if kind == "TacticState":
            return self._wrap(res, path)
        if kind == "ProofFinished":
            return ProofFinished(next(self._ids), path)
        if kind == "ProofGivenUp":
            return LeanError(ErrorKind.REJECTED, reason="the proof contains `sorry`")
        return LeanError(ErrorKind.ELABORATION, reason=str(getattr(res, "error", res)))

    def forget(self, states: list[ProofState | int]) -> None:
        for s in states:
            sid = s.id if isinstance(s, ProofState) else s
            self._states.pop(sid, None)
            self._paths.pop(sid, None)

    def close(self) -> None:
        if self._ctx is not None:
            self._ctx.__exit__(None, None, None)
            self._ctx = self._dojo = None

    def __enter__(self) -> DojoBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
