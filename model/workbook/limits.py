"""How much of a workbook caf reads: the bounds that keep a small file from taking the
machine.

A sheet's XML says where each row and cell is (``<row r="2000000000">``, ``<c r="ZZZ7">``)
and openpyxl fills every row and column up to there with blanks, so a 15 KB file can ask
for billions of cells. The reader therefore measures each sheet's real extent from its XML
(``extent``) before openpyxl materialises a cell, and refuses a sheet beyond these limits
at the first cell past them, saying the limit and how to come back under it. The limits are
one frozen value, so the web server and the CLI can pass their own.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from model.errors import Problem
from model.workbook.cells import column_letter


@dataclass(frozen=True)
class ReadingLimits:
    """The most caf reads of one workbook.

    Attributes:
        max_units: pooling units (data rows of the provinces sheet). China has about 2,850
            county-level pooling units at the finest grain; 10,000 leaves room for any
            study while bounding the model a workbook can ask for.
        max_rows: the last row of a sheet that may hold a value. Holds the provinces sheet
            (a header and ``max_units`` rows) and a projection of every unit for years.
        max_columns: the last column of a sheet that may hold a value (256 is column IV,
            Excel's limit until 2007; caf's widest sheet has about twenty).
        max_cells: rows × columns of a sheet's table, each of which is read and held: a
            sheet of 500,000 bad cells takes about half a minute to check. A full
            projection of 2,850 units for 15 years is about 430,000.
        max_problems: problems listed when a workbook is refused; the rest are counted.
    """

    max_units: int = 10_000
    max_rows: int = 100_000
    max_columns: int = 256
    max_cells: int = 500_000
    max_problems: int = 200

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{field.name} must be a whole number of at least 1: {value!r}")


DEFAULT_LIMITS = ReadingLimits()


def beyond_rows(sheet: str, row: int, column: int, limits: ReadingLimits) -> Problem:
    """A value below the last row caf reads."""
    return Problem(
        f"{sheet}!{column_letter(column)}{row}",
        f"found a value in row {row:,}, below the {limits.max_rows:,} rows caf reads in a sheet",
        "delete the rows below your table (select them, right-click ▸ Delete), or split "
        "the workbook",
        f"第 {row:,} 行有内容，超出 caf 在每个工作表中读取的 {limits.max_rows:,} 行",
        "请删除表格下方的多余行（选中后右键单击 ▸ 删除），或将工作簿拆分",
    )


def beyond_columns(sheet: str, row: int, column: int, limits: ReadingLimits) -> Problem:
    """A value right of the last column caf reads."""
    letter, last = column_letter(column), column_letter(limits.max_columns)
    return Problem(
        f"{sheet}!{letter}{row}",
        f"found a value in column {letter}, right of column {last}, the last that caf "
        f"reads in a sheet",
        "delete the columns right of your table (select them, right-click ▸ Delete), and "
        "keep notes in another sheet",
        f"{letter} 列有内容，超出 caf 在每个工作表中读取的最后一列 {last}",
        "请删除表格右侧的多余列（选中后右键单击 ▸ 删除），说明请放在其他工作表",
    )


def beyond_cells(sheet: str, row: int, column: int, limits: ReadingLimits) -> Problem:
    """A table whose rows × columns exceed what caf holds of one sheet."""
    cells = f"{limits.max_cells:,}"
    return Problem(
        f"{sheet}!{column_letter(column)}{row}",
        f"the table reaches this cell and would span more than {cells} cells, the most "
        "caf reads in a sheet",
        "delete the rows and columns outside your table, or split the workbook",
        f"表格延伸到此单元格，将超过 caf 在每个工作表中读取的 {cells} 个单元格",
        "请删除表格以外的行和列，或将工作簿拆分",
    )


def too_many_units(sheet: str, row: int, limits: ReadingLimits) -> Problem:
    """More pooling units than caf solves at once; located at the first one too many."""
    most = f"{limits.max_units:,}"
    return Problem(
        f"{sheet}!A{row}",
        f"found more than {most} pooling units; this row is one too many",
        f"keep at most {most} units (one row each), or split the study into several workbooks",
        f"统筹单位超过 {most} 个；此行已超出上限",
        f"请最多保留 {most} 个统筹单位（每个一行），或将研究拆分为多个工作簿",
    )


def too_many_merges(sheet: str, where: str, limits: ReadingLimits) -> Problem:
    """More merged ranges than a sheet within ``max_cells`` can hold."""
    most = f"{limits.max_cells // 2:,}"
    return Problem(
        f"{sheet}!{where}",
        f"found more than {most} merged ranges, more than a sheet caf reads can hold",
        "unmerge every cell (select all, then Merge & Center ▸ Unmerge Cells) and delete "
        "what lies outside your table",
        f"合并区域超过 {most} 个，超出 caf 可读取的工作表所能容纳的数量",
        "请取消所有合并（全选后点击“合并后居中 ▸ 取消单元格合并”），并删除表格以外的内容",
    )


def too_many_strings(source: str, limits: ReadingLimits) -> Problem:
    """A string table longer than any sheet caf reads could use."""
    most = f"{limits.max_cells:,}"
    return Problem(
        source,
        f"the workbook holds more than {most} different texts, more than the sheets caf "
        "reads could use",
        "copy the sheets caf reads (provinces, parameters and the optional ones) into a new "
        "workbook and save that",
        f"工作簿中不同的文本超过 {most} 个，超出 caf 读取的工作表所能用到的数量",
        "请将 caf 读取的工作表（provinces、parameters 及可选工作表）复制到新工作簿中并保存",
    )
