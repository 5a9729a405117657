"""The history page in real headless Chromium: a run made in the browser is listed with its
file's SHA-256, the filters narrow the list, the exports download, the link opens the run.

Set ``CAF_SCREENSHOTS=folder`` to keep a full-page screenshot of the page.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import secrets
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from playwright.sync_api import Page, expect

from model.web.run_index import COLUMNS
from tests.test_web_browser import RUN_URL, shoot, upload, watched  # noqa: F401 (a fixture)
from tests.workbooks import WORKED_EXAMPLE, WORKED_PARAMETERS, write_workbook


@pytest.mark.usefixtures("watched")  # no console error on any page
def test_a_run_made_in_the_browser_is_in_the_history_with_its_sha256(
    page: Page, live_server: Any, tmp_path: Path
) -> None:
    name = f"历史-{secrets.token_hex(4)}.xlsx"  # this test's own, among the session's runs
    workbook = write_workbook(tmp_path / name, WORKED_EXAMPLE, WORKED_PARAMETERS)
    digest = hashlib.sha256(workbook.read_bytes()).hexdigest()
    upload(page, live_server.url, workbook)
    expect(page.locator("#inspect-status")).to_contain_text("✓", timeout=20_000)
    page.get_by_role("button", name="计算 Run").click()
    page.wait_for_url(RUN_URL, timeout=30_000)
    run_url = page.url

    page.get_by_role("link", name="历史 History").click()
    page.wait_for_url(re.compile(r".*/history$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("历史")
    row = page.locator("#history-table tbody tr", has_text=name)
    expect(row).to_have_count(1)
    expect(row.locator(".sha")).to_have_text(digest[:16] + "…")
    expect(row.locator(".sha")).to_have_attribute("title", digest)
    expect(row.locator(".badge")).to_contain_text("Full payment")
    shoot(page, "history")

    page.fill("input[name=file]", name[:-5])
    page.select_option("select[name=kind]", "compare")
    page.get_by_role("button", name="筛选 Filter").click()
    expect(page.locator("#history-table")).to_have_count(0)
    expect(page.locator("main")).to_contain_text("No record matches these filters")
    page.select_option("select[name=kind]", "run")
    page.get_by_role("button", name="筛选 Filter").click()
    expect(page.locator("#history-table tbody tr")).to_have_count(1)
    expect(page.locator("#history-count")).to_contain_text("1 record")
    assert page.input_value("input[name=file]") == name[:-5]  # the form keeps its filters

    with page.expect_download() as download_info:
        page.click("#export-csv")
    text = Path(download_info.value.path()).read_text(encoding="utf-8-sig")
    table = list(csv.reader(io.StringIO(text)))
    assert table[0] == [label.text for label in COLUMNS.values()]
    assert len(table) == 2
    record = dict(zip(COLUMNS, table[1], strict=True))
    assert (record["source_name"], record["source_sha256"]) == (name, digest)
    assert run_url.endswith(record["run_id"])

    with page.expect_download() as download_info:
        page.click("#export-xlsx")
    assert download_info.value.suggested_filename.endswith(".xlsx")
    saved = tmp_path / download_info.value.suggested_filename
    download_info.value.save_as(saved)
    sheet = load_workbook(saved).active
    assert sheet is not None
    values = [cell.value for cell in next(sheet.iter_rows(min_row=2, max_row=2))]
    assert dict(zip(COLUMNS, values, strict=True))["source_sha256"] == digest

    page.get_by_role("link", name="查看 Open").click()
    page.wait_for_url(run_url)
    expect(page.locator("#summary")).to_contain_text("Full payment")
