"""What Lean decides about candidate statements: does one elaborate, are two the same statement.

* `elaborate_statement`: the guarded reader (`prover.lean.reader.read_snippet`: Lean reads the
  snippet command by command, `SyntaxGuard` decides on every parse tree, Lean audits the header),
  then the statement composed as `theorem <fresh> <signature> := sorry` (re-parsed by Lean,
  `compose_statement`) must elaborate with no error into a theorem. The environment holding it is
  kept for the comparisons below; `release` forgets it.
* `same_statement`: the elaborated types are equal up to alpha-renaming (the server's `decl`
  request, Lean's `Expr` equality, which ignores binder names), or, for statements read under
  the same header, definitionally equal with only reducible definitions unfolded (`≥`, `>`, `≠`
  are reducible notation over `≤`, `<`, `= → False`): `example : type_of% @a = type_of% @b :=
  by with_reducible rfl`.
* `equivalent`: `same_statement`, or Lean proves each from the other within a small heartbeat
  budget (both directions, as the BEq metric does), with a short fixed list of tactics; a
  direction those tactics prove without the other statement does not count.

Every verdict here comes from Lean's structured replies (error severity, the `decl` reply),
never from the text of a message.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from prover.lean.client import LeanClient
from prover.lean.guard import SyntaxGuard
from prover.lean.reader import ReadError, ReadStage, compose_statement, read_snippet, statement_name
from prover.lean.types import LeanMessage

# Tactics tried, in order, to prove one statement from the other (`h` is the other).
EQUIV_TACTICS = ("exact h", "intros; apply h <;> assumption", "intros; simp_all", "intros; omega")


class Rejection(str, Enum):
    """Where Lean's reading of a statement stopped."""

    PARSE = "parse"  # Lean cannot read it (or it is not one theorem at the end)
    GUARD = "guard"  # the guard or Lean's audit refused a command or the signature
    TYPECHECK = "typecheck"  # it does not elaborate (header or statement)


@dataclass(frozen=True)
class Rejected:
    """A statement Lean did not accept, and where."""

    where: Rejection
    reason: str
    messages: tuple[LeanMessage, ...] = ()


@dataclass(frozen=True)
class Elaborated:
    """A statement that elaborated (with `sorry`). `decl_env` holds declaration `name`."""

    header: tuple[str, ...]  # the header commands as Lean read them
    signature: str  # binders and type, verbatim
    name: str  # the fresh declaration name in `decl_env`
    code: str  # the composed `theorem <name> <signature> := sorry`
    env: int  # the header's environment (0: none)
    decl_env: int


_READ_REJECTION = {ReadStage.INPUT: Rejection.PARSE, ReadStage.PARSE: Rejection.PARSE,
                   ReadStage.GUARD: Rejection.GUARD, ReadStage.MEANING: Rejection.GUARD,
                   ReadStage.HEADER: Rejection.TYPECHECK}


def elaborate_statement(lean: LeanClient, snippet: str, *, guard: SyntaxGuard | None = None,
                        timeout: float | None = None) -> Elaborated | Rejected:
    """Read `snippet` through the guard and elaborate its final statement with `sorry`.

    The caller owns the environments of an `Elaborated` and hands it to `release`.

    Raises:
        LeanServerError: an infrastructure fault (not a verdict on the statement).
    """
    reading = read_snippet(lean, snippet, guard or SyntaxGuard(), timeout=timeout)
    if isinstance(reading, ReadError):
        return Rejected(_READ_REJECTION[reading.stage], reading.reason, reading.messages)
    st = reading.statement
    if st.proof is not None:  # `normalise` drops proofs; a term after `:=` here is a defect
        _forget(lean, reading.env)
        return Rejected(Rejection.PARSE, "the statement carries a proof")
    name = statement_name(st)
    code = compose_statement(lean, st, name, "sorry", env=reading.env)
    if isinstance(code, ReadError):
        _forget(lean, reading.env)
        return Rejected(Rejection.PARSE, code.reason, code.messages)
    result = lean.check(code, env=reading.env, keep=True, timeout=timeout)
    if not result.ok or result.env_id is None:
        if result.env_id is not None:
            _forget(lean, result.env_id)
        _forget(lean, reading.env)
        return Rejected(Rejection.TYPECHECK, "the statement does not elaborate: " + result.first_error(),
                        result.errors)
    info = lean.decl_info(result.env_id, name)
    if not info.found or info.kind != "theorem":
        _forget(lean, result.env_id)
        _forget(lean, reading.env)
        return Rejected(Rejection.TYPECHECK, "no theorem came out of the statement")
    return Elaborated(reading.header_commands, st.signature, name, code, reading.env, result.env_id)


def release(lean: LeanClient, e: Elaborated) -> None:
    """Forget the environments an `Elaborated` holds."""
    _forget(lean, e.decl_env)
    _forget(lean, e.env)


def _forget(lean: LeanClient, env: int) -> None:
    if env:
        lean.forget_env(env)


class Sameness(str, Enum):
    """How Lean showed two statements to be the same."""

    ALPHA = "alpha"  # elaborated types equal up to bound-variable names (Expr equality)
    REDUCIBLE_DEFEQ = "reducible_defeq"  # equal once reducible definitions (notation) unfold
    PROVED_EQUIVALENT = "proved_equivalent"  # each proved from the other within the budget


def _together(lean: LeanClient, a: Elaborated, b: Elaborated, goal: str, heartbeats: int,
              timeout: float | None) -> bool:
    """Whether `goal` (a command naming a and b) elaborates with `b` added to `a`'s environment.
    Only for statements read under the same header, so `b`'s composed text means the same there."""
    code = f"{b.code}\nset_option maxHeartbeats {heartbeats} in\n{goal}\n"
    return bool(lean.check(code, env=a.decl_env, timeout=timeout).ok)


def same_statement(lean: LeanClient, a: Elaborated, b: Elaborated, *, heartbeats: int = 20_000,
                   timeout: float | None = None) -> Sameness | None:
    """How Lean shows `a` and `b` to state the same thing, or None (not shown)."""
    info = lean.decl_info(a.decl_env, a.name, compare_env=b.decl_env, compare_name=b.name)
    if info.same_type is True:
        return Sameness.ALPHA
    if a.header != b.header:
        return None
    goal = f"example : type_of% @{a.name} = type_of% @{b.name} := by with_reducible rfl"
    return Sameness.REDUCIBLE_DEFEQ if _together(lean, a, b, goal, heartbeats, timeout) else None


def equivalent(lean: LeanClient, a: Elaborated, b: Elaborated, *, heartbeats: int = 20_000,
               timeout: float | None = None) -> Sameness | None:
    """`same_statement`, or each of `a`, `b` proved from the other (`EQUIV_TACTICS`)."""
    same = same_statement(lean, a, b, heartbeats=heartbeats, timeout=timeout)
    if same is not None or a.header != b.header:
        return same
    # `done` makes an alternative that leaves a goal open fail, so `first` tries the next one.
    tactics = " | ".join(f"({t}; done)" for t in EQUIV_TACTICS)
    for x, y in ((a, b), (b, a)):
        # A direction the tactics prove without the other statement says nothing (any two true
        # statements would be "equivalent"), so it does not count.
        alone = f"example : type_of% @{y.name} := by first | {tactics}"
        if _together(lean, a, b, alone, heartbeats, timeout):
            return None
        goal = f"example (h : type_of% @{x.name}) : type_of% @{y.name} := by first | {tactics}"
        if not _together(lean, a, b, goal, heartbeats, timeout):
            return None
    return Sameness.PROVED_EQUIVALENT
