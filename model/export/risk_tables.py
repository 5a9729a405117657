"""The risk workbook's tables: the ranking, each unit's odds of a gap, the odds of having
run out by each year, the national depletion year's distribution and the subsidy's spread.

Layout only, as ``model.export.plan_tables`` is: every probability and percentile comes from
the ``RiskResult``. Probabilities stay numbers (shown as percentages); the unit × scenario
and unit × year tables are coloured by conditional formatting, white at 0, amber at ½, red
at 1, so a planner sees the risky cells and can still sort and sum them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
from openpyxl.formatting.rule import ColorScaleRule
from openpyxl.styles import Alignment
from openpyxl.utils import get_column_letter

from model.analysis.risk import MONEY as MONEY_KEYS
from model.analysis.risk import PERCENTILES, RiskResult, ScenarioRisk
from model.analysis.risk_narrative import likeliest_depletion_year, national_runs_out
from model.export.cells import (
    COUNT,
    HEADER_FILL,
    HEADER_FONT,
    MONEY,
    SECTION_FONT,
    TITLE_FONT,
    TOTAL_FONT,
    Grid,
)
from model.export.layout import sentences
from model.export.plan_tables import NEVER_FONT, RIGHT, YEAR_HEADER, YEAR_WIDTH, put_year
from model.vocabulary import FIGURES, NEVER, YI

PROBABILITY = "0.0%"
"""A probability: 20 draws step by 5%, 1,000 by 0.1%."""
SCALE_POINTS: tuple[tuple[float, str], ...] = ((0.0, "FFFFFF"), (0.5, "FFEB84"), (1.0, "F8696B"))
"""Probabilities and their colours: white at 0, amber at ½, red at 1 (the plan heat map's
amber and red). Most cells of a table are 0, so they stay quiet and the risks stand out."""
SCALE_NOTE = (
    "颜色：概率为 0 时白色，50% 时黄色，100% 时红色，其间渐变。",
    "Colour: white at a probability of 0, amber at 50%, red at 100%, shading in between.",
)
CENTRE = Alignment(horizontal="center")
DISTRIBUTION_COLOUR = "5B9BD5"
"""The national depletion year's distribution: white at 0, blue at the most likely row."""
NAME_WIDTHS = (8.0, 16.0)
"""The code and Chinese name columns of the unit tables."""
SCENARIO_WIDTH = 15.0
UNIT_HEADERS = (
    f"{FIGURES['code'].zh}\n{FIGURES['code'].en}",
    f"{FIGURES['name_zh'].zh}\n{FIGURES['name_zh'].en}",
)


@dataclass(frozen=True)
class Regime:
    """A depletion sheet: its name, the ``ScenarioRisk.depletion`` key it shows, its title."""

    sheet: str
    key: str
    title: str
    meaning: tuple[str, str]


REGIMES: tuple[Regime, ...] = (
    Regime(
        "depletion_rule",
        "rule",
        "法定规则下已耗尽的概率 Probability of having run out by each year, statutory rule",
        (
            "单位按本规划的上解比例路径执行法定规则、不增加财政补助时，到该年末已耗尽"
            "（年末结余低于零）的抽样比例；逐年累计，故不会下降。",
            "The share of draws in which the unit has run out (closing balance below zero) by "
            "the end of the year under the statutory rule on the plan's ratio path, with no "
            "extra subsidy; cumulative, so it never falls.",
        ),
    ),
    Regime(
        "depletion_before",
        "before",
        "调剂前已耗尽的概率 Probability of having run out by each year, before adjustment",
        (
            "不调剂、不增加财政补助时，单位到该年末已耗尽的抽样比例；逐年累计。",
            "The share of draws in which the unit has run out by the end of the year with no "
            "transfer and no extra subsidy; cumulative.",
        ),
    ),
    Regime(
        "depletion_plan",
        "plan",
        "本规划下已出现缺口的概率 Probability the plan has fallen short by each year",
        (
            "本规划下（调剂并追加财政补助），单位到该年已至少一年无法足额发放（存在未弥补缺口）"
            "的抽样比例；逐年累计。",
            "The share of draws in which the plan (transfers and extra subsidy) has left the "
            "unit short (an unfunded gap) in some year up to this one; cumulative.",
        ),
    ),
)


def colour_scale(sheet: Grid, cells: str) -> None:
    """Colour probabilities in ``cells`` white → amber → red; the values stay numbers."""
    (low, white), (mid, amber), (high, red) = SCALE_POINTS
    rule = ColorScaleRule(
        start_type="num",
        start_value=low,
        start_color=white,
        mid_type="num",
        mid_value=mid,
        mid_color=amber,
        end_type="num",
        end_value=high,
        end_color=red,
    )
    sheet.sheet.conditional_formatting.add(cells, rule)


def _cells(first_row: int, first_column: int, last_row: int, last_column: int) -> str:
    return (
        f"{get_column_letter(first_column)}{first_row}:{get_column_letter(last_column)}{last_row}"
    )


def title(sheet: Grid, text: str) -> None:
    sheet.text(1, 1, text, font=TITLE_FONT)
    sheet.height(1, 24)


def solved_text(risk: ScenarioRisk) -> str:
    """``已求解 18/20 次抽样 18 of 20 draws solved``."""
    return f"已求解 {risk.solved}/{risk.draws} 次抽样 {risk.solved} of {risk.draws} draws solved"


# --- the national balance in one scenario's row ---------------------------------------

NATIONAL_HEADERS: tuple[tuple[str, float], ...] = (
    ("全国结余规划期内耗尽的概率\nNational balance runs out within the horizon", 19.0),
    ("最可能耗尽年份\nMost likely year", 13.0),
    ("该年份的概率\nIts probability", 12.0),
)
"""With no extra subsidy, as the sentences say it."""
NATIONAL_FORMATS = (PROBABILITY, None, PROBABILITY)


def put_national(sheet: Grid, row: int, column: int, risk: ScenarioRisk) -> None:
    """The ``NATIONAL_HEADERS`` figures of ``risk`` from ``column`` of ``row``: the year reads
    "never" when no draw runs out, and all three stay blank when no draw solved."""
    if not risk.solved:
        return
    sheet.put(row, column, national_runs_out(risk), PROBABILITY)
    likeliest = likeliest_depletion_year(risk)
    put_year(sheet, row, column + 1, likeliest[0] if likeliest else None, None)
    if likeliest is not None:
        sheet.put(row, column + 2, likeliest[1], PROBABILITY)


# --- ranking -------------------------------------------------------------------------------

RANKING_HEADERS: tuple[tuple[str, float], ...] = (
    ("稳健排序\nRobust rank", 9.0),
    ("情景\nScenario", 24.0),
    (f"追加补助合计第95百分位\nTotal extra subsidy, p95\n({YI})", 20.0),
    ("出现缺口的概率\nProbability of a gap", 16.0),
    (f"追加补助合计中位数\nTotal extra subsidy, median\n({YI})", 20.0),
    *NATIONAL_HEADERS,
    ("已求解抽样\nDraws solved", 12.0),
)
RANKING_NOTE = (
    "稳健排序：追加财政补助合计（地方＋中央，规划期）的第 95 百分位数最低者在前；相同时，"
    "出现未弥补缺口的概率低者在前；再相同时按运行顺序。全国耗尽年份指不增加补助时全国累计"
    "结余的耗尽年份。",
    "The robust ranking puts first the lowest 95th percentile of the total extra subsidy "
    "(local and central, over the horizon), then the lowest probability of an unfunded gap, "
    "then the run's order. The national depletion year is that of the nation's balance with "
    "no extra subsidy.",
)


def ranking_sheet(sheet: Grid, result: RiskResult) -> None:
    """One row per scenario, the most robust first."""
    labels, widths = zip(*RANKING_HEADERS, strict=True)
    sheet.table_header(labels, widths, frozen="C2")
    fmts = [COUNT, None, MONEY, PROBABILITY, MONEY, *NATIONAL_FORMATS, COUNT]
    row = 1
    for rank, risk in enumerate(result.ranking(), start=1):
        row += 1
        values = [
            None,
            risk.scenario,
            risk.subsidy_p95,
            risk.gap_probability,
            risk.money.at["total_subsidy_100m", "p50"],
            *(None for _ in NATIONAL_HEADERS),
            risk.solved,
        ]
        sheet.put_row(row, values, fmts)
        sheet.put(row, 1, rank, COUNT, alignment=CENTRE)
        put_national(sheet, row, 6, risk)
    sheet.autofilter(len(labels), row)
    sentences(sheet, row + 1, [RANKING_NOTE], sum(widths), len(widths))


# --- unit_gap ------------------------------------------------------------------------------

UNIT_GAP_NOTE = (
    "每个单位在规划期内至少一年出现未弥补缺口的抽样比例；第一行为至少一个单位出现缺口的比例。",
    "The share of draws in which the unit has an unfunded gap in at least one year of the "
    "horizon; the first row, the share in which at least one unit has one.",
)


def unit_gap_sheet(sheet: Grid, result: RiskResult) -> None:
    """Units down, scenarios across: the probability of an unfunded gap, coloured."""
    scenarios = result.scenarios
    labels = [*UNIT_HEADERS, *(s.scenario for s in scenarios)]
    widths = [*NAME_WIDTHS, *(SCENARIO_WIDTH for _ in scenarios)]
    sheet.table_header(labels, widths, frozen="C3")  # the "any unit" row stays in sight
    first = scenarios[0]
    fmts = [None, None, *(PROBABILITY for _ in scenarios)]
    totals = [s.gap_probability for s in scenarios]
    sheet.put_row(2, [None, "任一单位 Any unit", *totals], fmts, font=TOTAL_FONT)
    row = 2
    table = pd.concat([s.unit_gap_probability for s in scenarios], axis=1)
    figures = table.reindex(list(first.codes)).to_numpy(dtype=float).tolist()
    for code, name, shares in zip(first.codes, first.names, figures, strict=True):
        row += 1
        sheet.put_row(row, [code, name, *shares], fmts)
    colour_scale(sheet, _cells(2, 3, row, len(labels)))
    sentences(sheet, row + 1, [UNIT_GAP_NOTE, SCALE_NOTE], sum(widths), len(widths))


# --- depletion by year ---------------------------------------------------------------------


def depletion_sheet(sheet: Grid, result: RiskResult, regime: Regime) -> None:
    """For each scenario a titled block, units down and years across: the probability of
    having run out by the end of each year, coloured."""
    title(sheet, regime.title)
    longest = max(len(s.years) for s in result.scenarios)
    widths = [*NAME_WIDTHS, *(YEAR_WIDTH for _ in range(longest))]
    row = sentences(sheet, 1, [regime.meaning, SCALE_NOTE], sum(widths), len(widths))
    sheet.freeze("C2")
    for index, risk in enumerate(result.scenarios):
        if index:
            sheet.page_break(row + 1)
        row = _depletion_block(sheet, risk, regime, row + 2, widths)


def _depletion_block(
    sheet: Grid, risk: ScenarioRisk, regime: Regime, row: int, widths: Sequence[float]
) -> int:
    """One scenario's unit × year table from ``row``; the last row written."""
    sheet.text(row, 1, f"情景 Scenario: {risk.scenario}    {solved_text(risk)}", font=SECTION_FONT)
    sheet.height(row, 24)
    row += 1
    sheet.header_row(
        row, [*UNIT_HEADERS, *(str(y) for y in risk.years)], widths[: 2 + len(risk.years)]
    )
    for column, year in enumerate(risk.years, start=3):
        sheet.text(
            row, column, str(year), font=HEADER_FONT, fill=HEADER_FILL, alignment=YEAR_HEADER
        )
    frame = risk.depletion[regime.key]
    fmts = [None, None, *(PROBABILITY for _ in risk.years)]
    top = row + 1
    figures = frame.loc[list(risk.codes)].to_numpy(dtype=float).tolist()
    for code, name, shares in zip(risk.codes, risk.names, figures, strict=True):
        row += 1
        sheet.put_row(row, [code, name, *shares], fmts)
    colour_scale(sheet, _cells(top, 3, row, 2 + len(risk.years)))
    return row


# --- national depletion --------------------------------------------------------------------

NATIONAL_NOTE = (
    "不增加补助时，全国累计结余在各年耗尽的抽样比例；“规划期内不会”一行为规划期内不耗尽的比例。"
    "每列合计为 100%。",
    "The share of draws in which the nation's balance, with no extra subsidy, runs out in "
    "each year; the “never” row, the share in which it lasts the horizon. Each column sums "
    "to 100%.",
)


def national_depletion_sheet(sheet: Grid, result: RiskResult) -> None:
    """Years down (then "never"), scenarios across: the national depletion year's
    distribution, shaded white to blue."""
    scenarios = result.scenarios
    labels = [f"{FIGURES['year'].zh}\n{FIGURES['year'].en}", *(s.scenario for s in scenarios)]
    widths = [19.0, *(SCENARIO_WIDTH for _ in scenarios)]
    sheet.table_header(labels, widths, frozen="B2")
    fmts = [COUNT, *(PROBABILITY for _ in scenarios)]
    # Scenarios may end in different years: a year beyond one's horizon stays blank.
    years = sorted({year for s in scenarios for year in s.years})
    shares_by_year = [s.national_depletion.to_dict() for s in scenarios]
    row = 1
    for year in [*years, None]:
        row += 1
        shares = [by_year.get(year) for by_year in shares_by_year]
        sheet.put_row(row, [year, *shares], fmts)
        if year is None:
            sheet.text(row, 1, NEVER.name, font=NEVER_FONT, alignment=RIGHT)
    rule = ColorScaleRule(
        start_type="num",
        start_value=0,
        start_color="FFFFFF",
        end_type="num",
        end_value=1,
        end_color=DISTRIBUTION_COLOUR,
    )
    sheet.sheet.conditional_formatting.add(_cells(2, 2, row, len(labels)), rule)
    sentences(sheet, row + 1, [NATIONAL_NOTE], sum(widths), len(widths))


# --- subsidy -------------------------------------------------------------------------------

SPREAD_LABELS: tuple[tuple[str, str], ...] = (
    ("mean", "平均\nMean"),
    *((f"p{q}", f"第{q}百分位\np{q}") for q in PERCENTILES),
)
SUBSIDY_NOTE = (
    "每次抽样取规划期各年之和，再对已求解的抽样取平均与百分位数。追加财政补助合计＝地方＋中央。",
    "Each draw's figure is summed over the horizon's years; the mean and percentiles are "
    "over the draws that solved. Total extra subsidy = local + central.",
)


def subsidy_sheet(sheet: Grid, result: RiskResult) -> None:
    """One row per scenario and figure: the mean and percentiles of its horizon total."""
    labels = [
        "情景\nScenario",
        "数字\nFigure",
        *(f"{text}\n({YI})" for _, text in SPREAD_LABELS),
    ]
    widths = [24.0, 44.0, *(15.0 for _ in SPREAD_LABELS)]
    sheet.table_header(labels, widths, frozen="C2")
    fmts = [None, None, *(MONEY for _ in SPREAD_LABELS)]
    row = 1
    for risk in result.scenarios:
        for key in MONEY_KEYS:
            row += 1
            spread = [risk.money.at[key, column] for column, _ in SPREAD_LABELS]
            font = TOTAL_FONT if key == "total_subsidy_100m" else None
            sheet.put_row(row, [risk.scenario, FIGURES[key].name, *spread], fmts, font=font)
    sheet.autofilter(len(labels), row)
    sentences(sheet, row + 1, [SUBSIDY_NOTE], sum(widths), len(widths))
