"""The web interface in real headless Chromium: what a planner sees and clicks.

Set ``CAF_SCREENSHOTS=folder`` to keep a full-page screenshot of every page visited.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from playwright.sync_api import ConsoleMessage, Page, expect

from model.errors import InputError
from model.workbook.reader import read_workbook

RUN_URL = re.compile(r".*/runs/[0-9a-f]{32}$")
COMPARE_URL = re.compile(r".*/compare/[0-9a-f]{32}$")


def shoot(page: Page, name: str) -> None:
    """Keep a screenshot when ``CAF_SCREENSHOTS`` names a folder."""
    folder = os.environ.get("CAF_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


@pytest.fixture
def watched(page: Page) -> Any:
    """The page, failing the test on any console error (a CSP block, a script error).

    A 422 answer is expected for a broken workbook, and Chromium logs it as an error.
    """
    errors: list[str] = []

    def record(message: ConsoleMessage) -> None:
        if message.type == "error" and "status of 422" not in message.text:
            errors.append(message.text)

    page.on("console", record)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.set_viewport_size({"width": 1366, "height": 900})
    yield page
    assert errors == []


def charts_drawn(page: Page) -> list[bool]:
    return page.evaluate(
        "() => [...document.querySelectorAll('canvas[data-chart]')]"
        ".map(c => !!Chart.getChart(c) && c.width > 100 && c.height > 100)"
    )


def upload(page: Page, url: str, workbook: Path) -> None:
    page.goto(url + "/")
    page.set_input_files("input[name=workbook]", str(workbook))


def test_upload_the_sample_see_the_result_and_download(
    watched: Page, live_server: Any, web_sample: Path, tmp_path: Path
) -> None:
    page = watched
    upload(page, live_server.url, web_sample)
    expect(page.locator("#inspect-status")).to_contain_text("✓", timeout=20_000)
    expected = read_workbook(web_sample).parameters
    expect(page.locator("input[name=contribution_ratio]")).to_have_value(
        str(expected.contribution_ratio)
    )
    shoot(page, "01_upload_prefilled")
    page.get_by_role("button", name="计算 Run").click()
    page.wait_for_url(RUN_URL, timeout=30_000)
    expect(page.locator("#summary")).to_contain_text("Full payment")
    rows = page.locator("#allocation-table tbody tr")
    expect(rows).to_have_count(len(read_workbook(web_sample).units))
    expect(page.locator("#equity-table tbody tr")).to_have_count(9)
    assert charts_drawn(page) == [True, True, True]  # transfers, months, the frontier
    shoot(page, "02_result")
    with page.expect_download() as download_info:
        page.click("#download-xlsx")
    saved = tmp_path / "allocation.xlsx"
    download_info.value.save_as(saved)
    workbook = load_workbook(saved, read_only=True)
    assert "allocation" in workbook.sheetnames
    workbook.close()


def test_a_broken_workbook_shows_every_problem_as_the_cli_does(
    watched: Page, live_server: Any, web_broken: Path
) -> None:
    page = watched
    with pytest.raises(InputError) as raised:
        read_workbook(web_broken)
    cli_lines = [str(p) for p in raised.value.problems]
    upload(page, live_server.url, web_broken)
    expect(page.locator("#inspect-problems li")).to_have_count(len(cli_lines), timeout=20_000)
    shoot(page, "03_upload_problems_inline")
    with page.expect_response(lambda r: r.url.endswith("/runs")) as answer:
        page.get_by_role("button", name="计算 Run").click()
    assert answer.value.status == 422
    items = page.locator("#problems li")
    expect(items).to_have_count(len(cli_lines))
    # The page shows the English on its own line under the Chinese; the CLI joins them
    # with " / " on one line. Same words, same order.
    shown = [" / ".join(t.strip() for t in text.splitlines()) for text in items.all_inner_texts()]
    assert shown == cli_lines
    shoot(page, "04_problems_page")


def test_compare_two_scenarios_then_two_earlier_runs(
    watched: Page, live_server: Any, web_sample: Path
) -> None:
    page = watched
    page.goto(live_server.url + "/compare")
    page.set_input_files("#compare-form input[name=workbook]", str(web_sample))
    page.fill("textarea[name=sweep]", "contribution_ratio=0.035,0.045")
    page.locator("#compare-form button[type=submit]").click()
    page.wait_for_url(COMPARE_URL, timeout=30_000)
    expect(page.locator("#kpi-table thead th")).to_have_count(1 + 3)
    expect(page.locator("#diff-table tbody tr").first).to_be_visible()
    assert charts_drawn(page) == [True, True]
    shoot(page, "05_comparison")

    upload(page, live_server.url, web_sample)
    expect(page.locator("#inspect-status")).to_contain_text("✓", timeout=20_000)
    page.get_by_role("button", name="计算 Run").click()
    page.wait_for_url(RUN_URL, timeout=30_000)
    first = page.url.rsplit("/", 1)[1]
    page.fill("#rerun-form input[name=contribution_ratio]", "0.045")
    page.locator("#rerun-form button[type=submit]").click()
    page.wait_for_url(lambda url: RUN_URL.match(url) is not None and first not in url)
    second = page.url.rsplit("/", 1)[1]
    page.goto(live_server.url + "/compare")
    page.select_option("select[name=a]", first)
    page.select_option("select[name=b]", second)
    shoot(page, "06_compare_form")
    page.locator("#runs-form button[type=submit]").click()
    expect(page.locator("#parameters-diff tr.changed")).to_contain_text("Contribution ratio")
    expect(page.locator("#province-diff tbody tr").first).to_be_visible()
    shoot(page, "07_two_runs")


SWEEPS = {
    7: "contribution_ratio=0.03,0.035,0.045,0.05,0.055,0.06",
    37: "contribution_ratio=0.035,0.04,0.045\nreserve_months_floor=0,3\n"
    "max_rule_deviation=0,0.2\nobjective=maximin,range,mad",
}


@pytest.mark.parametrize("count", [7, 37])
def test_every_scenario_of_a_wide_comparison_can_be_reached(
    watched: Page, live_server: Any, web_sample: Path, count: int
) -> None:
    page = watched
    page.goto(live_server.url + "/compare")
    page.set_input_files("#compare-form input[name=workbook]", str(web_sample))
    page.fill("textarea[name=sweep]", SWEEPS[count])
    page.locator("#compare-form button[type=submit]").click()
    page.wait_for_url(COMPARE_URL, timeout=60_000)
    headers = page.locator("#kpi-table thead th[data-scenario]")
    expect(headers).to_have_count(count)
    assert all(charts_drawn(page))
    assert len(charts_drawn(page)) >= 2
    page.screenshot(path=f"/tmp/compare_{count}.png", full_page=True)
    shoot(page, f"08_comparison_{count}")
    last = headers.last
    last.scroll_into_view_if_needed()
    box = page.locator("#kpi-scroll").bounding_box()
    cell = last.bounding_box()
    first = page.locator("#kpi-table tbody th").first.bounding_box()
    assert box and cell and first
    assert box["x"] <= cell["x"] and cell["x"] + cell["width"] <= box["x"] + box["width"] + 1
    assert box["x"] - 1 <= first["x"] <= box["x"] + 20  # the figures' column stayed in view
    assert page.evaluate(
        "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )
    if count == 37:
        assert page.evaluate("() => document.getElementById('kpi-scroll').scrollLeft") > 0
