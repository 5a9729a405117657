"""Multi-year plans computed in the background, one run at a time.

A plan takes longer than a year's run and is asked for after it, from the result page, so
it does not hold the request: ``PlanJobs.start`` queues ``jobs.plan_job`` in the same
worker pool as every run (the same processes, the same limit on how many solve at once)
and answers at once; the plan page refreshes itself until the plan is published.

What a plan ends as is stored with its run (``RunStore.publish_plan``): its files, or the
problems that stopped it, which are as final as the run's own inputs. A plan that is still
being computed, or that failed inside caf, lives only in this process: after a restart the
page offers the plan again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from model.web import jobs
from model.web.storage import PLAN_PROBLEMS, RunStore, write_json_atomic

log = logging.getLogger(__name__)

Work = Callable[..., Awaitable[dict[str, Any] | None]]
"""``Site.work``: run a job in the pool; None when it failed unexpectedly."""

DONE, PROBLEMS, RUNNING, FAILED, NONE = "done", "problems", "running", "failed", "none"
"""What a run's plan is: published, stopped by problems, being computed, failed inside caf,
or not asked for."""


class PlanJobs:
    """The plans this server process is computing, by run id, and those that failed."""

    def __init__(self) -> None:
        self._running: dict[str, asyncio.Task[None]] = {}
        self._failed: set[str] = set()

    def state(self, store: RunStore, run_id: str) -> str:
        """One of ``DONE``, ``PROBLEMS``, ``RUNNING``, ``FAILED`` and ``NONE``.

        Raises:
            UnknownRun: no run of this id.
        """
        meta = store.plan_meta(run_id)
        if meta is not None:
            return PROBLEMS if meta.get("status") == PROBLEMS else DONE
        if run_id in self._running:
            return RUNNING
        return FAILED if run_id in self._failed else NONE

    def start(self, store: RunStore, work: Work, run_id: str, clock: Callable[[], str]) -> None:
        """Queue the plan of ``run_id`` unless it is published or already being computed.

        Raises:
            UnknownRun: no run of this id, or its stored workbook is missing.
        """
        if self.state(store, run_id) in (DONE, PROBLEMS, RUNNING):
            return
        meta = store.meta(run_id)
        path, name = store.input_of(run_id)
        form = {str(k): str(v) for k, v in meta.get("overrides", [])}
        arguments = (str(path), name, str(meta.get("scenario", "")), form)
        self._failed.discard(run_id)
        task = asyncio.get_running_loop().create_task(
            self._solve(store, work, run_id, arguments, clock)
        )
        self._running[run_id] = task

    async def _solve(
        self,
        store: RunStore,
        work: Work,
        run_id: str,
        arguments: tuple[str, str, str, dict[str, str]],
        clock: Callable[[], str],
    ) -> None:
        path, name, scenario, form = arguments
        try:
            with store.staging() as (_, folder):
                result = await work(jobs.plan_job, path, name, str(folder), scenario, form)
                if result is None:
                    self._failed.add(run_id)
                    return
                if result.get("problems"):
                    write_json_atomic(folder / PLAN_PROBLEMS, result["problems"])
                    meta = {"status": PROBLEMS, "created": clock()}
                else:
                    meta = {**result["meta"], "created": clock()}
                store.publish_plan(run_id, folder, meta)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("the plan of a run failed")
            self._failed.add(run_id)
        finally:
            self._running.pop(run_id, None)

    def cancel_all(self) -> None:
        """Stop waiting for every plan (the server is shutting down)."""
        for task in list(self._running.values()):
            task.cancel()
