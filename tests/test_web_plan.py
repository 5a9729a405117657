"""The multi-year plan on the web (issue 13): offered after a run with a horizon, computed in
the background, shown with its charts and tables, downloadable as ``caf plan`` writes it.

HTTP tests go to the live uvicorn server (``live_server`` in conftest) as in
``tests/test_web.py``; the states a real solve passes through too quickly to catch (a plan
being computed, one that failed inside caf) are driven on a server of their own with the
pool replaced; the browser tests click through real headless Chromium. ``CAF_SCREENSHOTS=folder``
keeps a screenshot of the plan page.
"""

from __future__ import annotations

import asyncio
import html
import json
import os
import re
import threading
import time
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path
from typing import Any

import httpx
import openpyxl
import pandas as pd
import pytest
from playwright.sync_api import ConsoleMessage, Page, expect

from model.analysis.plan import Plan, solve_plan
from model.analysis.plan_narrative import plan_sentences
from model.export import plan_charts as workbook_charts
from model.export.plan import PLAN_SHEETS
from model.export.plan_tables import HEAT_POINTS
from model.vocabulary import FIGURES, NEVER, STATUSES
from model.web import plan_charts
from model.web.app import create_app
from model.web.storage import PAGE, RunStore, new_run_id
from model.workbook.reader import read_workbook
from tests.conftest import LiveServer
from tests.test_web import post_run, problem_lines, run_id_of
from tests.web_client import with_csrf
from tests.workbooks import WORKED_EXAMPLE, WORKED_PARAMETERS, write_workbook

PLAN_URL = re.compile(r".*/runs/[0-9a-f]{32}/plan$")
RUN_URL = re.compile(r".*/runs/[0-9a-f]{32}$")
GROWTH = {
    "wage_growth": 0.05,
    "insured_growth": -0.005,
    "retiree_growth": 0.035,
    "benefit_growth": 0.03,
}
STATIC = Path(__file__).resolve().parents[1] / "model" / "web" / "static"


def with_horizon(source: Path, target: Path, end: int) -> Path:
    """``source`` with ``plan_end_year = end`` and the growth defaults in its parameters."""
    workbook = openpyxl.load_workbook(source)
    sheet = workbook["parameters"]
    rows = {str(row[0].value): row for row in sheet.iter_rows() if row[0].value is not None}
    for key, value in {"plan_end_year": end, **GROWTH}.items():
        if key in rows:
            rows[key][1].value = value
        else:
            sheet.append([key, value])
    workbook.save(target)
    return target


@pytest.fixture(scope="module")
def sample_2030(web_sample: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return with_horizon(web_sample, tmp_path_factory.mktemp("plan") / "sample_2030.xlsx", 2030)


@pytest.fixture(scope="module")
def expected_2030(sample_2030: Path) -> Plan:
    data = read_workbook(sample_2030)
    return solve_plan(data, data.scenarios[0])


@pytest.fixture(scope="module")
def no_horizon(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("plan") / "no_horizon.xlsx"
    return write_workbook(path, WORKED_EXAMPLE, WORKED_PARAMETERS)


@pytest.fixture
def client(live_server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server.url, timeout=60) as http:
        yield with_csrf(http)


def wait_for_plan(client: httpx.Client, run_id: str, seconds: float = 90) -> httpx.Response:
    """The plan page once it is no longer being computed."""
    deadline = time.monotonic() + seconds
    while True:
        page = client.get(f"/runs/{run_id}/plan")
        if page.status_code != 202 or time.monotonic() > deadline:
            return page
        time.sleep(0.2)


def text_of(page: str) -> str:
    """A page's text without tags or entities, blanks collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


@pytest.fixture(scope="module")
def planned(live_server: LiveServer, sample_2030: Path) -> dict[str, Any]:
    """A run of the sample to 2030 and its plan, asked for once as the button does."""
    with httpx.Client(base_url=live_server.url, timeout=60) as http:
        run_id = run_id_of(post_run(with_csrf(http), sample_2030))
        offer = http.get(f"/runs/{run_id}").text
        asked = http.post(f"/runs/{run_id}/plan")
        first = http.get(f"/runs/{run_id}/plan")
        page = wait_for_plan(http, run_id)
    return {"id": run_id, "offer": offer, "asked": asked, "first": first, "page": page}


# --- the routes --------------------------------------------------------------------------


def test_a_run_with_a_horizon_offers_the_plan(planned: dict[str, Any]) -> None:
    run_id = planned["id"]
    assert f'action="/runs/{run_id}/plan"' in planned["offer"]
    assert "多年规划 Multi-year plan" in planned["offer"]
    assert 'id="plan-hint"' not in planned["offer"]
    assert planned["asked"].status_code == 303
    assert planned["asked"].headers["location"] == f"/runs/{run_id}/plan"
    first = planned["first"]
    assert first.status_code in (200, 202)  # 200 only if the plan was already done
    if first.status_code == 202:
        assert '<meta http-equiv="refresh"' in first.text
        assert "The plan for 2020–2030 is being computed" in first.text


def test_the_plan_page_shows_status_sentences_tables_and_charts(
    planned: dict[str, Any], expected_2030: Plan
) -> None:
    page = planned["page"]
    assert page.status_code == 200, page.text[:2000]
    text = text_of(page.text)
    assert STATUSES[expected_2030.status].name in text
    for zh, en in plan_sentences(expected_2030):
        assert zh in text
        assert en in text
    units, years = len(expected_2030.units), len(expected_2030.years)
    depletion = page.text.split('id="plan-depletion"')[1].split("</table>")[0]
    assert depletion.count("<tr>") == 1 + units  # the header and one row per unit
    assert "全国" in depletion.split("<tfoot>")[1]
    national = page.text.split('id="plan-national"')[1].split("</table>")[0]
    assert national.count('<th scope="row">') == years
    for key in expected_2030.national.columns:
        assert html.escape(FIGURES[key].text) in national
    heat = page.text.split('id="heat-table"')[1].split("</table>")[0]
    assert heat.count('<th scope="row" class="sticky">') == units
    assert len(re.findall(r'<td class="num heat-\d"', heat)) == units * years
    assert f'<th class="num">{expected_2030.years[-1]}</th>' in heat
    for chart in ("chart-plan-balance", "chart-plan-ratio", "chart-plan-depletion"):
        assert f'<svg id="{chart}"' in page.text
    assert 'id="heat-legend"' in page.text
    assert " style=" not in page.text  # the CSP refuses inline styles: classes only


def test_the_plan_page_reads_the_depletion_years_of_the_plan(
    planned: dict[str, Any], expected_2030: Plan
) -> None:
    rows = planned["page"].text.split('id="plan-depletion"')[1].split("<tbody>")[1]
    shown = {
        code: [html.unescape(re.sub(r"<[^>]+>", "", cell)).strip() for cell in cells]
        for code, cells in (
            (m.group(1), re.findall(r"<td class=\"num[^\"]*\">(.*?)</td>", m.group(2)))
            for m in re.finditer(r"<tr><td>(\w+)</td>(.*?)</tr>", rows, re.S)
        )
    }
    assert set(shown) == set(expected_2030.units.index)
    for code, cells in shown.items():
        years = expected_2030.depletion.loc[code]
        expected = [
            NEVER.name if pd.isna(years[key]) else str(years[key])
            for key in ("depletion_year_before", "depletion_year_rule", "depletion_year_plan")
        ]
        assert cells == expected, code


def test_asking_again_does_not_solve_again(
    client: httpx.Client, planned: dict[str, Any], web_data_dir: Path
) -> None:
    run_id = planned["id"]
    meta = web_data_dir / run_id / "plan" / "meta.json"
    before = meta.read_text(encoding="utf-8")
    again = client.post(f"/runs/{run_id}/plan")
    assert again.status_code == 303
    assert client.get(f"/runs/{run_id}/plan").status_code == 200
    assert meta.read_text(encoding="utf-8") == before
    offer = client.get(f"/runs/{run_id}").text
    assert f'href="/runs/{run_id}/plan"' in offer
    assert "查看多年规划 See the multi-year plan" in offer


def test_the_plan_downloads_are_the_plan_workbook_and_its_json(
    client: httpx.Client, planned: dict[str, Any], expected_2030: Plan, tmp_path: Path
) -> None:
    run_id = planned["id"]
    workbook = client.get(f"/runs/{run_id}/plan.xlsx")
    assert workbook.status_code == 200
    assert workbook.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert f"plan_{run_id[:8]}.xlsx" in workbook.headers["content-disposition"]
    saved = tmp_path / "plan.xlsx"
    saved.write_bytes(workbook.content)
    opened = openpyxl.load_workbook(saved, read_only=True)
    assert opened.sheetnames == list(PLAN_SHEETS)
    opened.close()

    answer = client.get(f"/runs/{run_id}/plan.json")
    assert answer.headers["content-type"].startswith("application/json")
    payload = answer.json()
    assert {"status", "parameters", "ratio_path", "years", "units", "national"} <= set(payload)
    expected = json.loads(json.dumps(expected_2030.to_json()))
    assert list(payload) == list(expected)
    assert payload["status"] == expected["status"]
    assert payload["national"] == expected["national"]
    assert [y["year"] for y in payload["years"]] == list(expected_2030.years)
    assert [u["code"] for u in payload["units"]] == [u["code"] for u in expected["units"]]


def test_a_run_without_a_horizon_says_how_to_get_a_plan(
    client: httpx.Client, no_horizon: Path
) -> None:
    run_id = run_id_of(post_run(client, no_horizon))
    page = client.get(f"/runs/{run_id}").text
    assert 'id="plan-hint"' in page
    assert "plan_end_year" in page.split('id="plan-hint"')[1].split("</p>")[0]
    assert f"/runs/{run_id}/plan" not in page
    assert client.get(f"/runs/{run_id}/plan").status_code == 404
    asked = client.post(f"/runs/{run_id}/plan")
    assert asked.status_code == 303
    nothing = client.get(f"/runs/{run_id}/plan")
    assert nothing.status_code == 404
    assert "plan_end_year" in nothing.text
    for name in ("plan.xlsx", "plan.json"):
        assert client.get(f"/runs/{run_id}/{name}").status_code == 404


@pytest.mark.parametrize("path", ["plan", "plan.xlsx", "plan.json"])
def test_unknown_and_malformed_ids_are_404(client: httpx.Client, path: str) -> None:
    for run_id in (new_run_id(), "not-an-id", "A" * 32):
        assert client.get(f"/runs/{run_id}/{path}").status_code == 404
    assert client.post(f"/runs/{new_run_id()}/plan").status_code == 404


def test_a_comparison_has_no_plan(client: httpx.Client, tmp_path: Path) -> None:
    """A comparison's id is not a run's."""
    with write_workbook(
        tmp_path / "two.xlsx",
        WORKED_EXAMPLE,
        WORKED_PARAMETERS,
        [{"scenario": "r45", "contribution_ratio": 0.045}],
    ).open("rb") as handle:
        answer = client.post("/compare", files={"workbook": ("two.xlsx", handle)})
    compare_id = answer.headers["location"].rsplit("/", 1)[1]
    assert client.get(f"/runs/{compare_id}/plan").status_code == 404
    assert client.post(f"/runs/{compare_id}/plan").status_code == 404


def falling_path(tmp_path: Path) -> Path:
    """The worked example to 2023 with a ratio_path of 0.045 from 2021."""
    parameters = {**WORKED_PARAMETERS, "plan_end_year": 2023, **GROWTH}
    path = write_workbook(tmp_path / "path.xlsx", WORKED_EXAMPLE, parameters)
    workbook = openpyxl.load_workbook(path)
    sheet = workbook.create_sheet("ratio_path")
    sheet.append(["year", "contribution_ratio"])
    sheet.append([2021, 0.045])
    workbook.save(path)
    return path


def test_problems_found_only_at_plan_time_are_422(client: httpx.Client, tmp_path: Path) -> None:
    """The run at 0.05 is fine; its plan's path would fall to 0.045 in 2021."""
    run_id = run_id_of(post_run(client, falling_path(tmp_path), contribution_ratio="0.05"))
    assert client.post(f"/runs/{run_id}/plan").status_code == 303
    page = wait_for_plan(client, run_id)
    assert page.status_code == 422
    lines = problem_lines(page.text)
    assert len(lines) == 1
    assert lines[0].startswith("ratio_path!B2: ")
    assert "found 0.045 for 2021, below the base year's contribution ratio 0.05" in lines[0]
    assert "上解比例只升不降" in lines[0]
    assert f'href="/runs/{run_id}"' in page.text
    offer = client.get(f"/runs/{run_id}").text
    assert "The plan could not be computed: see why" in offer
    assert client.get(f"/runs/{run_id}/plan.xlsx").status_code == 404


def test_unit_names_are_escaped_in_the_charts_and_tables(
    client: httpx.Client, tmp_path: Path
) -> None:
    units = [dict(u) for u in WORKED_EXAMPLE]
    units[1]["name_zh"] = "<script>alert(1)</script>"
    units[1]["opening_balance_100m"] = -50  # runs out at once: drawn in the depletion chart
    parameters = {**WORKED_PARAMETERS, "plan_end_year": 2024, **GROWTH}
    path = write_workbook(tmp_path / "names.xlsx", units, parameters)
    run_id = run_id_of(post_run(client, path))
    client.post(f"/runs/{run_id}/plan")
    page = wait_for_plan(client, run_id)
    assert page.status_code == 200, page.text[:2000]
    assert "<script>alert" not in page.text
    assert '<svg id="chart-plan-depletion"' in page.text
    chart = page.text.split('<svg id="chart-plan-depletion"')[1].split("</svg>")[0]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in chart


# --- the states a real solve passes too fast, with the pool replaced ---------------------


def stored_run(store: RunStore, end: int | None) -> str:
    """A published run whose page gives ``plan_end_year = end`` (no solve behind it)."""
    with store.staging() as (run_id, folder):
        (folder / "input.xlsx").write_bytes(b"PK")
        parameters = {"year": 2020, "plan_end_year": end}
        (folder / PAGE).write_text(json.dumps({"parameters": parameters}), encoding="utf-8")
        meta = {
            "kind": "run",
            "source": "w.xlsx",
            "input": "input.xlsx",
            "created": "now",
            "scenario": "base",
            "status": "full_payment",
            "year": 2020,
            "overrides": [["contribution_ratio", "0.05"]],
        }
        store.publish(run_id, folder, meta)
    return run_id


def test_a_plan_being_computed_refreshes_and_one_that_failed_can_be_asked_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = create_app(tmp_path / "runs", workers=1)
    site = app.state.site
    release = threading.Event()
    calls: list[tuple[Any, ...]] = []
    outcomes: list[Any] = [RuntimeError("a worker died"), {"problems": [["w", "a", "b", "c", "d"]]}]

    async def fake_run(function: Any, *args: Any) -> Any:
        calls.append((function.__name__, *args))
        while not release.is_set():
            await asyncio.sleep(0.01)
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    monkeypatch.setattr(site.pool, "warm", lambda: None)
    monkeypatch.setattr(site.pool, "run", fake_run)
    run_id = stored_run(site.store, 2030)
    with LiveServer(app) as server, httpx.Client(base_url=server.url, timeout=10) as http:
        with_csrf(http)
        assert http.get(f"/runs/{run_id}/plan").status_code == 200  # not asked for yet
        assert http.post(f"/runs/{run_id}/plan").status_code == 303
        assert http.post(f"/runs/{run_id}/plan").status_code == 303  # the same plan
        pending = http.get(f"/runs/{run_id}/plan")
        assert pending.status_code == 202
        assert '<meta http-equiv="refresh" content="2">' in pending.text
        assert "正在计算 2020–2030 年的多年规划" in pending.text
        release.set()
        failed = wait_for_plan(http, run_id, 10)
        assert failed.status_code == 500
        assert f'action="/runs/{run_id}/plan"' in failed.text
        release.clear()
        assert http.post(f"/runs/{run_id}/plan").status_code == 303
        assert http.get(f"/runs/{run_id}/plan").status_code == 202
        release.set()
        assert wait_for_plan(http, run_id, 10).status_code == 422
    assert len(calls) == 2
    name, _, source, _, scenario, form = calls[0]
    assert (name, source, scenario, form) == (
        "plan_job",
        "w.xlsx",
        "base",
        {"contribution_ratio": "0.05"},
    )
    assert not any((tmp_path / "runs" / ".partial").iterdir())


# --- the charts and the heat map's colours ------------------------------------------------


def test_the_series_colours_are_the_plan_workbooks() -> None:
    assert {k: v.lstrip("#") for k, v in plan_charts.COLOURS.items()} == workbook_charts.COLOURS


def test_the_heat_map_follows_the_workbooks_scale_and_the_stylesheet_has_it() -> None:
    css = (STATIC / "style.css").read_text(encoding="utf-8")
    for _, name, _, months in plan_charts.HEAT_BINS:
        colour = plan_charts.heat_colour(months, HEAT_POINTS)
        assert plan_charts.HEAT_COLOURS[name] == colour
        assert f".{name} {{ background: {colour}; }}" in css
    assert plan_charts.heat_class(-0.1) == plan_charts.heat_class(0.0) == "heat-0"
    assert plan_charts.heat_class(0.01) == "heat-1"
    assert plan_charts.heat_class(3.0) == "heat-2"
    assert plan_charts.heat_class(12.0) == "heat-5"
    assert plan_charts.heat_class(40.0) == "heat-6"
    assert plan_charts.heat_class(None) == plan_charts.NO_FIGURE


@pytest.mark.parametrize(
    ("low", "high"), [(0.0, 0.04), (-52163.5, 48711.8), (0.0, 0.0), (-3.0, -1.0), (2.5, 7.0)]
)
def test_the_ticks_cover_the_figures_with_round_steps(low: float, high: float) -> None:
    ticks = plan_charts.nice_ticks(low, high)
    assert ticks[0] <= low and ticks[-1] >= high
    steps = {round(b - a, 12) for a, b in pairwise(ticks)}
    assert len(steps) == 1
    assert 2 <= len(ticks) <= 12


def test_a_line_chart_draws_a_line_and_a_titled_dot_per_year() -> None:
    years = list(range(2020, 2031))
    series = [
        plan_charts.Series("national_closing_100m", [float(i) for i in range(11)]),
        plan_charts.Series("national_before_100m", [float(-i) for i in range(11)], dashed=True),
    ]
    svg = str(plan_charts.line_chart("c", "t", years, series, "亿元"))
    assert svg.count("<polyline") == 2
    assert svg.count("<circle") == 2 * len(years)
    assert svg.count('stroke-dasharray="6 4"') == 2  # the dashed line and its legend swatch
    assert (
        "<title>2025 · 全国年末结余（规划） National closing balance, plan: 5.00 亿元</title>"
        in svg
    )


def test_no_depletion_chart_when_no_unit_runs_out() -> None:
    page = {
        "years": [2020, 2021],
        "units": [{"name_zh": "甲", "name_en": "A", "depletion_year_rule": None,
                   "depletion_year_plan": None}],
    }  # fmt: skip
    assert plan_charts.depletion_chart(page) is None


# --- in the browser ------------------------------------------------------------------------


@pytest.fixture
def watched(page: Page) -> Iterator[Page]:
    """The page at 1366×900, failing the test on any console error (a CSP block)."""
    errors: list[str] = []

    def record(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)

    page.on("console", record)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.set_viewport_size({"width": 1366, "height": 900})
    yield page
    assert errors == []


def test_ask_for_the_plan_wait_for_it_read_it_and_download_it(
    watched: Page, live_server: LiveServer, web_sample: Path, tmp_path: Path
) -> None:
    page = watched
    workbook = with_horizon(web_sample, tmp_path / "sample_2045.xlsx", 2045)
    page.goto(live_server.url + "/")
    page.set_input_files("input[name=workbook]", str(workbook))
    expect(page.locator("#inspect-status")).to_contain_text("✓", timeout=20_000)
    page.get_by_role("button", name="计算 Run").click()
    page.wait_for_url(RUN_URL, timeout=30_000)
    expect(page.locator("#plan h2")).to_contain_text("2020–2045")
    page.get_by_role("button", name="多年规划 Multi-year plan").click()
    page.wait_for_url(PLAN_URL, timeout=30_000)
    expect(page.locator("#plan-summary")).to_be_visible(timeout=90_000)  # refreshed until done

    charts = page.locator("svg.plan-chart")
    expect(charts).to_have_count(3)
    for index in range(3):
        box = charts.nth(index).bounding_box()
        assert box is not None and box["width"] > 300 and box["height"] > 200
    expect(page.locator("#chart-plan-balance polyline")).to_have_count(2)
    expect(page.locator("#chart-plan-ratio polyline")).to_have_count(1)
    units = len(read_workbook(workbook).units)
    expect(page.locator("#plan-depletion tbody tr")).to_have_count(units)
    expect(page.locator("#plan-national tbody tr")).to_have_count(26)
    expect(page.locator("#heat-table tbody tr")).to_have_count(units)

    scroller = page.locator("#heat-scroll")
    last = page.locator("#heat-table thead th").last
    expect(last).to_have_text("2045")
    sizes = scroller.evaluate("e => [e.scrollWidth, e.clientWidth]")
    assert sizes[0] > sizes[1]  # 26 years do not fit: the table scrolls sideways
    scroller.evaluate("e => { e.scrollLeft = e.scrollWidth; }")
    frame, cell = scroller.bounding_box(), last.bounding_box()
    assert frame is not None and cell is not None
    assert frame["x"] <= cell["x"] and cell["x"] + cell["width"] <= frame["x"] + frame["width"] + 1
    name = page.locator("#heat-table tbody th.sticky").first.bounding_box()
    assert name is not None and abs(name["x"] - frame["x"]) < 2  # the names stay in view
    shoot(page, "08_plan")

    with page.expect_download() as download_info:
        page.click("#download-plan-xlsx")
    saved = tmp_path / "plan.xlsx"
    download_info.value.save_as(saved)
    opened = openpyxl.load_workbook(saved, read_only=True)
    assert opened.sheetnames == list(PLAN_SHEETS)
    opened.close()


def shoot(page: Page, name: str) -> None:
    """Keep a full-page screenshot when ``CAF_SCREENSHOTS`` names a folder."""
    folder = os.environ.get("CAF_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)
