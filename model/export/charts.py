"""Native Excel charts of the allocation workbook, drawn from the ``allocation`` sheet.

Up to three charts sit under the summary: the net transfer by unit (rule and optimised
bars), the reserve months before, under the rule and optimised (clustered bars) and the
extra subsidy by unit split into local and central (stacked bars). The report leaves out a
chart with nothing to show, such as the subsidy chart when no unit needs subsidy. They
read the ``allocation`` sheet's cells, so a planner who sorts or filters that sheet sees
the charts follow. Bars run horizontally so 32 unit names stay readable, first unit at the
top. The sheets may be ordinary or write-only: a chart only names the cells it reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from openpyxl.chart import BarChart, Reference, ScatterChart, Series
from openpyxl.chart.text import RichText, Text
from openpyxl.chart.title import Title
from openpyxl.drawing.text import (
    CharacterProperties,
    Paragraph,
    ParagraphProperties,
    RegularTextRun,
)
from openpyxl.worksheet.pagebreak import Break

from model.vocabulary import FRONTIER, LOWEST_MONTHS, STATES, THIS_RUN

ROW_HEIGHT_CM = 0.53
"""A default 15-point row, used to leave room under each chart."""
LABEL_SIZE = 700
TITLE_SIZE = 1200
"""Font sizes in hundredths of a point."""

SERIES_COLOURS: dict[str, str] = {
    "rule_net_transfer_100m": "8EA9DB",
    "net_transfer_100m": "C55A11",
    "months_before": "A5A5A5",
    "months_rule": "8EA9DB",
    "months_optimized": "C55A11",
    "local_subsidy_100m": "548235",
    "central_subsidy_100m": "2F5597",
}


def columns_cm(widths: Sequence[float]) -> float:
    """The width of columns of these character widths, in centimetres: a chart as wide as
    the columns above or below it (seven pixels a character and five of padding, 96 dpi)."""
    return sum(7 * w + 5 for w in widths) / 96 * 2.54


@dataclass(frozen=True)
class ChartSpec:
    """One bar chart: its title, the ``allocation`` columns it plots, and how."""

    title: str
    keys: tuple[str, ...]
    grouping: str = "clustered"
    axis_format: str = "#,##0"


CHARTS: tuple[ChartSpec, ...] = (
    ChartSpec(
        "净调剂 Net transfer by unit (亿元; + net beneficiary, − net contributor)",
        ("rule_net_transfer_100m", "net_transfer_100m"),
    ),
    ChartSpec(
        "储备月数 Reserve months (月): before, under the rule and optimised",
        ("months_before", "months_rule", "months_optimized"),
    ),
    # General, so that a small subsidy's axis reads 0, 0.2, … rather than 0, 0, 1, 1.
    ChartSpec(
        "追加财政补助 Extra subsidy by unit: local and central (亿元)",
        ("local_subsidy_100m", "central_subsidy_100m"),
        grouping="stacked",
        axis_format="General",
    ),
)


def add_charts(
    target: Any,
    data: Any,
    units: int,
    columns: dict[str, int],
    row: int,
    width_cm: float,
    specs: Sequence[ChartSpec] = CHARTS,
) -> int:
    """Anchor the charts in ``target`` from ``row`` down, each on its own page.

    Args:
        target: the sheet that shows the charts (the summary), ordinary or write-only.
        data: the allocation sheet, with headers in row 1 and one row per unit below.
        units: how many unit rows ``data`` holds.
        columns: the column number of each key in ``data``.
        row: the first free row of ``target``.
        width_cm: the chart width, to match the columns above it.
        specs: the charts to draw (``CHARTS`` by default, in that order).

    Returns:
        The first row below the last chart.
    """
    height = max(8.0, 3.5 + 0.42 * units)
    for spec in specs:
        chart = _bar_chart(spec, width_cm, height)
        for key in spec.keys:
            values = Reference(data, min_col=columns[key], min_row=1, max_row=units + 1)
            chart.add_data(values, titles_from_data=True)
            chart.series[-1].graphicalProperties.solidFill = SERIES_COLOURS[key]
            chart.series[-1].graphicalProperties.line.noFill = True
        names = Reference(data, min_col=columns["name_zh"], min_row=2, max_row=units + 1)
        chart.set_categories(names)
        target.row_breaks.append(Break(id=row))
        target.add_chart(chart, f"A{row + 1}")  # a row below the break, or its frame shows above
        row += int(height / ROW_HEIGHT_CM) + 3
    return row


def chart_text(size: int, bold: bool = False) -> RichText:
    """Text properties for a chart's legend or axis labels (``size`` in 1/100 pt)."""
    props = CharacterProperties(sz=size, b=bold)
    return RichText(p=[Paragraph(pPr=ParagraphProperties(defRPr=props), endParaRPr=props)])


def chart_title(text: str, size: int = TITLE_SIZE) -> Title:
    """A bold chart title that does not overlay the plot (``size`` in 1/100 pt)."""
    props = CharacterProperties(sz=size, b=True)
    run = RegularTextRun(rPr=props, t=text)
    paragraph = Paragraph(pPr=ParagraphProperties(defRPr=props), r=[run])
    return Title(tx=Text(rich=RichText(p=[paragraph])), overlay=False)


def _bar_chart(spec: ChartSpec, width: float, height: float) -> BarChart:
    chart = BarChart()
    chart.type = "bar"
    chart.grouping = spec.grouping
    if spec.grouping == "stacked":
        chart.overlap = 100
    chart.gapWidth = 40
    chart.title = chart_title(spec.title)
    chart.width = width
    chart.height = height
    chart.legend.position = "r"
    chart.legend.txPr = chart_text(LABEL_SIZE)
    chart.x_axis.scaling.orientation = "maxMin"
    chart.x_axis.tickLblPos = "low"
    chart.x_axis.tickLblSkip = 1
    chart.x_axis.txPr = chart_text(LABEL_SIZE)
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    chart.y_axis.number_format = spec.axis_format
    chart.y_axis.txPr = chart_text(LABEL_SIZE)
    return chart


def add_frontier_chart(sheet: Any, points: int, rule_row: int, anchor: str) -> None:
    """The equity–rule frontier on ``sheet``: money moved against the worst-off unit's
    reserve months, a line through the points, with the run itself (the last point) and
    the statutory rule marked as their own series.

    Args:
        sheet: the frontier sheet: headers in row 1, the points in rows 2…, lowest months
            in column E and money moved in column D, the rule's figures in ``rule_row``.
        points: how many points the sheet holds.
        rule_row: the row holding the statutory rule's months and money moved.
        anchor: the cell the chart hangs from.
    """
    chart = ScatterChart()
    chart.title = chart_title("均衡与规则的权衡 Equity–rule frontier")
    chart.style = 13
    chart.x_axis.title = LOWEST_MONTHS.text
    chart.y_axis.title = "单位间调剂 Moved between units (亿元)"
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    chart.width, chart.height = 22.0, 12.0

    def series(first: int, last: int, title: str, colour: str, line: bool) -> Series:
        xs = Reference(sheet, min_col=5, min_row=first, max_row=last)
        ys = Reference(sheet, min_col=4, min_row=first, max_row=last)
        one = Series(ys, xs, title=title)
        one.marker.symbol = "circle"
        one.marker.size = 7
        one.marker.graphicalProperties.solidFill = colour
        one.graphicalProperties.line.solidFill = colour
        one.graphicalProperties.line.noFill = not line
        return one

    chart.series.append(series(2, points + 1, FRONTIER.name, "4472C4", True))
    chart.series.append(series(points + 1, points + 1, THIS_RUN.name, "C00000", False))
    chart.series.append(series(rule_row, rule_row, STATES["rule"].name, "7F7F7F", False))
    sheet.add_chart(chart, anchor)
