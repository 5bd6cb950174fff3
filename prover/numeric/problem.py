"""From a theorem statement or a goal to typed problems: variables, hypotheses, conclusion.

A statement ``theorem t (x : ℝ) (h : P x) : ∀ y, Q x y → R x y`` becomes the variables
``x, y``, the hypotheses ``P x`` and ``Q x y`` and the conclusion ``R x y`` (introducing
``∀`` and ``→`` of the conclusion, as ``intro`` would).  Hypotheses of the form
``∀ x, f x = body`` define the function variable ``f`` and are true by construction.

Because some texts admit several typings (see :class:`~prover.numeric.elaborate.Chooser`),
:func:`build_problems` returns one :class:`Problem` per reading.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from lark import Token, Tree
from lark.exceptions import LarkError

from prover.lean import decls
from prover.numeric.elaborate import Chooser, Elaborator, Opaque, Scope, parse_type
from prover.numeric.errors import Unsupported
from prover.numeric.evaluate import PartialFunction
from prover.numeric.grammar import get_parser
from prover.numeric.nodes import Node
from prover.numeric.types import FunTy, Num, PropTy

MAX_READINGS = 16


@dataclass(frozen=True, slots=True)
class Problem:
    """One typed reading of a statement."""

    variables: tuple[tuple[str, Num], ...]
    hypotheses: tuple[tuple[str, Node], ...]
    conclusion: Node
    functions: tuple[tuple[str, PartialFunction], ...]


@dataclass(frozen=True, slots=True)
class RawGoal:
    """The parsed (untyped) pieces of a statement: binders in order, then the conclusion."""

    binders: tuple[tuple[str, Tree], ...]  # (name, type-or-proposition tree)
    conclusion: Tree
    goal_mode: bool


def parse(text: str, *, goal_mode: bool = False) -> Tree:
    """Parse a statement or term, turning parse errors into :class:`Unsupported`."""
    try:
        return get_parser().parse(text)
    except LarkError as err:
        msg = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise Unsupported(f"parse error: {msg[:120]}") from err


def parse_term(text: str) -> Tree:
    """Parse a bare term or proposition (no ``theorem`` header)."""
    tree = parse(text)
    if len(tree.children) != 1 or not isinstance(tree.children[0], Tree):
        raise Unsupported("expected a term, found a declaration")
    return tree.children[0]


def raw_statement(text: str) -> RawGoal:
    """Split a ``theorem`` (or a bare proposition) into binders and conclusion."""
    body = _strip_statement(text)
    tree = parse(body)
    children = list(tree.children)
    if children and isinstance(children[0], Token) and children[0].type == "DECL":
        children = children[1:]
        if children and isinstance(children[0], Token):
            children = children[1:]  # the theorem's name
    binders: list[tuple[str, Tree]] = []
    for b in children[:-1]:
        binders.extend(_binder_entries(b))
    return RawGoal(tuple(binders), children[-1], goal_mode=False)


def _strip_statement(text: str) -> str:
    """The statement's own text for the grammar: `import`/`open`/`set_option` lines and comments
    dropped, and a lone theorem cut at its body (`prover.lean.decls`); anything else is cut at its
    first `:=` (a header of definitions then fails to parse: unsupported, never guessed at)."""
    lines = [ln for ln in text.splitlines() if not ln.strip().startswith(("import ", "open ", "set_option "))]
    body = decls.mask("\n".join(lines), literals=False)
    found = decls.declarations(body)
    if len(found) == 1 and found[0].is_theorem:
        d = found[0]
        return body[d.keyword_at:d.body_at if d.body_at is not None else d.stop].strip()
    cut = body.find(":=")
    return (body if cut < 0 else body[:cut]).strip()


def _binder_entries(b: Tree) -> list[tuple[str, Tree]]:
    if b.data in ("explicit_binder", "implicit_binder"):
        names = [str(c) for c in b.children if isinstance(c, Token)]
        ty = next(c for c in b.children if isinstance(c, Tree))
        return [(n, ty) for n in names]
    if b.data == "inst_binder":
        return [(str(b.children[0]), Tree("instance", [b.children[1]]))]
    return [("_inst", Tree("instance", [b.children[0]]))]


def raw_goal(hyps: Sequence[tuple[str, str]], target: str) -> RawGoal:
    """Parse a goal as Lean pretty-prints it: ``(name, type)`` pairs and the target."""
    binders: list[tuple[str, Tree]] = []
    for name, ty in hyps:
        binders.extend((n, parse_term(ty)) for n in name.split())
    return RawGoal(tuple(binders), parse_term(target), goal_mode=True)


def raw_goal_text(goal: str) -> RawGoal:
    """Parse the whole pretty-printed goal ``x : ℕ\\nh : P x\\n⊢ Q x``."""
    hyps: list[tuple[str, str]] = []
    target: str | None = None
    current: list[str] | None = None
    for line in goal.splitlines():
        if line.startswith("⊢"):
            target = line[1:].strip()
            current = None
            continue
        if target is not None:
            target += " " + line.strip()
            continue
        m = re.match(r"^(\S[^:]*?) : (.*)$", line)
        if m is not None:
            current = [m.group(1), m.group(2)]
            hyps.append((current[0], current[1]))
        elif hyps and line.startswith(" "):
            hyps[-1] = (hyps[-1][0], hyps[-1][1] + " " + line.strip())
    if target is None:
        raise Unsupported("goal without ⊢")
    return raw_goal(hyps, target)


def build_problems(raw: RawGoal) -> list[Problem]:
    """Every typed reading of the goal (one when the text fixes all types)."""
    problems: list[Problem] = []
    prefix: tuple[int, ...] | None = ()
    while prefix is not None:
        chooser = Chooser(prefix)
        problems.append(_build(raw, Elaborator(chooser, goal_mode=raw.goal_mode)))
        if len(problems) > MAX_READINGS:
            raise Unsupported("too many possible typings of the text")
        prefix = chooser.next_prefix()
    return problems


# Heads of type expressions that are certainly types, never propositions.
_TYPE_HEADS = {
    "Type",
    "Sort",
    "Set",
    "Finset",
    "Fin",
    "Multiset",
    "List",
    "Polynomial",
    "Matrix",
    "NNReal",
    "ℝ≥0",
    "ℝ≥0∞",
    "ENNReal",
    "EReal",
    "ZMod",
    "Ideal",
    "Subgroup",
    "Submodule",
    "Equiv.Perm",
    "EuclideanSpace",
    "Module.End",
    "MvPolynomial",
    "PowerSeries",
    "Quaternion",
    "GaussianInt",
}


def _head_name(t: Tree | Token) -> str | None:
    while isinstance(t, Tree) and t.data == "apply":
        t = t.children[0]
    if isinstance(t, Tree) and t.data == "var":
        return str(t.children[0])
    return None


def _is_type_tree(t: Tree, scope: Scope) -> bool:
    """Whether a binder's type is a type (a variable) rather than a proposition (a hypothesis).

    Misclassifying a hypothesis as a type would drop it and make refutations unsound, so
    only known type heads, bound type variables and arrows between types count.
    """
    try:
        parse_type(t)
        return True
    except Unsupported:
        pass
    if t.data == "implies":
        return all(isinstance(c, Tree) and _is_type_tree(c, scope) for c in t.children)
    head = _head_name(t)
    if head is None:
        return False
    return head in _TYPE_HEADS or (isinstance(scope.get(head), Opaque) and scope[head].reason == "a type")


def _instance(t: Tree, scope: Scope, el: Elaborator) -> Node | None:
    """``[Fact P]`` is the hypothesis ``P``; other instances must not touch number variables."""
    inner = t.children[0]
    if isinstance(inner, Tree) and inner.data == "apply" and _head_name(inner) == "Fact":
        return el.prop(inner.children[1], scope)
    if any(isinstance(scope.get(n), Num | FunTy) for n in _names_in(inner)):
        raise Unsupported("an instance argument constrains a number variable")
    return None


def _names_in(t: Tree | Token) -> set[str]:
    if isinstance(t, Token):
        return set()
    if t.data == "var":
        return {str(t.children[0])}
    return set().union(*(_names_in(c) for c in t.children)) if t.children else set()


def _build(raw: RawGoal, el: Elaborator) -> Problem:
    scope: Scope = {}
    variables: list[tuple[str, Num]] = []
    hyps: list[tuple[str, Node]] = []
    functions: dict[str, PartialFunction] = {}
    for name, t in raw.binders:
        if t.data == "instance":
            fact = _instance(t, scope, el)
            if fact is not None:
                hyps.append((name, fact))
            continue
        if _name_is_sort(t):
            scope[name] = Opaque("a type")
            continue
        if _is_type_tree(t, scope):
            try:
                ty = parse_type(t)
            except Unsupported as err:
                scope[name] = Opaque(str(err))
                continue
            if isinstance(ty, PropTy):
                scope[name] = Opaque("a proposition variable")
                continue
            scope[name] = ty
            if isinstance(ty, Num):
                variables.append((name, ty))
            continue
        definition = _definition(t, scope, el)
        if definition is not None:
            fname, pf = definition
            if fname not in functions:
                functions[fname] = pf
                continue
        hyps.append((name, el.prop(t, scope)))
    _reject_cycles(functions)
    concl = raw.conclusion
    k = 0
    # intro: ∀ binders and → antecedents of the conclusion become variables and hypotheses
    while isinstance(concl, Tree) and concl.data in ("quant", "implies"):
        if concl.data == "implies":
            hyps.append((f"intro{k}", el.prop(concl.children[0], scope)))
            k += 1
            concl = concl.children[1]
            continue
        if str(concl.children[0]) != "∀":
            break
        binders = el._binders(concl.children[1], scope)
        body = concl.children[2]
        for bname, ty_tree, pred, bound in binders:
            ty = parse_type(ty_tree) if ty_tree is not None else None
            if pred in ("∈", "∉"):
                _, ty = el.collection(bound, scope, el._elem_from_body(bname, bound, body, scope))
            if ty is None:
                ty = el.binder_type(bname, body, scope, bound)
            if not isinstance(ty, Num):
                raise Unsupported(f"∀ over {ty}")
            fresh = bname if bname not in scope else bname + "'"
            if fresh != bname:
                raise Unsupported("shadowed binder in the conclusion")
            scope[bname] = ty
            variables.append((bname, ty))
            if pred is not None:
                rel = Tree("rel", [Tree("var", [Token("NAME", bname)]), Token("RELOP", pred), bound])
                hyps.append((f"intro{k}", el.prop(rel, scope)))
                k += 1
        concl = body
    conclusion = el.prop(concl, scope)
    return Problem(tuple(variables), tuple(hyps), conclusion, tuple(functions.items()))


def _name_is_sort(t: Tree) -> bool:
    return _head_name(t) in ("Type", "Sort")


def _definition(t: Tree, scope: Scope, el: Elaborator) -> tuple[str, PartialFunction] | None:
    """Recognise ``∀ x, [guard →] f x = body`` or ``f = fun x => body`` defining ``f``."""
    if t.data == "rel" and str(t.children[1]) == "=":
        fname = _var_name(t.children[0])
        lam = t.children[2]
        if (
            fname is not None
            and isinstance(scope.get(fname), FunTy)
            and isinstance(lam, Tree)
            and lam.data == "lam"
        ):
            fty = scope[fname]
            assert_fun(fty)
            if _mentions(lam, fname):
                return None
            return fname, PartialFunction(el.lam(lam, fty.args, fty.ret, scope), None)  # type: ignore[union-attr]
        return None
    params: list[tuple[str, Num]] = []
    guard_tree: Tree | None = None
    body = t
    bound_names: list[str] = []
    typed: dict[str, Tree | None] = {}
    while isinstance(body, Tree) and body.data == "quant" and str(body.children[0]) == "∀":
        binders = el._binders(body.children[1], scope)
        for bname, ty_tree, pred, _bound in binders:
            if pred is not None:
                return None
            bound_names.append(bname)
            typed[bname] = ty_tree
        body = body.children[2]
    if not bound_names:
        return None
    if isinstance(body, Tree) and body.data == "implies":
        guard_tree, body = body.children
    if not (isinstance(body, Tree) and body.data == "rel" and str(body.children[1]) == "="):
        return None
    lhs, _, rhs = body.children
    head = lhs
    args: list = []
    while isinstance(head, Tree) and head.data == "apply":
        args.insert(0, head.children[1])
        head = head.children[0]
    fname = _var_name(head)
    if fname is None or not isinstance(scope.get(fname), FunTy):
        return None
    fty = scope[fname]
    arg_names = [_var_name(a) for a in args]
    if arg_names != bound_names or len(args) != len(fty.args) or _mentions(rhs, fname):  # type: ignore[union-attr]
        return None
    if guard_tree is not None and _mentions(guard_tree, fname):
        return None
    for (bname, ty), want in zip(typed.items(), fty.args, strict=True):  # type: ignore[union-attr]
        if ty is not None and parse_type(ty) != want:
            return None
        params.append((bname, want))
    inner: Scope = {**scope, **dict(params)}
    body_node = el.term(rhs, inner, fty.ret)  # type: ignore[union-attr]
    if body_node.ty != fty.ret:  # type: ignore[union-attr]
        return None
    from prover.numeric.nodes import Lam

    lam_node = Lam(tuple(params), body_node, fty)  # type: ignore[arg-type]
    guard = el.prop(guard_tree, inner) if guard_tree is not None else None
    return fname, PartialFunction(lam_node, guard)


def assert_fun(ty: object) -> None:
    if not isinstance(ty, FunTy):
        raise Unsupported("not a function")


def _var_name(t: object) -> str | None:
    if isinstance(t, Tree) and t.data == "var":
        return str(t.children[0])
    return None


def _mentions(t: Tree | Token, name: str) -> bool:
    if isinstance(t, Token):
        return False
    if t.data == "var" and str(t.children[0]) == name:
        return True
    return any(_mentions(c, name) for c in t.children)


def _calls(x: object) -> set[str]:
    """Names of the function variables a node applies (`UserApp`), anywhere inside it."""
    from prover.numeric.nodes import UserApp

    out: set[str] = set()
    stack = [x]
    while stack:
        y = stack.pop()
        if isinstance(y, UserApp):
            out.add(y.name)
        if isinstance(y, tuple):
            stack.extend(y)
        elif hasattr(y, "__dataclass_fields__"):
            stack.extend(getattr(y, f) for f in y.__dataclass_fields__)  # type: ignore[attr-defined]
    return out


def _reject_cycles(functions: dict[str, PartialFunction]) -> None:
    """Hypotheses `∀ x, f x = … g …` and `∀ x, g x = … f …` define nothing: together they may
    well be contradictory (then the statement is vacuously true), and reading them as definitions
    would evaluate one against the other. Only an acyclic set of definitions is trusted."""
    deps = {f: _calls((pf.lam.body, pf.guard)) & set(functions) for f, pf in functions.items()}
    state: dict[str, int] = {}

    def visit(f: str) -> None:
        if state.get(f) == 2:
            return
        if state.get(f) == 1:
            raise Unsupported("functions defined in terms of each other")
        state[f] = 1
        for g in deps[f]:
            visit(g)
        state[f] = 2

    for f in deps:
        visit(f)
