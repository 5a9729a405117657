"""The workbook's sheets as the file declares them: names, visibility, merged header cells.

openpyxl's read-only mode (which the reader uses, so a large file is never held whole)
reports neither merged cells nor where a sheet's XML lives. Both matter for trust: a
hidden sheet must never be read without a word, and a merged header cell silently drops
the column beside it. So this module reads the two small parts that say so directly from
the archive (``xl/workbook.xml`` and its relationships, parsed with defusedxml) and scans
each sheet's XML for ``<mergeCell>`` and hidden ``<row>`` marks.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from defusedxml import ElementTree

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_MERGE = re.compile(rb'<(?:\w+:)?mergeCell\b[^>]*\bref="([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?"')
_ROW = re.compile(rb"<(?:\w+:)?row\b([^>]*)>")
_ATTR_R = re.compile(rb'\br="(\d+)"')
_HIDDEN = re.compile(rb'\bhidden="(?:1|true)"')
_COL = re.compile(rb"<(?:\w+:)?col\b([^>]*)>")
_ATTR_MIN = re.compile(rb'\bmin="(\d+)"')
_ATTR_MAX = re.compile(rb'\bmax="(\d+)"')


@dataclass(frozen=True)
class SheetInfo:
    """One sheet as declared in the workbook.

    Attributes:
        name: the tab's name as written.
        state: ``visible``, ``hidden`` or ``veryHidden`` (hidden from Excel's own menu).
        part: the sheet's XML part inside the archive, or "" when it cannot be found.
    """

    name: str
    state: str
    part: str

    @property
    def hidden(self) -> bool:
        return self.state != "visible"


@dataclass(frozen=True)
class Merge:
    """A merged range, as 1-based (first row, first column, last row, last column)."""

    first_row: int
    first_col: int
    last_row: int
    last_col: int


def list_sheets(path: Path) -> tuple[SheetInfo, ...]:
    """Every sheet the workbook declares, in tab order, with its visibility and part."""
    with zipfile.ZipFile(path) as archive:
        book = ElementTree.fromstring(archive.read("xl/workbook.xml"))
        try:
            rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
        except KeyError:
            rels = None
    targets: dict[str, str] = {}
    if rels is not None:
        for rel in rels.iter(f"{_PKG_REL}Relationship"):
            target = rel.get("Target", "")
            part = target.lstrip("/") if target.startswith("/") else posixpath.join("xl", target)
            targets[rel.get("Id", "")] = posixpath.normpath(part)
    sheets = []
    for sheet in book.iter(f"{_MAIN}sheet"):
        rid = sheet.get(f"{_REL}id", "")
        sheets.append(
            SheetInfo(sheet.get("name", ""), sheet.get("state", "visible"), targets.get(rid, ""))
        )
    return tuple(sheets)


@dataclass(frozen=True)
class Marks:
    """What a sheet's XML says beyond its values: merged ranges, hidden rows and columns
    (1-based)."""

    merges: tuple[Merge, ...] = ()
    hidden_rows: tuple[int, ...] = ()
    hidden_columns: tuple[int, ...] = ()


def sheet_marks(path: Path, part: str) -> Marks:
    """The merged ranges and hidden rows and columns of one sheet's XML part."""
    if not part:
        return Marks()
    with zipfile.ZipFile(path) as archive:
        try:
            xml = archive.read(part)
        except KeyError:
            return Marks()
    merges = []
    for match in _MERGE.finditer(xml):
        c1, r1, c2, r2 = match.groups()
        c2, r2 = (c2, r2) if c2 else (c1, r1)
        merges.append(Merge(int(r1), _column_index(c1), int(r2), _column_index(c2)))
    hidden = []
    for match in _ROW.finditer(xml):
        attrs = match.group(1)
        number = _ATTR_R.search(attrs)
        if number and _HIDDEN.search(attrs):
            hidden.append(int(number.group(1)))
    columns: list[int] = []
    for match in _COL.finditer(xml):
        attrs = match.group(1)
        low, high = _ATTR_MIN.search(attrs), _ATTR_MAX.search(attrs)
        if low and high and _HIDDEN.search(attrs):
            # Excel writes one <col> for a run of formatted columns up to 16384.
            columns += range(int(low.group(1)), min(int(high.group(1)), 16384) + 1)
    return Marks(tuple(merges), tuple(hidden), tuple(columns))


def _column_index(letters: bytes) -> int:
    """b"A" → 1, b"AA" → 27."""
    index = 0
    for char in letters:
        index = index * 26 + (char - 64)
    return index
