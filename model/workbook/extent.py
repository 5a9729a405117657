"""A sheet's real extent, measured from its XML as a stream before openpyxl reads it.

The ``<dimension ref>`` a sheet declares may lie, and openpyxl pads every row and column up
to the last ``<row r>`` and ``<c r>`` it meets, so neither can bound the work. Here the
sheet's XML is parsed as a stream, keeping nothing but counters, and only cells that hold
something count: a styled blank far down a sheet, which Excel writes when a planner
formats whole rows, costs nothing and is never read. The scan stops at the first
cell past the limits, and a sheet whose XML is damaged is refused by name here, as bad
input, rather than failing later inside openpyxl.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from xml.parsers import expat

from model.errors import InputError, Problem
from model.workbook.limits import (
    ReadingLimits,
    beyond_cells,
    beyond_columns,
    beyond_rows,
    too_many_merges,
)

_CHUNK = 1024 * 1024
_VALUE_TAGS = frozenset({"v", "f", "is"})
_DIGITS = "0123456789"
_REF = re.compile(r"([A-Za-z]{1,7})(\d+)")


@dataclass(frozen=True)
class Extent:
    """The last row and the last column of a sheet that hold something (0 when none)."""

    rows: int = 0
    columns: int = 0


class Damaged(Exception):
    """What in the sheet's XML cannot be read, in the parser's words."""


def sheet_extent(
    archive: zipfile.ZipFile, part: str, sheet: str, source: str, limits: ReadingLimits
) -> Extent:
    """Measure the sheet stored at ``part``; refuse it past ``limits`` or when damaged.

    Args:
        archive: the workbook, already checked by ``archive.inspect_archive``.
        part: the sheet's XML part, such as ``xl/worksheets/sheet1.xml``.
        sheet: the tab's name, for the messages.
        source: the file's name as the planner knows it (never a path on the server).
        limits: the rows, columns and cells a sheet may reach.

    Raises:
        InputError: the sheet's XML is damaged, or a value lies past the limits (located
            at that cell).
    """
    try:
        with archive.open(part) as stream:
            return _scan(stream, sheet, limits)
    except KeyError:
        raise damaged(source, sheet, "its part is missing from the file") from None
    except (Damaged, expat.ExpatError) as exc:
        raise damaged(source, sheet, " ".join(str(exc).split()) or type(exc).__name__) from None


def _scan(stream: Any, sheet: str, limits: ReadingLimits) -> Extent:
    """Walk the rows as openpyxl does (a row or cell without ``r`` follows the last).

    A plain expat parser, three times as fast as an element tree here, refusing a
    document type declaration (which no workbook has) as defusedxml would: no entity is
    ever declared, so none can expand.
    """
    walk = _Walk(sheet, limits)
    stream_starts(stream, walk.start)
    return Extent(walk.last_row, walk.last_column)


def stream_starts(stream: Any, start: Callable[[str, dict[str, str]], None]) -> None:
    """Call ``start`` with each start tag of the XML in ``stream``, read a megabyte at a
    time, refusing a document type declaration.

    Raises:
        expat.ExpatError: the XML is not well formed (cut off, say).
        Damaged: it declares a document type, or ``start`` found it unreadable.
    """
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = _refuse_doctype
    parser.EntityDeclHandler = _refuse_doctype
    parser.ExternalEntityRefHandler = _refuse_doctype
    parser.StartElementHandler = start
    while chunk := stream.read(_CHUNK):
        parser.Parse(chunk, False)
    parser.Parse(b"", True)


def _refuse_doctype(*_: object) -> int:
    raise Damaged("it declares a document type, which a workbook never does")


class _Walk:
    """The position of each start tag; a cell counts once a ``<v>``, ``<f>`` or ``<is>``
    opens inside it, and any other tag closes that chance (an ``<xm:f>`` in the sheet's
    extensions belongs to no cell). Merged ranges are counted too: each is read and
    checked, and a sheet of ``max_cells`` cells holds at most half as many."""

    def __init__(self, sheet: str, limits: ReadingLimits) -> None:
        self.sheet, self.limits = sheet, limits
        self.row = self.column = self.last_row = self.last_column = self.merges = 0
        self.in_cell = False
        self.columns: dict[str, int] = {}

    def start(self, name: str, attributes: dict[str, str]) -> None:
        tag = name if ":" not in name else name.rpartition(":")[2]
        if tag == "c":
            reference = attributes.get("r")
            if reference is None:
                self.column += 1
            else:  # the column of a reference seen before, as most are
                letters = reference.rstrip(_DIGITS)
                known = self.columns.get(letters)
                if known is None or len(letters) == len(reference):
                    known = self.columns[letters] = _column_number(reference, 0)
                self.column = known
            self.in_cell = True
        elif tag in _VALUE_TAGS:
            if self.in_cell:
                self.in_cell = False
                self._holds()
        elif tag == "row":
            self.row = _row_number(attributes.get("r"), self.row)
            self.column = 0
            self.in_cell = False
        else:
            self.in_cell = False
            if tag == "mergeCell":
                self.merges += 1
                if self.merges > self.limits.max_cells // 2:
                    where = attributes.get("ref", "A1").partition(":")[0]
                    raise InputError([too_many_merges(self.sheet, where, self.limits)])

    def _holds(self) -> None:
        row, column, limits = self.row, self.column, self.limits
        if row > self.last_row:
            self.last_row = row
        if column > self.last_column:
            self.last_column = column
        if row > limits.max_rows:
            raise InputError([beyond_rows(self.sheet, row, column, limits)])
        if column > limits.max_columns:
            raise InputError([beyond_columns(self.sheet, row, column, limits)])
        if self.last_row * self.last_column > limits.max_cells:
            raise InputError([beyond_cells(self.sheet, row, column, limits)])


def _row_number(attribute: str | None, previous: int) -> int:
    if attribute is None:
        return previous + 1
    try:
        number = float(attribute)
    except ValueError:
        raise Damaged(f'a row is numbered "{attribute}"') from None
    if not number.is_integer() or number < 1:
        raise Damaged(f'a row is numbered "{attribute}"')
    return int(number)


def _column_number(reference: str | None, previous: int) -> int:
    if reference is None:
        return previous + 1
    match = _REF.fullmatch(reference)
    if match is None:
        raise Damaged(f'a cell is named "{reference}"')
    number = 0
    for letter in match.group(1).upper():
        number = number * 26 + ord(letter) - 64
    return number


def damaged(source: str, sheet: str, detail: str) -> InputError:
    """The sheet's XML cannot be read: bad input, named by the planner's file and tab."""
    return InputError(
        [
            Problem(
                source,
                f'the sheet "{sheet}" is damaged and cannot be read ({detail})',
                "open the workbook in Excel and save it again as .xlsx; if Excel cannot "
                "open it either, use a copy saved before it was damaged",
                f"工作表“{sheet}”已损坏，无法读取（{detail}）",
                "请在 Excel 中打开该工作簿并重新另存为 .xlsx；如 Excel 也无法打开，"
                "请使用损坏前保存的副本",
            )
        ]
    )
