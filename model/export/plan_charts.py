"""Native Excel charts of the plan workbook, each drawn from cells of the workbook.

Three charts sit on the ``charts`` sheet: the national balance by year (the plan's closing
balance against the balance with no extra subsidy, lines), the contribution ratio by year
(a line), and each unit's depletion year under the statutory rule against the plan
(horizontal bars, first unit at the top). The first two read the ``national`` sheet; the
third reads a small table on the ``charts`` sheet itself, because a chart plots numbers and
the ``depletion`` sheet says "never" in words. The sheets may be ordinary or write-only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.chart.series import SeriesLabel

from model.export.charts import LABEL_SIZE, chart_text, chart_title

LINE_HEIGHT_CM = 6.8
"""The height of the two line charts, which share a printed A4 page."""

COLOURS: dict[str, str] = {
    "national_closing_100m": "C55A11",
    "national_before_100m": "A5A5A5",
    "contribution_ratio": "2F5597",
    "depletion_year_rule": "8EA9DB",
    "depletion_year_plan": "C55A11",
}


def depletion_chart_height(units: int) -> float:
    """Centimetres: room for two bars and a readable name per unit; 32 units fit a page."""
    return max(8.0, 3.0 + 0.37 * units)


def _style(chart: Any, title: str, width: float, height: float) -> None:
    """Title, size, a legend below, and axes that show (openpyxl hides them by default)."""
    chart.title = chart_title(title)
    chart.width, chart.height = width, height
    chart.legend.position = "b"
    chart.legend.txPr = chart_text(LABEL_SIZE)
    for axis in (chart.x_axis, chart.y_axis):
        axis.delete = False
        axis.txPr = chart_text(LABEL_SIZE)


def _add_series(
    chart: Any, data: Any, column: int, first: int, last: int, title: str, colour: str
) -> None:
    chart.add_data(Reference(data, min_col=column, min_row=first, max_row=last))
    series = chart.series[-1]
    series.tx = SeriesLabel(v=title)
    series.graphicalProperties.line.solidFill = colour
    if isinstance(chart, BarChart):
        series.graphicalProperties.solidFill = colour
        series.graphicalProperties.line.noFill = True
    else:
        series.graphicalProperties.line.width = 28575  # 2.25 pt
        series.smooth = False  # LibreOffice smooths a line that does not say


def add_line_chart(
    target: Any,
    anchor: str,
    title: str,
    data: Any,
    rows: tuple[int, int],
    year_column: int,
    series: Sequence[tuple[int, str, str]],
    axis_format: str,
    width: float,
) -> None:
    """A line chart of ``data``'s columns against its years, hung at ``anchor`` of ``target``.

    Args:
        rows: the first and last data rows (one row per year).
        year_column: the column of the years, the category axis.
        series: per line, its column, its title and its colour.
        axis_format: the number format of the value axis.
        width: centimetres.
    """
    chart = LineChart()
    _style(chart, title, width, LINE_HEIGHT_CM)
    first, last = rows
    for column, name, colour in series:
        _add_series(chart, data, column, first, last, name, colour)
    chart.set_categories(Reference(data, min_col=year_column, min_row=first, max_row=last))
    chart.x_axis.tickLblPos = "low"
    chart.y_axis.number_format = axis_format
    target.add_chart(chart, anchor)


def add_depletion_chart(
    target: Any,
    anchor: str,
    title: str,
    rows: tuple[int, int],
    name_column: int,
    series: Sequence[tuple[int, str, str]],
    years: tuple[int, int],
    width: float,
) -> None:
    """Horizontal bars of depletion years, one pair per unit, read from ``target`` itself.

    Args:
        rows: the first and last rows of the units' table on ``target``.
        name_column: the column of the unit names, the category axis.
        series: per bar, its column, its title and its colour.
        years: the value axis runs from the first to the second (the horizon's end + 1,
            where "never" is drawn).
        width: centimetres.
    """
    first, last = rows
    chart = BarChart()
    chart.type = "bar"
    chart.grouping = "clustered"
    chart.gapWidth = 40
    _style(chart, title, width, depletion_chart_height(last - first + 1))
    for column, name, colour in series:
        _add_series(chart, target, column, first, last, name, colour)
    chart.set_categories(Reference(target, min_col=name_column, min_row=first, max_row=last))
    chart.x_axis.scaling.orientation = "maxMin"
    chart.x_axis.tickLblPos = "low"
    chart.x_axis.tickLblSkip = 1
    chart.y_axis.scaling.min, chart.y_axis.scaling.max = years
    chart.y_axis.majorUnit = 1
    chart.y_axis.number_format = "0"
    target.add_chart(chart, anchor)
