"""Talking to Lean: runtime discovery, our interaction server's client, typed results."""

from prover.lean.client import LeanClient
from prover.lean.config import LeanConfig
from prover.lean.errors import (
    InvalidRequest,
    LeanCrashed,
    LeanProtocolError,
    LeanRuntimeNotFound,
    LeanServerError,
    LeanStartupError,
    LeanTimeout,
)
from prover.lean.results import ParseResult
from prover.lean.server import TacticGuard
from prover.lean.session import LeanServer
from prover.lean.types import (
    CommandResult,
    DeclInfo,
    ErrorKind,
    Goal,
    Hypothesis,
    LeanError,
    LeanMessage,
    ProofFinished,
    ProofState,
    Severity,
    TacticResult,
)

__all__ = [
    "CommandResult", "DeclInfo", "ErrorKind", "Goal", "Hypothesis", "InvalidRequest", "LeanClient",
    "LeanConfig", "LeanCrashed", "LeanError", "LeanMessage", "LeanProtocolError", "LeanRuntimeNotFound",
    "LeanServer", "LeanServerError", "LeanStartupError", "LeanTimeout", "ParseResult", "ProofFinished",
    "ProofState", "Severity", "TacticGuard", "TacticResult",
]
