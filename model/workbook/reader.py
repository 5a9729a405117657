"""Workbook → validated ``FundData``: the only module that reads planners' files.

Every problem in the workbook is collected first and raised once as an ``InputError``,
each located by sheet and cell and quoting the header as the planner wrote it. The file
is inspected as a zip archive before openpyxl sees it, so that non-workbooks, macro
workbooks, oversized files and zip bombs are refused cheaply.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from model.errors import InputError, Problem, Problems
from model.schema import (
    ACCEPT_UNUSUAL,
    PARAMETER_BY_KEY,
    PARAMETER_FIELDS,
    PARAMETER_KEY_HEADER,
    PARAMETER_VALUE_HEADER,
    PARAMETERS_SHEET,
    PROVINCE_BY_KEY,
    PROVINCE_FIELDS,
    PROVINCES_SHEET,
    SCENARIO_NAME_HEADER,
    SCENARIOS_SHEET,
    header_aliases,
    is_ignored_header,
    normalise_header,
)
from model.workbook.archive import inspect_archive
from model.workbook.cells import Uncached, blank, coerce_cell, column_letter, text_of
from model.workbook.extent import Extent, damaged, sheet_extent
from model.workbook.headers import Cell, read_headers
from model.workbook.horizon import Horizon, plan_problems
from model.workbook.limits import DEFAULT_LIMITS, ReadingLimits, too_many_units
from model.workbook.parts import check_parts
from model.workbook.plan_fields import PLAN_SHEETS
from model.workbook.plan_sheets import (
    Window,
    growth_warnings,
    read_horizon,
    unused_plan_warnings,
)
from model.workbook.plausibility import check_plausibility
from model.workbook.scenarios import BASE_SCENARIO, Parameters, Scenario, apply_overrides
from model.workbook.sheets import Marks, SheetInfo, list_sheets, sheet_marks


@dataclass(frozen=True)
class Source:
    """Where the data came from, down to the cell, for run_info and the diagnostics.

    Attributes:
        name: the file name as the planner knows it.
        sha256: the file's digest.
        size_bytes: the file's size.
        province_columns: key → column letter in the planner's provinces sheet.
        parameter_cells: key → value cell in the planner's parameters sheet.
        warnings: figures that may be right but look like a slip (a unit typed in 万元
            where 亿元 was meant, say), located like problems. They never stop a run, and
            every surface (``caf check``, ``caf run``, the workbook, the web page) shows
            them where the planner cannot miss them.
    """

    name: str
    sha256: str
    size_bytes: int
    province_columns: tuple[tuple[str, str], ...] = ()
    parameter_cells: tuple[tuple[str, str], ...] = ()
    warnings: tuple[Problem, ...] = ()


@dataclass(frozen=True)
class FundData:
    """Validated input of one workbook.

    Attributes:
        units: one row per pooling unit, indexed by code (text, sorted), with one column
            per key of ``schema.PROVINCE_FIELDS``; numbers are floats, and a blank
            ``enterprise_employment_10k`` is NaN. ``input_row`` keeps each unit's row in
            the provinces sheet so messages can name its cells.
        parameters: the base policy from the ``parameters`` sheet.
        scenarios: the base scenario followed by each row of the ``scenarios`` sheet.
        source: the file's name and SHA-256.
        horizon: the multi-year plan's sheets (``growth``, ``projection``,
            ``ratio_path``); empty when the workbook has none.
    """

    units: pd.DataFrame
    parameters: Parameters
    scenarios: tuple[Scenario, ...]
    source: Source
    horizon: Horizon = dataclasses.field(default_factory=Horizon)

    def scenario(self, name: str) -> Scenario:
        """The scenario called ``name``.

        Raises:
            InputError: when the workbook has no such scenario.
        """
        for candidate in self.scenarios:
            if candidate.name == name:
                return candidate
        known = ", ".join(s.name for s in self.scenarios)
        raise InputError(
            [
                Problem(
                    f"{SCENARIOS_SHEET}!A:A",
                    f'found no scenario named "{name}"',
                    f"use one of: {known}",
                    f"未找到名为“{name}”的情景",
                    f"请使用以下情景之一：{known}",
                )
            ]
        )


def province_cell(key: str, source: Source | None = None, row: int = 0) -> str:
    """``provinces!N23``: the key's column in the planner's sheet and the unit's row.

    Without a source (or for a key the planner's sheet lacks) the column is the one
    ``caf template`` writes; without a row only the column is named.
    """
    columns = dict(source.province_columns) if source else {}
    letter = columns.get(key) or column_letter([f.key for f in PROVINCE_FIELDS].index(key) + 1)
    return f"provinces!{letter}{row if row > 0 else ''}"


def parameter_cell(key: str, source: Source | None = None) -> str:
    """``parameters!B8``: where the planner's sheet holds the key, else the template's cell."""
    cells = dict(source.parameter_cells) if source else {}
    row = [f.key for f in PARAMETER_FIELDS].index(key) + 2
    return cells.get(key) or f"parameters!B{row}"


def read_workbook(
    path: str | Path,
    display_name: str | None = None,
    *,
    limits: ReadingLimits = DEFAULT_LIMITS,
) -> FundData:
    """Read and validate an input workbook.

    Each sheet's extent is measured from its XML before openpyxl reads a cell, so a small
    file cannot ask for billions of blank cells; see ``limits``.

    Args:
        path: the .xlsx file.
        display_name: the name to record as the source (an upload's original name); every
            message names the file by it, never by ``path``.
        limits: the most to read: units, a sheet's rows, columns and cells, and the
            problems listed when the workbook is refused (the rest are counted).

    Raises:
        InputError: listing every problem found, at most ``limits.max_problems`` of them
            and then how many more.
    """
    path = Path(path)
    name = display_name or path.name
    digest, size = inspect_archive(path, name)
    source = Source(name=name, sha256=digest, size_bytes=size)
    warnings: list[Problem] = []
    with zipfile.ZipFile(path) as archive:
        check_parts(archive, name, limits)
    chosen = _choose_sheets(_declared_sheets(path, name), warnings)
    with zipfile.ZipFile(path) as archive:
        extents = {
            key: sheet_extent(archive, info.part, info.name, name, limits)
            for key, info in chosen.items()
        }
    names = {key: info.name for key, info in chosen.items()}
    grids = _grids(path, name, names, extents, data_only=False)
    _count_units(grids[PROVINCES_SHEET], names[PROVINCES_SHEET], limits)
    grids = _resolve_formulas(path, name, names, extents, grids)
    marks = {key: sheet_marks(path, info.part) for key, info in chosen.items()}
    return _validate(grids, names, marks, source, warnings, limits.max_problems)


def _declared_sheets(path: Path, name: str) -> tuple[SheetInfo, ...]:
    try:
        return list_sheets(path)
    except Exception as exc:  # a damaged workbook.xml: defusedxml and zipfile raise many types
        raise InputError(
            [
                Problem(
                    name,
                    f"the workbook's list of sheets cannot be read ({type(exc).__name__})",
                    "save it again from Excel as .xlsx",
                    f"无法读取工作簿的工作表清单（{type(exc).__name__}）",
                    "请在 Excel 中重新另存为 .xlsx",
                )
            ]
        ) from None


_KNOWN_SHEETS = (PROVINCES_SHEET, PARAMETERS_SHEET, SCENARIOS_SHEET, *PLAN_SHEETS)
_OPTIONAL_USE: dict[str, tuple[str, str]] = {
    SCENARIOS_SHEET: ("to run its scenarios", "如需运行其中的情景"),
    **{key: ("to use it in the multi-year plan", "如需在多年规划中使用") for key in PLAN_SHEETS},
}
"""The optional sheets, and what renaming a copy of one to its name would do."""
_COPY_SUFFIX = re.compile(r"(?:[\s_-]*(?:\(\d+\)|\d+|copy|副本|备份|旧|old|bak|backup))+$")
_COPY_PREFIX = re.compile(r"^(?:copy of|副本)\s*")


def _copy_of(name: str) -> str | None:
    """The known sheet that a tab named like a copy of it stands for: ``provinces (2)``,
    ``provinces_2``, ``Copy of parameters``, ``scenarios 副本``."""
    folded = normalise_header(name)
    stem = _COPY_PREFIX.sub("", _COPY_SUFFIX.sub("", folded)).strip()
    return stem if stem in _KNOWN_SHEETS and stem != folded else None


def _choose_sheets(infos: tuple[SheetInfo, ...], warnings: list[Problem]) -> dict[str, SheetInfo]:
    """Canonical sheet key → the sheet to read; refuse hidden ones and name look-alikes.

    A hidden sheet is never read without a word: planners cannot see what it holds, and a
    stale hidden ``provinces`` beside an edited visible copy is exactly how last year's
    figures get solved. A visible copy (``provinces (2)``) is named wherever it matters.

    Raises:
        InputError: a required sheet is missing, or a sheet to be read is hidden.
    """
    exact: dict[str, SheetInfo] = {}
    copies: dict[str, list[SheetInfo]] = {key: [] for key in _KNOWN_SHEETS}
    for declared in infos:
        folded = normalise_header(declared.name)
        if folded in _KNOWN_SHEETS and folded not in exact:
            exact[folded] = declared
        elif (stem := _copy_of(declared.name)) is not None:
            copies[stem].append(declared)
    problems: list[Problem] = []
    for key in _KNOWN_SHEETS:
        info = exact.get(key)
        visible = [c for c in copies[key] if not c.hidden]
        hint = f'"{visible[0].name}"' if visible else ""
        hint_zh = f"“{visible[0].name}”" if visible else ""
        if info is None:
            if key in _OPTIONAL_USE:
                use, use_zh = _OPTIONAL_USE[key]
                for copy in visible:
                    warnings.append(
                        Problem(
                            f"{copy.name}!A1",
                            f'the sheet "{copy.name}" looks like a copy of {key} and is not read',
                            f"rename it to {key} {use}, or delete it",
                            f"工作表“{copy.name}”像是 {key} 的副本，未被读取",
                            f"{use_zh}，请将其重命名为 {key}；否则请删除",
                        )
                    )
                continue
            fix = f"add a sheet called {key} (start from `caf template`)"
            fix_zh = f"请添加名为 {key} 的工作表（可从 `caf template` 生成的模板开始）"
            if hint:
                fix = f"the sheet {hint} looks like it: rename it to {key}"
                fix_zh = f"工作表{hint_zh}像是它的副本：请将其重命名为 {key}"
            problems.append(
                Problem(
                    f"{key}!A1",
                    f'found no sheet named "{key}"',
                    fix,
                    f"未找到名为“{key}”的工作表",
                    fix_zh,
                )
            )
            continue
        if info.hidden:
            fix = "unhide it and check it (right-click a sheet tab ▸ Unhide), or delete it"
            fix_zh = "请取消隐藏并核对（右键单击工作表标签 ▸ 取消隐藏），或将其删除"
            if hint:
                fix = (
                    f"the visible sheet {hint} looks like an edited copy: if it holds the "
                    f"figures to use, delete the hidden sheet and rename {hint} to {key}"
                )
                fix_zh = (
                    f"可见的工作表{hint_zh}像是修改过的副本：如应使用其中的数据，"
                    f"请删除隐藏的工作表，并将{hint_zh}重命名为 {key}"
                )
            state = "very hidden" if info.state == "veryHidden" else "hidden"
            state_zh = "深度隐藏" if info.state == "veryHidden" else "隐藏"
            problems.append(
                Problem(
                    f"{info.name}!A1",
                    f'the sheet "{info.name}" is {state}, so what would be read cannot be seen',
                    fix,
                    f"工作表“{info.name}”处于{state_zh}状态，无法看到将被读取的内容",
                    fix_zh,
                )
            )
            continue
        for copy in copies[key]:
            warnings.append(
                Problem(
                    f"{copy.name}!A1",
                    f'the sheet "{copy.name}" looks like a copy of {key} and is not read; '
                    f'only "{info.name}" is',
                    f'delete it, or, if it holds the figures to use, delete "{info.name}" '
                    f"and rename it to {key}",
                    f"工作表“{copy.name}”像是 {key} 的副本，未被读取；只读取“{info.name}”",
                    f"请删除该副本；如应使用其中的数据，请删除“{info.name}”并将副本重命名为 {key}",
                )
            )
    if problems:
        raise InputError(problems)
    return exact


def _said(exc: BaseException, path: Path, name: str) -> str:
    """What a parser said, on one line, with the file named as the planner knows it."""
    said = " ".join(str(exc).split()) or type(exc).__name__
    return said.replace(str(path), name).replace(path.name, name)


def _damaged_workbook(exc: BaseException, path: Path, name: str) -> InputError:
    said = _said(exc, path, name)
    return InputError(
        [
            Problem(
                name,
                f"the workbook cannot be opened ({said})",
                "save it again from Excel as .xlsx",
                f"无法打开工作簿（{said}）",
                "请在 Excel 中重新另存为 .xlsx",
            )
        ]
    )


def _grids(
    path: Path,
    name: str,
    sheets: dict[str, str],
    extents: dict[str, Extent],
    data_only: bool,
) -> dict[str, list[list[Cell]]]:
    """Every chosen sheet's cells, read by openpyxl within its measured extent."""
    try:
        workbook = _load(path, data_only, set(sheets.values()))
    except Exception as exc:  # openpyxl raises many types for damaged files
        raise _damaged_workbook(exc, path, name) from None
    try:
        grids = {}
        for key, sheet in sheets.items():
            try:
                grids[key] = _grid(workbook[sheet], extents[key])
            except Exception as exc:  # the parser meets what the scan let through
                raise damaged(name, sheet, _said(exc, path, name)) from None
        return grids
    finally:
        workbook.close()


def _load(path: Path, data_only: bool, wanted: set[str]) -> Any:
    """openpyxl's read-only workbook holding only the ``wanted`` sheets, none of them sized.

    ``load_workbook`` sizes every sheet as it opens it, and a sheet without a
    ``<dimension>`` is sized by parsing all of it: a million rows in a sheet caf never
    reads cost 13 s. The extent of each wanted sheet is measured beforehand instead.
    """
    # imported here: the web app validates uploads without the rest
    from openpyxl.reader.excel import ExcelReader
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet

    class Measured(ReadOnlyWorksheet):
        def _get_size(self) -> None:
            """Left unsized: ``_grid`` passes the measured extent."""

    class Reader(ExcelReader):
        def read_worksheets(self) -> None:
            for sheet, rel in self.parser.find_sheets():
                if sheet.name in wanted and rel.target in self.valid_files:
                    measured = Measured(self.wb, sheet.name, rel.target, self.shared_strings)
                    measured.sheet_state = sheet.state
                    self.wb._sheets.append(measured)

    reader = Reader(path, read_only=True, data_only=data_only, keep_links=False)
    reader.read()
    return reader.wb


def _grid(sheet: Any, extent: Extent) -> list[list[Cell]]:
    """The sheet's cells as rows of (value, data_type) up to its extent, every row as wide
    as the widest, trailing blank rows dropped.

    The extent, not the ``<dimension>`` the sheet declares, bounds what openpyxl fills in.
    """
    if extent.rows == 0:
        return []
    rows: list[list[Cell]] = []
    cells = sheet.iter_rows(min_row=1, max_row=extent.rows, min_col=1, max_col=extent.columns)
    # Stop at the last row: openpyxl would parse on to the end, merged ranges and all.
    for row in itertools.islice(cells, extent.rows):
        rows.append([(getattr(c, "value", None), getattr(c, "data_type", "n")) for c in row])
    while rows and all(blank(v) for v, _ in rows[-1]):
        rows.pop()
    return rows


def _count_units(grid: list[list[Cell]], sheet: str, limits: ReadingLimits) -> None:
    """Refuse more units than ``limits.max_units`` before any is checked: a sheet of a
    million bad rows would otherwise be described cell by cell."""
    holding = (r for r, row in enumerate(grid, start=1) if any(not blank(v) for v, _ in row))
    next(holding, None)  # the header row
    for count, row in enumerate(holding, start=1):
        if count > limits.max_units:
            raise InputError([too_many_units(sheet, row, limits)])


def _resolve_formulas(
    path: Path,
    name: str,
    sheets: dict[str, str],
    extents: dict[str, Extent],
    grids: dict[str, list[list[Cell]]],
) -> dict[str, list[list[Cell]]]:
    """Replace formulas by the values Excel cached; mark formulas that have none.

    A workbook written by a program and never opened in Excel holds formulas with no
    cached value. Reading those as blank would silently lose data, so they become
    ``_Uncached`` markers that validation reports by cell.
    """
    if not any(dtype == "f" for grid in grids.values() for row in grid for _, dtype in row):
        return grids
    values = _grids(path, name, sheets, extents, data_only=True)
    resolved: dict[str, list[list[Cell]]] = {}
    for key, grid in grids.items():
        cached = [[v for v, _ in row] for row in values[key]]
        new_grid = []
        for r, row in enumerate(grid):
            new_row = []
            for c, (value, dtype) in enumerate(row):
                if dtype == "f":
                    hit = cached[r][c] if r < len(cached) and c < len(cached[r]) else None
                    new_row.append((Uncached(value) if hit is None else hit, "n"))
                else:
                    new_row.append((value, dtype))
            new_grid.append(new_row)
        resolved[key] = new_grid
    return resolved


def _validate(
    grids: dict[str, list[list[Cell]]],
    sheets: dict[str, str],
    marks: dict[str, Marks],
    source: Source,
    warnings: list[Problem],
    most: int,
) -> FundData:
    """Every check of the sheets' contents; of the problems found, the first ``most`` are
    kept and the rest counted, so a sheet of a million bad cells is described in a page."""
    problems = Problems(most)
    layout: dict[str, dict[str, str]] = {"provinces": {}, "parameters": {}}
    for key, grid in grids.items():
        _check_marks(grid, sheets[key], marks[key], problems, warnings)
    units = _read_provinces(
        grids[PROVINCES_SHEET],
        sheets[PROVINCES_SHEET],
        marks[PROVINCES_SHEET],
        problems,
        layout["provinces"],
    )
    parameters, accept_unusual = _read_parameters(
        grids[PARAMETERS_SHEET],
        sheets[PARAMETERS_SHEET],
        marks[PARAMETERS_SHEET],
        problems,
        layout["parameters"],
    )
    # a key the planner's sheet lacks is located where its row would be added
    free = f"{sheets[PARAMETERS_SHEET]}!A{len(grids[PARAMETERS_SHEET]) + 1}"
    cells = {f.key: layout["parameters"].get(f.key, free) for f in PARAMETER_FIELDS}
    horizon = _read_plan_sheets(grids, sheets, marks, parameters, units, cells, problems, warnings)
    scenarios: list[Scenario] = []
    if parameters is not None:
        scenarios.append(Scenario(BASE_SCENARIO, parameters))
        scenario_cells: dict[str, dict[str, str]] = {BASE_SCENARIO: {}}
        if SCENARIOS_SHEET in grids:
            scenarios += _read_scenarios(
                grids[SCENARIOS_SHEET],
                sheets[SCENARIOS_SHEET],
                marks[SCENARIOS_SHEET],
                parameters,
                problems,
                scenario_cells,
            )
        problems += _plan_problems(scenarios, horizon, cells, scenario_cells)
        plans = [s.parameters for s in scenarios]
        warnings += unused_plan_warnings(grids, sheets, plans, cells["optimize_ratio_path"])
    if units is not None:  # rows whose cells failed read as blanks, which no ratio uses
        columns = layout["provinces"]
        errors, doubts = check_plausibility(units, sheets[PROVINCES_SHEET], columns)
        if accept_unusual:
            doubts = errors + doubts
        else:
            problems += errors
        warnings += doubts
    if problems or units is None or parameters is None:
        raise InputError(problems.listed())
    source = dataclasses.replace(
        source,
        province_columns=tuple(sorted(layout["provinces"].items())),
        parameter_cells=tuple(sorted(layout["parameters"].items())),
        warnings=tuple(warnings),
    )
    return FundData(
        units=units,
        parameters=parameters,
        scenarios=tuple(scenarios),
        source=source,
        horizon=horizon,
    )


def _read_plan_sheets(
    grids: dict[str, list[list[Cell]]],
    sheets: dict[str, str],
    marks: dict[str, Marks],
    parameters: Parameters | None,
    units: pd.DataFrame | None,
    cells: dict[str, str],
    problems: list[Problem],
    warnings: list[Problem],
) -> Horizon:
    """The plan's sheets, checked against the base parameters' horizon and the provinces
    sheet's codes where those could be read; and the national growth rates' warnings."""
    window = None
    if parameters is not None:
        year, end = parameters.year, parameters.plan_end_year
        window = Window(year, end, cells["year"], cells["plan_end_year"])
        warnings += growth_warnings(parameters, cells)
    codes = None if units is None else set(units.index)
    return read_horizon(grids, sheets, marks, window, codes, problems, warnings)


def _plan_problems(
    scenarios: list[Scenario],
    horizon: Horizon,
    cells: dict[str, str],
    scenario_cells: dict[str, dict[str, str]],
) -> list[Problem]:
    """``horizon.plan_problems`` of every scenario that plans (has ``plan_end_year``).

    A value a scenario overrides is located at its cell in the scenarios sheet, one it
    inherits at the parameters sheet's; a problem the scenarios inherit from the base is
    said once.
    """
    found: list[Problem] = []
    for scenario in scenarios:
        if scenario.parameters.plan_end_year is None:
            continue
        where = PARAMETERS_SHEET if scenario.name == BASE_SCENARIO else SCENARIOS_SHEET
        located = {**cells, **scenario_cells.get(scenario.name, {})}
        for problem in plan_problems(scenario.parameters, horizon, where, located):
            if problem not in found:
                found.append(problem)
    return found


def _check_marks(
    grid: list[list[Cell]],
    sheet: str,
    marks: Marks,
    problems: list[Problem],
    warnings: list[Problem],
) -> None:
    """Merged cells anywhere in the read area are errors; hidden rows and columns that hold
    figures are warnings (they are read, but the planner cannot see them).

    A merged header swallows the header of the column beside it, and a merged data cell
    holds its value in the first row only, so the other rows would silently take a default.
    """
    for merge in marks.merges:
        first = f"{column_letter(merge.first_col)}{merge.first_row}"
        last = f"{column_letter(merge.last_col)}{merge.last_row}"
        if merge.first_row > len(grid):
            continue
        if merge.first_row == 1:
            problems.append(
                Problem(
                    f"{sheet}!{first}:{last}",
                    "found merged header cells",
                    "unmerge them and give every column its own header from the template",
                    "发现合并的表头单元格",
                    "请取消合并，并为每一列填写模板中的表头",
                )
            )
        else:
            problems.append(
                Problem(
                    f"{sheet}!{first}:{last}",
                    "found merged cells, which hold a value in their first cell only",
                    "unmerge them and fill in every cell",
                    "发现合并单元格，合并后只有第一个单元格有值",
                    "请取消合并，并逐个填写每个单元格",
                )
            )
    rows = [r for r in marks.hidden_rows if r <= len(grid) and _holds_data(grid[r - 1])]
    if rows:
        shown = ", ".join(str(r) for r in rows[:10]) + (" …" if len(rows) > 10 else "")
        warnings.append(
            Problem(
                f"{sheet}!A{rows[0]}",
                f"rows {shown} are hidden but are read like every other row",
                "unhide them and check them, or delete them if they are stale",
                f"第 {shown} 行被隐藏，但与其他行一样被读取",
                "请取消隐藏并核对；如为过时数据，请删除",
            )
        )
    width = max((len(row) for row in grid), default=0)
    columns = [
        c
        for c in marks.hidden_columns
        if c <= width and any(c <= len(row) and not blank(row[c - 1][0]) for row in grid)
    ]
    if columns:
        shown = ", ".join(column_letter(c) for c in columns[:10])
        warnings.append(
            Problem(
                f"{sheet}!{column_letter(columns[0])}1",
                f"columns {shown} are hidden but are read like every other column",
                "unhide them and check them, or delete them if they are stale",
                f"{shown} 列被隐藏，但与其他列一样被读取",
                "请取消隐藏并核对；如为过时数据，请删除",
            )
        )


def _holds_data(row: list[Cell]) -> bool:
    return any(not blank(v) for v, _ in row)


_TOTAL_WORDS = re.compile(
    r"合计|小计|总计|共计|汇总|总和|总数|全国|全省|"
    r"\b(?:grand\s+)?(?:sub-?)?totals?\b|\bsum\b|\bnation(?:al|wide)\b|\boverall\b|"
    r"^all(?:\s+(?:units|provinces|regions))?$"
)
_LABEL_KEYS = ("code", "name_zh", "name_en", "region")


def _total_label(row: list[Cell], columns: dict[int, str]) -> tuple[int, str] | None:
    """The first label in ``row`` that marks it as a total or subtotal (合计, Total …)."""
    for index, (value, _) in enumerate(row):
        if not isinstance(value, str) or (index in columns and columns[index] not in _LABEL_KEYS):
            continue
        text = text_of(value)
        if _TOTAL_WORDS.search(text.casefold()):
            return index, text
    return None


_ADDITIVE = (
    "insured_employees_10k",
    "retirees_10k",
    "contribution_income_100m",
    "expenditure_100m",
)


def _sum_rows(records: list[dict[str, Any]]) -> list[int]:
    """Indexes of records whose additive figures each equal the sum of all the others.

    Such a row is a total, whatever its label says; with it the fund would be counted
    twice. Four independent figures matching to 0.1% cannot happen by chance.
    """
    if len(records) < 3:
        return []
    values = np.array([[_finite(r.get(k)) for k in _ADDITIVE] for r in records], dtype=float)
    if np.isnan(values).any():
        return []
    others = values.sum(axis=0) - values
    close = np.abs(values - others) <= 1e-3 * np.maximum(np.abs(values), 1e-9)
    return [i for i in range(len(records)) if bool(close[i].all()) and values[i].min() > 0]


def _crossed_guardrails(
    records: list[dict[str, Any]], sheet: str, layout: dict[str, str]
) -> list[Problem]:
    """A unit's minimum transfer above its maximum: the two cells contradict each other."""
    problems = []
    for record in records:
        low, high = record.get("min_transfer_100m"), record.get("max_transfer_100m")
        if isinstance(low, float) and isinstance(high, float) and low > high:
            r = record["input_row"]
            high_cell = f"{sheet}!{layout['max_transfer_100m']}{r}"
            problems.append(
                Problem(
                    f"{sheet}!{layout['min_transfer_100m']}{r}",
                    f"found a minimum transfer of {low:g}亿, above the maximum of {high:g}亿 "
                    f"in {high_cell}",
                    "make the minimum no larger than the maximum, or leave one blank",
                    f"最低拨付额{low:g}亿元高于{high_cell}中的最高拨付额{high:g}亿元",
                    "请使最低拨付额不高于最高拨付额，或将其中之一留空",
                )
            )
    return problems


def _finite(value: object) -> float:
    return float(value) if isinstance(value, int | float) else math.nan


def _read_provinces(
    grid: list[list[Cell]],
    sheet: str,
    marks: Marks,
    problems: list[Problem],
    layout: dict[str, str],
) -> pd.DataFrame | None:
    columns = read_headers(grid, sheet, PROVINCE_FIELDS, problems, marks)
    if columns is None:
        return None
    layout.update({key: column_letter(index + 1) for index, key in columns.items()})
    present = set(columns.values())
    header_of = {key: text_of(grid[0][i][0]) for i, key in columns.items()}
    missing = [f for f in PROVINCE_FIELDS if f.required and f.key not in present]
    for field in missing:
        problems.append(
            Problem(
                f"{sheet}!1:1",
                f"found no column for {field.key}",
                f'add a column headed "{field.label}"',
                f"未找到 {field.key} 列",
                f"请添加表头为“{field.label}”的列",
            )
        )
    records: list[dict[str, Any]] = []
    first_row_of: dict[str, int] = {}
    code_letter = next((layout[k] for k in ("code",) if k in layout), "A")
    for r, row in enumerate(grid[1:], start=2):
        if all(blank(v) for i, (v, _) in enumerate(row) if i in columns):
            continue
        total = _total_label(row, columns)
        if total is not None:
            index, text = total
            problems.append(
                Problem(
                    f"{sheet}!{column_letter(index + 1)}{r}",
                    f'found "{text}", a total or subtotal row',
                    "delete this row: caf adds up the units itself, and a total read as a "
                    "unit would count the fund twice",
                    f"发现“{text}”，这是合计或小计行",
                    "请删除此行：caf 会自行汇总各单位，"
                    "合计行若被当作一个单位读取，基金将被重复计算",
                )
            )
            continue
        record: dict[str, Any] = {}
        for index, key in columns.items():
            raw = row[index][0] if index < len(row) else None
            value, fault = coerce_cell(PROVINCE_BY_KEY[key], raw)
            if fault is not None:
                where = f"{sheet}!{column_letter(index + 1)}{r}"
                problems.append(fault.at(where, f"in {header_of[key]}", f"“{header_of[key]}”列"))
            record[key] = value
        record["input_row"] = r
        code = record.get("code")
        if code:
            if code in first_row_of:
                problems.append(
                    Problem(
                        f"{sheet}!{code_letter}{r}",
                        f'found the code "{code}" again',
                        f"codes must be unique; it is already used in row {first_row_of[code]}",
                        f"代码“{code}”重复",
                        f"代码必须唯一；第 {first_row_of[code]} 行已使用该代码",
                    )
                )
            else:
                first_row_of[code] = r
        records.append(record)
    problems += _crossed_guardrails(records, sheet, layout)
    for index in _sum_rows(records):
        r = records[index]["input_row"]
        problems.append(
            Problem(
                f"{sheet}!{code_letter}{r}",
                "found a row whose insured employees, retirees, contribution income and "
                "expenditure each equal the sum of all the other rows",
                "if it is a total row, delete it: caf adds up the units itself",
                "该行的参保职工人数、离退休人数、征缴收入和基金支出均等于其他各行之和",
                "如为合计行，请删除：caf 会自行汇总各单位",
            )
        )
    if not records:
        problems.append(
            Problem(
                f"{sheet}!A2",
                "found no pooling units",
                "enter one row per province (31 provinces plus the XPCC)",
                "未找到任何统筹单位",
                "请每个省份填写一行（31 个省份和新疆生产建设兵团）",
            )
        )
        return None
    if missing:
        return None
    return _units_frame(records)


def _units_frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(records)
    for field in PROVINCE_FIELDS:
        if field.key not in frame:
            frame[field.key] = field.default
    keys = [f.key for f in PROVINCE_FIELDS]
    if "input_row" in frame:
        keys.append("input_row")
    frame = frame[keys]
    for field in PROVINCE_FIELDS:
        if field.kind == "number":
            frame[field.key] = pd.to_numeric(frame[field.key], errors="raise").astype(float)
        else:
            frame[field.key] = frame[field.key].fillna("").astype(str)
    frame = frame.set_index("code", drop=False).sort_index()
    frame.index.name = "code"
    return frame


def _read_parameters(
    grid: list[list[Cell]],
    sheet: str,
    marks: Marks,
    problems: list[Problem],
    layout: dict[str, str],
) -> tuple[Parameters | None, bool]:
    """The base parameters, and whether the workbook accepts unusual figures."""
    header = (PARAMETER_KEY_HEADER, PARAMETER_VALUE_HEADER)
    columns = read_headers(grid, sheet, header, problems, marks)
    if columns is None:
        return None, False
    by_key = {key: index for index, key in columns.items()}
    if "key" not in by_key or "value" not in by_key:
        problems.append(
            Problem(
                f"{sheet}!1:1",
                "found no key and value columns",
                'head column A "key" and column B "value"',
                "未找到 key 和 value 两列",
                "请将 A 列表头写为 key，B 列表头写为 value",
            )
        )
        return None, False
    fields = (*PARAMETER_FIELDS, ACCEPT_UNUSUAL)
    aliases = header_aliases(fields)
    values: dict[str, object] = {}
    where: dict[str, str] = {}
    written: dict[str, str] = {}
    kc, vc = by_key["key"], by_key["value"]
    for r, row in enumerate(grid[1:], start=2):
        raw_key = row[kc][0] if kc < len(row) else None
        raw_value = row[vc][0] if vc < len(row) else None
        if blank(raw_key):
            continue
        text = text_of(raw_key)
        if is_ignored_header(text):
            continue
        key = aliases.get(normalise_header(text))
        key_cell = f"{sheet}!{column_letter(kc + 1)}{r}"
        if key is None:
            known = ", ".join(f.key for f in PARAMETER_FIELDS)
            problems.append(
                Problem(
                    key_cell,
                    f'found the unknown parameter key "{text}"',
                    f"use one of {known}",
                    f"发现无法识别的参数“{text}”",
                    f"请使用以下参数之一：{known}",
                )
            )
            continue
        if key in values:
            problems.append(
                Problem(
                    key_cell,
                    f'found "{text}" a second time',
                    f"keep one row for {key} (first in {where[key]})",
                    f"参数“{text}”重复出现",
                    f"{key} 只保留一行（首次出现在 {where[key]}）",
                )
            )
            continue
        values[key] = raw_value
        written[key] = text
        where[key] = f"{sheet}!{column_letter(vc + 1)}{r}"
    clean: dict[str, Any] = {}
    failed = False
    for field in fields:
        if field.key not in values:
            if field.required:
                failed = True
                problems.append(
                    Problem(
                        f"{sheet}!{column_letter(kc + 1)}{len(grid) + 1}",
                        f"found no row for the required key {field.key}",
                        f"add a row with key {field.key} and {field.expected}",
                        f"缺少必填参数 {field.key}",
                        f"请添加一行，key 为 {field.key}，value {field.expected_zh}",
                    )
                )
            clean[field.key] = field.default
            continue
        value, fault = coerce_cell(field, values[field.key])
        if fault is not None:
            failed = True
            text = written[field.key]
            problems.append(fault.at(where[field.key], f"for {text}", f"参数 {text}"))
        clean[field.key] = value
    layout.update(where)
    accept = clean.pop(ACCEPT_UNUSUAL.key) == "yes"
    return (None if failed else Parameters(**clean)), accept


def _read_scenarios(
    grid: list[list[Cell]],
    sheet: str,
    marks: Marks,
    base: Parameters,
    problems: list[Problem],
    cells: dict[str, dict[str, str]],
) -> list[Scenario]:
    """The scenarios of the sheet; ``cells`` gets, per scenario, key → the cell of each
    value it overrides."""
    if not grid or all(blank(v) for row in grid for v, _ in row):
        return []
    fields = (SCENARIO_NAME_HEADER, *PARAMETER_FIELDS)
    columns = read_headers(grid, sheet, fields, problems, marks)
    if columns is None or "scenario" not in columns.values():
        if columns is not None:
            problems.append(
                Problem(
                    f"{sheet}!A1",
                    "found no scenario column",
                    'head the first column "scenario"',
                    "未找到 scenario 列",
                    "请将第一列表头写为 scenario",
                )
            )
        return []
    name_col = next(i for i, k in columns.items() if k == "scenario")
    scenarios: list[Scenario] = []
    seen: dict[str, int] = {BASE_SCENARIO: 0}
    for r, row in enumerate(grid[1:], start=2):
        if all(blank(v) for i, (v, _) in enumerate(row) if i in columns):
            continue
        raw_name = row[name_col][0] if name_col < len(row) else None
        name_where = f"{sheet}!{column_letter(name_col + 1)}{r}"
        if blank(raw_name):
            problems.append(
                Problem(
                    name_where,
                    "found a blank scenario name",
                    "give every scenario a unique name",
                    "情景名称为空",
                    "请为每个情景填写唯一的名称",
                )
            )
            continue
        name, fault = coerce_cell(SCENARIO_NAME_HEADER, raw_name)
        if fault is not None:
            problems.append(fault.at(name_where, "in the scenario name", "情景名称"))
            continue
        if name in seen:
            if name == BASE_SCENARIO:
                fix = "the parameters sheet is the base scenario; choose another name"
                fix_zh = "parameters 工作表即基准情景 base；请另取名称"
            else:
                fix = f"names must be unique (row {seen[name]})"
                fix_zh = f"名称必须唯一（第 {seen[name]} 行已使用）"
            problems.append(
                Problem(
                    name_where,
                    f'found the scenario name "{name}" again',
                    fix,
                    f"情景名称“{name}”重复",
                    fix_zh,
                )
            )
            continue
        seen[name] = r
        overrides: dict[str, object] = {}
        written: dict[str, str] = {}
        ok = True
        for index, key in columns.items():
            if key == "scenario" or index >= len(row) or blank(row[index][0]):
                continue
            value, fault = coerce_cell(PARAMETER_BY_KEY[key], row[index][0])
            where = f"{sheet}!{column_letter(index + 1)}{r}"
            if fault is not None:
                ok = False
                header = text_of(grid[0][index][0])
                problems.append(fault.at(where, f"in {header}", f"“{header}”列"))
            else:
                overrides[key] = value
                written[key] = where
        if ok:
            params = apply_overrides(base, overrides, name_where)
            scenarios.append(Scenario(name, params, tuple(overrides.items())))
            cells[name] = written
    return scenarios
