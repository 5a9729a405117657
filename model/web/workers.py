"""The worker pool that runs solves off the event loop.

Pyomo builds its models in Python, so solves hold the GIL most of the time: threads would
serialise them and stall every other request. Processes do not. They are started with
``spawn``, since forking a server that already runs threads can copy a held lock into the
child; a spawned worker imports the solver stack once and then serves many runs.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import threading
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from model.web.jobs import warm_up

log = logging.getLogger(__name__)


class Workers:
    """A lazily started process pool that replaces itself if a worker dies."""

    def __init__(self, count: int) -> None:
        self.count = max(1, count)
        self._pool: Executor | None = None
        self._lock = threading.Lock()

    def _executor(self) -> Executor:
        with self._lock:
            if self._pool is None:
                context = multiprocessing.get_context("spawn")
                self._pool = ProcessPoolExecutor(max_workers=self.count, mp_context=context)
            return self._pool

    def warm(self) -> None:
        """Start the workers and import the solver in each, without waiting for them."""
        pool = self._executor()
        for _ in range(self.count):
            pool.submit(warm_up)

    async def run(self, function: Callable[..., Any], *args: Any) -> Any:
        """Run ``function(*args)`` in a worker and await its result without blocking."""
        pool = self._executor()
        try:
            return await asyncio.wrap_future(pool.submit(function, *args))
        except BrokenProcessPool:
            log.error("a worker process died; starting a new pool")
            with self._lock:
                if self._pool is pool:
                    self._pool = None
            pool.shutdown(wait=False, cancel_futures=True)
            raise

    def shutdown(self) -> None:
        """Stop the workers; queued runs are cancelled."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
