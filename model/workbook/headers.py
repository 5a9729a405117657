"""The header row of a sheet: which column holds which key of the data dictionary.

Shared by every sheet the reader knows (``provinces``, ``parameters``, ``scenarios`` and the
plan's ``growth``, ``projection`` and ``ratio_path``), so a header is accepted, and a bad
one refused, in the same words whichever sheet it heads: the key or the bilingual label,
NFKC-folded, and notes kept aside by their ``备注``/``note``/``#`` prefix.
"""

from __future__ import annotations

from typing import Any

from model.errors import Problem
from model.schema import Field, header_aliases, is_ignored_header, normalise_header
from model.workbook.cells import blank, column_letter, text_of
from model.workbook.sheets import Marks

Cell = tuple[Any, str]  # (value, data_type)


def _header_row_elsewhere(
    grid: list[list[Cell]], sheet: str, aliases: dict[str, str], problems: list[Problem]
) -> bool:
    """Report headers written below row 1 (a title row above them) as one problem.

    Without this, a title in row 1 reads as a dozen unknown columns and missing ones.
    """

    def recognised(row: list[Cell]) -> int:
        return sum(
            1
            for v, _ in row
            if not blank(v) and normalise_header(str(v)) in aliases and not isinstance(v, float)
        )

    wanted = min(2, len(set(aliases.values())))
    first = recognised(grid[0]) if grid else 0
    if first >= wanted:
        return False
    for index in range(1, min(len(grid), 12)):
        if recognised(grid[index]) >= wanted and recognised(grid[index]) > first:
            row = index + 1
            above = "row 1" if row == 2 else f"rows 1–{row - 1}"
            above_zh = "第 1 行" if row == 2 else f"第 1–{row - 1} 行"
            problems.append(
                Problem(
                    f"{sheet}!A{row}",
                    f"found the headers in row {row}, not in row 1",
                    f"delete {above} so the headers are in row 1 (keep titles and notes in "
                    "another sheet)",
                    f"表头位于第 {row} 行，而不是第 1 行",
                    f"请删除{above_zh}，使表头位于第 1 行（标题和说明请放在其他工作表）",
                )
            )
            return True
    return False


def read_headers(
    grid: list[list[Cell]],
    sheet: str,
    fields: tuple[Field, ...],
    problems: list[Problem],
    marks: Marks,
) -> dict[int, str] | None:
    """Map column index → key from the header row.

    Reports unknown and duplicate headers, headers written below row 1, and figures under
    a blank header (a column that would otherwise be dropped without a word).
    """
    aliases = header_aliases(fields)
    if _header_row_elsewhere(grid, sheet, aliases, problems):
        return None
    if not grid or all(blank(v) for v, _ in grid[0]):
        problems.append(
            Problem(
                f"{sheet}!A1",
                "found no header row",
                "copy the header row from `caf template`",
                "未找到表头行",
                "请从 `caf template` 生成的模板复制表头行",
            )
        )
        return None
    merged = {
        c for m in marks.merges if m.first_row == 1 for c in range(m.first_col, m.last_col + 1)
    }
    columns: dict[int, str] = {}
    written: dict[str, str] = {}
    width = max(len(row) for row in grid)
    header_row = grid[0] + [(None, "n")] * (width - len(grid[0]))
    for index, (value, _) in enumerate(header_row):
        where = f"{sheet}!{column_letter(index + 1)}1"
        if blank(value):
            data_row = _first_data_row(grid, index)
            if data_row is not None and index + 1 not in merged:
                letter = column_letter(index + 1)
                problems.append(
                    Problem(
                        where,
                        f"found figures in column {letter} (first in {letter}{data_row}) "
                        "under a blank header",
                        "give the column a header from the template, start its header with "
                        "'备注' or 'note' to keep it as notes, or delete the column",
                        f"{letter} 列有数据（首见于 {letter}{data_row}），但表头为空",
                        "请为该列填写模板中的表头；如为备注，请以“备注”或 note 开头；"
                        "否则请删除该列",
                    )
                )
            continue
        text = text_of(value)
        if is_ignored_header(text):
            continue
        key = aliases.get(normalise_header(text))
        if key is None:
            problems.append(
                Problem(
                    where,
                    f'found the unknown column "{text}"',
                    "rename it to one of the template's headers, or start "
                    "it with '备注' or 'note' to keep it as a note",
                    f"发现无法识别的列“{text}”",
                    "请改为模板中的表头之一；如为备注，请以“备注”或 note 开头",
                )
            )
        elif key in written:
            problems.append(
                Problem(
                    where,
                    f'found "{text}", a second column for {key}',
                    f'delete one of it and "{written[key]}"',
                    f"发现“{text}”，这是 {key} 的第二列",
                    f"请删除它与“{written[key]}”中的一列",
                )
            )
        else:
            columns[index] = key
            written[key] = text
    return columns


def _first_data_row(grid: list[list[Cell]], index: int) -> int | None:
    for r, row in enumerate(grid[1:], start=2):
        if index < len(row) and not blank(row[index][0]):
            return r
    return None
