"""The plan page's charts, drawn on the server as inline SVG, and its heat-map colours.

A plan page is read, printed and forwarded; SVG drawn here needs no script, scales with
the page and is tested as markup. Colours are SVG attributes, never ``style``, so the
Content-Security-Policy (``style-src 'self'``) lets them through; the heat map's cells take
classes defined in ``static/style.css``. Series colours are the plan workbook's
(``model.export.plan_charts.COLOURS``) and the heat map follows its scale
(``model.export.plan_tables.HEAT_POINTS``: red at 0 months or below, amber at 3, green at 12
or more); ``tests/test_web_plan.py`` holds both in step without the app importing openpyxl.

Input is the plain data of ``page.json`` (``pages.plan_page``); every label comes from
``model.vocabulary``; every text is escaped, since unit names are planners' text.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from markupsafe import Markup, escape

from model.vocabulary import FIGURES, NEVER

COLOURS: dict[str, str] = {
    "national_closing_100m": "#C55A11",
    "national_before_100m": "#A5A5A5",
    "contribution_ratio": "#2F5597",
    "depletion_year_rule": "#8EA9DB",
    "depletion_year_plan": "#C55A11",
}
"""The plan workbook's series colours, with a ``#``."""

HEAT_BINS: tuple[tuple[float, str, str, float], ...] = (
    (0.0, "heat-0", "≤ 0", 0.0),
    (1.5, "heat-1", "0–1.5", 0.75),
    (3.0, "heat-2", "1.5–3", 2.25),
    (6.0, "heat-3", "3–6", 4.5),
    (9.0, "heat-4", "6–9", 7.5),
    (12.0, "heat-5", "9–12", 10.5),
    (math.inf, "heat-6", "> 12", 12.0),
)
"""Reserve months: each bin's upper bound (inclusive), its CSS class, its legend text and
the months its colour is taken at (the middle; the scale's ends for the open bins)."""
HEAT_COLOURS: dict[str, str] = {
    "heat-0": "#F8696B",
    "heat-1": "#FA8A71",
    "heat-2": "#FDCA7E",
    "heat-3": "#E5E482",
    "heat-4": "#B1D480",
    "heat-5": "#7DC67C",
    "heat-6": "#63BE7B",
}
"""Each bin's colour, ``heat_colour`` of its months on the workbook's scale; the classes
in ``static/style.css`` use them."""
NO_FIGURE = "heat-none"

WIDTH = 580
"""About the width of a chart's card beside another at 1366 pixels, so 12-unit text reads
as 12 pixels there."""
LEFT, RIGHT, TOP = 70, 14, 30
PLOT_HEIGHT = 220
LEGEND_LINE = 18
AXIS = "#5b6673"
GRID = "#e3e8ee"


def heat_class(months: float | None) -> str:
    """The heat map's class for a unit's reserve months in a year."""
    if months is None:
        return NO_FIGURE
    for upper, name, _, _ in HEAT_BINS:
        if months <= upper:
            return name
    return HEAT_BINS[-1][1]


def heat_colour(months: float, points: Sequence[tuple[float, str]]) -> str:
    """The colour of ``months`` on a scale of ``(months, RRGGBB)`` points, as Excel's
    three-colour scale shades it: flat beyond the ends, linear in between."""
    if months <= points[0][0]:
        return "#" + points[0][1].upper()
    for (low, start), (high, end) in pairwise(points):
        if months <= high:
            share = (months - low) / (high - low)
            channels = (_channel(start, i, share, end) for i in (0, 2, 4))
            return "#" + "".join(f"{c:02X}" for c in channels)
    return "#" + points[-1][1].upper()


def _channel(start: str, at: int, share: float, end: str) -> int:
    low, high = int(start[at : at + 2], 16), int(end[at : at + 2], 16)
    return round(low + share * (high - low))


def _number(value: float, digits: int = 0) -> str:
    return f"{value + 0.0:,.{digits}f}".replace("-", "−")


def _percent(value: float) -> str:
    return f"{value * 100:.4g}%"


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering ``[low, high]``: steps of 1, 2 or 5 times a power of ten."""
    if high <= low:
        high = low + (abs(low) or 1.0)
    raw = (high - low) / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.floor(low / step) * step
    ticks = []
    value = first
    while value < high + step * 0.999:
        ticks.append(round(value, 12))
        value += step
    return ticks


def year_ticks(years: Sequence[int], most: int = 12) -> list[int]:
    """The years to label: every year, or every 2nd, 5th or 10th, at most ``most`` of them."""
    step = next(s for s in (1, 2, 5, 10, 20) if len(years) / s <= most)
    return [y for y in years if (y - years[0]) % step == 0]


@dataclass(frozen=True)
class Series:
    """One line of a chart: its key in ``FIGURES`` (label and colour) and its values."""

    key: str
    values: list[float | None]
    dashed: bool = False


def _text(x: float, y: float, text: str, anchor: str = "middle", css: str = "") -> str:
    kind = f' class="{css}"' if css else ""
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{kind}>{escape(text)}</text>'


def _legend(items: list[tuple[str, str, bool, str]], y: float) -> tuple[list[str], float]:
    """Swatches and labels from the left, ``(label, colour, dashed, shape)`` each, wrapping
    to a new line where the next would not fit; the parts and the last line's baseline."""
    parts, x = [], 8.0
    for label, colour, dashed, shape in items:
        room = 36 + 6.6 * _width(label)
        if x > 8.0 and x + room > WIDTH:
            x, y = 8.0, y + LEGEND_LINE
        if shape == "line":
            dash = ' stroke-dasharray="6 4"' if dashed else ""
            parts.append(
                f'<line x1="{x:.1f}" y1="{y - 4:.1f}" x2="{x + 22:.1f}" y2="{y - 4:.1f}" '
                f'stroke="{colour}" stroke-width="3"{dash}/>'
            )
        else:
            parts.append(_marker(shape, x + 11, y - 4, colour))
        parts.append(_text(x + 28, y, label, "start", "legend"))
        x += room
    return parts, y


def _width(text: str) -> float:
    """Roughly how many Latin character widths ``text`` takes (a Chinese one counts two)."""
    return sum(2.0 if ord(c) > 0x2E80 else 1.0 for c in text)


def _marker(shape: str, x: float, y: float, colour: str, title: str = "") -> str:
    tip = f"<title>{escape(title)}</title>" if title else ""
    if shape == "square":
        return (
            f'<rect x="{x - 5:.1f}" y="{y - 5:.1f}" width="10" height="10" fill="{colour}" '
            f'stroke="#ffffff" stroke-width="1">{tip}</rect>'
        )
    return (
        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5" fill="{colour}" stroke="#ffffff" '
        f'stroke-width="1">{tip}</circle>'
    )


def _svg(chart_id: str, height: float, title: str, body: list[str]) -> Markup:
    """The ``<svg>`` element: scales to its card's width, titled for screen readers."""
    return Markup(
        f'<svg id="{chart_id}" class="plan-chart" viewBox="0 0 {WIDTH} {height:.0f}" '
        f'role="img" aria-labelledby="{chart_id}-title" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{chart_id}-title">{escape(title)}</title>' + "".join(body) + "</svg>"
    )


def line_chart(
    chart_id: str,
    title: str,
    years: Sequence[int],
    series: Sequence[Series],
    unit: str,
    percent: bool = False,
) -> Markup:
    """Figures by year as lines with a dot per year, each dot titled with its value; the
    zero line stands out when the figures cross it."""
    values = [v for s in series for v in s.values if v is not None]
    low, high = min([*values, 0.0]), max([*values, 0.0])
    ticks = nice_ticks(low, high, 6)
    y_low, y_high = ticks[0], ticks[-1]
    plot_right = WIDTH - RIGHT
    bottom = TOP + PLOT_HEIGHT

    def x_of(index: int) -> float:
        return LEFT + (plot_right - LEFT) * (index + 0.5) / len(years)

    def y_of(value: float) -> float:
        return bottom - (value - y_low) / (y_high - y_low) * PLOT_HEIGHT

    def shown(value: float) -> str:
        return _percent(value) if percent else _number(value, 2)

    body = [_text(LEFT - 8, TOP - 14, unit, "start", "axis-title")]
    for tick in ticks:
        y = y_of(tick)
        stroke = AXIS if tick == 0 else GRID
        body.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{plot_right}" y2="{y:.1f}" stroke="{stroke}"/>'
        )
        label = _percent(tick) if percent else _number(tick)
        body.append(_text(LEFT - 6, y + 4, label, "end", "tick"))
    labelled = set(year_ticks(years))
    for index, year in enumerate(years):
        if year in labelled:
            body.append(_text(x_of(index), bottom + 18, str(year), "middle", "tick"))
    for line in series:
        label = FIGURES[line.key].name
        colour = COLOURS[line.key]
        points = [
            (x_of(i), y_of(v), year, v)
            for i, (year, v) in enumerate(zip(years, line.values, strict=True))
            if v is not None
        ]
        dash = ' stroke-dasharray="6 4"' if line.dashed else ""
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _, _ in points)
        body.append(
            f'<polyline class="series" points="{path}" fill="none" stroke="{colour}" '
            f'stroke-width="2.5"{dash}/>'
        )
        for x, y, year, value in points:
            tip = f"{year} · {label}: {shown(value)}{'' if percent else ' ' + unit}"
            body.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour}">'
                f"<title>{escape(tip)}</title></circle>"
            )
    legend = [(FIGURES[s.key].name, COLOURS[s.key], s.dashed, "line") for s in series]
    parts, last = _legend(legend, bottom + 46)
    return _svg(chart_id, last + 10, title, body + parts)


def balance_chart(page: dict[str, Any]) -> Markup:
    """The national closing balance by year: under the plan, and with no extra subsidy."""
    columns = page["national_columns"]
    keys = ("national_closing_100m", "national_before_100m")
    series = [
        Series(key, [row[1 + columns.index(key)] for row in page["national"]], dashed=i == 1)
        for i, key in enumerate(keys)
    ]
    title = "全国年末结余 National closing balance: the plan and no extra subsidy (亿元)"
    return line_chart("chart-plan-balance", title, page["years"], series, "亿元")


def ratio_chart(page: dict[str, Any]) -> Markup:
    """The contribution ratio of every year."""
    column = page["national_columns"].index("contribution_ratio")
    series = [Series("contribution_ratio", [row[1 + column] for row in page["national"]])]
    label = FIGURES["contribution_ratio"]
    title = f"{label.name} by year"
    return line_chart("chart-plan-ratio", title, page["years"], series, label.zh, percent=True)


ROW = 22
NAME_WIDTH = 160
NEVER_SLOT = 84
"""Room past the horizon for the units that never run out, wide enough for its label."""


def depleting_units(page: dict[str, Any]) -> list[dict[str, Any]]:
    """The units that run out under the rule or fall short under the plan, in the page's
    order (earliest under the rule first)."""
    keys = ("depletion_year_rule", "depletion_year_plan")
    return [u for u in page["units"] if any(u[k] is not None for k in keys)]


def depletion_chart(page: dict[str, Any]) -> Markup | None:
    """Each unit's depletion year under the statutory rule (circle) and the first year it
    falls short under the plan (square); ``NEVER`` in its own column past the horizon.
    None when no unit runs out under either."""
    units = depleting_units(page)
    if not units:
        return None
    years = page["years"]
    never = years[-1] + 1
    left, plot_right = NAME_WIDTH, WIDTH - RIGHT
    edge = plot_right - NEVER_SLOT
    top = TOP + 14
    bottom = top + ROW * len(units)

    def x_of(year: int) -> float:
        if year == never:
            return edge + NEVER_SLOT / 2
        return left + (edge - left) * (years.index(year) + 0.5) / len(years)

    body = []
    labelled = set(year_ticks(years, most=8))
    for year in years:
        x = x_of(year)
        if year in labelled:
            body.append(
                f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{bottom}" stroke="{GRID}"/>'
            )
            body.append(_text(x, bottom + 16, str(year), "middle", "tick"))
    body.append(
        f'<line x1="{edge:.1f}" y1="{top - 30}" x2="{edge:.1f}" y2="{bottom}" stroke="{AXIS}" '
        'stroke-dasharray="3 3"/>'
    )
    body.append(_text(x_of(never), top - 20, NEVER.zh, "middle", "tick"))
    body.append(_text(x_of(never), top - 6, NEVER.en, "middle", "tick"))
    regimes = (("depletion_year_rule", "circle", -5), ("depletion_year_plan", "square", 5))
    for row, unit in enumerate(units):
        middle = top + ROW * (row + 0.5)
        name = f"{unit['name_zh']} {unit['name_en']}".strip()
        body.append(_text(left - 8, middle + 4, name, "end", "name"))
        body.append(
            f'<line x1="{left}" y1="{middle:.1f}" x2="{plot_right}" y2="{middle:.1f}" '
            f'stroke="{GRID}"/>'
        )
        for key, shape, offset in regimes:
            year = unit[key]
            said = str(year) if year is not None else NEVER.name
            tip = f"{name} · {FIGURES[key].name}: {said}"
            x = x_of(year if year is not None else never)
            body.append(_marker(shape, x, middle + offset, COLOURS[key], tip))
    legend = [(FIGURES[k].name, COLOURS[k], False, shape) for k, shape, _ in regimes]
    parts, last = _legend(legend, bottom + 42)
    title = f"耗尽年份 Depletion year: statutory rule and plan ({NEVER.name} past {years[-1]})"
    return _svg("chart-plan-depletion", last + 10, title, body + parts)
