"""The plan workbook: read it back and check every sheet, figure, chart and safeguard.

Two plans of the shipped sample, solved once for the module: the base ratio held over
2020–2035, and the ratio path the solver chooses (at most 8%, rising at most half a point a
year). Growth: wages 5%, insured −0.5%, retirees 3.5%, benefits 3%.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from openpyxl import load_workbook
from openpyxl.chart import BarChart, LineChart
from openpyxl.workbook.workbook import Workbook

from model.analysis.narrative import warning_line
from model.analysis.plan import DEPLETION_KEYS, Plan, solve_plan
from model.analysis.plan_narrative import plan_sentences, ratio_runs
from model.errors import InputError, Problem
from model.export.cells import COUNT, MONEY, MONTHS, PERCENT
from model.export.plan import (
    IMBALANCE_NOTE,
    NO_DEPLETION_CHART,
    PLAN_SHEETS,
    plan_workbook,
    write_plan_workbook,
)
from model.export.plan_tables import MATRICES, matrix_range, national_columns
from model.schema import GROWTH_DRIVERS
from model.vocabulary import FIGURES, NEVER, STATUSES, level_meaning
from model.workbook.reader import read_workbook
from model.workbook.scenarios import Scenario
from tests.test_report import formulas, same

SAMPLE = Path(__file__).resolve().parents[1] / "inputs" / "sample_2020.xlsx"
GROWTH = {
    "plan_end_year": 2035,
    "wage_growth": 0.05,
    "insured_growth": -0.005,
    "retiree_growth": 0.035,
    "benefit_growth": 0.03,
}
OPTIMISED = {"optimize_ratio_path": "yes", "ratio_max": 0.08, "ratio_step_max": 0.005}
INJECTION = '=HYPERLINK("http://x","y")'


@pytest.fixture(scope="module")
def plans() -> dict[str, Plan]:
    data = read_workbook(SAMPLE)
    base = dataclasses.replace(data.parameters, **GROWTH)
    return {
        "fixed": solve_plan(data, Scenario("base", base)),
        "optimised": solve_plan(data, Scenario("path", dataclasses.replace(base, **OPTIMISED))),
    }


@pytest.fixture(scope="module", params=["fixed", "optimised"])
def plan(request: pytest.FixtureRequest, plans: dict[str, Plan]) -> Plan:
    return plans[request.param]


@pytest.fixture(scope="module")
def written(plan: Plan, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_plan_workbook(plan, tmp_path_factory.mktemp("plan") / "plan.xlsx")


@pytest.fixture(scope="module")
def book(written: Path) -> Workbook:
    return load_workbook(written)


def rows(sheet: Any) -> list[list[Any]]:
    return [[cell.value for cell in row] for row in sheet.iter_rows()]


def column_a(sheet: Any) -> list[Any]:
    return [row[0] for row in rows(sheet) if row and row[0] is not None]


def year_cell(year: object) -> object:
    """What a depletion cell shows: the year as an integer, or the words for never."""
    return NEVER.name if pd.isna(year) else int(year)  # type: ignore[call-overload]


# --- structure -----------------------------------------------------------------------------


def test_sheets_in_order(book: Workbook) -> None:
    assert book.sheetnames == list(PLAN_SHEETS)
    assert PLAN_SHEETS == (
        "summary",
        "depletion",
        "national",
        "charts",
        "reserve_months",
        "closing_balance",
        "allocation",
        "net_transfer",
        "subsidy",
        "run_info",
    )


def test_cells_hold_values_never_formulas(written: Path, book: Workbook) -> None:
    assert formulas(written) == []
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{sheet.title}!{cell.coordinate}"
                assert not str(cell.value).startswith("="), f"{sheet.title}!{cell.coordinate}"


def test_tables_are_frozen_below_their_headers(book: Workbook) -> None:
    assert book["summary"].freeze_panes == "A2"
    assert book["depletion"].freeze_panes == "C2"
    assert book["national"].freeze_panes == "B2"
    for matrix in MATRICES:
        assert book[matrix.sheet].freeze_panes == "D3", matrix.sheet
    for sheet in book.worksheets:
        assert sheet.page_setup.orientation == "landscape"
        assert sheet.sheet_properties.pageSetUpPr.fitToPage


# --- summary -------------------------------------------------------------------------------


def test_summary_says_every_sentence_chinese_then_english(plan: Plan, book: Workbook) -> None:
    texts = column_a(book["summary"])
    assert texts[0].startswith("中央调剂基金多年规划") and texts[0].endswith("2020–2035")
    assert STATUSES[plan.status].name in texts[1]
    for zh, en in plan_sentences(plan):
        assert texts[texts.index(zh) + 1] == en


def test_summary_key_figures(plan: Plan, book: Workbook) -> None:
    lines = {row[0]: row for row in rows(book["summary"]) if row[0] is not None}
    assert lines["规划期 Horizon"][1] == "2020–2035"
    assert lines["规划期 Horizon"][4] == "16 年 years"
    totals = plan.totals()
    for key in ("fund_100m", "local_subsidy_100m", "central_subsidy_100m", "unfunded_gap_100m"):
        label = f"{FIGURES[key].zh}（规划期合计） {FIGURES[key].en}, horizon total"
        assert lines[label][1] == same(totals[key])
        assert lines[label][4] == "亿元"
    counts = plan.depleted_units()
    assert (
        lines["法定规则下耗尽的单位 Units running out, statutory rule"][1]
        == counts["depletion_year_rule"]
    )
    assert (
        lines["调剂前耗尽的单位 Units running out before adjustment"][1]
        == counts["depletion_year_before"]
    )
    assert (
        lines["本规划下无法足额发放的单位 Units short under the plan"][1]
        == counts["depletion_year_plan"]
    )
    national = "全国结余耗尽年份（不增加补助） National balance runs out, no extra subsidy"
    assert lines[national][1] == plan.national_depletion_year == 2035
    deficit = "全国首个当期赤字年份 First national current deficit"
    assert lines[deficit][1] == plan.first_current_deficit_year == 2020


def test_summary_ratio_path_one_row_per_run(plan: Plan, book: Workbook) -> None:
    sheet = book["summary"]
    table = rows(sheet)
    start = next(
        i for i, row in enumerate(table) if row[0] == "上解比例路径 Contribution ratio path"
    )
    assert table[start][4] == ("由模型选定 optimised" if plan.optimised else "给定 as given")
    runs = ratio_runs(plan)
    for offset, (ratio, first, last) in enumerate(runs, start=1):
        years = str(first) if first == last else f"{first}–{last}"
        assert table[start + offset][:2] == [years, same(ratio)]
        assert sheet.cell(row=start + offset + 1, column=2).number_format == PERCENT
    assert len(runs) == (9 if plan.optimised else 2)  # the sample: 4% in 2020, 4.5% after


def test_summary_shows_the_readers_warnings_at_the_top(plan: Plan) -> None:
    warning = Problem(
        "provinces!F14", "found 5,000亿", "check the unit", "发现 5,000亿", "请核对单位"
    )
    source = dataclasses.replace(plan.source, warnings=(warning,))
    sheet = plan_workbook(dataclasses.replace(plan, source=source))["summary"]
    zh, en = warning_line(warning)
    assert sheet["A3"].value == "请核对（1）\nPlease check (1)"
    assert sheet["A4"].value == f"{zh}\n{en}"
    assert sheet["A4"].fill.fgColor.rgb.endswith("FFC7CE")
    assert "A4:E4" in {str(r) for r in sheet.merged_cells.ranges}


# --- tables --------------------------------------------------------------------------------


def test_depletion_table_equals_the_plan(plan: Plan, book: Workbook) -> None:
    sheet = book["depletion"]
    table = rows(sheet)
    keys = ("code", "name_zh", "name_en", "region", *DEPLETION_KEYS)
    assert table[0] == [FIGURES[key].header for key in keys]
    units = table[1 : 1 + len(plan.units)]
    assert sorted(row[0] for row in units) == list(plan.units.index)
    for row in units:
        code = row[0]
        assert isinstance(code, str)
        assert row[1:4] == list(plan.units.loc[code, ["name_zh", "name_en", "region"]])
        expected = [year_cell(plan.depletion.at[code, key]) for key in DEPLETION_KEYS]
        assert row[4:7] == expected, code
        for value in row[4:7]:
            assert isinstance(value, int) or value == NEVER.name
    rule = [row[5] for row in units]
    years = [y for y in rule if y != NEVER.name]
    assert years == sorted(years) and rule == years + [NEVER.name] * (len(rule) - len(years))
    nation = table[1 + len(plan.units)]
    gaps = plan.gap_years()
    assert nation[1:3] == ["全国", "National"]
    assert nation[4:7] == [
        plan.national_depletion_year,
        plan.national_depletion_year,
        gaps[0] if gaps else NEVER.name,
    ]
    assert sheet.cell(row=2, column=5).number_format == COUNT


def test_national_sheet_equals_plan_national(plan: Plan, book: Workbook) -> None:
    sheet = book["national"]
    table = rows(sheet)
    keys = ["year", *plan.national.columns]
    assert table[0] == [FIGURES[key].header for key in keys]
    assert [c.key for c in national_columns(plan)] == keys
    assert len(table) == 1 + len(plan.years)
    for row, year in zip(table[1:], plan.years, strict=True):
        assert row[0] == year and isinstance(row[0], int)
        for key, value in zip(keys[1:], row[1:], strict=True):
            assert value == same(float(plan.national.at[year, key])), (year, key)
    formats = {key: sheet.cell(row=2, column=i).number_format for i, key in enumerate(keys, 1)}
    assert formats["contribution_ratio"] == PERCENT
    assert formats["fund_100m"] == MONEY
    assert formats["lowest_months"] == MONTHS
    assert formats["units_with_gap"] == COUNT


def test_matrices_equal_the_plan_for_every_unit_and_year(plan: Plan, book: Workbook) -> None:
    assert [m.sheet for m in MATRICES] == list(PLAN_SHEETS[4:9])
    for matrix in MATRICES:
        sheet = book[matrix.sheet]
        table = rows(sheet)
        assert table[0][0] == f"{FIGURES[matrix.key].text} — 各单位逐年 by unit and year"
        assert table[1][3:] == [str(year) for year in plan.years]
        frame = plan.figures[matrix.key]
        assert len(table) >= 2 + len(plan.units)
        for row, code in zip(table[2:], plan.units.index, strict=False):
            assert row[0] == code and isinstance(row[0], str)
            assert row[1:3] == list(plan.units.loc[code, ["name_zh", "name_en"]])
            for year, value in zip(plan.years, row[3:], strict=True):
                expected = float(frame.at[year, code])
                assert value == same(expected), (matrix.sheet, code, year)
                assert abs(value - expected) < 0.005
        assert sheet.cell(row=3, column=4).number_format == matrix.number_format


def test_the_subsidy_matrix_is_local_plus_central(plan: Plan) -> None:
    figures = plan.figures
    total = figures["local_subsidy_100m"] + figures["central_subsidy_100m"]
    assert (figures["subsidy_100m"] - total).abs().to_numpy().max() <= plan.round_off


def test_codes_stay_text(plan: Plan, book: Workbook) -> None:
    for name in ("depletion", *(m.sheet for m in MATRICES)):
        first = 2 if name == "depletion" else 3
        cells = [book[name].cell(row=first + r, column=1) for r in range(len(plan.units))]
        assert sorted(c.value for c in cells) == list(plan.units.index), name
        for cell in cells:
            assert cell.data_type == "s" and isinstance(cell.value, str), (name, cell.coordinate)
    assert book["allocation"]["A3"].value == "11"


def test_the_heat_map_colours_the_months_and_keeps_numbers(plan: Plan, book: Workbook) -> None:
    sheet = book["reserve_months"]
    formats = list(sheet.conditional_formatting)
    assert len(formats) == 1
    assert str(formats[0].sqref) == matrix_range(plan) == "D3:S34"
    (rule,) = formats[0].rules
    assert rule.type == "colorScale"
    points = [(v.type, v.val) for v in rule.colorScale.cfvo]
    assert points == [("num", 0.0), ("num", 3.0), ("num", 12.0)]
    assert isinstance(sheet["D3"].value, float)
    for name in PLAN_SHEETS:
        if name != "reserve_months":
            assert not list(book[name].conditional_formatting), name


# --- charts --------------------------------------------------------------------------------


def test_three_charts_when_units_run_out(plan: Plan, book: Workbook) -> None:
    charts = book["charts"]._charts
    assert [type(c) for c in charts] == [LineChart, LineChart, BarChart]
    assert all(not sheet._charts for sheet in book.worksheets if sheet.title != "charts")
    shown = plan.depletion[["depletion_year_rule", "depletion_year_plan"]].notna().any(axis=1)
    texts = column_a(book["charts"])
    assert any(f"Only the {int(shown.sum())} units" in str(t) for t in texts)


def test_no_depletion_chart_when_no_unit_runs_out(plan: Plan) -> None:
    never = plan.depletion.copy()
    never[:] = pd.NA
    calm = dataclasses.replace(plan, depletion=never.astype("Int64"))
    book = plan_workbook(calm)
    assert [type(c) for c in book["charts"]._charts] == [LineChart, LineChart]
    texts = column_a(book["charts"])
    assert list(NO_DEPLETION_CHART) == texts[-2:]
    assert NEVER.name in [row[5] for row in rows(book["depletion"])]


# --- run_info ------------------------------------------------------------------------------


def test_run_info_traces_the_plan(plan: Plan) -> None:
    moment = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    sheet = plan_workbook(plan, generated=moment)["run_info"]
    table = rows(sheet)
    items = {row[0]: row[1] for row in table[1:] if row[0]}
    assert items["输入文件 Input file"] == "sample_2020.xlsx"
    assert items["SHA-256"] == plan.source.sha256 and len(items["SHA-256"]) == 64
    assert items["生成时间 Generated (UTC)"] == "2024-05-06T07:08:09Z"
    assert items["状态 Status"] == plan.status
    assert items["求解器 Solver"].startswith("HiGHS")
    for key in ("caf-optimizer", "Pyomo", "highspy", "Python"):
        assert re.match(r"\d+\.\d+", items[key]), key
    assert items["规划期 Horizon"] == "2020–2035"
    assert items["规划年数 Years"] == 16
    assert items["上解比例路径由模型选定 Ratio path optimised"] == (
        "是 yes" if plan.optimised else "否 no"
    )
    for year, ratio in zip(plan.years, plan.ratios, strict=True):
        assert items[f"上解比例 Contribution ratio {year}"] == same(ratio)
    for key in GROWTH_DRIVERS:
        assert items[f"增长率默认值 Growth default: {key}"] == GROWTH[key]
    for key, value in plan.parameters.as_dict().items():
        assert items[f"参数 Parameter: {key}"] == ("blank" if value is None else value)
    header = next(i for i, row in enumerate(table) if row[0] == "层级 Level")
    levels = {row[0]: row for row in table[header + 1 :]}
    assert list(levels) == [level.name for level in plan.levels]
    for level in plan.levels:
        row = levels[level.name]
        assert row[1] == level.termination
        assert row[2] == same(level.objective)
        meaning = level_meaning(level.name, plan.parameters.objective)
        assert row[5] == (meaning + IMBALANCE_NOTE if level.name == "imbalance" else meaning)
    assert ("ratio_path" in levels) == plan.optimised


# --- safety --------------------------------------------------------------------------------


def test_user_text_stays_harmless_text(plan: Plan, tmp_path: Path) -> None:
    units = plan.units.assign(name_zh=INJECTION, name_en="Al\x07pha")
    hostile = dataclasses.replace(plan, units=units, scenario="=cmd|' /C calc'!A0")
    path = write_plan_workbook(hostile, tmp_path / "hostile.xlsx")
    assert formulas(path) == []
    book = load_workbook(path)
    for name in ("depletion", "allocation"):
        cell = book[name].cell(row=2 if name == "depletion" else 3, column=2)
        assert cell.value == INJECTION and cell.data_type == "s"
    assert book["allocation"]["C3"].value == "Alpha"
    assert "=cmd|' /C calc'!A0" in book["summary"]["A2"].value


def test_an_existing_workbook_is_never_overwritten_without_force(
    plan: Plan, tmp_path: Path
) -> None:
    path = tmp_path / "plan.xlsx"
    path.write_bytes(b"the director's copy")
    with pytest.raises(InputError) as error:
        write_plan_workbook(plan, path)
    assert "--force" in str(error.value)
    assert path.read_bytes() == b"the director's copy"
    assert write_plan_workbook(plan, path, force=True) == path
    assert load_workbook(path).sheetnames == list(PLAN_SHEETS)
    assert [p.name for p in tmp_path.iterdir()] == ["plan.xlsx"]  # no temporary file left


def test_a_missing_folder_is_refused_before_writing(plan: Plan, tmp_path: Path) -> None:
    with pytest.raises(InputError):
        write_plan_workbook(plan, tmp_path / "nowhere" / "plan.xlsx")
    assert list(tmp_path.iterdir()) == []
