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
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from playwright.sync_api import Browser, Page, expect

from model.web.accounts import Accounts
from model.web.app import create_app
from model.web.run_index import COLUMNS
from tests.conftest import LiveServer
from tests.test_web_browser import RUN_URL, shoot, upload, watched  # noqa: F401 (a fixture)
from tests.workbooks import WORKED_EXAMPLE, WORKED_PARAMETERS, write_workbook

PASSWORD = "a long enough password"


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


@pytest.fixture
def accounts_server(tmp_path: Path) -> Iterator[LiveServer]:
    """A server with a planner (wang) and an admin (chief): every page asks for a login."""
    accounts = Accounts(tmp_path / "runs")
    accounts.add_user("wang", PASSWORD)
    accounts.add_user("chief", PASSWORD, admin=True)
    accounts.close()
    with LiveServer(create_app(tmp_path / "runs", workers=1)) as server:
        yield server


def log_in(page: Page, url: str, name: str) -> None:
    page.goto(url + "/history")
    page.wait_for_url(re.compile(r".*/login\?next=%2Fhistory$"))
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name="登录 Log in").click()
    page.wait_for_url(re.compile(r".*/history$"))


def test_a_planner_sees_their_own_history_and_an_admin_chooses_whose(
    browser: Browser, accounts_server: LiveServer, tmp_path: Path
) -> None:
    workbook = write_workbook(tmp_path / "wang.xlsx", WORKED_EXAMPLE, WORKED_PARAMETERS)
    wang = browser.new_page()
    log_in(wang, accounts_server.url, "wang")
    expect(wang.locator("main")).to_contain_text("Your runs")
    expect(wang.locator("select[name=user]")).to_have_count(0)
    upload(wang, accounts_server.url, workbook)
    expect(wang.locator("#inspect-status")).to_contain_text("✓", timeout=20_000)
    wang.get_by_role("button", name="计算 Run").click()
    wang.wait_for_url(RUN_URL, timeout=30_000)
    wang.get_by_role("link", name="历史 History").click()
    expect(wang.locator("#history-table tbody tr")).to_have_count(1)
    expect(wang.locator("#history-table td.user")).to_contain_text("wang")

    chief = browser.new_context().new_page()  # a browser of its own: its own session
    log_in(chief, accounts_server.url, "chief")
    expect(chief.locator("main")).to_contain_text("Every planner's runs")
    chief.select_option("select[name=user]", "wang")
    chief.get_by_role("button", name="筛选 Filter").click()
    expect(chief.locator("#history-table tbody tr")).to_have_count(1)
    expect(chief.locator("#history-table td.file")).to_contain_text("wang.xlsx")
    options = chief.locator("select[name=user] option")
    expect(options).to_have_text(["所有人 Everyone", "wang"])  # the planners in the trail
    shoot(chief, "history_admin")
