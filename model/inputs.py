"""Workbook → validated ``FundData``: the only module that reads planners' files.

Every problem in the workbook is collected first and raised once as an ``InputError``,
each located by sheet and cell and quoting the header as the planner wrote it. The file
is inspected as a zip archive before openpyxl sees it, so that non-workbooks, macro
workbooks, oversized files and zip bombs are refused cheaply.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from model.archive import inspect_archive
from model.cells import Uncached, blank, coerce_cell, column_letter
from model.errors import InputError, Problem
from model.scenarios import BASE_SCENARIO, Parameters, Scenario, apply_overrides
from model.schema import (
    PARAMETER_FIELDS,
    PARAMETER_KEY_HEADER,
    PARAMETER_VALUE_HEADER,
    PARAMETERS_SHEET,
    PROVINCE_BY_KEY,
    PROVINCE_FIELDS,
    PROVINCES_SHEET,
    SCENARIO_NAME_HEADER,
    SCENARIOS_SHEET,
    Field,
    header_aliases,
    is_ignored_header,
    normalise_header,
)


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
    """

    units: pd.DataFrame
    parameters: Parameters
    scenarios: tuple[Scenario, ...]
    source: Source

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
                )
            ]
        )


def read_workbook(path: str | Path, display_name: str | None = None) -> FundData:
    """Read and validate an input workbook.

    Args:
        path: the .xlsx file.
        display_name: the name to record as the source (an upload's original name).

    Raises:
        InputError: listing every problem found.
    """
    path = Path(path)
    name = display_name or path.name
    digest, size = inspect_archive(path, name)
    source = Source(name=name, sha256=digest, size_bytes=size)
    workbook = _open(path, data_only=False)
    try:
        sheets = _sheet_map(workbook.sheetnames)
        problems: list[Problem] = []
        for required in (PROVINCES_SHEET, PARAMETERS_SHEET):
            if required not in sheets:
                problems.append(
                    Problem(
                        f"{required}!A1",
                        f'found no sheet named "{required}"',
                        f"add a sheet called {required} (start from `caf template`)",
                    )
                )
        if problems:
            raise InputError(problems)
        grids = {
            key: _grid(workbook[name])
            for key, name in sheets.items()
            if key in (PROVINCES_SHEET, PARAMETERS_SHEET, SCENARIOS_SHEET)
        }
    finally:
        workbook.close()
    grids = _resolve_formulas(path, sheets, grids)
    return _validate(grids, sheets, source)


def _open(path: Path, data_only: bool) -> Any:
    import openpyxl  # imported here: the web app validates uploads without the rest

    try:
        return openpyxl.load_workbook(path, read_only=True, data_only=data_only)
    except Exception as exc:  # openpyxl raises many types for damaged files
        raise InputError(
            [
                Problem(
                    path.name,
                    f"the workbook cannot be opened ({exc})",
                    "save it again from Excel as .xlsx",
                )
            ]
        ) from None


def _sheet_map(sheetnames: Iterable[str]) -> dict[str, str]:
    """Canonical sheet key → the name as written, matching case and blanks loosely."""
    wanted = (PROVINCES_SHEET, PARAMETERS_SHEET, SCENARIOS_SHEET)
    found: dict[str, str] = {}
    for name in sheetnames:
        folded = normalise_header(name)
        if folded in wanted and folded not in found:
            found[folded] = name
    return found


Cell = tuple[Any, str]  # (value, data_type)


def _grid(sheet: Any) -> list[list[Cell]]:
    """The sheet's cells as rows of (value, data_type), trailing blank rows dropped."""
    rows: list[list[Cell]] = []
    if hasattr(sheet, "reset_dimensions"):
        sheet.reset_dimensions()
    for row in sheet.iter_rows():
        rows.append([(getattr(c, "value", None), getattr(c, "data_type", "n")) for c in row])
    while rows and all(blank(v) for v, _ in rows[-1]):
        rows.pop()
    return rows


def _resolve_formulas(
    path: Path, sheets: dict[str, str], grids: dict[str, list[list[Cell]]]
) -> dict[str, list[list[Cell]]]:
    """Replace formulas by the values Excel cached; mark formulas that have none.

    A workbook written by a program and never opened in Excel holds formulas with no
    cached value. Reading those as blank would silently lose data, so they become
    ``_Uncached`` markers that validation reports by cell.
    """
    if not any(dtype == "f" for grid in grids.values() for row in grid for _, dtype in row):
        return grids
    workbook = _open(path, data_only=True)
    try:
        resolved: dict[str, list[list[Cell]]] = {}
        for key, grid in grids.items():
            cached = [[v for v, _ in row] for row in _grid(workbook[sheets[key]])]
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
    finally:
        workbook.close()


def _validate(
    grids: dict[str, list[list[Cell]]], sheets: dict[str, str], source: Source
) -> FundData:
    problems: list[Problem] = []
    layout: dict[str, dict[str, str]] = {"provinces": {}, "parameters": {}}
    units = _read_provinces(
        grids[PROVINCES_SHEET], sheets[PROVINCES_SHEET], problems, layout["provinces"]
    )
    parameters = _read_parameters(
        grids[PARAMETERS_SHEET], sheets[PARAMETERS_SHEET], problems, layout["parameters"]
    )
    scenarios: list[Scenario] = []
    if parameters is not None:
        scenarios.append(Scenario(BASE_SCENARIO, parameters))
        if SCENARIOS_SHEET in grids:
            scenarios += _read_scenarios(
                grids[SCENARIOS_SHEET], sheets[SCENARIOS_SHEET], parameters, problems
            )
    if problems or units is None or parameters is None:
        raise InputError(problems)
    source = dataclasses.replace(
        source,
        province_columns=tuple(sorted(layout["provinces"].items())),
        parameter_cells=tuple(sorted(layout["parameters"].items())),
    )
    return FundData(units=units, parameters=parameters, scenarios=tuple(scenarios), source=source)


def _headers(
    grid: list[list[Cell]], sheet: str, fields: tuple[Field, ...], problems: list[Problem]
) -> dict[int, str] | None:
    """Map column index → key from the header row; report unknown and duplicate headers."""
    aliases = header_aliases(fields)
    if not grid or all(blank(v) for v, _ in grid[0]):
        problems.append(
            Problem(f"{sheet}!A1", "found no header row", "copy the header row from `caf template`")
        )
        return None
    columns: dict[int, str] = {}
    written: dict[str, str] = {}
    for index, (value, _) in enumerate(grid[0]):
        if blank(value):
            continue
        text = str(value).strip()
        where = f"{sheet}!{column_letter(index + 1)}1"
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
                )
            )
        elif key in written:
            problems.append(
                Problem(
                    where,
                    f'found "{text}", a second column for {key}',
                    f'delete one of it and "{written[key]}"',
                )
            )
        else:
            columns[index] = key
            written[key] = text
    return columns


def _read_provinces(
    grid: list[list[Cell]], sheet: str, problems: list[Problem], layout: dict[str, str]
) -> pd.DataFrame | None:
    columns = _headers(grid, sheet, PROVINCE_FIELDS, problems)
    if columns is None:
        return None
    layout.update({key: column_letter(index + 1) for index, key in columns.items()})
    present = set(columns.values())
    header_of = {key: str(grid[0][i][0]).strip() for i, key in columns.items()}
    missing = [f for f in PROVINCE_FIELDS if f.required and f.key not in present]
    for field in missing:
        problems.append(
            Problem(
                f"{sheet}!1:1",
                f"found no column for {field.key}",
                f'add a column headed "{field.label}"',
            )
        )
    records: list[dict[str, Any]] = []
    first_row_of: dict[str, int] = {}
    for r, row in enumerate(grid[1:], start=2):
        if all(blank(v) for i, (v, _) in enumerate(row) if i in columns):
            continue
        record: dict[str, Any] = {}
        for index, key in columns.items():
            raw = row[index][0] if index < len(row) else None
            value, error = coerce_cell(PROVINCE_BY_KEY[key], raw)
            if error is not None:
                what, fix = error
                problems.append(
                    Problem(
                        f"{sheet}!{column_letter(index + 1)}{r}", f"{what} in {header_of[key]}", fix
                    )
                )
            record[key] = value
        record["input_row"] = r
        code = record.get("code")
        if code:
            if code in first_row_of:
                letter = column_letter(next(i for i, k in columns.items() if k == "code") + 1)
                problems.append(
                    Problem(
                        f"{sheet}!{letter}{r}",
                        f'found the code "{code}" again',
                        f"codes must be unique; it is already used in row {first_row_of[code]}",
                    )
                )
            else:
                first_row_of[code] = r
        records.append(record)
    if not records:
        problems.append(
            Problem(
                f"{sheet}!A2",
                "found no pooling units",
                "enter one row per province (31 provinces plus the XPCC)",
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
    grid: list[list[Cell]], sheet: str, problems: list[Problem], layout: dict[str, str]
) -> Parameters | None:
    header = (PARAMETER_KEY_HEADER, PARAMETER_VALUE_HEADER)
    columns = _headers(grid, sheet, header, problems)
    if columns is None:
        return None
    by_key = {key: index for index, key in columns.items()}
    if "key" not in by_key or "value" not in by_key:
        problems.append(
            Problem(
                f"{sheet}!1:1",
                "found no key and value columns",
                'head column A "key" and column B "value"',
            )
        )
        return None
    aliases = header_aliases(PARAMETER_FIELDS)
    values: dict[str, object] = {}
    where: dict[str, str] = {}
    written: dict[str, str] = {}
    kc, vc = by_key["key"], by_key["value"]
    for r, row in enumerate(grid[1:], start=2):
        raw_key = row[kc][0] if kc < len(row) else None
        raw_value = row[vc][0] if vc < len(row) else None
        if blank(raw_key):
            continue
        text = str(raw_key).strip()
        if is_ignored_header(text):
            continue
        key = aliases.get(normalise_header(text))
        if key is None:
            problems.append(
                Problem(
                    f"{sheet}!{column_letter(kc + 1)}{r}",
                    f'found the unknown parameter key "{text}"',
                    "use one of " + ", ".join(f.key for f in PARAMETER_FIELDS),
                )
            )
            continue
        if key in values:
            problems.append(
                Problem(
                    f"{sheet}!{column_letter(kc + 1)}{r}",
                    f'found "{text}" a second time',
                    f"keep one row for {key} (first in {where[key]})",
                )
            )
            continue
        values[key] = raw_value
        written[key] = text
        where[key] = f"{sheet}!{column_letter(vc + 1)}{r}"
    clean: dict[str, Any] = {}
    failed = False
    for field in PARAMETER_FIELDS:
        if field.key not in values:
            if field.required:
                failed = True
                problems.append(
                    Problem(
                        f"{sheet}!{column_letter(kc + 1)}{len(grid) + 1}",
                        f"found no row for the required key {field.key}",
                        f"add a row with key {field.key} and {field.expected}",
                    )
                )
            clean[field.key] = field.default
            continue
        value, error = coerce_cell(field, values[field.key])
        if error is not None:
            failed = True
            what, fix = error
            problems.append(Problem(where[field.key], f"{what} for {written[field.key]}", fix))
        clean[field.key] = value
    layout.update(where)
    return None if failed else Parameters(**clean)


def _read_scenarios(
    grid: list[list[Cell]], sheet: str, base: Parameters, problems: list[Problem]
) -> list[Scenario]:
    if not grid or all(blank(v) for row in grid for v, _ in row):
        return []
    fields = (SCENARIO_NAME_HEADER, *PARAMETER_FIELDS)
    columns = _headers(grid, sheet, fields, problems)
    if columns is None or "scenario" not in columns.values():
        if columns is not None:
            problems.append(
                Problem(
                    f"{sheet}!A1", "found no scenario column", 'head the first column "scenario"'
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
                    name_where, "found a blank scenario name", "give every scenario a unique name"
                )
            )
            continue
        name, error = coerce_cell(SCENARIO_NAME_HEADER, raw_name)
        if error is not None:
            what, fix = error
            problems.append(Problem(name_where, f"{what} in the scenario name", fix))
            continue
        if name in seen:
            fix = (
                "the parameters sheet is the base scenario; choose another name"
                if name == BASE_SCENARIO
                else f"names must be unique (row {seen[name]})"
            )
            problems.append(Problem(name_where, f'found the scenario name "{name}" again', fix))
            continue
        seen[name] = r
        overrides: dict[str, object] = {}
        ok = True
        for index, key in columns.items():
            if key == "scenario" or index >= len(row) or blank(row[index][0]):
                continue
            field = next(f for f in PARAMETER_FIELDS if f.key == key)
            value, error = coerce_cell(field, row[index][0])
            if error is not None:
                ok = False
                what, fix = error
                header = str(grid[0][index][0]).strip()
                problems.append(
                    Problem(f"{sheet}!{column_letter(index + 1)}{r}", f"{what} in {header}", fix)
                )
            else:
                overrides[key] = value
        if ok:
            params = apply_overrides(base, overrides, name_where)
            scenarios.append(Scenario(name, params, tuple(overrides.items())))
    return scenarios
