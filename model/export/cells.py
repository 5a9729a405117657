"""Safe cells and table styling shared by the report workbooks.

Every string is stored as a plain string: control characters are stripped and the cell is
forced to the string type, because openpyxl otherwise stores any text starting with ``=``
as a formula. Numbers get their format here; NaN and infinity leave the cell blank.

Two ways to lay a sheet out share these rules. ``text_cell`` and ``put`` fill the cells of
an ordinary openpyxl sheet (the comparison workbook). ``Grid`` lays out a sheet of a
write-only workbook (the allocation workbook, thousands of rows at county scale): cells may
be placed in any order, each is turned into its XML once, and ``model.xlsx`` streams the
rows into the saved file. The rows never pass through openpyxl's per-cell serialiser,
which costs some twenty microseconds a cell (forty with styles); ``Grid`` takes two or so.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.pagebreak import Break
from openpyxl.worksheet.worksheet import Worksheet

from model.xlsx import safe_text

MONEY = "#,##0.00"
MONTHS = "0.0"
RATIO = "0.0000"
PERCENT = "0.00%"
PEOPLE = "#,##0.00"
COUNT = "0"
YUAN = "#,##0"
SECONDS = "0.000"
WHOLE_FORMATS = (COUNT, YUAN)
"""Formats whose whole numbers are stored as integers."""
EXCEL_TEXT_LIMIT = 32767
PAPER_A4 = "9"

HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="1F4E78")
HEADER_ALIGNMENT = Alignment(wrap_text=True, vertical="center")
SECTION_FONT = Font(bold=True, color="1F4E78", size=12)
SECTION_ALIGNMENT = Alignment(wrap_text=True, vertical="bottom")
TITLE_FONT = Font(bold=True, size=14)
TOTAL_FONT = Font(bold=True)
WRAP = Alignment(wrap_text=True, vertical="top")
DEFAULT_ROW_HEIGHT = 15.0


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


def plain_text(value: object) -> str:
    """User text as a cell may hold it: control characters stripped, within Excel's limit."""
    return safe_text(value)[:EXCEL_TEXT_LIMIT]


def cell_value(value: object, fmt: str | None) -> str | int | float | None:
    """What a cell holds for ``value``: text (a bool as 是 yes / 否 no), a number (a whole
    count or yuan as an int), or None for None, NaN and infinity."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "是 yes" if value else "否 no"
    number = float(value)  # type: ignore[arg-type]
    if not math.isfinite(number):
        return None
    return int(number) if fmt in WHOLE_FORMATS and number.is_integer() else number


def text_cell(cell: Cell, value: object) -> Cell:
    """Store ``value`` as a plain string: control characters stripped, never a formula."""
    cell.value = plain_text(value)
    cell.data_type = "s"
    return cell


def put(sheet: Worksheet, row: int, column: int, value: object, fmt: str | None = None) -> Cell:
    """Write a number with its format, or text; NaN and None leave the cell blank."""
    cell = sheet.cell(row=row, column=column)
    held = cell_value(value, fmt)
    if isinstance(held, str):
        return text_cell(cell, held)
    if held is not None:
        cell.value = held
        if fmt:
            cell.number_format = fmt
    return cell


# --- streamed sheets -----------------------------------------------------------------------

_ESCAPE = re.compile(r"[&<>]")
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_WIDE = re.compile(r"[^\x00-\u2e7f]+")
"""CJK and other characters about two column units wide; the rest are about 0.85."""


def _escape(text: str) -> str:
    return _ESCAPE.sub(lambda m: _ENTITIES[m.group()], text)


def _text_xml(ref: str, value: object, style: int) -> str | None:
    """An inline string cell; None for an empty, unstyled one."""
    text = plain_text(value)
    if not text:
        return _blank_xml(ref, style)
    s = f' s="{style}"' if style else ""
    space = ' xml:space="preserve"' if text != text.strip() else ""
    return f'<c r="{ref}"{s} t="inlineStr"><is><t{space}>{_escape(text)}</t></is></c>'


def _blank_xml(ref: str, style: int) -> str | None:
    """An empty cell is kept only when styled: a fill or font shows on an empty cell."""
    return f'<c r="{ref}" s="{style}"/>' if style else None


def _cell_xml(ref: str, value: object, fmt: str | None, numeric: str, other: int) -> str | None:
    """``value`` as ``cell_value`` holds it: a number with the style attribute ``numeric``
    (its format), text or a blank in style ``other``. Numbers keep 16 significant digits,
    as openpyxl writes them."""
    held = cell_value(value, fmt)
    if held is None:
        return _blank_xml(ref, other)
    if isinstance(held, str):
        return _text_xml(ref, held, other)
    return f'<c r="{ref}"{numeric}><v>{held:.16g}</v></c>'


class Styles:
    """The cell styles of one workbook, each registered once and then used by its index.

    openpyxl writes every registered combination of number format, font, fill and
    alignment to the workbook's style sheet; a ``Grid`` cell carries only the index.
    """

    def __init__(self, sheet: Any) -> None:
        self._sheet = sheet
        self._ids: dict[tuple[object, ...], int] = {}
        self._kept: list[object] = []

    def __call__(
        self,
        fmt: str | None = None,
        font: Font | None = None,
        fill: PatternFill | None = None,
        alignment: Alignment | None = None,
    ) -> int:
        # Keyed by identity (the objects are kept alive here), so the same style objects
        # cost a dictionary look-up rather than a hash of every attribute.
        key = (fmt, id(font), id(fill), id(alignment))
        found = self._ids.get(key)
        if found is None:
            cell = WriteOnlyCell(self._sheet)
            if fmt:
                cell.number_format = fmt
            if font is not None:
                cell.font = font
            if fill is not None:
                cell.fill = fill
            if alignment is not None:
                cell.alignment = alignment
            found = cell.style_id if cell.has_style else 0
            self._ids[key] = found
            self._kept.append((font, fill, alignment))
        return found


class Grid:
    """One sheet of a write-only workbook laid out in memory, in any order.

    Cells are kept as XML; ``xml`` returns the ``sheetData`` rows for ``model.xlsx`` to
    stream into the saved file. Sheet-wide settings (widths, frozen panes, merges, filters,
    print setup, charts) go on ``sheet``, the openpyxl write-only worksheet.
    """

    def __init__(self, sheet: Any, styles: Styles) -> None:
        self.sheet = sheet
        self.styles = styles
        self._rows: dict[int, dict[int, str]] = {}
        self._heights: dict[int, float] = {}
        self._letters: list[str] = [""]
        self._row_columns: dict[tuple[object, ...], list[Any]] = {}

    def _ref(self, row: int, column: int) -> str:
        return f"{self._letter(column)}{row}"

    def _letter(self, column: int) -> str:
        while len(self._letters) <= column:
            self._letters.append(get_column_letter(len(self._letters)))
        return self._letters[column]

    def _place(self, row: int, column: int, xml: str | None) -> None:
        cells = self._rows.get(row)
        if cells is None:
            cells = self._rows[row] = {}
        if xml is None:
            cells.pop(column, None)
        else:
            cells[column] = xml

    def text(
        self,
        row: int,
        column: int,
        value: object,
        *,
        font: Font | None = None,
        fill: PatternFill | None = None,
        alignment: Alignment | None = None,
    ) -> None:
        """Plain text, never a formula: control characters stripped, XML escaped."""
        style = self.styles(None, font, fill, alignment)
        self._place(row, column, _text_xml(self._ref(row, column), value, style))

    def put(
        self,
        row: int,
        column: int,
        value: object,
        fmt: str | None = None,
        *,
        font: Font | None = None,
        fill: PatternFill | None = None,
        alignment: Alignment | None = None,
    ) -> None:
        """A number with its format, or text; NaN and None leave the cell blank. Text and
        blanks take the font, fill and alignment but not the number format."""
        numeric = self.styles(fmt, font, fill, alignment)
        attribute = f' s="{numeric}"' if numeric else ""
        other = self.styles(None, font, fill, alignment)
        self._place(row, column, _cell_xml(self._ref(row, column), value, fmt, attribute, other))

    def put_row(
        self,
        row: int,
        values: Sequence[object],
        fmts: Sequence[str | None],
        *,
        font: Font | None = None,
        fill: PatternFill | None = None,
    ) -> None:
        """``put`` for each value from column A, with one format per column.

        The tables' rows come through here thousands of times, so a finite float (most of
        their cells) is written directly; anything else goes through ``_cell_xml``.
        """
        cells: dict[int, str] = {}
        columns = self._columns(tuple(fmts), font, fill)
        for (column, letter, fmt, numeric, other, direct), value in zip(
            columns, values, strict=True
        ):
            if direct and value.__class__ is float and value - value == 0.0:
                cells[column] = f'<c r="{letter}{row}"{numeric}><v>{value:.16g}</v></c>'
            else:
                xml = _cell_xml(f"{letter}{row}", value, fmt, numeric, other)
                if xml is not None:
                    cells[column] = xml
        existing = self._rows.get(row)
        if existing is None:
            self._rows[row] = cells
        else:
            for column in range(1, len(fmts) + 1):
                existing.pop(column, None)
            existing.update(cells)

    def _columns(
        self, fmts: tuple[str | None, ...], font: Font | None, fill: PatternFill | None
    ) -> list[tuple[int, str, str | None, str, int, bool]]:
        """Per column of a row: its number, letter, format, number style attribute, text
        style, and whether a float may be written directly (not a whole count or yuan)."""
        key = (fmts, id(font), id(fill))
        found = self._row_columns.get(key)
        if found is None:
            other = self.styles(None, font, fill)
            found = []
            for column, fmt in enumerate(fmts, start=1):
                numeric = self.styles(fmt, font, fill)
                attribute = f' s="{numeric}"' if numeric else ""
                direct = fmt not in WHOLE_FORMATS
                found.append((column, self._letter(column), fmt, attribute, other, direct))
            self._row_columns[key] = found
        return found

    def height(self, row: int, points: float) -> None:
        self._heights[row] = points

    def width(self, column: int, width: float) -> None:
        self.sheet.column_dimensions[get_column_letter(column)].width = width

    def merge(self, row: int, first: int, last: int) -> None:
        """Merge columns ``first`` to ``last`` of ``row``; the first cell holds the value."""
        self.sheet.merged_cells.add(f"{self._ref(row, first)}:{self._ref(row, last)}")

    def freeze(self, cell: str) -> None:
        """Freeze the rows above and the columns left of ``cell``."""
        self.sheet.freeze_panes = cell

    def page_break(self, row: int) -> None:
        """Start a new printed page below ``row``."""
        self.sheet.row_breaks.append(Break(id=row))

    def wrapped(
        self,
        row: int,
        column: int,
        text: str,
        width: float,
        *,
        font: Font | None = None,
        fill: PatternFill | None = None,
    ) -> None:
        """Wrapped text with a row height that shows all of it (Excel never auto-fits merges)."""
        self.text(row, column, text, font=font, fill=fill, alignment=WRAP)
        current = self._heights.get(row, DEFAULT_ROW_HEIGHT)
        self._heights[row] = max(current, 15 * wrapped_lines(text, width) + 3)

    def header_row(self, row: int, labels: Sequence[str], widths: Sequence[float]) -> None:
        """A bold bilingual header row with the column widths, tall enough for every label."""
        style = self.styles(None, HEADER_FONT, HEADER_FILL, HEADER_ALIGNMENT)
        lines = 1
        for column, (label, width) in enumerate(zip(labels, widths, strict=True), start=1):
            self._place(row, column, _text_xml(self._ref(row, column), label, style))
            self.width(column, width)
            lines = max(lines, wrapped_lines(label, width * 0.8))
        self.height(row, 15 * lines + 6)

    def section_row(self, row: int, labels: Sequence[str]) -> None:
        """A section heading inside the summary: the first label large, the rest as headers."""
        style = self.styles(None, SECTION_FONT, None, SECTION_ALIGNMENT)
        for column, label in enumerate(labels, start=1):
            self._place(row, column, _text_xml(self._ref(row, column), label, style))
        self.height(row, 33)

    def table_header(
        self, labels: Sequence[str], widths: Sequence[float], frozen: str = "A2"
    ) -> None:
        """The header row of a table sheet, frozen and repeated on every printed page."""
        self.header_row(1, labels, widths)
        self.sheet.freeze_panes = frozen
        self.sheet.print_title_rows = "1:1"

    def autofilter(self, columns: int, last_row: int) -> None:
        self.sheet.auto_filter.ref = f"A1:{get_column_letter(columns)}{max(last_row, 1)}"

    def xml(self) -> str:
        """The ``sheetData`` rows, in order, each cell in column order."""
        parts: list[str] = []
        heights = self._heights
        for row in sorted(self._rows.keys() | heights.keys()):
            height = heights.get(row)
            size = f' ht="{height:g}" customHeight="1"' if height is not None else ""
            cells = self._rows.get(row, {})
            parts.append(f'<row r="{row}"{size}>')
            parts.extend(cells[column] for column in sorted(cells))
            parts.append("</row>")
        return "".join(parts)


def wrapped_lines(text: str, width: float) -> int:
    """Lines ``text`` wraps to in a column ``width`` wide: a CJK character is about two
    column units and a Latin one about 0.85 (measured on LibreOffice's rendering)."""
    lines = 0
    for part in text.split("\n"):
        lines += 1
        if _size(part) <= width:
            continue  # the common case: the whole line fits (a space is 0.85 too)
        used = 0.0
        for size in [0.85 * len(w) if w.isascii() else _size(w) for w in part.split(" ")]:
            if used and used + 0.85 + size > width:
                used, lines = 0.0, lines + 1
            used += size + (0.85 if used else 0.0)
            while used > width:
                used, lines = used - width, lines + 1
    return max(1, lines)


def _size(text: str) -> float:
    """Column units ``text`` takes: 2 for a wide (CJK) character, 0.85 for any other."""
    if text.isascii():
        return 0.85 * len(text)
    narrow = len(_WIDE.sub("", text))
    return 2.0 * (len(text) - narrow) + 0.85 * narrow


def column_labels(columns: Sequence[Column]) -> tuple[list[str], list[float]]:
    return [c.header for c in columns], [c.width for c in columns]


def print_setup(sheet: Any) -> None:
    """Landscape A4, one page wide, as many pages tall as needed (any openpyxl sheet)."""
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = PAPER_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_options.horizontalCentered = True
    sheet.page_margins.left = sheet.page_margins.right = 0.4
    sheet.page_margins.top = sheet.page_margins.bottom = 0.5
    if not sheet.print_title_rows:
        sheet.print_title_rows = "1:1"
