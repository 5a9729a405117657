"""The comparison workbook's ``charts`` sheet: what each scenario costs and what it buys,
drawn as what was swept allows (the rules of the web compare page).

- a sweep of one numeric parameter: lines against that parameter's values, sorted;
- a sweep of several: bars over every scenario, then one pair of small charts per swept
  parameter with the others held at the base (``analysis.sweeps.slices``), lines where the
  parameter's values are numbers and bars where they are not (an objective);
- an unordered set (the workbook's scenarios sheet): bars only, since nothing lies between
  two such scenarios.

Bars read the ``kpi`` sheet. A line or small chart reads a small table printed under it on
this sheet: the parameter's values and the figures of the scenarios on the slice, copied
from ``kpi`` (no helper columns, nothing hidden; the reader sees what is drawn).
"""

from __future__ import annotations

from typing import Any

from openpyxl.chart import BarChart, Reference, ScatterChart, Series
from openpyxl.worksheet.pagebreak import Break
from openpyxl.worksheet.worksheet import Worksheet

from model.analysis.comparison import Comparison
from model.analysis.sweeps import Slice, line_slice, slices, varying_keys
from model.export.cells import (
    HEADER_ALIGNMENT,
    HEADER_FILL,
    HEADER_FONT,
    SECTION_ALIGNMENT,
    SECTION_FONT,
    TITLE_FONT,
    print_setup,
    text_cell,
)
from model.export.charts import (
    LABEL_SIZE,
    ROW_HEIGHT_CM,
    TITLE_SIZE,
    chart_text,
    chart_title,
    columns_cm,
)
from model.schema import PARAMETER_BY_KEY
from model.workbook.scenarios import value_text

COST = (
    "财政补助与缺口 Fiscal subsidy and gap (亿元)",
    "#,##0",
    (
        "total_subsidy_100m",
        "unfunded_gap_100m",
    ),
)
EQUITY = (
    "储备月数 Reserve months, optimised: lowest and range (月)",
    "0",
    (
        "months_min_optimized",
        "months_range_optimized",
    ),
)
PANELS = (COST, EQUITY)
"""Each chart's title, value-axis format and ``kpi`` rows: the cost and what it buys."""
TABLE_WIDTH = 14.0
"""Column units of the sheet's first six columns, where the slice tables sit."""
BAR_HEIGHT_MAX = 24.5
"""Centimetres: a chart fits one portrait A4 page with the sheet's title."""
BAR_WIDTH = columns_cm([TABLE_WIDTH] * 6)
"""Centimetres: bars over every scenario span the six columns, one portrait page wide."""
PAIR_WIDTH = columns_cm([TABLE_WIDTH] * 3) - 0.2
"""Centimetres: the two charts of a slice stand side by side over the six columns."""
LINE, SMALL = (PAIR_WIDTH, 10.0), (PAIR_WIDTH, 7.5)
"""Centimetres, width and height: a chart of a one-parameter sweep; of a small pair."""
SMALL_TITLE_SIZE = 1000
"""Hundredths of a point: a title that fits a chart of a pair on two lines."""
SECOND_CHART_COLUMN = "D"
"""Where the right chart of a pair hangs: three table columns from A."""


def charts_sheet(
    sheet: Worksheet, kpi: Worksheet, rows: dict[str, int], comparison: Comparison, swept: bool
) -> None:
    """Fill ``sheet`` with the charts the comparison's sweep allows (module docstring).

    Args:
        kpi: the ``kpi`` sheet, scenarios from column 3 on, one figure a row.
        rows: each figure's row on ``kpi``.
        swept: whether the scenarios are a typed sweep (else the workbook's sheet).
    """
    text_cell(sheet.cell(row=1, column=1), "Trade-offs 权衡 (data: sheet kpi)").font = TITLE_FONT
    for column in "ABCDEF":
        sheet.column_dimensions[column].width = TABLE_WIDTH
    scenarios = [{"name": a.scenario, "overrides": a.overrides} for a in comparison.allocations]
    base = comparison.base.parameters.as_dict()
    keys = varying_keys(scenarios, base) if swept else []
    cuts = slices(scenarios, base, keys)
    row = 2
    line = line_slice(scenarios, base, keys)
    if line is not None:
        _slice_block(sheet, kpi, rows, line, row, "", size=LINE)
    else:
        row = _bars(sheet, kpi, rows, len(scenarios), row)
        for i, cut in enumerate(cuts if len(keys) > 1 else []):
            row = _slice_block(sheet, kpi, rows, cut, row, _held(cut), SMALL, i % 2 == 0)
    print_setup(sheet)
    sheet.page_setup.orientation = "portrait"  # tall bars: one readable row per scenario


def _held(cut: Slice) -> str:
    if cut.held == "base":
        return "其他参数取基准 others at base"
    return f"其他参数同 {cut.held} others as in {cut.held}"


def _parameter_title(key: str) -> str:
    field = PARAMETER_BY_KEY.get(key)
    return field.label if field else key


def _bars(sheet: Worksheet, kpi: Worksheet, rows: dict[str, int], count: int, row: int) -> int:
    """A horizontal bar chart per panel over every scenario, first scenario at the top, so
    fifty labels stay readable; each chart on its own page. Returns the next free row."""
    last = 2 + count
    categories = Reference(kpi, min_col=3, max_col=last, min_row=1, max_row=1)
    height = min(BAR_HEIGHT_MAX, max(8.0, 4.0 + 0.5 * count))
    for title, axis_format, keys in PANELS:
        chart = BarChart()
        chart.type = "bar"
        chart.gapWidth = 40
        _style(chart, title, axis_format, (BAR_WIDTH, height))
        chart.x_axis.scaling.orientation = "maxMin"
        chart.x_axis.tickLblSkip = 1
        for key in keys:
            values = Reference(kpi, min_col=3, max_col=last, min_row=rows[key], max_row=rows[key])
            chart.series.append(Series(values, title=kpi.cell(row=rows[key], column=1).value))
        chart.set_categories(categories)
        if row > 2:
            sheet.row_breaks.append(Break(id=row))
        sheet.add_chart(chart, f"A{row + 1}")  # a row below the break, or its frame shows above
        row += int(height / ROW_HEIGHT_CM) + 3
    return row


def _slice_block(
    sheet: Worksheet,
    kpi: Worksheet,
    rows: dict[str, int],
    cut: Slice,
    row: int,
    note: str,
    size: tuple[float, float],
    page_break: bool = True,
) -> int:
    """A caption, the cost and equity charts of one slice side by side, and the table they
    read. Returns the next free row."""
    if row > 2 and page_break:
        sheet.row_breaks.append(Break(id=row))
    caption = _parameter_title(cut.key) + (f" · {note}" if note else "")
    cell = text_cell(sheet.cell(row=row + 1, column=1), caption)
    cell.font, cell.alignment = SECTION_FONT, SECTION_ALIGNMENT
    sheet.merge_cells(start_row=row + 1, end_row=row + 1, start_column=1, end_column=6)
    sheet.row_dimensions[row + 1].height = 32
    chart_rows = int(size[1] / ROW_HEIGHT_CM) + 1
    top = row + 2 + chart_rows
    first, last = _slice_table(sheet, kpi, rows, cut, top)
    for panel, column in zip(PANELS, ("A", SECOND_CHART_COLUMN), strict=True):
        chart = _along(sheet, cut, panel, first, last, size)
        sheet.add_chart(chart, f"{column}{row + 2}")
    return last + 2


def _slice_table(
    sheet: Worksheet, kpi: Worksheet, rows: dict[str, int], cut: Slice, top: int
) -> tuple[int, int]:
    """The parameter's values and the slice's figures, a row per scenario in x order,
    copied from ``kpi``. Returns the first and last data rows."""
    field = PARAMETER_BY_KEY.get(cut.key)
    keys = [key for _, _, panel_keys in PANELS for key in panel_keys]
    headers = [_parameter_title(cut.key)]
    headers += [f"{kpi.cell(row=rows[k], column=1).value}" for k in keys]
    for c, text in enumerate(headers, start=1):
        cell = text_cell(sheet.cell(row=top, column=c), text)
        cell.font, cell.fill, cell.alignment = HEADER_FONT, HEADER_FILL, HEADER_ALIGNMENT
    sheet.row_dimensions[top].height = 45
    for r, (member, value) in enumerate(zip(cut.members, cut.values, strict=True), start=top + 1):
        x = sheet.cell(row=r, column=1)
        if cut.ordered:
            x.value = value
            x.number_format = "0.0##%" if field is not None and field.fraction else "General"
        else:
            text_cell(x, value_text(field, value) if field else str(value))
        for c, key in enumerate(keys, start=2):
            source = kpi.cell(row=rows[key], column=3 + member)
            target = sheet.cell(row=r, column=c, value=source.value)
            target.number_format = source.number_format
    return top + 1, top + len(cut.members)


def _along(
    sheet: Worksheet,
    cut: Slice,
    panel: tuple[str, str, tuple[str, ...]],
    first: int,
    last: int,
    size: tuple[float, float],
) -> Any:
    """One panel of a slice: lines against the parameter if its values are numbers, else
    clustered bars, one group per value."""
    title, axis_format, keys = panel
    offset = 2 + [k for _, _, ks in PANELS for k in ks].index(keys[0])
    chart: Any
    if cut.ordered:
        chart = ScatterChart()
        chart.scatterStyle = "lineMarker"
        xs = Reference(sheet, min_col=1, min_row=first, max_row=last)
        for i in range(len(keys)):
            ys = Reference(sheet, min_col=offset + i, min_row=first - 1, max_row=last)
            series = Series(ys, xs, title_from_data=True)
            series.marker.symbol = "circle"
            chart.series.append(series)
        field = PARAMETER_BY_KEY.get(cut.key)
        chart.x_axis.number_format = "0.0#%" if field is not None and field.fraction else "General"
    else:
        chart = BarChart()
        chart.type = "col"
        for i in range(len(keys)):
            ys = Reference(sheet, min_col=offset + i, min_row=first - 1, max_row=last)
            chart.add_data(ys, titles_from_data=True)
        chart.set_categories(Reference(sheet, min_col=1, min_row=first, max_row=last))
    _style(chart, title, axis_format, size)
    chart.x_axis.title = _parameter_title(cut.key)
    return chart


def _style(chart: Any, title: str, axis_format: str, size: tuple[float, float]) -> None:
    """Title, size, legend below, and small readable axis labels at the plot's foot."""
    chart.title = chart_title(title, TITLE_SIZE if size[0] > PAIR_WIDTH else SMALL_TITLE_SIZE)
    chart.x_axis.tickLblPos = "low"
    chart.width, chart.height = size
    chart.legend.position = "b"
    chart.legend.txPr = chart_text(LABEL_SIZE)
    chart.x_axis.txPr = chart_text(LABEL_SIZE)
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    chart.y_axis.number_format = axis_format
    chart.y_axis.txPr = chart_text(LABEL_SIZE)
