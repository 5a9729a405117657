"""The worker processes that run solves off the event loop, each job within its limits.

Pyomo builds its models in Python, so solves hold the GIL most of the time: threads would
serialise them and stall every other request. Processes do not. They are started with
``spawn``, since forking a server that already runs threads can copy a held lock into the
child; a spawned worker imports the solver stack once and then serves many jobs.

Each worker has its own pipe and one job at a time, handed over by a thread of the server
that watches it, so a fault stays with the job it hit (``concurrent.futures``' pool fails
every job in flight, queued ones too, when one worker dies):

- a job waits in the server until a worker is free, and a worker that dies before it
  acknowledged a job has that job retried once on a fresh worker;
- a job is given ``Limits.job_seconds`` of wall-clock time from its start, then its worker
  is killed and replaced (``JobOverLimit``); its memory is capped in the worker by
  ``resource.setrlimit`` at what the warm worker holds plus ``Limits.job_memory_mib``, so a
  job over it meets ``MemoryError`` and its worker is replaced;
- a worker that dies while it runs a job fails that job only (``JobFailed``);
- jobs admitted at once (running and waiting) are bounded by the worker count plus
  ``Limits.queue``; beyond that ``QueueFull`` carries how long to wait (``Retry-After``);
- a worker exits on its own within a second when the server process is gone, however it
  went (``SIGKILL`` included).

This module is the server's side; ``worker_process`` is the worker's.
"""

from __future__ import annotations

import asyncio
import collections
import contextvars
import logging
import math
import multiprocessing
import os
import queue
import statistics
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from model.errors import Problem
from model.web.limits import Limits
from model.web.worker_process import STARTED, worker_main
from model.workbook.limits import ReadingLimits

log = logging.getLogger(__name__)

STOP_SECONDS = 5
WARM_SECONDS = 180
"""How long a fresh worker may take to import the solver and acknowledge its first job."""
RECENT_JOBS = 20
FIRST_GUESS_SECONDS = 1.0
"""``Retry-After`` counts the waiting jobs at the median pace of the last ``RECENT_JOBS``
(a fresh worker's first job, slower while its caches fill, is left out); before any has
run, at this many seconds a job. Too short a wait costs a planner one more 503, answered
before the upload is read; too long a one costs a planner the difference."""


class QueueFull(Exception):
    """Every worker is busy and the queue is full: come back in ``retry_after`` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"the queue is full; retry after {retry_after} s")
        self.retry_after = retry_after


class JobFailed(Exception):
    """The worker running a job died before the job finished; nothing was written."""


class JobOverLimit(Exception):
    """A job ran past its wall-clock limit or its memory cap and was stopped.

    Attributes:
        limit: ``"seconds"`` or ``"memory"``.
    """

    def __init__(self, limit: str, limits: Limits) -> None:
        super().__init__(limit)
        self.limit = limit
        self.limits = limits

    def problem(self, where: str) -> Problem:
        """The planner's message, located at the workbook the job read."""
        if self.limit == "seconds":
            seconds = f"{self.limits.job_seconds:g}"
            return Problem(
                where,
                f"the run took longer than this server's limit of {seconds} s per run",
                "run it with caf on the command line, which has no such limit, "
                "or ask the server's administrator to raise caf serve --job-seconds",
                what_zh=f"计算时间超过了本服务器每次计算 {seconds} 秒的上限",
                fix_zh="请在命令行中用 caf 计算（没有此上限），"
                "或请服务器管理员调高 caf serve --job-seconds",
            )
        mib = self.limits.job_memory_mib
        return Problem(
            where,
            f"the run needed more memory than this server's limit of {mib} MiB per run",
            "run it with caf on the command line, which has no such limit, "
            "or ask the server's administrator to raise caf serve --job-memory",
            what_zh=f"计算所需内存超过了本服务器每次计算 {mib} MiB 的上限",
            fix_zh="请在命令行中用 caf 计算（没有此上限），"
            "或请服务器管理员调高 caf serve --job-memory",
        )


@dataclass
class _Job:
    function: Callable[..., Any]
    args: tuple[Any, ...]
    future: Future[Any]


class _Worker:
    """One worker process and the server's end of its pipe."""

    def __init__(self, memory_mib: int, reading: ReadingLimits) -> None:
        context = multiprocessing.get_context("spawn")
        ours, theirs = context.Pipe()
        self.connection = ours
        self.process = context.Process(
            target=worker_main,
            args=(theirs, os.getpid(), memory_mib, reading),
            name="caf-worker",
            daemon=True,
        )
        self.process.start()
        theirs.close()

    @property
    def pid(self) -> int | None:
        return self.process.pid

    def stop(self, kill: bool) -> None:
        """End the process: ask it (or kill it at once), then reap it."""
        if not kill:
            with suppress(OSError):
                self.connection.send(None)
            self.process.join(STOP_SECONDS)
        if self.process.is_alive():
            self.process.kill()
        self.process.join(STOP_SECONDS)
        self.connection.close()


_ADMITTED: contextvars.ContextVar[bool] = contextvars.ContextVar("caf_admitted", default=False)


class Workers:
    """``count`` worker processes, a bounded queue in front of them, and their limits."""

    def __init__(self, count: int, limits: Limits | None = None) -> None:
        self.count = max(1, count)
        self.limits = limits or Limits()
        self._jobs: queue.Queue[_Job | None] = queue.Queue()
        self._lock = threading.Lock()
        self._admitted = 0
        self._durations: collections.deque[float] = collections.deque(maxlen=RECENT_JOBS)
        self._workers: list[_Worker | None] = [None] * self.count
        self._threads: list[threading.Thread] = []
        self._handed: set[int] = set()
        self._served = [0] * self.count
        self._busy: set[int] = set()
        self._stopping = False

    def warm(self) -> None:
        """Start the workers (each imports the solver); return without waiting for them."""
        with self._lock:
            if self._threads or self._stopping:
                return
            for slot in range(self.count):
                thread = threading.Thread(
                    target=self._serve, args=(slot,), name=f"caf-worker-{slot}", daemon=True
                )
                self._threads.append(thread)
                thread.start()

    def pids(self) -> list[int]:
        """The process ids of the live workers."""
        return [w.pid for w in list(self._workers) if w is not None and w.pid is not None]

    @property
    def admitted(self) -> int:
        """Jobs (or requests about to make one) holding a place: running and waiting."""
        return self._admitted

    @property
    def running(self) -> int:
        """Jobs a worker has started (acknowledged) and not yet finished."""
        return len(self._busy)

    @property
    def capacity(self) -> int:
        """How many jobs may be admitted at once: one per worker, plus the queue."""
        return self.count + self.limits.queue

    def retry_after(self) -> int:
        """Seconds until a place is likely free: the waiting jobs at the recent pace."""
        rounds = max(1, math.ceil((self._admitted - self.count + 1) / self.count))
        recent = list(self._durations)
        pace = statistics.median(recent) if recent else FIRST_GUESS_SECONDS
        return max(1, min(300, math.ceil(rounds * pace)))

    @contextmanager
    def admit(self) -> Iterator[None]:
        """Hold a place for the jobs of one request (nested calls share it).

        Raises:
            QueueFull: every place is taken.
        """
        if _ADMITTED.get():
            yield
            return
        with self._lock:
            if self._admitted >= self.capacity:
                raise QueueFull(self.retry_after())
            self._admitted += 1
        _ADMITTED.set(True)
        try:
            yield
        finally:
            _ADMITTED.set(False)
            with self._lock:
                self._admitted -= 1

    async def run(self, function: Callable[..., Any], *args: Any) -> Any:
        """Run ``function(*args)`` in a worker and await its result without blocking.

        A job over a limit returns ``{"problems": [...]}``, located at ``args[1]`` (the
        name the planner knows the workbook by), as the jobs return bad input.

        Raises:
            QueueFull: no place is free (when the request holds none already).
            JobFailed: the worker died while it ran the job.
        """
        with self.admit():
            self.warm()
            future: Future[Any] = Future()
            self._jobs.put(_Job(function, args, future))
            try:
                return await asyncio.wrap_future(future)
            except JobOverLimit as over:
                where = str(args[1]) if len(args) > 1 else "workbook"
                problem = over.problem(where)
                fields = (problem.where, problem.what, problem.fix, problem.what_zh)
                return {"problems": [(*fields, problem.fix_zh)]}

    def _serve(self, slot: int) -> None:
        """One slot's thread: hand it the queued jobs one at a time, replace its worker."""
        self._worker(slot)
        while True:
            job = self._jobs.get()
            if job is None or self._stopping:
                if job is not None:
                    job.future.cancel()
                break
            if not job.future.set_running_or_notify_cancel():
                continue
            started = time.monotonic()
            warm, serving = self._served[slot] > 0, self._workers[slot]
            self._handed.add(slot)
            try:
                job.future.set_result(self._attempt(slot, job, retries=1))
            except BaseException as error:
                job.future.set_exception(error)
            finally:
                self._handed.discard(slot)
                self._busy.discard(slot)
            if warm:
                self._durations.append(time.monotonic() - started)
            if self._workers[slot] is serving:
                self._served[slot] += 1
        worker, self._workers[slot] = self._workers[slot], None
        if worker is not None:
            worker.stop(kill=False)

    def _worker(self, slot: int) -> _Worker:
        worker = self._workers[slot]
        if worker is None or not worker.process.is_alive():
            if worker is not None:
                worker.stop(kill=True)
            worker = self._workers[slot] = _Worker(self.limits.job_memory_mib, self.limits.reading)
            self._served[slot] = 0
        return worker

    def _replace(self, slot: int) -> None:
        """Kill the slot's worker and start its successor, so the next job finds it warm."""
        worker, self._workers[slot] = self._workers[slot], None
        if worker is not None:
            worker.stop(kill=True)
        if not self._stopping:
            self._worker(slot)

    def _attempt(self, slot: int, job: _Job, retries: int) -> Any:
        """Run ``job`` on the slot's worker; retry on a fresh one if it never started."""
        worker = self._worker(slot)
        name = getattr(job.function, "__name__", "a job")
        try:
            worker.connection.send((job.function, job.args))
            ready = worker.connection.poll(WARM_SECONDS)
            acknowledged = worker.connection.recv() if ready else None
        except (EOFError, OSError):
            acknowledged = None
        if acknowledged != STARTED:
            self._replace(slot)
            if retries > 0 and not self._stopping:
                log.warning("a worker died before it started %s; retrying it", name)
                return self._attempt(slot, job, retries - 1)
            raise JobFailed(f"the worker died before it started {name}")
        self._busy.add(slot)
        if not worker.connection.poll(self.limits.job_seconds):
            log.error("%s ran past %g s; its worker is stopped", name, self.limits.job_seconds)
            self._replace(slot)
            raise JobOverLimit("seconds", self.limits)
        try:
            kind, value = worker.connection.recv()
        except (EOFError, OSError):
            worker.process.join(1)
            code = worker.process.exitcode
            self._replace(slot)
            log.error("the worker running %s died (exit code %s)", name, code)
            raise JobFailed(f"the worker running {name} died (exit code {code})") from None
        if kind == "memory":
            log.error(
                "%s ran past %d MiB; its worker is replaced", name, self.limits.job_memory_mib
            )
            self._replace(slot)
            raise JobOverLimit("memory", self.limits)
        if kind == "error":
            raise RuntimeError(f"{name} failed in its worker: {value}")
        return value

    def shutdown(self) -> None:
        """Stop the workers: queued jobs are cancelled, the workers of jobs in hand are
        killed (the server is going, and nobody waits for their answers), idle ones are
        asked to leave."""
        with self._lock:
            self._stopping = True
            threads = list(self._threads)
        for slot in list(self._handed):
            worker = self._workers[slot]
            if worker is not None:
                worker.process.kill()
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                break
            if job is not None:
                job.future.cancel()
        for _ in threads:
            self._jobs.put(None)
        for thread in threads:
            thread.join(STOP_SECONDS * 2)


async def admitted(request: Request) -> AsyncIterator[None]:
    """A route dependency: hold a place for the request's jobs before its body is read, or
    answer 503 at once (``QueueFull``) when there is none."""
    pool: Workers = request.app.state.site.pool
    with pool.admit():
        yield
