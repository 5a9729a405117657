"""The fan chart of the risk workbook: a scenario's national balance by year, as bands.

One native Excel line chart per scenario, drawn from the table above it on the ``fan``
sheet: the 5th, 25th, 50th, 75th and 95th percentiles of the national closing balance under
the plan (orange, the median bold) and with no extra subsidy (blue-grey, dashed), so a
planner sees both how wide the outcomes spread and how much of the spread the plan absorbs.
The sheet may be write-only: the chart only names the cells it reads.
"""

from __future__ import annotations

from typing import Any

from openpyxl.chart import LineChart, Reference
from openpyxl.chart.legend import LegendEntry
from openpyxl.chart.series import SeriesLabel

from model.analysis.risk import FAN
from model.export.charts import LABEL_SIZE, chart_text, chart_title

FAN_HEIGHT_CM = 7.5
"""Tall enough that five lines a regime stay apart; with a table of 16 years below, a
scenario fits one printed page."""
MEDIAN = 50
BAND_NAMES: dict[int, str] = {5: "p5–p95", 25: "p25–p75", 50: "p50", 75: "p25–p75", 95: "p5–p95"}
"""A band's legend: the lower and upper lines share a colour and one entry."""
BAND_COLOURS: dict[str, dict[int, str]] = {
    "plan": {5: "F4B183", 25: "E2884D", 50: "C55A11", 75: "E2884D", 95: "F4B183"},
    "before": {5: "B4C7E7", 25: "7F9CC9", 50: "44546A", 75: "7F9CC9", 95: "B4C7E7"},
}
"""Outer bands light, inner darker, the median darkest: the plan orange (as the plan
workbook draws it), no extra subsidy blue-grey."""
BOLD_EMU = 34925  # 2.75 pt
THIN_EMU = 12700  # 1 pt


def add_fan_chart(
    sheet: Any,
    anchor: str,
    title: str,
    rows: tuple[int, int],
    columns: dict[str, int],
    regimes: dict[str, tuple[str, str]],
    width: float,
) -> None:
    """The fan of one scenario, read from ``sheet`` itself.

    The legend names each pair of bands once (``p5–p95``, ``p25–p75``) and the median:
    six entries, one row under the chart.

    Args:
        anchor: the cell the chart hangs from.
        rows: the first and last rows of the years.
        columns: ``year``, and ``plan:p5`` … ``before:p95``, to their column numbers.
        regimes: ``plan`` and ``before`` to their Chinese and English words.
        width: centimetres.
    """
    first, last = rows
    chart = LineChart()
    chart.title = chart_title(title)
    chart.width, chart.height = width, FAN_HEIGHT_CM
    chart.legend.position = "b"
    chart.legend.txPr = chart_text(LABEL_SIZE)
    for axis in (chart.x_axis, chart.y_axis):
        axis.delete = False
        axis.txPr = chart_text(LABEL_SIZE)
    hidden = []
    for regime, colours in BAND_COLOURS.items():
        zh, en = regimes[regime]
        for q in FAN:
            chart.add_data(
                Reference(sheet, min_col=columns[f"{regime}:p{q}"], min_row=first, max_row=last)
            )
            series = chart.series[-1]
            series.tx = SeriesLabel(v=f"{zh} {BAND_NAMES[q]} {en} {BAND_NAMES[q]}")
            line = series.graphicalProperties.line
            line.solidFill = colours[q]
            line.width = BOLD_EMU if q == MEDIAN else THIN_EMU
            if regime == "before":
                line.prstDash = "dash"
            series.smooth = False  # LibreOffice smooths a line that does not say
            if q > MEDIAN:
                hidden.append(LegendEntry(idx=len(chart.series) - 1, delete=True))
    chart.legend.legendEntry = hidden
    chart.set_categories(Reference(sheet, min_col=columns["year"], min_row=first, max_row=last))
    chart.x_axis.tickLblPos = "low"
    chart.y_axis.number_format = "#,##0"
    sheet.add_chart(chart, anchor)
