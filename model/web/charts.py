"""Chart.js configurations, built from page data and embedded in pages as JSON.

The browser only hands each configuration to ``new Chart`` (static/charts.js), so what a
chart shows is decided and tested here, and no page needs inline script.
"""

from __future__ import annotations

from typing import Any

from model.vocabulary import (
    FIGURES,
    FRONTIER,
    LOWEST_MONTHS,
    RESERVE_MONTHS,
    ROLES,
    STATES,
    THIS_RUN,
)

PAYER = "#c0504d"
RECEIVER = "#2f6eba"
EVEN_COLOUR = "#a6a6a6"
ROLE_COLOURS = {"contributor": PAYER, "beneficiary": RECEIVER, "even": EVEN_COLOUR}
STATE_COLOURS = {"before": "#a6a6a6", "rule": "#e3a33b", "optimized": "#2f6eba"}
SERIES = ("#2f6eba", "#c0504d", "#3f9b5b", "#e3a33b")
NET_TRANSFER = FIGURES["net_transfer_100m"]


def _name(row: dict[str, Any]) -> str:
    return f"{row['name_zh']} {row['name_en']}".strip()


def _axis(title: str, **extra: Any) -> dict[str, Any]:
    return {"title": {"display": True, "text": title}, **extra}


def _role_colour(row: dict[str, Any]) -> str:
    """The role's colour (roughly even in grey); by sign for a page stored before roles."""
    if row.get("role") in ROLE_COLOURS:
        return ROLE_COLOURS[row["role"]]
    return RECEIVER if (row["net_transfer_100m"] or 0) >= 0 else PAYER


def transfer_chart(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Net transfer by province, largest beneficiary first: a horizontal bar chart,
    coloured by role (contributor, beneficiary, roughly even) as the workbook counts them."""
    ordered = sorted(rows, key=lambda r: -(r["net_transfer_100m"] or 0.0))
    values = [r["net_transfer_100m"] for r in ordered]
    return {
        "type": "bar",
        "data": {
            "labels": [_name(r) for r in ordered],
            "datasets": [
                {
                    "label": NET_TRANSFER.text,
                    "data": values,
                    "backgroundColor": [_role_colour(r) for r in ordered],
                }
            ],
        },
        "options": {
            "indexAxis": "y",
            "maintainAspectRatio": False,
            "animation": False,
            "plugins": {"legend": {"display": False}},
            "scales": {
                "x": _axis(
                    f"{NET_TRANSFER.text}: + {ROLES['beneficiary'].zh} receives, "
                    f"− {ROLES['contributor'].zh} hands up"
                ),
                "y": {"ticks": {"autoSkip": False}},
            },
        },
    }


def months_chart(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Reserve months before, under the rule and optimised, province by province."""
    ordered = sorted(rows, key=lambda r: r["months_before"] or 0.0)
    datasets = [
        {
            "label": label.name,
            "data": [r[f"months_{state}"] for r in ordered],
            "backgroundColor": STATE_COLOURS[state],
        }
        for state, label in STATES.items()
    ]
    return {
        "type": "bar",
        "data": {"labels": [_name(r) for r in ordered], "datasets": datasets},
        "options": {
            "indexAxis": "y",
            "maintainAspectRatio": False,
            "animation": False,
            "scales": {
                "x": _axis(RESERVE_MONTHS.text),
                "y": {"ticks": {"autoSkip": False}},
            },
        },
    }


def _line(
    names: list[str],
    series: list[tuple[str, list[Any]]],
    y_title: str,
    x_title: str = "情景 Scenario",
    **axis: Any,
) -> dict[str, Any]:
    datasets = [
        {
            "label": text,
            "data": values,
            "borderColor": colour,
            "backgroundColor": colour,
            "tension": 0,
        }
        for colour, (text, values) in zip(SERIES, series, strict=False)
    ]
    return {
        "type": "line",
        "data": {"labels": names, "datasets": datasets},
        "options": {
            "maintainAspectRatio": False,
            "animation": False,
            "interaction": {"mode": "index", "intersect": False},
            "scales": {"x": _axis(x_title), "y": _axis(y_title, **axis)},
        },
    }


def chart_height(count: int, per_row: int = 26, minimum: int = 200) -> int:
    """Pixels for a horizontal bar chart with ``count`` rows, so labels never overlap.

    Both charts of a result page share it, so the two cards side by side line up.
    """
    return max(minimum, 70 + per_row * count)


def frontier_chart(frontier: dict[str, Any]) -> dict[str, Any]:
    """The equity–rule frontier: money moved between units against the worst-off unit's
    reserve months, with this run (the last point) and the statutory rule marked, as in the
    workbook's frontier sheet."""
    points = frontier["points"]

    def xy(point: dict[str, Any]) -> dict[str, Any]:
        return {"x": point["lowest_months"], "y": point["moved_100m"]}

    rule = frontier["rule"]
    datasets = [
        {
            "label": FRONTIER.name,
            "data": [xy(p) for p in points],
            "showLine": True,
            "borderColor": RECEIVER,
            "backgroundColor": RECEIVER,
        },
        {
            "label": THIS_RUN.name,
            "data": [xy(points[-1])],
            "backgroundColor": PAYER,
            "pointRadius": 7,
        },
        {
            "label": STATES["rule"].name,
            "data": [{"x": rule["lowest_months"], "y": rule["moved_100m"]}],
            "backgroundColor": STATE_COLOURS["rule"],
            "pointRadius": 7,
        },
    ]
    return {
        "type": "scatter",
        "data": {"datasets": datasets},
        "options": {
            "maintainAspectRatio": False,
            "animation": False,
            "scales": {
                "x": _axis(LOWEST_MONTHS.text),
                "y": _axis(FIGURES["moved_100m"].text),
            },
        },
    }
