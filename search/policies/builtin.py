"""The built-in prior: tactic candidates from a curated set of strong core-Lean tactics, scored
by the shape of the first goal, so the search proves things without any model.

Closing tactics come first when the goal's shape suggests them (`omega` for arithmetic over
Nat/Int, `decide` for closed propositions, `exact h` for a matching hypothesis), then structural
steps (`intro`, `constructor`, `induction`, `cases`/`obtain` on hypotheses, `rw [h]`) and
witnesses for `∃` goals found by the numeric checker. Scores are logits turned into
log-probabilities over the candidates, so deep paths cost what they would under a model.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from prover.lean import Goal, Hypothesis, ProofState
from prover.lean.syntax import escape_name_part
from search.goal_shape import (
    Shape,
    accessible,
    fresh,
    idents,
    is_number_type,
    is_prop_hyp,
    shape,
    strip_parens,
)
from search.interfaces import TacticCandidate

if TYPE_CHECKING:
    from prover.lean.decls import Decl
    from prover.lean.reader import CommandParser

_RELATIONS = frozenset({"eq", "ne", "le", "lt", "ge", "gt", "dvd"})
_LOGIC = frozenset({"and", "or", "iff", "not", "imp", "false", "true"})
_LIST_TYPE = re.compile(r"^List\b")


@dataclass(frozen=True)
class BuiltinPolicy:
    """A model-free policy. Stateless between calls; safe to share across searches.

    Args:
        definitions: names of functions defined before the theorem (`simp [f]`, `unfold f`).
        lemmas: names of theorems proved before it (`simp [l]`, `rw [l]`, `apply l`).
        witnesses: ask `prover.numeric.find_witnesses` for values of `∃` goals.
        max_witnesses: how many witnesses to try per `∃` goal.
    """

    definitions: tuple[str, ...] = ()
    lemmas: tuple[str, ...] = ()
    witnesses: bool = True
    max_witnesses: int = 3

    @classmethod
    def for_snippet(cls, snippet: str, *, lean: CommandParser | None = None,
                    **kwargs: object) -> BuiltinPolicy:
        """A policy that knows the definitions and lemmas stated before the theorem in `snippet`.

        With `lean` (a running server), Lean's parser reads the snippet (one parse per command,
        once per search); without one, or where Lean cannot read it on its own (a header that
        uses its own notation), the splitter does (`prover.lean.decls`).
        """
        from prover.lean import decls
        from prover.lean.reader import ReadError, declarations

        found = declarations(lean, snippet) if lean is not None else None
        if found is None or isinstance(found, ReadError):
            found = decls.declarations(snippet)
        defs, lemmas = header_names(found)
        return cls(definitions=defs, lemmas=lemmas, **kwargs)  # type: ignore[arg-type]

    def propose(self, state: ProofState, k: int) -> list[TacticCandidate]:
        """Up to `k` distinct tactics for the first goal of `state`, best first."""
        if not state.goals:
            return []
        scored: dict[str, float] = {}
        for tactic, logit in self._candidates(state.goals[0], len(state.goals)):
            if tactic not in scored or logit > scored[tactic]:
                scored[tactic] = logit
        if not scored:
            return []
        norm = _logsumexp(scored.values())
        ranked = sorted(scored.items(), key=lambda kv: -kv[1])[:k]
        return [TacticCandidate(t, s - norm) for t, s in ranked]

    # ------------------------------------------------------------------ candidates

    def _candidates(self, goal: Goal, n_goals: int) -> Iterable[tuple[str, float]]:
        target = " ".join(goal.target.split())
        s = shape(target)
        hyps = [h for h in goal.hypotheses if accessible(h)]
        taken = {h.name for h in goal.hypotheses}
        prop_hyps = [h for h in hyps if is_prop_hyp(h, goal)]
        data_hyps = [h for h in hyps if not is_prop_hyp(h, goal) and h.type.strip() not in ("Prop", "Type")]
        free = idents(target) & {h.name for h in goal.hypotheses}
        numeric = any(is_number_type(h.type) for h in goal.hypotheses)
        arith = _is_arith(s, target, numeric)
        defs = [d for d in self.definitions if _mentions(target, d)]
        any_hyp_mentions_def = [d for d in self.definitions
                                if any(_mentions(h.type, d) for h in prop_hyps) and d not in defs]

        # --- closing tactics, strongest evidence first
        for h in prop_hyps:
            if _same_prop(h.type, target):
                yield f"exact {h.name}", 6.0
            if strip_parens(h.type) == "False":
                yield "contradiction", 6.0
        if s.head == "true":
            yield "trivial", 6.0
        if arith:
            yield "omega", 3.5
        elif s.head in _RELATIONS or s.head == "false":
            yield "omega", 1.2
        if not free and s.head not in ("other",) and "∀" not in target:
            yield "decide", 3.0
        elif not free:
            yield "decide", 1.5
        if s.head in ("eq", "iff"):
            yield "rfl", 2.2 if not free else 1.2
        elif s.head in ("le", "ge"):
            yield "exact Nat.le_refl _", 0.3
        yield "simp", 2.6
        if prop_hyps:
            yield "simp_all", 2.4
        yield "grind", 2.5
        if defs:
            lst = ", ".join(defs)
            yield f"simp [{lst}]", 3.3
            if prop_hyps:
                yield f"simp_all [{lst}]", 2.8
            yield f"grind [{lst}]", 2.6
            for d in defs[:2]:
                yield f"unfold {d}", 1.2
            yield f"simp only [{lst}]", 1.0
        if any_hyp_mentions_def:
            yield f"simp_all [{', '.join(any_hyp_mentions_def)}]", 2.0
        if self.lemmas:
            used = [lm for lm in self.lemmas if lm.split(".")[-1]]
            yield f"simp [{', '.join(used[:6])}]", 1.6
            for lm in used[:3]:
                yield f"rw [{lm}]", 1.0
                yield f"apply {lm}", 0.9
        if prop_hyps:
            yield "assumption", 1.0
            if s.head == "false" or any(shape(h.type).head == "not" for h in prop_hyps):
                yield "contradiction", 1.5
        if arith and prop_hyps:
            yield "simp_all <;> omega", 1.5
        elif arith:
            yield "simp <;> omega", 1.2

        # --- structural steps on the target
        yield from self._target_steps(s, target, goal, taken)

        # --- using hypotheses
        for h in prop_hyps:
            yield from self._hyp_steps(h, s, target, taken)

        # --- case analysis and induction on variables in scope
        for h in data_hyps:
            if not _mentions(target, h.name) and not any(_mentions(p.type, h.name) for p in prop_hyps):
                continue
            yield from self._var_steps(h, defs)

        # --- after `induction`/`cases`, names are inaccessible; name them to use them
        hidden = [h for h in goal.hypotheses if not accessible(h)]
        if hidden:
            names = []
            for h in hidden:
                base = "ih" if is_prop_hyp(h, goal) else ("n" if is_number_type(h.type) else "x")
                names.append(fresh(base, taken))
            yield "rename_i " + " ".join(names), 0.8
        if n_goals > 1:
            yield "all_goals omega" if arith else "all_goals simp_all", 0.6

    def _target_steps(self, s: Shape, target: str, goal: Goal,
                      taken: set[str]) -> Iterable[tuple[str, float]]:
        taken = set(taken)
        if s.head in ("forall", "imp", "not", "ne"):
            names = _intro_names(target, taken)
            if names:
                yield "intro " + " ".join(names), 3.6
                if len(names) > 1:
                    yield f"intro {names[0]}", 2.0
        if s.head in ("and", "iff"):
            yield "constructor", 3.6
            yield "constructor <;> simp_all", 1.6
            yield "constructor <;> omega", 1.2
            yield "exact ⟨by simp_all, by simp_all⟩", 0.5
        if s.head == "or":
            yield "left", 1.8
            yield "right", 1.8
        if s.head == "exists":
            found = self._witnesses(goal, target) if self.witnesses else []
            for i, w in enumerate(found):
                yield f"exists {w}", 4.0 - 0.3 * i
                yield f"refine ⟨{w}, ?_⟩", 2.8 - 0.3 * i
            for i, w in enumerate(("0", "1", "2")):
                if w not in found:
                    yield f"exists {w}", 0.6 - 0.1 * i
            yield "constructor", 0.4
        if s.head == "not" or s.head == "false":
            yield "simp_all", 1.5
        if "if " in target or "match " in target:
            yield "split", 2.6
            yield "split <;> simp_all", 1.8
            yield "split <;> omega", 1.4

    def _hyp_steps(self, h: Hypothesis, s: Shape, target: str,
                   taken: set[str]) -> Iterable[tuple[str, float]]:
        hs = shape(h.type)
        name = h.name
        if hs.head == "or":
            yield f"rcases {name} with {name} | {name}", 2.8
            yield f"cases {name}", 1.2
        elif hs.head == "exists":
            names = list(hs.binders[:3]) or ["w"]
            fresh_names = [fresh(n, set(taken)) for n in names]
            hname = fresh(f"h{fresh_names[0]}", set(taken))
            pattern = ", ".join([*fresh_names, hname])
            yield f"obtain ⟨{pattern}⟩ := {name}", 3.2
        elif hs.head == "and":
            a, b = fresh(f"{name}1", set(taken)), fresh(f"{name}2", set(taken))
            yield f"obtain ⟨{a}, {b}⟩ := {name}", 2.0
        elif hs.head == "iff":
            yield f"rw [{name}]", 1.5
        elif hs.head in ("imp", "forall"):
            concl = _conclusion(h.type)
            if concl is not None and _same_prop(concl, target):
                yield f"apply {name}", 3.2
            else:
                yield f"apply {name}", 0.8
        elif hs.head == "eq":
            lhs, rhs = (strip_parens(p) for p in hs.parts)
            if lhs and _occurs(target, lhs):
                yield f"rw [{name}]", 2.2
            if rhs and _occurs(target, rhs):
                yield f"rw [← {name}]", 1.6
            if _is_name(lhs) or _is_name(rhs):
                yield f"subst {name}", 1.6
            yield f"simp [{name}]", 1.0
        elif hs.head == "not":
            yield f"exact absurd {name} (by simp_all)", 0.4
            yield f"apply {name}", 0.6

    def _var_steps(self, h: Hypothesis, defs: list[str]) -> Iterable[tuple[str, float]]:
        t = strip_parens(h.type)
        n = h.name
        with_defs = f" [{', '.join(defs)}]" if defs else ""
        if t in ("Nat", "ℕ") or _LIST_TYPE.match(t):
            yield f"induction {n} <;> simp_all{with_defs}", 3.0 if defs else 2.1
            yield f"induction {n}", 2.3
            yield f"cases {n}", 1.3
            if t in ("Nat", "ℕ"):
                yield f"induction {n} <;> omega", 1.0
                yield f"cases {n} <;> simp_all{with_defs}", 1.2
        elif t == "Bool" or t.startswith(("Option", "Sum", "Prod")):
            yield f"cases {n} <;> simp_all{with_defs}", 2.0
            yield f"cases {n}", 1.4
        elif t in ("Int", "ℤ"):
            yield f"cases {n}", 0.4
        elif re.fullmatch(r"[A-Z][\w.]*(?: [\w.]+)*", t) and t not in ("Prop", "Type"):
            # A user inductive type from the header, most likely.
            yield f"cases {n}", 1.0
            yield f"induction {n} <;> simp_all{with_defs}", 0.9

    def _witnesses(self, goal: Goal, target: str) -> list[str]:
        """Values for the ∃-bound variable that the numeric checker finds, as Lean terms."""
        try:
            from prover.numeric import find_witnesses
            from prover.numeric.errors import Undetermined, Unsupported
        except ImportError:  # the checker is optional; without it the prior guesses 0, 1, 2
            return []
        hyps = [(h.name, h.type) for h in goal.hypotheses]
        out: list[str] = []
        for text in _typed_exists(target):
            try:
                found = find_witnesses(hyps, text, limit=4 * self.max_witnesses)
            except (Unsupported, Undetermined):  # e.g. a function it cannot evaluate
                continue
            for w in found:
                # A witness found for particular values of the goal's own variables proves
                # nothing about the others; only context-free ones are worth a Lean call.
                if w.context:
                    continue
                term = _term(w.value)
                if term is not None and term not in out:
                    out.append(term)
                if len(out) >= self.max_witnesses:
                    return out
            if out:
                break
        return out


def _typed_exists(target: str) -> list[str]:
    """`target`, and when Lean printed `∃ x, P x` without the binder's type (it does when the
    type is clear from `P`), the readings with `x : Nat` and `x : Int`, so the numeric checker
    can evaluate it. Lean checks whatever witness comes out, so a wrong reading costs one call."""
    m = re.match(r"^∃\s+([^\s:(),]+(?:\s+[^\s:(),]+)*)\s*,", target)
    if m is None:
        return [target]
    names, body = m.group(1), target[m.end():]
    return [target, f"∃ {names} : Nat,{body}", f"∃ {names} : Int,{body}"]


def _term(value: str) -> str | None:
    """A numeral as a Lean term (negatives and fractions parenthesised); None for anything else."""
    text = value.strip()
    if re.fullmatch(r"\d+", text):
        return text
    if re.fullmatch(r"-\d+|-?\d+/\d+", text):
        return f"({text})"
    return None


def _is_arith(s: Shape, target: str, numeric: bool) -> bool:
    """Whether `omega` is a good first bet: a (boolean combination of) linear facts over Nat/Int."""
    if s.head in _RELATIONS:
        return numeric or bool(re.search(r"\d", target))
    if s.head in _LOGIC or s.head in ("forall", "exists"):
        return numeric and bool(re.search(r"[<>≤≥=≠∣%]", target))
    return False


def _intro_names(target: str, taken: set[str]) -> list[str]:
    """Names for introducing the leading ∀-binders and → premises of `target`."""
    names: list[str] = []
    text = target
    for _ in range(8):
        s = shape(text)
        if s.head == "forall" and s.binders:
            names += [fresh(b, taken) for b in s.binders]
            text = s.parts[0]
        elif s.head == "imp":
            names.append(fresh("h", taken))
            text = s.parts[1]
        elif s.head in ("not", "ne"):
            names.append(fresh("h", taken))
            break
        else:
            break
    return names


def _conclusion(prop: str) -> str | None:
    """What an implication or ∀-statement concludes, after all premises and binders."""
    text = prop
    for _ in range(12):
        s = shape(text)
        if s.head == "forall":
            text = s.parts[0]
        elif s.head == "imp":
            text = s.parts[1]
        else:
            return text
    return None


def _same_prop(a: str, b: str) -> bool:
    return " ".join(strip_parens(a).split()) == " ".join(strip_parens(b).split())


def _mentions(text: str, name: str) -> bool:
    return re.search(rf"(?<![\w.']){re.escape(name)}(?![\w'])", text) is not None


def _occurs(text: str, term: str) -> bool:
    term = " ".join(term.split())
    if _is_name(term):
        return _mentions(text, term)
    return term in text


def _is_name(text: str) -> bool:
    return re.fullmatch(r"[A-Za-z_][\w'.]*", text) is not None


def header_names(found: Sequence[Decl]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The names of the definitions (`def`, `abbrev`, named `instance`) and of the lemmas
    (`theorem`, `lemma`) declared before the last declaration of `found` (the theorem to prove),
    each as the theorem sees it: without the namespaces open around the theorem."""
    if not found:
        return (), ()
    here = found[-1].namespace
    defs: dict[str, None] = {}
    lemmas: dict[str, None] = {}
    for d in found[:-1]:
        parts = d.full_parts
        if not parts:
            continue
        if parts[:len(here)] == here and len(parts) > len(here):
            parts = parts[len(here):]
        name = ".".join(escape_name_part(p) for p in parts)
        if d.keyword in ("def", "abbrev", "instance"):
            defs[name] = None
        elif d.keyword in ("theorem", "lemma"):
            lemmas[name] = None
    return tuple(defs), tuple(lemmas)


def _logsumexp(xs: Iterable[float]) -> float:
    vals = list(xs)
    m = max(vals)
    return m + math.log(sum(math.exp(x - m) for x in vals))
