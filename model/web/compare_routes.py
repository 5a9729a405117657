"""The comparison pages: a workbook's scenarios (or a typed sweep), and two earlier runs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse
from starlette.responses import HTMLResponse, Response

from model.vocabulary import kpi_label
from model.web import forms, jobs
from model.web.audit import recorded
from model.web.compare_charts import compare_charts
from model.web.rundiff import diff_runs
from model.web.site import download, site_of
from model.web.storage import KIND_COMPARE, KIND_RUN
from model.web.views import page_handler
from model.web.workers import admitted

router = APIRouter()


@router.get("/compare", response_class=HTMLResponse)
async def compare_form(request: Request, a: str = "", b: str = "") -> HTMLResponse:
    site = site_of(request)
    return site.page(
        "compare.html", recent=site.recent(request), a=a, b=b, limit_mib=site.limit_mib
    )


def _sweep(form: Any) -> tuple[list[str]]:
    lines = forms.sweep_lines(forms.text_field(form, "sweep", 4000))
    jobs.check_sweep_size(lines)
    return (lines,)


@router.post("/compare", dependencies=[Depends(admitted)])
async def create_comparison(request: Request) -> Response:
    site = site_of(request)
    return await recorded(
        request,
        KIND_COMPARE,
        jobs.compare_job,
        lambda job: site.submit(request, KIND_COMPARE, job, _sweep),
    )


@router.get("/compare/runs", response_class=HTMLResponse)
@page_handler
def compare_runs(
    request: Request, a: str = "", b: str = "", a_link: str = "", b_link: str = ""
) -> HTMLResponse:
    """Two earlier runs side by side; a pasted link wins over the list's choice."""
    site = site_of(request)
    first = forms.run_id_from(a_link) or forms.run_id_from(a)
    second = forms.run_id_from(b_link) or forms.run_id_from(b)
    if not first or not second:
        return site.page(
            "compare.html",
            422,
            recent=site.recent(request),
            a=a,
            b=b,
            limit_mib=site.limit_mib,
            message="请选择两次计算。Choose two runs to compare.",
        )
    ids = (first, second)
    metas = [site.store.meta(i, KIND_RUN) for i in ids]
    results = [site.store.load(i, "result.json", KIND_RUN) for i in ids]
    return site.page("rundiff.html", ids=ids, metas=metas, diff=diff_runs(*results))


@router.get("/compare/{run_id}", response_class=HTMLResponse)
@page_handler
def comparison_page(request: Request, run_id: str, vs: str = "") -> HTMLResponse:
    """KPIs and one scenario's diff side by side; ``vs`` picks the scenario."""
    site = site_of(request)
    meta = site.store.meta(run_id, KIND_COMPARE)
    data = site.store.load(run_id, "page.json", KIND_COMPARE)
    names = [s["name"] for s in data["scenarios"]]
    changed = [name for name in names[1:] if data["diffs"].get(name)]
    chosen = vs if vs in data["diffs"] else next(iter(changed or names[1:]), "")
    columns = [key for key, _ in data["kpi_columns"]]
    labels = {key: kpi_label(key) for key in columns}
    drawn = compare_charts(
        data["scenarios"],
        data.get("base_parameters", {}),
        bool(data.get("swept")),
        columns,
        data["kpi_rows"],
        labels,
    )
    return site.page(
        "comparison.html",
        run_id=run_id,
        meta=meta,
        data=data,
        kpi_columns=list(labels.items()),
        chosen=chosen,
        charts=drawn,
    )


@router.get("/compare/{run_id}/comparison.xlsx")
async def comparison_file(request: Request, run_id: str) -> FileResponse:
    return download(request, run_id, "comparison.xlsx", KIND_COMPARE)


@router.get("/compare/{run_id}/comparison.json")
async def comparison_json(request: Request, run_id: str) -> FileResponse:
    return download(request, run_id, "comparison.json", KIND_COMPARE)
