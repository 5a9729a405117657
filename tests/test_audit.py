"""The audit trail: what a run, a comparison and a plan leave in the ``runs`` table, the
history page each planner sees, its exports, and the keep-days sweep.

A uvicorn server on loopback with three accounts (two planners and an admin) receives
real uploads; every figure a test expects is read from what the run itself wrote (its
``result.json``, ``comparison.json``, the plan's page) or from the uploaded bytes.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook

from model import __version__
from model.web import database
from model.web.accounts import Accounts
from model.web.app import create_app
from model.web.audit import sweep
from model.web.limits import Limits
from model.web.run_index import COLUMNS, MIGRATIONS, OWNER, AuditIndex, Filters
from model.web.storage import PAGE, RunStore
from tests.conftest import LiveServer
from tests.test_web_plan import GROWTH
from tests.workbooks import WORKED_EXAMPLE, WORKED_PARAMETERS, write_workbook

PASSWORD = "a long enough password"
MIB = 2**20
LOCATION = re.compile(r"^/(runs|compare)/([0-9a-f]{32})$")
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


# --- a server with accounts, and planners logged in ----------------------------------------


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("audited")
    accounts = Accounts(folder)
    accounts.add_user("wang", PASSWORD)
    accounts.add_user("li", PASSWORD)
    accounts.add_user("chief", PASSWORD, admin=True)
    accounts.close()
    return folder


@pytest.fixture(scope="module")
def server(data_dir: Path) -> Iterator[LiveServer]:
    with LiveServer(create_app(data_dir, workers=1, max_upload_bytes=MIB)) as live:
        yield live


def log_in(server: LiveServer, name: str) -> httpx.Client:
    client = httpx.Client(base_url=server.url, timeout=60)
    token = CSRF.search(client.get("/login").text)
    assert token, "the login page has no CSRF field"
    fields = {"name": name, "password": PASSWORD, "csrf_token": token[1], "next": "/"}
    answer = client.post("/login", data=fields)
    assert answer.status_code == 303, answer.text[:500]
    return client


@pytest.fixture(scope="module")
def planners(server: LiveServer) -> Iterator[dict[str, httpx.Client]]:
    clients = {name: log_in(server, name) for name in ("wang", "li", "chief")}
    yield clients
    for client in clients.values():
        client.close()


def post(
    client: httpx.Client, path: str, workbook: Path | None = None, name: str = "", **fields: str
) -> httpx.Response:
    """A form as the page posts it: the CSRF token of a page just read, and the file."""
    token = CSRF.search(client.get("/").text)
    assert token
    data = {"csrf_token": token[1], **fields}
    if workbook is None:
        return client.post(path, data=data)
    files = {"workbook": (name or workbook.name, workbook.read_bytes(), "application/octet-stream")}
    return client.post(path, data=data, files=files)


def trail(data_dir: Path, where: str = "1 = 1", *arguments: Any) -> list[dict[str, Any]]:
    db = database.connect(data_dir)
    try:
        rows = db.execute(f"SELECT * FROM runs WHERE {where} ORDER BY id", arguments).fetchall()
    finally:
        db.close()
    return [dict(row) for row in rows]


def entry_of(data_dir: Path, answer: httpx.Response) -> dict[str, Any]:
    found = LOCATION.match(answer.headers.get("location", ""))
    assert found, (answer.status_code, answer.text[:2000])
    (row,) = trail(data_dir, "run_id = ? AND kind != 'plan'", found[2])
    return row


@pytest.fixture(scope="module")
def worked(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_workbook(
        tmp_path_factory.mktemp("in") / "worked.xlsx", WORKED_EXAMPLE, WORKED_PARAMETERS
    )


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory) -> Path:
    units = [dict(u) for u in WORKED_EXAMPLE]
    units[0]["name_zh"] = None
    units[1]["avg_wage_yuan"] = -5
    return write_workbook(tmp_path_factory.mktemp("in") / "broken.xlsx", units, WORKED_PARAMETERS)


# --- the table ---------------------------------------------------------------------------


def test_the_index_is_created_in_wal_mode_and_migrated_once(tmp_path: Path) -> None:
    AuditIndex.open(tmp_path)
    AuditIndex.open(tmp_path)  # a restart applies nothing twice
    db = sqlite3.connect(tmp_path / "caf.sqlite")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    versions = db.execute("SELECT owner, version FROM schema_version").fetchall()
    assert versions == [(OWNER, len(MIGRATIONS))]
    columns = [row[1] for row in db.execute("PRAGMA table_info(runs)")]
    assert set(COLUMNS) <= set(columns)


def test_an_index_of_an_older_caf_is_migrated_keeping_its_rows(tmp_path: Path) -> None:
    db = database.connect(tmp_path)
    database.migrate(db, OWNER, MIGRATIONS[:1])
    db.execute("INSERT INTO runs (kind, status, queued) VALUES ('run', 'full_payment', 1.0)")
    db.close()
    index = AuditIndex.open(tmp_path)
    (row,) = index.rows(Filters(anyone=True), 10)
    assert (row["kind"], row["queued"], row["overrides"]) == ("run", 1.0, None)
    db = database.connect(tmp_path)
    assert database.version(db, OWNER) == len(MIGRATIONS) > 1
    db.close()


def test_a_database_newer_than_this_caf_is_refused(tmp_path: Path) -> None:
    AuditIndex.open(tmp_path)
    db = sqlite3.connect(tmp_path / "caf.sqlite")
    db.execute("UPDATE schema_version SET version = 99 WHERE owner = ?", (OWNER,))
    db.commit()
    with pytest.raises(RuntimeError, match="newer caf"):
        AuditIndex.open(tmp_path)


# --- what a run, a comparison and a plan leave ---------------------------------------------


def test_a_run_is_recorded_with_its_sha256_and_user(
    planners: dict[str, httpx.Client], data_dir: Path, worked: Path
) -> None:
    before = time.time()
    answer = post(planners["wang"], "/runs", worked, "年度测算.xlsx", contribution_ratio="0.045")
    row = entry_of(data_dir, answer)
    run = data_dir / row["run_id"]
    result = json.loads((run / "result.json").read_text(encoding="utf-8"))
    page = json.loads((run / PAGE).read_text(encoding="utf-8"))
    assert row["kind"] == "run"
    assert row["user"] == "wang"
    assert row["client"] == "127.0.0.1"
    assert row["source_name"] == "年度测算.xlsx"
    assert row["source_sha256"] == hashlib.sha256(worked.read_bytes()).hexdigest()
    assert row["source_sha256"] == page["source"]["sha256"]  # as the run's run_info says
    assert row["source_bytes"] == worked.stat().st_size
    assert json.loads(row["parameters"]) == {
        "scenario": "",
        "overrides": {"contribution_ratio": "0.045"},
    }
    assert json.loads(row["used_parameters"]) == result["parameters"]
    meta = json.loads((run / "meta.json").read_text(encoding="utf-8"))
    assert json.loads(row["overrides"]) == meta["overrides"] == [["contribution_ratio", "0.045"]]
    assert json.loads(row["used_parameters"])["contribution_ratio"] == 0.045
    assert row["status"] == result["status"]
    for key, value in result["totals"].items():
        assert row[key] == pytest.approx(value), key
    assert before <= row["queued"] <= row["started"] <= row["finished"] <= time.time()
    assert row["wait_seconds"] == pytest.approx(row["started"] - row["queued"])
    assert row["solve_seconds"] == pytest.approx(row["finished"] - row["started"])
    assert row["caf_version"] == __version__
    assert row["highs_version"] == metadata.version("highspy")
    assert row["removed"] is None and row["error"] is None


def test_a_workbook_with_problems_is_recorded_with_their_count(
    planners: dict[str, httpx.Client], data_dir: Path, broken: Path
) -> None:
    answer = post(planners["li"], "/runs", broken)
    assert answer.status_code == 422
    listed = answer.text.count('<code class="where">')
    (row,) = trail(data_dir, "user = 'li' AND source_name = 'broken.xlsx'")
    assert (row["status"], row["problems"]) == ("problems", listed)
    assert listed >= 2
    assert row["source_sha256"] == hashlib.sha256(broken.read_bytes()).hexdigest()
    assert row["used_parameters"] is None and row["fund_100m"] is None
    assert not (data_dir / row["run_id"]).exists()  # never published


def test_a_form_without_a_workbook_is_recorded_without_a_file(
    planners: dict[str, httpx.Client], data_dir: Path
) -> None:
    before = len(trail(data_dir))
    assert post(planners["li"], "/runs", contribution_ratio="0.04").status_code == 422
    row = trail(data_dir)[-1]
    assert len(trail(data_dir)) == before + 1
    assert (row["user"], row["status"], row["source_name"]) == ("li", "problems", None)
    assert row["started"] is None and row["solve_seconds"] is None
    assert row["finished"] >= row["queued"]


def test_a_request_that_never_reaches_a_worker_is_refused_or_leaves_no_row(
    planners: dict[str, httpx.Client], data_dir: Path, tmp_path: Path
) -> None:
    before = len(trail(data_dir))
    big = tmp_path / "big.xlsx"
    big.write_bytes(b"PK" + bytes(2 * MIB))
    assert post(planners["li"], "/runs", big).status_code == 413  # refused before the route
    assert len(trail(data_dir)) == before
    assert post(planners["li"], "/runs", from_run="0" * 32).status_code == 404
    row = trail(data_dir)[-1]
    assert len(trail(data_dir)) == before + 1
    assert (row["user"], row["status"], row["started"]) == ("li", "refused", None)
    assert row["error"] == "UnknownRun"


def test_a_comparison_records_its_scenarios_and_how_many_have_a_gap(
    planners: dict[str, httpx.Client], data_dir: Path, worked: Path
) -> None:
    sweep = "contribution_ratio=0.001,0.04"
    row = entry_of(data_dir, post(planners["wang"], "/compare", worked, sweep=sweep))
    document = json.loads((data_dir / row["run_id"] / "comparison.json").read_text("utf-8"))
    statuses = [s["status"] for s in document["scenarios"]]
    assert row["kind"] == "compare" and row["user"] == "wang"
    assert row["scenarios"] == len(statuses) == 3
    assert row["gap_scenarios"] == statuses.count("unfunded_gap") >= 1
    assert row["status"] == "unfunded_gap"
    assert json.loads(row["parameters"]) == {"sweep": [sweep]}
    assert row["fund_100m"] == pytest.approx(document["scenarios"][0]["totals"]["fund_100m"])


def test_a_plan_is_recorded_under_its_run(
    planners: dict[str, httpx.Client], data_dir: Path, tmp_path: Path
) -> None:
    parameters = {**WORKED_PARAMETERS, "plan_end_year": 2023, **GROWTH}
    horizon = write_workbook(tmp_path / "horizon.xlsx", WORKED_EXAMPLE, parameters)
    client = planners["chief"]
    run_id = entry_of(data_dir, post(client, "/runs", horizon))["run_id"]
    assert post(client, f"/runs/{run_id}/plan").status_code == 303
    deadline = time.monotonic() + 90
    while client.get(f"/runs/{run_id}/plan").status_code == 202:
        assert time.monotonic() < deadline, "the plan did not finish"
        time.sleep(0.3)
    (row,) = trail(data_dir, "kind = 'plan' AND run_id = ?", run_id)
    plan = json.loads((data_dir / run_id / "plan" / PAGE).read_text(encoding="utf-8"))
    assert (row["user"], row["status"]) == ("chief", plan["status"])
    meta = json.loads((data_dir / run_id / "meta.json").read_text(encoding="utf-8"))
    assert json.loads(row["overrides"]) == meta["overrides"]
    for key, value in plan["totals"].items():
        assert row[key] == pytest.approx(value), key
    assert row["source_sha256"] == hashlib.sha256(horizon.read_bytes()).hexdigest()
    post(client, f"/runs/{run_id}/plan")  # asked again: the same plan, not a new entry
    assert len(trail(data_dir, "kind = 'plan' AND run_id = ?", run_id)) == 1

    assert post(client, f"/runs/{run_id}/risk", draws="3").status_code == 303
    while client.get(f"/runs/{run_id}/risk").status_code == 202:
        assert time.monotonic() < deadline + 90, "the plan under uncertainty did not finish"
        time.sleep(0.3)
    (risk,) = trail(data_dir, "kind = 'risk' AND run_id = ?", run_id)
    page = json.loads((data_dir / run_id / "risk" / PAGE).read_text(encoding="utf-8"))
    meta = json.loads((data_dir / run_id / "risk" / "meta.json").read_text(encoding="utf-8"))
    assert (risk["user"], risk["status"]) == ("chief", meta["status"])
    assert json.loads(risk["parameters"])["draws"] == 3
    assert json.loads(risk["used_parameters"])["seed"] == page["seed"]
    history = client.get("/history", params={"kind": "risk"}).text
    assert entries(history) == [risk["id"]]
    assert f'href="/runs/{run_id}/risk"' in history


# --- the history page and its exports --------------------------------------------------------


def entries(page: str) -> list[int]:
    return [int(n) for n in re.findall(r'data-entry="(\d+)"', page)]


def test_a_planner_sees_only_their_own_runs_and_an_admin_everyones(
    planners: dict[str, httpx.Client], data_dir: Path, worked: Path
) -> None:
    post(planners["li"], "/runs", worked)
    post(planners["wang"], "/runs", worked)
    everyone = trail(data_dir)
    for name in ("wang", "li"):
        mine = [r["id"] for r in reversed(everyone) if r["user"] == name]
        assert mine
        page = planners[name].get("/history")
        assert page.status_code == 200
        assert entries(page.text) == mine
        assert 'name="user"' not in page.text  # no one else to choose
        other = "li" if name == "wang" else "wang"
        assert entries(planners[name].get("/history", params={"user": other}).text) == mine
    admin = planners["chief"].get("/history")
    assert entries(admin.text) == [r["id"] for r in reversed(everyone)]
    assert 'name="user"' in admin.text
    only_li = planners["chief"].get("/history", params={"user": "li"})
    assert entries(only_li.text) == [r["id"] for r in reversed(everyone) if r["user"] == "li"]


def test_the_filters_choose_kind_status_file_and_dates(
    planners: dict[str, httpx.Client], data_dir: Path
) -> None:
    chief = planners["chief"]
    everyone = list(reversed(trail(data_dir)))

    def shown(**filters: str) -> list[int]:
        page = chief.get("/history", params=filters)
        assert page.status_code == 200, page.text[:2000]
        return entries(page.text)

    assert shown(kind="compare") == [r["id"] for r in everyone if r["kind"] == "compare"]
    assert shown(status="problems") == [r["id"] for r in everyone if r["status"] == "problems"]
    assert shown(file="测算") == [r["id"] for r in everyone if "测算" in (r["source_name"] or "")]
    assert shown(file="%") == []  # a wildcard is a character here, not "anything"
    today = datetime.now(UTC).date()
    assert shown(**{"from": str(today), "to": str(today)}) == [r["id"] for r in everyone]
    assert shown(**{"to": str(today - timedelta(days=1))}) == []


def test_a_file_name_is_text_on_the_page_never_markup(
    planners: dict[str, httpx.Client], worked: Path
) -> None:
    name = "<img src=x onerror=alert(1)>.xlsx"
    post(planners["li"], "/runs", worked, name)
    page = planners["li"].get("/history", params={"file": "onerror"})
    assert len(entries(page.text)) == 1
    assert "<img src=x" not in page.text
    assert "&lt;img src=x onerror=alert(1)&gt;.xlsx" in page.text


def test_bad_filters_are_located_problems_in_both_languages(
    planners: dict[str, httpx.Client],
) -> None:
    page = planners["wang"].get("/history", params={"kind": "everything", "from": "2026-13-40"})
    assert page.status_code == 422
    assert "history?kind" in page.text and "history?from" in page.text
    assert "YYYY-MM-DD" in page.text and "应为" in page.text
    assert planners["wang"].get("/history.csv", params={"status": "odd"}).status_code == 422


def test_the_exports_hold_the_filtered_rows_and_no_formula(
    planners: dict[str, httpx.Client], data_dir: Path, worked: Path
) -> None:
    formula = "=SUM(A1:A9)*2+cmd.xlsx"
    post(planners["wang"], "/runs", worked, formula)
    filters = {"user": "wang", "kind": "run"}
    expected = [r for r in reversed(trail(data_dir)) if r["user"] == "wang" and r["kind"] == "run"]
    answer = planners["chief"].get("/history.csv", params=filters)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    assert answer.content.startswith(b"\xef\xbb\xbf")  # Excel reads the Chinese as UTF-8
    table = list(csv.reader(io.StringIO(answer.text.lstrip("\ufeff"))))
    assert table[0] == [label.text for label in COLUMNS.values()]
    assert [int(r[0]) for r in table[1:]] == [r["id"] for r in expected]
    names = {r[list(COLUMNS).index("source_name")] for r in table[1:]}
    assert "'" + formula in names and formula not in names
    sha = table[1][list(COLUMNS).index("source_sha256")]
    assert sha == expected[0]["source_sha256"]

    answer = planners["chief"].get("/history.xlsx", params=filters)
    assert answer.status_code == 200
    sheet = load_workbook(io.BytesIO(answer.content)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=False))
    assert [c.value for c in rows[0]] == [label.header for label in COLUMNS.values()]
    assert [c.value for c in (r[0] for r in rows[1:])] == [r["id"] for r in expected]
    cell = rows[1][list(COLUMNS).index("source_name")]
    assert (cell.value, cell.data_type) == (formula, "s")  # text, never a formula
    queued = rows[1][list(COLUMNS).index("queued")].value
    stored = datetime.fromtimestamp(expected[0]["queued"], UTC).replace(tzinfo=None)
    assert abs((queued - stored).total_seconds()) < 0.001
    assert (
        planners["wang"].get("/history.csv", params={"user": "li"}).text.count("\n")
        == len([r for r in trail(data_dir) if r["user"] == "wang"]) + 1
    )  # a planner's export is theirs, whatever it asks


# --- the keep-days sweep and what a start cleans -------------------------------------------


def published(store: RunStore, days_old: float) -> str:
    """A published run (no solve behind it) whose meta.json is ``days_old`` days old."""
    with store.staging() as (run_id, folder):
        (folder / "input.xlsx").write_bytes(b"PK")
        store.publish(run_id, folder, {"kind": "run", "source": "w.xlsx", "input": "input.xlsx"})
    stamp = time.time() - days_old * 86400
    os.utime(store.run_dir(run_id) / "meta.json", (stamp, stamp))
    return run_id


def test_old_runs_are_removed_at_start_and_marked_and_leftovers_swept(tmp_path: Path) -> None:
    data = tmp_path / "runs"
    store = RunStore.open(data)
    index = AuditIndex.open(data)
    old, recent = published(store, 31), published(store, 29)
    for run_id in (old, recent):
        entry = index.begin("run", "wang", "127.0.0.1")
        index.finished(entry, "full_payment", run_id=run_id)
    left_open = index.begin("run", "li", "127.0.0.1")  # a server killed mid-run
    leftovers = [data / ".partial" / ("0" * 32), data / ".partial" / f"{'1' * 32}.removed"]
    for leftover in leftovers:
        leftover.mkdir()
        (leftover / "input.xlsx").write_bytes(b"half")
    app = create_app(data, workers=1, keep_days=30)
    with LiveServer(app) as live, httpx.Client(base_url=live.url, timeout=30) as client:
        deadline = time.monotonic() + 10
        while (data / old).exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        removed = client.get("/history", params={"status": "removed"})
        assert client.get(f"/runs/{old}").status_code == 404
    assert not (data / old).exists() and (data / recent).is_dir()
    assert not any(leftover.exists() for leftover in leftovers)
    rows = {r["run_id"]: r for r in trail(data) if r["run_id"]}
    assert rows[old]["removed"] is not None and rows[recent]["removed"] is None
    assert entries(removed.text) == [rows[old]["id"]]
    assert "已删除 removed" in removed.text
    (orphan,) = trail(data, "id = ?", left_open)
    assert (orphan["status"], orphan["error"]) == ("failed", "server stopped")


def test_keep_days_zero_keeps_every_run(tmp_path: Path) -> None:
    store, index = RunStore.open(tmp_path), AuditIndex.open(tmp_path)
    old = published(store, 3650)
    assert sweep(store, index, 0) == []
    assert (tmp_path / old).is_dir()
    assert sweep(store, index, 3649) == [old]
    assert not (tmp_path / old).exists()


def test_the_documented_columns_are_the_trails() -> None:
    text = (Path(__file__).resolve().parents[1] / "docs" / "outputs.md").read_text("utf-8")
    block = re.search(r"<!-- audit-columns -->\n(.*?)<!-- /audit-columns -->", text, re.S)
    assert block
    documented = [line.split("|")[1].strip().strip("`") for line in block[1].splitlines()[2:]]
    assert documented == list(COLUMNS)


def test_a_job_stopped_in_its_worker_is_recorded_as_failed(tmp_path: Path) -> None:
    """2,500 units take seconds to read alone; half a second in, the pool stops the worker."""
    from benchmarks.scale import synthetic_workbook

    slow = synthetic_workbook(tmp_path / "units2500.xlsx", 2500)
    app = create_app(tmp_path / "runs", workers=1, limits=Limits(job_seconds=0.5))
    with LiveServer(app) as live, httpx.Client(base_url=live.url, timeout=120) as client:
        answer = post(client, "/runs", slow)
    assert answer.status_code in (422, 500)  # a page that says why, and no run
    (row,) = trail(tmp_path / "runs")
    assert row["status"] == "failed"
    assert row["source_sha256"] == hashlib.sha256(slow.read_bytes()).hexdigest()
    assert row["started"] is not None and row["finished"] >= row["started"]
    assert row["error"].startswith("its worker stopped before the job ended")


def test_concurrent_uploads_each_leave_one_complete_row(tmp_path: Path, worked: Path) -> None:
    """Twenty planners at once: the server and two worker processes write the same table."""
    from concurrent.futures import ThreadPoolExecutor

    def one(live: LiveServer) -> str:
        with httpx.Client(base_url=live.url, timeout=120) as client:
            answer = post(client, "/runs", worked)
        found = LOCATION.match(answer.headers.get("location", ""))
        assert found, answer.text[:500]
        return found[2]

    app = create_app(tmp_path / "runs", workers=2)
    with LiveServer(app) as live, ThreadPoolExecutor(20) as pool:
        run_ids = list(pool.map(lambda _: one(live), range(20)))
    rows = trail(tmp_path / "runs")
    assert sorted(r["run_id"] for r in rows) == sorted(run_ids)
    digest = hashlib.sha256(worked.read_bytes()).hexdigest()
    for row in rows:
        assert (row["status"], row["source_sha256"]) == ("full_payment", digest)
        assert row["queued"] <= row["started"] <= row["finished"]
