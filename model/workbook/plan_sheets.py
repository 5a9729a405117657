"""Reading the multi-year plan's sheets (``growth``, ``projection``, ``ratio_path``) into a
``Horizon``.

The three sheets are optional and are read like the provinces sheet: the header is the key
or the bilingual label, a bad cell is reported at its cell, and every problem is collected
with the rest of the workbook's. What a plan must satisfy whichever scenario runs it (the
horizon, the bounds of an optimised path, a path that never falls) is checked by
``horizon.plan_problems``; here are the checks of the sheets themselves: a unit the
provinces sheet lacks, a row given twice, and a year outside the base parameters' horizon.

The columns each sheet accepts are in ``plan_fields``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd

from model.errors import Problem
from model.schema import (
    GROWTH_DRIVERS,
    GROWTH_SHEET,
    PROJECTION_SHEET,
    PROVINCE_BY_KEY,
    RATIO_PATH_SHEET,
    Field,
)
from model.workbook.cells import blank, coerce_cell, column_letter, text_of
from model.workbook.headers import Cell, read_headers
from model.workbook.horizon import Horizon
from model.workbook.plan_fields import (
    CODE,
    GROWTH_FIELDS,
    GROWTH_UNUSUAL,
    NOT_PROJECTED,
    PLAN_SHEETS,
    PROJECTED_FIELDS,
    PROJECTION_FIELDS,
    RATIO_PATH_FIELDS,
    SHEET_FIELDS,
)
from model.workbook.scenarios import Parameters
from model.workbook.sheets import Marks


@dataclass(frozen=True)
class Window:
    """The base parameters' horizon, and where the planner wrote its two ends.

    Attributes:
        year: the base year.
        end: ``plan_end_year``, or None when there is no plan (no upper check then).
        year_cell, end_cell: the two parameters' cells, for the messages.
    """

    year: int
    end: int | None
    year_cell: str
    end_cell: str


@dataclass(frozen=True)
class _Sheet:
    """One plan sheet being read: its key, its grid, its name as written, its columns."""

    key: str
    grid: list[list[Cell]]
    name: str
    columns: dict[int, str]

    def field(self, key: str) -> Field:
        return next(f for f in SHEET_FIELDS[self.key] if f.key == key)

    def column(self, key: str) -> int | None:
        return next((i for i, k in self.columns.items() if k == key), None)

    def cell(self, index: int, row: int) -> str:
        return f"{self.name}!{column_letter(index + 1)}{row}"

    def header(self, index: int) -> str:
        return text_of(self.grid[0][index][0])

    def rows(self) -> Iterator[tuple[int, list[Cell]]]:
        """(row number, cells) of every row with something under a known header."""
        for r, row in enumerate(self.grid[1:], start=2):
            if any(not blank(v) for i, (v, _) in enumerate(row) if i in self.columns):
                yield r, row

    def raw(self, row: list[Cell], index: int) -> Any:
        return row[index][0] if index < len(row) else None

    def value(
        self, row: list[Cell], r: int, index: int, field: Field, problems: list[Problem]
    ) -> tuple[Any, bool]:
        """(value, ok): the cell read for ``field``; a fault is reported at its cell."""
        value, fault = coerce_cell(field, self.raw(row, index))
        if fault is None:
            return value, True
        header = self.header(index)
        problems.append(fault.at(self.cell(index, r), f"in {header}", f"“{header}”列"))
        return None, False


def read_horizon(
    grids: Mapping[str, list[list[Cell]]],
    sheets: Mapping[str, str],
    marks: Mapping[str, Marks],
    window: Window | None,
    codes: Collection[str] | None,
    problems: list[Problem],
    warnings: list[Problem],
) -> Horizon:
    """The plan's sheets that the workbook has, validated; an empty ``Horizon`` without them.

    Args:
        grids, sheets, marks: the workbook's sheets by canonical key, as the reader holds
            them; only the plan's are looked at.
        window: the base parameters' horizon, or None when the parameters failed (the
            years are then not checked).
        codes: the units of the provinces sheet, or None when it failed (codes are then
            not checked).
        problems, warnings: where the problems and the warnings are added.
    """
    read: dict[str, _Sheet] = {}
    for key in PLAN_SHEETS:
        grid = grids.get(key)
        if grid is None or not any(not blank(v) for row in grid for v, _ in row):
            continue
        known = SHEET_FIELDS[key] + (
            (PROVINCE_BY_KEY[NOT_PROJECTED],) if key == PROJECTION_SHEET else ()
        )
        columns = read_headers(grid, sheets[key], known, problems, marks[key])
        if columns is None:
            continue
        sheet = _Sheet(
            key, grid, sheets[key], _without_opening(columns, grid, sheets[key], problems)
        )
        if _has_columns(sheet, problems):
            read[key] = sheet
    horizon = Horizon()
    if GROWTH_SHEET in read:
        growth = _read_growth(read[GROWTH_SHEET], codes, problems, warnings)
        horizon = replace(horizon, growth=growth)
    if PROJECTION_SHEET in read:
        projection, cells = _read_projection(read[PROJECTION_SHEET], window, codes, problems)
        horizon = replace(horizon, projection=projection, projection_cells=cells)
    if RATIO_PATH_SHEET in read:
        path, path_cells = _read_ratio_path(read[RATIO_PATH_SHEET], window, problems)
        horizon = replace(horizon, ratio_path=path, ratio_path_cells=path_cells)
    return horizon


def _without_opening(
    columns: dict[int, str], grid: list[list[Cell]], name: str, problems: list[Problem]
) -> dict[int, str]:
    """The columns but an opening balance, which is refused by name rather than as an
    unknown column: a planner who wrote one expects it to be used, and only the base year
    has one."""
    for index, key in columns.items():
        if key == NOT_PROJECTED:
            header = text_of(grid[0][index][0])
            problems.append(
                Problem(
                    f"{name}!{column_letter(index + 1)}1",
                    f'found "{header}", an opening balance for a later year',
                    "delete the column: only the base year has an opening balance (in the "
                    "provinces sheet), and the plan carries each year's closing balance into "
                    "the next",
                    f"发现“{header}”，即以后年份的年初累计结余",
                    "请删除该列：只有基年有年初累计结余（填在 provinces 工作表中），"
                    "以后各年由上年年末结余结转",
                )
            )
    return {index: key for index, key in columns.items() if key != NOT_PROJECTED}


def _has_columns(sheet: _Sheet, problems: list[Problem]) -> bool:
    """Whether the sheet has its required columns (code, year, …); report each one missing."""
    ok = True
    for field in SHEET_FIELDS[sheet.key]:
        if field.required and sheet.column(field.key) is None:
            ok = False
            problems.append(
                Problem(
                    f"{sheet.name}!1:1",
                    f"found no column for {field.key}",
                    f'add a column headed "{field.label}"',
                    f"未找到 {field.key} 列",
                    f"请添加表头为“{field.label}”的列",
                )
            )
    return ok


def _unusual_growth(value: float, where: str, about: str) -> Problem:
    """A warning for an annual rate beyond ``GROWTH_UNUSUAL``: likely a percentage slip."""
    shown, meant = f"{value:g}", f"{value / 100:g}"
    return Problem(
        where,
        f"found {shown} for {about}, an annual change of {value * 100:g}%, far outside any "
        "province's history",
        f"if {shown}% was meant, write {meant}; if the rate is right, keep it",
        f"{about} 为 {shown}，即每年变化 {value * 100:g}%，远超各省历史水平",
        f"如指 {shown}%，请写作 {meant}；如确属无误，可保留",
    )


def growth_warnings(parameters: Parameters, cells: Mapping[str, str]) -> list[Problem]:
    """Warnings for the national growth defaults of ``parameters`` beyond ±20% a year."""
    return [
        _unusual_growth(value, cells.get(key, f"{key}"), key)
        for key in GROWTH_DRIVERS
        if abs(value := float(getattr(parameters, key))) > GROWTH_UNUSUAL
    ]


def _code(
    sheet: _Sheet,
    row: list[Cell],
    r: int,
    codes: Collection[str] | None,
    problems: list[Problem],
) -> str | None:
    """The row's unit code, or None after reporting it blank or unknown."""
    index = sheet.column("code")
    assert index is not None  # _has_columns checked it
    code, ok = sheet.value(row, r, index, CODE, problems)
    if not ok:
        return None
    if codes is not None and code not in codes:
        problems.append(
            Problem(
                sheet.cell(index, r),
                f'found the code "{code}", which the provinces sheet does not have',
                "use a code of the provinces sheet (national defaults belong in the "
                "parameters sheet), or delete the row",
                f"provinces 工作表中没有代码“{code}”",
                "请使用 provinces 工作表中的代码（全国默认值请填在 parameters 工作表中），"
                "或删除此行",
            )
        )
        return None
    return str(code)


def _again(where: str, what: str, what_zh: str, first: int) -> Problem:
    return Problem(
        where,
        f"found {what} again",
        f"keep one row for it (first in row {first})",
        f"{what_zh}重复出现",
        f"只保留一行（首次出现在第 {first} 行）",
    )


def _read_growth(
    sheet: _Sheet,
    codes: Collection[str] | None,
    problems: list[Problem],
    warnings: list[Problem],
) -> pd.DataFrame:
    """Code → the four rates, NaN where the sheet leaves the national default."""
    code_index = sheet.column("code")
    assert code_index is not None
    first_row_of: dict[str, int] = {}
    records: dict[str, dict[str, float]] = {}
    fields = {f.key: f for f in GROWTH_FIELDS}
    for r, row in sheet.rows():
        code = _code(sheet, row, r, codes, problems)
        if code is not None and code in first_row_of:
            where = sheet.cell(code_index, r)
            problems.append(
                _again(where, f'the code "{code}"', f"代码“{code}”", first_row_of[code])
            )
            code = None
        rates: dict[str, float] = {}
        for index, key in sheet.columns.items():
            if key == "code":
                continue
            value, ok = sheet.value(row, r, index, fields[key], problems)
            if ok and value is not None:
                rates[key] = float(value)
                if abs(value) > GROWTH_UNUSUAL:
                    warnings.append(_unusual_growth(value, sheet.cell(index, r), key))
        if code is not None:
            first_row_of[code] = r
            records[code] = rates
    frame = pd.DataFrame.from_dict(records, orient="index", dtype=float)
    frame = frame.reindex(columns=list(GROWTH_DRIVERS)).astype(float).sort_index()
    frame.index = frame.index.astype(str)
    frame.index.name = "code"
    return frame


def _year(
    sheet: _Sheet,
    row: list[Cell],
    r: int,
    window: Window | None,
    base_allowed: bool,
    problems: list[Problem],
) -> int | None:
    """The row's year, or None after reporting it outside the base parameters' horizon.

    ``base_allowed``: the ratio path may restate the base year (its ratio is then checked
    against ``contribution_ratio``); a projection may not, since the base year's figures
    are the provinces sheet's.
    """
    index = sheet.column("year")
    assert index is not None
    year, ok = sheet.value(row, r, index, sheet.field("year"), problems)
    if not ok or window is None:
        return year if ok else None
    where, base = sheet.cell(index, r), window.year
    first = base if base_allowed else base + 1
    if window.end is None:
        span, span_zh = f"a year from {first} on", f"{first} 年及以后的年份"
    else:
        span, span_zh = (
            f"a year from {first} to {window.end}",
            f"{first} 至 {window.end} 年之间的年份",
        )
    if year < base:
        problems.append(
            Problem(
                where,
                f"found {year}, before the base year {base} ({window.year_cell})",
                f"write {span}, or delete the row",
                f"发现 {year}，早于基年 {base}（{window.year_cell}）",
                f"请填写 {span_zh}，或删除此行",
            )
        )
    elif year == base and not base_allowed:
        problems.append(
            Problem(
                where,
                f"found {year}, the base year ({window.year_cell}), whose figures belong in "
                "the provinces sheet",
                f"put the base year's figures in the provinces sheet, and here {span}",
                f"发现 {year}，即基年（{window.year_cell}），基年的数据应填在 provinces 工作表中",
                f"请将基年数据填在 provinces 工作表中，本表只填 {span_zh}",
            )
        )
    elif window.end is not None and year > window.end:
        problems.append(
            Problem(
                where,
                f"found {year}, after plan_end_year {window.end} ({window.end_cell})",
                f"write {span}, or move plan_end_year to {year}",
                f"发现 {year}，晚于规划末年 {window.end}（{window.end_cell}）",
                f"请填写 {span_zh}，或将 plan_end_year 延至 {year}",
            )
        )
    else:
        return int(year)
    return None


def _read_projection(
    sheet: _Sheet,
    window: Window | None,
    codes: Collection[str] | None,
    problems: list[Problem],
) -> tuple[pd.DataFrame, tuple[tuple[tuple[str, int, str], str], ...]]:
    """(code, year) → the figures given, and where each was written."""
    code_index = sheet.column("code")
    assert code_index is not None
    fields = {f.key: f for f in PROJECTION_FIELDS}
    first_row_of: dict[tuple[str, int], int] = {}
    records: dict[tuple[str, int], dict[str, float]] = {}
    cells: list[tuple[tuple[str, int, str], str]] = []
    for r, row in sheet.rows():
        code = _code(sheet, row, r, codes, problems)
        year = _year(sheet, row, r, window, False, problems)
        figures: dict[str, tuple[float, str]] = {}
        for index, key in sheet.columns.items():
            if key in ("code", "year") or blank(sheet.raw(row, index)):
                continue
            value, ok = sheet.value(row, r, index, fields[key], problems)
            if ok and value is not None:
                figures[key] = (float(value), sheet.cell(index, r))
        if code is None or year is None:
            continue
        if (code, year) in first_row_of:
            problems.append(
                _again(
                    sheet.cell(code_index, r),
                    f'the code "{code}" for {year}',
                    f"代码“{code}”的 {year} 年数据",
                    first_row_of[(code, year)],
                )
            )
            continue
        first_row_of[(code, year)] = r
        if figures:
            records[(code, year)] = {key: value for key, (value, _) in figures.items()}
            cells += [((code, year, key), where) for key, (_, where) in figures.items()]
    given = [f.key for f in PROJECTED_FIELDS if any(f.key in v for v in records.values())]
    if not records:
        return Horizon().projection, ()
    index = pd.MultiIndex.from_tuples(list(records), names=["code", "year"])
    frame = pd.DataFrame(list(records.values()), index=index, dtype=float)
    frame = frame.reindex(columns=given).astype(float).sort_index()
    return frame, tuple(cells)


def _read_ratio_path(
    sheet: _Sheet, window: Window | None, problems: list[Problem]
) -> tuple[tuple[tuple[int, float], ...], tuple[tuple[int, str], ...]]:
    """(year, ratio) sorted by year, and the cell of each ratio."""
    year_index, ratio_index = sheet.column("year"), sheet.column("contribution_ratio")
    assert year_index is not None and ratio_index is not None
    ratio_field = RATIO_PATH_FIELDS[1]
    first_row_of: dict[int, int] = {}
    path: dict[int, float] = {}
    cells: dict[int, str] = {}
    for r, row in sheet.rows():
        year = _year(sheet, row, r, window, True, problems)
        ratio, ok = sheet.value(row, r, ratio_index, ratio_field, problems)
        if year is None or not ok:
            continue
        if year in first_row_of:
            where = sheet.cell(year_index, r)
            problems.append(_again(where, f"the year {year}", f"{year} 年", first_row_of[year]))
            continue
        first_row_of[year] = r
        path[year] = float(ratio)
        cells[year] = sheet.cell(ratio_index, r)
    return tuple(sorted(path.items())), tuple(sorted(cells.items()))


def _holds_rows(grid: list[list[Cell]] | None) -> bool:
    return grid is not None and any(not blank(v) for row in grid[1:] for v, _ in row)


def unused_plan_warnings(
    grids: Mapping[str, list[list[Cell]]],
    sheets: Mapping[str, str],
    plans: Collection[Parameters],
    optimize_cell: str,
) -> list[Problem]:
    """Plan sheets with rows that nothing will read: a warning each, never an error.

    Without ``plan_end_year`` (in the parameters or any scenario) there is no plan, and
    ``caf run`` and ``caf compare`` solve the base year only; when every plan optimises the
    ratio path, the ``ratio_path`` sheet is not followed. Either may be meant (a plan
    prepared for later), so the run goes on, but the planner is told.
    """
    warnings: list[Problem] = []
    planned = [p for p in plans if p.plan_end_year is not None]
    if not planned:
        for key in PLAN_SHEETS:
            if _holds_rows(grids.get(key)):
                name = sheets[key]
                warnings.append(
                    Problem(
                        f"{name}!A1",
                        f'the sheet "{name}" is not used: plan_end_year is blank, so there is '
                        "no multi-year plan (caf run and caf compare solve the base year only)",
                        "set plan_end_year in the parameters sheet (such as 2035) to plan with "
                        "it, or delete the sheet",
                        f"工作表“{name}”未被使用：规划末年 plan_end_year 为空，不做多年规划"
                        "（caf run 和 caf compare 只计算基年）",
                        "如需据此做多年规划，请在 parameters 工作表中填写 plan_end_year"
                        "（如 2035）；否则请删除该工作表",
                    )
                )
    elif all(p.optimizes_ratio_path for p in planned) and _holds_rows(grids.get(RATIO_PATH_SHEET)):
        name = sheets[RATIO_PATH_SHEET]
        warnings.append(
            Problem(
                f"{name}!A1",
                f'the sheet "{name}" is not used: optimize_ratio_path is yes ({optimize_cell}), '
                "so caf chooses the ratio path within ratio_max and ratio_step_max",
                "set optimize_ratio_path to no to follow this path, or delete the sheet",
                f"工作表“{name}”未被使用：optimize_ratio_path 为 yes（{optimize_cell}），"
                "上解比例路径由 caf 在 ratio_max 和 ratio_step_max 范围内优化确定",
                "如需按本表的路径计算，请将 optimize_ratio_path 设为 no；否则请删除该工作表",
            )
        )
    return warnings
