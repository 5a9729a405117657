"""Plan → the plan workbook written by ``caf plan`` (docs/formulation.md, the multi-year plan).

Results compute; reports lay out. Every figure comes from the ``Plan`` and every sentence
from ``analysis.plan_narrative``: this module places values, formats and charts. Cells hold
values, never formulas, and user text goes through ``export.cells.Grid`` (a code like
``11`` stays text, a name like ``=HYPERLINK(...)`` stays a harmless string). The workbook
is written in openpyxl's write-only mode with each sheet's rows streamed into the file, as
the allocation workbook is.

Sheets, in order (``PLAN_SHEETS``): the summary; each unit's depletion years; the national
table by year; the charts; one unit × year matrix per figure (reserve months first, coloured
as a heat map); run_info.
"""

from __future__ import annotations

import io
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

from openpyxl import Workbook

from model import vocabulary
from model.analysis.narrative import WARNING_HEADING, warning_line
from model.analysis.plan import Plan
from model.analysis.plan_narrative import plan_sentences, ratio_runs
from model.export.cells import (
    COUNT,
    MONEY,
    PERCENT,
    TITLE_FONT,
    TOTAL_FONT,
    Grid,
    Styles,
    print_setup,
)
from model.export.charts import ROW_HEIGHT_CM, columns_cm
from model.export.layout import (
    banner,
    parameter_items,
    read_back,
    run_info,
    sentences,
    timing_items,
    trace_items,
    write_file,
)
from model.export.plan_charts import (
    COLOURS,
    LINE_HEIGHT_CM,
    add_depletion_chart,
    add_line_chart,
    depletion_chart_height,
)
from model.export.plan_tables import (
    HEAT_MAP,
    MATRICES,
    NAME_COLUMNS,
    RIGHT,
    depletion_sheet,
    heat_map,
    matrix_sheet,
    national_columns,
    national_sheet,
    put_year,
    year_or_none,
)
from model.schema import GROWTH_DRIVERS
from model.vocabulary import FIGURES, NEVER, STATUSES, level_meaning
from model.xlsx import save_streamed

PLAN_SHEETS: tuple[str, ...] = (
    "summary",
    "depletion",
    "national",
    "charts",
    "reserve_months",
    "closing_balance",
    "allocation",
    "net_transfer",
    "subsidy",
    "run_info",
)
"""The plan workbook's sheets, in order: a contract (docs/outputs.md)."""


SUMMARY_WIDTHS: tuple[float, ...] = (70.0, 16.0, 12.0, 12.0, 18.0)
"""Columns A to E of the summary: every key figure's label fits column A."""
CHART_WIDTHS: tuple[float, ...] = (8.0, 18.0, 20.0, 38.0, 38.0)
"""Columns A to E of the charts sheet: the depletion chart's data table below the charts,
which are as wide (23 cm)."""
HEAT_MAP_POINTER = (
    "储备月数热图见 reserve_months 表。",
    "The heat map of reserve months is on the reserve_months sheet.",
)
NO_DEPLETION_CHART = (
    "规划期内没有单位在法定规则下或本规划下耗尽，故无耗尽年份图。",
    "No unit runs out under the rule or the plan within the horizon, so there is no "
    "depletion-year chart.",
)
IMBALANCE_NOTE = "; in a plan, summed over the years (规划期各年之和)"
"""The plan's imbalance level adds up each year's imbalance (for maximin, −Σ_t min_p M)."""


def write_plan_workbook(plan: Plan, path: str | Path, force: bool = False) -> Path:
    """Write the plan workbook atomically; refuse to replace a file without ``force``.

    Raises:
        InputError: ``path`` exists and ``force`` is False, or its folder is missing.
    """
    return write_file(partial(_write, plan), path, force)


def plan_workbook(plan: Plan, generated: datetime | None = None) -> Workbook:
    """The plan workbook exactly as ``write_plan_workbook`` writes it, read back by openpyxl."""
    return read_back(partial(_write, plan), generated)


def _write(plan: Plan, target: Path | io.BytesIO, generated: datetime) -> None:
    workbook = Workbook(write_only=True)
    sheets = {name: workbook.create_sheet(name) for name in PLAN_SHEETS}
    styles = Styles(sheets["summary"])
    grids = {name: Grid(sheet, styles) for name, sheet in sheets.items()}
    _summary(grids["summary"], plan)
    depletion_sheet(grids["depletion"], plan)
    national_sheet(grids["national"], plan)
    _charts(grids["charts"], sheets["national"], plan)
    for matrix in MATRICES:
        matrix_sheet(grids[matrix.sheet], plan, matrix)
    heat_map(grids[HEAT_MAP], plan)
    _run_info(grids["run_info"], plan, generated)
    for sheet in sheets.values():
        print_setup(sheet)
    save_streamed(workbook, ((grid.sheet, grid.xml()) for grid in grids.values()), target)


def _span(plan: Plan) -> str:
    return f"{plan.years[0]}–{plan.years[-1]}"


# --- summary -------------------------------------------------------------------------------


def _summary(sheet: Grid, plan: Plan) -> None:
    """Title and status, the reader's warnings, the sentences, key figures, the ratio path."""
    for column, width in enumerate(SUMMARY_WIDTHS, start=1):
        sheet.width(column, width)
    width = sum(SUMMARY_WIDTHS)
    title = f"中央调剂基金多年规划 Central adjustment fund: multi-year plan — {_span(plan)}"
    sheet.text(1, 1, title, font=TITLE_FONT)
    sheet.height(1, 24)
    status = f"情景 Scenario: {plan.scenario}    状态 Status: {STATUSES[plan.status].name}"
    sheet.text(2, 1, status, font=TOTAL_FONT)
    sheet.freeze("A2")
    row = _warnings(sheet, plan, 3, width)
    sheet.section_row(row + 1, ["结论 What the plan shows"])
    row = sentences(sheet, row + 1, plan_sentences(plan), width, len(SUMMARY_WIDTHS))
    sheet.page_break(row + 1)
    row = _key_figures(sheet, plan, row + 2)
    _ratio_path(sheet, plan, row + 2)


def _warnings(sheet: Grid, plan: Plan, row: int, width: float) -> int:
    """The reader's warnings in red under the status, each with its cell; the last row."""
    warnings = plan.source.warnings
    if not warnings:
        return row - 1
    zh, en = WARNING_HEADING
    heading = (f"{zh}（{len(warnings)}）", f"{en} ({len(warnings)})")
    banner(sheet, row, heading, width, len(SUMMARY_WIDTHS))
    for warning in warnings:
        row += 1
        banner(sheet, row, warning_line(warning), width, len(SUMMARY_WIDTHS))
    return row


def _key_figures(sheet: Grid, plan: Plan, row: int) -> int:
    """The horizon, its totals, the national years and how many units run out; the last row."""
    sheet.section_row(row, ["主要数字 Key figures", "取值 Value", "", "", "单位 Unit"])
    totals, counts = plan.totals(), plan.depleted_units()
    money = [
        (
            f"{FIGURES[key].zh}（规划期合计） {FIGURES[key].en}, horizon total",
            totals[key],
            MONEY,
            vocabulary.YI,
        )
        for key in ("fund_100m", "local_subsidy_100m", "central_subsidy_100m", "unfunded_gap_100m")
    ]
    units = [
        ("法定规则下耗尽的单位 Units running out, statutory rule", "depletion_year_rule"),
        ("调剂前耗尽的单位 Units running out before adjustment", "depletion_year_before"),
        ("本规划下无法足额发放的单位 Units short under the plan", "depletion_year_plan"),
    ]
    lines: list[tuple[str, object, str | None, str]] = [
        ("规划期 Horizon", _span(plan), None, f"{len(plan.years)} 年 years"),
        *money,
        *((label, counts[key], COUNT, vocabulary.UNITS) for label, key in units),
    ]
    for label, value, fmt, unit in lines:
        row += 1
        sheet.put_row(row, [label, value, None, None, unit], [None, fmt, None, None, None])
        if isinstance(value, str):
            sheet.text(row, 2, value, alignment=RIGHT)
    national = (
        (
            "全国结余耗尽年份（不增加补助） National balance runs out, no extra subsidy",
            plan.national_depletion_year,
        ),
        ("全国首个当期赤字年份 First national current deficit", plan.first_current_deficit_year),
    )
    for label, year in national:
        row += 1
        sheet.put_row(row, [label, None, None, None, FIGURES["year"].name], [None] * 5)
        put_year(sheet, row, 2, year, None)
    return row


def _ratio_path(sheet: Grid, plan: Plan, row: int) -> None:
    """The ratio path, one row per run of equal ratios."""
    chosen = "由模型选定 optimised" if plan.optimised else "给定 as given"
    label = FIGURES["contribution_ratio"]
    sheet.section_row(row, [f"{label.zh}路径 {label.en} path", "比例 Ratio", "", "", chosen])
    for ratio, first, last in ratio_runs(plan):
        row += 1
        years = str(first) if first == last else f"{first}–{last}"
        sheet.put_row(row, [years, ratio], [None, PERCENT])


# --- charts --------------------------------------------------------------------------------


def _charts(sheet: Grid, national: Any, plan: Plan) -> None:
    """The national balance and the ratio path by year on one page, then the units'
    depletion years."""
    for index, width in enumerate(CHART_WIDTHS, start=1):
        sheet.width(index, width)
    sheet.text(1, 1, f"图表 Charts — {_span(plan)}", font=TITLE_FONT)
    sheet.height(1, 24)
    row = sentences(sheet, 1, [HEAT_MAP_POINTER], sum(CHART_WIDTHS), len(CHART_WIDTHS)) + 2
    column = {c.key: i for i, c in enumerate(national_columns(plan), start=1)}
    rows = (2, len(plan.years) + 1)
    balance = ("national_closing_100m", "national_before_100m")
    ratio = FIGURES["contribution_ratio"]
    lines = (
        (
            "全国年末结余 National closing balance (亿元): the plan and no extra subsidy",
            [(column[key], FIGURES[key].name, COLOURS[key]) for key in balance],
            "#,##0",
        ),
        (
            f"{ratio.text} by year",
            [(column["contribution_ratio"], ratio.name, COLOURS["contribution_ratio"])],
            "0.0%",
        ),
    )
    for title, series, axis_format in lines:
        add_line_chart(
            sheet.sheet,
            f"A{row}",
            title,
            national,
            rows,
            column["year"],
            series,
            axis_format,
            columns_cm(CHART_WIDTHS),
        )
        row += _rows(LINE_HEIGHT_CM)
    _depletion_chart(sheet, plan, row)


def _rows(height_cm: float) -> int:
    """Rows a chart of ``height_cm`` covers, and two more to breathe."""
    return int(height_cm / ROW_HEIGHT_CM) + 2


def _depletion_chart(sheet: Grid, plan: Plan, row: int) -> None:
    """Units that run out under the rule or the plan, "never" drawn a year past the horizon,
    and the table the chart reads; a sentence instead when no unit runs out."""
    keys = ("depletion_year_rule", "depletion_year_plan")
    depletion = plan.depletion.loc[plan.units.index]
    shown = depletion[list(keys)].notna().any(axis=1)
    width, columns = sum(CHART_WIDTHS), len(CHART_WIDTHS)
    if not shown.any():
        sentences(sheet, row - 1, [NO_DEPLETION_CHART], width, columns)
        return
    sheet.page_break(row - 1)
    never = plan.years[-1] + 1
    units = plan.units.join(depletion)[shown].sort_values(
        list(keys), na_position="last", kind="stable"
    )
    note = (
        f"只列出在法定规则下或本规划下会耗尽的 {len(units)} 个单位；“{NEVER.zh}”画在 {never} 年"
        "（规划末年后一年）。",
        f"Only the {len(units)} units that run out under the rule or the plan are shown; "
        f"“{NEVER.en}” is drawn at {never}, a year past the horizon.",
    )
    row = sentences(sheet, row - 1, [note], width, columns) + 1
    table = row + _rows(depletion_chart_height(len(units)))
    add_depletion_chart(
        sheet.sheet,
        f"A{row}",
        f"耗尽年份 Depletion year: statutory rule and plan ({NEVER.name} = {never})",
        (table + 1, table + len(units)),
        2,
        [(3 + i, FIGURES[key].name, COLOURS[key]) for i, key in enumerate(keys, start=1)],
        (plan.years[0] - 1, never),
        columns_cm(CHART_WIDTHS),
    )
    sheet.page_break(table - 2)
    sheet.section_row(table - 1, ["耗尽年份图的数据 Data of the depletion-year chart"])
    sheet.merge(table - 1, 1, columns)
    labels = [c.header for c in NAME_COLUMNS]
    labels += [f"{FIGURES[key].header}\n(绘图 drawn)" for key in keys]
    sheet.header_row(table, labels, CHART_WIDTHS)
    for offset, (code, unit) in enumerate(units.iterrows(), start=1):
        years = [year_or_none(unit[key]) or never for key in keys]
        sheet.put_row(
            table + offset,
            [code, unit["name_zh"], unit["name_en"], *years],
            [None, None, None, COUNT, COUNT],
        )


# --- run_info ------------------------------------------------------------------------------


def _run_info(sheet: Grid, plan: Plan, generated: datetime) -> None:
    """run_info as the allocation workbook's, with the horizon, the ratio path and the
    growth defaults."""
    p = plan.parameters
    items = [
        *trace_items(plan.source, plan.scenario, plan.status, plan.solver, generated),
        ("规划期 Horizon", _span(plan)),
        ("规划年数 Years", len(plan.years)),
        ("上解比例路径由模型选定 Ratio path optimised", plan.optimised),
        *(
            (f"{FIGURES['contribution_ratio'].name} {y}", r)
            for y, r in zip(plan.years, plan.ratios, strict=True)
        ),
        *((f"增长率默认值 Growth default: {key}", getattr(p, key)) for key in GROWTH_DRIVERS),
        ("舍入阈值 Round-off (亿元)", plan.round_off),
        *parameter_items(p),
        *timing_items(plan.timings),
    ]

    def meaning(level: str) -> str:
        text = level_meaning(level, p.objective)
        return text + IMBALANCE_NOTE if level == "imbalance" else text

    run_info(sheet, items, plan.levels, meaning)
