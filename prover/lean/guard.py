"""The default guard for untrusted tactics and proofs: decides from Lean's parse, before Lean runs them.

Tactics and proofs come from models and users. Before Lean elaborates one, `LeanServer` parses it
(Lean's own parser, against the proof's environment) and asks a `TacticGuard`; `SyntaxGuard` is
the default. It decides from the parsed syntax tree's node kinds, atoms and identifiers:

1. Denied kinds (each with its reason): anything that runs meta code (`run_tac`, `by_elab`), changes
   the rules (`set_option` of an option not on the allowlist, `open … in`, attributes, commands
   nested in a proof), skips checking (`sorry`, `admit`, `native_decide`) or is `unsafe`.
2. Tactic kinds must be on an allowlist (`ALLOWED_TACTIC_KINDS`, extended per instance with
   `extra_tactic_kinds`): a tactic nobody reviewed (e.g. `sleep`, or a `macro "x" : tactic` from a
   header) is refused rather than trusted. Term kinds are inert data and pass unless denied.
3. Denied atoms and identifiers, a second layer for the same things (`sorryAx`, `Lean.ofReduceBool`,
   `implemented_by`, `decide +native`, ...).

The guard is defence in depth, not the proof of soundness: `prover.verify` re-elaborates every
claimed proof from scratch, compares its type with the statement and audits its axioms, so a trick
that slips past the guard still cannot be reported as proved.

`check_header` applies coarser, text-level rules (comments and strings masked) to the commands
before a theorem, which are the user's own definitions but must not run meta code or switch off
kernel checking.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from prover.lean.snippet import mask_comments_and_strings

if TYPE_CHECKING:  # server.py imports this module for its default guard
    from prover.lean.server import ParseResult

# Kind -> why it is refused. Checked before the allowlist, so an allowlist extension cannot
# re-admit one of these by accident.
DENIED_KINDS: dict[str, str] = {
    "Lean.Parser.Tactic.tacticSorry": "`sorry` proves nothing",
    "Lean.Parser.Tactic.tacticAdmit": "`admit` proves nothing (it is `sorry`)",
    "Lean.Parser.Term.sorry": "`sorry` proves nothing",
    "Lean.Parser.Tactic.nativeDecide": "`native_decide` trusts compiled code (axiom `Lean.ofReduceBool`)",
    "Lean.Parser.Tactic.runTac": "`run_tac` runs arbitrary meta code (IO, environment changes)",
    "Lean.byElab": "`by_elab` runs arbitrary meta code",
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
DENIED_KIND_PREFIXES: dict[str, str] = {
    # `open X in` carries Command.openSimple etc.; any command node inside a proof is smuggled.
    "Lean.Parser.Command.": "a command inside a proof",
    "Lean.Parser.Attr.": "attributes inside a proof change the environment's rules",
}

# `set_option … in` nodes: allowed only for the options in `ALLOWED_OPTIONS`.
SET_OPTION_KINDS = frozenset({"Lean.Parser.Tactic.set_option", "Lean.Parser.Term.set_option"})
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

_SET_OPTION = re.compile(r"\bset_option\s+(\S+)\s+(\S+)")
_WORD = re.compile(r"(?<![\w.'!?])(#[A-Za-z_]+!?|[A-Za-z_][\w.'!?]*)")
_ATTR_BLOCK = re.compile(r"@\[([^\]]*)\]|\battribute\s*\[([^\]]*)\]")

# Header (the user's own commands before the theorem): commands that run meta code at
# elaboration time could add unchecked "theorems" to the environment, or do IO.
HEADER_DENIED_WORDS: dict[str, str] = {
    "#eval": "`#eval` runs code", "#eval!": "`#eval` runs code", "#exit": "`#exit` hides the rest",
    "run_cmd": "`run_cmd` runs meta code", "run_elab": "`run_elab` runs meta code",
    "run_meta": "`run_meta` runs meta code", "run_tac": "`run_tac` runs meta code",
    "by_elab": "`by_elab` runs meta code", "elab": "`elab` defines an elaborator (meta code)",
    "elab_rules": "`elab_rules` defines an elaborator (meta code)",
    "initialize": "`initialize` runs code", "builtin_initialize": "`builtin_initialize` runs code",
    "meta": "`meta` code runs at elaboration time", "unsafe": "`unsafe` bypasses the kernel's checks",
    "implemented_by": "`implemented_by` swaps in untrusted compiled code",
    "extern": "`extern` swaps in untrusted compiled code", "import": "imports are fixed by the server",
    "native_decide": "`native_decide` trusts compiled code",
}
# Attributes that register meta code or change compilation; others (simp, instance, …) are the
# user's ordinary business.
HEADER_DENIED_ATTRIBUTES = frozenset({
    "init", "builtin_init", "command_elab", "term_elab", "tactic", "macro", "builtin_command_elab",
    "builtin_term_elab", "builtin_tactic", "builtin_macro", "env_linter", "implemented_by", "extern",
    "export", "csimp", "command_parser", "term_parser", "tactic_parser", "builtin_doc",
    "delab", "app_unexpander", "incremental", "builtin_incremental", "code_action", "hole_code_action",
})
HEADER_DENIED_OPTION_PREFIXES = ("debug.", "internal.", "Elab.", "compiler.")


def _bare(kind: str) -> str:
    return kind.replace("«", "").replace("»", "")


def is_tactic_kind(kind: str) -> bool:
    """Whether a syntax kind names a tactic (or a tactic's part) rather than a term.

    Tactics live in `Lean.Parser.Tactic`, in `….Tactic.…` elaborator namespaces, or carry the
    auto-generated `tactic…` name that `syntax`/`macro … : tactic` gives them (`tacticFunext___`).
    """
    parts = _bare(kind).split(".")
    return (kind.startswith("Lean.Parser.Tactic.") or "Tactic" in parts[:-1]
            or parts[-1].startswith("tactic") or parts[-1].endswith("Tactic"))


class SyntaxGuard:
    """Refuses tactics and proofs whose parse contains anything beyond plain proof steps."""

    def __init__(self, *, extra_tactic_kinds: Iterable[str] = (), extra_options: Iterable[str] = (),
                 max_heartbeats: int = 2_000_000) -> None:
        """
        Args:
            extra_tactic_kinds: tactic syntax kinds to allow beyond `ALLOWED_TACTIC_KINDS`.
            extra_options: `set_option` names to allow beyond `ALLOWED_OPTIONS`.
            max_heartbeats: the highest `maxHeartbeats` (in Lean's thousands) a proof may set.
        """
        self.allowed_tactic_kinds = ALLOWED_TACTIC_KINDS | frozenset(extra_tactic_kinds)
        self.allowed_options = ALLOWED_OPTIONS | frozenset(extra_options)
        self.max_heartbeats = max_heartbeats

    def check_tactic(self, tactic: str, parsed: ParseResult) -> str | None:
        """The `TacticGuard` hook: a reason to refuse one tactic, or None to let it run."""
        return self.check_proof(tactic, parsed)

    def check_proof(self, text: str, parsed: ParseResult) -> str | None:
        """A reason to refuse a tactic or a proof (term or tactic block), or None.

        Args:
            text: what was parsed (used only to read `set_option` values next to their nodes).
            parsed: Lean's parse of `text`.
        """
        if not parsed.ok:
            return f"does not parse: {parsed.error}"
        # Exact denials first, over the whole tree, so the reason names the construct itself
        # (`open … in`) rather than one of its parts (the command node inside it).
        for kind in parsed.kinds:
            if kind in DENIED_KINDS:
                return f"refused: {DENIED_KINDS[kind]} ({kind})"
        for kind in parsed.kinds:
            for prefix, why in DENIED_KIND_PREFIXES.items():
                if kind.startswith(prefix):
                    return f"refused: {why} ({kind})"
            if is_tactic_kind(kind) and kind not in self.allowed_tactic_kinds \
                    and not kind.startswith(ALLOWED_TACTIC_PREFIXES):
                return f"refused: tactic `{kind}` is not on the guard's allowlist"
        for atom in parsed.atoms:
            if atom in DENIED_ATOMS:
                return f"refused: {DENIED_ATOMS[atom]}"
            if len(atom) > 1 and atom[0] == "#" and atom[1].isalpha():
                return f"refused: a command (`{atom}`) inside a proof"
        for ident in parsed.idents:
            # `Lean.trustCompiler.elim` reaches the constant as much as `Lean.trustCompiler` does.
            parts = ident.split(".")
            for i in range(1, len(parts) + 1):
                if (head := ".".join(parts[:i])) in DENIED_IDENTS:
                    return f"refused: {DENIED_IDENTS[head]}"
            for prefix, why in DENIED_IDENT_PREFIXES.items():
                if ident.startswith(prefix):
                    return f"refused: {why} (`{ident}`)"
        return self._check_set_options(text, parsed)

    def _check_set_options(self, text: str, parsed: ParseResult) -> str | None:
        nodes = sum(1 for k in parsed.kinds if k in SET_OPTION_KINDS)
        if not nodes:
            return None
        # Lean's summary is flat, so the option names are read from the text next to each
        # `set_option` keyword; both counts must agree, and each name must be an identifier Lean
        # parsed, or the guard refuses (it never guesses in the permissive direction).
        found = _SET_OPTION.findall(mask_comments_and_strings(text))
        if len(found) != nodes:
            return "refused: could not identify the option of every `set_option`"
        for name, value in found:
            if name not in self.allowed_options or name not in parsed.idents:
                return f"refused: `set_option {name}` may change the rules (allowed: " \
                       f"{', '.join(sorted(self.allowed_options))})"
            if name in CAPPED_OPTIONS and not (value.isdigit() and 0 < int(value) <= self.max_heartbeats):
                return f"refused: `set_option {name} {value}` must be between 1 and {self.max_heartbeats}"
            if name == "maxRecDepth" and not (value.isdigit() and 0 < int(value) <= MAX_REC_DEPTH):
                return f"refused: `set_option maxRecDepth {value}` must be between 1 and {MAX_REC_DEPTH}"
        return None

    def check_header(self, header: str) -> str | None:
        """A reason to refuse the commands before a theorem (the user's definitions), or None.

        Text-level (comments and strings masked): definitions, notation, macros and axioms are the
        user's business (the axiom audit still sees every axiom a proof uses), but nothing may run
        meta code at elaboration time or switch off kernel checking.
        """
        masked = mask_comments_and_strings(header)
        for word in _WORD.findall(masked):
            if word in HEADER_DENIED_WORDS:
                return f"header refused: {HEADER_DENIED_WORDS[word]}"
        for m in _ATTR_BLOCK.finditer(masked):
            for item in (m.group(1) or m.group(2) or "").split(","):
                words = [w for w in item.replace("-", " ").split() if w not in ("local", "scoped")]
                if words and words[0] in HEADER_DENIED_ATTRIBUTES:
                    return f"header refused: attribute `{words[0]}` registers or swaps in code"
        for name, _value in _SET_OPTION.findall(masked):
            if name.strip("«»").startswith(HEADER_DENIED_OPTION_PREFIXES):
                return f"header refused: `set_option {name}` may switch off checking"
        return None
