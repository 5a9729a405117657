"""The plan workbook's tables: depletion years, the national table, unit × year matrices.

Layout only, as ``model.export.plan`` is: every value comes from the ``Plan``. Codes stay
text, years are integers, and a year that does not come within the horizon reads
``NEVER`` in grey, right-aligned with the years. The reserve-months matrix is coloured as a
heat map by conditional formatting, so its cells stay numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
from openpyxl.formatting.rule import ColorScaleRule
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from model import vocabulary
from model.analysis.plan import DEPLETION_KEYS, Plan
from model.export.cells import (
    COUNT,
    HEADER_FILL,
    HEADER_FONT,
    MONEY,
    MONTHS,
    PERCENT,
    TITLE_FONT,
    TOTAL_FONT,
    Column,
    Grid,
    column_labels,
)
from model.export.layout import figure_column, sentences
from model.vocabulary import FIGURES, NEVER


@dataclass(frozen=True)
class Matrix:
    """A unit × year sheet: its name, the ``Plan.figures`` key it shows, and its format."""

    sheet: str
    key: str
    number_format: str


MATRICES: tuple[Matrix, ...] = (
    Matrix("reserve_months", "months_optimized", MONTHS),
    Matrix("closing_balance", "closing_balance_100m", MONEY),
    Matrix("allocation", "allocation_100m", MONEY),
    Matrix("net_transfer", "net_transfer_100m", MONEY),
    Matrix("subsidy", "subsidy_100m", MONEY),
)
UNIT_FORMATS: dict[str, str] = {
    vocabulary.MONTHS: MONTHS,
    vocabulary.UNITS: COUNT,
    vocabulary.YI: MONEY,
}
"""A national column's number format, by the unit the vocabulary gives it; the ratio, a
fraction without a unit, shows as a percentage."""

NAME_COLUMNS: tuple[Column, ...] = (
    figure_column("code", width=7.0),
    figure_column("name_zh", width=17.0),
    figure_column("name_en", width=16.0),
)
DEPLETION_COLUMNS: tuple[Column, ...] = (
    *NAME_COLUMNS,
    figure_column("region", width=10.0),
    *(figure_column(key, COUNT, 22.0) for key in DEPLETION_KEYS),
)
YEAR_WIDTH = 11.0
YEAR_HEADER = Alignment(horizontal="right", vertical="center")
"""A year heading sits over its right-aligned figures."""
NEVER_FONT = Font(italic=True, color="808080")
RIGHT = Alignment(horizontal="right")
"""A depletion year that does not come: grey, and right-aligned with the years."""

HEAT_MAP = "reserve_months"
HEAT_POINTS: tuple[tuple[float, str], ...] = ((0.0, "F8696B"), (3.0, "FFEB84"), (12.0, "63BE7B"))
"""Reserve months and their colours: red at 0 or below, amber at 3, green at 12 or more."""
HEAT_NOTE = (
    "颜色：储备 0 个月及以下为红色，3 个月为黄色，12 个月及以上为绿色，其间渐变。",
    "Colour: red at 0 months of reserve or below, amber at 3, green at 12 or more, shading "
    "in between.",
)
HEAT_NOTE_COLUMNS = len(NAME_COLUMNS) + 8
HEAT_NOTE_WIDTH = sum(c.width for c in NAME_COLUMNS) + 8 * YEAR_WIDTH
"""The heat map's legend spans the names and eight years."""


def year_or_none(value: object) -> int | None:
    """A nullable year as the cell shows it: an integer, or None for "never"."""
    return None if value is None or pd.isna(value) else int(value)  # type: ignore[call-overload]


def put_year(sheet: Grid, row: int, column: int, year: int | None, font: Font | None) -> None:
    """A year as an integer, or ``NEVER`` in grey where it does not come."""
    if year is None:
        sheet.text(row, column, NEVER.name, font=NEVER_FONT, alignment=RIGHT)
    else:
        sheet.put(row, column, year, COUNT, font=font)


def depletion_sheet(sheet: Grid, plan: Plan) -> None:
    """One row per unit, earliest to run out under the rule first, "never" last; the nation
    below; then what the three regimes mean."""
    columns = DEPLETION_COLUMNS
    sheet.table_header(*column_labels(columns), frozen="C2")
    keys = list(DEPLETION_KEYS)
    table = plan.units.join(plan.depletion).sort_values(
        [keys[1], keys[0]], na_position="last", kind="stable"
    )
    fmts = [None] * len(NAME_COLUMNS) + [None]
    first_year = len(fmts) + 1
    row = 1
    for code, unit in table.iterrows():
        row += 1
        sheet.put_row(row, [code, unit["name_zh"], unit["name_en"], unit["region"]], fmts)
        for column, key in enumerate(keys, start=first_year):
            put_year(sheet, row, column, year_or_none(unit[key]), None)
    sheet.autofilter(len(columns), row)
    row += 1
    sheet.put_row(row, [None, "全国", "National", None], fmts, font=TOTAL_FONT)
    gaps = plan.gap_years()
    nation = (plan.national_depletion_year, plan.national_depletion_year, _first(gaps))
    for column, year in enumerate(nation, start=first_year):
        put_year(sheet, row, column, year, TOTAL_FONT)
    width = sum(c.width for c in columns)
    sentences(sheet, row + 1, _depletion_notes(plan), width, len(columns))


def _first(years: Sequence[int]) -> int | None:
    return years[0] if years else None


def _depletion_notes(plan: Plan) -> list[tuple[str, str]]:
    """The first national current deficit, and what each column means."""
    deficit = plan.first_current_deficit_year
    return [
        (
            f"全国首个当期赤字年份：{f'{deficit} 年' if deficit else NEVER.zh}。",
            f"First national current deficit: {deficit or NEVER.en}.",
        ),
        (
            "年末结余低于零的第一年即为耗尽年份；基年末仍为赤字的单位记为基年。"
            "调剂前：不调剂、不增加财政补助。法定规则：按本规划的上解比例路径执行法定规则，"
            "不增加财政补助。规划：本规划下首个无法足额发放（存在未弥补缺口）的年份。"
            "全国一行：不增加补助时全国累计结余的耗尽年份；调剂只在单位间转移资金，"
            "故调剂前与法定规则相同。",
            "A unit runs out in the first year its closing balance is below zero (a unit still "
            "in deficit at the end of the base year, in the base year). Before adjustment: no "
            "transfer and no "
            "extra subsidy. Statutory rule: the rule on the plan's ratio path, no extra "
            "subsidy. Plan: the first year the plan cannot pay in full (an unfunded gap). "
            "National row: the nation's balance with no extra subsidy, the same before "
            "adjustment and under the rule, since the fund only moves money between units.",
        ),
    ]


def national_columns(plan: Plan) -> tuple[Column, ...]:
    """The national sheet's columns: the year, then every column of ``plan.national``."""
    return (
        figure_column("year", COUNT, 8.0),
        *(figure_column(key, _national_format(key), 17.0) for key in plan.national.columns),
    )


def _national_format(key: str) -> str:
    return PERCENT if key == "contribution_ratio" else UNIT_FORMATS[FIGURES[key].unit]


def national_sheet(sheet: Grid, plan: Plan) -> None:
    """The national table, one row per year."""
    columns = national_columns(plan)
    sheet.table_header(*column_labels(columns), frozen="B2")
    fmts = [c.number_format for c in columns]
    for row, (year, values) in enumerate(plan.national.iterrows(), start=2):
        sheet.put_row(row, [year, *values.tolist()], fmts)


def matrix_sheet(sheet: Grid, plan: Plan, matrix: Matrix) -> None:
    """Units down, years across, under a title naming the figure and its unit."""
    sheet.text(1, 1, f"{FIGURES[matrix.key].text} — 各单位逐年 by unit and year", font=TITLE_FONT)
    sheet.height(1, 24)
    labels, widths = column_labels(NAME_COLUMNS)
    sheet.header_row(
        2,
        [*labels, *(str(year) for year in plan.years)],
        [*widths, *(YEAR_WIDTH for _ in plan.years)],
    )
    for column, year in enumerate(plan.years, start=len(NAME_COLUMNS) + 1):
        sheet.text(2, column, str(year), font=HEADER_FONT, fill=HEADER_FILL, alignment=YEAR_HEADER)
    sheet.freeze(f"{get_column_letter(len(NAME_COLUMNS) + 1)}3")
    sheet.sheet.print_title_rows = "1:2"
    codes = plan.units.index
    values = plan.figures[matrix.key][codes].T.to_numpy().tolist()
    fmts = [None] * len(NAME_COLUMNS) + [matrix.number_format] * len(plan.years)
    names = plan.units[["name_zh", "name_en"]].itertuples()
    for row, ((code, zh, en), figures) in enumerate(zip(names, values, strict=True), start=3):
        sheet.put_row(row, [code, zh, en, *figures], fmts)
    last = get_column_letter(len(fmts))
    sheet.sheet.auto_filter.ref = f"A2:{last}{len(codes) + 2}"


def matrix_range(plan: Plan) -> str:
    """The cells of a matrix sheet that hold figures."""
    first = get_column_letter(len(NAME_COLUMNS) + 1)
    last = get_column_letter(len(NAME_COLUMNS) + len(plan.years))
    return f"{first}3:{last}{len(plan.units) + 2}"


def heat_map(sheet: Grid, plan: Plan) -> None:
    """Colour the reserve months red → amber → green; the values stay numbers."""
    (low, red), (mid, amber), (high, green) = HEAT_POINTS
    rule = ColorScaleRule(
        start_type="num",
        start_value=low,
        start_color=red,
        mid_type="num",
        mid_value=mid,
        mid_color=amber,
        end_type="num",
        end_value=high,
        end_color=green,
    )
    sheet.sheet.conditional_formatting.add(matrix_range(plan), rule)
    sentences(sheet, len(plan.units) + 3, [HEAT_NOTE], HEAT_NOTE_WIDTH, HEAT_NOTE_COLUMNS)
