"""Verification from scratch of claimed proofs (`Verifier.verify`), and its `prover verify` CLI."""

from prover.verify.verifier import (
    ALLOWED_AXIOMS,
    UNSOUND_AXIOMS,
    Failure,
    Verification,
    Verifier,
    audit_axioms,
)

__all__ = ["ALLOWED_AXIOMS", "UNSOUND_AXIOMS", "Failure", "Verification", "Verifier", "audit_axioms"]
