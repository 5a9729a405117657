"""The bounds on the work a server takes on, each a ``caf serve`` option with its default.

A job (a run, a comparison, a plan, an upload's check) runs in a worker process under a
wall-clock limit and a memory cap; jobs beyond the workers wait in a bounded queue, and one
more is answered 503 with ``Retry-After``. Connections must send a request's head within a
deadline, idle ones are closed, and past a cap new ones are refused, so slow clients cannot
starve the others. The README's table of ``caf serve`` options lists each one.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, fields
from typing import Any

from model.workbook.limits import DEFAULT_LIMITS, ReadingLimits


@dataclass(frozen=True)
class Limits:
    """The server's limits (README, "caf serve").

    Attributes:
        job_seconds: wall-clock seconds a job may run once a worker has started it.
        job_memory_mib: memory (address space) one job may add to its warm worker, in MiB;
            0 for no cap.
        queue: jobs that may wait for a free worker; one more is refused with 503.
        header_seconds: seconds a connection has to send a complete request head.
        body_seconds: seconds a request has to send its body once its head is in (a
            10 MiB upload at 1 Mbit/s takes 84 s).
        keep_alive_seconds: seconds an idle kept-alive connection stays open.
        max_connections: open connections; past it a new one is answered 503 and closed.
        max_units, max_rows, max_columns, max_cells, max_problems: how much of an uploaded
            workbook is read (``model.workbook.limits.ReadingLimits``).
    """

    job_seconds: float = 300.0
    job_memory_mib: int = 4096
    queue: int = 32
    header_seconds: float = 10.0
    body_seconds: float = 120.0
    keep_alive_seconds: float = 5.0
    max_connections: int = 500
    max_units: int = DEFAULT_LIMITS.max_units
    max_rows: int = DEFAULT_LIMITS.max_rows
    max_columns: int = DEFAULT_LIMITS.max_columns
    max_cells: int = DEFAULT_LIMITS.max_cells
    max_problems: int = DEFAULT_LIMITS.max_problems

    @property
    def reading(self) -> ReadingLimits:
        """How much of an uploaded workbook the jobs read."""
        return ReadingLimits(
            max_units=self.max_units,
            max_rows=self.max_rows,
            max_columns=self.max_columns,
            max_cells=self.max_cells,
            max_problems=self.max_problems,
        )


GRACE_SECONDS = 10
"""On Ctrl+C, how long requests still being answered are waited for; then the workers are
killed, so stopping never waits for a long solve."""

OPTIONS: dict[str, tuple[str, type, str]] = {
    "job_seconds": ("--job-seconds", float, "wall-clock seconds of any one job"),
    "job_memory_mib": ("--job-memory", int, "MiB of memory per job in its worker (0: no cap)"),
    "queue": ("--queue", int, "jobs that may wait for a worker; more are answered 503"),
    "header_seconds": ("--header-timeout", float, "seconds to send a request's headers"),
    "body_seconds": ("--body-timeout", float, "seconds to send a request's body (an upload)"),
    "keep_alive_seconds": ("--keep-alive", float, "seconds an idle connection is kept"),
    "max_connections": ("--max-connections", int, "open connections; more are answered 503"),
    "max_units": ("--max-units", int, "pooling units a workbook may hold"),
    "max_rows": ("--max-rows", int, "the last row of a sheet that may hold a value"),
    "max_columns": ("--max-columns", int, "the last column of a sheet that may hold a value"),
    "max_cells": ("--max-cells", int, "rows × columns of one sheet's table"),
    "max_problems": ("--max-problems", int, "problems listed for a refused workbook"),
}
"""Each limit's option, type and help, in ``Limits``' order."""


ZERO_ALLOWED = ("--job-memory", "--queue")
"""No memory cap; no queue (only as many jobs as workers)."""


def add_limit_arguments(command: argparse.ArgumentParser) -> None:
    """The limit options of ``caf serve``, defaulting to ``Limits()``."""
    defaults = Limits()
    for name, (flag, kind, text) in OPTIONS.items():
        default = getattr(defaults, name)
        shown = f"{default:g}" if kind is float else f"{default:,}"
        command.add_argument(
            flag,
            dest=name,
            type=_positive(kind, flag),
            default=default,
            metavar="SECONDS" if kind is float else ("MIB" if "memory" in name else "N"),
            help=f"{text} (default {shown})",
        )


def limits_from_arguments(args: argparse.Namespace) -> Limits:
    """``Limits`` from the parsed options."""
    return Limits(**{f.name: getattr(args, f.name) for f in fields(Limits)})


def _positive(kind: type, flag: str) -> type:
    """An argparse type: a number of ``kind``, above 0 (0 allowed in ``ZERO_ALLOWED``)."""

    def parse(text: str) -> float | int:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{flag} takes a number, not {text!r}") from None
        if value < 0 or (value == 0 and flag not in ZERO_ALLOWED):
            raise argparse.ArgumentTypeError(f"{flag} must be above 0, not {text}")
        return value

    return parse  # type: ignore[return-value]


def connection_settings(limits: Limits) -> dict[str, Any]:
    """``uvicorn.Config`` keywords for the connection limits: the guarded HTTP protocol
    (request-head deadline, connection cap), the keep-alive timeout and the grace given at
    shutdown. Raises the process's open-file limit so the cap, not ``accept``, is what
    refuses a connection."""
    from model.web.connections import guarded_protocol, raise_descriptor_limit

    cap = raise_descriptor_limit(limits.max_connections)
    return {
        "http": guarded_protocol(limits.header_seconds, limits.body_seconds, cap),
        "timeout_keep_alive": limits.keep_alive_seconds,
        "timeout_graceful_shutdown": GRACE_SECONDS,
    }
