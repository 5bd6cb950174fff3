"""`LeanServerPool`: N independent Lean servers for parallel work.

Each server is its own process with its own proof states; a job takes one server for as long as it
needs it (`with pool.acquire() as server:`), so a proof search stays on the server that holds its
states. Servers start in parallel, lazily on first use unless `start()` is called.
"""

from __future__ import annotations

import queue
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import TypeVar

from prover.lean.config import LeanConfig
from prover.lean.session import LeanServer

T = TypeVar("T")
R = TypeVar("R")


class LeanServerPool:
    """A fixed set of `LeanServer`s; a context manager that closes them all."""

    def __init__(self, size: int, config: LeanConfig | None = None) -> None:
        if size < 1:
            raise ValueError("a pool needs at least one server")
        self.servers = [LeanServer(config) for _ in range(size)]
        self._free: queue.Queue[LeanServer] = queue.Queue()
        for s in self.servers:
            self._free.put(s)

    def start(self) -> LeanServerPool:
        """Start every server, in parallel (each start is tens of seconds on the embedded Lean)."""
        with ThreadPoolExecutor(len(self.servers)) as ex:
            list(ex.map(LeanServer.start, self.servers))
        return self

    @contextmanager
    def acquire(self, timeout: float | None = None) -> Iterator[LeanServer]:
        """Borrow a server exclusively; it is started if needed and returned afterwards."""
        server = self._free.get(timeout=timeout)
        try:
            server.start()
            yield server
        finally:
            self._free.put(server)

    def map(self, fn: Callable[[LeanServer, T], R], items: Iterable[T]) -> list[R]:
        """`fn(server, item)` for each item, spread over the servers; results in input order."""

        def run(item: T) -> R:
            with self.acquire() as server:
                return fn(server, item)

        with ThreadPoolExecutor(len(self.servers)) as ex:
            return list(ex.map(run, items))

    def close(self) -> None:
        for s in self.servers:
            s.close()

    def __enter__(self) -> LeanServerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
