"""Verification from scratch: the only way a proof becomes "proved".

A proof found by search (or submitted by a user) counts only if all of this holds, checked in a
fresh Lean environment built from the snippet's header:

1. The inputs are text (valid UTF-8, no NUL, bounded size). The snippet is read by Lean command by
   command (`prover.lean.reader`): every header command and the theorem's signature pass the guard
   on their parse trees, new notation tokens are new to Lean, and Lean's audit finds no instance of
   a core class on core types and no declaration hiding a core name.
2. The proof parses as one Lean `term` (a tactic block is wrapped as `by …`) and passes the
   guard (`SyntaxGuard.check_proof`).
3. The verifier composes the checked command itself, `theorem <fresh> <signature> := <proof>`
   (with `debug.skipKernelTC` forced off and a heartbeat limit), and Lean's parser must read it back
   as one theorem whose signature and proof are exactly the parts that were guarded.
4. The statement alone (`:= sorry`, another fresh name, a sibling environment) elaborates, the
   candidate elaborates with no error, its declaration is a theorem (so the kernel checked it),
   not unsafe, and its type is `Expr`-identical to the statement's.
5. Kernel replay: every declaration the theorem depends on that came from submitted text (header
   lemmas and definitions included) is sent to the kernel again on top of the environment right
   after the import, where kernel checking was never switched off (as lean4checker does).
6. Its axioms pass `audit_axioms` (see there for the rule and why it is sound on both builds).
7. The server's reply stream saw nothing unexpected during the verification (no duplicate,
   out-of-order or wrongly framed reply): otherwise the verdict is a fault, never "proved".
"""

from __future__ import annotations

import contextlib
import re
import secrets
import textwrap
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import Enum

from prover.lean.client import LeanClient
from prover.lean.errors import InvalidRequest, LeanCrashed, LeanProtocolError, LeanServerError, LeanTimeout
from prover.lean.guard import SyntaxGuard
from prover.lean.reader import ReadError, ReadStage, compose_statement, read_snippet, statement_name
from prover.lean.snippet import ensure_text
from prover.lean.types import CommandResult, LeanMessage, indent_tactic

MAX_PROOF_CHARS = 100_000

ALLOWED_AXIOMS = frozenset({"propext", "Quot.sound", "Classical.choice"})
# The real axioms of Lean's own library besides the three above, each a way to prove anything or
# to trust compiled code instead of the kernel.
UNSOUND_AXIOMS: dict[str, str] = {
    "sorryAx": "`sorry` was used",
    "Lean.ofReduceBool": "`native_decide`/`decide +native` trusts compiled code (`Lean.ofReduceBool`)",
    "Lean.ofReduceNat": "trusts compiled code (`Lean.ofReduceNat`)",
    "Lean.reduceBool": "trusts compiled code (`Lean.reduceBool`)",
    "Lean.reduceNat": "trusts compiled code (`Lean.reduceNat`)",
    "Lean.trustCompiler": "trusts the compiler (`Lean.trustCompiler`)",
}
# Imported names that look like axioms: on the embedded build they cannot be told from theorems,
# so they are refused rather than trusted.
_AXIOM_LIKE = re.compile(r"(?i)sorry|axiom|trust|reduce_?(bool|nat)|unsafe|cheat|admit")

_RESOURCE_KINDS = ("runtime.maxHeartbeats", "runtime.maxRecDepth")


class Failure(str, Enum):
    """Why a proof was not accepted (one class per check, in the order they run)."""

    INPUT = "input"  # not text, not UTF-8, too large, empty, or no theorem statement
    GUARD = "guard"  # refused by the guard (the proof, or the header's commands)
    HEADER = "header"  # the commands before the theorem do not elaborate
    PARSE = "parse"  # the proof is not one term / tactic block, or escapes its theorem
    STATEMENT = "statement"  # the statement alone (with `sorry`) does not elaborate
    ELABORATION = "elaboration"  # Lean reported an error in the proof
    TIMEOUT = "timeout"  # heartbeats, recursion depth or wall clock ran out
    CRASH = "crash"  # the Lean process died on this proof
    NOT_THEOREM = "not_theorem"  # no safe theorem came out of it
    TYPE_MISMATCH = "type_mismatch"  # it proves something other than the statement
    KERNEL = "kernel"  # the kernel rejects a declaration it rests on, replayed from scratch
    AXIOM = "axiom"  # it rests on an axiom outside {propext, Quot.sound, Classical.choice}
    MEANING = "meaning"  # the header changes what core names or notation mean
    FAULT = "fault"  # the reply stream was tampered with during the check


@dataclass(frozen=True)
class Verification:
    """The verdict on one proof. `ok` is the only thing that may turn into "proved"."""

    ok: bool
    reason: str = ""  # empty when ok; else a sentence for a human
    failure: Failure | None = None
    # The axioms the proof rests on (on failure: the offending ones). Imported library theorems,
    # which the embedded build reports as axioms, are left out.
    axioms: tuple[str, ...] = ()
    seconds: float = 0.0
    messages: tuple[LeanMessage, ...] = ()  # Lean's messages for the failing step, if any
    code: str = ""  # the theorem command that was elaborated (for reproducing the verdict)

    def __str__(self) -> str:
        if self.ok:
            return f"proved (axioms: {', '.join(self.axioms) or 'none'}; {self.seconds:.2f} s)"
        failure = self.failure.value if self.failure is not None else "unknown"
        return f"not proved [{failure}]: {self.reason}"


def _fail(failure: Failure, reason: str, *, axioms: tuple[str, ...] = (),
          messages: tuple[LeanMessage, ...] = (), code: str = "") -> Verification:
    return Verification(False, reason, failure, axioms=axioms, messages=messages, code=code)


def audit_axioms(axioms: Iterable[tuple[str, str | None]], *,
                 imports_have_proofs: bool) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
    """Split a declaration's axioms (as `collectAxioms` reports them) into used and refused.

    The rule, per (name, module):
    * {propext, Quot.sound, Classical.choice}: accepted, reported.
    * a known unsound axiom of Lean's library (`sorryAx`, `Lean.ofReduceBool`, …): refused.
    * module None, i.e. declared by the submitted code (header or proof): refused, whatever its
      name; a header may declare axioms, but a proof that rests on one proves nothing.
    * imported, on a build whose imported theorems keep their proofs (native `.olean`):
      `collectAxioms` only lists real axioms there, so anything else is refused.
    * imported, on the embedded build, where imported theorems come without proofs and are
      listed like axioms: accepted (a library theorem, checked when the library was built) unless
      its name looks like an axiom. Sound because Lean's library declares no axioms besides the
      ones named above, and user code cannot add constants to an imported module.

    Returns:
        (accepted real axioms, refused (name, why) pairs).
    """
    used: list[str] = []
    bad: list[tuple[str, str]] = []
    for name, module in axioms:
        if name in ALLOWED_AXIOMS:
            used.append(name)
        elif name in UNSOUND_AXIOMS:
            bad.append((name, UNSOUND_AXIOMS[name]))
        elif module is None:
            bad.append((name, f"`{_display(name)}` is an axiom declared in the submitted code"))
        elif imports_have_proofs:
            bad.append((name, f"imported axiom `{name}` ({module}) is not allowed"))
        elif _AXIOM_LIKE.search(name.rsplit(".", 1)[-1]):
            bad.append((name, f"imported `{name}` ({module}) looks like an axiom"))
    return tuple(dict.fromkeys(used)), tuple(bad)


def _display(name: str) -> str:
    # Module-private names read `_private.<module>.0.<name>`: show the user's name.
    return name.split(".0.", 1)[1] if name.startswith("_private.") and ".0." in name else name


def proof_term(proof: str) -> str:
    """The proof as one Lean term: `:= t` gives `t`; a tactic block body gives `by` + the block.

    A tactic block keeps its relative indentation. `ProofFinished.script` indents every line by 2;
    a script whose first line lost that indent to a `strip()` (first line flush left, all others
    indented) gets it back, so `"intro h\n  omega"` means two tactics, not `intro h omega`.
    """
    stripped = proof.strip()
    if stripped.startswith(":="):
        return stripped[2:].strip()
    lines = proof.strip("\n").rstrip().split("\n")
    rest = [ln for ln in lines[1:] if ln.strip()]
    if rest and not lines[0][:1].isspace() and all(ln.startswith("  ") for ln in rest):
        lines[0] = "  " + lines[0]
    body = textwrap.dedent("\n".join(lines))
    return "by\n" + indent_tactic(body, 2) if body.strip() else ""


def _resource_error(m: LeanMessage) -> bool:
    return m.kind.endswith(_RESOURCE_KINDS)


class Verifier:
    """Re-checks proofs from scratch on a `LeanClient`. Holds no per-proof state."""

    def __init__(self, server: LeanClient, *, guard: SyntaxGuard | None = None,
                 heartbeats: int | None = None, timeout: float | None = None,
                 max_proof_chars: int = MAX_PROOF_CHARS) -> None:
        """
        Args:
            server: the Lean to check with (its own tactic guard does not matter here).
            guard: the rules for proofs and headers (default `SyntaxGuard()`).
            heartbeats: Lean's `maxHeartbeats` for elaborating the proof (default: the server's).
            timeout: wall clock for each Lean request (default: the server's request timeout).
            max_proof_chars: longer proofs are refused unread.

        Raises:
            TypeError: `server` lacks `anomalies` or `sync`, the reply-stream tripwire without
                which no verdict can be trusted.
        """
        missing = [m for m in ("anomalies", "sync") if not hasattr(server, m)]
        if missing:
            raise TypeError(f"{type(server).__name__} is not a LeanClient the verifier can trust: it has no "
                            f"{' or '.join(f'`{m}`' for m in missing)}, so a forged reply could not be "
                            "detected")
        self.server = server
        self.guard = guard or SyntaxGuard()
        self.heartbeats = heartbeats or server.config.heartbeats
        self.timeout = timeout or server.config.request_timeout
        self.max_proof_chars = max_proof_chars
        self._imports_have_proofs: bool | None = None

    def imports_have_proofs(self) -> bool:
        """Whether this Lean keeps imported theorems' proofs (native) or not (embedded build)."""
        if self._imports_have_proofs is None:
            probe = self.server.decl_info(0, "Nat.add_comm")
            self._imports_have_proofs = probe.found and probe.kind == "theorem"
        return self._imports_have_proofs

    def verify(self, snippet: str | bytes, proof: str | bytes | None = None) -> Verification:
        """Check `proof` of the theorem `snippet` ends with, from scratch.

        Args:
            snippet: header commands and the final theorem statement, as given to `open_proof`
                (it may end in `:= by`, `:= by sorry` or nothing).
            proof: a tactic block body (`ProofFinished.script`) or a full proof starting with `:=`;
                None when the snippet's theorem carries its own proof (`theorem t : P := by …`).

        Returns:
            The verdict; Lean's rejections, timeouts and crashes on this proof are verdicts too.

        Raises:
            LeanServerError: an infrastructure fault unrelated to the proof (protocol, startup).
        """
        t0 = time.monotonic()
        envs: list[int] = []
        # Any break of the reply stream while this verification's requests run (a forged,
        # duplicate or out-of-order reply) makes the verdict a fault, never "proved".
        anomalies = self.server.anomalies
        try:
            result = self._verify(snippet, proof, envs)
            if result.ok:
                self.server.sync()  # every reply to this verification's requests has been read
            if self.server.anomalies != anomalies:
                result = _fail(Failure.FAULT, "the Lean server's reply stream was tampered with during "
                                              "this verification")
        except InvalidRequest as e:
            result = _fail(Failure.INPUT, str(e))
        except LeanTimeout:
            result = _fail(Failure.TIMEOUT, f"Lean did not finish within {self.timeout:.0f} s")
        except LeanCrashed as e:
            result = _fail(Failure.CRASH, f"the Lean process died while checking this proof: {e}")
        except LeanProtocolError as e:
            result = _fail(Failure.FAULT, f"the Lean server's reply stream broke: {e}")
        finally:
            for env in reversed(envs):
                # A dead process has already lost them; nothing to release there.
                with contextlib.suppress(LeanServerError):
                    self.server.forget_env(env)
        return replace(result, seconds=time.monotonic() - t0)

    def _keep(self, code: str, env: int, envs: list[int]) -> CommandResult:
        """Elaborate `code` on `env`, keeping the result; its handle goes to `envs` (to forget)."""
        result = self.server.check(code, env=env, keep=True, timeout=self.timeout)
        if result.env_id is None:  # `keep=True` always yields a handle; anything else is a fault
            raise LeanServerError("Lean kept no environment for a `keep` request")
        envs.append(result.env_id)
        return result

    def _verify(self, snippet_in: str | bytes, proof_in: str | bytes | None, envs: list[int]) -> Verification:
        proof = None if proof_in is None else ensure_text(proof_in, "proof")
        if proof is not None and len(proof) > self.max_proof_chars:
            return _fail(Failure.INPUT, f"the proof has {len(proof)} characters; the limit is "
                                        f"{self.max_proof_chars}")
        # The reader checks the snippet's text itself (encoding, size, nesting).
        reading = read_snippet(self.server, snippet_in, self.guard, timeout=self.timeout)
        if isinstance(reading, ReadError):
            return _fail(_READ_FAILURE[reading.stage], reading.reason, messages=reading.messages)
        if reading.env:
            envs.append(reading.env)
        env, st = reading.env, reading.statement
        if proof is None:
            if st.proof is None:
                return _fail(Failure.INPUT, "no proof given, and the last theorem has none (`:= …`)")
            term = st.proof
        else:
            if st.proof is not None:
                return _fail(Failure.INPUT, "the snippet's theorem already carries a proof; pass the "
                                            "statement alone with a separate proof, or no proof")
            term = proof_term(proof)
        if not term:
            return _fail(Failure.INPUT, "the proof is empty")
        if len(term) > self.max_proof_chars:
            return _fail(Failure.INPUT,
                         f"the proof has {len(term)} characters; the limit is {self.max_proof_chars}")

        parsed = self.server.parse(term, "term", env=env)
        if not parsed.ok:
            return _fail(Failure.PARSE, f"the proof is not a single Lean term: {parsed.error}")
        if (why := self.guard.check_proof(term, parsed)) is not None:
            return _fail(Failure.GUARD, why)

        tag = secrets.token_hex(6)
        ref_name, cand_name = statement_name(st, f"stmt_{tag}"), statement_name(st, f"proof_{tag}")
        ref_code = compose_statement(self.server, st, ref_name, "sorry", env=env)
        if isinstance(ref_code, ReadError):
            return _fail(Failure.STATEMENT,
                         f"the statement does not stay inside one theorem: {ref_code.reason}")
        cand_code = compose_statement(
            self.server, st, cand_name, term, env=env,
            prefix=f"set_option debug.skipKernelTC false in\nset_option maxHeartbeats {self.heartbeats} in\n")
        if isinstance(cand_code, ReadError):
            return _fail(Failure.PARSE, f"the proof does not stay inside one theorem: {cand_code.reason}")

        ref = self._keep(ref_code, env, envs)
        ref_env = envs[-1]
        if not ref.ok:
            return _fail(Failure.STATEMENT, "the statement alone does not elaborate: " + ref.first_error(),
                         messages=ref.messages, code=ref_code)
        cand = self._keep(cand_code, env, envs)
        cand_env = envs[-1]
        if not cand.ok:
            failure = Failure.TIMEOUT if any(_resource_error(m) for m in cand.errors) else Failure.ELABORATION
            return _fail(failure, "Lean rejects the proof: " + cand.first_error(),
                         messages=cand.messages, code=cand_code)

        info = self.server.decl_info(cand_env, cand_name, compare_env=ref_env, compare_name=ref_name)
        if not info.found or info.kind != "theorem":
            return _fail(Failure.NOT_THEOREM, f"the proof produced no theorem (got {info.kind or 'nothing'})",
                         code=cand_code)
        if info.is_unsafe:
            return _fail(Failure.NOT_THEOREM, "the theorem is unsafe", code=cand_code)
        if info.same_type is not True:
            return _fail(Failure.TYPE_MISMATCH, "the proved type is not exactly the statement's type",
                         code=cand_code)
        replay = self.server.replay(cand_env, [cand_name], heartbeats=self.heartbeats, timeout=self.timeout)
        if replay.error is not None:
            return _fail(Failure.KERNEL, "the kernel rejects a declaration the proof rests on, replayed "
                                         f"from scratch: {replay.error}", code=cand_code)
        used, bad = audit_axioms(info.axioms, imports_have_proofs=self.imports_have_proofs())
        if bad:
            return _fail(Failure.AXIOM, "; ".join(why for _, why in bad),
                         axioms=tuple(_display(n) for n, _ in bad), code=cand_code)
        return Verification(True, axioms=used, messages=cand.messages, code=cand_code)


_READ_FAILURE = {ReadStage.INPUT: Failure.INPUT, ReadStage.PARSE: Failure.PARSE,
                 ReadStage.GUARD: Failure.GUARD, ReadStage.HEADER: Failure.HEADER,
                 ReadStage.MEANING: Failure.MEANING}

