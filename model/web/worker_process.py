"""The worker's side of ``workers``: one spawned process that runs the jobs it is handed.

It imports everything the jobs use once (``jobs.warm_up``), then for each job: acknowledges
it, unpickles it (which may import its module), caps its memory with ``setrlimit`` at what
the process holds plus the job's allowance, runs it and answers. A thread watches the
parent: when the server is gone, however it went, the worker leaves within a second.
"""

from __future__ import annotations

import logging
import os
import pickle
import threading
import time
from multiprocessing.connection import Connection
from typing import Any

from model.workbook.limits import ReadingLimits

log = logging.getLogger(__name__)

STARTED = "started"
"""A worker's first answer to a job: from here on, the job counts as started."""
PARENT_POLL_SECONDS = 0.5


def _exit_with(parent: int) -> None:
    """Leave at once when ``parent`` is no longer this process's parent."""
    while True:
        time.sleep(PARENT_POLL_SECONDS)
        if os.getppid() != parent:
            os._exit(1)


def _cap_memory(extra_mib: int | None) -> None:
    """Cap the address space at what this process holds now plus ``extra_mib``; lift the
    cap (back to the hard limit) with None. Where the platform has no such limit (Windows;
    macOS refuses it), jobs run uncapped."""
    try:
        import resource

        _set_cap(resource, extra_mib)
    except (ImportError, ValueError, OSError):
        if extra_mib is not None:
            log.warning("this platform cannot cap a job's memory; jobs run uncapped")


def _set_cap(resource: Any, extra_mib: int | None) -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if extra_mib is None:
        resource.setrlimit(resource.RLIMIT_AS, (hard, hard))
        return
    held = 0
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmSize:"):
                    held = int(line.split()[1]) * 1024
    except OSError:
        held = 0
    cap = held + extra_mib * 2**20
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))


def worker_main(
    connection: Connection, parent: int, memory_mib: int, reading: ReadingLimits
) -> None:
    """A worker: import the solver, then run the jobs sent to it, one by one.

    Each job is acknowledged (``STARTED``) as soon as it arrives, then unpickled (which
    may import its module), run under the memory cap, and answered with ``("ok", result)``,
    ``("memory", None)`` or ``("error", text)``. A closed pipe or ``None`` ends the worker.
    """
    threading.Thread(target=_exit_with, args=(parent,), daemon=True).start()
    from model.web.jobs import warm_up

    warm_up(reading)
    while True:
        try:
            message = connection.recv_bytes()
        except (EOFError, OSError):
            return
        connection.send(STARTED)
        try:
            job = pickle.loads(message)
            if job is None:
                return
            function, args = job
            if memory_mib > 0:
                _cap_memory(memory_mib)
            answer: tuple[str, Any] = ("ok", function(*args))
        except MemoryError:
            answer = ("memory", None)
        except Exception as error:
            answer = ("error", f"{type(error).__name__}: {error}")
        finally:
            if memory_mib > 0:
                _cap_memory(None)
        connection.send(answer)
