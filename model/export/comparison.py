"""Comparison → the comparison workbook written by ``caf compare``.

Sheets (``COMPARISON_SHEETS``): ``kpi``, the key figures with metrics as rows and scenarios
as columns, so fifty scenarios print as a few pages side by side rather than one shrunk
page; ``charts`` of the trade-offs, drawn from the ``kpi`` rows; ``changes``, one long table
of what moved for which unit in each scenario against the base; a unit × scenario matrix per
figure; and ``run_info``. Layout only: every figure comes from ``model.analysis.comparison``.
"""

from __future__ import annotations

import platform
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from model.analysis.comparison import CHANGE_COLUMNS, Comparison
from model.analysis.equity import METRICS
from model.export.cells import (
    COUNT,
    HEADER_ALIGNMENT,
    HEADER_FILL,
    HEADER_FONT,
    MONEY,
    MONTHS,
    PAPER_A4,
    RATIO,
    SECTION_FONT,
    print_setup,
    put,
    text_cell,
    wrapped_lines,
)
from model.export.comparison_charts import charts_sheet
from model.schema import NOT_SET, PARAMETER_BY_KEY, PARAMETER_FIELDS
from model.vocabulary import (
    EQUITY_METRICS,
    FIGURES,
    SHORT_STATUSES,
    STATES,
    UNITS,
    YI,
    Label,
)
from model.vocabulary import MONTHS as MONTHS_UNIT
from model.xlsx import save_workbook

MATRIX_SHEETS: dict[str, tuple[str, str]] = {
    "net_transfer_100m": ("net_transfer", MONEY),
    "subsidy_100m": ("subsidy", MONEY),
    "months_optimized": ("months_optimized", MONTHS),
}
"""Each matrix's figure, sheet title and number format."""

COMPARISON_SHEETS: tuple[str, ...] = (
    "kpi",
    "charts",
    "changes",
    *(title for title, _ in MATRIX_SHEETS.values()),
    "run_info",
)
"""The comparison workbook's sheets, in order (docs/outputs.md)."""

KPI_GROUPS: tuple[tuple[Label, tuple[str, ...]], ...] = (
    (
        Label("资金", "Money"),
        ("fund_100m", "moved_100m", "net_contributors", "net_beneficiaries", "roughly_even"),
    ),
    (
        Label("补助与缺口", "Subsidy and gap"),
        ("local_subsidy_100m", "central_subsidy_100m", "total_subsidy_100m", "unfunded_gap_100m"),
    ),
)
"""The KPI sheet's figure groups, in order; the equity metrics follow, one group a state."""

EQUITY = Label("公平性", "Equity")
PARAMETERS = Label("参数", "Parameters")
SCENARIO = Label("情景", "Scenario")
METRIC = Label("指标", "Metric")
UNIT = Label("单位", "Unit")
STATUS = Label("状态", "Status")
TITLE_ALIGNMENT = Alignment(wrap_text=True, vertical="top")
"""A matrix's title: Chinese, English and the unit on a line each, so it stays whole in
the label columns repeated on every printed page."""
FORMATS = {YI: MONEY, UNITS: COUNT, MONTHS_UNIT: MONTHS}
"""A row's number format by its unit; a unitless metric is a ratio."""

LABEL_WIDTH_MAX = 60.0
"""Column units: the longest metric label on one line, so no row grows and the table
prints one page tall."""
SCENARIO_WIDTH = 10.0
"""Column units: a scenario column holds 12,345.67 and wraps a label such as
``上解 4.5% · 储备 3月 · 区间 20% · range`` onto three or four lines."""


def write_comparison_workbook(
    comparison: Comparison, path: str | Path, force: bool = False, swept: bool = False
) -> Path:
    """Write the comparison workbook atomically; ``swept`` when the scenarios are a typed
    sweep, whose charts may then follow the swept parameters (``comparison_charts``)."""
    workbook = Workbook()
    kpi = workbook.active
    assert kpi is not None
    kpi.title = "kpi"
    rows = _kpi_sheet(kpi, comparison)
    charts_sheet(workbook.create_sheet("charts"), kpi, rows, comparison, swept)
    _changes_sheet(workbook.create_sheet("changes"), comparison.changes())
    for column, (title, number_format) in MATRIX_SHEETS.items():
        _matrix_sheet(workbook.create_sheet(title), comparison, column, number_format)
    _run_info(workbook.create_sheet("run_info"), comparison)
    return save_workbook(workbook, path, force)


def overrides_text(overrides: tuple[tuple[str, Any], ...]) -> str:
    """``contribution_ratio=0.045; max_rule_deviation=blank``: a scenario's own parameters
    in full, as ``--sweep`` and ``--set`` take them."""
    return "; ".join(f"{key}={'blank' if value is None else value}" for key, value in overrides)


# --- headers and print set-up --------------------------------------------------------------


def _header_row(sheet: Worksheet, labels: list[str], row: int = 1) -> None:
    """Bold header labels (scenario names are user text: stored as strings, never formulas)."""
    for column, label in enumerate(labels, start=1):
        cell = text_cell(sheet.cell(row=row, column=column), label)
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
        cell.alignment = HEADER_ALIGNMENT


def _scenario_headers(sheet: Worksheet, comparison: Comparison, row: int, first: int) -> None:
    """One header per scenario from column ``first``, wrapped in a fixed width, each with
    its full ``key=value`` parameters as a note; the row as tall as the longest label."""
    lines = 1
    for column, a in enumerate(comparison.allocations, start=first):
        cell = sheet.cell(row=row, column=column)
        cell.comment = Comment(overrides_text(a.overrides) or "the workbook's parameters", "caf")
        sheet.column_dimensions[get_column_letter(column)].width = SCENARIO_WIDTH
        lines = max(lines, wrapped_lines(a.scenario, SCENARIO_WIDTH - 1))
    sheet.row_dimensions[row].height = 15.0 * lines + 4


def _split_print_setup(sheet: Worksheet, title_rows: str, title_columns: str) -> None:
    """Landscape A4, all rows on one page tall and the scenario columns split across as
    many pages as they need (never shrunk to one page wide), the label columns and the
    header rows repeated on every page."""
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = PAPER_A4
    sheet.page_setup.fitToWidth = 0
    sheet.page_setup.fitToHeight = 1
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.page_margins.left = sheet.page_margins.right = 0.4
    sheet.page_margins.top = sheet.page_margins.bottom = 0.5
    sheet.print_title_rows = title_rows
    sheet.print_title_cols = title_columns


def _put(sheet: Worksheet, row: int, column: int, value: Any, number_format: str = "") -> None:
    put(sheet, row, column, None if value is pd.NA else value, number_format or None)


# --- kpi -----------------------------------------------------------------------------------


def _kpi_rows(comparison: Comparison) -> list[tuple[str, Label, str]]:
    """The KPI sheet's rows after the header: (kind, label, key), kind one of ``section``,
    ``parameter``, ``status`` and ``figure``. Parameters are those any scenario sets."""
    set_keys = {key for a in comparison.allocations for key, _ in a.overrides}
    rows: list[tuple[str, Label, str]] = [("section", PARAMETERS, "")]
    for field in PARAMETER_FIELDS:
        if field.key in set_keys:
            rows.append(("parameter", Label(field.zh, field.en, field.unit), field.key))
    rows.append(("status", STATUS, "status"))
    for group, keys in KPI_GROUPS:
        rows.append(("section", group, ""))
        rows.extend(("figure", FIGURES[key], key) for key in keys)
    for state in ("optimized", "rule", "before"):
        state_label = STATES[state]
        section = Label(f"{EQUITY.zh} · {state_label.zh}", f"{EQUITY.en} · {state_label.en}")
        rows.append(("section", section, ""))
        rows.extend(("figure", EQUITY_METRICS[m], f"{m}_{state}") for m in METRICS)
    return rows


def _kpi_sheet(sheet: Worksheet, comparison: Comparison) -> dict[str, int]:
    """Metrics as rows, scenarios as columns; returns each figure's row, for the charts."""
    table = comparison.kpi_table()
    names = comparison.names
    _header_row(sheet, [METRIC.name, UNIT.name, *names])
    _scenario_headers(sheet, comparison, row=1, first=3)
    where: dict[str, int] = {}
    label_width = 12.0
    for r, (kind, label, key) in enumerate(_kpi_rows(comparison), start=2):
        name = text_cell(sheet.cell(row=r, column=1), label.name)
        label_width = max(label_width, _width(label.name))
        if kind == "section":
            name.font = SECTION_FONT
            continue
        text_cell(sheet.cell(row=r, column=2), label.unit)
        if kind == "figure" and key in METRIC_KEYS:
            name.comment = Comment(EQUITY_METRICS[key.rsplit("_", 1)[0]].meaning, "caf")
        where[key] = r
        for c, value in enumerate(table[key].tolist(), start=3):
            _put(sheet, r, c, *_kpi_cell(kind, key, label, value))
    sheet.column_dimensions["A"].width = min(LABEL_WIDTH_MAX, label_width + 1)
    sheet.column_dimensions["B"].width = 5
    sheet.freeze_panes = "C2"
    _split_print_setup(sheet, "1:1", "A:B")
    return where


METRIC_KEYS = frozenset(f"{m}_{s}" for m in METRICS for s in STATES)


def _kpi_cell(kind: str, key: str, label: Label, value: Any) -> tuple[Any, str]:
    """What a KPI cell shows and its number format."""
    if kind == "status":
        return SHORT_STATUSES[value].name, ""
    if kind == "parameter":
        if value is None:
            return f"{NOT_SET} blank", ""
        if PARAMETER_BY_KEY[key].fraction:
            return value, "0.0##%"
        return value, ""
    return value, FORMATS.get(label.unit, RATIO)


def _width(text: str) -> float:
    """Column units ``text`` needs on one line (``cells.wrapped_lines`` measures alike)."""
    width = 4.0
    while wrapped_lines(text, width) > 1:
        width += 2.0
    return width


# --- changes and matrices ------------------------------------------------------------------

CHANGE_HEADERS: dict[str, Label] = {
    "scenario": SCENARIO,
    "code": FIGURES["code"],
    "name_zh": FIGURES["name_zh"],
    "figure": Label("项目", "Figure"),
    "base": Label("基准", "Base"),
    "value": Label("情景值", "Value"),
    "change": Label("变化", "Change"),
}
CHANGE_WIDTHS = (38.0, 10.0, 18.0, 46.0, 12.0, 12.0, 12.0)


def _changes_sheet(sheet: Worksheet, changes: pd.DataFrame) -> None:
    """One row per scenario, unit and figure that moved, with an autofilter to pick them."""
    _header_row(sheet, [CHANGE_HEADERS[c].name for c in CHANGE_COLUMNS])
    for column, width in enumerate(CHANGE_WIDTHS, start=1):
        sheet.column_dimensions[get_column_letter(column)].width = width
    for r, row in enumerate(changes.itertuples(index=False), start=2):
        fmt = MONTHS if row.figure == "months_optimized" else MONEY
        _put(sheet, r, 1, row.scenario)
        _put(sheet, r, 2, row.code)
        _put(sheet, r, 3, row.name_zh)
        _put(sheet, r, 4, FIGURES[row.figure].text)
        for c, value in enumerate((row.base, row.value, row.change), start=5):
            _put(sheet, r, c, value, fmt)
    if changes.empty:
        sheet.cell(row=2, column=1, value="No unit's figures changed. 各单位结果无变化。")
    sheet.auto_filter.ref = f"A1:G{max(2, len(changes) + 1)}"
    sheet.freeze_panes = "A2"
    print_setup(sheet)


MATRIX_WIDTHS = (9.0, 18.0)
"""The code and name columns: 新疆生产建设兵团 whole, the matrix's title on three lines."""


def _matrix_sheet(
    sheet: Worksheet, comparison: Comparison, column: str, number_format: str
) -> None:
    """A title row naming the figure and its unit, then unit × scenario values."""
    label = FIGURES[column]
    title = text_cell(sheet.cell(row=1, column=1), label.header)
    title.font, title.alignment = SECTION_FONT, TITLE_ALIGNMENT
    sheet.merge_cells("A1:B1")
    sheet.row_dimensions[1].height = 16.0 * wrapped_lines(label.header, sum(MATRIX_WIDTHS)) + 4
    frame = comparison.matrix(column)
    _header_row(sheet, [FIGURES["code"].name, FIGURES["name_zh"].name, *comparison.names], row=2)
    _scenario_headers(sheet, comparison, row=2, first=3)
    for r, (code, values) in enumerate(frame.iterrows(), start=3):
        _put(sheet, r, 1, code)
        for c, value in enumerate(values.tolist(), start=2):
            _put(sheet, r, c, value, number_format)
    sheet.column_dimensions["A"].width, sheet.column_dimensions["B"].width = MATRIX_WIDTHS
    sheet.freeze_panes = "C3"
    _split_print_setup(sheet, "1:2", "A:B")


# --- run_info ------------------------------------------------------------------------------


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
    for c in range(3, len(labels) + 1):
        sheet.column_dimensions[get_column_letter(c)].width = 14
    sheet.cell(row=start, column=1).alignment = Alignment(wrap_text=True)
    sheet.freeze_panes = sheet.cell(row=start + 1, column=2)
    print_setup(sheet)
    sheet.print_title_rows = f"{start}:{start}"


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "unknown"
