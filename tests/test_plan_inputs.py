"""The multi-year plan's inputs (issue 13): the growth, projection and ratio_path sheets,
the plan parameters, and what ``caf check`` says the plan will cover.

One test per message, each checked for its location and both languages; a workbook with
all three sheets read back exactly; ``plan_problems`` and ``ratio_path_for`` as ``caf plan``
calls them after ``--set``; and the template, filled in, read cleanly.
"""

from __future__ import annotations

import math
import re
import shutil
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest

from model.cli import main
from model.errors import InputError, Problem
from model.schema import PLAN_HORIZON_MAX
from model.workbook.horizon import Horizon, plan_problems, ratio_path_for
from model.workbook.reader import FundData, read_workbook
from model.workbook.scenarios import Parameters, apply_overrides
from model.workbook.template import write_template
from tests.workbooks import WORKED_EXAMPLE, write_workbook

CJK = re.compile(r"[\u3400-\u9fff]")

PLAN: dict[str, Any] = {  # parameters!B2 … B8, in this order
    "year": 2020,
    "contribution_ratio": 0.04,
    "plan_end_year": 2030,
    "wage_growth": 0.05,
    "insured_growth": -0.005,
    "retiree_growth": 0.035,
    "benefit_growth": 0.03,
}
GROWTH: list[list[Any]] = [
    ["code", "工资增长率 Wage growth", "retiree_growth"],
    ["A", 0.06, None],
    ["B", None, 0.02],
]
PROJECTION: list[list[Any]] = [
    ["代码 Code", "year", "contribution_income_100m", "离退休人数 Retirees (万人)"],
    ["A", 2021, 950, None],
    ["B", 2022, None, 310],
    ["B", 2021, 330, 305],
]
RATIO_PATH: list[list[Any]] = [
    ["年度 Year", "contribution_ratio"],
    [2020, 0.04],
    [2022, 0.045],
    [2025, 0.05],
]


def workbook_with(
    tmp_path: Path,
    parameters: dict[str, Any] | None = None,
    scenarios: list[dict[str, Any]] | None = None,
    **sheets: list[list[Any]],
) -> Path:
    """The worked example with ``parameters`` and the given plan sheets, row by row."""
    path = write_workbook(tmp_path / "in.xlsx", WORKED_EXAMPLE, parameters or PLAN, scenarios)
    workbook = openpyxl.load_workbook(path)
    for name, rows in sheets.items():
        sheet = workbook.create_sheet(name)
        for row in rows:
            sheet.append(row)
    workbook.save(path)
    return path


def bilingual(problem: Problem) -> Problem:
    assert problem.what and problem.fix, problem
    assert CJK.search(problem.what_zh) and CJK.search(problem.fix_zh), problem
    return problem


def problems_of(path: Path) -> list[Problem]:
    with pytest.raises(InputError) as caught:
        read_workbook(path)
    return [bilingual(p) for p in caught.value.problems]


def only(path: Path) -> Problem:
    found = problems_of(path)
    assert len(found) == 1, [str(p) for p in found]
    return found[0]


def read(path: Path) -> FundData:
    data = read_workbook(path)
    for warning in data.source.warnings:
        bilingual(warning)
    return data


# --- reading the three sheets ---------------------------------------------------------------


def test_all_three_sheets_read_back_exactly(tmp_path: Path) -> None:
    data = read(
        workbook_with(tmp_path, growth=GROWTH, projection=PROJECTION, ratio_path=RATIO_PATH)
    )
    horizon = data.horizon
    assert data.source.warnings == ()
    growth = pd.DataFrame(
        {
            "wage_growth": [0.06, math.nan],
            "insured_growth": [math.nan, math.nan],
            "retiree_growth": [math.nan, 0.02],
            "benefit_growth": [math.nan, math.nan],
        },
        index=pd.Index(["A", "B"], name="code"),
    )
    pd.testing.assert_frame_equal(horizon.growth, growth)
    index = pd.MultiIndex.from_tuples(
        [("A", 2021), ("B", 2021), ("B", 2022)], names=["code", "year"]
    )
    projection = pd.DataFrame(
        {
            "retirees_10k": [math.nan, 305.0, 310.0],
            "contribution_income_100m": [950.0, 330.0, math.nan],
        },
        index=index,
    )
    pd.testing.assert_frame_equal(horizon.projection, projection)
    assert horizon.projection_cells == (
        (("A", 2021, "contribution_income_100m"), "projection!C2"),
        (("B", 2022, "retirees_10k"), "projection!D3"),
        (("B", 2021, "contribution_income_100m"), "projection!C4"),
        (("B", 2021, "retirees_10k"), "projection!D4"),
    )
    assert horizon.ratio_path == ((2020, 0.04), (2022, 0.045), (2025, 0.05))
    assert horizon.ratio_path_cells == (
        (2020, "ratio_path!B2"),
        (2022, "ratio_path!B3"),
        (2025, "ratio_path!B4"),
    )
    assert horizon.ratio_cell(2025) == "ratio_path!B4"
    assert data.parameters.plan_end_year == 2030
    assert data.parameters.insured_growth == -0.005


def test_a_workbook_without_plan_sheets_has_an_empty_horizon(tmp_path: Path) -> None:
    data = read(workbook_with(tmp_path))
    assert data.horizon.growth.empty and data.horizon.projection.empty
    assert data.horizon.ratio_path == () and data.horizon.projection_cells == ()
    assert list(data.horizon.growth.columns) == list(Horizon().growth.columns)


def test_header_only_sheets_are_read_as_empty_without_a_word(tmp_path: Path) -> None:
    data = read(
        workbook_with(
            tmp_path,
            {"year": 2020, "contribution_ratio": 0.04},
            growth=GROWTH[:1],
            projection=PROJECTION[:1],
            ratio_path=RATIO_PATH[:1],
        )
    )
    assert data.source.warnings == ()
    assert data.horizon.growth.empty and data.horizon.ratio_path == ()


def test_a_projection_row_without_figures_gives_nothing(tmp_path: Path) -> None:
    data = read(workbook_with(tmp_path, projection=[*PROJECTION, ["C", 2023, None, "none"]]))
    assert "C" not in data.horizon.projection.index.get_level_values("code")
    assert len(data.horizon.projection_cells) == 4


def test_blank_growth_cells_and_blank_words_take_the_national_default(tmp_path: Path) -> None:
    growth = [["code", "wage_growth", "insured_growth"], ["C", "blank", "留空"], ["A", "5%", None]]
    data = read(workbook_with(tmp_path, growth=growth))
    assert data.horizon.growth.loc["A", "wage_growth"] == 0.05
    assert data.horizon.growth.loc["C"].isna().all()


# --- the sheets' own checks -----------------------------------------------------------------


def test_a_projection_for_the_base_year_belongs_in_the_provinces_sheet(tmp_path: Path) -> None:
    problem = only(workbook_with(tmp_path, projection=[PROJECTION[0], ["A", 2020, 950, None]]))
    assert problem.where == "projection!B2"
    assert problem.what == (
        "found 2020, the base year (parameters!B2), whose figures belong in the provinces sheet"
    )
    assert problem.fix == (
        "put the base year's figures in the provinces sheet, and here a year from 2021 to 2030"
    )
    assert (
        problem.what_zh == "发现 2020，即基年（parameters!B2），基年的数据应填在 provinces 工作表中"
    )
    assert "2021 至 2030 年" in problem.fix_zh


def test_a_year_before_the_base_year_is_refused(tmp_path: Path) -> None:
    found = problems_of(
        workbook_with(
            tmp_path,
            projection=[PROJECTION[0], ["A", 2019, 950, None]],
            ratio_path=[RATIO_PATH[0], [2018, 0.03]],
        )
    )
    assert [(p.where, p.what) for p in found] == [
        ("projection!B2", "found 2019, before the base year 2020 (parameters!B2)"),
        ("ratio_path!A2", "found 2018, before the base year 2020 (parameters!B2)"),
    ]
    assert found[0].fix == "write a year from 2021 to 2030, or delete the row"
    assert found[1].fix == "write a year from 2020 to 2030, or delete the row"  # may restate
    assert found[1].what_zh == "发现 2018，早于基年 2020（parameters!B2）"


def test_a_year_after_plan_end_year_is_refused(tmp_path: Path) -> None:
    found = problems_of(
        workbook_with(
            tmp_path,
            projection=[PROJECTION[0], ["A", 2031, 950, None]],
            ratio_path=[RATIO_PATH[0], [2035, 0.05]],
        )
    )
    assert [(p.where, p.what) for p in found] == [
        ("projection!B2", "found 2031, after plan_end_year 2030 (parameters!B4)"),
        ("ratio_path!A2", "found 2035, after plan_end_year 2030 (parameters!B4)"),
    ]
    assert found[0].fix == "write a year from 2021 to 2030, or move plan_end_year to 2031"
    assert found[1].what_zh == "发现 2035，晚于规划末年 2030（parameters!B4）"


@pytest.mark.parametrize("sheet", ["growth", "projection"])
def test_a_row_for_an_unknown_unit_is_refused(tmp_path: Path, sheet: str) -> None:
    rows = {"growth": [GROWTH[0], ["Z", 0.05, None]], "projection": [PROJECTION[0], ["Z", 2021, 1]]}
    problem = only(workbook_with(tmp_path, **{sheet: rows[sheet]}))
    assert problem.where == f"{sheet}!A2"
    assert problem.what == 'found the code "Z", which the provinces sheet does not have'
    assert problem.fix.startswith("use a code of the provinces sheet")
    assert problem.what_zh == "provinces 工作表中没有代码“Z”"


def test_a_unit_given_twice_in_growth_is_refused(tmp_path: Path) -> None:
    problem = only(workbook_with(tmp_path, growth=[*GROWTH, ["A", 0.07, None]]))
    assert problem.where == "growth!A4"
    assert problem.what == 'found the code "A" again'
    assert problem.fix == "keep one row for it (first in row 2)"
    assert problem.what_zh == "代码“A”重复出现"
    assert problem.fix_zh == "只保留一行（首次出现在第 2 行）"


def test_a_unit_and_year_given_twice_in_projection_is_refused(tmp_path: Path) -> None:
    problem = only(workbook_with(tmp_path, projection=[*PROJECTION, ["B", 2022, 340, None]]))
    assert problem.where == "projection!A5"
    assert problem.what == 'found the code "B" for 2022 again'
    assert problem.fix == "keep one row for it (first in row 3)"
    assert problem.what_zh == "代码“B”的 2022 年数据重复出现"


def test_a_year_given_twice_in_ratio_path_is_refused(tmp_path: Path) -> None:
    problem = only(workbook_with(tmp_path, ratio_path=[*RATIO_PATH, [2022, 0.046]]))
    assert problem.where == "ratio_path!A5"
    assert problem.what == "found the year 2022 again"
    assert problem.fix == "keep one row for it (first in row 3)"
    assert problem.what_zh == "2022 年重复出现"


def test_an_opening_balance_in_projection_is_refused_by_name(tmp_path: Path) -> None:
    rows = [["code", "year", "年初累计结余 Opening balance (亿元)"], ["A", 2021, 2100]]
    problem = only(workbook_with(tmp_path, projection=rows))
    assert problem.where == "projection!C1"
    assert problem.what == (
        'found "年初累计结余 Opening balance (亿元)", an opening balance for a later year'
    )
    assert problem.fix.startswith("delete the column: only the base year has an opening balance")
    assert problem.fix_zh.startswith("请删除该列")


@pytest.mark.parametrize(
    ("sheet", "rows", "missing"),
    [
        ("growth", [["wage_growth"], [0.05]], "code"),
        ("projection", [["code", "retirees_10k"], ["A", 300]], "year"),
        ("ratio_path", [["year"], [2021]], "contribution_ratio"),
    ],
)
def test_a_plan_sheet_without_a_required_column_is_refused(
    tmp_path: Path, sheet: str, rows: list[list[Any]], missing: str
) -> None:
    problem = only(workbook_with(tmp_path, **{sheet: rows}))
    assert problem.where == f"{sheet}!1:1"
    assert problem.what == f"found no column for {missing}"
    assert problem.what_zh == f"未找到 {missing} 列"


def test_an_unknown_column_in_a_plan_sheet_is_refused_as_elsewhere(tmp_path: Path) -> None:
    problem = only(workbook_with(tmp_path, growth=[["code", "pension_growth"], ["A", 0.03]]))
    assert problem.where == "growth!B1"
    assert problem.what == 'found the unknown column "pension_growth"'


def test_a_bad_figure_in_projection_is_refused_at_its_cell(tmp_path: Path) -> None:
    rows = [PROJECTION[0], ["A", 2021, -5, None]]
    problem = only(workbook_with(tmp_path, projection=rows))
    assert problem.where == "projection!C2"
    assert problem.what == "found -5, a negative value in contribution_income_100m"
    assert (
        problem.fix == "expected a number in 亿元, zero or more, or blank to keep the growth model"
    )


# --- growth written as a percentage -----------------------------------------------------


def test_growth_of_3_for_3_percent_is_refused_at_the_growth_cell(tmp_path: Path) -> None:
    problem = only(workbook_with(tmp_path, growth=[GROWTH[0], ["A", 3, None]]))
    assert problem.where == "growth!B2"
    assert problem.what == "found 3, which looks like a percentage in 工资增长率 Wage growth"
    assert problem.fix.endswith(": write 0.03 for 3%")
    assert problem.what_zh == "“工资增长率 Wage growth”列：发现 3，像是百分数"
    assert problem.fix_zh.endswith("3% 应写作 0.03")


def test_growth_of_3_for_3_percent_is_refused_at_the_parameters_cell(tmp_path: Path) -> None:
    problem = only(workbook_with(tmp_path, {**PLAN, "retiree_growth": 3.5}))
    assert problem.where == "parameters!B7"
    assert problem.what == "found 3.5, which looks like a percentage for retiree_growth"
    assert problem.fix.endswith(": write 0.035 for 3.5%")
    assert problem.fix_zh.endswith("3.5% 应写作 0.035")


def test_an_unusual_growth_rate_is_a_warning_that_suggests_the_fraction(tmp_path: Path) -> None:
    """−0.5 typed for −0.5% lies within the bound of ±0.5, so it is read, with a word."""
    data = read(
        workbook_with(tmp_path, {**PLAN, "insured_growth": -0.5}, growth=[GROWTH[0], ["B", 0.3]])
    )
    assert [w.where for w in data.source.warnings] == ["parameters!B6", "growth!B2"]
    first = data.source.warnings[0]
    assert first.what == (
        "found -0.5 for insured_growth, an annual change of -50%, far outside any "
        "province's history"
    )
    assert first.fix == "if -0.5% was meant, write -0.005; if the rate is right, keep it"


# --- the ratio path ---------------------------------------------------------------------


def test_a_falling_ratio_path_is_named_at_the_year_where_it_falls(tmp_path: Path) -> None:
    rows = [*RATIO_PATH, [2027, 0.045], [2028, 0.046]]
    problem = only(workbook_with(tmp_path, ratio_path=rows))
    assert problem.where == "ratio_path!B5"
    assert problem.what == (
        "found 0.045 for 2027, below 0.05 in 2025 (ratio_path!B4): the ratio never falls"
    )
    assert problem.fix == "make it at least 0.05, or lower the years before it"
    assert problem.what_zh == (
        "2027 年的上解比例 0.045 低于 2025 年的 0.05（ratio_path!B4）：上解比例只升不降"
    )


def test_a_path_starting_below_the_contribution_ratio_falls(tmp_path: Path) -> None:
    problem = only(workbook_with(tmp_path, ratio_path=[RATIO_PATH[0], [2021, 0.035]]))
    assert problem.where == "ratio_path!B2"
    assert problem.what == (
        "found 0.035 for 2021, below the base year's contribution ratio 0.04 "
        "(parameters!B3): the ratio never falls"
    )


def test_a_base_year_row_must_be_the_contribution_ratio(tmp_path: Path) -> None:
    problem = only(workbook_with(tmp_path, ratio_path=[RATIO_PATH[0], [2020, 0.045]]))
    assert problem.where == "ratio_path!B2"
    assert problem.what == (
        "found 0.045 for the base year 2020, but the contribution ratio is 0.04 (parameters!B3)"
    )
    assert problem.fix == (
        "the base year's ratio is contribution_ratio: make the two equal, or delete this row"
    )
    assert problem.fix_zh == "基年的上解比例即 contribution_ratio：请使两者一致，或删除此行"


def test_a_scenario_raising_the_ratio_above_the_path_is_refused_at_the_path(
    tmp_path: Path,
) -> None:
    path = workbook_with(
        tmp_path,
        scenarios=[{"scenario": "high", "contribution_ratio": 0.048}],
        ratio_path=RATIO_PATH,
    )
    found = problems_of(path)
    assert [(p.where, p.what) for p in found] == [
        (
            "ratio_path!B2",
            "found 0.04 for the base year 2020, but the contribution ratio is 0.048 (scenarios!B2)",
        ),
        (
            "ratio_path!B3",
            "found 0.045 for 2022, below the base year's contribution ratio 0.048 "
            "(scenarios!B2): the ratio never falls",
        ),
    ]


def test_a_problem_every_scenario_inherits_is_said_once(tmp_path: Path) -> None:
    path = workbook_with(
        tmp_path,
        {**PLAN, "optimize_ratio_path": "yes", "ratio_step_max": 0.005},
        scenarios=[
            {"scenario": "s1", "objective": "range"},
            {"scenario": "s2", "objective": "mad"},
        ],
    )
    # the one missing key is located where its row would be added, after the last row
    assert [p.where for p in problems_of(path)] == ["parameters!A11"]


# --- the horizon and an optimised path ------------------------------------------------------


def test_plan_end_year_before_the_base_year_is_refused(tmp_path: Path) -> None:
    problem = only(workbook_with(tmp_path, {**PLAN, "plan_end_year": 2019}))
    assert problem.where == "parameters!B4"
    assert problem.what == "found 2019, before the base year 2020 (parameters!B2)"
    assert problem.fix == (
        "make plan_end_year the base year or later, such as 2035, or leave it blank for no plan"
    )
    assert problem.what_zh == "规划末年 2019 早于基年 2020（parameters!B2）"


def test_a_horizon_longer_than_the_most_a_plan_may_cover_is_refused(tmp_path: Path) -> None:
    end = 2020 + PLAN_HORIZON_MAX
    problem = only(workbook_with(tmp_path, {**PLAN, "plan_end_year": end}))
    assert problem.where == "parameters!B4"
    assert problem.what == (
        f"found {end}: a plan of {PLAN_HORIZON_MAX + 1} years from 2020, more than the "
        f"{PLAN_HORIZON_MAX} a plan may cover"
    )
    assert problem.fix == f"choose a plan_end_year no later than {end - 1}"
    assert read(workbook_with(tmp_path, {**PLAN, "plan_end_year": end - 1})).parameters


def test_a_one_year_plan_is_a_plan(tmp_path: Path) -> None:
    data = read(workbook_with(tmp_path, {**PLAN, "plan_end_year": 2020}))
    assert ratio_path_for(data.parameters, data.horizon) == ((2020, 0.04),)


OPTIMISED = {**PLAN, "optimize_ratio_path": "yes", "ratio_max": 0.06, "ratio_step_max": 0.005}
# parameters!B9 optimize_ratio_path, B10 ratio_max, B11 ratio_step_max; a missing key is
# located where its row would be added (A11, after the last row)


def test_an_optimised_path_without_ratio_max_is_refused(tmp_path: Path) -> None:
    parameters = {k: v for k, v in OPTIMISED.items() if k != "ratio_max"}
    problem = only(workbook_with(tmp_path, parameters))
    assert problem.where == "parameters!A11"
    assert problem.what == "found no ratio_max, but optimize_ratio_path is yes (parameters!B9)"
    assert problem.fix.startswith("give ratio_max, the highest ratio any year may reach")
    assert problem.what_zh == "未填写 ratio_max，但 optimize_ratio_path 为 yes（parameters!B9）"


def test_an_optimised_path_without_ratio_step_max_is_refused(tmp_path: Path) -> None:
    parameters = {k: v for k, v in OPTIMISED.items() if k != "ratio_step_max"}
    problem = only(workbook_with(tmp_path, parameters))
    assert problem.where == "parameters!A11"
    assert problem.what == (
        "found no ratio_step_max, but optimize_ratio_path is yes (parameters!B9)"
    )
    assert "0.005 for half a point" in problem.fix
    assert problem.fix_zh.startswith("请填写 ratio_step_max")


def test_a_ceiling_below_the_contribution_ratio_is_refused(tmp_path: Path) -> None:
    problem = only(workbook_with(tmp_path, {**OPTIMISED, "ratio_max": 0.035}))
    assert problem.where == "parameters!B10"
    assert problem.what == (
        "found ratio_max 0.035, below the contribution ratio 0.04 (parameters!B3)"
    )
    assert problem.fix.startswith("raise ratio_max to at least 0.04")
    assert problem.what_zh.startswith("ratio_max 为 0.035，低于上解比例")


def test_an_optimised_path_reads_and_ignores_the_sheet_with_a_warning(tmp_path: Path) -> None:
    falling = [RATIO_PATH[0], [2021, 0.03]]  # not followed, so not refused
    data = read(workbook_with(tmp_path, OPTIMISED, ratio_path=falling))
    assert data.parameters.optimizes_ratio_path
    (warning,) = data.source.warnings
    assert warning.where == "ratio_path!A1"
    assert warning.what.startswith(
        'the sheet "ratio_path" is not used: optimize_ratio_path is yes (parameters!B9)'
    )


# --- the plan sheets without a horizon --------------------------------------------------


def test_plan_sheets_without_plan_end_year_are_a_warning_not_an_error(tmp_path: Path) -> None:
    data = read(
        workbook_with(
            tmp_path,
            {"year": 2020, "contribution_ratio": 0.04},
            growth=GROWTH,
            ratio_path=RATIO_PATH,
        )
    )
    assert [w.where for w in data.source.warnings] == ["growth!A1", "ratio_path!A1"]
    warning = data.source.warnings[0]
    assert warning.what == (
        'the sheet "growth" is not used: plan_end_year is blank, so there is no multi-year '
        "plan (caf run and caf compare solve the base year only)"
    )
    assert warning.fix == (
        "set plan_end_year in the parameters sheet (such as 2035) to plan with it, or delete "
        "the sheet"
    )
    assert warning.what_zh.startswith("工作表“growth”未被使用")
    assert data.horizon.growth.loc["A", "wage_growth"] == 0.06  # read all the same


def test_a_scenario_with_a_horizon_uses_the_sheets_so_there_is_no_warning(tmp_path: Path) -> None:
    data = read(
        workbook_with(
            tmp_path,
            {"year": 2020, "contribution_ratio": 0.04},
            scenarios=[{"scenario": "plan", "plan_end_year": 2030}],
            growth=GROWTH,
        )
    )
    assert data.source.warnings == ()


# --- the sheets are chosen like the others ----------------------------------------------


def test_a_hidden_plan_sheet_is_refused(tmp_path: Path) -> None:
    path = workbook_with(tmp_path, growth=GROWTH)
    workbook = openpyxl.load_workbook(path)
    workbook["growth"].sheet_state = "hidden"
    workbook.save(path)
    problem = only(path)
    assert problem.where == "growth!A1"
    assert problem.what == 'the sheet "growth" is hidden, so what would be read cannot be seen'


def test_a_merged_cell_in_a_plan_sheet_is_refused(tmp_path: Path) -> None:
    path = workbook_with(tmp_path, ratio_path=[*RATIO_PATH, [2026, None]])
    workbook = openpyxl.load_workbook(path)
    workbook["ratio_path"].merge_cells("B4:B5")
    workbook.save(path)
    assert problems_of(path)[0].where == "ratio_path!B4:B5"


def test_a_copy_of_a_plan_sheet_alone_is_a_warning_to_rename_it(tmp_path: Path) -> None:
    data = read(workbook_with(tmp_path, **{"growth (2)": GROWTH}))
    (warning,) = data.source.warnings
    assert warning.where == "growth (2)!A1"
    assert warning.fix == "rename it to growth to use it in the multi-year plan, or delete it"
    assert warning.fix_zh.startswith("如需在多年规划中使用")
    assert data.horizon.growth.empty


# --- plan_problems and ratio_path_for, as caf plan calls them ----------------------------


BASE = Parameters(year=2020, contribution_ratio=0.04, plan_end_year=2030)
PATH = Horizon(
    ratio_path=((2020, 0.04), (2022, 0.045), (2025, 0.05), (2034, 0.06)),
    ratio_path_cells=(
        (2020, "ratio_path!B2"),
        (2022, "ratio_path!B3"),
        (2025, "ratio_path!B4"),
        (2034, "ratio_path!B5"),
    ),
)


def test_plan_problems_of_valid_parameters_is_empty() -> None:
    assert plan_problems(BASE, PATH, "--set") == []


def test_a_set_contribution_ratio_above_the_path_is_refused_at_the_path() -> None:
    params = apply_overrides(BASE, {"contribution_ratio": "0.05"}, "--set")
    found = [bilingual(p) for p in plan_problems(params, PATH, "--set")]
    assert [(p.where, p.what) for p in found] == [
        (
            "ratio_path!B2",
            "found 0.04 for the base year 2020, but the contribution ratio is 0.05 "
            "(--set contribution_ratio)",
        ),
        (
            "ratio_path!B3",
            "found 0.045 for 2022, below the base year's contribution ratio 0.05 "
            "(--set contribution_ratio): the ratio never falls",
        ),
    ]


def test_plan_problems_use_the_cells_given_and_the_origin_for_the_rest() -> None:
    params = apply_overrides(BASE, {"optimize_ratio_path": "yes", "ratio_max": "0.03"}, "--set")
    cells = {"contribution_ratio": "parameters!B3", "ratio_max": "--set ratio_max"}
    found = [bilingual(p) for p in plan_problems(params, PATH, "--set", cells)]
    assert [(p.where, p.what) for p in found] == [
        (
            "--set ratio_max",
            "found ratio_max 0.03, below the contribution ratio 0.04 (parameters!B3)",
        ),
        (
            "--set ratio_step_max",
            "found no ratio_step_max, but optimize_ratio_path is yes (--set optimize_ratio_path)",
        ),
    ]


def test_plan_problems_without_a_horizon_say_how_to_set_one() -> None:
    (problem,) = plan_problems(Parameters(year=2020, contribution_ratio=0.04), PATH, "parameters")
    bilingual(problem)
    assert problem.where == "parameters plan_end_year"
    assert problem.what == "found no plan_end_year, so there is no horizon to plan"
    assert "--set plan_end_year=2035" in problem.fix


@pytest.mark.parametrize(
    ("end", "expected"),
    [
        (2019, "found 2019, before the base year 2020 (--set year)"),
        (2020 + PLAN_HORIZON_MAX, f"found {2020 + PLAN_HORIZON_MAX}: a plan of 61 years"),
    ],
)
def test_a_set_plan_end_year_outside_the_horizon_is_refused(end: int, expected: str) -> None:
    params = apply_overrides(BASE, {"plan_end_year": str(end)}, "--set")
    (problem,) = plan_problems(params, PATH, "--set")
    assert problem.where == "--set plan_end_year"
    assert problem.what.startswith(expected)


def test_ratio_path_for_fills_the_gaps_from_the_base_year() -> None:
    assert ratio_path_for(BASE, PATH) == (
        (2020, 0.04),
        (2021, 0.04),
        (2022, 0.045),
        (2023, 0.045),
        (2024, 0.045),
        (2025, 0.05),
        (2026, 0.05),
        (2027, 0.05),
        (2028, 0.05),
        (2029, 0.05),
        (2030, 0.05),  # 2034 lies beyond this plan's end, and is ignored
    )


def test_ratio_path_for_takes_the_base_year_from_the_contribution_ratio() -> None:
    horizon = Horizon(ratio_path=((2020, 0.03), (2022, 0.045)))
    params = Parameters(year=2020, contribution_ratio=0.035, plan_end_year=2023)
    assert ratio_path_for(params, horizon) == (
        (2020, 0.035),
        (2021, 0.035),
        (2022, 0.045),
        (2023, 0.045),
    )


def test_ratio_path_for_without_a_sheet_or_a_horizon() -> None:
    params = Parameters(year=2020, contribution_ratio=0.04, plan_end_year=2022)
    assert ratio_path_for(params, Horizon()) == ((2020, 0.04), (2021, 0.04), (2022, 0.04))
    assert ratio_path_for(Parameters(year=2020, contribution_ratio=0.04), PATH) == ((2020, 0.04),)


# --- the template ---------------------------------------------------------------------------


def test_the_template_with_its_plan_sheets_filled_reads_cleanly(tmp_path: Path) -> None:
    template = write_template(tmp_path / "template.xlsx")
    path = tmp_path / "filled.xlsx"
    shutil.copy(template, path)
    workbook = openpyxl.load_workbook(path)
    provinces = workbook["provinces"]
    labels = [c.value for c in provinces[1]]
    from model.schema import PROVINCE_FIELDS

    column_of = {f.key: labels.index(f.label) + 1 for f in PROVINCE_FIELDS}
    for row, unit in enumerate(WORKED_EXAMPLE, start=2):
        for key, value in unit.items():
            provinces.cell(row=row, column=column_of[key], value=value)
    for row in workbook["parameters"].iter_rows(min_row=2):
        if row[0].value in PLAN:
            row[1].value = PLAN[row[0].value]
    for name, rows in (("growth", GROWTH), ("projection", PROJECTION), ("ratio_path", RATIO_PATH)):
        sheet = workbook[name]
        header = [c.value for c in sheet[1]]
        for r, values in enumerate(rows[1:], start=2):
            for written, value in zip(rows[0], values, strict=True):
                column = _template_column(header, written)
                sheet.cell(row=r, column=column, value=value)
    workbook.save(path)

    filled = read(path)
    plain = read(
        workbook_with(
            tmp_path,
            growth=GROWTH,
            projection=PROJECTION,
            ratio_path=RATIO_PATH,
        )
    )
    assert filled.source.warnings == ()
    pd.testing.assert_frame_equal(filled.horizon.growth, plain.horizon.growth)
    pd.testing.assert_frame_equal(filled.horizon.projection, plain.horizon.projection)
    assert filled.horizon.ratio_path == plain.horizon.ratio_path
    assert filled.parameters == plain.parameters


def _template_column(header: list[Any], written: str) -> int:
    """The template's column for a header written as a key or as the label."""
    from model.workbook.plan_fields import SHEET_FIELDS

    for fields in SHEET_FIELDS.values():
        for field in fields:
            if written in (field.key, field.label) and field.label in header:
                return header.index(field.label) + 1
    raise AssertionError(written)


def test_the_untouched_template_reads_its_empty_plan_sheets_without_a_word(
    tmp_path: Path,
) -> None:
    """The only problems of the empty template are the three it always had."""
    template = write_template(tmp_path / "template.xlsx")
    assert [p.where for p in problems_of(template)] == [
        "provinces!A2",
        "parameters!B2",
        "parameters!B3",
    ]


# --- caf check --------------------------------------------------------------------------


def check_lines(path: Path, capsys: pytest.CaptureFixture[str]) -> list[str]:
    assert main(["check", str(path)]) == 0
    return capsys.readouterr().out.splitlines()


def test_caf_check_says_what_a_fixed_path_plan_covers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = workbook_with(tmp_path, growth=GROWTH, projection=PROJECTION, ratio_path=RATIO_PATH)
    lines = check_lines(path, capsys)
    assert lines[-4:] == [
        "多年规划 Plan: 2020–2030 (11 years)",
        "  上解比例 Ratio path: fixed, 4% in 2020, 4.5% from 2022, 5% from 2025",
        "  增长率 Growth: national defaults wage 5%, insured −0.5%, retirees 3.5%, "
        "benefits 3%; 2 units with their own rates",
        "  预测数 Projection: 4 figures for 2 units (years 2021–2022) replace the growth model",
    ]


def test_caf_check_says_what_an_optimised_plan_covers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = check_lines(workbook_with(tmp_path, OPTIMISED), capsys)
    assert lines[-4:] == [
        "多年规划 Plan: 2020–2030 (11 years)",
        "  上解比例 Ratio path: optimised from 4% in 2020, within ratio_max 6%, rising at most "
        "0.5 percentage points a year",
        "  增长率 Growth: national defaults wage 5%, insured −0.5%, retirees 3.5%, "
        "benefits 3%; no unit has its own rates",
        "  预测数 Projection: none; every figure grows from the base year",
    ]


def test_caf_check_with_a_constant_ratio(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = check_lines(workbook_with(tmp_path), capsys)
    assert lines[-3] == "  上解比例 Ratio path: fixed at 4% every year"


def test_caf_check_without_a_horizon_says_how_to_set_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = check_lines(workbook_with(tmp_path, {"year": 2020, "contribution_ratio": 0.04}), capsys)
    assert lines[-1] == (
        "多年规划 Plan: 未设规划期 none — 在 parameters 工作表中填写规划末年 plan_end_year"
        "（如 2035）后，可用 caf plan 做多年规划 / plan_end_year is blank: set it in the "
        "parameters sheet (such as 2035) to plan the years ahead with caf plan"
    )
