"""Comparison → the comparison workbook written by ``caf compare``.

Sheets: ``kpi`` (one row per scenario, with the trade-off charts), one province ×
scenario matrix per figure, one ``diff`` sheet per scenario against the base, and
``run_info`` with every scenario's parameters and solve levels. Layout only: every
figure comes from ``model.analysis.comparison``.
"""

from __future__ import annotations

import platform
import re
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl import Workbook
from openpyxl.chart import LineChart, Reference
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from model.analysis.comparison import KPI_COLUMNS, Comparison
from model.analysis.equity import METRICS
from model.export.cells import (
    HEADER_FILL,
    HEADER_FONT,
    MONEY,
    MONTHS,
    RATIO,
    print_setup,
    put,
    text_cell,
)
from model.vocabulary import EQUITY_METRICS, FIGURES, kpi_label
from model.xlsx import save_workbook

MATRIX_SHEETS: dict[str, tuple[str, str]] = {
    "net_transfer_100m": ("net_transfer", MONEY),
    "subsidy_100m": ("subsidy", MONEY),
    "months_optimized": ("months_optimized", MONTHS),
}
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")


def write_comparison_workbook(
    comparison: Comparison, path: str | Path, force: bool = False
) -> Path:
    """Write the comparison workbook atomically."""
    workbook = Workbook()
    kpi = workbook.active
    assert kpi is not None
    kpi.title = "kpi"
    table = comparison.kpi_table()
    _kpi_sheet(kpi, table)
    _tradeoff_charts(kpi, table, comparison)
    for column, (title, number_format) in MATRIX_SHEETS.items():
        _frame_sheet(
            workbook.create_sheet(title), comparison.matrix(column).reset_index(), number_format
        )
    names = comparison.names[1:]
    for name, title in zip(names, diff_titles(names), strict=True):
        _diff_sheet(workbook.create_sheet(title), comparison, name)
    _run_info(workbook.create_sheet("run_info"), comparison)
    return save_workbook(workbook, path, force)


FIXED_SHEETS = ("kpi", *(title for title, _ in MATRIX_SHEETS.values()), "run_info")


def diff_titles(names: list[str]) -> list[str]:
    """The diff sheets' titles, one per scenario after the base: ``diff <name>`` when every
    such title is a valid, distinct sheet name (31 characters, none of []:*?/\\, unique
    ignoring case, as Excel compares them), else ``diff 01``, ``diff 02``… for all, in
    scenario order. A name is never cut short, so no title can read as another scenario's;
    each sheet's first row names its scenario in full."""
    titles = [f"diff {name}" for name in names]
    folded = [t.casefold() for t in titles]
    valid = all(
        len(t) <= 31 and not _BAD_SHEET_CHARS.search(t) and not t.endswith("'") for t in titles
    )
    distinct = len(set(folded)) == len(folded) and not set(folded) & set(FIXED_SHEETS)
    if valid and distinct and all(t.strip() == t for t in titles):
        return titles
    width = len(str(len(names)))
    return [f"diff {n:0{max(2, width)}d}" for n in range(1, len(names) + 1)]


def _header_row(sheet: Worksheet, labels: list[str], row: int = 1) -> None:
    """Bold header labels (scenario names are user text: stored as strings, never formulas)."""
    for column, label in enumerate(labels, start=1):
        cell = text_cell(sheet.cell(row=row, column=column), label)
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
        width = min(40, max(12, len(label) * 0.9 + 2))
        sheet.column_dimensions[get_column_letter(column)].width = width
    sheet.freeze_panes = sheet.cell(row=row + 1, column=2)
    sheet.print_title_rows = f"{row}:{row}"
    print_setup(sheet)


def _put(sheet: Worksheet, row: int, column: int, value: Any, number_format: str = "") -> None:
    put(sheet, row, column, None if value is pd.NA else value, number_format or None)


def _frame_sheet(sheet: Worksheet, frame: pd.DataFrame, number_format: str) -> None:
    _header_row(sheet, [str(c) for c in frame.columns])
    for r, row in enumerate(frame.itertuples(index=False), start=2):
        for c, value in enumerate(row, start=1):
            _put(sheet, r, c, value, number_format)
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(frame.columns))}{len(frame) + 1}"


def _kpi_sheet(sheet: Worksheet, table: pd.DataFrame) -> None:
    metric_columns = [f"{m}_{s}" for s in ("before", "rule", "optimized") for m in METRICS]
    parameter_columns = [
        c
        for c in table.columns
        if c not in KPI_COLUMNS and c not in metric_columns and c not in ("scenario", "status")
    ]
    columns = ["scenario", "status", *parameter_columns, *KPI_COLUMNS, *metric_columns]
    labels = [kpi_label(c) for c in columns]
    _header_row(sheet, labels)
    for r, row in enumerate(table[columns].itertuples(index=False), start=2):
        for c, (column, value) in enumerate(zip(columns, row, strict=True), start=1):
            fmt = (
                MONEY
                if column.endswith("_100m")
                else (MONTHS if column.startswith("months") else RATIO)
            )
            _put(sheet, r, c, value, fmt if isinstance(value, float) else "")
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{len(table) + 1}"
    notes_row = len(table) + 3
    sheet.cell(row=notes_row, column=1, value="Metric 指标").font = Font(bold=True)
    for offset, (metric, label) in enumerate(EQUITY_METRICS.items(), start=1):
        sheet.cell(row=notes_row + offset, column=1, value=metric)
        sheet.cell(row=notes_row + offset, column=2, value=label.meaning)


def _swept_axis(comparison: Comparison) -> str | None:
    """The one parameter that varies across scenarios, if exactly one does."""
    keys = {k for a in comparison.allocations for k, _ in a.overrides}
    varying = [
        k
        for k in sorted(keys)
        if len({getattr(a.parameters, k) for a in comparison.allocations}) > 1
    ]
    return varying[0] if len(varying) == 1 else None


def _tradeoff_charts(sheet: Worksheet, table: pd.DataFrame, comparison: Comparison) -> None:
    """Total subsidy and imbalance against the swept parameter (or the scenario order)."""
    axis = _swept_axis(comparison)
    data_col = len(table.columns) + 3
    order = table.sort_values(axis, kind="stable") if axis else table
    headers = [
        axis or "scenario",
        "total_subsidy_100m",
        "unfunded_gap_100m",
        "months_min_optimized",
        "months_range_optimized",
    ]
    for c, header in enumerate(headers, start=data_col):
        sheet.cell(row=1, column=c, value=header).font = Font(bold=True)
    for r, (_, row) in enumerate(order.iterrows(), start=2):
        x = row[axis] if axis else row["scenario"]
        _put(
            sheet,
            r,
            data_col,
            "blank (free)" if x is None else (str(x) if not isinstance(x, str) else x),
        )
        for c, key in enumerate(headers[1:], start=data_col + 1):
            _put(sheet, r, c, row[key], MONEY)
    last = len(order) + 1
    categories = Reference(sheet, min_col=data_col, min_row=2, max_row=last)
    anchor_row = len(table) + len(EQUITY_METRICS) + 6
    specs = [
        ("Fiscal subsidy and gap 财政补助与缺口 (亿元)", (1, 2), "亿元"),
        ("Reserve months 储备月数: lowest and range", (3, 4), "months"),
    ]
    for index, (title, (first, second), y_title) in enumerate(specs):
        chart = LineChart()
        chart.title = title
        chart.x_axis.title = axis or "scenario"
        chart.y_axis.title = y_title
        chart.height, chart.width = 8, 16
        data = Reference(
            sheet, min_col=data_col + first, max_col=data_col + second, min_row=1, max_row=last
        )
        chart.add_data(data, titles_from_data=True)
        chart.set_categories(categories)
        sheet.add_chart(chart, f"{get_column_letter(1 + index * 9)}{anchor_row}")


def _diff_sheet(sheet: Worksheet, comparison: Comparison, name: str) -> None:
    frame = comparison.diff(name)
    other = next(a for a in comparison.allocations if a.scenario == name)
    title = text_cell(sheet.cell(row=1, column=1), f"{name} vs {comparison.base.scenario}")
    title.font = Font(bold=True, size=12)
    text_cell(sheet.cell(row=2, column=1), overrides_text(other.overrides))
    if frame.empty:
        sheet.cell(row=3, column=1, value="No unit's figures changed. 各省结果无变化。")
        return
    labels = [
        FIGURES["code"].name,
        FIGURES["name_zh"].name,
        "Name",
        "项目 Figure",
        "基准 Base",
        "情景 Scenario",
        "变化 Change",
    ]
    _header_row(sheet, labels, row=3)
    for r, row in enumerate(frame.itertuples(index=False), start=4):
        for c, value in enumerate(row, start=1):
            fmt = MONTHS if row.figure == "months_optimized" else MONEY
            _put(sheet, r, c, value, fmt)
    sheet.auto_filter.ref = f"A3:G{len(frame) + 3}"


def overrides_text(overrides: tuple[tuple[str, Any], ...]) -> str:
    """``contribution_ratio=0.045; max_rule_deviation=blank``: a scenario's own parameters
    in full, as ``--sweep`` and ``--set`` take them."""
    return "; ".join(f"{key}={'blank' if value is None else value}" for key, value in overrides)


def _run_info(sheet: Worksheet, comparison: Comparison) -> None:
    base = comparison.base
    rows: list[tuple[str, Any]] = [
        ("input file", base.source.name),
        ("input sha256", base.source.sha256),
        ("caf-optimizer", _version("caf-optimizer")),
        ("pyomo", _version("pyomo")),
        ("solver", base.solver),
        ("python", platform.python_version()),
        ("written (UTC)", datetime.now(UTC).isoformat(timespec="seconds")),
        ("scenarios", len(comparison.allocations)),
    ]
    for r, (key, value) in enumerate(rows, start=1):
        sheet.cell(row=r, column=1, value=key).font = Font(bold=True)
        _put(sheet, r, 2, value)
    start = len(rows) + 2
    level_names = [level.name for level in base.levels]
    params = list(base.parameters.as_dict())
    labels = [
        "scenario",
        "status",
        *params,
        *(f"level {n}" for n in level_names),
        *(f"termination {n}" for n in level_names),
    ]
    _header_row(sheet, labels, row=start)
    for r, a in enumerate(comparison.allocations, start=start + 1):
        values = [
            a.scenario,
            a.status,
            *a.parameters.as_dict().values(),
            *(level.objective for level in a.levels),
            *(level.termination for level in a.levels),
        ]
        for c, value in enumerate(values, start=1):
            _put(sheet, r, c, value)
    sheet.column_dimensions["A"].width = 30
    sheet.column_dimensions["B"].width = 66


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "unknown"
