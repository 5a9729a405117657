"""Every validation message of the workbook reader, one small test each (issue 2).

Each problem is one line ``sheet!cell: what — fix``; the tests pin the location exactly
and the key words of the message. Workbooks are written cell by cell with openpyxl, in
the 17-column order of ``schema.PROVINCE_FIELDS`` (code in A … max_transfer_100m in Q).
"""

from __future__ import annotations

import copy
import math
import re
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
from openpyxl.utils import get_column_letter

from model.errors import InputError, Problem
from model.schema import PARAMETER_FIELDS, PROVINCE_FIELDS
from model.workbook.reader import FundData, read_workbook
from model.workbook.scenarios import Parameters, apply_overrides
from tests.workbooks import WORKED_EXAMPLE, WORKED_PARAMETERS, write_workbook

KEYS = [f.key for f in PROVINCE_FIELDS]
PARAMS = [["year", 2020], ["contribution_ratio", 0.04]]


def at(key: str, unit: int) -> str:
    """The location of ``key`` for the ``unit``-th row of WORKED_EXAMPLE (0-based)."""
    return f"provinces!{get_column_letter(KEYS.index(key) + 1)}{unit + 2}"


def units(**changes: Any) -> list[dict[str, Any]]:
    """WORKED_EXAMPLE with ``key=(unit index, value)`` changes."""
    rows = copy.deepcopy(WORKED_EXAMPLE)
    for key, (index, value) in changes.items():
        rows[index][key] = value
    return rows


def write(
    path: Path,
    unit_rows: list[dict[str, Any]] | None = None,
    params: list[list[Any]] | None = None,
    scenarios: list[list[Any]] | None = None,
    headers: list[Any] | None = None,
    sheets: tuple[str, str, str] = ("provinces", "parameters", "scenarios"),
) -> Path:
    """Write all 15 province columns (headers = keys unless given), parameters, scenarios."""
    rows = WORKED_EXAMPLE if unit_rows is None else unit_rows
    workbook = openpyxl.Workbook()
    provinces = workbook.active
    assert provinces is not None
    provinces.title = sheets[0]
    provinces.append(KEYS if headers is None else headers)
    for row in rows:
        provinces.append([row.get(k) for k in KEYS])
    parameters = workbook.create_sheet(sheets[1])
    for row in [["key", "value"], *(PARAMS if params is None else params)]:
        parameters.append(row)
    if scenarios is not None:
        sheet = workbook.create_sheet(sheets[2])
        for row in scenarios:
            sheet.append(row)
    workbook.save(path)
    return path


def english(problem: Problem) -> str:
    """The problem's line with its English half only (the Chinese is pinned separately)."""
    return f"{problem.where}: {problem.en}"


def problems_of(path: Path) -> list[Problem]:
    with pytest.raises(InputError) as caught:
        read_workbook(path)
    return list(caught.value.problems)


def only_problem(path: Path) -> Problem:
    found = problems_of(path)
    assert len(found) == 1, [str(p) for p in found]
    return found[0]


def lines_of(path: Path) -> list[str]:
    return [english(p) for p in problems_of(path)]


# --- valid input -----------------------------------------------------------------------


def test_worked_example_reads_three_units_with_defaults(tmp_path: Path) -> None:
    data = read_workbook(write_workbook(tmp_path / "in.xlsx", WORKED_EXAMPLE, WORKED_PARAMETERS))
    assert isinstance(data, FundData)
    assert list(data.units.index) == ["A", "B", "C"]
    assert list(data.units.columns) == [*KEYS, "input_row"]
    assert list(data.units["input_row"]) == [2, 3, 4]
    assert data.units.loc["B", "retirees_10k"] == 300.0
    assert data.units.loc["A", "other_income_100m"] == 0.0
    assert math.isnan(data.units.loc["A", "enterprise_employment_10k"])
    assert data.parameters.year == 2020
    assert isinstance(data.parameters.year, int)
    assert data.parameters.contribution_ratio == 0.04
    assert data.parameters.wage_base_share == 0.9
    assert data.parameters.objective == "maximin"
    assert data.parameters.max_rule_deviation is None
    assert [s.name for s in data.scenarios] == ["base"]
    assert data.source.name == "in.xlsx"
    assert len(data.source.sha256) == 64


def test_number_stored_as_text_is_accepted(tmp_path: Path) -> None:
    rows = units(opening_balance_100m=(0, "12.5"), avg_wage_yuan=(1, " 60000 "))
    data = read_workbook(
        write(tmp_path / "in.xlsx", rows, [["year", "2020"], ["contribution_ratio", "0.04"]])
    )
    assert data.units.loc["A", "opening_balance_100m"] == 12.5
    assert data.units.loc["B", "avg_wage_yuan"] == 60000.0
    assert data.parameters.year == 2020
    assert data.parameters.contribution_ratio == 0.04


def test_negative_opening_balance_is_accepted(tmp_path: Path) -> None:
    data = read_workbook(write(tmp_path / "in.xlsx", units(opening_balance_100m=(1, -250))))
    assert data.units.loc["B", "opening_balance_100m"] == -250.0


def test_zero_is_accepted_where_it_makes_sense(tmp_path: Path) -> None:
    rows = units(contribution_income_100m=(0, 0), other_income_100m=(0, 0), min_local_share=(0, 0))
    data = read_workbook(write(tmp_path / "in.xlsx", rows, [*PARAMS, ["max_rule_deviation", 0]]))
    assert data.units.loc["A", "contribution_income_100m"] == 0.0
    assert data.parameters.max_rule_deviation == 0.0


def test_region_is_matched_ignoring_case(tmp_path: Path) -> None:
    data = read_workbook(write(tmp_path / "in.xlsx", units(region=(0, " east"))))
    assert data.units.loc["A", "region"] == "East"


def test_numeric_codes_are_read_as_text_and_sorted(tmp_path: Path) -> None:
    rows = units(code=(0, 44))
    rows[1]["code"] = 11.0
    rows[2]["code"] = "031"
    data = read_workbook(write(tmp_path / "in.xlsx", rows))
    assert list(data.units.index) == ["031", "11", "44"]
    assert list(data.units["code"]) == ["031", "11", "44"]
    assert data.units.loc["11", "name_en"] == "Beta"


def test_code_11_and_11_point_0_are_the_same_code(tmp_path: Path) -> None:
    rows = units(code=(0, 11))
    rows[1]["code"] = 11.0
    assert lines_of(write(tmp_path / "in.xlsx", rows)) == [
        'provinces!A3: found the code "11" again — codes must be unique; '
        "it is already used in row 2"
    ]


# --- sheets and headers ----------------------------------------------------------------


def test_found_no_sheet_named_provinces(tmp_path: Path) -> None:
    path = write(tmp_path / "in.xlsx", sheets=("units", "parameters", "scenarios"))
    problem = only_problem(path)
    assert problem.where == "provinces!A1"
    assert problem.what == 'found no sheet named "provinces"'
    assert "add a sheet called provinces" in problem.fix


def test_found_no_sheet_named_parameters(tmp_path: Path) -> None:
    path = write(tmp_path / "in.xlsx", sheets=("provinces", "params", "scenarios"))
    problem = only_problem(path)
    assert problem.where == "parameters!A1"
    assert problem.what == 'found no sheet named "parameters"'


def test_both_missing_sheets_are_reported_together(tmp_path: Path) -> None:
    path = write(tmp_path / "in.xlsx", sheets=("Sheet", "Sheet2", "scenarios"))
    assert [p.where for p in problems_of(path)] == ["provinces!A1", "parameters!A1"]


def test_sheet_names_match_ignoring_case_and_blanks(tmp_path: Path) -> None:
    path = write(tmp_path / "in.xlsx", sheets=("Provinces", " PARAMETERS ", "scenarios"))
    assert len(read_workbook(path).units) == 3


def test_found_no_header_row_in_an_empty_provinces_sheet(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "provinces"
    params = workbook.create_sheet("parameters")
    for row in [["key", "value"], *PARAMS]:
        params.append(row)
    workbook.save(tmp_path / "in.xlsx")
    problem = only_problem(tmp_path / "in.xlsx")
    assert problem.where == "provinces!A1"
    assert problem.what == "found no header row"
    assert "caf template" in problem.fix


def test_found_no_pooling_units_under_the_header(tmp_path: Path) -> None:
    problem = only_problem(write(tmp_path / "in.xlsx", unit_rows=[]))
    assert problem.where == "provinces!A2"
    assert problem.what == "found no pooling units"
    assert "one row per province" in problem.fix


def test_found_no_column_for_a_required_key(tmp_path: Path) -> None:
    headers = [k if k != "retirees_10k" else None for k in KEYS]
    assert lines_of(write(tmp_path / "in.xlsx", headers=headers)) == [
        "provinces!H1: found figures in column H (first in H2) under a blank header — give "
        "the column a header from the template, start its header with '备注' or 'note' to "
        "keep it as notes, or delete the column",
        "provinces!1:1: found no column for retirees_10k — "
        'add a column headed "离退休人数 Retirees (万人)"',
    ]


def test_found_the_unknown_column(tmp_path: Path) -> None:
    path = write(tmp_path / "in.xlsx", headers=[*KEYS, "Population"])
    problem = only_problem(path)
    assert problem.where == "provinces!R1"
    assert problem.what == 'found the unknown column "Population"'
    assert "备注" in problem.fix and "note" in problem.fix


def test_found_a_second_column_for_the_same_key(tmp_path: Path) -> None:
    headers = [*KEYS, "离退休人数 Retirees (万人)"]
    problem = only_problem(write(tmp_path / "in.xlsx", headers=headers))
    assert problem.where == "provinces!R1"
    assert problem.what == 'found "离退休人数 Retirees (万人)", a second column for retirees_10k'
    assert '"retirees_10k"' in problem.fix


def test_note_columns_are_ignored(tmp_path: Path) -> None:
    path = write(tmp_path / "in.xlsx", headers=[*KEYS, "备注", "Notes", "# checked by"])
    workbook = openpyxl.load_workbook(path)
    sheet = workbook["provinces"]
    for row in (2, 3, 4, 6):  # row 6 holds only a note: not a unit
        for column in range(len(KEYS) + 1, len(KEYS) + 4):
            sheet.cell(row=row, column=column, value="about 90k")
    workbook.save(path)
    data = read_workbook(path)
    assert list(data.units.columns) == [*KEYS, "input_row"]
    assert len(data.units) == 3


def test_label_headers_read_identically_to_keys(tmp_path: Path) -> None:
    by_key = read_workbook(write_workbook(tmp_path / "k.xlsx", WORKED_EXAMPLE, WORKED_PARAMETERS))
    by_label = read_workbook(
        write_workbook(tmp_path / "l.xlsx", WORKED_EXAMPLE, WORKED_PARAMETERS, headers="label")
    )
    pd.testing.assert_frame_equal(by_key.units, by_label.units)
    assert by_key.parameters == by_label.parameters


def test_chinese_only_headers_read_identically_to_keys(tmp_path: Path) -> None:
    by_key = read_workbook(write(tmp_path / "k.xlsx"))
    by_zh = read_workbook(write(tmp_path / "z.xlsx", headers=[f.zh for f in PROVINCE_FIELDS]))
    pd.testing.assert_frame_equal(by_key.units, by_zh.units)


def test_header_case_blank_and_bracket_variations_are_accepted(tmp_path: Path) -> None:
    variants = {
        "code": "  CODE ",
        "avg_wage_yuan": "Avg_Wage_Yuan",
        "retirees_10k": "离退休人数   retirees （万人）",
        "region": "地区 REGION",
        "expenditure_100m": "\u3000基金支出\u3000",
    }
    headers = [variants.get(k, k) for k in KEYS]
    by_key = read_workbook(write(tmp_path / "k.xlsx"))
    varied = read_workbook(write(tmp_path / "v.xlsx", headers=headers))
    pd.testing.assert_frame_equal(by_key.units, varied.units)


def test_messages_quote_the_header_as_written(tmp_path: Path) -> None:
    headers = [f.label for f in PROVINCE_FIELDS]
    path = write(tmp_path / "in.xlsx", units(avg_wage_yuan=(1, "about 90k")), headers=headers)
    assert lines_of(path) == [
        'provinces!E3: found "about 90k" in 平均工资 Average wage (元) — '
        "expected a number in yuan per year, above zero"
    ]


def test_messages_quote_a_variant_header_as_written(tmp_path: Path) -> None:
    headers = [k if k != "retirees_10k" else "RETIREES_10K" for k in KEYS]
    path = write(tmp_path / "in.xlsx", units(retirees_10k=(0, "many")), headers=headers)
    assert only_problem(path).what == 'found "many" in RETIREES_10K'


# --- province cells --------------------------------------------------------------------


def test_found_a_blank_cell_in_a_required_column(tmp_path: Path) -> None:
    problem = only_problem(write(tmp_path / "in.xlsx", units(retirees_10k=(1, None))))
    assert english(problem) == (
        f"{at('retirees_10k', 1)}: found a blank cell in retirees_10k — "
        "expected a number of persons in 万人, above zero; fill it in"
    )


def test_found_a_blank_cell_for_a_blank_text_cell(tmp_path: Path) -> None:
    problem = only_problem(write(tmp_path / "in.xlsx", units(name_zh=(2, "   "))))
    assert problem.where == at("name_zh", 2)
    assert problem.what == "found a blank cell in name_zh"


def test_found_a_blank_code(tmp_path: Path) -> None:
    problem = only_problem(write(tmp_path / "in.xlsx", units(code=(0, None))))
    assert problem.where == "provinces!A2"
    assert problem.what == "found a blank cell in code"


def test_found_text_in_a_number_cell(tmp_path: Path) -> None:
    problem = only_problem(write(tmp_path / "in.xlsx", units(expenditure_100m=(2, "n/a"))))
    assert problem.where == at("expenditure_100m", 2)
    assert problem.what == 'found "n/a" in expenditure_100m'
    assert problem.fix == "expected a number in 亿元, above zero"


def test_found_a_date_in_a_number_cell(tmp_path: Path) -> None:
    import datetime as dt

    problem = only_problem(
        write(tmp_path / "in.xlsx", units(retirees_10k=(0, dt.date(2020, 1, 5))))
    )
    assert problem.where == at("retirees_10k", 0)
    assert "2020-01-05" in problem.what


def test_found_a_negative_value(tmp_path: Path) -> None:
    problem = only_problem(write(tmp_path / "in.xlsx", units(contribution_income_100m=(1, -5))))
    assert english(problem) == (
        f"{at('contribution_income_100m', 1)}: found -5, a negative value in "
        "contribution_income_100m — expected a number in 亿元, zero or more"
    )


@pytest.mark.parametrize(
    "key", ["expenditure_100m", "avg_wage_yuan", "retirees_10k", "insured_employees_10k"]
)
def test_found_0_which_makes_no_sense_here(tmp_path: Path, key: str) -> None:
    problem = only_problem(write(tmp_path / "in.xlsx", units(**{key: (2, 0)})))
    assert problem.where == at(key, 2)
    assert problem.what == f"found 0, which makes no sense here in {key}"
    assert "above zero" in problem.fix


def test_found_unknown_region(tmp_path: Path) -> None:
    problem = only_problem(write(tmp_path / "in.xlsx", units(region=(1, "Southwest"))))
    assert english(problem) == (
        f'{at("region", 1)}: found "Southwest" in region — '
        "expected one of East, Central, West, Northeast"
    )


def test_min_local_share_found_a_percentage(tmp_path: Path) -> None:
    problem = only_problem(write(tmp_path / "in.xlsx", units(min_local_share=(0, 30))))
    assert english(problem) == (
        f"{at('min_local_share', 0)}: found 30, which looks like a percentage in "
        "min_local_share — expected a fraction between 0 and 1, such as 0.3: write 0.3 for 30%"
    )


def test_min_local_share_found_above_the_maximum(tmp_path: Path) -> None:
    problem = only_problem(write(tmp_path / "in.xlsx", units(min_local_share=(0, 150))))
    assert problem.where == at("min_local_share", 0)
    assert problem.what == "found 150, above the maximum 1 in min_local_share"


def test_min_local_share_found_negative(tmp_path: Path) -> None:
    problem = only_problem(write(tmp_path / "in.xlsx", units(min_local_share=(2, -0.1))))
    assert problem.where == at("min_local_share", 2)
    assert problem.what == "found -0.1, a negative value in min_local_share"


def test_found_the_code_again(tmp_path: Path) -> None:
    problem = only_problem(write(tmp_path / "in.xlsx", units(code=(2, "A"))))
    assert english(problem) == (
        'provinces!A4: found the code "A" again — codes must be unique; it is already used in row 2'
    )


# --- formulas --------------------------------------------------------------------------


def _with_formulas(path: Path, cells: dict[tuple[str, str], str]) -> Path:
    """openpyxl stores formulas without a cached value (it never calculates)."""
    workbook = openpyxl.load_workbook(path)
    for (sheet, ref), formula in cells.items():
        workbook[sheet][ref] = formula
    workbook.save(path)
    return path


def test_formula_without_saved_value_names_the_cell(tmp_path: Path) -> None:
    path = _with_formulas(write(tmp_path / "in.xlsx"), {("provinces", "E2"): "=1+1"})
    assert lines_of(path) == [
        "provinces!E2: found the formula =1+1 with no saved value in avg_wage_yuan — "
        "open and save the workbook in Excel so the value is calculated, or type the value"
    ]


def test_formula_without_saved_value_in_optional_cell_is_not_read_as_blank(
    tmp_path: Path,
) -> None:
    path = _with_formulas(write(tmp_path / "in.xlsx"), {("provinces", "K3"): "=1+1"})
    problem = only_problem(path)
    assert problem.where == "provinces!K3"
    assert "=1+1 with no saved value in other_income_100m" in problem.what


def test_formula_without_saved_value_in_parameters(tmp_path: Path) -> None:
    path = _with_formulas(write(tmp_path / "in.xlsx"), {("parameters", "B3"): "=0.02*2"})
    problem = only_problem(path)
    assert problem.where == "parameters!B3"
    assert problem.what == "found the formula =0.02*2 with no saved value for contribution_ratio"


def _rewrite_provinces_xml(path: Path, replacements: dict[str, str]) -> Path:
    """Rewrite the provinces sheet's XML inside the zip: regex pattern → replacement.

    A key ``E2`` stands for the whole ``<c r="E2">…</c>`` element.
    """
    with zipfile.ZipFile(path) as archive:
        parts = {info: archive.read(info) for info in archive.infolist()}
    rewritten = path.with_name("rewritten.xlsx")
    with zipfile.ZipFile(rewritten, "w", zipfile.ZIP_DEFLATED) as archive:
        for info, content in parts.items():
            if info.filename == "xl/worksheets/sheet1.xml":
                text = content.decode()
                for pattern, replacement in replacements.items():
                    if re.fullmatch(r"[A-Z]+[0-9]+", pattern):
                        pattern = rf'<c r="{pattern}"[^>]*?(/>|>.*?</c>)'
                    text, count = re.subn(pattern, replacement, text)
                    assert count == 1, pattern
                content = text.encode()
            archive.writestr(info, content)
    return rewritten


def test_formula_with_saved_value_uses_the_value(tmp_path: Path) -> None:
    path = write(tmp_path / "in.xlsx", units(avg_wage_yuan=(0, 1)))
    path = _rewrite_provinces_xml(
        path,
        {
            "E2": '<c r="E2"><f>50000*2</f><v>100000</v></c>',
            "A2": '<c r="A2" t="str"><f>"A"</f><v>A</v></c>',
        },
    )
    data = read_workbook(path)
    assert data.units.loc["A", "avg_wage_yuan"] == 100000.0
    assert list(data.units.index) == ["A", "B", "C"]


def test_formula_with_saved_value_is_still_validated(tmp_path: Path) -> None:
    path = _rewrite_provinces_xml(
        write(tmp_path / "in.xlsx", units(enterprise_employment_10k=(1, 500))),
        {"G3": '<c r="G3"><f>-1*5</f><v>-5</v></c>'},
    )
    # G is enterprise_employment_10k, optional but above zero when given
    problem = only_problem(path)
    assert problem.where == "provinces!G3"
    assert problem.what == "found -5, a negative value in enterprise_employment_10k"


def test_rows_beyond_a_stale_sheet_dimension_are_not_dropped(tmp_path: Path) -> None:
    """Some writers record a wrong <dimension>; openpyxl's read-only mode trusts it and
    silently stops there, so units B and C would vanish from a "valid" workbook."""
    path = _rewrite_provinces_xml(
        write(tmp_path / "in.xlsx"), {r'<dimension ref="[^"]*" ?/>': '<dimension ref="A1:O2"/>'}
    )
    assert list(read_workbook(path).units.index) == ["A", "B", "C"]


# --- parameters ------------------------------------------------------------------------


def test_found_no_row_for_the_required_key_year(tmp_path: Path) -> None:
    problem = only_problem(write(tmp_path / "in.xlsx", params=[["contribution_ratio", 0.04]]))
    assert english(problem) == (
        "parameters!A3: found no row for the required key year — "
        "add a row with key year and a whole year such as 2020"
    )


def test_found_no_row_for_the_required_key_contribution_ratio(tmp_path: Path) -> None:
    problem = only_problem(write(tmp_path / "in.xlsx", params=[["year", 2020]]))
    assert problem.where == "parameters!A3"
    assert problem.what == "found no row for the required key contribution_ratio"


def test_found_a_blank_cell_for_year(tmp_path: Path) -> None:
    path = write(tmp_path / "in.xlsx", params=[["year", None], ["contribution_ratio", 0.04]])
    assert lines_of(path) == [
        "parameters!B2: found a blank cell for year — "
        "expected a whole year such as 2020; fill it in"
    ]


def test_found_a_non_integer_year(tmp_path: Path) -> None:
    path = write(tmp_path / "in.xlsx", params=[["year", 2020.5], ["contribution_ratio", 0.04]])
    assert lines_of(path) == [
        'parameters!B2: found "2020.5" for year — expected a whole year such as 2020'
    ]


def test_found_text_for_year(tmp_path: Path) -> None:
    path = write(tmp_path / "in.xlsx", params=[["year", "FY2020"], ["contribution_ratio", 0.04]])
    problem = only_problem(path)
    assert problem.where == "parameters!B2"
    assert problem.what == 'found "FY2020" for year'


def test_contribution_ratio_found_a_percentage(tmp_path: Path) -> None:
    path = write(tmp_path / "in.xlsx", params=[["year", 2020], ["contribution_ratio", 4]])
    assert lines_of(path) == [
        "parameters!B3: found 4, which looks like a percentage for contribution_ratio — "
        "expected a fraction such as 0.04 (for 4%), at most 0.2: write 0.04 for 4%"
    ]


@pytest.mark.parametrize(
    ("key", "value", "write_as"),
    [("wage_base_share", 90, "0.9"), ("max_rule_deviation", 20, "0.2")],
)
def test_parameter_share_found_a_percentage(
    tmp_path: Path, key: str, value: float, write_as: str
) -> None:
    problem = only_problem(write(tmp_path / "in.xlsx", params=[*PARAMS, [key, value]]))
    assert problem.where == "parameters!B4"
    assert problem.what == f"found {value}, which looks like a percentage for {key}"
    assert problem.fix.endswith(f"write {write_as} for {value}%")


@pytest.mark.parametrize(
    ("key", "value", "what"),
    [
        ("contribution_ratio", 150, "found 150, above the maximum 0.2"),
        ("wage_base_share", -0.5, "found -0.5, a negative value"),
        ("max_rule_deviation", -0.2, "found -0.2, a negative value"),
        ("max_rule_deviation", 101, "found 101, above the maximum 1"),
    ],
)
def test_parameter_share_found_outside_0_to_1(
    tmp_path: Path, key: str, value: float, what: str
) -> None:
    rows = [["year", 2020], ["contribution_ratio", 0.04], ["wage_base_share", 0.9]]
    rows.append(["max_rule_deviation", 0.2])  # rows 2..5: B3 ratio, B4 share, B5 deviation
    row = next(index for index, (k, _) in enumerate(rows, start=2) if k == key)
    rows[row - 2][1] = value
    problem = only_problem(write(tmp_path / "in.xlsx", params=rows))
    assert problem.where == f"parameters!B{row}"
    assert problem.what == f"{what} for {key}"


def test_contribution_ratio_found_0_which_makes_no_sense(tmp_path: Path) -> None:
    path = write(tmp_path / "in.xlsx", params=[["year", 2020], ["contribution_ratio", 0]])
    problem = only_problem(path)
    assert problem.where == "parameters!B3"
    assert problem.what == "found 0, which makes no sense here for contribution_ratio"


def test_found_a_year_above_the_maximum(tmp_path: Path) -> None:
    path = write(tmp_path / "in.xlsx", params=[["year", 2200], ["contribution_ratio", 0.04]])
    assert only_problem(path).what == "found 2200, above the maximum 2100 for year"


def test_found_a_year_below_the_minimum(tmp_path: Path) -> None:
    path = write(tmp_path / "in.xlsx", params=[["year", 1980], ["contribution_ratio", 0.04]])
    assert lines_of(path) == [
        "parameters!B2: found 1980 for year — expected a whole year such as 2020"
    ]


def test_found_no_header_row_in_an_empty_parameters_sheet(tmp_path: Path) -> None:
    workbook = openpyxl.load_workbook(write(tmp_path / "in.xlsx"))
    workbook["parameters"].delete_rows(1, 10)
    workbook.save(tmp_path / "in.xlsx")
    problem = only_problem(tmp_path / "in.xlsx")
    assert problem.where == "parameters!A1"
    assert problem.what == "found no header row"


def test_found_the_unknown_parameter_key(tmp_path: Path) -> None:
    problem = only_problem(write(tmp_path / "in.xlsx", params=[*PARAMS, ["bogus", 1]]))
    assert problem.where == "parameters!A4"
    assert problem.what == 'found the unknown parameter key "bogus"'
    assert problem.fix == "use one of " + ", ".join(f.key for f in PARAMETER_FIELDS)


def test_found_an_unknown_objective(tmp_path: Path) -> None:
    problem = only_problem(write(tmp_path / "in.xlsx", params=[*PARAMS, ["objective", "best"]]))
    assert english(problem) == (
        'parameters!B4: found "best" for objective — expected one of maximin, range, mad'
    )


def test_found_a_parameter_key_a_second_time(tmp_path: Path) -> None:
    problem = only_problem(write(tmp_path / "in.xlsx", params=[*PARAMS, ["year", 2021]]))
    assert english(problem) == (
        'parameters!A4: found "year" a second time — keep one row for year (first in parameters!B2)'
    )


def test_parameters_found_no_key_and_value_columns(tmp_path: Path) -> None:
    workbook = openpyxl.load_workbook(write(tmp_path / "in.xlsx"))
    workbook["parameters"]["B1"] = "# value"
    workbook.save(tmp_path / "in.xlsx")
    problem = only_problem(tmp_path / "in.xlsx")
    assert problem.where == "parameters!1:1"
    assert problem.what == "found no key and value columns"


def test_parameters_found_the_unknown_column(tmp_path: Path) -> None:
    workbook = openpyxl.load_workbook(write(tmp_path / "in.xlsx"))
    workbook["parameters"]["C1"] = "unit"
    workbook.save(tmp_path / "in.xlsx")
    problem = only_problem(tmp_path / "in.xlsx")
    assert problem.where == "parameters!C1"
    assert problem.what == 'found the unknown column "unit"'


def test_parameter_labels_notes_and_defaults_are_accepted(tmp_path: Path) -> None:
    rows = [
        ["# comment row", "ignored"],
        ["年度 Year", 2021],
        ["上解比例 Contribution ratio", 0.045],
        ["OBJECTIVE", "Range"],
        [" max_rule_deviation ", 0.2],
    ]
    data = read_workbook(write(tmp_path / "in.xlsx", params=rows))
    p = data.parameters
    assert (p.year, p.contribution_ratio, p.objective, p.max_rule_deviation) == (
        2021,
        0.045,
        "range",
        0.2,
    )
    assert (p.wage_base_share, p.reserve_months_floor, p.central_subsidy_budget_100m) == (
        0.9,
        0.0,
        0.0,
    )


# --- scenarios -------------------------------------------------------------------------


def test_scenarios_override_the_parameters(tmp_path: Path) -> None:
    scenarios = [
        ["scenario", "contribution_ratio", "objective"],
        ["high", 0.045, None],
        ["spread", None, "range"],
    ]
    data = read_workbook(write(tmp_path / "in.xlsx", scenarios=scenarios))
    assert [s.name for s in data.scenarios] == ["base", "high", "spread"]
    assert data.scenario("high").parameters.contribution_ratio == 0.045
    assert data.scenario("high").parameters.objective == "maximin"
    assert data.scenario("spread").parameters.contribution_ratio == 0.04
    assert data.scenario("spread").parameters.objective == "range"
    assert data.scenario("spread").overrides == (("objective", "range"),)


def test_scenarios_found_the_unknown_column(tmp_path: Path) -> None:
    scenarios = [["scenario", "contribution_ratio", "bogus"], ["high", 0.045, 1]]
    problem = only_problem(write(tmp_path / "in.xlsx", scenarios=scenarios))
    assert problem.where == "scenarios!C1"
    assert problem.what == 'found the unknown column "bogus"'


def test_scenarios_found_a_bad_value_in_its_cell(tmp_path: Path) -> None:
    scenarios = [["scenario", "contribution_ratio"], ["high", 0.045], ["typo", "abc"]]
    problem = only_problem(write(tmp_path / "in.xlsx", scenarios=scenarios))
    assert english(problem) == (
        'scenarios!B3: found "abc" in contribution_ratio — '
        "expected a fraction such as 0.04 (for 4%), at most 0.2"
    )


def test_scenarios_found_a_percentage_in_its_cell(tmp_path: Path) -> None:
    scenarios = [["scenario", "objective", "contribution_ratio"], ["high", "range", 4.5]]
    problem = only_problem(write(tmp_path / "in.xlsx", scenarios=scenarios))
    assert problem.where == "scenarios!C2"
    assert problem.what == "found 4.5, which looks like a percentage in contribution_ratio"
    assert problem.fix.endswith("write 0.045 for 4.5%")


def test_scenarios_found_the_scenario_name_again(tmp_path: Path) -> None:
    scenarios = [["scenario", "contribution_ratio"], ["high", 0.045], ["high", 0.05]]
    problem = only_problem(write(tmp_path / "in.xlsx", scenarios=scenarios))
    assert english(problem) == (
        'scenarios!A3: found the scenario name "high" again — names must be unique (row 2)'
    )


def test_scenarios_refuse_the_reserved_name_base(tmp_path: Path) -> None:
    scenarios = [["scenario", "contribution_ratio"], ["base", 0.045]]
    problem = only_problem(write(tmp_path / "in.xlsx", scenarios=scenarios))
    assert problem.where == "scenarios!A2"
    assert problem.what == 'found the scenario name "base" again'
    assert "parameters sheet is the base scenario" in problem.fix


def test_scenarios_found_a_blank_scenario_name(tmp_path: Path) -> None:
    scenarios = [["scenario", "contribution_ratio"], ["high", 0.045], [None, 0.05]]
    problem = only_problem(write(tmp_path / "in.xlsx", scenarios=scenarios))
    assert english(problem) == (
        "scenarios!A3: found a blank scenario name — give every scenario a unique name"
    )


def test_scenarios_found_no_scenario_column(tmp_path: Path) -> None:
    scenarios = [["contribution_ratio"], [0.045]]
    problem = only_problem(write(tmp_path / "in.xlsx", scenarios=scenarios))
    assert problem.where == "scenarios!A1"
    assert problem.what == "found no scenario column"


def test_found_no_scenario_named(tmp_path: Path) -> None:
    scenarios = [["scenario", "contribution_ratio"], ["high", 0.045]]
    data = read_workbook(write(tmp_path / "in.xlsx", scenarios=scenarios))
    with pytest.raises(InputError) as caught:
        data.scenario("low")
    assert [english(p) for p in caught.value.problems] == [
        'scenarios!A:A: found no scenario named "low" — use one of: base, high'
    ]


def test_override_with_an_unknown_key_names_its_origin() -> None:
    """The web form and other callers pass raw overrides straight to apply_overrides."""
    base = Parameters(year=2020, contribution_ratio=0.04)
    with pytest.raises(InputError) as caught:
        apply_overrides(base, {"bogus": 1, "contribution_ratio": "4 pct"}, "form")
    assert [english(p) for p in caught.value.problems] == [
        'form: unknown parameter key "bogus" — use one of '
        + ", ".join(f.key for f in PARAMETER_FIELDS),
        'form contribution_ratio: found "4 pct" — expected a fraction such as 0.04 (for 4%), '
        "at most 0.2",
    ]


# --- everything at once ----------------------------------------------------------------


def test_all_problems_are_collected_in_one_error(tmp_path: Path) -> None:
    rows = units(avg_wage_yuan=(0, "about 90k"), contribution_income_100m=(1, -5))
    rows[2]["region"] = "Southwest"
    params = [["year", 2020], ["contribution_ratio", 4], ["bogus", 1]]
    found = problems_of(write(tmp_path / "in.xlsx", rows, params))
    assert len(found) == 5
    assert {p.where: p.what for p in found} == {
        "provinces!E2": 'found "about 90k" in avg_wage_yuan',
        "provinces!J3": "found -5, a negative value in contribution_income_100m",
        "provinces!D4": 'found "Southwest" in region',
        "parameters!A4": 'found the unknown parameter key "bogus"',
        "parameters!B3": "found 4, which looks like a percentage for contribution_ratio",
    }
    # the provinces sheet is reported first, row by row
    assert [p.where for p in found[:3]] == ["provinces!E2", "provinces!J3", "provinces!D4"]


def test_input_error_message_is_one_line_per_problem(tmp_path: Path) -> None:
    rows = units(avg_wage_yuan=(0, "x"), retirees_10k=(1, None))
    with pytest.raises(InputError) as caught:
        read_workbook(write(tmp_path / "in.xlsx", rows))
    assert str(caught.value).splitlines() == [str(p) for p in caught.value.problems]
    assert len(caught.value.problems) == 2


def test_an_empty_scenarios_sheet_means_no_scenarios(tmp_path: Path) -> None:
    path = write_workbook(tmp_path / "empty_scenarios.xlsx", WORKED_EXAMPLE, WORKED_PARAMETERS)
    book = openpyxl.load_workbook(path)
    book.create_sheet("scenarios")
    book.save(path)
    data = read_workbook(path)
    assert [s.name for s in data.scenarios] == ["base"]


def test_found_a_value_above_the_ceiling(tmp_path: Path) -> None:
    """A figure in yuan typed into an 亿元 column would overflow the solver: refused here."""
    problem = only_problem(write(tmp_path / "in.xlsx", units(expenditure_100m=(1, 1e21))))
    assert english(problem) == (
        f"{at('expenditure_100m', 1)}: found 1e+21, above the maximum 1e+06 in "
        "expenditure_100m — expected a number in 亿元, above zero; "
        "check the unit: this column is in 亿元"
    )


def test_found_a_value_below_the_floor_of_a_signed_field(tmp_path: Path) -> None:
    problem = only_problem(write(tmp_path / "in.xlsx", units(opening_balance_100m=(1, -1e22))))
    assert problem.where == at("opening_balance_100m", 1)
    assert problem.what == "found -1e+22, below the minimum -1e+06 in opening_balance_100m"
