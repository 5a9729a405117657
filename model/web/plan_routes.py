"""The multi-year plan of a run: ask for it, wait for it, read it, download it.

A run whose parameters set ``plan_end_year`` offers its plan on the result page. Asking
(``POST /runs/{run_id}/plan``) queues the plan in the worker pool and redirects at once to
``GET /runs/{run_id}/plan``, which refreshes itself while the plan is computed and then
shows it; problems that only a plan checks are listed as for an upload, with 422.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse
from starlette.responses import HTMLResponse, RedirectResponse, Response

from model.web import plan_charts
from model.web.audit import planned
from model.web.plans import DEFAULT_WEB_DRAWS, DONE, FAILED, MAX_WEB_DRAWS, PROBLEMS, RUNNING
from model.web.site import Site, attachment, now, site_of
from model.web.storage import KIND_RUN, PAGE, PLAN_DIR, PLAN_PROBLEMS
from model.web.views import page_handler
from model.web.workers import admitted

router = APIRouter()

REFRESH_SECONDS = 2
"""How often the page of a plan being computed asks again."""


def plan_end_year(site: Site, run_id: str) -> int | None:
    """The run's horizon: the ``plan_end_year`` of the parameters it ran with, if any."""
    page = site.store.load(run_id, PAGE, KIND_RUN)
    end = page.get("parameters", {}).get("plan_end_year")
    return int(end) if end is not None else None


@router.post("/runs/{run_id}/plan", dependencies=[Depends(admitted)])
async def request_plan(request: Request, run_id: str) -> Response:
    """Queue the run's plan (once: asking again waits for the same one), then show it."""
    site = site_of(request)
    site.store.meta(run_id, KIND_RUN)
    if plan_end_year(site, run_id) is not None:
        site.plans.start(site.store, planned(request, run_id, site.work), run_id, now)
    return RedirectResponse(f"/runs/{run_id}/plan", status_code=303)


@router.get("/runs/{run_id}/plan", response_class=HTMLResponse)
@page_handler
def plan_page(request: Request, run_id: str) -> HTMLResponse:
    """The plan; while it is computed, a page that refreshes itself; its problems (422)."""
    site = site_of(request)
    meta = site.store.meta(run_id, KIND_RUN)
    state = site.plans.state(site.store, run_id)
    if state == PROBLEMS:
        problems = site.store.load_part(run_id, PLAN_DIR, PLAN_PROBLEMS)
        title = "多年规划无法计算 The plan's inputs have problems"
        return site.problems(problems, title, f"/runs/{run_id}")
    if state == DONE:
        data = site.store.load_part(run_id, PLAN_DIR, PAGE)
        return site.page(
            "plan.html",
            run_id=run_id,
            meta=meta,
            data=data,
            risk_state=site.risks.state(site.store, run_id),
            default_draws=DEFAULT_WEB_DRAWS,
            max_draws=MAX_WEB_DRAWS,
            **_charts(data),
        )
    end = plan_end_year(site, run_id)
    status = {RUNNING: 202, FAILED: 500}.get(state, 200 if end is not None else 404)
    return site.page(
        "plan_state.html",
        status,
        run_id=run_id,
        meta=meta,
        state=state,
        plan_end_year=end,
        refresh=REFRESH_SECONDS,
    )


def _charts(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "balance_chart": plan_charts.balance_chart(data),
        "ratio_chart": plan_charts.ratio_chart(data),
        "depletion_chart": plan_charts.depletion_chart(data),
        "depleting": len(plan_charts.depleting_units(data)),
        "heat_bins": plan_charts.HEAT_BINS,
    }


@router.get("/runs/{run_id}/plan.xlsx")
async def plan_workbook(request: Request, run_id: str) -> FileResponse:
    return attachment(site_of(request).store.part_file(run_id, PLAN_DIR, "plan.xlsx"), run_id)


@router.get("/runs/{run_id}/plan.json")
async def plan_json(request: Request, run_id: str) -> FileResponse:
    return attachment(site_of(request).store.part_file(run_id, PLAN_DIR, "plan.json"), run_id)
