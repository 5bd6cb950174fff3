"""`LeanConfig`: how to run Lean (runtime, limits, restart policy). One frozen value, no behaviour."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class LeanConfig:
    """How to run Lean. Every field has a default that works on a machine without a toolchain."""

    runtime: str = "auto"  # "auto" (native if found, else embedded), "native" or "wasm"
    cache_dir: Path | None = None  # default: $PROVER_CACHE_DIR or ~/.cache/prover
    toolchain_dir: Path | None = None  # a native toolchain root (contains bin/lean)
    start_timeout: float = 600.0  # seconds until the server must be ready
    request_timeout: float = 300.0  # wall clock for a command (`check`, opening a proof)
    tactic_timeout: float = 60.0  # wall clock for one tactic step
    heartbeats: int = 200_000  # Lean's maxHeartbeats for one step (its own, deterministic limit)
    max_request_chars: int = 1_000_000
    auto_restart: bool = True  # restart a dead process on the next request
    # Restarts after a failure wait restart_backoff * 2**(n-1) s (n-th in a row, capped) so a crash
    # loop cannot spin; a successful reply resets n, so a long healthy session restarts freely.
    restart_backoff: float = 0.5
    restart_backoff_max: float = 30.0
    # When a caller's deadline (not the request's own timeout) cuts a request, Lean is left running
    # and the next request first waits this long for the late reply; only then is Lean killed. A
    # restart of the embedded Lean costs ~25 s, and most cut tactics finish within a few seconds.
    cut_reply_wait: float = 5.0
    memory_limit_mb: int | None = 8192  # RSS of Lean's process tree; killed past it (None: no limit)
    memory_poll_s: float = 0.5  # how often the memory watchdog looks
    request_log_max_bytes: int = 64 << 20  # past this, Lean is switched to a fresh request log
    lean_num_threads: int | None = None
    install: bool = True  # install the embedded runtime on first use
