"""Lark grammar for the Lean 4 term syntax the numeric checker understands.

Precedences follow Lean 4 core and Mathlib notation: ``↔`` 20, ``→`` 25 (right),
``∨`` 30 (right), ``∧`` 35 (right), ``¬`` 40, relations 50, ``+ -`` 65, ``* / %`` 70,
prefix ``-`` (argument at 75), ``^`` 75 (right), application, then atoms.  Big operators
take their body at 67 (so ``∑ i ∈ s, f i + 1`` is ``(∑ i ∈ s, f i) + 1``) and interval
integrals at 60, as in Mathlib.  Binder forms (``∀``, ``∃``, ``fun``) extend as far right
as possible; the LALR parser gets that from preferring shift over reduce.
"""

from __future__ import annotations

from functools import lru_cache

from lark import Lark

GRAMMAR = r"""
theorem: DECL NAME? binder* ":" expr
       | expr

binder: "(" NAME+ ":" expr ")"          -> explicit_binder
      | "{" NAME+ ":" expr "}"          -> implicit_binder
      | "[" NAME ":" expr "]"           -> inst_binder
      | "[" expr "]"                    -> anon_inst_binder
      | "⦃" NAME+ ":" expr "⦄"          -> implicit_binder

?expr: imp "↔" imp                      -> iff
     | imp

?imp: or_ "→" imp                       -> implies
    | or_

?or_: and_ "∨" or_                      -> or_
    | and_

?and_: not_ "∧" and_                    -> and_
     | not_

?not_: "¬" not_                         -> not_
     | rel

?rel: arith (RELOP | MEMBER | LT) arith -> rel
    | arith "≡" arith "[" MODKW arith "]" -> modeq
    | arith

?arith: arith "+" term                  -> add
      | arith "-" term                  -> sub
      | term

?term: term "*" unary                   -> mul
     | term "/" unary                   -> div
     | term "%" unary                   -> mod
     | unary

?unary: "-" unary                       -> neg
      | power
      | leading

?power: app "^" unary                   -> pow
      | app

?app: app atom                          -> apply
    | atom
    | "|" expr "|"                      -> abs

?atom: NUMBER                           -> num
     | DECIMAL                          -> dec
     | NAME                             -> var
     | "(" expr ")"
     | "(" expr ":" expr ")"            -> ascribe
     | "(" expr "," expr ("," expr)* ")" -> tuple
     | "↑" atom                         -> coe
     | "√" atom                          -> sqrt
     | "⌊" expr "⌋"                     -> floor
     | "⌈" expr "⌉"                     -> ceil
     | "⌊" expr "⌋₊"                    -> nat_floor
     | "⌈" expr "⌉₊"                    -> nat_ceil
     | "{" expr ("," expr)* "}"         -> set_lit
     | "{" NAME (":" expr)? "|" expr "}" -> set_builder
     | "∅"                              -> empty_set
     | atom "!"                         -> factorial
     | atom "⁻¹"                        -> inv
     | atom PROJ                        -> proj

?leading: QUANT qbinders "," expr       -> quant
        | FUN funbinders ARROW expr     -> lam
        | "if" expr "then" expr "else" expr -> ite
        | BIGOP bigbinder "," term      -> bigop
        | "∫" NAME (":" app)? "in" arith ".." arith "," arith -> integral

qbinders: NAME+ (":" expr)?             -> qb_plain
        | qgroup+                       -> qb_groups
        | NAME (BINPRED | MEMBER | LT) arith -> qb_pred

qgroup: "(" NAME+ ":" expr ")"

funbinders: NAME+ (":" app)?            -> fb_plain
          | qgroup+                     -> fb_groups

bigbinder: NAME (":" app)? ("in" | MEMBER) arith -> bb_in
         | NAME (":" app)?                    -> bb_all
         | NAME LT arith                      -> bb_lt

DECL: "theorem" | "lemma" | "example"
QUANT: "∀" | "∃!" | "∃"
FUN: "fun" | "λ"
ARROW: "=>" | "↦" | ","
BIGOP: "∑" | "∏"
MODKW: "MOD" | "ZMOD" | "PMOD"
RELOP: "=" | "≠" | ">" | "≤" | "≥" | "∣" | "∉" | "⊆" | "⊂"
BINPRED: ">" | "≤" | "≥" | "≠" | "∉" | "⊆"
MEMBER: "∈"
LT: "<"
PROJ: /\.(?!\.)[A-Za-z_][A-Za-z0-9_]*/
_LETTER: /[A-Za-z_α-κμ-ωΑ-Ωℕℤℚℝℂ]/
_IDCHAR: /[A-Za-z0-9_'α-κμ-ωΑ-Ωℕℤℚℝℂ₀-₉ᵢ✝?]/
_NOT_KEYWORD: /(?!(in|fun|if|then|else|theorem|lemma|example)(?![A-Za-z0-9_'.!?₀-₉]))/
NAME: _NOT_KEYWORD _LETTER _IDCHAR* ("." _LETTER _IDCHAR*)*
NUMBER: /\d+/
DECIMAL: /\d+\.\d+/

%ignore /\s+/
%ignore /--[^\n]*/
"""


@lru_cache(maxsize=1)
def get_parser() -> Lark:
    """Build (once, on first use) the LALR parser for statements and terms."""
    return Lark(GRAMMAR, start="theorem", parser="lalr", maybe_placeholders=False)
