"""The web interface over real HTTP: routes and codes of docs/outputs.md, limits, storage, token.

Requests go to a uvicorn server on loopback (``live_server`` in conftest), so the body
limit, the worker pool and the cookies are exercised exactly as a browser would.
"""

from __future__ import annotations

import dataclasses
import html
import json
import re
import socket
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook

from model.errors import InputError
from model.vocabulary import FIGURES, ROLES
from model.web import charts, forms, server
from model.web.app import create_app
from model.web.storage import RunStore, UnknownRun, new_run_id
from model.workbook.reader import read_workbook
from tests.conftest import LiveServer
from tests.web_client import with_csrf
from tests.workbooks import WORKED_EXAMPLE, WORKED_PARAMETERS, write_workbook

MIB = 2**20
RUN_LOCATION = re.compile(r"^/runs/([0-9a-f]{32})$")
COMPARE_LOCATION = re.compile(r"^/compare/([0-9a-f]{32})$")
TOKEN = "correct-horse-battery-staple-42"


@pytest.fixture(scope="module")
def worked(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The worked example with one extra scenario at ratio 0.045."""
    path = tmp_path_factory.mktemp("web") / "worked.xlsx"
    scenarios = [{"scenario": "r45", "contribution_ratio": 0.045}]
    return write_workbook(path, WORKED_EXAMPLE, WORKED_PARAMETERS, scenarios)


@pytest.fixture
def client(live_server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server.url, timeout=60) as http:
        yield with_csrf(http)


def post_run(client: httpx.Client, workbook: Path, **fields: str) -> httpx.Response:
    with workbook.open("rb") as handle:
        files = {"workbook": (workbook.name, handle, "application/octet-stream")}
        return client.post("/runs", files=files, data=fields)


def run_id_of(response: httpx.Response, pattern: re.Pattern[str] = RUN_LOCATION) -> str:
    assert response.status_code == 303, response.text[:2000]
    match = pattern.match(response.headers["location"])
    assert match, response.headers["location"]
    return match.group(1)


def problem_lines(page: str) -> list[str]:
    items = re.findall(r"<li>(.*?)</li>", page, re.S)
    return [html.unescape(re.sub(r"<[^>]+>", "", item)).strip() for item in items]


def chart_config(page: str, chart_id: str) -> Any:
    """The Chart.js configuration a page embeds for ``chart_id``."""
    match = re.search(
        rf'<script type="application/json" id="{chart_id}">(.*?)</script>', page, re.S
    )
    assert match, chart_id
    return json.loads(match.group(1))


def cli_lines(workbook: Path) -> list[str]:
    with pytest.raises(InputError) as raised:
        read_workbook(workbook)
    return [str(p) for p in raised.value.problems]


# --- the routes of docs/outputs.md --------------------------------------------------------


def test_healthz_and_upload_page(client: httpx.Client) -> None:
    assert client.get("/healthz").text == "ok"
    page = client.get("/")
    assert page.status_code == 200
    assert "上解比例 Contribution ratio" in page.text
    assert 'name="workbook"' in page.text
    assert "content-security-policy" in page.headers
    assert page.headers["referrer-policy"] == "same-origin"


def test_a_run_is_stored_shown_and_downloadable(
    client: httpx.Client, web_sample: Path, web_data_dir: Path
) -> None:
    run_id = run_id_of(post_run(client, web_sample))
    folder = web_data_dir / run_id
    assert {p.name for p in folder.iterdir()} == {
        "input.xlsx",
        "meta.json",
        "page.json",
        "result.json",
        "allocation.xlsx",
    }
    assert not any((web_data_dir / ".partial").iterdir())

    page = client.get(f"/runs/{run_id}")
    assert page.status_code == 200
    data = read_workbook(web_sample)
    assert page.text.count('<td class="name">') == len(data.units)
    assert "全额发放有保障 Full payment guaranteed" in page.text
    transfer = chart_config(page.text, "chart-transfer")
    assert len(transfer["data"]["labels"]) == len(data.units)
    months = chart_config(page.text, "chart-months")
    assert [d["label"] for d in months["data"]["datasets"]] == [
        "调剂前 Before",
        "法定规则 Statutory rule",
        "优化后 Optimised",
    ]
    assert "/static/chart.umd.min.js" in page.text

    result = client.get(f"/runs/{run_id}/result.json")
    assert result.headers["content-type"].startswith("application/json")
    payload = result.json()
    nets = sorted((p["net_transfer_100m"] for p in payload["provinces"]), reverse=True)
    assert transfer["data"]["datasets"][0]["data"] == nets
    assert set(payload) == {
        "scenario",
        "status",
        "parameters",
        "totals",
        "provinces",
        "equity",
        "frontier",  # as caf run --json: the equity–rule frontier
    }
    assert payload["parameters"] == data.parameters.as_dict()
    assert len(payload["provinces"]) == len(data.units)

    workbook = client.get(f"/runs/{run_id}/allocation.xlsx")
    assert workbook.status_code == 200
    assert "spreadsheetml" in workbook.headers["content-type"]
    assert "attachment" in workbook.headers["content-disposition"]
    assert workbook.content[:2] == b"PK"


def test_the_summary_uses_the_narrative(client: httpx.Client, worked: Path) -> None:
    from model.analysis.narrative import summary_sentences
    from model.analysis.runner import solve_scenario

    data = read_workbook(worked)
    expected = summary_sentences(solve_scenario(data, data.scenarios[0]))
    page = html.unescape(client.get(f"/runs/{run_id_of(post_run(client, worked))}").text)
    for zh, en in expected:
        assert zh in page
        assert en in page


def test_form_values_override_the_workbook_only_where_they_differ(
    client: httpx.Client, worked: Path, web_data_dir: Path
) -> None:
    same = run_id_of(post_run(client, worked, contribution_ratio="0.04", year="2020"))
    meta = json.loads((web_data_dir / same / "meta.json").read_text(encoding="utf-8"))
    assert meta["overrides"] == []

    changed = run_id_of(post_run(client, worked, contribution_ratio="0.045", objective="range"))
    result = client.get(f"/runs/{changed}/result.json").json()
    assert result["parameters"]["contribution_ratio"] == 0.045
    assert result["parameters"]["objective"] == "range"
    meta = json.loads((web_data_dir / changed / "meta.json").read_text(encoding="utf-8"))
    assert meta["overrides"] == [["contribution_ratio", "0.045"], ["objective", "range"]]


def test_a_scenario_of_the_workbook_can_be_run(client: httpx.Client, worked: Path) -> None:
    run_id = run_id_of(post_run(client, worked, scenario="r45"))
    result = client.get(f"/runs/{run_id}/result.json").json()
    assert result["scenario"] == "r45"
    assert result["parameters"]["contribution_ratio"] == 0.045


def test_run_again_reuses_the_stored_workbook(client: httpx.Client, worked: Path) -> None:
    first = run_id_of(post_run(client, worked))
    again = client.post("/runs", data={"from_run": first, "reserve_months_floor": "1"})
    second = run_id_of(again)
    assert second != first
    result = client.get(f"/runs/{second}/result.json").json()
    assert result["parameters"]["reserve_months_floor"] == 1.0


def test_inspect_returns_the_parameters_to_prefill(client: httpx.Client, worked: Path) -> None:
    with worked.open("rb") as handle:
        answer = client.post("/inspect", files={"workbook": ("worked.xlsx", handle)})
    assert answer.status_code == 200
    body = answer.json()
    assert body["units"] == 3
    assert [s["name"] for s in body["scenarios"]] == ["base", "r45"]
    assert body["scenarios"][1]["parameters"]["contribution_ratio"] == "0.045"
    assert body["scenarios"][0]["parameters"]["max_rule_deviation"] == ""


# --- 422: every problem, in the CLI's words ---------------------------------------------


def test_an_invalid_workbook_lists_every_problem_as_the_cli(
    client: httpx.Client, web_broken: Path
) -> None:
    answer = post_run(client, web_broken)
    assert answer.status_code == 422
    assert problem_lines(answer.text) == cli_lines(web_broken)
    with web_broken.open("rb") as handle:
        inspected = client.post("/inspect", files={"workbook": ("broken.xlsx", handle)})
    assert inspected.status_code == 422
    assert [p["line"] for p in inspected.json()["problems"]] == cli_lines(web_broken)


def test_bad_form_values_are_listed_with_the_workbooks(
    client: httpx.Client, web_broken: Path
) -> None:
    answer = post_run(client, web_broken, contribution_ratio="4", objective="fastest")
    assert answer.status_code == 422
    lines = problem_lines(answer.text)
    assert lines[: len(cli_lines(web_broken))] == cli_lines(web_broken)
    # Each line is ``where: 中文 / English``, as the CLI prints it.
    assert lines[-2].startswith("form contribution_ratio: 发现 4")
    assert " / found 4, which looks like a percentage" in lines[-2]
    assert lines[-1].startswith("form objective: ")
    assert ' / found "fastest"' in lines[-1]


def test_an_unknown_scenario_and_a_missing_workbook_are_problems(
    client: httpx.Client, worked: Path
) -> None:
    answer = post_run(client, worked, scenario="nope")
    assert answer.status_code == 422
    assert 'found no scenario named "nope"' in html.unescape(answer.text)
    empty = client.post("/runs", data={"contribution_ratio": "0.04"})
    assert empty.status_code == 422
    assert "found no workbook" in empty.text


def test_macros_and_zip_bombs_are_refused_by_the_cli_checks(
    client: httpx.Client, tmp_path: Path
) -> None:
    macro = tmp_path / "budget.xlsm"
    with zipfile.ZipFile(macro, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/vbaProject.bin", b"\x00" * 64)
    answer = post_run(client, macro)
    assert answer.status_code == 422
    assert problem_lines(answer.text) == cli_lines(macro)
    assert "macros" in answer.text

    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\x00" * (101 * MIB))
    assert bomb.stat().st_size < MIB
    answer = post_run(client, bomb)
    assert answer.status_code == 422
    assert problem_lines(answer.text) == cli_lines(bomb)


# --- 413: the body limit, while streaming -----------------------------------------------


def test_a_file_over_the_limit_is_413_and_one_at_the_limit_is_read(
    client: httpx.Client, tmp_path: Path
) -> None:
    over = tmp_path / "over.xlsx"
    over.write_bytes(b"x" * (10 * MIB + 1))
    assert post_run(client, over).status_code == 413
    at = tmp_path / "at.xlsx"
    at.write_bytes(b"x" * (10 * MIB))
    answer = post_run(client, at)
    assert answer.status_code == 422
    assert "this is not an Excel workbook" in answer.text


def test_a_declared_content_length_over_the_limit_is_refused_before_reading(
    live_server: LiveServer,
) -> None:
    request = (
        "POST /runs HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: multipart/form-data; boundary=x\r\n"
        f"Content-Length: {20 * MIB}\r\nConnection: close\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", live_server.port), timeout=10) as sock:
        sock.sendall(request.encode())
        answer = sock.recv(4096).decode("latin-1")
    assert answer.startswith("HTTP/1.1 413")


def test_a_streamed_body_without_length_is_counted(client: httpx.Client) -> None:
    def body() -> Iterator[bytes]:
        yield b'--x\r\nContent-Disposition: form-data; name="workbook"; filename="a.xlsx"\r\n\r\n'
        for _ in range(12):
            yield b"x" * MIB
        yield b"\r\n--x--\r\n"

    answer = client.post(
        "/runs", content=body(), headers={"content-type": "multipart/form-data; boundary=x"}
    )
    assert answer.status_code == 413


# --- ids and paths ----------------------------------------------------------------------


def test_run_ids_are_128_random_bits() -> None:
    ids = {new_run_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)


@pytest.mark.parametrize(
    "path",
    [
        "/runs/..%2F..%2Fetc%2Fpasswd",
        "/runs/%2e%2e/result.json",
        "/runs/..%2f..%2f/allocation.xlsx",
        "/runs/" + "A" * 32,
        "/runs/" + "0" * 31 + "/result.json",
        "/runs/" + "0" * 32 + "%00/result.json",
        "/runs/" + "0" * 32 + "/meta.json",
        "/runs/" + "0" * 32 + "/input.xlsx",
        "/static/..%2F..%2Fapp.py",
        "/compare/..%2F..%2Fetc",
        "/compare/runs?a=..%2F..%2Fetc&b=..",
    ],
)
def test_path_traversal_never_reaches_the_disk(client: httpx.Client, path: str) -> None:
    answer = client.get(path)
    assert answer.status_code in (404, 422)
    assert "root:" not in answer.text


def test_unknown_ids_are_404(client: httpx.Client, worked: Path) -> None:
    unknown = "0123456789abcdef" * 2
    for path in ("", "/allocation.xlsx", "/result.json"):
        assert client.get(f"/runs/{unknown}{path}").status_code == 404
    run_id = run_id_of(post_run(client, worked))
    assert client.get(f"/compare/{run_id}").status_code == 404
    assert client.post("/runs", data={"from_run": unknown}).status_code == 404


def test_the_store_checks_every_id(tmp_path: Path) -> None:
    store = RunStore.open(tmp_path / "runs")
    for bad in ("..", "../x", "/etc/passwd", "a" * 31, "A" * 32, "0" * 32 + "/", ""):
        with pytest.raises(UnknownRun):
            store.run_dir(bad)
    outside = tmp_path / "outside"
    outside.mkdir()
    link = "f" * 32
    (tmp_path / "runs" / link).symlink_to(outside)
    with pytest.raises(UnknownRun):
        store.run_dir(link)
    with pytest.raises(UnknownRun):
        store.file(link, "../../outside", "run")


def test_the_recent_runs_cookie_holds_only_ids() -> None:
    good = "a" * 32
    assert forms.recent_runs(f"{good}.../../etc.{'b' * 32}.{good}") == [good, "b" * 32]
    assert forms.remember(None, good) == good
    assert forms.run_id_from(f"http://host/runs/{good}") == good
    assert forms.run_id_from("../../etc") is None
    assert forms.display_name("C:\\Users\\x\\预算 2020.xlsx") == "预算 2020.xlsx"
    assert forms.display_name("../../\x00evil.xlsm") == "evil.xlsm"
    assert forms.stored_name("evil.XLSM") == "input.xlsm"


def test_province_names_are_escaped(client: httpx.Client, tmp_path: Path) -> None:
    units = [dict(u) for u in WORKED_EXAMPLE]
    units[0]["name_en"] = "<script>alert(1)</script>"
    path = write_workbook(tmp_path / "xss.xlsx", units, WORKED_PARAMETERS)
    page = client.get(f"/runs/{run_id_of(post_run(client, path))}").text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "\\u003cscript\\u003e" in page


# --- the worker pool --------------------------------------------------------------------


def test_twelve_planners_uploading_at_once_all_get_their_results(
    live_server: LiveServer, web_sample: Path
) -> None:
    answers: list[httpx.Response] = []
    lock = threading.Lock()
    content = web_sample.read_bytes()

    def planner() -> None:
        with httpx.Client(base_url=live_server.url, timeout=120) as http:
            answer = with_csrf(http).post("/runs", files={"workbook": ("sample.xlsx", content)})
        with lock:
            answers.append(answer)

    threads = [threading.Thread(target=planner) for _ in range(12)]
    for thread in threads:
        thread.start()
    with httpx.Client(base_url=live_server.url, timeout=10) as http:
        started = time.monotonic()
        assert http.get("/healthz").text == "ok"
        assert time.monotonic() - started < 2.0
    for thread in threads:
        thread.join(timeout=120)
    ids = [run_id_of(a) for a in answers]
    assert len(set(ids)) == 12
    with httpx.Client(base_url=live_server.url, timeout=30) as http:
        assert all(http.get(f"/runs/{i}/result.json").status_code == 200 for i in ids)


# --- round-off, roles, deficits and warnings on the page (docs/outputs.md) -----------------


def page_text(client: httpx.Client, run_id: str) -> str:
    """The page's text as a reader sees it: tags gone, entities decoded."""
    answer = client.get(f"/runs/{run_id}")
    assert answer.status_code == 200
    return html.unescape(re.sub(r"<[^>]+>", "", answer.text))


def test_the_samples_page_has_no_subsidy_sentence_and_the_rule_split(
    client: httpx.Client, web_sample: Path
) -> None:
    run_id = run_id_of(post_run(client, web_sample))
    text = page_text(client, run_id)
    assert "需追加财政补助" not in text and "Extra fiscal subsidy" not in text
    assert "in 1 units" not in text
    assert "按法定规则，7个单位净上解、22个单位净受益、3个单位基本持平" in text
    assert (
        "Under the statutory rule, 7 units are net contributors, 22 units are net "
        "beneficiaries and 3 units are roughly even" in text
    )
    assert 'id="warnings"' not in client.get(f"/runs/{run_id}").text
    # Roles, not signs, colour the net transfers: a few 亿 either way read as even.
    transfer = chart_config(client.get(f"/runs/{run_id}").text, "chart-transfer")
    colours = transfer["data"]["datasets"][0]["backgroundColor"]
    values = transfer["data"]["datasets"][0]["data"]
    even = [abs(v) <= 5 for v in values]
    assert [c == charts.EVEN_COLOUR for c in colours] == even  # within ±5亿: even
    contributor, beneficiary = ROLES["contributor"].name, ROLES["beneficiary"].name
    # The allocation table names each unit's role as the chart colours it (per-unit roles
    # of a degenerate LP are not pinned, only that the two surfaces agree).
    assert text.count(contributor) == sum(v < -5 for v in values)
    assert text.count(beneficiary) == sum(v > 5 for v in values)


def test_band_20_page_says_why_a_deficit_sits_beside_full_payment(
    client: httpx.Client, web_sample: Path
) -> None:
    text = page_text(client, run_id_of(post_run(client, web_sample, scenario="band_20")))
    assert "全额发放有保障 Full payment guaranteed" in text
    assert (
        "黑龙江（-520.00亿元）年末结余仍为负数，但养老金照常足额发放：足额发放的底线是"
        "min(年初结余, 0)，已有的赤字可以延续，但不得加深。" in text
    )
    assert (
        "Heilongjiang (-520.00亿) ends the year below zero yet still pays pensions in full: "
        "the full-payment floor min(opening, 0) lets an existing deficit persist but never "
        "deepen." in text
    )
    assert "Extra fiscal subsidy of 64.91亿 is needed in 3 units" in text
    # Which units end roughly even under band_20 is a per-unit decision of a degenerate LP
    # (not unique), so it is not pinned here; the rule's split is (7 / 22 / 3).
    assert "under the statutory rule, 7 units are net contributors" in text.lower()


def publish_page(web_data_dir: Path, page: dict[str, Any]) -> str:
    """Store a run as the worker would, so the route renders it from ``page.json``."""
    from model.web.storage import write_json_atomic

    store = RunStore.open(web_data_dir)
    with store.staging() as (run_id, folder):
        write_json_atomic(folder / "page.json", page)
        meta = {"kind": "run", "source": "worked.xlsx", "input": "input.xlsx"}
        store.publish(run_id, folder, {**meta, "created": "2026-01-01 00:00 UTC"})
    return run_id


def test_the_readers_warnings_are_stored_and_shown_at_the_top(
    client: httpx.Client, worked: Path, web_data_dir: Path
) -> None:
    from model.analysis.runner import solve_scenario
    from model.errors import Problem
    from model.web.pages import run_page

    warnings = (
        Problem(
            "provinces!L3",
            "found 52000 in expenditure",
            "check the unit: 亿元 are expected",
            "支出为52000",
            "请核对计量单位：应为亿元",
        ),
        Problem("parameters!B3", "found a ratio of 0.2", "check it", "上解比例为0.2", "请核对"),
    )
    data = read_workbook(worked)
    allocation = solve_scenario(data, data.scenarios[0])
    source = dataclasses.replace(allocation.source, warnings=warnings)
    page = run_page(dataclasses.replace(allocation, source=source))
    assert page["warnings"] == [
        {
            "where": "provinces!L3",
            "zh": "支出为52000——请核对计量单位：应为亿元",
            "en": "found 52000 in expenditure — check the unit: 亿元 are expected",
        },
        {
            "where": "parameters!B3",
            "zh": "上解比例为0.2——请核对",
            "en": "found a ratio of 0.2 — check it",
        },
    ]
    run_id = publish_page(web_data_dir, json.loads(json.dumps(page)))
    answer = client.get(f"/runs/{run_id}")
    assert answer.status_code == 200
    box = answer.text.index('id="warnings"')
    assert box < answer.text.index('id="summary"')  # at the top, above the summary
    text = page_text(client, run_id)
    assert "请核对 Please check" in text
    assert "provinces!L3: 支出为52000——请核对计量单位：应为亿元" in text
    assert "found 52000 in expenditure — check the unit: 亿元 are expected" in text
    assert "parameters!B3: 上解比例为0.2——请核对 / found a ratio of 0.2 — check it" in text


def test_a_page_stored_before_warnings_and_roles_still_renders(
    client: httpx.Client, worked: Path, web_data_dir: Path
) -> None:
    from model.analysis.runner import solve_scenario
    from model.web.pages import run_page

    data = read_workbook(worked)
    page = run_page(solve_scenario(data, data.scenarios[0]))
    del page["warnings"]
    for row in page["rows"]:
        del row["role"]
    answer = client.get(f"/runs/{publish_page(web_data_dir, page)}")
    assert answer.status_code == 200
    assert 'id="warnings"' not in answer.text


# --- comparisons ------------------------------------------------------------------------


def test_compare_the_workbooks_scenarios(client: httpx.Client, worked: Path) -> None:
    with worked.open("rb") as handle:
        answer = client.post("/compare", files={"workbook": ("worked.xlsx", handle)})
    run_id = run_id_of(answer, COMPARE_LOCATION)
    page = client.get(f"/compare/{run_id}")
    assert page.status_code == 200
    assert 'id="kpi-table"' in page.text
    assert 'id="diff-table"' in page.text
    cost, equity = chart_config(page.text, "chart-cost"), chart_config(page.text, "chart-equity")
    assert cost["data"]["labels"] == ["base", "r45"]
    assert len(cost["data"]["datasets"]) == 2
    assert len(equity["data"]["datasets"][0]["data"]) == 2
    payload = client.get(f"/compare/{run_id}/comparison.json").json()
    assert [s["scenario"] for s in payload["scenarios"]] == ["base", "r45"]
    workbook = client.get(f"/compare/{run_id}/comparison.xlsx")
    assert workbook.content[:2] == b"PK"
    assert client.get(f"/runs/{run_id}").status_code == 404


def test_compare_a_typed_sweep(client: httpx.Client, worked: Path, tmp_path: Path) -> None:
    with worked.open("rb") as handle:
        answer = client.post(
            "/compare",
            files={"workbook": ("worked.xlsx", handle)},
            data={"sweep": "contribution_ratio=0.035,0.045\nobjective=maximin,range"},
        )
    run_id = run_id_of(answer, COMPARE_LOCATION)
    payload = client.get(f"/compare/{run_id}/comparison.json").json()
    assert len(payload["scenarios"]) == 5
    target = tmp_path / "comparison.xlsx"
    target.write_bytes(client.get(f"/compare/{run_id}/comparison.xlsx").content)
    assert "kpi" in load_workbook(target, read_only=True).sheetnames


def test_compare_problems_are_422(client: httpx.Client, tmp_path: Path) -> None:
    plain = write_workbook(tmp_path / "plain.xlsx", WORKED_EXAMPLE, WORKED_PARAMETERS)
    with plain.open("rb") as handle:
        answer = client.post("/compare", files={"workbook": ("plain.xlsx", handle)})
    assert answer.status_code == 422
    assert "found only the base scenario" in answer.text
    with plain.open("rb") as handle:
        answer = client.post(
            "/compare", files={"workbook": ("plain.xlsx", handle)}, data={"sweep": "speed=1,2"}
        )
    assert answer.status_code == 422
    assert 'unknown parameter key "speed"' in html.unescape(answer.text)


def test_compare_two_earlier_runs(client: httpx.Client, worked: Path) -> None:
    first = run_id_of(post_run(client, worked))
    second = run_id_of(post_run(client, worked, contribution_ratio="0.045"))
    page = client.get("/compare/runs", params={"a": first, "b_link": f"/runs/{second}"})
    assert page.status_code == 200
    changed = re.findall(r'<tr class="changed"><th scope="row">([^<]*)</th>', page.text)
    assert changed == ["上解比例 Contribution ratio"]
    assert page.text.count("<tr><td>") == len(WORKED_EXAMPLE)
    assert client.get("/compare/runs", params={"a": first}).status_code == 422
    assert client.get("/compare/runs", params={"a": first, "b": "f" * 32}).status_code == 404
    recent = {forms.RECENT_COOKIE: f"{first}.{second}"}
    with httpx.Client(base_url=str(client.base_url), cookies=recent) as browser:
        form = browser.get("/compare")
    assert form.text.count(f'value="{first}"') == 3


# --- the access token -------------------------------------------------------------------


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    app = create_app(tmp_path_factory.mktemp("guarded"), token=TOKEN, workers=1)
    with LiveServer(app) as live:
        yield live


def test_with_a_token_every_page_needs_the_login(guarded: LiveServer, worked: Path) -> None:
    with httpx.Client(base_url=guarded.url, timeout=60) as http:
        assert http.get("/healthz").status_code == 200
        assert http.get("/static/style.css").status_code == 200
        assert http.get("/static/..%2F..%2Frun_routes.py").status_code == 404
        assert http.get("/loginx").status_code == 303
        for path in ("/", "/compare", "/runs/" + "0" * 32):
            answer = http.get(path)
            assert answer.status_code == 303
            assert answer.headers["location"].startswith("/login?next=")
        with worked.open("rb") as handle:
            assert http.post("/runs", files={"workbook": handle}).status_code == 401
        http.cookies.set("caf_session", "another-session-0000000000000000000000000")
        assert http.get("/").status_code == 303
        http.cookies.clear()
        with_csrf(http, "/login")

        wrong = http.post("/login", data={"token": "nope", "next": "/compare"})
        assert wrong.status_code == 401
        assert "caf_session" not in wrong.headers.get("set-cookie", "")
        right = http.post("/login", data={"token": TOKEN, "next": "/compare"})
        assert right.status_code == 303
        assert right.headers["location"] == "/compare"
        cookie = right.headers["set-cookie"].lower()
        assert "httponly" in cookie
        assert "samesite=lax" in cookie
        assert TOKEN.lower() not in cookie
        assert http.get("/").status_code == 200
        with_csrf(http)
        with worked.open("rb") as handle:
            assert http.post("/runs", files={"workbook": handle}).status_code == 303

    with httpx.Client(base_url=guarded.url) as http:
        bearer = {"authorization": f"Bearer {TOKEN}"}
        assert http.get("/", headers=bearer).status_code == 200
        with_csrf(http, "/login")
        outside = http.post("/login", data={"token": TOKEN, "next": "//evil.example/x"})
        assert outside.headers["location"] == "/"


def test_serve_refuses_other_hosts_without_a_token(tmp_path: Path) -> None:
    from model.cli import main

    assert server.is_loopback("127.0.0.1")
    assert server.is_loopback("::1")
    assert server.is_loopback("localhost")
    assert not server.is_loopback("0.0.0.0")
    assert not server.is_loopback("192.168.1.10")
    with pytest.raises(InputError, match=r"--host 0\.0\.0\.0"):
        server.serve(host="0.0.0.0", port=0, data_dir=tmp_path)
    short = tmp_path / "token.txt"
    short.write_text("abc\n", encoding="utf-8")
    with pytest.raises(InputError, match="at least 16"):
        server.read_token(short)
    good = tmp_path / "good.txt"
    good.write_text(TOKEN + "\n", encoding="utf-8")
    assert server.read_token(good) == TOKEN
    server.check_address("0.0.0.0", TOKEN)
    errors: Any = __import__("io").StringIO()
    assert main(["serve", "--host", "0.0.0.0", "--port", "0"], err=errors) == 2
    assert "--token-file" in errors.getvalue()


def test_serve_reports_a_port_in_use(live_server: LiveServer) -> None:
    with pytest.raises(InputError, match="cannot listen"):
        server.bind("127.0.0.1", live_server.port)


# --- the static files -------------------------------------------------------------------


def test_chart_js_is_served_locally_at_the_pinned_version(client: httpx.Client) -> None:
    web = Path(__file__).resolve().parents[1] / "model" / "web"
    pinned = json.loads((web / "package.json").read_text())["dependencies"]["chart.js"]
    locked = json.loads((web / "package-lock.json").read_text())
    assert locked["packages"]["node_modules/chart.js"]["version"] == pinned
    banner = (web / "static" / "chart.umd.min.js").read_text()[:200]
    assert f"Chart.js v{pinned}" in banner
    assert not (web / "node_modules").exists()
    served = client.get("/static/chart.umd.min.js")
    assert served.status_code == 200
    assert f"Chart.js v{pinned}" in served.text[:200]
    for template in (web / "templates").glob("*.html"):
        assert "//cdn" not in template.read_text()
        assert "https://" not in template.read_text()


def test_the_result_page_shows_the_frontier_and_its_knee(
    client: httpx.Client, web_sample: Path
) -> None:
    run_id = run_id_of(post_run(client, web_sample, scenario="free_maximin"))
    html_text = client.get(f"/runs/{run_id}").text
    config = chart_config(html_text, "chart-frontier")
    frontier, run, rule = config["data"]["datasets"]
    assert len(frontier["data"]) == 11
    assert run["data"] == [frontier["data"][-1]]
    assert rule["data"][0]["y"] == pytest.approx(1769.8, abs=0.01)  # what the rule moves
    moved = [point["y"] for point in frontier["data"]]
    assert moved[-1] == pytest.approx(6278.62, abs=0.01)
    assert "The knee of the equity frontier: beyond" in page_text(client, run_id)


def test_incentive_mode_shows_each_units_shortfall_and_own_gap(
    client: httpx.Client, web_sample: Path
) -> None:
    run_id = run_id_of(post_run(client, web_sample, standard_contribution_rate="0.13"))
    text = page_text(client, run_id)
    for key in ("collection_shortfall_100m", "committed_local_100m", "own_gap_100m"):
        assert FIGURES[key].zh in text
    assert "Incentive mode: Guangdong, Beijing, Fujian and Zhejiang collect below" in text


@pytest.fixture(scope="module")
def banded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The worked example with a band of ±20% set in its parameters sheet."""
    path = tmp_path_factory.mktemp("web") / "banded.xlsx"
    return write_workbook(path, WORKED_EXAMPLE, {**WORKED_PARAMETERS, "max_rule_deviation": 0.2})


def test_the_form_can_clear_a_band_the_workbook_sets(
    client: httpx.Client, banded: Path, web_data_dir: Path
) -> None:
    upload = html.unescape(client.get("/").text)
    assert "输入“空”或 blank 即不设" in upload and "Type 空 or blank for none" in upload
    kept = client.get(
        f"/runs/{run_id_of(post_run(client, banded, max_rule_deviation=''))}/result.json"
    )
    assert kept.json()["parameters"]["max_rule_deviation"] == 0.2
    for word in ("空", "blank"):
        cleared = run_id_of(post_run(client, banded, max_rule_deviation=word))
        result = client.get(f"/runs/{cleared}/result.json").json()
        assert result["parameters"]["max_rule_deviation"] is None
        meta = json.loads((web_data_dir / cleared / "meta.json").read_text(encoding="utf-8"))
        assert meta["overrides"] == [["max_rule_deviation", "blank"]]
    # run again as shown: the cleared band is written out, so the next run stays free
    page = client.get(f"/runs/{cleared}").text
    field = re.search(r'<input name="max_rule_deviation"[^>]*>', page)
    assert field and 'value="blank"' in field.group(0)
    again = run_id_of(
        client.post("/runs", data={"from_run": cleared, "max_rule_deviation": "blank"})
    )
    assert (
        client.get(f"/runs/{again}/result.json").json()["parameters"]["max_rule_deviation"] is None
    )


def test_a_typed_sweep_with_blank_shows_readable_names(client: httpx.Client, banded: Path) -> None:
    with banded.open("rb") as handle:
        answer = client.post(
            "/compare",
            files={"workbook": ("banded.xlsx", handle)},
            data={"sweep": "max_rule_deviation=0,空"},
        )
    run_id = run_id_of(answer, COMPARE_LOCATION)
    payload = client.get(f"/compare/{run_id}/comparison.json").json()
    assert [s["scenario"] for s in payload["scenarios"]] == ["base", "区间 0%", "区间 不设"]
    assert payload["scenarios"][2]["overrides"] == {"max_rule_deviation": None}
    page = html.unescape(client.get(f"/compare/{run_id}", params={"vs": "区间 不设"}).text)
    assert "max_rule_deviation=blank" in page
    assert '<span class="scenario">区间 不设</span>' in page
    with banded.open("rb") as handle:
        refused = client.post(
            "/compare",
            files={"workbook": ("banded.xlsx", handle)},
            data={"sweep": "max_rule_deviation=0,,0.2"},
        )
    assert refused.status_code == 422
    assert "第 2 个取值为空（共 3 个）" in html.unescape(refused.text)
    assert "found an empty value (value 2 of 3)" in html.unescape(refused.text)


# --- comparisons that stay readable at fifty scenarios (issue 14) ---------------------

SEVEN = "contribution_ratio=0.03,0.035,0.04,0.045,0.05,0.055"
THIRTY_SEVEN = (
    "contribution_ratio=0.035,0.04,0.045\nreserve_months_floor=0,3\n"
    "max_rule_deviation=0,0.2\nobjective=maximin,range,mad"
)


def compare_sweep(client: httpx.Client, workbook: Path, sweep: str) -> str:
    with workbook.open("rb") as handle:
        answer = client.post(
            "/compare", files={"workbook": (workbook.name, handle)}, data={"sweep": sweep}
        )
    return run_id_of(answer, COMPARE_LOCATION)


def column_headers(page: str) -> list[str]:
    """The scenario each key-figure column heads, in order."""
    table = page[page.index('id="kpi-table"') :]
    head = table[: table.index("</thead>")]
    return [html.unescape(name) for name in re.findall(r'data-scenario="([^"]*)"', head)]


@pytest.mark.parametrize(("sweep", "count"), [(SEVEN, 7), (THIRTY_SEVEN, 37)])
def test_the_key_figures_show_every_scenario_as_a_column(
    client: httpx.Client, worked: Path, sweep: str, count: int
) -> None:
    run_id = compare_sweep(client, worked, sweep)
    names = [
        s["scenario"] for s in client.get(f"/compare/{run_id}/comparison.json").json()["scenarios"]
    ]
    page = client.get(f"/compare/{run_id}").text
    assert len(names) == count
    assert column_headers(page) == names
    assert 'class="data sticky-first" id="kpi-table"' in page
    assert 'id="download-xlsx"' in page and 'id="download-json"' in page
    rows = re.findall(
        r'<th scope="row">', page[page.index('id="kpi-table"') : page.index("</table>")]
    )
    assert len(rows) >= 4  # status, overrides and the figures, one row each


def test_a_one_parameter_sweep_is_a_line_against_that_parameter(
    client: httpx.Client, worked: Path
) -> None:
    run_id = compare_sweep(client, worked, "contribution_ratio=0.05,0.03,0.045")
    page = client.get(f"/compare/{run_id}").text
    cost, equity = chart_config(page, "chart-cost"), chart_config(page, "chart-equity")
    assert cost["type"] == equity["type"] == "line"
    # the base (worked example) joins the line at its own ratio, in numeric order
    base = f"{WORKED_PARAMETERS['contribution_ratio'] * 100:g}%"
    assert cost["data"]["labels"] == sorted(
        {"3%", "4.5%", "5%", base}, key=lambda t: float(t.rstrip("%"))
    )
    assert "Contribution ratio" in cost["options"]["scales"]["x"]["title"]["text"]
    assert 'id="by-parameter"' not in page


def test_the_workbooks_scenarios_and_several_sweeps_are_bars(
    client: httpx.Client, worked: Path, web_sample: Path
) -> None:
    with web_sample.open("rb") as handle:
        answer = client.post("/compare", files={"workbook": ("sample.xlsx", handle)})
    page = client.get(f"/compare/{run_id_of(answer, COMPARE_LOCATION)}").text
    for chart_id in ("chart-cost", "chart-equity"):
        assert chart_config(page, chart_id)["type"] == "bar"
    assert 'id="by-parameter"' not in page

    page = client.get(f"/compare/{compare_sweep(client, worked, THIRTY_SEVEN)}").text
    cost = chart_config(page, "chart-cost")
    assert cost["type"] == "bar"
    assert cost["options"]["indexAxis"] == "y"  # 37 labels, one row each
    assert len(cost["data"]["labels"]) == 37
    small = [chart_config(page, f"chart-param-{i}") for i in range(4)]
    kinds = [c["type"] for c in small]
    assert kinds == ["line", "line", "line", "bar"]  # ratio, floor, band; objectives unordered
