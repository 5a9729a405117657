"""RiskResult → the risk workbook written by ``caf risk`` (docs/formulation.md, the plan
under uncertainty).

Results compute; reports lay out. Every probability and percentile comes from the
``RiskResult`` and every sentence from ``analysis.risk_narrative``: this module places
values, formats and charts. Cells hold values, never formulas; scenario names and reasons
go through ``export.cells.Grid``, so no text becomes a formula. The workbook is written in
openpyxl's write-only mode with each sheet's rows streamed in, as the plan workbook is.

Sheets, in order (``RISK_SHEETS``): the summary; the robust ranking; each unit's odds of
a gap; the odds of having run out by each year, under the rule, before adjustment and
under the plan; the national depletion year's distribution; the subsidy's spread; the fan
of the national balance with a chart per scenario; run_info.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from openpyxl import Workbook

from model.analysis.narrative import WARNING_HEADING, warning_line
from model.analysis.risk import FAN, PERCENTILES, RiskResult, ScenarioRisk
from model.analysis.risk_narrative import failed_line, risk_sentences
from model.export.cells import (
    COUNT,
    MONEY,
    PERCENT,
    RATIO,
    SECONDS,
    SECTION_FONT,
    TOTAL_FONT,
    Grid,
    Styles,
    print_setup,
)
from model.export.charts import ROW_HEIGHT_CM, columns_cm
from model.export.layout import (
    LEFT,
    TIMING,
    Item,
    banner,
    parameter_items,
    read_back,
    sentences,
    timing_items,
    versions,
    write_file,
)
from model.export.plan_tables import RIGHT
from model.export.risk_charts import FAN_HEIGHT_CM, add_fan_chart
from model.export.risk_tables import (
    NATIONAL_HEADERS,
    PROBABILITY,
    REGIMES,
    depletion_sheet,
    national_depletion_sheet,
    put_national,
    ranking_sheet,
    solved_text,
    subsidy_sheet,
    title,
    unit_gap_sheet,
)
from model.lp.shocks import SD_KEYS
from model.schema import GROWTH_SD_LABELS, PARAMETER_BY_KEY
from model.vocabulary import FIGURES, YI
from model.xlsx import save_streamed

RISK_SHEETS: tuple[str, ...] = (
    "summary",
    "ranking",
    "unit_gap",
    *(regime.sheet for regime in REGIMES),
    "national_depletion",
    "subsidy",
    "fan",
    "run_info",
)
"""The risk workbook's sheets, in order: a contract (docs/outputs.md)."""

SUMMARY_HEADERS: tuple[tuple[str, float], ...] = (
    ("情景\nScenario", 40.0),
    ("稳健排序\nRobust rank", 9.0),
    ("出现缺口的概率\nProbability of a gap", 14.0),
    (f"追加补助合计 p5\nTotal extra subsidy p5\n({YI})", 15.0),
    (f"追加补助合计 p50\nTotal extra subsidy p50\n({YI})", 15.0),
    (f"追加补助合计 p95\nTotal extra subsidy p95\n({YI})", 15.0),
    *NATIONAL_HEADERS,
    ("已求解抽样\nDraws solved", 10.0),
)
FAILED_LISTED = 200
"""run_info lists this many failed draws, then counts the rest."""


def write_risk_workbook(result: RiskResult, path: str | Path, force: bool = False) -> Path:
    """Write the risk workbook atomically; refuse to replace a file without ``force``.

    Raises:
        InputError: ``path`` exists and ``force`` is False, or its folder is missing.
    """
    return write_file(partial(_write, result), path, force)


def risk_workbook(result: RiskResult, generated: datetime | None = None) -> Workbook:
    """The risk workbook exactly as ``write_risk_workbook`` writes it, read back."""
    return read_back(partial(_write, result), generated)


def _write(result: RiskResult, target: Path | io.BytesIO, generated: datetime) -> None:
    workbook = Workbook(write_only=True)
    sheets = {name: workbook.create_sheet(name) for name in RISK_SHEETS}
    styles = Styles(sheets["summary"])
    grids = {name: Grid(sheet, styles) for name, sheet in sheets.items()}
    _summary(grids["summary"], result)
    ranking_sheet(grids["ranking"], result)
    unit_gap_sheet(grids["unit_gap"], result)
    for regime in REGIMES:
        depletion_sheet(grids[regime.sheet], result, regime)
    national_depletion_sheet(grids["national_depletion"], result)
    subsidy_sheet(grids["subsidy"], result)
    _fan(grids["fan"], result)
    _run_info(grids["run_info"], result, generated)
    for sheet in sheets.values():
        print_setup(sheet)
    save_streamed(workbook, ((grid.sheet, grid.xml()) for grid in grids.values()), target)


def _span(result: RiskResult) -> str:
    first = min(s.years[0] for s in result.scenarios)
    last = max(s.years[-1] for s in result.scenarios)
    return f"{first}–{last}"


# --- summary -------------------------------------------------------------------------------


def _summary(sheet: Grid, result: RiskResult) -> None:
    """Title and sample, the warnings, the sentences, the scenarios' key figures, the sample."""
    labels, widths = zip(*SUMMARY_HEADERS, strict=True)
    for column, width in enumerate(widths, start=1):
        sheet.width(column, width)
    width, columns = sum(widths), len(widths)
    title(
        sheet,
        f"中央调剂基金规划的不确定性 Central adjustment fund: the plan under uncertainty — "
        f"{_span(result)}",
    )
    what = (
        f"每个情景抽样 {result.draws} 次 {result.draws} draws a scenario    "
        f"随机种子 Seed {result.seed}    情景 Scenarios: {len(result.scenarios)}"
    )
    sheet.text(2, 1, what, font=TOTAL_FONT)
    sheet.freeze("A3")
    row = _warnings(sheet, result, 3, width, columns)
    sheet.section_row(row + 1, ["结论 What the draws show"])
    row = sentences(sheet, row + 1, risk_sentences(result), width, columns)
    row = _scenario_table(sheet, result, row + 2, labels, widths)
    _sample(sheet, result, row + 2)


def _warnings(sheet: Grid, result: RiskResult, row: int, width: float, columns: int) -> int:
    """The failed draws and the reader's warnings, in red; the last row written."""
    failed = failed_line(result)
    if failed is not None:
        banner(sheet, row, failed, width, columns)
        row += 1
    warnings = result.source.warnings
    if warnings:
        zh, en = WARNING_HEADING
        banner(sheet, row, (f"{zh}（{len(warnings)}）", f"{en} ({len(warnings)})"), width, columns)
        for warning in warnings:
            row += 1
            banner(sheet, row, warning_line(warning), width, columns)
        row += 1
    return row - 1


def _scenario_table(
    sheet: Grid, result: RiskResult, row: int, labels: tuple[str, ...], widths: tuple[float, ...]
) -> int:
    """One row per scenario in the run's order, with its robust rank; the last row."""
    sheet.section_row(row, ["各情景 By scenario"])
    row += 1
    sheet.header_row(row, labels, widths)
    ranks = {id(risk): rank for rank, risk in enumerate(result.ranking(), start=1)}
    for risk in result.scenarios:
        row += 1
        money = [risk.money.at["total_subsidy_100m", f"p{q}"] for q in PERCENTILES]
        values = [risk.scenario, ranks[id(risk)], risk.gap_probability, *money]
        sheet.put_row(row, values, [None, COUNT, PROBABILITY, *(MONEY for _ in money)])
        put_national(sheet, row, len(values) + 1, risk)
        sheet.text(row, len(labels), f"{risk.solved}/{risk.draws}", alignment=RIGHT)
    return row


def _sample(sheet: Grid, result: RiskResult, row: int) -> None:
    """What was drawn (the draws and the seed are under the title): each driver's s.d. and
    the correlation."""
    sheet.section_row(row, ["抽样设定 The sample", "取值 Value"])
    correlation = PARAMETER_BY_KEY["shock_correlation"]
    lines: list[tuple[str, object, str | None]] = [
        *(
            (f"{zh} {en} σ", sigma, PERCENT)
            for (_, zh, en, _, _), sigma in zip(GROWTH_SD_LABELS, result.sigma, strict=True)
        ),
        (f"{correlation.zh} {correlation.en} ρ", result.correlation, RATIO),
    ]
    for label, value, fmt in lines:
        row += 1
        sheet.text(row, 1, label)
        sheet.put(row, 2, value, fmt)
    row += 1
    note = (
        "各单位各年的增长率 = 确定性增长率 + σ ×（ρ × 全国共同冲击 + √(1−ρ²) × 单位自身冲击）；"
        "某情景若另设抽样参数，以其参数为准（见 run_info 表）。",
        "Each unit's growth rate each year = the deterministic rate + σ × (ρ × a national "
        "shock + √(1−ρ²) × the unit's own shock); a scenario that sets its own sample uses "
        "it (see the run_info sheet).",
    )
    sentences(sheet, row, [note], sum(w for _, w in SUMMARY_HEADERS), len(SUMMARY_HEADERS))


# --- fan -----------------------------------------------------------------------------------

FAN_WIDTHS: tuple[float, ...] = (8.0, *(12.0 for _ in range(2 * len(FAN))))
REGIME_WORDS = {"plan": ("规划", "Plan"), "before": ("不增加补助", "No extra subsidy")}


def _fan(sheet: Grid, result: RiskResult) -> None:
    """Per scenario, on a page of its own: the fan chart of the national balance, under the
    plan and with no extra subsidy, above the years × percentiles table it reads."""
    title(sheet, f"全国年末结余的分布 National closing balance across the draws ({YI})")
    row = 2
    for index, risk in enumerate(result.scenarios):
        if index:
            sheet.page_break(row)
        row = _fan_block(sheet, risk, row + (1 if index else 0))


def _fan_block(sheet: Grid, risk: ScenarioRisk, row: int) -> int:
    """One scenario's fan chart from ``row``, then the table it reads; the last row."""
    heading = f"情景 Scenario: {risk.scenario}    {solved_text(risk)}    单位 unit: {YI}"
    sheet.text(row, 1, heading, font=SECTION_FONT)
    sheet.height(row, 24)
    anchor = f"A{row + 1}"
    table = row + 1 + int(FAN_HEIGHT_CM / ROW_HEIGHT_CM) + 1
    keys = [f"{regime}:p{q}" for regime in REGIME_WORDS for q in FAN]
    labels = [
        f"{FIGURES['year'].zh}\n{FIGURES['year'].en}",
        *(f"{zh} p{q}\n{en} p{q}" for zh, en in REGIME_WORDS.values() for q in FAN),
    ]
    sheet.header_row(table, labels, FAN_WIDTHS)
    fmts = [COUNT, *(MONEY for _ in keys)]
    row = table
    for year in risk.years:
        row += 1
        plan = [risk.fan_plan.at[year, f"p{q}"] for q in FAN]
        before = [risk.fan_before.at[year, f"p{q}"] for q in FAN]
        sheet.put_row(row, [year, *plan, *before], fmts)
    add_fan_chart(
        sheet.sheet,
        anchor,
        f"{risk.scenario}：全国年末结余 National closing balance ({YI})",
        (table + 1, row),
        {"year": 1} | {key: column for column, key in enumerate(keys, start=2)},
        REGIME_WORDS,
        columns_cm(FAN_WIDTHS),
    )
    return row


# --- run_info ------------------------------------------------------------------------------

RUN_INFO_WIDTHS = (44.0, 70.0)


def _run_info(sheet: Grid, result: RiskResult, generated: datetime) -> None:
    """Everything needed to trace the workbook: the input, the sample, how the draws ran,
    the software, each scenario's parameters where they differ from the first, and every
    failed draw with its reason."""
    sheet.header_row(1, ["项目 Item", "取值 Value"], RUN_INFO_WIDTHS)
    sheet.freeze("A2")
    items = _items(result, generated)
    for row, (label, value) in enumerate(items, start=2):
        sheet.text(row, 1, label)
        fmt = SECONDS if label.startswith(TIMING) else None
        sheet.put(row, 2, "blank" if value is None else value, fmt, alignment=LEFT)
    sheet.autofilter(2, len(items) + 1)
    _failed_draws(sheet, result, len(items) + 3)


def _items(result: RiskResult, generated: datetime) -> list[Item]:
    source, base = result.source, result.scenarios[0]
    return [
        ("输入文件 Input file", source.name),
        ("SHA-256", source.sha256),
        ("文件大小 Size (bytes)", source.size_bytes),
        ("情景 Scenarios", "、".join(s.scenario for s in result.scenarios)),
        ("生成时间 Generated (UTC)", generated.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")),
        ("每个情景的抽样次数 Draws a scenario", result.draws),
        ("随机种子 Seed", result.seed),
        *(
            (f"冲击标准差 Shock s.d.: {key}", sigma)
            for key, sigma in zip(SD_KEYS, result.sigma, strict=True)
        ),
        ("冲击相关系数 Shock correlation ρ", result.correlation),
        ("运行方式 Engine", result.engine),
        ("Dask 版本 Dask version", result.dask_version or "未使用 not used"),
        ("工作进程数 Workers", result.workers),
        ("调度器地址 Scheduler address", result.scheduler or "无 none"),
        (f"{TIMING} Seconds: run", result.seconds),
        *timing_items(result.timings),
        ("未能求解的抽样 Failed draws", result.failed_draws),
        ("求解器 Solver", "HiGHS"),
        *versions(),
        *(
            (f"{label} ({base.scenario})", value)
            for label, value in parameter_items(base.parameters)
        ),
        *_differences(result),
    ]


def _differences(result: RiskResult) -> list[Item]:
    """Each later scenario's parameters that differ from the first's, on one line."""
    base = result.scenarios[0].parameters.as_dict()
    items: list[Item] = []
    for risk in result.scenarios[1:]:
        own = risk.parameters.as_dict()
        changed = [f"{k}={own[k]}" for k in own if own[k] != base.get(k)]
        label = f"情景参数差异 Differs from {result.scenarios[0].scenario}: {risk.scenario}"
        items.append((label, "; ".join(changed) or "无 none"))
    return items


def _failed_draws(sheet: Grid, result: RiskResult, row: int) -> None:
    """The failed draws with their reasons, the first ``FAILED_LISTED``, then a count."""
    failed = [(s.scenario, n, reason) for s in result.scenarios for n, reason in s.failed]
    labels = ["未能求解的抽样 Failed draw: 情景 Scenario · 编号 number", "原因 Reason"]
    sheet.header_row(row, labels, RUN_INFO_WIDTHS)
    if not failed:
        sheet.text(row + 1, 1, "无 none")
        return
    for scenario, n, reason in failed[:FAILED_LISTED]:
        row += 1
        sheet.text(row, 1, f"{scenario} · {n}")
        sheet.text(row, 2, reason)
    if len(failed) > FAILED_LISTED:
        rest = len(failed) - FAILED_LISTED
        sheet.text(row + 1, 1, f"另有 {rest} 次未列出 {rest} more not listed", font=TOTAL_FONT)
