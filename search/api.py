"""The Python API of `prover prove` (usable from a notebook): turn a statement or a theorem in a
`.lean` file into a snippet, choose a policy and a value model by name (`search.registry`), and
run the search (assembled by `search.assemble`).

    >>> from search.api import prove
    >>> result = prove("theorem t (n : Nat) : 0 + n = n")
    >>> result.status, result.proof
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from prover.lean import InvalidRequest, LeanConfig, LeanServer
from prover.lean.snippet import mask_comments_and_strings, split_snippet, top_level_assign
from search.best_first import ProgressCallback, ProofVerifier, PruneHook, SearchConfig
from search.interfaces import Policy, ValueModel
from search.registry import make_policy, make_value
from search.result import SearchResult

__all__ = ["StatementError", "as_snippet", "load_theorem", "make_policy", "make_value", "prove"]
_IMPORT = re.compile(r"(?m)^[ \t]*import[ \t]+(Lean|Init|Std)(\.[\w.]+)?[ \t]*$")


class StatementError(ValueError):
    """The statement or the named theorem cannot be turned into something to prove."""


def as_snippet(statement: str) -> str:
    """A snippet for `open_proof`: a `theorem`/`lemma`/`example` (with any definitions before it),
    or a bare proposition, which becomes `theorem goal : <proposition>`.

    A trailing `:= by`, `:= by sorry` or `:= sorry` is dropped.

    Raises:
        StatementError: empty, or the last theorem already carries a proof.
    """
    text = statement.strip()
    if not text:
        raise StatementError("the statement is empty")
    text = _IMPORT.sub("", text)
    masked = mask_comments_and_strings(text)
    if not re.search(r"(?m)^\s*(?:@\[[^\]]*\]\s*)?(?:private\s+|protected\s+)*(theorem|lemma|example)\b",
                     masked):
        text = f"theorem goal : {text}"
    try:
        parts = split_snippet(text)
    except InvalidRequest as e:
        raise StatementError(str(e)) from None
    return f"{parts.header}{parts.statement} := by"


def load_theorem(path: str | Path, name: str) -> str:
    """The snippet for theorem `name` in a `.lean` file: everything before it, and its statement
    without its proof. Imports of Lean's own core (`Lean`, `Init`, `Std`) are dropped: the
    server has them already.

    Raises:
        StatementError: no such theorem in the file.
        OSError: the file cannot be read.
    """
    text = Path(path).read_text(encoding="utf-8")
    masked = mask_comments_and_strings(text)
    short = re.escape(name)
    m = re.search(
        rf"(?m)^[ \t]*(?:@\[[^\]\n]*\][ \t\n]*)?(?:(?:private|protected|nonrec)[ \t]+)*"
        rf"(?:theorem|lemma)[ \t]+(?:[\w.]*\.)?{short}(?=[\s:({{\[⦃])", masked)
    if m is None:
        raise StatementError(f"no theorem named {name!r} in {path}")
    start = m.start()
    rest = masked[start:]
    end = _statement_end(rest)
    snippet = text[:start] + text[start:start + end].rstrip()
    return as_snippet(snippet)


def _statement_end(masked: str) -> int:
    """Index of the `:=` (or `|` for equation-style proofs) ending a declaration's signature."""
    end = top_level_assign(masked, equations=True)
    return len(masked) if end < 0 else end


def prove(statement: str, *, server: LeanServer | None = None, policy: Policy | str | None = None,
          value: ValueModel | str | None = "goal-size", config: SearchConfig | None = None,
          numeric_prune: bool = True, prune_hook: PruneHook | None = None,
          verifier: ProofVerifier | None = None, progress: ProgressCallback | None = None,
          lean_config: LeanConfig | None = None, model: str | None = None,
          options: Mapping[str, Any] | None = None) -> SearchResult:
    """Search for a proof of `statement` (see `as_snippet` for what it may be), assembled by
    `search.assemble.assemble`.

    Args:
        statement: a theorem (definitions may precede it) or a bare proposition.
        server: a Lean server to use; default: start one for this call and close it after.
        policy: a `Policy`, or a name in `search.registry` (model policies also need `model`);
            default: the strongest installed (`search.registry.default_policy`).
        value: a `ValueModel`, a name in `search.registry`, or None.
        config: search budgets and weights.
        numeric_prune: prune states whose goals the numeric checker refutes.
        prune_hook: a hook of your own (replaces the numeric one).
        verifier: default `prover.verify.Verifier(server)`.
        progress: called after every expansion.
        lean_config: for the server started here when `server` is None.
        model: the model of a policy given by name ("transformers", "http", "learned").
        options: keywords of a policy given by name.

    Returns:
        The search result (its `policy` says which ran); its status is PROVED only for a proof
        verified from scratch.

    Raises:
        StatementError: the statement is unusable before Lean sees it.
        RegistryError: an unknown policy or value name, a missing model, an option not taken.
        LeanServerError: Lean could not be started.
    """
    from search.assemble import SearchSetup, assemble

    snippet = as_snippet(statement)
    setup = SearchSetup(numeric_prune=numeric_prune, budget=config or SearchConfig())
    if isinstance(policy, str):
        setup = replace(setup, policy=policy, model=model, policy_options=tuple((options or {}).items()))
    if isinstance(value, str) or value is None:
        setup = replace(setup, value=value or "none")
    obj_policy = None if policy is None or isinstance(policy, str) else policy
    obj_value = None if isinstance(value, str) or value is None else value
    setup.check()
    own = server is None
    srv = server or LeanServer(lean_config)
    try:
        searcher = assemble(setup, srv, policy=obj_policy, value=obj_value, verifier=verifier,
                            prune_hook=prune_hook, progress=progress)
        return searcher.search(snippet)
    finally:
        if own:
            srv.close()
