"""The plan under uncertainty of a run: ask for it, follow its progress, read it, download it.

The plan page offers it once the plan is computed. Asking (``POST /runs/{run_id}/risk``,
with the number of draws) queues the draws in the worker pool, under the server's job
limits like any run, and redirects at once to ``GET /runs/{run_id}/risk``, which refreshes
itself with the draws done so far and then shows the odds. The web runs the draws one after
another in one worker (``risk_run.run_risk(in_process=True)``); many draws, many scenarios
and clusters belong to ``caf risk``.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse
from starlette.responses import HTMLResponse, RedirectResponse, Response

from model.errors import Problem
from model.web import forms
from model.web.audit import planned
from model.web.plan_routes import REFRESH_SECONDS
from model.web.plans import DEFAULT_WEB_DRAWS, DONE, FAILED, MAX_WEB_DRAWS, PROBLEMS, RUNNING
from model.web.risk_charts import BINS, fan_chart
from model.web.run_index import KIND_RISK
from model.web.site import Site, attachment, now, site_of
from model.web.storage import KIND_RUN, PAGE, PLAN_DIR, PLAN_PROBLEMS, RISK_DIR
from model.web.views import page_handler
from model.web.workers import admitted

router = APIRouter()


def draws_problem(text: str) -> Problem | None:
    """The located problem with the form's number of draws, if any."""
    if text.isdecimal() and len(text) <= 6 and 1 <= int(text) <= MAX_WEB_DRAWS:
        return None
    return Problem(
        "form draws",
        f'found "{text}"',
        f"give a whole number of draws from 1 to {MAX_WEB_DRAWS:,}, such as {DEFAULT_WEB_DRAWS}; "
        "for more, run caf risk on the command line",
        what_zh=f"发现“{text}”",
        fix_zh=f"请填写 1 至 {MAX_WEB_DRAWS:,} 之间的整数抽样次数，如 {DEFAULT_WEB_DRAWS}；"
        "更多抽样请在命令行运行 caf risk",
    )


def has_plan(site: Site, run_id: str) -> bool:
    """Whether the run's plan is computed: the risk run starts from it."""
    return site.plans.state(site.store, run_id) == DONE


@router.post("/runs/{run_id}/risk", dependencies=[Depends(admitted)])
async def request_risk(request: Request, run_id: str) -> Response:
    """Queue the run's plan under uncertainty (once), then show its progress."""
    site = site_of(request)
    site.store.meta(run_id, KIND_RUN)
    async with request.form(max_files=0, max_fields=4) as form:
        text = forms.text_field(form, "draws", 20) or str(DEFAULT_WEB_DRAWS)
    problem = draws_problem(text)
    if problem is not None:
        return site.problems([problem], "抽样次数有误 The number of draws", f"/runs/{run_id}/plan")
    if has_plan(site, run_id):
        work = planned(request, run_id, site.work, KIND_RISK)
        site.risks.start(site.store, work, run_id, now, (int(text),))
    return RedirectResponse(f"/runs/{run_id}/risk", status_code=303)


@router.get("/runs/{run_id}/risk", response_class=HTMLResponse)
@page_handler
def risk_view(request: Request, run_id: str) -> HTMLResponse:
    """The odds; while the draws run, a page that refreshes itself with their progress."""
    site = site_of(request)
    meta = site.store.meta(run_id, KIND_RUN)
    state = site.risks.state(site.store, run_id)
    if state == PROBLEMS:
        problems = site.store.load_part(run_id, RISK_DIR, PLAN_PROBLEMS)
        title = "风险分析无法计算 The plan under uncertainty has problems"
        return site.problems(problems, title, f"/runs/{run_id}/plan")
    if state == DONE:
        data = site.store.load_part(run_id, RISK_DIR, PAGE)
        return site.page(
            "risk.html", run_id=run_id, meta=meta, data=data, fan=fan_chart(data), bins=BINS
        )
    ready = has_plan(site, run_id)
    status = {RUNNING: 202, FAILED: 500}.get(state, 200 if ready else 404)
    plan = site.store.part_meta(run_id, PLAN_DIR) if ready else None  # its years, not its page
    return site.page(
        "risk_state.html",
        status,
        run_id=run_id,
        meta=meta,
        state=state,
        ready=ready,
        years=[plan["year"], plan["end_year"]] if plan else [],
        progress=site.risks.progress(run_id),
        refresh=REFRESH_SECONDS,
        default_draws=DEFAULT_WEB_DRAWS,
        max_draws=MAX_WEB_DRAWS,
    )


@router.get("/runs/{run_id}/risk.xlsx")
async def risk_workbook(request: Request, run_id: str) -> FileResponse:
    return attachment(site_of(request).store.part_file(run_id, RISK_DIR, "risk.xlsx"), run_id)


@router.get("/runs/{run_id}/risk.json")
async def risk_json(request: Request, run_id: str) -> FileResponse:
    return attachment(site_of(request).store.part_file(run_id, RISK_DIR, "risk.json"), run_id)
