"""The workbook-wide parts read whole before any sheet: the workbook part (sheets and
defined names), the string table and the styles, counted as a stream first.

openpyxl builds an object for every defined name, shared string and style entry as it
opens a workbook, whichever sheets are read: three million strings (a 7.9 MB file) took
62 s and 550 MB, a million cell formats (186 KB) 34 s and 880 MB, a million defined names
(2.6 MB) 33 s and 900 MB. Each part is found as openpyxl
finds it, by its content type, and refused past a count no workbook caf reads needs.
"""

from __future__ import annotations

import zipfile
from xml.parsers import expat

from defusedxml import ElementTree

from model.errors import InputError, Problem
from model.workbook.extent import Damaged, stream_starts
from model.workbook.limits import ReadingLimits, too_many_strings

_OVERRIDE = "{http://schemas.openxmlformats.org/package/2006/content-types}Override"
_SPREADSHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml"
SHARED_STRINGS = f"{_SPREADSHEET}.sharedStrings+xml"
STYLES = f"{_SPREADSHEET}.styles+xml"

WORKBOOK_TYPES = (
    f"{_SPREADSHEET}.sheet.main+xml",
    f"{_SPREADSHEET}.template.main+xml",
)

MAX_ENTRIES = 300_000
"""Elements of the styles part and of the workbook part. Excel allows 64,000 cell formats,
and with their fonts, fills, borders and alignments a real styles part holds well under
300,000; a workbook part lists sheets and defined names, of which a workbook bloated by
years of copied sheets may hold tens of thousands."""


def check_parts(archive: zipfile.ZipFile, source: str, limits: ReadingLimits) -> None:
    """Refuse a workbook part or a styles part of more than ``MAX_ENTRIES`` elements, and
    a string table of more than ``limits.max_cells`` texts (more than any sheet caf reads
    could use).

    Raises:
        InputError: either is too long, or damaged; named by the planner's file.
    """
    parts = _parts_by_type(archive)
    books = {"xl/workbook.xml", *(parts[kind] for kind in WORKBOOK_TYPES if kind in parts)}
    for book in sorted(books & set(archive.namelist())):
        # a damaged workbook part is refused, in its own words, by the list of sheets
        _count(archive, book, None, MAX_ENTRIES, _too_many_names(source), source, damage=False)
    if SHARED_STRINGS in parts:
        refusal = too_many_strings(source, limits)
        _count(archive, parts[SHARED_STRINGS], "si", limits.max_cells, refusal, source)
    if STYLES in parts:
        refusal = _too_many_styles(source)
        _count(archive, parts[STYLES], None, MAX_ENTRIES, refusal, source)


def _parts_by_type(archive: zipfile.ZipFile) -> dict[str, str]:
    try:
        types = ElementTree.fromstring(archive.read("[Content_Types].xml"))
    except Exception:  # missing or damaged: openpyxl refuses the file when it opens it
        return {}
    names = set(archive.namelist())
    found: dict[str, str] = {}
    for override in types.iter(_OVERRIDE):
        part = override.get("PartName", "").lstrip("/")
        if part in names:
            found.setdefault(override.get("ContentType", ""), part)
    return found


def _count(
    archive: zipfile.ZipFile,
    part: str,
    tag: str | None,
    most: int,
    refusal: Problem,
    source: str,
    damage: bool = True,
) -> None:
    """Count the start tags named ``tag`` (every one when None); refuse past ``most``, and
    refuse damaged XML unless ``damage`` is False."""
    count = 0

    def start(name: str, _: dict[str, str]) -> None:
        nonlocal count
        if tag is None or name.rpartition(":")[2] == tag:
            count += 1
            if count > most:
                raise InputError([refusal])

    try:
        with archive.open(part) as stream:
            stream_starts(stream, start)
    except (Damaged, expat.ExpatError) as exc:
        if not damage:
            return
        said = " ".join(str(exc).split())
        raise InputError(
            [
                Problem(
                    source,
                    f"the workbook's part {part} is damaged and cannot be read ({said})",
                    "open the workbook in Excel and save it again as .xlsx",
                    f"工作簿的组成部分 {part} 已损坏，无法读取（{said}）",
                    "请在 Excel 中打开该工作簿并重新另存为 .xlsx",
                )
            ]
        ) from None


def _too_many_styles(source: str) -> Problem:
    most = f"{MAX_ENTRIES:,}"
    return Problem(
        source,
        f"the workbook's styles hold more than {most} entries; Excel itself allows 64,000 "
        "cell formats",
        "copy the sheets caf reads (provinces, parameters and the optional ones) into a new "
        "workbook and save that",
        f"工作簿的样式条目超过 {most} 个；Excel 本身最多允许 64,000 种单元格格式",
        "请将 caf 读取的工作表（provinces、parameters 及可选工作表）复制到新工作簿中并保存",
    )


def _too_many_names(source: str) -> Problem:
    most = f"{MAX_ENTRIES:,}"
    return Problem(
        source,
        f"the workbook's list of sheets and defined names holds more than {most} entries",
        "delete unused names (Formulas ▸ Name Manager), or copy the sheets caf reads into "
        "a new workbook and save that",
        f"工作簿的工作表和名称列表超过 {most} 项",
        "请删除未使用的名称（公式 ▸ 名称管理器），或将 caf 读取的工作表复制到新工作簿中并保存",
    )
