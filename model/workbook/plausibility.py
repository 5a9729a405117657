"""Plausibility across columns and rows: the unit slips that valid-looking figures hide.

A figure typed in 万元 where 亿元 was meant, in 元 where 万元 was meant, or in 人 where 万人
was meant is off by a factor of 10⁴, and each cell on its own still looks like a number.
Ratios of the unit's own figures expose it: pension expenditure per retiree, the share of
the wage bill collected, other income against expenditure, reserve months, retirees per
insured employee. Every real unit keeps these within a known range (the ranges below are
wide around the published provincial figures of 2017–2021).

Two bands per ratio decide what happens:

- outside the **usual** band (a factor of about 3 beyond anything published) the figure is
  a **warning**: it may be right, so the run goes on, and every surface shows it;
- outside the **possible** band (a factor of 100 or more beyond anything published, which a
  10⁴ slip always crosses) it is an **error**: no real unit is there. A planner whose data
  is genuinely that unusual sets ``accept_unusual_figures`` to ``yes`` in the parameters
  sheet; the errors then become warnings and stay on every report.

Each message names the cell most likely to hold the slip: of the cells a ratio is made
of, the one furthest from the median of its column.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from model.errors import Problem
from model.schema import PROVINCE_BY_KEY

MEDIAN_FACTOR = 300.0
"""A unit's figure more than this many times above (or below) the median of all units is a
warning. Tibet's insured employees are about 1/25 of the median province's."""
MEDIAN_MIN_UNITS = 5
"""The median of fewer units says too little about what is usual."""


@dataclass(frozen=True)
class Ratio:
    """A ratio every real unit keeps within a known range.

    Attributes:
        en, zh: what the ratio is, in both languages.
        unit_en, unit_zh: its unit.
        keys: the columns it is made of (the cells a message may name).
        value: computes it for every unit.
        usual: outside this band the figure is a warning.
        possible: outside this band it is an error.
    """

    en: str
    zh: str
    unit_en: str
    unit_zh: str
    keys: tuple[str, ...]
    value: Callable[[pd.DataFrame], pd.Series]
    usual: tuple[float, float]
    possible: tuple[float, float]


def _covered(units: pd.DataFrame) -> pd.Series:
    """Covered employees as the statutory rule counts them (the mean of insured and
    enterprise employment where both are given)."""
    insured = units["insured_employees_10k"]
    enterprise = units["enterprise_employment_10k"]
    return ((insured + enterprise) / 2).where(enterprise.notna(), insured)


RATIOS: tuple[Ratio, ...] = (
    Ratio(
        "average wage",
        "平均工资",
        "yuan a year",
        "元/年",
        ("avg_wage_yuan",),
        lambda u: u["avg_wage_yuan"],
        (20_000, 500_000),
        (1_000, math.inf),
    ),
    Ratio(
        "pension expenditure per retiree",
        "人均养老金支出",
        "yuan a year",
        "元/年",
        ("expenditure_100m", "retirees_10k"),
        lambda u: u["expenditure_100m"] * 1e4 / u["retirees_10k"],
        (10_000, 200_000),
        (500, 5_000_000),
    ),
    Ratio(
        "contribution income as a share of the wage base",
        "征缴收入占缴费工资基数的比例",
        "",
        "",
        ("contribution_income_100m", "avg_wage_yuan", "insured_employees_10k"),
        lambda u: u["contribution_income_100m"] / (0.9 * u["avg_wage_yuan"] * _covered(u) / 1e4),
        (0.02, 0.6),
        (0.0005, 20),
    ),
    Ratio(
        "retirees per insured employee",
        "离退休人数与参保职工人数之比",
        "",
        "",
        ("retirees_10k", "insured_employees_10k"),
        lambda u: u["retirees_10k"] / u["insured_employees_10k"],
        (0.03, 3),
        (0.0005, 200),
    ),
    Ratio(
        "enterprise employment per insured employee",
        "企业就业人数与参保职工人数之比",
        "",
        "",
        ("enterprise_employment_10k", "insured_employees_10k"),
        lambda u: u["enterprise_employment_10k"] / u["insured_employees_10k"],
        (0.1, 10),
        (0.001, 1000),
    ),
    Ratio(
        "opening balance in months of expenditure",
        "年初累计结余可支付月数",
        "months",
        "个月",
        ("opening_balance_100m", "expenditure_100m"),
        lambda u: 12 * u["opening_balance_100m"] / u["expenditure_100m"],
        (-240, 240),
        (-12_000, 12_000),
    ),
    Ratio(
        "other income as a share of expenditure",
        "其他收入占基金支出的比例",
        "",
        "",
        ("other_income_100m", "expenditure_100m"),
        lambda u: u["other_income_100m"] / u["expenditure_100m"],
        (0, 0.5),
        (0, 100),
    ),
    Ratio(
        "planned central subsidy as a share of expenditure",
        "已安排中央财政补助占基金支出的比例",
        "",
        "",
        ("planned_central_subsidy_100m", "expenditure_100m"),
        lambda u: u["planned_central_subsidy_100m"] / u["expenditure_100m"],
        (0, 1),
        (0, 100),
    ),
    Ratio(
        "local subsidy cap as a share of expenditure",
        "地方财政补助上限占基金支出的比例",
        "",
        "",
        ("local_subsidy_cap_100m", "expenditure_100m"),
        lambda u: u["local_subsidy_cap_100m"] / u["expenditure_100m"],
        (0, 2),
        (0, 100),
    ),
)

MEDIAN_KEYS: tuple[str, ...] = (
    "avg_wage_yuan",
    "insured_employees_10k",
    "enterprise_employment_10k",
    "retirees_10k",
    "contribution_income_100m",
    "expenditure_100m",
)


def check_plausibility(
    units: pd.DataFrame, sheet: str, columns: dict[str, str]
) -> tuple[list[Problem], list[Problem]]:
    """Errors and warnings for figures that look like a unit slip.

    Args:
        units: the validated units, with ``input_row``.
        sheet: the provinces sheet's name as written.
        columns: key → column letter in that sheet.

    Returns:
        (errors, warnings), each at most one per cell, in reading order.
    """
    found: dict[str, tuple[bool, Problem]] = {}
    deviation = _median_deviation(units)
    rows = units["input_row"].to_numpy()
    for ratio in RATIOS:
        if any(k not in columns for k in ratio.keys if k != "enterprise_employment_10k"):
            continue
        if ratio.keys[0] not in columns:
            continue
        with np.errstate(divide="ignore", invalid="ignore"):
            values = ratio.value(units).to_numpy(dtype=float)
        for i, value in enumerate(values):
            if not math.isfinite(value):
                continue
            low, high = ratio.possible
            # A zero is not a slip of units (no slip turns a figure into 0), so it is at
            # most unusual: a unit with no contribution income, say.
            error = not low <= value <= high and value != 0
            if not error and ratio.usual[0] <= value <= ratio.usual[1]:
                continue
            key = _blamed(ratio.keys, deviation, i)
            where = f"{sheet}!{columns[key]}{rows[i]}"
            if where in found and (found[where][0] or not error):
                continue
            found[where] = (
                error,
                _ratio_problem(ratio, value, key, where, error, columns, rows[i]),
            )
    for key in MEDIAN_KEYS:
        if key not in columns or len(units) < MEDIAN_MIN_UNITS:
            continue
        for i, factor in enumerate(deviation[key]):
            where = f"{sheet}!{columns[key]}{rows[i]}"
            if factor > math.log(MEDIAN_FACTOR) and where not in found:
                found[where] = (False, _median_problem(units, key, i, where))
    ordered = sorted(found.items(), key=lambda item: _cell_order(item[0]))
    errors = [p for _, (is_error, p) in ordered if is_error]
    warnings = [p for _, (is_error, p) in ordered if not is_error]
    return errors, warnings


def _blamed(keys: tuple[str, ...], deviation: dict[str, np.ndarray], i: int) -> str:
    """The cell to name: the ratio's first figure, unless another is ten times further from
    its column's median (an income ratio is wrong because of the expenditure, say)."""
    other = max(keys, key=lambda k: deviation[k][i])
    return other if deviation[other][i] > deviation[keys[0]][i] + math.log(10) else keys[0]


def _median_deviation(units: pd.DataFrame) -> dict[str, np.ndarray]:
    """|log(value / median of its column)| per key and unit; 0 where undefined."""
    deviation = {}
    for key in {k for r in RATIOS for k in r.keys} | set(MEDIAN_KEYS):
        values = units[key].to_numpy(dtype=float)
        positive = values[np.isfinite(values) & (values > 0)]
        if len(positive) < MEDIAN_MIN_UNITS:
            deviation[key] = np.zeros(len(values))
            continue
        median = float(np.median(positive))
        with np.errstate(divide="ignore", invalid="ignore"):
            logs = np.abs(np.log(np.abs(values) / median))
        deviation[key] = np.where(np.isfinite(logs), logs, 0.0)
    return deviation


def _ratio_problem(
    ratio: Ratio,
    value: float,
    key: str,
    where: str,
    error: bool,
    columns: dict[str, str],
    row: int,
) -> Problem:
    cells = " ÷ ".join(f"{columns[k]}{row}" for k in ratio.keys[:2] if k in columns)
    unit_en = f" {ratio.unit_en}" if ratio.unit_en else ""
    band = ratio.usual
    field = PROVINCE_BY_KEY[key]
    what = (
        f"found {ratio.en} of {_show(value)}{unit_en} (from {cells}), where real units "
        f"lie between {_show(band[0])} and {_show(band[1])}"
    )
    what_zh = (
        f"{ratio.zh}为 {_show(value)}{ratio.unit_zh}（由 {cells} 算得），"
        f"而实际各单位在 {_show(band[0])} 到 {_show(band[1])} 之间"
    )
    fix = (
        f"check the unit of {field.label}: a figure in 万元 for 亿元, 元 for 万元 or 人 for "
        "万人 is 10,000 times off"
    )
    fix_zh = (
        f"请核对“{field.label}”的计量单位：把万元当作亿元、元当作万元或人当作万人，会相差一万倍"
    )
    if error:
        fix += "; if the figure is right, set accept_unusual_figures to yes in the parameters sheet"
        fix_zh += "；如数据确实无误，请在 parameters 工作表中将 accept_unusual_figures 设为 yes"
    return Problem(where, what, fix, what_zh, fix_zh)


def _median_problem(units: pd.DataFrame, key: str, i: int, where: str) -> Problem:
    values = units[key].to_numpy(dtype=float)
    median = float(np.median(values[np.isfinite(values) & (values > 0)]))
    factor = values[i] / median
    field = PROVINCE_BY_KEY[key]
    if factor >= 1:
        what = f"found {_show(values[i])} in {field.key}, {_show(factor)} times the median unit"
        what_zh = f"{field.zh}为 {_show(values[i])}，是各单位中位数的 {_show(factor)} 倍"
    else:
        what = f"found {_show(values[i])} in {field.key}, 1/{_show(1 / factor)} of the median unit"
        what_zh = f"{field.zh}为 {_show(values[i])}，仅为各单位中位数的 1/{_show(1 / factor)}"
    return Problem(
        where,
        what,
        f"check the unit of {field.label}: a slip between 万元 and 亿元, or 人 and 万人, is "
        "10,000 times off",
        what_zh,
        f"请核对“{field.label}”的计量单位：万元与亿元、人与万人混用会相差一万倍",
    )


def _show(value: float) -> str:
    """Readable at any size: 3.46, 0.000142, 47,700, 1.2e+09."""
    size = abs(value)
    if size >= 1e7:
        return f"{value:.3g}"
    if size >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def _cell_order(where: str) -> tuple[int, int]:
    """Sort ``sheet!L12`` by row, then column."""
    cell = where.rsplit("!", 1)[-1]
    letters = "".join(c for c in cell if c.isalpha())
    digits = "".join(c for c in cell if c.isdigit())
    column = 0
    for char in letters:
        column = column * 26 + ord(char) - 64
    return int(digits or 0), column
