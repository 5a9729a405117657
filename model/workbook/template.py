"""The empty, self-explaining input workbook written by ``caf template``.

A planner should be able to fill it in without the README: bilingual headers with units,
an instructions sheet generated from the data dictionary, drop-down lists for region and
objective, and number ranges that Excel enforces while typing.
"""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from model.schema import (
    ACCEPT_UNUSUAL,
    GROWTH_SHEET,
    INSTRUCTIONS_SHEET,
    PARAMETER_FIELDS,
    PARAMETERS_SHEET,
    PROJECTION_SHEET,
    PROVINCE_FIELDS,
    PROVINCES_SHEET,
    RATIO_PATH_SHEET,
    SCENARIO_NAME_HEADER,
    SCENARIOS_SHEET,
    Field,
)
from model.workbook.plan_fields import SHEET_FIELDS
from model.xlsx import save_workbook

TEMPLATE_ROWS = 1000
HEADER_FILL = PatternFill("solid", fgColor="1F4E78")
REQUIRED_FILL = PatternFill("solid", fgColor="C00000")
HEADER_FONT = Font(bold=True, color="FFFFFF")


def write_template(path: str | Path, force: bool = False) -> Path:
    """Write the input template to ``path`` atomically."""
    workbook = Workbook()
    instructions = workbook.active
    assert instructions is not None
    instructions.title = INSTRUCTIONS_SHEET
    _instructions(instructions)
    _provinces(workbook.create_sheet(PROVINCES_SHEET))
    _parameters(workbook.create_sheet(PARAMETERS_SHEET))
    _scenarios(workbook.create_sheet(SCENARIOS_SHEET))
    for name, rows in ((GROWTH_SHEET, TEMPLATE_ROWS), (PROJECTION_SHEET, TEMPLATE_ROWS)):
        _plan_sheet(workbook.create_sheet(name), SHEET_FIELDS[name], rows)
    _plan_sheet(workbook.create_sheet(RATIO_PATH_SHEET), SHEET_FIELDS[RATIO_PATH_SHEET], 200)
    return save_workbook(workbook, path, force)


def _header(sheet: Worksheet, labels: list[tuple[str, bool]]) -> None:
    for column, (label, required) in enumerate(labels, start=1):
        cell = sheet.cell(row=1, column=column, value=label)
        cell.font = HEADER_FONT
        cell.fill = REQUIRED_FILL if required else HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="center")
        sheet.column_dimensions[get_column_letter(column)].width = max(14, len(label) + 4)
    sheet.row_dimensions[1].height = 36
    sheet.freeze_panes = "A2"


def _number_text(value: float) -> str:
    """A bound as Excel reads it in a rule: ``1000000`` rather than ``1e+06``."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _validation(field: Field) -> DataValidation | None:
    """The Excel rule that matches the field's bounds, with a bilingual message."""
    prompt = f"{field.label}: {field.expected}"
    if field.kind == "choice":
        rule = DataValidation(
            type="list",
            formula1='"' + ",".join(field.choices) + '"',
            allow_blank=not field.required,
        )
    elif field.kind in ("number", "integer"):
        kind = "whole" if field.kind == "integer" else "decimal"
        if field.positive and field.minimum == 0 and not field.fraction:
            # Excel cannot say "above 0 and at most the ceiling" in one rule; refusing 0
            # matters while typing, and the reader refuses a value above the ceiling.
            rule = DataValidation(
                type=kind,
                operator="greaterThan",
                formula1="0",
                allow_blank=not field.required,
            )
        elif field.minimum is not None and field.maximum is not None:
            rule = DataValidation(
                type=kind,
                operator="between",
                formula1=_number_text(field.minimum),
                formula2=_number_text(field.maximum),
                allow_blank=not field.required,
            )
        elif field.minimum is not None:
            rule = DataValidation(
                type=kind,
                operator="greaterThanOrEqual",
                formula1=_number_text(field.minimum),
                allow_blank=not field.required,
            )
        else:
            return None
    else:
        return None
    rule.error = f"Expected {field.expected}"
    rule.errorTitle = "caf"
    rule.prompt = prompt[:255]
    rule.showErrorMessage = True
    rule.showInputMessage = True
    return rule


def _provinces(sheet: Worksheet) -> None:
    _header(sheet, [(f.label, f.required) for f in PROVINCE_FIELDS])
    for column, field in enumerate(PROVINCE_FIELDS, start=1):
        letter = get_column_letter(column)
        if field.kind == "text":
            for row in range(2, TEMPLATE_ROWS + 2):
                sheet.cell(row=row, column=column).number_format = "@"
        rule = _validation(field)
        if rule is not None:
            sheet.add_data_validation(rule)
            rule.add(f"{letter}2:{letter}{TEMPLATE_ROWS + 1}")


def _parameters(sheet: Worksheet) -> None:
    _header(sheet, [("key", True), ("value", True), ("备注 Note", False)])
    sheet.column_dimensions["A"].width = 32
    sheet.column_dimensions["C"].width = 90
    for row, field in enumerate((*PARAMETER_FIELDS, ACCEPT_UNUSUAL), start=2):
        sheet.cell(row=row, column=1, value=field.key)
        if field.default is not None:
            sheet.cell(row=row, column=2, value=field.default)
        sheet.cell(row=row, column=3, value=f"{field.label}: {field.help} ({field.expected})")
        rule = _validation(field)
        if rule is not None:
            sheet.add_data_validation(rule)
            rule.add(f"B{row}")


def _scenarios(sheet: Worksheet) -> None:
    fields = (SCENARIO_NAME_HEADER, *PARAMETER_FIELDS[1:])
    _header(sheet, [(f.key, f.key == "scenario") for f in fields])
    for column, field in enumerate(fields, start=1):
        rule = _validation(field)
        if rule is not None:
            rule.allow_blank = True
            letter = get_column_letter(column)
            sheet.add_data_validation(rule)
            rule.add(f"{letter}2:{letter}200")


def _plan_sheet(sheet: Worksheet, fields: tuple[Field, ...], rows: int) -> None:
    """A plan sheet: bilingual headers, no rows (as for scenarios: an example row would be
    read as data), codes as text and Excel's rules for the numbers."""
    _header(sheet, [(f.label, f.required) for f in fields])
    for column, field in enumerate(fields, start=1):
        letter = get_column_letter(column)
        if field.kind == "text":
            for row in range(2, rows + 2):
                sheet.cell(row=row, column=column).number_format = "@"
        rule = _validation(field)
        if rule is not None:
            rule.allow_blank = True
            sheet.add_data_validation(rule)
            rule.add(f"{letter}2:{letter}{rows + 1}")


def _instructions(sheet: Worksheet) -> None:
    lines = [
        ("中央调剂基金优化 caf — 输入模板 Input template", ""),
        ("", ""),
        ("1. provinces: 每个统筹单位一行 One row per pooling unit (31 provinces + XPCC).", ""),
        ("   红色表头为必填 Red headers are required; blank optional cells take the default.", ""),
        ("2. parameters: key / value rows; year and contribution_ratio are required.", ""),
        (
            "3. scenarios (optional): one row per scenario; a blank cell inherits the "
            "parameters sheet.",
            "",
        ),
        (
            "4. growth (optional, multi-year plan 多年规划): one row per unit with its own annual "
            "growth rates; a blank cell takes the national default of the parameters sheet "
            "(wage_growth, insured_growth, retiree_growth, benefit_growth).",
            "",
        ),
        (
            "   增长率为小数 Growth rates are fractions: 0.05 for 5%, -0.005 for -0.5%.",
            "",
        ),
        (
            "5. projection (optional): code, year, then any figures of the provinces sheet "
            "(not the opening balance) for a year after the base year; a figure given "
            "replaces the growth model for that unit and year, and later years grow from it. "
            "给出的预测数替代该单位该年的增长模型推算值。",
            "",
        ),
        (
            "6. ratio_path (optional): year, contribution_ratio; the ratio from that year on "
            "(a year left out keeps the year before's ratio; it never falls). With "
            "optimize_ratio_path = yes caf chooses the path within ratio_max and "
            "ratio_step_max instead.",
            "",
        ),
        (
            "   Sheets 4–6 are read only when plan_end_year is set: `caf plan` plans every year "
            "from the base year to it; `caf run` solves the base year only. "
            "仅在填写规划末年 plan_end_year 后使用。",
            "",
        ),
        (
            "Units 单位: money 亿元 (100 million yuan); people 万人; wages 元/年; ratios as "
            "fractions (0.04, not 4).",
            "",
        ),
        (
            "Figures 100 times outside anything published (a slip between 元, 万元 and 亿元, "
            "or 人 and 万人) are refused; set accept_unusual_figures to yes if they are right. "
            "超出常理百倍的数据（元、万元、亿元或人、万人混用）将被拒绝；如确属无误，请将 "
            "accept_unusual_figures 设为 yes。",
            "",
        ),
        (
            "Check the file with `caf check FILE.xlsx`; run it with `caf run FILE.xlsx -o "
            "OUT.xlsx`.",
            "",
        ),
        ("", ""),
        ("Column 列", "Meaning 含义"),
    ]
    lines += [
        (
            f"{f.label}  [{f.key}]{'' if f.required else '  (optional)'}",
            f"{f.help} Expected: {f.expected}.",
        )
        for f in PROVINCE_FIELDS
    ]
    lines += [("", ""), ("Parameter 参数", "Meaning 含义")]
    lines += [
        (
            f"{f.label}  [{f.key}]{'' if f.required else '  (optional)'}",
            f"{f.help} Expected: {f.expected}."
            + (f" Default: {f.default}." if f.default not in (None, "") else ""),
        )
        for f in (*PARAMETER_FIELDS, ACCEPT_UNUSUAL)
    ]
    for row, (left, right) in enumerate(lines, start=1):
        sheet.cell(row=row, column=1, value=left)
        sheet.cell(row=row, column=2, value=right)
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.column_dimensions["A"].width = 70
    sheet.column_dimensions["B"].width = 100
