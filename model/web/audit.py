"""The audit trail: every run, comparison and multi-year plan in the ``runs`` table.

A request that asks for work is recorded in three steps, so a row tells what happened
even when a step never came:

1. ``AuditIndex.begin``, in the server when the request arrives: who (the planner, the
   client's address), what kind, when it was queued, the caf and HiGHS versions.
2. ``Audited``, wrapped around the job in the worker: when it started, the uploaded file's
   name, size and SHA-256 (of the bytes the job reads), the parameters asked for; then
   when it finished, its status, the parameters used and the totals.
3. ``AuditIndex.settle``, in the server with the answer: a job that never started (no
   workbook, an earlier run that is gone, a queue that filled meanwhile) or whose worker
   died is closed here. A request refused before its form is read (over the size limit,
   a full queue, no CSRF token) asked for nothing and leaves no row.

The table and its reading are ``run_index``'s. Runs swept by ``--keep-days`` keep their
row, with ``removed`` set.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from model.errors import InputError
from model.vocabulary import STATUS_GAP
from model.web.run_index import (
    FAILED,
    KIND_PLAN,
    KIND_RISK,
    PROBLEMS,
    TOTALS,
    AuditIndex,
    as_json,
)
from model.web.storage import RunStore

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

Work = Callable[..., Awaitable[dict[str, Any] | None]]
"""``Site.work``: run a job in the pool; None when it failed unexpectedly."""

log = logging.getLogger(__name__)


def asked_parameters(kind: str, extra: tuple[Any, ...]) -> dict[str, Any]:
    """What the planner asked for, from a job's extra arguments: the scenario and the
    form's non-blank values (a run, a plan), the typed sweep (a comparison), and for a plan
    under uncertainty its number of draws too."""
    if kind == "compare":
        return {"sweep": list(extra[0]) if extra else []}
    scenario, form = (*extra, "", {})[:2]
    overrides = {k: v for k, v in dict(form).items() if str(v).strip()}
    asked = {"scenario": scenario, "overrides": overrides}
    if kind == KIND_RISK and len(extra) > 2:
        asked["draws"] = extra[2]
    return asked


def outcome(
    kind: str, result: dict[str, Any], folder: Path, asked: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    """A finished job's status and the figures the trail keeps, read from what it wrote:
    a run's and a plan's totals (a plan's over its horizon), a comparison's scenario
    count, how many have a gap, and its base scenario's totals; a plan under uncertainty's
    draws, seed and shocks (its odds are on its page). A plan's overrides are its run's,
    which is what it was asked with."""
    figures: dict[str, Any] = {}
    if kind in (KIND_PLAN, KIND_RISK):
        figures["overrides"] = as_json([[k, v] for k, v in asked.get("overrides", {}).items()])
    problems = result.get("problems")
    if problems:
        return PROBLEMS, {**figures, "problems": len(problems)}
    meta = result.get("meta", {})
    status = str(meta.get("status", FAILED))
    if kind == KIND_RISK:
        page = json.loads((folder / "page.json").read_text(encoding="utf-8"))
        shocks = {k: page[k] for k in ("draws", "seed", "correlation", "sigma") if k in page}
        return status, {**figures, "used_parameters": as_json(shocks)}
    if kind == "compare":
        document = json.loads((folder / "comparison.json").read_text(encoding="utf-8"))
        scenarios = document["scenarios"]
        base = scenarios[0]
        figures["scenarios"] = len(scenarios)
        figures["gap_scenarios"] = sum(s["status"] == STATUS_GAP for s in scenarios)
    else:
        name = "result.json" if kind == "run" else "page.json"
        base = json.loads((folder / name).read_text(encoding="utf-8"))
        if "overrides" in meta:
            figures["overrides"] = as_json(meta["overrides"])
    figures["used_parameters"] = as_json(base.get("parameters", {}))
    figures.update({key: base.get("totals", {}).get(key) for key in TOTALS})
    return status, figures


@dataclass(frozen=True)
class Audited:
    """A job of ``model.web.jobs`` that records its start and its end in the trail.

    Pickled to a worker with the job: ``(input path, display name, folder, *extra)`` as
    every job takes them. ``run_id`` is the run a plan belongs to; a run or a comparison
    is the staging folder's id, which becomes its address when published.
    """

    data_dir: str
    entry: int
    kind: str
    job: Callable[..., dict[str, Any]]
    run_id: str | None = field(default=None)

    @property
    def __name__(self) -> str:
        """The job's name, for the worker pool's log lines."""
        return str(getattr(self.job, "__name__", "a job"))

    def __call__(
        self, input_path: str, source_name: str, folder: str, *extra: Any
    ) -> dict[str, Any]:
        index = AuditIndex(Path(self.data_dir))
        asked = asked_parameters(self.kind, extra)
        run_id = self.run_id or Path(folder).name
        _logged(index.started, self.entry, run_id, Path(input_path), source_name, asked)
        try:
            result = self.job(input_path, source_name, folder, *extra)
        except BaseException as error:
            _logged(index.finished, self.entry, FAILED, error=type(error).__name__)
            raise
        try:
            status, figures = outcome(self.kind, result, Path(folder), asked)
        except (OSError, ValueError, KeyError, TypeError):
            log.exception("the audit trail could not read a finished job's figures")
            status, figures = str(result.get("meta", {}).get("status", FAILED)), {}
        _logged(index.finished, self.entry, status, **figures)
        return result


def _logged(record: Callable[..., None], *args: Any, **kwargs: Any) -> None:
    """Write to the trail from a worker; a failed write is logged, never the job's end."""
    try:
        record(*args, **kwargs)
    except (sqlite3.Error, OSError):
        log.exception("the audit trail could not be written")


def index_of(request: Request) -> AuditIndex:
    """The trail of the app serving ``request``."""
    index: AuditIndex = request.app.state.audit
    return index


def who(request: Request) -> tuple[str | None, bool]:
    """The planner making the request and whether they may see everyone's runs.

    The login middleware sets ``request.state.user`` and ``is_admin``; without it (no
    accounts: loopback or one shared token) whoever reaches the server sees everything.
    """
    state = request.state
    user = getattr(state, "user", None)
    return user, bool(getattr(state, "is_admin", not hasattr(state, "user")))


def _client(request: Request) -> str | None:
    return request.client.host if request.client else None


async def recorded(
    request: Request,
    kind: str,
    job: Callable[..., dict[str, Any]],
    submit: Callable[[Audited], Awaitable[Response]],
) -> Response:
    """Submit a run or a comparison with its job wrapped in ``Audited``, and settle the
    row with the answer."""
    index = index_of(request)
    entry = await asyncio.to_thread(index.begin, kind, who(request)[0], _client(request))
    try:
        response = await submit(Audited(str(index.data_dir), entry, kind, job))
    except InputError as error:  # the form's own problems, found before any job
        index.finished(entry, PROBLEMS, problems=len(error.problems))
        raise
    except BaseException as error:
        index.settle(entry, None, type(error).__name__)
        raise
    await asyncio.to_thread(index.settle, entry, response.status_code)
    return response


def planned(request: Request, run_id: str, work: Work, kind: str = KIND_PLAN) -> Work:
    """``work`` (``Site.work``) that records the plan (or, with ``kind`` ``KIND_RISK``, the
    plan under uncertainty) of ``run_id`` when it is queued, runs it audited, and settles
    the row when the worker answers. Nothing is recorded unless it is actually queued
    (``PlanJobs.start`` may find it done or running)."""
    index = index_of(request)
    user, client = who(request)[0], _client(request)

    async def audited(job: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any] | None:
        entry = await asyncio.to_thread(index.begin, kind, user, client)
        wrapped = Audited(str(index.data_dir), entry, kind, job, run_id)
        try:
            result = await work(wrapped, *args)
        except BaseException as error:
            index.settle(entry, None, type(error).__name__)
            raise
        await asyncio.to_thread(index.settle, entry, 500 if result is None else 200)
        return result

    return audited


def sweep(store: RunStore, index: AuditIndex, keep_days: float) -> list[str]:
    """Delete the runs older than ``keep_days`` and mark them removed in the trail; with
    ``keep_days`` 0 (or less) every run is kept."""
    if keep_days <= 0:
        return []
    removed = store.remove_older_than(keep_days)
    index.mark_removed(removed)
    if removed:
        log.info("removed %d runs older than %g days", len(removed), keep_days)
    return removed


SWEEP_SECONDS = 3600.0
"""How often a running server looks for runs past ``--keep-days``."""


async def keep_sweeping(store: RunStore, index: AuditIndex, keep_days: float) -> None:
    """Sweep now and then every ``SWEEP_SECONDS`` until cancelled (0 days: never)."""
    if keep_days <= 0:
        return
    while True:
        try:
            await asyncio.to_thread(sweep, store, index, keep_days)
        except (OSError, sqlite3.Error):
            log.exception("the keep-days sweep failed; trying again later")
        await asyncio.sleep(SWEEP_SECONDS)
