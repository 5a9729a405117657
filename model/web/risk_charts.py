"""The risk page's chart: the fan of the national balance over the draws, as inline SVG.

The plan page's conventions (``plan_charts``): drawn on the server, no script, colours as
attributes (the Content-Security-Policy allows no inline style), every text escaped. The
fan is the 5–95th percentile band, the 25–75th inside it, and the median as a line, under
the plan (with the subsidy each draw needs); the median with no extra subsidy is dashed.
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup, escape

from model.web.plan_charts import (
    AXIS,
    COLOURS,
    GRID,
    LEFT,
    PLOT_HEIGHT,
    RIGHT,
    TOP,
    WIDTH,
    _legend,
    _number,
    _svg,
    _text,
    nice_ticks,
    year_ticks,
)

BINS: tuple[tuple[float, str, str], ...] = (
    (0.0, "", "0"),
    (0.2, "heat-3", "≤ 20%"),
    (0.5, "heat-2", "20–50%"),
    (0.8, "heat-1", "50–80%"),
    (1.0, "heat-0", "> 80%"),
)
"""The unit table's colours for a probability of running out: each bin's upper bound
(inclusive), the plan page's heat class and the legend's text. Never stays white, as in the
risk workbook (green zeros everywhere would hide the few units at risk); the likelier, the
redder. ``risk_pages.probability_class`` picks from it in the worker."""

BAND_OUTER, BAND_INNER = "#F8CBAD", "#F4B183"
"""The 5–95th and 25–75th percentile bands: lighter tints of the plan's balance colour."""


def fan_chart(page: dict[str, Any]) -> Markup:
    """The national closing balance by year across the draws (``risk_pages.risk_page``)."""
    years = page["years"]
    plan, before = page["fan"]["plan"], page["fan"]["before"]
    values = [v for band in (plan["p5"], plan["p95"], before["p50"]) for v in band]
    ticks = nice_ticks(min([*values, 0.0]), max([*values, 0.0]), 6)
    low, high = ticks[0], ticks[-1]
    right, bottom = WIDTH - RIGHT, TOP + PLOT_HEIGHT

    def x_of(index: int) -> float:
        return LEFT + (right - LEFT) * (index + 0.5) / len(years)

    def y_of(value: float) -> float:
        return bottom - (value - low) / (high - low) * PLOT_HEIGHT

    def band(lower: list[float], upper: list[float], colour: str) -> str:
        edge = [(x_of(i), y_of(v)) for i, v in enumerate(upper)]
        edge += [(x_of(i), y_of(v)) for i, v in reversed(list(enumerate(lower)))]
        points = " ".join(f"{x:.1f},{y:.1f}" for x, y in edge)
        return f'<polygon points="{points}" fill="{colour}" stroke="none"/>'

    def line(values: list[float], colour: str, dashed: bool, label: str) -> list[str]:
        dash = ' stroke-dasharray="6 4"' if dashed else ""
        path = " ".join(f"{x_of(i):.1f},{y_of(v):.1f}" for i, v in enumerate(values))
        parts = [
            f'<polyline class="series" points="{path}" fill="none" stroke="{colour}" '
            f'stroke-width="2.5"{dash}/>'
        ]
        for i, (year, value) in enumerate(zip(years, values, strict=True)):
            tip = f"{year} · {label}: {_number(value)} 亿元"
            parts.append(
                f'<circle cx="{x_of(i):.1f}" cy="{y_of(value):.1f}" r="3" fill="{colour}">'
                f"<title>{escape(tip)}</title></circle>"
            )
        return parts

    body = [_text(LEFT - 8, TOP - 14, "亿元", "start", "axis-title")]
    body.append(band(plan["p5"], plan["p95"], BAND_OUTER))
    body.append(band(plan["p25"], plan["p75"], BAND_INNER))
    for tick in ticks:
        y = y_of(tick)
        stroke = AXIS if tick == 0 else GRID
        body.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}" stroke="{stroke}"/>')
        body.append(_text(LEFT - 6, y + 4, _number(tick), "end", "tick"))
    labelled = set(year_ticks(years))
    for index, year in enumerate(years):
        if year in labelled:
            body.append(_text(x_of(index), bottom + 18, str(year), "middle", "tick"))
    plan_colour, before_colour = COLOURS["national_closing_100m"], COLOURS["national_before_100m"]
    median = "中位数 Median, the plan"
    body += line(plan["p50"], plan_colour, False, median)
    body += line(before["p50"], before_colour, True, "中位数 Median, no extra subsidy")
    legend = [
        ("5–95%", BAND_OUTER, False, "line"),
        ("25–75%", BAND_INNER, False, "line"),
        (median, plan_colour, False, "line"),
        ("中位数 Median, no extra subsidy", before_colour, True, "line"),
    ]
    parts, last = _legend(legend, bottom + 46)
    title = "全国年末结余的分布 National closing balance across the draws (亿元)"
    return _svg("chart-risk-fan", last + 10, title, body + parts)
