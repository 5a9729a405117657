"""The routes of docs/outputs.md: upload, run, result page and downloads, health."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse
from starlette.responses import HTMLResponse, Response

from model.errors import Problem
from model.vocabulary import FIGURES
from model.web import charts, forms, jobs
from model.web.audit import recorded
from model.web.pages import RESULT_COLUMNS, TILES
from model.web.site import MAX_FORM_FIELDS, download, site_of
from model.web.storage import KIND_RUN
from model.web.views import page_handler
from model.web.workers import admitted

router = APIRouter()


@router.get("/healthz", response_class=PlainTextResponse)
async def healthz() -> str:
    return "ok"


@router.get("/", response_class=HTMLResponse)
async def upload_page(request: Request) -> HTMLResponse:
    site = site_of(request)
    return site.page("upload.html", values={}, limit_mib=site.limit_mib)


@router.post("/inspect", dependencies=[Depends(admitted)])
async def inspect(request: Request) -> Response:
    """Check a workbook and return its parameters, so the form can prefill itself."""
    site = site_of(request)
    async with request.form(max_files=1, max_fields=MAX_FORM_FIELDS) as form:
        with site.store.staging() as (_, folder):
            staged = await site.stage_workbook(form, folder)
            if staged is None:
                return JSONResponse({"problems": []}, status_code=422)
            result = await site.work(jobs.inspect_job, str(staged[0]), staged[1])
    if result is None:
        return JSONResponse({"problems": []}, status_code=500)
    problems = [Problem(*fields) for fields in result.get("problems", [])]
    lines = [{"line": str(p), "where": p.where, "zh": p.zh, "en": p.en} for p in problems]
    if lines:
        return JSONResponse({"problems": lines}, status_code=422)
    return JSONResponse(result)


def _run_arguments(form: Any) -> tuple[str, dict[str, str]]:
    return forms.text_field(form, "scenario", 200), forms.parameter_fields(form)


@router.post("/runs", dependencies=[Depends(admitted)])
async def create_run(request: Request) -> Response:
    site = site_of(request)
    return await recorded(
        request,
        KIND_RUN,
        jobs.solve_job,
        lambda job: site.submit(request, KIND_RUN, job, _run_arguments),
    )


@router.get("/runs/{run_id}", response_class=HTMLResponse)
@page_handler
def run_page(request: Request, run_id: str) -> HTMLResponse:
    """On a thread, one at a time (``page_handler``): a page of 20,000 units never holds
    the event loop (nor ``/healthz``). So are the comparison and plan pages."""
    site = site_of(request)
    meta = site.store.meta(run_id, KIND_RUN)
    data = site.store.load(run_id, "page.json", KIND_RUN)
    rows = data["rows"]
    return site.page(
        "result.html",
        run_id=run_id,
        meta=meta,
        data=data,
        values=forms.rerun_values(data["parameters"], data["overrides"]),
        columns=[(key, FIGURES[key].text) for key in data.get("columns", RESULT_COLUMNS)],
        tiles=TILES,
        overridden={key for key, _ in data["overrides"]},
        transfer_chart=charts.transfer_chart(rows),
        months_chart=charts.months_chart(rows),
        chart_height=charts.chart_height(len(rows)),
        frontier_chart=(charts.frontier_chart(data["frontier"]) if data.get("frontier") else None),
        plan_end_year=data["parameters"].get("plan_end_year"),
        plan_state=site.plans.state(site.store, run_id),
    )


@router.get("/runs/{run_id}/allocation.xlsx")
async def allocation_file(request: Request, run_id: str) -> FileResponse:
    return download(request, run_id, "allocation.xlsx", KIND_RUN)


@router.get("/runs/{run_id}/result.json")
async def result_file(request: Request, run_id: str) -> FileResponse:
    return download(request, run_id, "result.json", KIND_RUN)
