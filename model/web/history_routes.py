"""The history page and the audit trail's exports: who ran what, when, on which file.

``GET /history`` lists the trail newest first, a page at a time; ``/history.csv`` and
``/history.xlsx`` export the rows the same filters choose, every column. A planner sees
their own runs; an admin (and everyone when there are no accounts) sees everyone's and may
choose a planner. The filters come from the query string and are checked like any input:
a bad one is a located, bilingual problem (422), never a guess.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, Response

from model.errors import Problem
from model.vocabulary import STATUS_FULL, STATUS_GAP
from model.web.audit import index_of, who
from model.web.run_index import (
    COLUMNS,
    KIND_PLAN,
    KIND_RISK,
    KINDS,
    OUTCOMES,
    REMOVED,
    TIMES,
    TOTALS,
    Filters,
    utc,
)
from model.web.site import XLSX, site_of

router = APIRouter()

PAGE_ROWS = 100
MAX_EXPORT_ROWS = 100_000
"""The newest rows an export holds; narrow the filters for older ones."""
NO_LOGIN = "~"
"""The user filter's value for runs started without a login (no planner's name)."""
MAX_FILTER_CHARS = 200
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _problem(name: str, value: str, expected: str, expected_zh: str) -> Problem:
    return Problem(
        f"history?{name}",
        f"found {value[:40]!r}, expected {expected}",
        "choose a value from the form's list, or clear the field",
        what_zh=f"收到 {value[:40]!r}，应为{expected_zh}",
        fix_zh="请从表单列表中选择，或清空该项",
    )


def _day(name: str, text: str, problems: list[Problem]) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        problems.append(_problem(name, text, "a date as YYYY-MM-DD", "YYYY-MM-DD 格式的日期"))
        return None


def read_filters(request: Request) -> tuple[Filters, int, list[Problem]]:
    """The filters, the page number and any problems in the query string.

    A planner who is not an admin always gets their own runs, whatever ``user`` says.
    """
    query = request.query_params
    text = {key: query.get(key, "").strip()[:MAX_FILTER_CHARS] for key in query}
    problems: list[Problem] = []
    kind, status = text.get("kind", ""), text.get("status", "")
    if kind and kind not in KINDS:
        problems.append(_problem("kind", kind, " or ".join(KINDS), "、".join(KINDS)))
        kind = ""
    if status and status not in OUTCOMES and status != REMOVED:
        listed = " or ".join([*OUTCOMES, REMOVED])
        problems.append(_problem("status", status, listed, "、".join([*OUTCOMES, REMOVED])))
        status = ""
    page = text.get("page", "1")
    if not (page.isdecimal() and len(page) <= 9) or int(page) < 1:
        problems.append(_problem("page", page, "a page number from 1", "从 1 起的页码"))
        page = "1"
    filters = Filters(
        kind=kind,
        status=status,
        since=_day("from", text.get("from", ""), problems),
        until=_day("to", text.get("to", ""), problems),
        file=text.get("file", ""),
    )
    user, admin = who(request)
    chosen = text.get("user", "")
    if not admin:
        filters = replace(filters, user=user)
    elif chosen:
        filters = replace(filters, user=None if chosen == NO_LOGIN else chosen)
    else:
        filters = replace(filters, anyone=True)
    return filters, int(page), problems


@router.get("/history", response_class=HTMLResponse)
async def history_page(request: Request) -> HTMLResponse:
    """The trail, a page at a time, with its filters and export links."""
    site = site_of(request)
    index = index_of(request)
    filters, page, problems = read_filters(request)
    total = await asyncio.to_thread(index.count, filters)
    offset = (page - 1) * PAGE_ROWS
    rows = await asyncio.to_thread(index.rows, filters, PAGE_ROWS, offset)
    user, admin = who(request)
    users = await asyncio.to_thread(index.users) if admin else []
    query = {k: v for k, v in request.query_params.items() if k != "page" and v}
    return site.page(
        "history.html",
        422 if problems else 200,
        problems=problems,
        rows=[_shown(row) for row in rows],
        total=total,
        page=page,
        pages=max(1, -(-total // PAGE_ROWS)),
        first=offset + 1,
        query=query,
        admin=admin,
        planner=user,
        users=[(NO_LOGIN if u is None else u, _user_label(u)) for u in users],
        chosen={key: request.query_params.get(key, "") for key in FILTER_KEYS},
        kinds=KINDS,
        outcomes=OUTCOMES,
        removed=REMOVED,
        totals=[(key, COLUMNS[key]) for key in TOTALS],
    )


FILTER_KEYS = ("user", "kind", "status", "from", "to", "file")


def _user_label(user: str | None) -> str:
    return "未登录 No login" if user is None else user


def _shown(row: dict[str, Any]) -> dict[str, Any]:
    """A row as the page shows it: its times in UTC, its parameters in a line, its link."""
    done = row["status"] in (STATUS_FULL, STATUS_GAP) and row["removed"] is None
    link = None
    if done and row["run_id"]:
        prefix = "/compare/" if row["kind"] == "compare" else "/runs/"
        part = {KIND_PLAN: "/plan", KIND_RISK: "/risk"}.get(row["kind"], "")
        link = prefix + row["run_id"] + part
    return {
        **row,
        **{key: utc(row[key]) for key in TIMES},
        "user": _user_label(row["user"]),
        "asked": _asked(row),
        "link": link,
    }


def _asked(row: dict[str, Any]) -> str:
    """``base · contribution_ratio=0.045``: the scenario and the values that differ from
    it, or a comparison's sweep."""
    asked = json.loads(row["parameters"]) if row["parameters"] else {}
    if "sweep" in asked:
        return "; ".join(asked["sweep"]) or "scenarios 情景表"
    changed = json.loads(row["overrides"]) if row["overrides"] else []
    if not asked and not changed:
        return ""
    return " · ".join([asked.get("scenario") or "base", *(f"{k}={v}" for k, v in changed)])


async def _export_rows(request: Request) -> tuple[list[dict[str, Any]], list[Problem]]:
    filters, _, problems = read_filters(request)
    rows = await asyncio.to_thread(index_of(request).rows, filters, MAX_EXPORT_ROWS)
    return rows, problems


def _exported(value: Any, key: str) -> Any:
    if key in TIMES:
        return utc(value)
    return value


def csv_text(value: Any) -> Any:
    """A value for a CSV cell that a spreadsheet never reads as a formula: text starting
    with ``=``, ``+``, ``-``, ``@``, a tab or a return gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _attachment_name(suffix: str) -> str:
    return f"caf_history_{datetime.now(UTC):%Y%m%d_%H%M}.{suffix}"


def _refused(request: Request, problems: list[Problem]) -> HTMLResponse:
    return site_of(request).problems(problems, "筛选条件有误 The filters have problems", "/history")


@router.get("/history.csv")
async def history_csv(request: Request) -> Response:
    """The filtered trail as CSV (UTF-8 with a byte-order mark, so Excel reads Chinese)."""
    rows, problems = await _export_rows(request)
    if problems:
        return _refused(request, problems)
    content = await asyncio.to_thread(trail_csv, rows)
    return Response(
        content,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{_attachment_name("csv")}"'},
    )


def trail_csv(rows: list[dict[str, Any]]) -> str:
    """The trail's rows as CSV text, with a byte-order mark and a bilingual header."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(label.text for label in COLUMNS.values())
    for row in rows:
        writer.writerow(csv_text(_exported(row[key], key)) for key in COLUMNS)
    return "\ufeff" + out.getvalue()


@router.get("/history.xlsx")
async def history_xlsx(request: Request) -> Response:
    """The filtered trail as a workbook: every value plain (text never a formula)."""
    rows, problems = await _export_rows(request)
    if problems:
        return _refused(request, problems)
    content = await asyncio.to_thread(trail_workbook, rows)
    return Response(
        content,
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="{_attachment_name("xlsx")}"'},
    )


def trail_workbook(rows: list[dict[str, Any]]) -> bytes:
    """The trail's rows as an .xlsx workbook: one sheet, a frozen bilingual header and a
    filter, times as dates (UTC), text as inline strings that are never formulas. Laid out
    by ``Grid`` and streamed like the project's other workbooks: openpyxl's per-cell
    writer took 6 s for 20,000 rows."""
    from openpyxl import Workbook

    from model.export.cells import Grid, Styles
    from model.xlsx import save_streamed

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("history")
    grid = Grid(sheet, Styles(sheet))
    widths = [40.0 if key in WIDE_COLUMNS else 16.0 for key in COLUMNS]
    grid.table_header([label.header for label in COLUMNS.values()], widths, frozen="B2")
    formats = [DATE_FORMAT if key in TIMES else None for key in COLUMNS]
    for number, row in enumerate(rows, start=2):
        values = [_excel_date(row[key]) if key in TIMES else row[key] for key in COLUMNS]
        grid.put_row(number, values, formats)
    grid.autofilter(len(COLUMNS), len(rows) + 1)
    out = io.BytesIO()
    save_streamed(workbook, [(sheet, grid.xml())], out)
    return out.getvalue()


DATE_FORMAT = "yyyy-mm-dd hh:mm:ss"
WIDE_COLUMNS = frozenset({"source_name", "source_sha256", "parameters", "used_parameters"})
EXCEL_EPOCH_DAYS = 25569.0
"""1970-01-01 as an Excel serial date (days since 1899-12-30)."""


def _excel_date(seconds: float | None) -> float | None:
    """A stored time (Unix seconds, UTC) as an Excel serial date."""
    return None if seconds is None else EXCEL_EPOCH_DAYS + seconds / 86400
