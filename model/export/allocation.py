"""Allocation → the formatted allocation workbook, and the JSON result (the only writer).

Results compute; reports lay out. Every figure comes from the ``Allocation``, every
sentence from ``analysis.narrative`` and the quarterly schedule from ``analysis.quarterly``:
this module only places values, formats and charts. Cells hold values, never formulas. User
text goes through ``export.cells.Grid``, which strips control characters and stores it as a
string, so a province named ``=HYPERLINK(...)`` stays a harmless string.

Sheets, in order: summary, allocation, equity, diagnostics, quarterly, run_info. The workbook
is written in openpyxl's write-only mode with each sheet's rows laid out by a ``Grid`` and
streamed into the file (``model.xlsx.save_streamed``): at county scale (thousands of units)
openpyxl's own cell-by-cell writing would cost more than the solve.
"""

from __future__ import annotations

import io
from datetime import datetime
from functools import partial
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, PatternFill

from model.analysis import diagnostics, narrative
from model.analysis.equity import METRICS
from model.analysis.quarterly import ADVANCE_SHARE, quarterly_schedule, schedule_totals
from model.analysis.results import BENEFICIARY, CONTRIBUTOR, Allocation
from model.export.cells import (
    COUNT,
    MONEY,
    MONTHS,
    PEOPLE,
    RATIO,
    TITLE_FONT,
    TOTAL_FONT,
    WRAP,
    YUAN,
    Column,
    Grid,
    Styles,
    column_labels,
    print_setup,
)
from model.export.charts import CHARTS, ChartSpec, add_charts, add_frontier_chart, columns_cm
from model.export.layout import (
    banner,
    figure_column,
    parameter_items,
    read_back,
    run_info,
    sentences,
    timing_items,
    trace_items,
    write_file,
)
from model.schema import PARAMETER_FIELDS
from model.vocabulary import (
    EQUITY_METRICS,
    FIGURES,
    LOWEST_MONTHS,
    STATES,
    STATUSES,
    THIS_RUN,
    level_meaning,
)
from model.xlsx import save_streamed

SHEETS: tuple[str, ...] = (
    "summary",
    "allocation",
    "equity",
    "diagnostics",
    "quarterly",
    "run_info",
)
ROLE_FILLS: dict[str, PatternFill] = {
    CONTRIBUTOR: PatternFill("solid", fgColor="FCE4D6"),
    BENEFICIARY: PatternFill("solid", fgColor="E2EFDA"),
}
INDENT = Alignment(indent=1)
METRIC_FORMATS: dict[str, str] = {
    "months_min": MONTHS,
    "months_max": MONTHS,
    "months_range": MONTHS,
    "months_mad": MONTHS,
}
SUMMARY_METRICS: tuple[str, ...] = (
    "months_min",
    "months_range",
    "months_mad",
    "months_cv",
    "gini",
    "theil",
)
UNDEFINED = "未定义 undefined"
SUMMARY_WIDTHS: tuple[float, ...] = (46.0, 16.0, 16.0, 16.0, 28.0)
"""Columns A to E of the summary; the charts below span the same width."""


def _money(key: str, width: float = 12.0) -> Column:
    return figure_column(key, MONEY, width)


def _months(key: str) -> Column:
    return figure_column(key, MONTHS, 11.0)


NAME_COLUMNS: tuple[Column, ...] = (
    figure_column("code", width=7.0),
    figure_column("name_zh", width=16.0),
    figure_column("name_en", width=15.0),
)
ALLOCATION_COLUMNS: tuple[Column, ...] = (
    *NAME_COLUMNS,
    figure_column("region", width=10.0),
    figure_column("role", width=17.0),
    figure_column("retirees_10k", PEOPLE, 10.0),
    _money("contribution_100m"),
    _money("rule_allocation_100m"),
    _money("allocation_100m"),
    _money("rule_net_transfer_100m"),
    _money("net_transfer_100m"),
    _money("local_subsidy_100m"),
    _money("central_subsidy_100m"),
    _money("unfunded_gap_100m"),
    _money("rule_closing_balance_100m"),
    _money("closing_balance_100m"),
    _months("months_before"),
    _months("months_rule"),
    _months("months_optimized"),
    figure_column("full_payment_dual", "0.00", 12.0),
)
QUARTERLY_COLUMNS: tuple[Column, ...] = (
    *NAME_COLUMNS,
    _money("contribution_100m", 15.0),
    _money("allocation_100m", 15.0),
    _money("net_transfer_100m", 15.0),
    _money("advance_q1_100m", 15.0),
    _money("advance_q2_100m", 15.0),
    _money("advance_q3_100m", 15.0),
    _money("advance_q4_100m", 15.0),
    _money("settlement_100m", 15.0),
)


def write_allocation_workbook(
    allocation: Allocation, path: str | Path, force: bool = False
) -> Path:
    """Write the allocation workbook atomically; refuse to replace a file without ``force``.

    Raises:
        InputError: ``path`` exists and ``force`` is False, or its folder is missing.
    """
    return write_file(partial(_write, allocation), path, force)


def allocation_workbook(allocation: Allocation, generated: datetime | None = None) -> Workbook:
    """The allocation workbook exactly as ``write_allocation_workbook`` writes it, read back
    by openpyxl."""
    return read_back(partial(_write, allocation), generated)


def sheet_names(allocation: Allocation) -> tuple[str, ...]:
    """The workbook's sheets in order: ``SHEETS``, with ``frontier`` after ``equity`` when
    the run computed the equity–rule frontier."""
    if allocation.frontier is None:
        return SHEETS
    at = SHEETS.index("equity") + 1
    return (*SHEETS[:at], "frontier", *SHEETS[at:])


def _write(allocation: Allocation, target: Path | io.BytesIO, generated: datetime) -> None:
    """The sheets and (up to) four charts of the allocation workbook, to ``target``."""
    workbook = Workbook(write_only=True)
    names = sheet_names(allocation)
    by_name = {name: workbook.create_sheet(name) for name in names}
    sheets = [by_name[name] for name in SHEETS]
    styles = Styles(sheets[0])
    grids = [Grid(sheet, styles) for sheet in sheets]
    extra = []
    if allocation.frontier is not None:
        frontier_grid = Grid(by_name["frontier"], styles)
        _frontier(frontier_grid, allocation)
        extra.append(frontier_grid)
    chart_row = _summary(grids[0], allocation)
    _allocation(grids[1], allocation)
    _equity(grids[2], allocation)
    _diagnostics(grids[3], allocation)
    _quarterly(grids[4], allocation)
    _run_info(grids[5], allocation, generated)
    columns = {c.key: i for i, c in enumerate(ALLOCATION_COLUMNS, start=1)}
    width_cm = columns_cm(SUMMARY_WIDTHS)
    specs = [spec for spec in CHARTS if _has_values(allocation, spec)]
    add_charts(sheets[0], sheets[1], len(allocation.table), columns, chart_row, width_cm, specs)
    for sheet in by_name.values():
        print_setup(sheet)
    ordered = sorted([*grids, *extra], key=lambda grid: names.index(grid.sheet.title))
    save_streamed(workbook, ((grid.sheet, grid.xml()) for grid in ordered), target)


def _has_values(a: Allocation, spec: ChartSpec) -> bool:
    """Whether a chart has anything to show: a chart of nothing but zeros is left out
    (per-unit money is already 0 below round-off, so a crumb never draws a chart)."""
    return bool((a.table[list(spec.keys)] != 0).to_numpy().any())


# --- sheets --------------------------------------------------------------------------------


def _summary(sheet: Grid, a: Allocation) -> int:
    """Year and parameters, headline figures, imbalance and sentences; return the chart row."""
    widths = SUMMARY_WIDTHS
    for column, width in enumerate(widths, start=1):
        sheet.width(column, width)
    title = f"中央调剂基金分配 Central adjustment fund allocation — {a.parameters.year}"
    sheet.text(1, 1, title, font=TITLE_FONT)
    sheet.height(1, 24)
    status = f"情景 Scenario: {a.scenario}    状态 Status: {STATUSES[a.status].name}"
    sheet.text(2, 1, status, font=TOTAL_FONT)
    sheet.freeze("A2")
    if a.source.warnings:
        banner(sheet, 3, narrative.warning_banner(len(a.source.warnings)), sum(widths), 5)
    row = _summary_parameters(sheet, a, 4)
    row = _summary_headline(sheet, a, row + 1)
    row = _summary_imbalance(sheet, a, row + 1)
    sheet.page_break(row)
    return _summary_sentences(sheet, a, row + 1, sum(widths)) + 1


def _parameter_value(key: str, value: object) -> tuple[object, str | None]:
    if key == "max_rule_deviation" and value is None:
        return "不设 none (free transfers)", None
    if key.endswith("_100m"):
        return value, MONEY
    if key == "reserve_months_floor":
        return value, MONTHS
    return value, COUNT if key == "year" else None


def _summary_parameters(sheet: Grid, a: Allocation, row: int) -> int:
    sheet.section_row(row, ["参数 Parameters", "取值 Value", "", "", "键 Key"])
    values = a.parameters.as_dict()
    for field in PARAMETER_FIELDS:
        row += 1
        value, fmt = _parameter_value(field.key, values[field.key])
        sheet.put_row(
            row, [field.label, value, None, None, field.key], [None, fmt, None, None, None]
        )
    if a.overrides:
        row += 1
        changed = "; ".join(f"{key}={value}" for key, value in a.overrides)
        sheet.put_row(row, ["本情景覆盖 Overrides in this scenario", changed], [None, None])
    return row + 1


def _summary_headline(sheet: Grid, a: Allocation, row: int) -> int:
    sheet.section_row(
        row,
        [
            "主要数字 Headline figures",
            STATES["optimized"].name,
            STATES["rule"].name,
            "",
            "单位 Unit",
        ],
    )
    t, n = a.totals, narrative.headline_counts(a)
    lines: list[tuple[str, object, object, str]] = [
        ("fund_100m", t["fund_100m"], t["fund_100m"], MONEY),
        ("moved_100m", t["moved_100m"], t["rule_moved_100m"], MONEY),
        ("net_contributors", n["contributors"], n["rule_contributors"], COUNT),
        ("net_beneficiaries", n["beneficiaries"], n["rule_beneficiaries"], COUNT),
        ("roughly_even", n["even"], n["rule_even"], COUNT),
        ("per_retiree_yuan", None, a.per_retiree_yuan, YUAN),
        ("local_subsidy_100m", t["local_subsidy_100m"], None, MONEY),
        ("central_subsidy_100m", t["central_subsidy_100m"], None, MONEY),
        ("unfunded_gap_100m", t["unfunded_gap_100m"], t["rule_shortfall_100m"], MONEY),
    ]
    for key, optimised, rule, fmt in lines:
        row += 1
        label = FIGURES[key]
        name = label.name + (
            " (rule: shortfall without subsidy)" if key == "unfunded_gap_100m" else ""
        )
        sheet.put_row(
            row,
            [name, optimised, rule, None, label.unit],
            [None, fmt, fmt, None, None],
        )
    zh, en = narrative.gap_names(a)
    row += 1
    sheet.text(row, 1, "缺口单位 Units with a gap")
    sheet.wrapped(row, 2, f"{zh} {en}" if zh else "无 none", 60.0)
    sheet.merge(row, 2, 5)
    return row + 1


def _summary_imbalance(sheet: Grid, a: Allocation, row: int) -> int:
    sheet.section_row(row, ["区域不平衡 Imbalance", *(label.name for label in STATES.values())])
    for key in SUMMARY_METRICS:
        row += 1
        values = [a.equity[state][key].value for state in STATES]
        fmt = METRIC_FORMATS.get(key, RATIO)
        sheet.put_row(row, [EQUITY_METRICS[key].name, *values], [None, fmt, fmt, fmt])
        for column, value in enumerate(values, start=2):
            if value is None:
                sheet.text(row, column, UNDEFINED)
    return row + 1


def _summary_sentences(sheet: Grid, a: Allocation, row: int, width: float) -> int:
    sheet.section_row(row, ["结论 What happened"])
    return sentences(sheet, row, narrative.summary_sentences(a), width, 5) + 1


INCENTIVE_COLUMNS: tuple[Column, ...] = tuple(
    _money(key, 14.0)
    for key in (
        "collection_shortfall_100m",
        "committed_local_100m",
        "own_gap_100m",
        "fund_gap_100m",
    )
)
"""Appended in incentive mode: each unit's shortfall against the standard, what its own
finance commits, its own gap, and the gap the fund left, kept apart."""


def allocation_columns(a: Allocation) -> tuple[Column, ...]:
    """The allocation sheet's columns: the incentive columns follow in incentive mode."""
    if a.parameters.standard_contribution_rate is None:
        return ALLOCATION_COLUMNS
    return (*ALLOCATION_COLUMNS, *INCENTIVE_COLUMNS)


def _allocation(sheet: Grid, a: Allocation) -> None:
    """One row per unit, statutory and optimised side by side, coloured by role."""
    columns = allocation_columns(a)
    sheet.table_header(*column_labels(columns), frozen="C2")
    frame = a.table.assign(role=narrative.role_labels(a))
    roles = narrative.unit_roles(a)
    keys = [c.key for c in columns]
    fmts = [c.number_format for c in columns]
    rows = zip(roles.to_numpy(), frame[keys].itertuples(index=False), strict=True)
    for row, (role, values) in enumerate(rows, start=2):
        sheet.put_row(row, values, fmts, fill=ROLE_FILLS.get(role))
    sheet.autofilter(len(keys), len(frame) + 1)


def _equity(sheet: Grid, a: Allocation) -> None:
    """Every metric before, under the rule and optimised, with its meaning."""
    labels = ["指标 Metric", "名称 Name", "含义 Meaning", *(s.name for s in STATES.values())]
    labels.append("说明 Note")
    sheet.table_header(labels, [16.0, 46.0, 66.0, 14.0, 14.0, 14.0, 44.0])
    for row, key in enumerate(METRICS, start=2):
        metrics = [a.equity[state][key] for state in STATES]
        fmt = METRIC_FORMATS.get(key, RATIO)
        notes = "; ".join(f"{s}: {m.note}" for s, m in zip(STATES, metrics, strict=True) if m.note)
        values: list[object] = [m.value if m.value is not None else UNDEFINED for m in metrics]
        metric = EQUITY_METRICS[key]
        cells = [key, metric.name, metric.meaning, *values]
        sheet.put_row(row, cells, [None, None, None, fmt, fmt, fmt])
        sheet.put(row, 7, notes or None, alignment=INDENT)
    sheet.autofilter(len(labels), len(METRICS) + 1)


FRONTIER_HEADERS: tuple[tuple[str, float], ...] = (
    ("点 Point", 8.0),
    ("失衡程度 Imbalance", 16.0),
    ("偏离法定规则 Rule distance (亿元)", 20.0),
    (FIGURES["moved_100m"].text, 22.0),
    (LOWEST_MONTHS.text, 24.0),
    (FIGURES["net_contributors"].text, 16.0),
    ("说明 Note", 60.0),
)


def _frontier(sheet: Grid, a: Allocation) -> None:
    """The equity–rule frontier: one row per point, the rule below, and the chart."""
    frontier = a.frontier
    assert frontier is not None
    sheet.table_header([h for h, _ in FRONTIER_HEADERS], [w for _, w in FRONTIER_HEADERS])
    last = len(frontier.points) - 1
    for index, point in enumerate(frontier.points):
        row = index + 2
        note = ""
        if index == 0:
            note = "最接近法定规则 Nearest the statutory rule"
        if index == frontier.knee:
            note = "拐点 The knee: each further month costs the most from here"
        if index == last:
            note = THIS_RUN.name
        cells = [
            index + 1,
            point.imbalance,
            point.rule_distance_100m,
            point.moved_100m,
            point.lowest_months,
            point.contributors,
        ]
        sheet.put_row(row, cells, [COUNT, RATIO, MONEY, MONEY, MONTHS, COUNT])
        sheet.put(row, 7, note or None)
    rule_row = len(frontier.points) + 3
    sheet.put(rule_row, 1, STATES["rule"].name)
    sheet.put(rule_row, 4, frontier.rule_moved_100m, MONEY)
    sheet.put(rule_row, 5, frontier.rule_lowest_months, MONTHS)
    knee = narrative.knee_sentence(a)
    if knee is not None:
        sheet.put(rule_row + 1, 1, knee[0])
        sheet.put(rule_row + 2, 1, knee[1])
    add_frontier_chart(sheet.sheet, len(frontier.points), rule_row, f"A{rule_row + 4}")


def _diagnostics(sheet: Grid, a: Allocation) -> None:
    """The reader's warnings first, then binding constraints, dual values and how to
    close a gap, in words; each warning starts with its location."""
    widths = (24.0, 70.0, 90.0)
    sheet.table_header(["主题 Topic", "中文", "English"], widths)
    sections = (
        ("请核对 Please check", narrative.warning_lines(a)),
        ("约束 Binding constraints", diagnostics.binding_lines(a)),
        ("对偶值 Dual values", diagnostics.dual_lines(a)),
        ("缺口 Closing a gap", diagnostics.gap_lines(a)),
    )
    row = 1
    for topic, lines in sections:
        for zh, en in lines:
            row += 1
            sheet.text(row, 1, topic, alignment=WRAP)
            sheet.wrapped(row, 2, zh, widths[1])
            sheet.wrapped(row, 3, en, widths[2])
    sheet.autofilter(len(widths), row)


def _quarterly(sheet: Grid, a: Allocation) -> None:
    """Quarterly advances of the net transfer and the year-end settlement, with totals."""
    sheet.table_header(*column_labels(QUARTERLY_COLUMNS), frozen="C2")
    schedule = quarterly_schedule(a)
    keys = [c.key for c in QUARTERLY_COLUMNS]
    fmts = [c.number_format for c in QUARTERLY_COLUMNS]
    for row, values in enumerate(schedule[keys].itertuples(index=False), start=2):
        sheet.put_row(row, values, fmts)
    last = len(schedule) + 1
    sheet.autofilter(len(keys), last)
    totals = schedule_totals(schedule)
    total_row = [None, "合计", "Total", *(totals[k] for k in keys[3:])]
    sheet.put_row(last + 1, total_row, fmts, font=TOTAL_FONT)
    notes = (
        f"每季度预拨全年净调剂的{ADVANCE_SHARE:.0%}；年终清算 = 全年净调剂 − 各季度预拨之和。"
        "正数为拨入，负数为上解。",
        f"Each quarter advances {ADVANCE_SHARE:.0%} of the annual net transfer; the year-end "
        "settlement is the annual net transfer minus the advances. Positive: received; "
        "negative: handed up.",
    )
    for offset, note in enumerate(notes, start=3):
        sheet.text(last + offset, 1, note)


def _run_info(sheet: Grid, a: Allocation, generated: datetime) -> None:
    """Everything needed to trace the workbook back to its input and software."""
    items = [
        *trace_items(a.source, a.scenario, a.status, a.solver, generated),
        *parameter_items(a.parameters),
        *((f"覆盖 Override: {k}", v) for k, v in a.overrides),
        *timing_items(a.timings),
    ]
    run_info(sheet, items, a.levels, lambda name: level_meaning(name, a.parameters.objective))
