"""Workbooks a planner's Excel would never write: one sheet's XML rewritten by hand.

Each is the worked example with its ``provinces`` sheet (``xl/worksheets/sheet1.xml``)
changed, so that everything else about the file is ordinary and only the change is on
trial: a row two billion down, a cell at column ZZZ, a million code-only rows, XML cut off.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

from tests.workbooks import WORKED_EXAMPLE, WORKED_PARAMETERS, write_workbook

PROVINCES_PART = "xl/worksheets/sheet1.xml"


def rewritten(
    tmp_path: Path, name: str, change: Callable[[bytes], bytes], part: str = PROVINCES_PART
) -> Path:
    """The worked example saved as ``name`` with ``part`` passed through ``change``."""
    plain = write_workbook(tmp_path / f"plain-{name}", WORKED_EXAMPLE, WORKED_PARAMETERS)
    path = tmp_path / name
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(path, "w") as target:
        for info in source.infolist():
            content = source.read(info)
            if info.filename == part:
                content = change(content)
            target.writestr(info.filename, content, compress_type=zipfile.ZIP_DEFLATED)
    plain.unlink()
    return path


def _before_end_of_data(extra: bytes) -> Callable[[bytes], bytes]:
    def change(xml: bytes) -> bytes:
        assert xml.count(b"</sheetData>") == 1
        return xml.replace(b"</sheetData>", extra + b"</sheetData>")

    return change


def far_row(tmp_path: Path, row: int = 2_000_000_000, value: bool = True) -> Path:
    """One more ``<row>`` at ``row``: holding the text "X" in column A, or a styled blank."""
    cell = (
        f'<c r="A{row}" t="inlineStr"><is><t>X</t></is></c>' if value else f'<c r="A{row}" s="0"/>'
    )
    extra = f'<row r="{row}">{cell}</row>'.encode()
    return rewritten(tmp_path, f"far-row-{row}-{value}.xlsx", _before_end_of_data(extra))


def far_column(
    tmp_path: Path, letters: str = "ZZZ", value: bool = True, more_rows: int = 0
) -> Path:
    """Every row of the provinces sheet ends with one more cell at column ``letters``: the
    number 1, or a styled blank; ``more_rows`` rows below hold only such a cell."""

    def cell(row: int) -> bytes:
        ref = f"{letters}{row}"
        return (f'<c r="{ref}" t="n"><v>1</v></c>' if value else f'<c r="{ref}" s="0"/>').encode()

    def change(xml: bytes) -> bytes:
        def add(match: re.Match[bytes]) -> bytes:
            return match.group(0).replace(b"</row>", cell(int(match.group(1))) + b"</row>")

        first = len(WORKED_EXAMPLE) + 2
        extra = b"".join(
            b'<row r="%d">%s</row>' % (r, cell(r)) for r in range(first, first + more_rows)
        )
        return _before_end_of_data(extra)(re.sub(rb'<row r="(\d+)".*?</row>', add, xml))

    return rewritten(tmp_path, f"far-column-{letters}-{value}-{more_rows}.xlsx", change)


def code_rows(first: int, count: int) -> Iterator[bytes]:
    """``count`` rows from row ``first`` on, each holding a code (a number) and nothing else.

    They carry no ``r`` attributes, which the format allows: a row is the one after the
    last, a cell the one right of the last."""
    for row in range(first, first + count):
        yield f"<row><c><v>{row}</v></c></row>".encode()


def many_code_rows(tmp_path: Path, count: int = 1_000_000) -> Path:
    """The worked example followed by ``count`` rows that hold a code only: a few MB
    compressed, as in issue 15."""
    extra = b"".join(code_rows(len(WORKED_EXAMPLE) + 2, count))
    return rewritten(tmp_path, f"code-rows-{count}.xlsx", _before_end_of_data(extra))


def truncated(tmp_path: Path, part: str = PROVINCES_PART, keep: float = 0.5) -> Path:
    """The worked example with ``part`` cut off after ``keep`` of its bytes."""
    return rewritten(tmp_path, "truncated.xlsx", lambda xml: xml[: int(len(xml) * keep)], part=part)


def unread_sheet_rows(tmp_path: Path, count: int = 1_000_000, cut: bool = False) -> Path:
    """The worked example with a third sheet, ``notes``, that caf never reads, holding
    ``count`` code-only rows and no ``<dimension>``, so openpyxl cannot size it cheaply;
    ``cut`` ends its XML after the rows."""
    import openpyxl

    plain = write_workbook(tmp_path / "plain-notes.xlsx", WORKED_EXAMPLE, WORKED_PARAMETERS)
    workbook = openpyxl.load_workbook(plain)
    workbook.create_sheet("notes")["A1"] = "notes"
    workbook.save(plain)
    path = tmp_path / f"unread-{count}-{cut}.xlsx"
    rows = b"".join(code_rows(2, count))
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(path, "w") as target:
        for info in source.infolist():
            content = source.read(info)
            if info.filename == "xl/worksheets/sheet3.xml":
                content = re.sub(rb"<dimension[^>]*/>", b"", content)
                content = content.replace(b"</sheetData>", rows + b"</sheetData>")
                if cut:
                    content = content.partition(rows)[0] + rows
            target.writestr(info.filename, content, compress_type=zipfile.ZIP_DEFLATED)
    plain.unlink()
    return path


def merged_ranges(tmp_path: Path, count: int, first_row: int = 2) -> Path:
    """The worked example with ``count`` merged ranges ``K{r}:L{r}``, one a row from
    ``first_row`` on: a few MB of XML that compresses to almost nothing."""
    merges = b"".join(
        b'<mergeCell ref="K%d:L%d"/>' % (r, r) for r in range(first_row, first_row + count)
    )
    block = b'</sheetData><mergeCells count="%d">%s</mergeCells>' % (count, merges)
    return rewritten(
        tmp_path,
        f"merges-{count}-{first_row}.xlsx",
        lambda xml: xml.replace(b"</sheetData>", block),
    )


def shared_strings(tmp_path: Path, count: int) -> Path:
    """The worked example with a string table of ``count`` texts that no cell uses."""
    plain = write_workbook(tmp_path / "plain-strings.xlsx", WORKED_EXAMPLE, WORKED_PARAMETERS)
    table = b"".join(b"<si><t>%d</t></si>" % i for i in range(count))
    main = b"http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    strings = b'<sst xmlns="%s" count="%d" uniqueCount="%d">%s</sst>' % (main, count, count, table)
    kind = b"application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
    relation = b"http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"
    path = tmp_path / f"strings-{count}.xlsx"
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(path, "w") as target:
        for info in source.infolist():
            content = source.read(info)
            if info.filename == "[Content_Types].xml":
                override = b'<Override PartName="/xl/sharedStrings.xml" ContentType="%s"/>' % kind
                content = content.replace(b"</Types>", override + b"</Types>")
            if info.filename == "xl/_rels/workbook.xml.rels":
                link = b'<Relationship Id="rIdS" Type="%s" Target="sharedStrings.xml"/>' % relation
                content = content.replace(b"</Relationships>", link + b"</Relationships>")
            target.writestr(info.filename, content, compress_type=zipfile.ZIP_DEFLATED)
        target.writestr("xl/sharedStrings.xml", strings, compress_type=zipfile.ZIP_DEFLATED)
    plain.unlink()
    return path


def many_styles(tmp_path: Path, count: int) -> Path:
    """The worked example with ``count`` more cell formats in its styles part."""
    extra = b'<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>' * count

    def change(xml: bytes) -> bytes:
        head, found, tail = xml.partition(b"<cellXfs")
        assert found
        opening, _, rest = tail.partition(b">")
        return head + found + opening + b">" + extra + rest

    return rewritten(tmp_path, f"styles-{count}.xlsx", change, part="xl/styles.xml")


def many_names(tmp_path: Path, count: int) -> Path:
    """The worked example with ``count`` defined names in its workbook part."""
    names = b"".join(
        b'<definedName name="n%d">provinces!$A$1</definedName>' % i for i in range(count)
    )

    def change(xml: bytes) -> bytes:
        return xml.replace(b"</sheets>", b"</sheets><definedNames>" + names + b"</definedNames>")

    return rewritten(tmp_path, f"names-{count}.xlsx", change, part="xl/workbook.xml")
