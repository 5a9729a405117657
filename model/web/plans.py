"""The parts of a run computed in the background on request: its multi-year plan, and its
plan under uncertainty. One job a run and part at a time.

A plan takes longer than a year's run and is asked for after it, from the result page, so
it does not hold the request: ``PartJobs.start`` queues the part's job (``jobs.plan_job``,
``jobs.risk_job``) in the same worker pool as every run (the same processes, the same limits
on how many solve at once and for how long) and answers at once; the part's page refreshes
itself until the part is published. A job may report its progress in its staging folder
(``PROGRESS``), which the page reads while it waits.

What a part ends as is stored with its run (``RunStore.publish_part``): its files, or the
problems that stopped it, which are as final as the run's own inputs. A part that is still
being computed, or that failed inside caf, lives only in this process: after a restart the
page offers it again.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from model.web.storage import PLAN_PROBLEMS, RunStore, write_json_atomic
from model.web.workers import QueueFull

log = logging.getLogger(__name__)

Work = Callable[..., Awaitable[dict[str, Any] | None]]
"""``Site.work``: run a job in the pool; None when it failed unexpectedly."""

DONE, PROBLEMS, RUNNING, FAILED, NONE = "done", "problems", "running", "failed", "none"
"""What a run's part is: published, stopped by problems, being computed, failed inside caf,
or not asked for."""


PROGRESS = "progress.json"
"""A running job's ``{"done": n, "total": n}``, written in its staging folder."""

DEFAULT_WEB_DRAWS = 100
"""A risk run's draws unless the planner asks otherwise: about half a minute on the sample's
plan, enough to read odds to a few points; ``caf risk`` takes thousands."""
MAX_WEB_DRAWS = 2000
"""The most draws one web request may ask for; more belong to ``caf risk`` and Dask."""


class PartJobs:
    """The jobs of one part (``storage.PLAN_DIR``, ``storage.RISK_DIR``) this server process
    is computing, by run id, and those that failed.

    Args:
        part: the part's folder in a run.
        job: the worker function, called as ``job(path, name, folder, scenario, form, *extra)``.
    """

    def __init__(self, part: str, job: Callable[..., dict[str, Any]]) -> None:
        self.part = part
        self.job = job
        self._running: dict[str, asyncio.Task[None]] = {}
        self._folders: dict[str, Path] = {}
        self._failed: set[str] = set()

    def state(self, store: RunStore, run_id: str) -> str:
        """One of ``DONE``, ``PROBLEMS``, ``RUNNING``, ``FAILED`` and ``NONE``.

        Raises:
            UnknownRun: no run of this id.
        """
        meta = store.part_meta(run_id, self.part)
        if meta is not None:
            return PROBLEMS if meta.get("status") == PROBLEMS else DONE
        if run_id in self._running:
            return RUNNING
        return FAILED if run_id in self._failed else NONE

    def progress(self, run_id: str) -> dict[str, int] | None:
        """How far a running job has got, if it says (``PROGRESS``)."""
        folder = self._folders.get(run_id)
        if folder is None:
            return None
        try:
            found = json.loads((folder / PROGRESS).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return {"done": int(found["done"]), "total": int(found["total"])}

    def start(
        self,
        store: RunStore,
        work: Work,
        run_id: str,
        clock: Callable[[], str],
        extra: tuple[Any, ...] = (),
    ) -> None:
        """Queue the part of ``run_id`` unless it is published or already being computed.

        Raises:
            UnknownRun: no run of this id, or its stored workbook is missing.
        """
        if self.state(store, run_id) in (DONE, PROBLEMS, RUNNING):
            return
        meta = store.meta(run_id)
        path, name = store.input_of(run_id)
        form = {str(k): str(v) for k, v in meta.get("overrides", [])}
        arguments = (str(path), name, str(meta.get("scenario", "")), form, *extra)
        self._failed.discard(run_id)
        # A fresh context: the task outlives the request, so it must not inherit the
        # request's place in the queue (``workers.admit``) but take one of its own.
        task = asyncio.get_running_loop().create_task(
            self._solve(store, work, run_id, arguments, clock), context=contextvars.Context()
        )
        self._running[run_id] = task

    async def _solve(
        self,
        store: RunStore,
        work: Work,
        run_id: str,
        arguments: tuple[Any, ...],
        clock: Callable[[], str],
    ) -> None:
        path, name, *rest = arguments
        try:
            with store.staging() as (_, folder):
                self._folders[run_id] = folder
                result = await work(self.job, path, name, str(folder), *rest)
                if result is None:
                    self._failed.add(run_id)
                    return
                if result.get("problems"):
                    write_json_atomic(folder / PLAN_PROBLEMS, result["problems"])
                    meta = {"status": PROBLEMS, "created": clock()}
                else:
                    meta = {**result["meta"], "created": clock()}
                (folder / PROGRESS).unlink(missing_ok=True)
                store.publish_part(run_id, self.part, folder, meta)
        except asyncio.CancelledError:
            raise
        except QueueFull:
            log.warning("the %s of a run found the queue full; it may be asked again", self.part)
            self._failed.add(run_id)
        except Exception:
            log.exception("the %s of a run failed", self.part)
            self._failed.add(run_id)
        finally:
            self._running.pop(run_id, None)
            self._folders.pop(run_id, None)

    def cancel_all(self) -> None:
        """Stop waiting for every job (the server is shutting down)."""
        for task in list(self._running.values()):
            task.cancel()
