"""Nothing is silently mis-read (issue 10): totals, headers, hidden sheets, unit slips.

Each workbook is one ordinary mistake a planner makes. Each must be refused with a
located message in both languages, or, where the data could be right, read with a
warning that names the cell.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from model.errors import InputError, Problem
from model.schema import PROVINCE_FIELDS
from model.workbook.reader import FundData, read_workbook
from model.workbook.scenarios import Parameters
from tests.workbooks import WORKED_EXAMPLE

KEYS = [f.key for f in PROVINCE_FIELDS]
LETTER = {k: openpyxl.utils.get_column_letter(i + 1) for i, k in enumerate(KEYS)}
PARAMS: list[list[Any]] = [["year", 2020], ["contribution_ratio", 0.04]]

FIVE: list[dict[str, Any]] = [
    *copy.deepcopy(WORKED_EXAMPLE),
    {
        "code": "D",
        "name_zh": "丁",
        "region": "West",
        "avg_wage_yuan": 70000,
        "insured_employees_10k": 500,
        "retirees_10k": 150,
        "opening_balance_100m": 300,
        "contribution_income_100m": 450,
        "other_income_100m": 20,
        "expenditure_100m": 500,
    },
    {
        "code": "E",
        "name_zh": "戊",
        "region": "East",
        "avg_wage_yuan": 90000,
        "insured_employees_10k": 800,
        "retirees_10k": 250,
        "opening_balance_100m": 1200,
        "contribution_income_100m": 1000,
        "other_income_100m": 30,
        "expenditure_100m": 900,
    },
]


def rows_with(**changes: tuple[int, Any]) -> list[dict[str, Any]]:
    rows = copy.deepcopy(FIVE)
    for key, (index, value) in changes.items():
        rows[index][key] = value
    return rows


def book(
    rows: list[dict[str, Any]] | None = None,
    params: list[list[Any]] | None = None,
    headers: list[Any] | None = None,
) -> openpyxl.Workbook:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "provinces"
    sheet.append(KEYS if headers is None else headers)
    for row in FIVE if rows is None else rows:
        sheet.append([row.get(k) for k in KEYS])
    parameters = workbook.create_sheet("parameters")
    for row in [["key", "value"], *(PARAMS if params is None else params)]:
        parameters.append(row)
    return workbook


def save(workbook: openpyxl.Workbook, tmp_path: Path) -> Path:
    path = tmp_path / "in.xlsx"
    workbook.save(path)
    return path


def problems(path: Path) -> list[Problem]:
    with pytest.raises(InputError) as caught:
        read_workbook(path)
    found = list(caught.value.problems)
    for problem in found:
        assert problem.what_zh and problem.fix_zh, problem
    return found


def only(path: Path) -> Problem:
    found = problems(path)
    assert len(found) == 1, [str(p) for p in found]
    return found[0]


def warned(path: Path) -> FundData:
    data = read_workbook(path)
    for warning in data.source.warnings:
        assert warning.what_zh and warning.fix_zh, warning
    return data


def cell(key: str, unit: int) -> str:
    return f"provinces!{LETTER[key]}{unit + 2}"


# --- 1. total and subtotal rows -----------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "label"),
    [
        ("name_zh", "合计"),
        ("name_zh", "全国合计"),
        ("name_zh", "小计"),
        ("name_zh", "总计"),
        ("name_en", "Total"),
        ("name_en", "Grand total"),
        ("code", "Sum"),
        ("name_zh", "全国"),
    ],
)
def test_a_total_row_is_refused_with_delete_this_row(
    tmp_path: Path, column: str, label: str
) -> None:
    rows = copy.deepcopy(FIVE)
    total = {"code": "99", "name_zh": "某地", "region": "East"}
    for key in ("avg_wage_yuan", "insured_employees_10k", "retirees_10k", "expenditure_100m"):
        total[key] = sum(r[key] for r in FIVE)
    total.update(opening_balance_100m=1, contribution_income_100m=1)
    total[column] = label
    rows.append(total)
    problem = only(save(book(rows), tmp_path))
    assert problem.where == f"provinces!{LETTER[column]}7"
    assert problem.what == f'found "{label}", a total or subtotal row'
    assert problem.fix.startswith("delete this row")
    assert problem.what_zh == f"发现“{label}”，这是合计或小计行"


def test_a_row_that_adds_up_the_others_is_refused_whatever_its_label(tmp_path: Path) -> None:
    rows = copy.deepcopy(FIVE)
    total: dict[str, Any] = {"code": "00", "name_zh": "中央", "region": "East"}
    for key in ("insured_employees_10k", "retirees_10k", "contribution_income_100m"):
        total[key] = sum(r[key] for r in FIVE)
    total.update(avg_wage_yuan=80000, opening_balance_100m=4000)
    total["expenditure_100m"] = sum(r["expenditure_100m"] for r in FIVE)
    rows.append(total)
    problem = only(save(book(rows), tmp_path))
    assert problem.where == "provinces!A7"
    assert "equal the sum of all the other rows" in problem.what
    assert "delete it" in problem.fix


def test_the_issue_total_row_no_longer_doubles_the_fund(tmp_path: Path) -> None:
    """The reproduced case: code and region filled in, 合计 in the name."""
    rows = copy.deepcopy(FIVE)
    rows.append({**rows[0], "code": "100", "name_zh": "合计 Total", "region": "East"})
    assert only(save(book(rows), tmp_path)).where == "provinces!B7"


# --- 2. headers ---------------------------------------------------------------------------


def test_merged_header_cells_get_one_message(tmp_path: Path) -> None:
    workbook = book()
    sheet = workbook["provinces"]
    sheet.merge_cells("M1:N1")  # planned central subsidy merged with the local cap
    found = problems(save(workbook, tmp_path))
    assert [p.where for p in found] == ["provinces!M1:N1"]
    assert found[0].what == "found merged header cells"
    assert found[0].what_zh == "发现合并的表头单元格"


def test_figures_under_a_blank_header_are_refused(tmp_path: Path) -> None:
    headers = [k if k != "planned_central_subsidy_100m" else None for k in KEYS]
    rows = rows_with(planned_central_subsidy_100m=(1, 1450))
    problem = only(save(book(rows, headers=headers), tmp_path))
    assert problem.where == "provinces!M1"
    assert problem.what == "found figures in column M (first in M3) under a blank header"


def test_a_blank_header_over_a_blank_column_is_fine(tmp_path: Path) -> None:
    headers = [*KEYS, None, "备注 note"]
    assert len(warned(save(book(headers=headers), tmp_path)).units) == 5


def test_headers_below_a_title_row_get_one_message(tmp_path: Path) -> None:
    workbook = book()
    workbook["provinces"].insert_rows(1)
    workbook["provinces"]["A1"] = "2020年各省企业职工基本养老保险基金情况"
    problem = only(save(workbook, tmp_path))
    assert problem.where == "provinces!A2"
    assert problem.what == "found the headers in row 2, not in row 1"
    assert problem.fix.startswith("delete row 1 ")


def test_parameters_below_a_title_row_get_one_message(tmp_path: Path) -> None:
    workbook = book()
    workbook["parameters"].insert_rows(1, amount=2)
    workbook["parameters"]["A1"] = "参数"
    problem = only(save(workbook, tmp_path))
    assert problem.where == "parameters!A3"
    assert "rows 1–2" in problem.fix


def test_a_merged_data_cell_is_refused(tmp_path: Path) -> None:
    workbook = book()
    workbook["provinces"].merge_cells("O2:O4")  # one local share typed for three units
    problem = only(save(workbook, tmp_path))
    assert problem.where == "provinces!O2:O4"
    assert "first cell only" in problem.what


# --- 3. hidden sheets, rows and copies ------------------------------------------------------


def test_a_hidden_provinces_sheet_beside_a_visible_copy_names_the_copy(tmp_path: Path) -> None:
    workbook = book()
    workbook["provinces"].sheet_state = "hidden"
    copy_sheet = workbook.copy_worksheet(workbook["provinces"])
    copy_sheet.title = "provinces (2)"
    copy_sheet.sheet_state = "visible"
    workbook.active = 1
    problem = only(save(workbook, tmp_path))
    assert problem.where == "provinces!A1"
    assert problem.what == 'the sheet "provinces" is hidden, so what would be read cannot be seen'
    assert '"provinces (2)" looks like an edited copy' in problem.fix
    assert "“provinces (2)”" in problem.fix_zh


@pytest.mark.parametrize("state", ["hidden", "veryHidden"])
def test_a_hidden_scenarios_sheet_is_refused(tmp_path: Path, state: str) -> None:
    workbook = book()
    scenarios = workbook.create_sheet("scenarios")
    scenarios.append(["scenario", "contribution_ratio"])
    scenarios.append(["stale", 0.03])
    scenarios.sheet_state = state
    problem = only(save(workbook, tmp_path))
    assert problem.where == "scenarios!A1"
    assert "hidden" in problem.what


def test_a_visible_copy_beside_the_original_is_a_warning(tmp_path: Path) -> None:
    workbook = book()
    workbook.copy_worksheet(workbook["provinces"]).title = "provinces (2)"
    data = warned(save(workbook, tmp_path))
    assert [w.where for w in data.source.warnings] == ["provinces (2)!A1"]
    assert 'only "provinces" is' in data.source.warnings[0].what


def test_only_a_copy_named_sheet_is_refused_with_a_rename(tmp_path: Path) -> None:
    workbook = book()
    workbook["provinces"].title = "provinces_2"
    problem = only(save(workbook, tmp_path))
    assert problem.what == 'found no sheet named "provinces"'
    assert problem.fix == 'the sheet "provinces_2" looks like it: rename it to provinces'


def test_hidden_rows_that_are_read_are_a_warning(tmp_path: Path) -> None:
    workbook = book()
    workbook["provinces"].row_dimensions[4].hidden = True
    data = warned(save(workbook, tmp_path))
    assert len(data.units) == 5
    assert [w.where for w in data.source.warnings] == ["provinces!A4"]
    assert "rows 4 are hidden" in data.source.warnings[0].what


# --- 4. unit slips --------------------------------------------------------------------------

SLIPS = [
    # (what the planner did, key, unit index, value, the cell named)
    ("wage in 万元", "avg_wage_yuan", 0, 10.0, "avg_wage_yuan"),
    ("other income in 万元", "other_income_100m", 3, 200_000, "other_income_100m"),
    ("retirees in 人 / 10", "retirees_10k", 2, 86_000, "retirees_10k"),
    ("expenditure in 万元", "expenditure_100m", 1, 5_000_000, "expenditure_100m"),
    ("contribution income in 万元", "contribution_income_100m", 4, 10_000_000, None),
    ("opening balance in 万元", "opening_balance_100m", 4, 12_000_000, "opening_balance_100m"),
    ("insured in 亿人", "insured_employees_10k", 0, 0.1, "insured_employees_10k"),
    ("retirees in 亿人", "retirees_10k", 1, 0.03, "retirees_10k"),
    ("expenditure in 万亿元", "expenditure_100m", 2, 0.03, "expenditure_100m"),
    ("contribution income in 万亿元", "contribution_income_100m", 3, 0.045, None),
]


@pytest.mark.parametrize(
    ("slip", "key", "unit", "value", "blamed"), SLIPS, ids=[s[0] for s in SLIPS]
)
def test_a_slip_of_ten_thousand_is_refused_at_its_cell(
    tmp_path: Path, slip: str, key: str, unit: int, value: float, blamed: str | None
) -> None:
    found = problems(save(book(rows_with(**{key: (unit, value)})), tmp_path))
    assert found, slip
    assert found[0].where == cell(blamed or key, unit), [str(p) for p in found]
    assert "check the unit" in found[0].fix
    assert "计量单位" in found[0].fix_zh


def test_accept_unusual_figures_turns_the_error_into_a_warning(tmp_path: Path) -> None:
    rows = rows_with(other_income_100m=(3, 200_000))
    params = [*PARAMS, ["accept_unusual_figures", "yes"]]
    data = warned(save(book(rows, params), tmp_path))
    assert data.units.loc["D", "other_income_100m"] == 200_000
    assert [w.where for w in data.source.warnings] == [cell("other_income_100m", 3)]


def test_accept_unusual_figures_is_not_a_policy_parameter(tmp_path: Path) -> None:
    params = [*PARAMS, ["accept_unusual_figures", "是"]]
    data = warned(save(book(params=params), tmp_path))
    assert "accept_unusual_figures" not in data.parameters.as_dict()


def test_unusual_but_possible_figures_are_warnings(tmp_path: Path) -> None:
    rows = rows_with(other_income_100m=(4, 600), avg_wage_yuan=(3, 18_000))
    data = warned(save(book(rows), tmp_path))
    assert [w.where for w in data.source.warnings] == [
        cell("avg_wage_yuan", 3),
        cell("other_income_100m", 4),
    ]


def test_a_figure_far_from_the_median_is_a_warning(tmp_path: Path) -> None:
    rows = copy.deepcopy(FIVE)
    for key in ("insured_employees_10k", "retirees_10k", "opening_balance_100m"):
        rows[4][key] /= 500  # a tiny unit: every ratio as usual, every figure tiny
    for key in ("contribution_income_100m", "other_income_100m", "expenditure_100m"):
        rows[4][key] /= 500
    data = warned(save(book(rows), tmp_path))
    assert {w.where for w in data.source.warnings} >= {cell("insured_employees_10k", 4)}
    assert any("of the median unit" in w.what for w in data.source.warnings)


def test_a_contribution_ratio_of_one_is_refused(tmp_path: Path) -> None:
    problem = only(save(book(params=[["year", 2020], ["contribution_ratio", 1]]), tmp_path))
    assert problem.where == "parameters!B3"
    assert problem.what == "found 1, which looks like a percentage for contribution_ratio"


def test_a_contribution_ratio_above_a_fifth_is_refused(tmp_path: Path) -> None:
    problem = only(save(book(params=[["year", 2020], ["contribution_ratio", 0.4]]), tmp_path))
    assert problem.what == "found 0.4, above the maximum 0.2 for contribution_ratio"


def test_the_sample_reads_without_a_warning() -> None:
    data = read_workbook(Path(__file__).parent.parent / "inputs" / "sample_2020.xlsx")
    assert data.source.warnings == ()


# --- 5. full-width text and Chinese names ---------------------------------------------------


def test_full_width_numbers_and_codes_read_as_half_width(tmp_path: Path) -> None:
    rows = rows_with(expenditure_100m=(0, "６００．０"), retirees_10k=(1, "３００"))
    rows[2]["code"] = "２３"
    data = warned(save(book(rows), tmp_path))
    assert data.units.loc["A", "expenditure_100m"] == 600.0
    assert data.units.loc["B", "retirees_10k"] == 300.0
    assert "23" in data.units.index


def test_a_full_width_code_is_the_same_code(tmp_path: Path) -> None:
    rows = rows_with(code=(0, "23"))
    rows[1]["code"] = "２３"
    problem = only(save(book(rows), tmp_path))
    assert problem.what == 'found the code "23" again'


@pytest.mark.parametrize(
    ("written", "region"),
    [("东部", "East"), ("中部", "Central"), ("西部地区", "West"), ("东北", "Northeast")],
)
def test_chinese_region_names_are_accepted(tmp_path: Path, written: str, region: str) -> None:
    data = warned(save(book(rows_with(region=(0, written))), tmp_path))
    assert data.units.loc["A", "region"] == region


def test_thousands_separators_and_percent_signs_are_read(tmp_path: Path) -> None:
    rows = rows_with(expenditure_100m=(0, "1,234.5"), min_local_share=(1, "30%"))
    params = [["year", 2020], ["contribution_ratio", "４％"]]
    data = warned(save(book(rows, params), tmp_path))
    assert data.units.loc["A", "expenditure_100m"] == 1234.5
    assert data.units.loc["B", "min_local_share"] == 0.3
    assert data.parameters.contribution_ratio == 0.04


def test_full_width_headers_and_sheet_names_match(tmp_path: Path) -> None:
    labels = [f.label.replace("(", "（").replace(")", "）") for f in PROVINCE_FIELDS]
    workbook = book(headers=labels)
    workbook["parameters"].title = "ｐａｒａｍｅｔｅｒｓ"
    assert len(warned(save(workbook, tmp_path)).units) == 5


def test_every_message_reads_chinese_first(tmp_path: Path) -> None:
    rows = rows_with(avg_wage_yuan=(0, "about 90k"), region=(1, "Southwest"))
    for problem in problems(save(book(rows), tmp_path)):
        line = str(problem)
        assert line.index(problem.what_zh) < line.index(problem.what)


def test_blank_written_as_a_value_clears_an_optional_setting_only() -> None:
    from model.workbook.scenarios import apply_overrides, sweep_scenarios

    base = Parameters(year=2020, contribution_ratio=0.04, max_rule_deviation=0.5)
    cleared = apply_overrides(base, {"max_rule_deviation": "blank", "min_return_share": "无"}, "x")
    assert cleared.max_rule_deviation is None and cleared.min_return_share is None
    names = [s.name for s in sweep_scenarios(base, ["max_rule_deviation=0.2,blank"])]
    assert names == ["base", "区间 20%", "区间 不设"]
    with pytest.raises(InputError):  # a ratio has no "none"
        apply_overrides(base, {"contribution_ratio": "blank"}, "x")
