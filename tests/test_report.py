"""The allocation workbook: read it back and check every sheet, header, figure and chart."""

from __future__ import annotations

import copy
import dataclasses
import io
import json
import re
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.workbook.workbook import Workbook

from model.analysis import diagnostics, narrative
from model.analysis.equity import METRICS
from model.analysis.quarterly import ADVANCE_KEYS
from model.analysis.results import PROVINCE_JSON_KEYS, Allocation
from model.analysis.runner import solve_scenario
from model.cli import main
from model.errors import InputError
from model.export.allocation import (
    ALLOCATION_COLUMNS,
    MONEY,
    MONTHS,
    QUARTERLY_COLUMNS,
    SHEETS,
    allocation_workbook,
    write_allocation_workbook,
)
from model.export.json import write_json
from model.vocabulary import ROLES
from model.workbook.reader import read_workbook
from tests.workbooks import WORKED_EXAMPLE, WORKED_PARAMETERS, write_workbook

SAMPLE = Path(__file__).resolve().parents[1] / "inputs" / "sample_2020.xlsx"
INJECTION = '=HYPERLINK("http://x","y")'


def solve(path: Path, units: list[dict], parameters: dict) -> Allocation:
    data = read_workbook(write_workbook(path, units, parameters))
    return solve_scenario(data, data.scenarios[0])


@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory) -> Allocation:
    folder = tmp_path_factory.mktemp("full")
    return solve(folder / "in.xlsx", WORKED_EXAMPLE, WORKED_PARAMETERS)


@pytest.fixture(scope="module")
def gap(tmp_path_factory: pytest.TempPathFactory) -> Allocation:
    units = copy.deepcopy(WORKED_EXAMPLE)
    units[1].update(expenditure_100m=1500, local_subsidy_cap_100m=100)
    units[2].update(expenditure_100m=700, local_subsidy_cap_100m=50, opening_balance_100m=0)
    parameters = dict(WORKED_PARAMETERS, central_subsidy_budget_100m=30, max_rule_deviation=0.5)
    return solve(tmp_path_factory.mktemp("gap") / "in.xlsx", units, parameters)


@pytest.fixture(scope="module")
def written(full: Allocation, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_allocation_workbook(full, tmp_path_factory.mktemp("out") / "allocation.xlsx")


@pytest.fixture(scope="module")
def book(written: Path) -> Workbook:
    return load_workbook(written)


def same(value: object) -> object:
    """The value as a cell holds it: openpyxl writes numbers with 16 significant digits
    (``%.16g``), so a float read back can differ in its 17th digit; text is compared exactly."""
    if isinstance(value, str):
        return value
    return pytest.approx(value, rel=1e-15, abs=1e-12)


def column_of(columns: tuple, key: str) -> int:
    return [c.key for c in columns].index(key) + 1


def strings(sheet: object) -> str:
    return "\n".join(
        str(cell.value)
        for row in sheet.iter_rows()  # type: ignore[attr-defined]
        for cell in row
        if isinstance(cell.value, str)
    )


def formulas(path: Path) -> list[str]:
    """Every ``<f>`` element in the saved sheets: there must be none."""
    with zipfile.ZipFile(path) as archive:
        return [
            name
            for name in archive.namelist()
            if name.startswith("xl/worksheets/") and re.search(rb"<f[ >]", archive.read(name))
        ]


# --- structure -----------------------------------------------------------------------------


def test_sheets_in_order(book: Workbook) -> None:
    assert book.sheetnames == list(SHEETS)
    assert SHEETS == ("summary", "allocation", "equity", "diagnostics", "quarterly", "run_info")


def test_allocation_headers_are_bilingual_with_units(book: Workbook) -> None:
    sheet = book["allocation"]
    headers = [cell.value for cell in sheet[1]]
    assert headers == [c.header for c in ALLOCATION_COLUMNS]
    assert "上解额\nContribution\n(亿元)" in headers
    assert "优化后储备月数\nReserve months, optimised\n(月)" in headers
    assert "未弥补缺口\nUnfunded gap\n(亿元)" in headers
    keys = [c.key for c in ALLOCATION_COLUMNS]
    assert set(PROVINCE_JSON_KEYS) <= set(keys)
    # statutory and optimised side by side
    for rule, optimised in (
        ("rule_allocation_100m", "allocation_100m"),
        ("rule_net_transfer_100m", "net_transfer_100m"),
        ("rule_closing_balance_100m", "closing_balance_100m"),
        ("months_rule", "months_optimized"),
    ):
        assert keys.index(optimised) == keys.index(rule) + 1


def test_every_allocation_figure_equals_the_json_result(full: Allocation, book: Workbook) -> None:
    sheet = book["allocation"]
    result = full.to_json()
    assert sheet.max_row == 1 + len(result["provinces"])
    for row, province in enumerate(result["provinces"], start=2):
        for key in PROVINCE_JSON_KEYS:
            value = sheet.cell(row=row, column=column_of(ALLOCATION_COLUMNS, key)).value
            assert value == same(province[key]), (row, key)
    net = sheet.cell(row=3, column=column_of(ALLOCATION_COLUMNS, "net_transfer_100m")).value
    assert net == pytest.approx(532.8, abs=1e-3)  # Beta takes the whole surplus


def test_number_formats(book: Workbook) -> None:
    sheet = book["allocation"]
    for column in ALLOCATION_COLUMNS:
        cell = sheet.cell(row=2, column=column_of(ALLOCATION_COLUMNS, column.key))
        if column.key.endswith("_100m"):
            assert cell.number_format == MONEY == "#,##0.00", column.key
        if column.key.startswith("months_"):
            assert cell.number_format == MONTHS == "0.0", column.key
        if column.number_format is None:
            assert cell.data_type == "s", column.key


def test_contributors_and_beneficiaries_are_coloured_differently(book: Workbook) -> None:
    sheet = book["allocation"]
    role = column_of(ALLOCATION_COLUMNS, "role")
    assert [sheet.cell(row=r, column=role).value for r in (2, 3, 4)] == [
        ROLES["contributor"].name,
        ROLES["beneficiary"].name,
        ROLES["contributor"].name,
    ]
    colours = [sheet.cell(row=r, column=1).fill.fgColor.rgb for r in (2, 3, 4)]
    assert colours[0] == colours[2] != colours[1]


def test_tables_are_frozen_filtered_and_print_one_page_wide(book: Workbook) -> None:
    for name in SHEETS:
        sheet = book[name]
        assert sheet.freeze_panes is not None, name
        assert sheet.page_setup.orientation == "landscape", name
        assert sheet.page_setup.fitToWidth == 1 and sheet.page_setup.fitToHeight == 0, name
        assert sheet.sheet_properties.pageSetUpPr.fitToPage, name
        assert sheet.print_title_rows == "$1:$1", name
    assert book["allocation"].freeze_panes == "C2"
    assert book["allocation"].auto_filter.ref == "A1:T4"
    for name in ("equity", "diagnostics", "quarterly", "run_info"):
        assert book[name].auto_filter.ref, name
    assert book["allocation"].column_dimensions["B"].width >= 10


def test_native_charts_leave_out_the_subsidy_chart_when_no_unit_needs_subsidy(
    book: Workbook,
) -> None:
    charts = book["summary"]._charts
    assert [c.tagname for c in charts] == ["barChart"] * 2
    assert [c.grouping for c in charts] == ["clustered", "clustered"]
    assert [len(c.series) for c in charts] == [2, 3]
    for name in SHEETS[1:]:
        assert not book[name]._charts


def test_three_native_charts_when_subsidy_is_needed(gap: Allocation) -> None:
    book = allocation_workbook(gap)
    charts = book["summary"]._charts
    assert [c.tagname for c in charts] == ["barChart"] * 3
    assert [c.grouping for c in charts] == ["clustered", "clustered", "stacked"]
    assert [len(c.series) for c in charts] == [2, 3, 2]


def test_cells_hold_values_never_formulas(written: Path, book: Workbook) -> None:
    assert formulas(written) == []
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{sheet.title}!{cell.coordinate}"


# --- sheets --------------------------------------------------------------------------------


def test_summary(full: Allocation, book: Workbook) -> None:
    sheet = book["summary"]
    text = strings(sheet)
    assert "2020" in sheet["A1"].value
    for label in (
        "参数 Parameters",
        "上解比例 Contribution ratio",
        "主要数字 Headline figures",
        "调剂基金规模 Fund size",
        "净上解单位 Net contributors",
        "净受益单位 Net beneficiaries",
        "追加地方财政补助 Extra local subsidy",
        "追加中央财政补助 Extra central subsidy",
        "缺口单位 Units with a gap",
        "区域不平衡 Imbalance",
        "结论 What happened",
    ):
        assert label in text, label
    for zh, en in narrative.summary_sentences(full):
        assert zh in text and en in text
    values = {
        row[0].value: [c.value for c in row[1:4]]
        for row in sheet.iter_rows()
        if isinstance(row[0].value, str)
    }
    assert values["调剂基金规模 Fund size"][:2] == [full.totals["fund_100m"]] * 2
    assert values["净上解单位 Net contributors"][:2] == [2, 2]
    assert values["上解比例 Contribution ratio"][0] == 0.04
    assert values["最低储备月数 Lowest reserve months"] == [
        same(full.equity[state]["months_min"].value) for state in ("before", "rule", "optimized")
    ]


def test_equity_has_every_metric_with_its_meaning(full: Allocation, book: Workbook) -> None:
    sheet = book["equity"]
    assert [c.value for c in sheet[1]] == [
        "指标 Metric",
        "名称 Name",
        "含义 Meaning",
        "调剂前 Before",
        "法定规则 Statutory rule",
        "优化后 Optimised",
        "说明 Note",
    ]
    rows = {row[0].value: row for row in sheet.iter_rows(min_row=2)}
    assert list(rows) == list(METRICS)
    gini = rows["gini"]
    assert gini[3].value == same(full.equity["before"]["gini"].value)
    assert gini[5].value == same(full.equity["optimized"]["gini"].value)
    assert all(row[2].value for row in rows.values())


def test_an_undefined_metric_says_so(full: Allocation, tmp_path: Path) -> None:
    from model.analysis.equity import Metric

    equity = copy.deepcopy(full.equity)
    equity["before"]["theil"] = Metric(None, "undefined: a unit has zero resources")
    path = write_allocation_workbook(dataclasses.replace(full, equity=equity), tmp_path / "u.xlsx")
    rows = {row[0].value: row for row in load_workbook(path)["equity"].iter_rows(min_row=2)}
    assert rows["theil"][3].value == "未定义 undefined"
    assert "before: undefined: a unit has zero resources" in rows["theil"][6].value


def test_diagnostics_in_words(gap: Allocation, tmp_path: Path) -> None:
    sheet = load_workbook(write_allocation_workbook(gap, tmp_path / "gap.xlsx"))["diagnostics"]
    assert [c.value for c in sheet[1]] == ["主题 Topic", "中文", "English"]
    topics = {row[0].value for row in sheet.iter_rows(min_row=2)}
    assert topics == {"约束 Binding constraints", "对偶值 Dual values", "缺口 Closing a gap"}
    text = strings(sheet)
    cap = diagnostics.province_cell("local_subsidy_cap_100m", gap.source)
    assert f"Local subsidy is at its cap ({cap}) in Beta" in text
    assert "One more 亿 in the fund would close" in text
    beta_cap = diagnostics.province_cell("local_subsidy_cap_100m", gap.source, 3)
    assert f"raise the local subsidy cap ({beta_cap})" in text
    summary = strings(load_workbook(tmp_path / "gap.xlsx")["summary"])
    assert "乙、丙 Beta, Gamma" in summary


def test_quarterly_advances_and_settlement(full: Allocation, book: Workbook) -> None:
    sheet = book["quarterly"]
    assert [c.value for c in sheet[1]] == [c.header for c in QUARTERLY_COLUMNS]
    net = column_of(QUARTERLY_COLUMNS, "net_transfer_100m")
    settlement = column_of(QUARTERLY_COLUMNS, "settlement_100m")
    for row, code in enumerate(full.table.index, start=2):
        annual = full.table.loc[code, "net_transfer_100m"]
        assert sheet.cell(row=row, column=net).value == same(annual)
        for key in ADVANCE_KEYS:
            advance = sheet.cell(row=row, column=column_of(QUARTERLY_COLUMNS, key)).value
            assert advance == pytest.approx(annual / 4)
        assert sheet.cell(row=row, column=settlement).value == 0
    total = len(full.table) + 2
    assert sheet.cell(row=total, column=3).value == "Total"
    fund = column_of(QUARTERLY_COLUMNS, "contribution_100m")
    assert sheet.cell(row=total, column=fund).value == pytest.approx(full.totals["fund_100m"])
    assert sheet.cell(row=total, column=net).value == 0


def test_run_info_traces_the_run(full: Allocation) -> None:
    moment = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    sheet = allocation_workbook(full, generated=moment)["run_info"]
    items = {row[0].value: row[1].value for row in sheet.iter_rows(min_row=2) if row[0].value}
    assert items["输入文件 Input file"] == "in.xlsx"
    assert items["SHA-256"] == full.source.sha256 and len(items["SHA-256"]) == 64
    assert items["生成时间 Generated (UTC)"] == "2024-05-06T07:08:09Z"
    assert items["求解器 Solver"].startswith("HiGHS")
    for key in ("caf-optimizer", "Pyomo", "highspy", "Python"):
        assert re.match(r"\d+\.\d+", items[key]), key
    for key, value in full.parameters.as_dict().items():
        assert items[f"参数 Parameter: {key}"] == ("blank" if value is None else value)
    for level in full.levels:
        assert items[level.name] == level.termination
    header = [c.value for c in next(r for r in sheet.iter_rows() if r[0].value == "层级 Level")]
    assert header[:3] == ["层级 Level", "终止条件 Termination", "目标值 Objective"]


def test_run_info_lists_overrides(full: Allocation) -> None:
    overridden = dataclasses.replace(full, overrides=(("reserve_months_floor", 2.0),))
    sheet = allocation_workbook(overridden)["run_info"]
    items = {row[0].value: row[1].value for row in sheet.iter_rows(min_row=2)}
    assert items["覆盖 Override: reserve_months_floor"] == 2.0


# --- safety --------------------------------------------------------------------------------


def test_user_text_stays_harmless_text(full: Allocation, tmp_path: Path) -> None:
    table = full.table.assign(
        name_zh=[INJECTION, "乙", "丙"], name_en=["Al\x07pha\x1b", "Beta", "=1+1"]
    )
    hostile = dataclasses.replace(full, table=table, scenario="=cmd|' /C calc'!A0")
    path = write_allocation_workbook(hostile, tmp_path / "hostile.xlsx")
    assert formulas(path) == []
    book = load_workbook(path)
    sheet = book["allocation"]
    name_zh = sheet.cell(row=2, column=column_of(ALLOCATION_COLUMNS, "name_zh"))
    assert name_zh.value == INJECTION and name_zh.data_type == "s"
    name_en = sheet.cell(row=2, column=column_of(ALLOCATION_COLUMNS, "name_en"))
    assert name_en.value == "Alpha" and name_en.data_type == "s"
    assert sheet.cell(row=4, column=column_of(ALLOCATION_COLUMNS, "name_en")).value == "=1+1"
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{sheet.title}!{cell.coordinate}"
                if isinstance(cell.value, str):
                    assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", cell.value)
    assert INJECTION in strings(book["quarterly"])


def test_an_existing_report_is_never_overwritten_without_force(
    full: Allocation, tmp_path: Path
) -> None:
    path = tmp_path / "report.xlsx"
    path.write_bytes(b"the director's copy")
    with pytest.raises(InputError) as error:
        write_allocation_workbook(full, path)
    assert "--force" in str(error.value)
    assert path.read_bytes() == b"the director's copy"
    write_allocation_workbook(full, path, force=True)
    assert load_workbook(path).sheetnames == list(SHEETS)
    assert [p.name for p in tmp_path.iterdir()] == ["report.xlsx"]  # no temporary file left


def test_json_is_written_atomically_and_refuses_overwrite(tmp_path: Path) -> None:
    path = write_json({"省": "黑龙江"}, tmp_path / "r.json")
    assert json.loads(path.read_text(encoding="utf-8")) == {"省": "黑龙江"}
    assert "黑龙江" in path.read_text(encoding="utf-8")
    with pytest.raises(InputError):
        write_json({}, path)
    write_json({}, path, force=True)
    assert json.loads(path.read_text(encoding="utf-8")) == {}


# --- end to end ----------------------------------------------------------------------------


def test_caf_run_writes_a_workbook_that_matches_its_json(tmp_path: Path) -> None:
    source = write_workbook(tmp_path / "in.xlsx", WORKED_EXAMPLE, WORKED_PARAMETERS)
    out, result = tmp_path / "out.xlsx", tmp_path / "out.json"
    args = ["run", str(source), "-o", str(out), "--json", str(result)]
    assert main(args, out=io.StringIO(), err=io.StringIO()) == 0
    payload = json.loads(result.read_text(encoding="utf-8"))
    sheet = load_workbook(out)["allocation"]
    column = column_of(ALLOCATION_COLUMNS, "allocation_100m")
    for row, province in enumerate(payload["provinces"], start=2):
        assert sheet.cell(row=row, column=column).value == same(province["allocation_100m"])

    err = io.StringIO()
    assert main(args, out=io.StringIO(), err=err) == 2
    assert "--force" in err.getvalue()
    assert main([*args, "--force"], out=io.StringIO(), err=io.StringIO()) == 0


def test_the_shipped_sample(tmp_path: Path) -> None:
    data = read_workbook(SAMPLE)
    allocation = solve_scenario(data, data.scenarios[0])
    path = write_allocation_workbook(allocation, tmp_path / "sample.xlsx")
    book = load_workbook(path)
    assert book.sheetnames == list(SHEETS)
    assert book["allocation"].max_row == 1 + len(allocation.table) == 33
    assert len(book["summary"]._charts) == 2  # no unit needs subsidy: no subsidy chart
    assert formulas(path) == []


def test_run_info_says_what_each_level_measures(full: Allocation) -> None:
    sheet = allocation_workbook(full)["run_info"]
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    header = next(r for r in rows if r and r[0] == "层级 Level")
    assert header[-1] == "含义 Meaning"
    imbalance = next(r for r in rows if r and r[0] == "imbalance")
    assert imbalance[-1].startswith("minus the lowest reserve months")
    assert imbalance[2] == pytest.approx(-full.equity["optimized"]["months_min"].value, abs=1e-5)
