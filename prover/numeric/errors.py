"""Exceptions that carry why a statement or a value is out of the checker's reach."""

from __future__ import annotations


class Unsupported(Exception):
    """The statement uses syntax, a function or a type the checker does not model.

    Raised during parsing and elaboration; the verdict is then ``unsupported`` with this reason.
    """


class Undetermined(Exception):
    """A value or truth value cannot be decided exactly on this assignment.

    Examples: the sign of a transcendental number that interval arithmetic cannot separate
    from zero, an unbounded quantifier without witness, an exponent too large to compute.
    The assignment then counts as undecided, never as evidence.
    """
