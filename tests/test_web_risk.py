"""The plan under uncertainty on the web (issue 16): offered on the plan page, run in the
background in the worker pool with its progress shown, and published as ``caf risk`` would
compute it (the same draws, the same figures), with its workbook and JSON.

HTTP tests go to the live uvicorn server as ``tests/test_web_plan.py`` does; the browser
test clicks through real headless Chromium.
"""

from __future__ import annotations

import io
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openpyxl
import pytest
from playwright.sync_api import Page, expect

from model.analysis.risk_run import run_risk, with_sample
from model.export.risk import RISK_SHEETS
from model.web.plans import DEFAULT_WEB_DRAWS, MAX_WEB_DRAWS, PROGRESS, PartJobs
from model.workbook.reader import read_workbook
from tests.conftest import LiveServer
from tests.test_web import post_run, run_id_of
from tests.test_web_browser import shoot
from tests.test_web_plan import wait_for_plan, with_horizon
from tests.web_client import outside_any_loop, with_csrf

DRAWS = 6
RISK_URL = re.compile(r".*/runs/[0-9a-f]{32}/risk$")


@pytest.fixture(scope="module")
def sample_2024(web_sample: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return with_horizon(web_sample, tmp_path_factory.mktemp("risk") / "sample_2024.xlsx", 2024)


@pytest.fixture
def client(live_server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server.url, timeout=60) as http:
        yield with_csrf(http)


def wait_for_risk(client: httpx.Client, run_id: str, seconds: float = 180) -> httpx.Response:
    """The risk page once its draws are no longer running."""
    deadline = time.monotonic() + seconds
    while True:
        page = client.get(f"/runs/{run_id}/risk")
        if page.status_code != 202 or time.monotonic() > deadline:
            return page
        time.sleep(0.3)


@pytest.fixture(scope="module")
def risked(live_server: LiveServer, sample_2024: Path) -> dict[str, Any]:
    """A run of the sample to 2024, its plan, and its risk run of ``DRAWS`` draws."""
    with httpx.Client(base_url=live_server.url, timeout=60) as raw:
        http = with_csrf(raw)
        run_id = run_id_of(post_run(http, sample_2024))
        before = http.get(f"/runs/{run_id}/risk")
        http.post(f"/runs/{run_id}/plan")
        plan = wait_for_plan(http, run_id)
        asked = http.post(f"/runs/{run_id}/risk", data={"draws": str(DRAWS)})
        page = wait_for_risk(http, run_id)
        downloads = {
            name: http.get(f"/runs/{run_id}/{name}") for name in ("risk.xlsx", "risk.json")
        }
        plan_after = http.get(f"/runs/{run_id}/plan")
    return {
        "id": run_id,
        "before": before,
        "plan": plan,
        "asked": asked,
        "page": page,
        "downloads": downloads,
        "plan_after": plan_after,
    }


def test_the_plan_page_offers_a_risk_run_with_a_modest_default(risked: dict[str, Any]) -> None:
    page = risked["plan"].text
    assert risked["plan"].status_code == 200
    assert 'id="risk-form"' in page and f'action="/runs/{risked["id"]}/risk"' in page
    assert f'value="{DEFAULT_WEB_DRAWS}"' in page and f'max="{MAX_WEB_DRAWS}"' in page
    assert 'name="csrf_token"' in page[page.index('id="risk-form"') :]


def test_before_the_plan_the_risk_page_asks_for_the_plan(risked: dict[str, Any]) -> None:
    assert risked["before"].status_code == 404
    assert 'id="risk-needs-plan"' in risked["before"].text


def test_the_risk_run_is_published_with_the_figures_caf_risk_computes(
    risked: dict[str, Any], sample_2024: Path
) -> None:
    """The web's draws are ``caf risk``'s: the same seed gives the same JSON."""
    assert risked["asked"].status_code == 303
    assert risked["page"].status_code == 200, risked["page"].text[:500]
    data = read_workbook(sample_2024)
    expected = run_risk(data, with_sample([data.scenarios[0]], DRAWS, None), in_process=True)
    published = risked["downloads"]["risk.json"].json()
    want = expected.to_json()
    for key in ("engine", "workers", "dask_version"):
        want.pop(key)
        published.pop(key)
    assert json.dumps(published, sort_keys=True) == json.dumps(want, sort_keys=True)
    page = risked["page"].text
    (risk,) = expected.scenarios
    assert f'id="risk-gap">{risk.gap_probability * 100:.4g}%<' in page
    assert 'id="chart-risk-fan"' in page and "<polygon" in page
    assert 'id="risk-legend"' in page
    rows = re.findall(r"<tr><th scope=\"row\" class=\"sticky\">", page)
    assert len(rows) == len(risk.codes)


def test_the_workbook_downloads_with_every_sheet(risked: dict[str, Any]) -> None:
    answer = risked["downloads"]["risk.xlsx"]
    assert answer.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(answer.content))
    assert tuple(book.sheetnames) == RISK_SHEETS


def test_the_plan_page_then_links_to_the_odds(risked: dict[str, Any]) -> None:
    page = risked["plan_after"].text
    assert 'id="risk-link"' in page and 'id="risk-form"' not in page


@pytest.mark.parametrize("draws", ["0", "abc", str(MAX_WEB_DRAWS + 1), "-3", "²", "9" * 40])
def test_a_bad_number_of_draws_is_a_located_problem(
    client: httpx.Client, risked: dict[str, Any], draws: str
) -> None:
    answer = client.post(f"/runs/{risked['id']}/risk", data={"draws": draws})
    assert answer.status_code == 422
    assert "form draws" in answer.text and "请填写 1 至" in answer.text


def test_a_running_job_shows_its_progress(tmp_path: Path) -> None:
    """``PartJobs.progress`` reads the count a job writes in its staging folder."""
    jobs = PartJobs("risk", lambda *args: {})
    assert jobs.progress("x" * 32) is None
    folder = tmp_path / "staging"
    folder.mkdir()
    (folder / PROGRESS).write_text(json.dumps({"done": 25, "total": 100}))
    jobs._folders["y" * 32] = folder
    assert jobs.progress("y" * 32) == {"done": 25, "total": 100}


def test_in_chromium_a_planner_asks_for_the_odds_and_reads_them(
    page: Page, live_server: LiveServer, sample_2024: Path
) -> None:
    with httpx.Client(base_url=live_server.url, timeout=60) as raw:
        http = with_csrf(raw)
        run_id = run_id_of(post_run(http, sample_2024))
        http.post(f"/runs/{run_id}/plan")
        wait_for_plan(http, run_id)
    page.goto(f"{live_server.url}/runs/{run_id}/plan")
    shoot(page, "plan_with_risk_offer")
    page.fill("#risk-draws", "4")
    page.click("#risk-form button[type=submit]")
    expect(page).to_have_url(RISK_URL)
    expect(page.locator("#risk-summary")).to_be_visible(timeout=120_000)
    shoot(page, "risk")
    expect(page.locator("#chart-risk-fan")).to_be_visible()
    expect(page.locator("#risk-unit-table tbody tr")).to_have_count(32)


def test_a_part_job_takes_a_queue_place_of_its_own(tmp_path: Path) -> None:
    """The request that asks for a plan or a risk run holds a place only while it is
    answered; the job it starts outlives it, so it must not inherit that place (it would
    then run past ``--queue``) but ask ``Workers.admit`` for its own."""
    import asyncio
    import contextlib

    from model.web import workers

    class Store:
        def part_meta(self, run_id: str, part: str) -> None:
            return None

        def meta(self, run_id: str) -> dict[str, Any]:
            return {"scenario": "base", "overrides": []}

        def input_of(self, run_id: str) -> tuple[Path, str]:
            return tmp_path / "input.xlsx", "in.xlsx"

        @contextlib.contextmanager
        def staging(self) -> Iterator[tuple[str, Path]]:
            yield "x", tmp_path

    seen: list[bool] = []

    async def work(job: Any, *args: Any) -> None:
        seen.append(workers._ADMITTED.get())
        return None

    async def request() -> None:
        workers._ADMITTED.set(True)  # as inside an admitted request
        jobs = PartJobs("risk", lambda *args: {})
        jobs.start(Store(), work, "r" * 32, lambda: "now")  # type: ignore[arg-type]
        await asyncio.sleep(0.05)

    outside_any_loop(request())
    assert seen == [False]
