"""Infrastructure faults talking to Lean, as exceptions.

Lean's own verdicts (a tactic failed, a statement does not elaborate) are *values*
(`prover.lean.types.LeanError`); these exceptions are for what is not Lean's answer: the process
died, a request ran past its wall-clock limit, the channel broke, or the request itself is unusable.
"""

from __future__ import annotations


class LeanServerError(Exception):
    """Base class of every fault raised by the Lean client."""


class LeanRuntimeNotFound(LeanServerError):
    """No native Lean was found and the embedded runtime could not be installed."""


class LeanStartupError(LeanServerError):
    """The Lean process started but never said it was ready."""


class LeanCrashed(LeanServerError):
    """The Lean process died while a request was in flight (or before it was answered).

    The server restarts on the next request; the request that was in flight is lost.
    """


class LeanTimeout(LeanServerError):
    """A request ran past its wall-clock limit; the process was killed and will be restarted."""


class LeanProtocolError(LeanServerError):
    """The server's reply broke the protocol (unparseable, wrong id)."""


class InvalidRequest(LeanServerError, ValueError):
    """The request cannot be sent as it is: bad UTF-8, too large, empty, not a statement."""


class LeanRestarted(LeanCrashed):
    """Lean restarted between resolving a request's environment or state ids and sending it (the
    ids belong to the process that is gone); the request was not sent. Retrying rebuilds them."""
