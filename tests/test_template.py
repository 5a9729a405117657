"""``caf template`` writes an empty, self-explaining input workbook (issue 2)."""

from __future__ import annotations

import shutil
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from openpyxl.worksheet.worksheet import Worksheet

from model.cli import main
from model.errors import InputError
from model.schema import (
    GROWTH_MAX,
    OBJECTIVES,
    PARAMETER_FIELDS,
    PROVINCE_FIELDS,
    REGIONS,
)
from model.workbook.plan_fields import PLAN_SHEETS, SHEET_FIELDS
from model.workbook.reader import read_workbook
from model.workbook.template import write_template
from tests.workbooks import WORKED_EXAMPLE, WORKED_PARAMETERS, write_workbook


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.xlsx"
    assert main(["template", str(path)]) == 0
    return path


@pytest.fixture(scope="module")
def book(template: Path) -> openpyxl.Workbook:
    return openpyxl.load_workbook(template)


def _validations(sheet: Worksheet) -> dict[str, object]:
    """sqref → DataValidation."""
    return {str(dv.sqref): dv for dv in sheet.data_validations.dataValidation}


def _column(key: str) -> str:
    return openpyxl.utils.get_column_letter([f.key for f in PROVINCE_FIELDS].index(key) + 1)


SHEETS = [
    "instructions",
    "provinces",
    "parameters",
    "scenarios",
    "growth",
    "projection",
    "ratio_path",
]


def test_template_has_the_input_sheets_then_the_plans(book: openpyxl.Workbook) -> None:
    assert book.sheetnames == SHEETS


def test_provinces_header_is_the_bilingual_labels(book: openpyxl.Workbook) -> None:
    header = [cell.value for cell in book["provinces"][1]]
    assert header == [f.label for f in PROVINCE_FIELDS]
    assert "离退休人数 Retirees (万人)" in header
    assert "平均工资 Average wage (元)" in header


def test_required_headers_are_marked_in_red(book: openpyxl.Workbook) -> None:
    for cell, field in zip(book["provinces"][1], PROVINCE_FIELDS, strict=True):
        red = cell.fill.fgColor.rgb.endswith("C00000")
        assert red == field.required, field.key


def test_text_columns_are_formatted_as_text(book: openpyxl.Workbook) -> None:
    sheet = book["provinces"]
    assert sheet[f"{_column('code')}2"].number_format == "@"
    assert sheet[f"{_column('avg_wage_yuan')}2"].number_format != "@"


def test_parameters_sheet_lists_every_key_with_its_default(book: openpyxl.Workbook) -> None:
    sheet = book["parameters"]
    assert [c.value for c in sheet[1]] == ["key", "value", "备注 Note"]
    rows = {row[0].value: row[1].value for row in sheet.iter_rows(min_row=2)}
    assert list(rows) == [f.key for f in PARAMETER_FIELDS] + ["accept_unusual_figures"]
    assert rows["year"] is None
    assert rows["contribution_ratio"] is None
    assert rows["wage_base_share"] == 0.9
    assert rows["objective"] == "maximin"
    assert rows["max_rule_deviation"] is None


def test_scenarios_header_has_every_overridable_key(book: openpyxl.Workbook) -> None:
    header = [c.value for c in book["scenarios"][1]]
    assert header == ["scenario", *(f.key for f in PARAMETER_FIELDS[1:])]


def test_region_drop_down_lists_the_four_regions(book: openpyxl.Workbook) -> None:
    letter = _column("region")
    rule = _validations(book["provinces"])[f"{letter}2:{letter}1001"]
    assert rule.type == "list"
    assert rule.formula1 == '"' + ",".join(REGIONS) + '"'
    assert REGIONS == ("East", "Central", "West", "Northeast")


def test_objective_drop_down_in_parameters_and_scenarios(book: openpyxl.Workbook) -> None:
    expected = '"' + ",".join(OBJECTIVES) + '"'
    parameters = _validations(book["parameters"])["B6"]  # objective is the 5th key
    assert book["parameters"]["A6"].value == "objective"
    assert (parameters.type, parameters.formula1) == ("list", expected)
    lists = {
        str(dv.sqref): dv.formula1
        for dv in book["scenarios"].data_validations.dataValidation
        if dv.type == "list"
    }
    header = [c.value for c in book["scenarios"][1]]
    letter = openpyxl.utils.get_column_letter(header.index("objective") + 1)
    assert lists[f"{letter}2:{letter}200"] == expected


def test_the_two_choice_parameters_are_the_scenarios_only_drop_downs(
    book: openpyxl.Workbook,
) -> None:
    """objective and optimize_ratio_path (yes/no) are the choices a scenario may set."""
    header = [c.value for c in book["scenarios"][1]]
    lists = {
        header[openpyxl.utils.cell.range_boundaries(str(dv.sqref))[0] - 1]: dv.formula1
        for dv in book["scenarios"].data_validations.dataValidation
        if dv.type == "list"
    }
    assert lists == {
        "objective": '"' + ",".join(OBJECTIVES) + '"',
        "optimize_ratio_path": '"no,yes"',
    }


def test_decimal_ranges_match_the_data_dictionary(book: openpyxl.Workbook) -> None:
    letter = _column("min_local_share")
    share = _validations(book["provinces"])[f"{letter}2:{letter}1001"]
    assert (share.type, share.operator, share.formula1, share.formula2) == (
        "decimal",
        "between",
        "0",
        "1",
    )
    ratio = _validations(book["parameters"])["B3"]
    assert (ratio.type, ratio.operator, ratio.formula1, ratio.formula2) == (
        "decimal",
        "between",
        "0",
        "0.2",
    )
    year = _validations(book["parameters"])["B2"]
    assert (year.type, year.formula1, year.formula2) == ("whole", "1990", "2100")
    letter = _column("contribution_income_100m")
    income = _validations(book["provinces"])[f"{letter}2:{letter}1001"]
    assert (income.type, income.operator, income.formula1, income.formula2) == (
        "decimal",
        "between",
        "0",
        "1000000",
    )
    letter = _column("opening_balance_100m")  # may be negative, within the ceiling
    opening = _validations(book["provinces"])[f"{letter}2:{letter}1001"]
    assert (opening.operator, opening.formula1, opening.formula2) == (
        "between",
        "-1000000",
        "1000000",
    )


@pytest.mark.parametrize(
    "key", ["avg_wage_yuan", "insured_employees_10k", "retirees_10k", "expenditure_100m"]
)
def test_excel_refuses_zero_where_the_reader_does(book: openpyxl.Workbook, key: str) -> None:
    """The reader refuses 0 for these ("found 0, which makes no sense here"); the
    template's rule should not let Excel accept it while typing."""
    letter = _column(key)
    rule = _validations(book["provinces"])[f"{letter}2:{letter}1001"]
    assert (rule.operator, rule.formula1) == ("greaterThan", "0")


def test_scenario_cells_may_be_left_blank(book: openpyxl.Workbook) -> None:
    """A blank scenario cell inherits the parameters sheet, so no rule may refuse blanks."""
    for rule in book["scenarios"].data_validations.dataValidation:
        assert rule.allow_blank, str(rule.sqref)


def test_instructions_mention_every_key(book: openpyxl.Workbook) -> None:
    text = "\n".join(
        str(cell.value) for row in book["instructions"].iter_rows() for cell in row if cell.value
    )
    for field in (*PROVINCE_FIELDS, *PARAMETER_FIELDS):
        assert f"[{field.key}]" in text, field.key
        assert field.label in text
    for sheet in ("provinces", "parameters", "scenarios", *PLAN_SHEETS):
        assert sheet in text
    assert "caf check" in text


def test_instructions_say_how_the_plan_sheets_are_read(book: openpyxl.Workbook) -> None:
    text = "\n".join(
        str(cell.value) for row in book["instructions"].iter_rows() for cell in row if cell.value
    )
    assert "Growth rates are fractions: 0.05 for 5%" in text
    assert "replaces the growth model for that unit and year" in text
    assert "keeps the year before's ratio" in text
    assert "read only when plan_end_year is set" in text


@pytest.mark.parametrize("name", PLAN_SHEETS)
def test_plan_sheets_have_bilingual_headers_and_no_rows(book: openpyxl.Workbook, name: str) -> None:
    """No illustrative row, as for scenarios: a row left in would be read as data."""
    sheet = book[name]
    assert [c.value for c in sheet[1]] == [f.label for f in SHEET_FIELDS[name]]
    assert all(v is None for row in sheet.iter_rows(min_row=2, values_only=True) for v in row)


def test_plan_sheets_enforce_the_bounds_while_typing(book: openpyxl.Workbook) -> None:
    growth = _validations(book["growth"])["B2:B1001"]
    assert (growth.operator, growth.formula1, growth.formula2) == (
        "between",
        f"{-GROWTH_MAX:g}",
        f"{GROWTH_MAX:g}",
    )
    assert book["growth"]["A2"].number_format == "@"  # codes keep their leading zeros
    year = _validations(book["ratio_path"])["A2:A201"]
    assert (year.type, year.formula1, year.formula2) == ("whole", "1990", "2100")
    ratio = _validations(book["ratio_path"])["B2:B201"]
    assert (ratio.formula1, ratio.formula2) == ("0", "0.2")
    header = [c.value for c in book["projection"][1]]
    assert "年初累计结余 Opening balance (亿元)" not in header  # only the base year has one


def test_filled_template_passes_read_workbook(template: Path, tmp_path: Path) -> None:
    path = tmp_path / "filled.xlsx"
    shutil.copy(template, path)
    workbook = openpyxl.load_workbook(path)
    provinces = workbook["provinces"]
    column_of = {
        f.key: index
        for index, cell in enumerate(provinces[1], start=1)
        for f in PROVINCE_FIELDS
        if f.label == cell.value
    }
    for row, unit in enumerate(WORKED_EXAMPLE, start=2):
        for key, value in unit.items():
            provinces.cell(row=row, column=column_of[key], value=value)
    parameters = workbook["parameters"]
    for row in parameters.iter_rows(min_row=2):
        if row[0].value in WORKED_PARAMETERS:
            row[1].value = WORKED_PARAMETERS[row[0].value]
    workbook.save(path)

    filled = read_workbook(path)
    plain = read_workbook(
        write_workbook(tmp_path / "plain.xlsx", WORKED_EXAMPLE, WORKED_PARAMETERS)
    )
    pd.testing.assert_frame_equal(filled.units, plain.units)
    assert filled.parameters == plain.parameters
    assert [s.name for s in filled.scenarios] == ["base"]


def test_untouched_template_fails_check_with_exactly_the_expected_problems(
    template: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", str(template)]) == 2
    err = capsys.readouterr().err
    assert [line.split(" / ", 1)[1] for line in err.splitlines()] == [
        "found no pooling units — enter one row per province (31 provinces plus the XPCC)",
        "found a blank cell for year — expected a whole year such as 2020; fill it in",
        "found a blank cell for contribution_ratio — "
        "expected a fraction such as 0.04 (for 4%), at most 0.2; fill it in",
    ]
    assert [line.split(": ", 1)[0] for line in err.splitlines()] == [
        "provinces!A2",
        "parameters!B2",
        "parameters!B3",
    ]


def test_write_template_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    path = tmp_path / "t.xlsx"
    write_template(path)
    with pytest.raises(InputError) as caught:
        write_template(path)
    assert "--force" in caught.value.problems[0].fix
    assert write_template(path, force=True) == path


def test_the_shipped_template_matches_the_schema() -> None:
    """inputs/template.xlsx is regenerated by `make template`; it must not drift."""
    shipped = Path(__file__).resolve().parent.parent / "inputs" / "template.xlsx"
    book = openpyxl.load_workbook(shipped)
    assert book.sheetnames == SHEETS
    header = [c.value for c in book["provinces"][1]]
    assert header == [f.label for f in PROVINCE_FIELDS]
    keys = [row[0] for row in book["parameters"].iter_rows(min_row=2, values_only=True)]
    assert keys == [f.key for f in PARAMETER_FIELDS] + ["accept_unusual_figures"]
    for name in PLAN_SHEETS:
        assert [c.value for c in book[name][1]] == [f.label for f in SHEET_FIELDS[name]]
