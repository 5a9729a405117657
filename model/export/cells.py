"""Safe cells and table styling shared by the report workbooks.

Every string goes through ``text_cell``: control characters are stripped and the cell is
forced to the string type, because openpyxl otherwise stores any text starting with ``=``
as a formula. Numbers get their format here; NaN and infinity leave the cell blank.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from model.xlsx import safe_text

MONEY = "#,##0.00"
MONTHS = "0.0"
RATIO = "0.0000"
PEOPLE = "#,##0.00"
COUNT = "0"
YUAN = "#,##0"
SECONDS = "0.000"
EXCEL_TEXT_LIMIT = 32767

HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="1F4E78")
SECTION_FONT = Font(bold=True, color="1F4E78", size=12)
TITLE_FONT = Font(bold=True, size=14)
TOTAL_FONT = Font(bold=True)
WRAP = Alignment(wrap_text=True, vertical="top")


@dataclass(frozen=True)
class Column:
    """One column of a table sheet: its key, bilingual header, unit, format and width."""

    key: str
    zh: str
    en: str
    unit: str = ""
    number_format: str | None = None
    width: float = 14.0

    @property
    def header(self) -> str:
        """``上解额⏎Contribution⏎(亿元)``: one line each, so a unit is never split."""
        return f"{self.zh}\n{self.en}" + (f"\n({self.unit})" if self.unit else "")


def text_cell(cell: Cell, value: object) -> Cell:
    """Store ``value`` as a plain string: control characters stripped, never a formula."""
    cell.value = safe_text(value)[:EXCEL_TEXT_LIMIT]
    cell.data_type = "s"
    return cell


def put(sheet: Worksheet, row: int, column: int, value: object, fmt: str | None = None) -> Cell:
    """Write a number with its format, or text; NaN and None leave the cell blank."""
    cell = sheet.cell(row=row, column=column)
    if value is None or isinstance(value, str):
        return text_cell(cell, value) if value is not None else cell
    if isinstance(value, bool):
        return text_cell(cell, "是 yes" if value else "否 no")
    number = float(value)  # type: ignore[arg-type]
    if not math.isfinite(number):
        return cell
    cell.value = int(number) if fmt in (COUNT, YUAN) and number.is_integer() else number
    if fmt:
        cell.number_format = fmt
    return cell


def put_row(
    sheet: Worksheet, row: int, values: Sequence[object], fmts: Sequence[str | None]
) -> None:
    for column, (value, fmt) in enumerate(zip(values, fmts, strict=True), start=1):
        put(sheet, row, column, value, fmt)


def header_row(sheet: Worksheet, row: int, labels: Sequence[str], widths: Sequence[float]) -> None:
    """A bold bilingual header row with the column widths, tall enough for every label."""
    lines = 1
    for column, (label, width) in enumerate(zip(labels, widths, strict=True), start=1):
        cell = text_cell(sheet.cell(row=row, column=column), label)
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="center")
        sheet.column_dimensions[get_column_letter(column)].width = width
        lines = max(lines, wrapped_lines(label, width * 0.8))
    sheet.row_dimensions[row].height = 15 * lines + 6


def section_row(sheet: Worksheet, row: int, labels: Sequence[str]) -> None:
    """A section heading inside the summary: the first label large, the rest as headers."""
    for column, label in enumerate(labels, start=1):
        cell = text_cell(sheet.cell(row=row, column=column), label)
        cell.font = SECTION_FONT
        cell.alignment = Alignment(wrap_text=True, vertical="bottom")
    sheet.row_dimensions[row].height = 33


def wrapped(sheet: Worksheet, row: int, column: int, text: str, width: float) -> None:
    """Wrapped text with a row height that shows all of it (Excel never auto-fits merges)."""
    text_cell(sheet.cell(row=row, column=column), text).alignment = WRAP
    current = sheet.row_dimensions[row].height or 15
    sheet.row_dimensions[row].height = max(current, 15 * wrapped_lines(text, width) + 3)


def wrapped_lines(text: str, width: float) -> int:
    """Lines ``text`` wraps to in a column ``width`` wide: a CJK character is about two
    column units and a Latin one about 0.85 (measured on LibreOffice's rendering)."""
    lines = 0
    for part in text.split("\n"):
        used, lines = 0.0, lines + 1
        for word in part.split(" "):
            size = sum(2.0 if ord(ch) > 0x2E7F else 0.85 for ch in word)
            if used and used + 0.85 + size > width:
                used, lines = 0.0, lines + 1
            used += size + (0.85 if used else 0.0)
            while used > width:
                used, lines = used - width, lines + 1
    return max(1, lines)


def table_header(
    sheet: Worksheet, labels: Sequence[str], widths: Sequence[float], frozen: str = "A2"
) -> None:
    """The header row of a table sheet, frozen and repeated on every printed page."""
    header_row(sheet, 1, labels, widths)
    sheet.freeze_panes = frozen
    sheet.print_title_rows = "1:1"


def column_labels(columns: Sequence[Column]) -> tuple[list[str], list[float]]:
    return [c.header for c in columns], [c.width for c in columns]


def autofilter(sheet: Worksheet, columns: int, last_row: int) -> None:
    sheet.auto_filter.ref = f"A1:{get_column_letter(columns)}{max(last_row, 1)}"


def print_setup(sheet: Worksheet) -> None:
    """Landscape A4, one page wide, as many pages tall as needed."""
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_options.horizontalCentered = True
    sheet.page_margins.left = sheet.page_margins.right = 0.4
    sheet.page_margins.top = sheet.page_margins.bottom = 0.5
    if not sheet.print_title_rows:
        sheet.print_title_rows = "1:1"
