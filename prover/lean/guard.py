"""The one guard for untrusted Lean text: header commands, theorem signatures, proofs and tactics.

Everything a model, a user or a benchmark file writes is parsed by Lean (against the environment
it will be elaborated in) before Lean elaborates it, and this guard decides from that parse tree
(`prover.lean.syntax`): node kinds, atoms, and identifiers as the names Lean read. Nothing here
reads raw text, so comments, string and char literals, guillemets and odd spacing change nothing.

* Proofs, tactics and terms (signatures): tactic kinds must be on an allowlist
  (`ALLOWED_TACTIC_KINDS`, extensible per instance but never over `DENIED_KINDS`); term kinds are
  inert data unless denied (meta code: `by_elab`, quotations; `sorry`; `unsafe`; attributes; any
  command node); denied atoms and identifiers are a second layer (`sorryAx`, `Lean.ofReduceBool`,
  `native`, `debug.*`); `set_option` only for the options in `ALLOWED_OPTIONS`, read from the
  option's identifier node, whatever its spelling.
* Header commands (`check_command`): an allowlist of command kinds (definitions, structures,
  instances, namespaces, `open`, `variable`, notation whose right side passes the term rules, ...);
  attributes and `deriving` handlers from allowlists; inside them the proof rules apply. Meta code in
  any form (`#eval`, `run_cmd`, `macro`, `syntax`, `elab`, `initialize`, code-registering
  attributes, `implemented_by`/`extern`, `unsafe`) is refused.

What the guard cannot see from syntax alone is checked by Lean after the header elaborates
(`LeanServer.audit`: instances of core classes on core types, declarations hiding core names) and
by the verifier (exact statement type, kernel replay of everything submitted, axiom audit). A
documented trusted mode (`SyntaxGuard(trusted=True)`) lets a user's own project files through; it
is never the default and never used for model output.
"""

from __future__ import annotations

from collections.abc import Iterable

import prover.lean.syntax as S
from prover.lean.results import ParseResult

# Kind -> why it is refused. Checked before the allowlist, so an allowlist extension cannot
# re-admit one of these by accident.
DENIED_KINDS: dict[str, str] = {
    "Lean.Parser.Tactic.tacticSorry": "`sorry` proves nothing",
    "Lean.Parser.Tactic.tacticAdmit": "`admit` proves nothing (it is `sorry`)",
    "Lean.Parser.Term.sorry": "`sorry` proves nothing",
    "Lean.Parser.Tactic.nativeDecide": "`native_decide` trusts compiled code (axiom `Lean.ofReduceBool`)",
    "Lean.Parser.Tactic.runTac": "`run_tac` runs arbitrary meta code (IO, environment changes)",
    "Lean.byElab": "`by_elab` runs arbitrary meta code",
    "Lean.runCmd": "`run_cmd` runs arbitrary meta code",
    "Lean.runElab": "`run_elab` runs arbitrary meta code",
    "Lean.runMeta": "`run_meta` runs arbitrary meta code",
    "Lean.Parser.Term.dynamicQuot": "syntax quotations belong to meta code, not proofs",
    "Lean.Parser.Command.unsafe": "`unsafe` declarations bypass the kernel's safety checks",
    "Lean.Parser.Tactic.open": "`open … in` changes what names and notations mean; use qualified names",
    "Lean.Parser.Term.open": "`open … in` changes what names and notations mean; use qualified names",
    "Lean.Parser.Term.unsafe": "`unsafe` terms bypass the kernel's safety checks",
    "Lean.Parser.Term.attributes": "attributes inside a proof change the environment's rules",
    "Lean.Parser.Term.attrInstance": "attributes inside a proof change the environment's rules",
    "Lean.Parser.Tactic.dbgTrace": "`dbg_trace` performs IO",
    "Lean.Parser.Term.dbgTrace": "`dbg_trace` performs IO",
    "Lean.Parser.Tactic.sleep": "`sleep` only burns wall-clock time",
    "Lean.Parser.Term.quot": "syntax quotations belong to meta code, not proofs",
    "Lean.Parser.Tactic.quot": "syntax quotations belong to meta code, not proofs",
}

# `set_option … in` nodes: allowed only for the options in `ALLOWED_OPTIONS`.
SET_OPTION_KINDS = frozenset({"Lean.Parser.Tactic.set_option", "Lean.Parser.Term.set_option",
                              "Lean.Parser.Command.set_option"})
# Limits that only make elaboration give up later; they cannot change what is accepted.
ALLOWED_OPTIONS = frozenset({
    "maxHeartbeats", "maxRecDepth", "synthInstance.maxHeartbeats", "synthInstance.maxSize",
    "exponentiation.threshold",
})
# Options whose value 0 means "no limit": capped so a proof cannot switch off Lean's own timeout.
CAPPED_OPTIONS = frozenset({"maxHeartbeats", "synthInstance.maxHeartbeats"})
# Recursion depth is capped lower: `set_option maxRecDepth 100000 in decide` overflowed the
# WebAssembly stack and killed the embedded Lean (each kill costs a restart of tens of seconds).
MAX_REC_DEPTH = 8192

# Atoms (keywords) that never belong in a proof; mostly unreachable in the tactic/term categories
# (they fail to parse), listed so a future parser extension cannot slip them through.
DENIED_ATOMS: dict[str, str] = {
    "sorry": "`sorry` proves nothing",
    "admit": "`admit` proves nothing",
    "native_decide": "`native_decide` trusts compiled code",
    "run_tac": "`run_tac` runs arbitrary meta code",
    "by_elab": "`by_elab` runs arbitrary meta code",
    "unsafe": "`unsafe` bypasses the kernel's safety checks",
    "implemented_by": "`implemented_by` swaps in untrusted compiled code",
    "extern": "`extern` swaps in untrusted compiled code",
    "macro": "macro definitions change the syntax",
    "macro_rules": "macro definitions change the syntax",
    "syntax": "syntax definitions change the syntax",
    "elab": "elaborator definitions run meta code",
    "elab_rules": "elaborator definitions run meta code",
    "notation": "notation definitions change the syntax",
    "infix": "notation definitions change the syntax",
    "infixl": "notation definitions change the syntax",
    "infixr": "notation definitions change the syntax",
    "prefix": "notation definitions change the syntax",
    "postfix": "notation definitions change the syntax",
    "attribute": "attribute changes alter the environment's rules",
    "axiom": "axioms prove anything",
    "local": "local instances/notations change the rules",
    "open": "`open` changes what names mean",
}

# Identifiers that name the trusted-computing-base escape hatches themselves.
DENIED_IDENTS: dict[str, str] = {
    "sorryAx": "`sorryAx` is `sorry`",
    "Lean.ofReduceBool": "`Lean.ofReduceBool` trusts compiled code",
    "Lean.ofReduceNat": "`Lean.ofReduceNat` trusts compiled code",
    "Lean.reduceBool": "`Lean.reduceBool` trusts compiled code",
    "Lean.reduceNat": "`Lean.reduceNat` trusts compiled code",
    "Lean.trustCompiler": "`Lean.trustCompiler` trusts compiled code",
    "unsafeCast": "`unsafeCast` is unsound",
    "unsafeBaseIO": "`unsafeBaseIO` runs IO",
    "unsafeIO": "`unsafeIO` runs IO",
    "unsafeEIO": "`unsafeEIO` runs IO",
    "implemented_by": "`implemented_by` swaps in untrusted compiled code",
    "extern": "`extern` swaps in untrusted compiled code",
    # `decide +native` / `(config := {native := true})` is `native_decide` in disguise.
    "native": "native evaluation (`decide +native`) trusts compiled code",
}
DENIED_IDENT_PREFIXES: dict[str, str] = {
    "debug.": "debug options can switch off checking",
    "_private.": "private names of other modules are not part of the library's interface",
}

# Reviewed tactics (and the helper node kinds they contain). Open for extension: pass
# `extra_tactic_kinds` to `SyntaxGuard`, or extend this set in a subclass.
ALLOWED_TACTIC_KINDS = frozenset({
    # intro / apply / exact family
    "Lean.Parser.Tactic.intro", "Lean.Parser.Tactic.intros", "Lean.Parser.Tactic.rintro",
    "Lean.Parser.Tactic.rintroPat.one", "Lean.Parser.Tactic.rintroPat.binder",
    "Lean.Parser.Tactic.exact", "Lean.Parser.Tactic.apply", "Lean.Parser.Tactic.refine",
    "Lean.Parser.Tactic.refine'", "Lean.Parser.Tactic.constructor", "Lean.Parser.Tactic.left",
    "Lean.Parser.Tactic.right", "Lean.Parser.Tactic.«tacticExists_,,»", "Lean.Parser.Tactic.exists",
    "Lean.Parser.Tactic.tacticAnd_intros", "Lean.Parser.Tactic.assumption",
    "Lean.Parser.Tactic.applyAssumption", "Lean.Parser.Tactic.tacticInfer_instance",
    "Lean.Parser.Tactic.exact?", "Lean.Parser.Tactic.apply?", "Lean.Parser.Tactic.rewrites?",
    "Lean.Parser.Tactic.specialize", "Lean.Parser.Tactic.tacticExfalso",
    "Lean.Parser.Tactic.contradiction", "Lean.Parser.Tactic.falseOrByContra",
    "Lean.Parser.Tactic.tacticNofun", "Lean.Parser.Tactic.«tacticNomatch_,,»",
    "Lean.Parser.Tactic.tacticTrivial", "Lean.Parser.Tactic.showTerm",
    # cases / induction / pattern matching
    "Lean.Parser.Tactic.cases", "Lean.Parser.Tactic.induction", "Lean.Parser.Tactic.elimTarget",
    "Lean.Parser.Tactic.inductionAlt", "Lean.Parser.Tactic.inductionAltLHS",
    "Lean.Parser.Tactic.inductionAlts", "Lean.Parser.Tactic.rcases", "Lean.Parser.Tactic.obtain",
    "Lean.Parser.Tactic.rcasesPat.one", "Lean.Parser.Tactic.rcasesPat.tuple",
    "Lean.Parser.Tactic.rcasesPat.alts", "Lean.Parser.Tactic.rcasesPat.paren",
    "Lean.Parser.Tactic.rcasesPat.ignore", "Lean.Parser.Tactic.rcasesPat.clear",
    "Lean.Parser.Tactic.rcasesPat.typed", "Lean.Parser.Tactic.rcasesPat.explicit",
    "Lean.Parser.Tactic.rcasesPatLo", "Lean.Parser.Tactic.rcasesPatMed",
    "Lean.Parser.Tactic.match", "Lean.Parser.Tactic.split", "«tacticBy_cases_:_»",
    "Lean.Parser.Tactic.funInduction", "Lean.Parser.Tactic.funCases", "Lean.Parser.Tactic.injection",
    "Lean.Parser.Tactic.injections", "Lean.Parser.Tactic.subst", "Lean.Parser.Tactic.substVars",
    "Lean.Parser.Tactic.substEqs",
    # rewriting and simplification
    "Lean.Parser.Tactic.tacticRfl", "Lean.Parser.Tactic.applyRfl", "Lean.Parser.Tactic.eqRefl",
    "Lean.Parser.Tactic.acRfl", "Lean.Parser.Tactic.tacticAc_nf_", "Lean.Parser.Tactic.symm",
    "Lean.Parser.Tactic.rwSeq", "Lean.Parser.Tactic.rwRule", "Lean.Parser.Tactic.rwRuleSeq",
    "Lean.Parser.Tactic.tacticRwa__", "Lean.Parser.Tactic.tacticErw___", "Lean.Parser.Tactic.simp",
    "Lean.Parser.Tactic.simpAll", "Lean.Parser.Tactic.simpa", "Lean.Parser.Tactic.simpaArgsRest",
    "Lean.Parser.Tactic.simpArith", "Lean.Parser.Tactic.simpLemma", "Lean.Parser.Tactic.simpStar",
    "Lean.Parser.Tactic.simpErase", "Lean.Parser.Tactic.simpPre", "Lean.Parser.Tactic.simpPost",
    "Lean.Parser.Tactic.simpTrace", "Lean.Parser.Tactic.simpTraceArgsRest",
    "Lean.Parser.Tactic.simpAllTrace", "Lean.Parser.Tactic.simpAllTraceArgsRest",
    "Lean.Parser.Tactic.tacticSimpa?_", "Lean.Parser.Tactic.dsimp", "Lean.Parser.Tactic.dsimpTrace",
    "Lean.Parser.Tactic.dsimpTraceArgsRest", "Lean.Parser.Tactic.unfold", "Lean.Parser.Tactic.delta",
    "Lean.Parser.Tactic.change", "Lean.Parser.Tactic.show", "Lean.Parser.Tactic.location",
    "Lean.Parser.Tactic.locationHyp", "Lean.Parser.Tactic.locationType",
    "Lean.Parser.Tactic.locationWildcard", "Lean.Parser.Tactic.tacticNorm_cast__",
    "Lean.Parser.Tactic.pushCast", "Lean.Parser.Tactic.tacticExact_mod_cast_",
    "Lean.Parser.Tactic.tacticRw_mod_cast___", "Lean.Parser.Tactic.tacticAssumption_mod_cast_",
    "Lean.Parser.Tactic.congr", "Lean.Parser.Tactic.withReducible",
    "Lean.Parser.Tactic.withUnfoldingAll", "Lean.Parser.Tactic.generalize",
    "Lean.Parser.Tactic.generalizeArg", "tacticFunext___", "Lean.Elab.Tactic.Ext.ext",
    "tacticSimp_wf", "tacticDecreasing_tactic",
    # decision procedures (all produce kernel-checked proofs)
    "Lean.Parser.Tactic.omega", "Lean.Parser.Tactic.tacticBv_omega", "Lean.Parser.Tactic.decide",
    "Lean.Parser.Tactic.grind", "Lean.Parser.Tactic.grindLemma", "Lean.Parser.Tactic.grindParam",
    "Lean.Parser.Tactic.grindTrace", "Lean.Parser.Tactic.bvDecide",
    # structure: have / let / calc / suffices / goal management
    "Lean.Parser.Tactic.tacticHave__", "Lean.Parser.Tactic.tacticHaveI__",
    "Lean.Parser.Tactic.tacticLet__", "Lean.Parser.Tactic.tacticLetI__", "Lean.Parser.Tactic.replace",
    "Lean.Parser.Tactic.tacticSuffices_", "Lean.calcTactic", "Lean.calcFirstStep", "Lean.calcSteps",
    "Lean.calcStep", "Lean.cdot", "Lean.cdotTk", "Lean.Parser.Tactic.case", "Lean.Parser.Tactic.case'",
    "Lean.Parser.Tactic.caseArg", "Lean.Parser.Tactic.«tacticNext_=>_»", "Lean.Parser.Tactic.focus",
    "Lean.Parser.Tactic.allGoals", "Lean.Parser.Tactic.anyGoals", "Lean.Parser.Tactic.rotateLeft",
    "Lean.Parser.Tactic.rotateRight", "Lean.Parser.Tactic.revert", "Lean.Parser.Tactic.clear",
    "Lean.Parser.Tactic.clearValue", "Lean.Parser.Tactic.clearValueArg", "Lean.Parser.Tactic.renameI",
    "Lean.Parser.Tactic.rename",
    # combinators
    "Lean.Parser.Tactic.tacticSeq", "Lean.Parser.Tactic.tacticSeq1Indented",
    "Lean.Parser.Tactic.tacticSeqBracketed", "Lean.Parser.Tactic.paren", "Lean.Parser.Tactic.first",
    "Lean.Parser.Tactic.tacticTry_", "Lean.Parser.Tactic.tacticRepeat_", "Lean.Parser.Tactic.repeat'",
    "Lean.Parser.Tactic.tacticIterate____", "Lean.Parser.Tactic.«tactic_<;>_»",
    "Lean.Parser.Tactic.failIfSuccess", "Lean.Parser.Tactic.skip",
    "Lean.Parser.Tactic.done", "Lean.Parser.Tactic.fail", "Lean.Parser.Tactic.traceState",
    "Lean.Parser.Tactic.traceMessage", "Lean.Parser.Tactic.guardTarget", "Lean.Parser.Tactic.guardHyp",
    "Lean.Parser.Tactic.tacticUnhygienic_",
    # `by` blocks inside terms (their tactics are checked like any other)
    "Lean.Parser.Term.byTactic", "Lean.Parser.Term.byTactic'",
    # configuration syntax (`simp +arith`, `(config := …)`); `native` is refused as an identifier
    "Lean.Parser.Tactic.optConfig", "Lean.Parser.Tactic.configItem", "Lean.Parser.Tactic.posConfigItem",
    "Lean.Parser.Tactic.negConfigItem", "Lean.Parser.Tactic.valConfigItem",
    # allowed only with an allowed option; checked separately
    "Lean.Parser.Tactic.set_option",
})
# Conversion mode only rewrites the goal (its nested tactics are checked like any other).
ALLOWED_TACTIC_PREFIXES = ("Lean.Parser.Tactic.Conv.",)


# -- header commands -----------------------------------------------------------------------------

# The kinds of declaration a header may contain (inside `Lean.Parser.Command.declaration`).
HEADER_DECLARATION_KINDS = frozenset({
    "Lean.Parser.Command.definition", "Lean.Parser.Command.theorem", "Lean.Parser.Command.abbrev",
    "Lean.Parser.Command.instance", "Lean.Parser.Command.structure", "Lean.Parser.Command.inductive",
    "Lean.Parser.Command.classInductive", "Lean.Parser.Command.example", "Lean.Parser.Command.axiom",
    "Lean.Parser.Command.opaque",
})
# Commands that only organise names, scopes and options (their parts are checked all the same).
HEADER_PLAIN_COMMANDS = frozenset({
    "Lean.Parser.Command.namespace", "Lean.Parser.Command.end", "Lean.Parser.Command.section",
    "Lean.Parser.Command.open", "Lean.Parser.Command.universe",
    "Lean.Parser.Command.set_option", "Lean.Parser.Command.check", "Lean.Parser.Command.moduleDoc",
})
# Notation: the right side is a term (checked like any term); the tokens must be new (the caller
# asks Lean's token table: `notation_tokens`).
HEADER_NOTATION_COMMANDS = frozenset({"Lean.Parser.Command.notation", "Lean.Parser.Command.mixfix"})
HEADER_DENIED_COMMANDS: dict[str, str] = {
    "Lean.Parser.Command.eval": "`#eval` runs code", "Lean.Parser.Command.evalBang": "`#eval!` runs code",
    "Lean.runCmd": "`run_cmd` runs meta code", "Lean.runElab": "`run_elab` runs meta code",
    "Lean.runMeta": "`run_meta` runs meta code",
    "Lean.Parser.Command.macro": "`macro` rewrites syntax unchecked",
    "Lean.Parser.Command.macro_rules": "`macro_rules` rewrites syntax unchecked",
    "Lean.Parser.Command.syntax": "`syntax` extends the parser",
    "Lean.Parser.Command.syntaxAbbrev": "`syntax` extends the parser",
    "Lean.Parser.Command.syntaxCat": "new syntax categories extend the parser",
    "Lean.Parser.Command.elab": "`elab` defines an elaborator (meta code)",
    "Lean.Parser.Command.elab_rules": "`elab_rules` defines an elaborator (meta code)",
    "Lean.Parser.Command.initialize": "`initialize` runs code", "Lean.Parser.Command.export":
        "`export` adds aliases that can hide core names",
    "Lean.Parser.Command.exit": "`#exit` hides the rest",
    # A `variable` (with `include`, or an instance binder with no dependencies) becomes a hypothesis
    # of the theorem that the displayed statement does not show: `variable [Nonempty False]`.
    "Lean.Parser.Command.variable": "`variable` adds hypotheses the statement does not show",
    "Lean.Parser.Command.include": "`include` adds hypotheses the statement does not show",
    "Lean.Parser.Command.omit": "`omit` belongs with `variable`",
}
# Attributes a header declaration may carry; every other one (code registration, `extern`,
# `implemented_by`, `default_instance`, `macro`, `tactic`, `csimp`, ...) is refused.
ALLOWED_ATTRIBUTE_KINDS = frozenset({
    "Lean.Parser.Attr.simp", "Lean.Parser.Attr.instance", "Lean.Parser.Attr.ext",
    "Lean.Parser.Attr.grind", "Lean.Parser.Attr.grindEq", "Lean.Parser.Attr.grindMod",
})
ALLOWED_SIMPLE_ATTRIBUTES = frozenset({
    "simp", "reducible", "irreducible", "semireducible", "inline", "noinline", "specialize",
    "match_pattern", "refl", "symm", "induction_eliminator", "cases_eliminator", "ext", "grind",
    "local", "scoped", "instance",
})
ALLOWED_DERIVING = frozenset({"Repr", "DecidableEq", "BEq", "Hashable", "Inhabited", "Ord", "Nonempty",
                              "ToString"})
# Options a header may set beyond the proof options. `maxHeartbeats 0` is allowed there: every
# statement step and every verified proof runs under its own `set_option maxHeartbeats N in`.
HEADER_OPTIONS = frozenset({"autoImplicit", "relaxedAutoImplicit"})
HEADER_OPTION_PREFIXES = ("pp.", "linter.")
# Atoms that are legitimate header keywords (the command allowlist decides about them there).
HEADER_ATOMS = frozenset({"notation", "infix", "infixl", "infixr", "prefix", "postfix", "local",
                          "open", "axiom", "attribute", "sorry", "admit"})
# `sorry` in a header lemma is not refused here: a proof that uses it rests on `sorryAx`, which
# the axiom audit refuses; an unused sorried helper proves nothing and harms nothing.
HEADER_ALLOWED_KINDS = frozenset({"Lean.Parser.Tactic.tacticSorry", "Lean.Parser.Tactic.tacticAdmit",
                                  "Lean.Parser.Term.sorry"})


def is_tactic_kind(kind: str) -> bool:
    """Whether a syntax kind names a tactic (or a tactic's part) rather than a term.

    Tactics live in `Lean.Parser.Tactic`, in `….Tactic.…` elaborator namespaces, or carry the
    auto-generated `tactic…` name that `syntax`/`macro … : tactic` gives them (`tacticFunext___`).
    """
    parts = kind.replace("«", "").replace("»", "").split(".")
    return (kind.startswith("Lean.Parser.Tactic.") or "Tactic" in parts[:-1]
            or parts[-1].startswith("tactic") or parts[-1].endswith("Tactic"))


class SyntaxGuard:
    """Refuses untrusted Lean text whose parse holds anything beyond plain mathematics and proof steps."""

    def __init__(self, *, extra_tactic_kinds: Iterable[str] = (), extra_options: Iterable[str] = (),
                 max_heartbeats: int = 2_000_000, trusted: bool = False) -> None:
        """
        Args:
            extra_tactic_kinds: tactic syntax kinds to allow beyond `ALLOWED_TACTIC_KINDS`.
            extra_options: `set_option` names to allow beyond `ALLOWED_OPTIONS`.
            max_heartbeats: the highest `maxHeartbeats` (in Lean's thousands) a proof may set.
            trusted: the documented trusted mode for a user's own project files: header commands
                and statements pass unchecked (meta code may run); proofs and tactics are still
                checked. Never the default, never for model output or benchmark files.
        """
        self.allowed_tactic_kinds = ALLOWED_TACTIC_KINDS | frozenset(extra_tactic_kinds)
        self.allowed_options = ALLOWED_OPTIONS | frozenset(extra_options)
        self.max_heartbeats = max_heartbeats
        self.trusted = trusted

    # -- proofs, tactics, terms

    def check_tactic(self, tactic: str, parsed: ParseResult) -> str | None:
        """The `TacticGuard` hook: a reason to refuse one tactic, or None to let it run."""
        return self.check_proof(tactic, parsed)

    def check_proof(self, text: str, parsed: ParseResult) -> str | None:
        """A reason to refuse a tactic or a proof (term or tactic block), or None.

        Args:
            text: what was parsed (kept for the protocol; the decision reads only the tree).
            parsed: Lean's parse of `text`.
        """
        if not parsed.ok:
            return f"does not parse: {parsed.error}"
        return self._check_tree(parsed.tree, header=False)

    def check_statement(self, tree: S.Syntax) -> str | None:
        """A reason to refuse a theorem's signature (binders and type), or None."""
        if self.trusted:
            return None
        # The signature node itself (`declSig`) is a command part; its binders and type are terms.
        parts = tree.children if isinstance(tree, S.Node) else (tree,)
        for part in parts:
            if (why := self._check_tree(part, header=False)) is not None:
                return why
        return None

    # -- header commands

    def check_command(self, tree: S.Syntax) -> str | None:
        """A reason to refuse one header command (Lean's parse of it), or None.

        The caller also checks `notation_tokens(tree)` against Lean's token table and, once the
        header has elaborated, audits what it declared (`LeanServer.audit`).
        """
        if self.trusted:
            return None
        if not isinstance(tree, S.Node):
            return "header refused: not a command"
        kind = tree.kind
        if kind in HEADER_DENIED_COMMANDS:
            return f"header refused: {HEADER_DENIED_COMMANDS[kind]}"
        if kind == "Lean.Parser.Command.in":
            # `cmd₁ in cmd₂`: both halves are commands of their own.
            for part in (tree.child(0), tree.child(2)):
                if (why := self.check_command(part)) is not None:
                    return why
            return None
        if kind == "Lean.Parser.Command.mutual":
            for part in S.walk(tree.child(1)):
                if isinstance(part, S.Node) and part.kind == "Lean.Parser.Command.declaration" \
                        and (why := self.check_command(part)) is not None:
                    return why
            return self._check_tree(tree, header=True, skip_decls=True)
        if kind == "Lean.Parser.Command.declaration":
            decl = tree.child(1)
            dkind = decl.kind if isinstance(decl, S.Node) else "?"
            if dkind not in HEADER_DECLARATION_KINDS:
                return f"header refused: declaration kind `{dkind}` is not on the guard's allowlist"
            return self._check_tree(tree, header=True)
        if kind == "Lean.Parser.Command.attribute":
            return self._check_tree(tree, header=True)
        if kind == "Lean.Parser.Command.deriving":
            return self._check_tree(tree, header=True)
        if kind in HEADER_NOTATION_COMMANDS:
            if (why := self._notation_tokens_or_why(tree)[1]) is not None:
                return why
            return self._check_tree(tree, header=True)
        if kind in HEADER_PLAIN_COMMANDS:
            return self._check_tree(tree, header=True)
        return f"header refused: command `{kind}` is not on the guard's allowlist"

    def notation_tokens(self, tree: S.Syntax) -> list[str]:
        """The tokens a notation command introduces (the caller checks that Lean has none of them)."""
        return self._notation_tokens_or_why(tree)[0]

    @staticmethod
    def _notation_tokens_or_why(tree: S.Syntax) -> tuple[list[str], str | None]:
        if not isinstance(tree, S.Node) or tree.kind not in HEADER_NOTATION_COMMANDS:
            return [], None
        tokens: list[str] = []
        for part in tree.children:
            if isinstance(part, S.Atom) and part.text == "=>":
                break  # the right side is a term; its string literals are data, not tokens
            for lit in S.nodes(part, "str"):
                atom = lit.child(0)
                value = S.string_literal(atom) if isinstance(atom, S.Atom) else None
                tok = value.strip() if value is not None else ""
                if not tok:
                    return [], "header refused: a notation token that is empty or not plainly written"
                tokens.append(tok)
        return tokens, None

    # -- the walk

    def _check_tree(self, tree: S.Syntax, *, header: bool, skip_decls: bool = False) -> str | None:
        stack: list[S.Syntax] = [tree]
        while stack:
            t = stack.pop()
            if t is None:
                continue
            if isinstance(t, S.Atom):
                if (why := self._check_atom(t.text, header)) is not None:
                    return why
                continue
            if isinstance(t, S.Ident):
                if (why := self._check_ident(t)) is not None:
                    return why
                continue
            kind = t.kind
            if skip_decls and kind == "Lean.Parser.Command.declaration" and t is not tree:
                continue  # checked on its own by `check_command`
            if header and kind == "Lean.Parser.Term.attributes":
                # A declaration's `@[…]`: each attribute from the header allowlist.
                if (why := self._check_attributes(t)) is not None:
                    return why
                continue
            if kind in DENIED_KINDS and not (header and kind in HEADER_ALLOWED_KINDS):
                return f"refused: {DENIED_KINDS[kind]} ({kind})"
            if header and kind == "Lean.Parser.Command.eraseAttr":
                # `attribute [-instance] instOfNatNat` would let another instance take its place.
                ident = t.child(1)
                if not (isinstance(ident, S.Ident) and ident.name == "simp"):
                    return "header refused: only `-simp` may be erased in a header"
                continue
            if header and kind == "Lean.Parser.Command.attribute":
                # `attribute [a, b] names`: the attributes, never `instance` on existing names.
                for inst in S.nodes(t, "Lean.Parser.Term.attrInstance"):
                    if (why := self._check_attr_instance(inst, on_existing=True)) is not None:
                        return why
                stack.extend(c for c in t.children if not _holds_attributes(c))
                continue
            if header and kind in ("Lean.Parser.Command.optDeriving", "Lean.Parser.Command.deriving"):
                for ident in S.idents(t):
                    if ident.name not in ALLOWED_DERIVING:
                        return f"header refused: `deriving {ident.name}` is not on the guard's allowlist"
                continue
            if kind in SET_OPTION_KINDS:
                if (why := self._check_set_option(t, header)) is not None:
                    return why
            elif kind.startswith("Lean.Parser.Command.") and not header:
                return f"refused: a command inside a proof ({kind})"
            elif kind.startswith("Lean.Parser.Attr.") or kind in ("Lean.Parser.Term.attrInstance",):
                return f"refused: attributes inside a proof change the environment's rules ({kind})"
            elif is_tactic_kind(kind) and kind not in self.allowed_tactic_kinds \
                    and not kind.startswith(ALLOWED_TACTIC_PREFIXES):
                return f"refused: tactic `{kind}` is not on the guard's allowlist"
            stack.extend(reversed(t.children))
        return None

    @staticmethod
    def _check_atom(atom: str, header: bool) -> str | None:
        if atom in DENIED_ATOMS and not (header and atom in HEADER_ATOMS):
            return f"refused: {DENIED_ATOMS[atom]}"
        if len(atom) > 1 and atom[0] == "#" and atom[1].isalpha() and not (header and atom == "#check"):
            return f"refused: a command (`{atom}`) inside a proof"
        return None

    @staticmethod
    def _check_ident(ident: S.Ident) -> str | None:
        # `Lean.trustCompiler.elim` reaches the constant as much as `Lean.trustCompiler` does.
        parts = ident.parts
        if (bad := next((p for p in parts if _confusable(p)), None)) is not None:
            return (f"refused: the name `{bad}` mixes in letters that look like Latin ones "
                    "(e.g. Cyrillic `а` in `Fаlse`); write it in one script")
        for i in range(1, len(parts) + 1):
            if (head := ".".join(parts[:i])) in DENIED_IDENTS:
                return f"refused: {DENIED_IDENTS[head]}"
            # The same constant reached through `open Lean` (`ofReduceBool`, `trustCompiler.elim`).
            if (short := _DENIED_SUFFIXES.get(head)) is not None:
                return f"refused: {short}"
        name = ident.name
        for prefix, why in DENIED_IDENT_PREFIXES.items():
            if name.startswith(prefix):
                return f"refused: {why} (`{name}`)"
        return None

    def _check_attributes(self, node: S.Node) -> str | None:
        for inst in S.nodes(node, "Lean.Parser.Term.attrInstance"):
            if (why := self._check_attr_instance(inst, on_existing=False)) is not None:
                return why
        return None

    def _check_attr_instance(self, inst: S.Node, *, on_existing: bool) -> str | None:
        attr = inst.child(1)
        if not isinstance(attr, S.Node):
            return "header refused: an attribute Lean could not read"
        if attr.kind == "Lean.Parser.Attr.simple":
            ident = attr.child(0)
            name = ident.name if isinstance(ident, S.Ident) else "?"
            if name not in ALLOWED_SIMPLE_ATTRIBUTES or (on_existing and name == "instance"):
                return f"header refused: attribute `{name}` is not on the guard's allowlist"
            return self._check_tree(attr.child(1), header=True)
        if attr.kind not in ALLOWED_ATTRIBUTE_KINDS or (
                on_existing and attr.kind == "Lean.Parser.Attr.instance"):
            return f"header refused: attribute `{attr.kind}` is not on the guard's allowlist"
        for part in attr.children:  # its arguments (`simp ←`, `instance 100`, `grind =`)
            if (why := self._check_tree(part, header=True)) is not None:
                return why
        return None

    def _check_set_option(self, node: S.Node, header: bool) -> str | None:
        # `set_option <ident> <value>` (then `in …` for the tactic/term forms): the option is the
        # name Lean read from the identifier node, so no spelling (`«debug».x`) hides it.
        ident = node.child(1)
        if not isinstance(ident, S.Ident):
            return "refused: could not identify the option of a `set_option`"
        name = ident.name
        # The value is the first part after the name that holds a token (an optional `=` slot
        # sits between them).
        rest = [c for c in node.children[2:] if not S.is_empty(c)]
        text = _value_text(rest[0]) if rest else ""
        allowed = name in self.allowed_options or (header and (
            name in HEADER_OPTIONS or name.startswith(HEADER_OPTION_PREFIXES)))
        if not allowed:
            return f"refused: `set_option {name}` may change the rules (allowed: " \
                   f"{', '.join(sorted(self.allowed_options | (HEADER_OPTIONS if header else frozenset())))})"
        if name in CAPPED_OPTIONS:
            low = 0 if header and name == "maxHeartbeats" else 1
            if not (text.isdigit() and low <= int(text) <= self.max_heartbeats):
                return f"refused: `set_option {name} {text}` must be between {low} and {self.max_heartbeats}"
        if name == "maxRecDepth" and not (text.isdigit() and 0 < int(text) <= MAX_REC_DEPTH):
            return f"refused: `set_option maxRecDepth {text}` must be between 1 and {MAX_REC_DEPTH}"
        return None


# Scripts whose letters pass for Latin ones in a displayed statement (`Fаlse` with a Cyrillic `а`).
# Greek is left alone (`α`, `hα` are everyday names) except the capitals and omicron that look
# exactly like Latin letters, when they sit in a name with Latin letters.
_LOOKALIKE_RANGES = ((0x0400, 0x052F), (0x0530, 0x058F), (0x13A0, 0x13FF), (0xFF21, 0xFF5A))
_GREEK_LOOKALIKES = frozenset("ΑΒΕΖΗΙΚΜΝΟΡΤΥΧο")


def _confusable(part: str) -> bool:
    if any(lo <= ord(ch) <= hi for ch in part for lo, hi in _LOOKALIKE_RANGES):
        return True
    return any(ch in _GREEK_LOOKALIKES for ch in part) and any("a" <= ch.lower() <= "z" for ch in part)


_DENIED_SUFFIXES: dict[str, str] = {
    name.split(".", 1)[1]: why for name, why in DENIED_IDENTS.items() if "." in name
}


def _holds_attributes(t: S.Syntax) -> bool:
    return isinstance(t, S.Node) and t.kind == "null" and any(S.nodes(t, "Lean.Parser.Term.attrInstance"))


def _value_text(value: S.Syntax) -> str:
    if isinstance(value, S.Atom):
        return value.text
    if isinstance(value, S.Node):
        return "".join(S.atoms(value))
    return ""
