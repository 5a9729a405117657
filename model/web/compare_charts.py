"""The comparison page's charts: what each scenario costs and what it buys, drawn as what
was swept allows.

- a typed sweep of one numeric parameter: lines against that parameter's values, sorted;
- a sweep of several: bars over every scenario, and one small chart per swept parameter
  with the others held at the base (``sweeps.slices``), a line where its values are numbers;
- an unordered set (the workbook's scenarios sheet, a sweep of objectives): bars, never
  lines, since nothing lies between two such scenarios.

Bars over more than ``MANY_SCENARIOS`` scenarios lie on their side, one labelled row each,
so no label is rotated into illegibility or clipped; fewer stand up, each label wrapped at
its `` · `` parts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from model.analysis.sweeps import Slice, line_slice, slices, varying_keys
from model.schema import PARAMETER_BY_KEY
from model.vocabulary import RESERVE_MONTHS
from model.web.charts import SERIES, _axis, _line, chart_height
from model.workbook.scenarios import LABEL_SEPARATOR, value_text

MANY_SCENARIOS = 8
"""Above this many scenarios, bars are horizontal: one row, one readable label each."""
COST_KEYS = ("total_subsidy_100m", "unfunded_gap_100m")
EQUITY_KEYS = ("months_min_optimized", "months_range_optimized")
COST_TITLE = "财政补助与缺口 Subsidy and gap (亿元)"
SMALL_MONEY = "亿元 100m yuan"
SMALL_MONTHS = "月 months"
"""A small chart's axis titles: short, so they fit its height; the legend names the series."""
TALL = 320
"""The height of a chart that is not a list of scenarios."""


@dataclass(frozen=True)
class Chart:
    """One chart of the page: the id its canvas takes, a caption, its config and height."""

    id: str
    title: str
    config: dict[str, Any]
    height: int


@dataclass(frozen=True)
class CompareCharts:
    """``kind`` is ``line`` or ``bar`` for the cost and equity charts; ``small`` holds one
    chart per swept parameter when several were swept."""

    kind: str
    cost: Chart
    equity: Chart
    small: tuple[Chart, ...]


class _Table:
    """The KPI rows, read by key."""

    def __init__(self, columns: list[str], rows: list[list[Any]], labels: dict[str, str]):
        self.columns, self.rows, self.labels = columns, rows, labels

    def series(self, keys: tuple[str, ...], members: list[int]) -> list[tuple[str, list[Any]]]:
        return [
            (self.labels.get(k, k), [self.rows[i][self.columns.index(k)] for i in members])
            for k in keys
            if k in self.columns
        ]


def _wrapped(name: str) -> str | list[str]:
    """A label as Chart.js lines: one line per `` · `` part."""
    parts = name.split(LABEL_SEPARATOR)
    return parts if len(parts) > 1 else name


def bars(
    names: list[str], series: list[tuple[str, list[Any]]], title: str, **axis: Any
) -> tuple[dict[str, Any], int]:
    """Grouped bars, one group per scenario, and the height they need."""
    horizontal = len(names) > MANY_SCENARIOS
    datasets = [
        {"label": text, "data": values, "backgroundColor": colour}
        for colour, (text, values) in zip(SERIES, series, strict=False)
    ]
    names_axis = {"ticks": {"autoSkip": False, "maxRotation": 0}}
    scales = (
        {"x": _axis(title, **axis), "y": names_axis}
        if horizontal
        else {"x": names_axis, "y": _axis(title, **axis)}
    )
    config = {
        "type": "bar",
        "data": {
            "labels": names if horizontal else [_wrapped(n) for n in names],
            "datasets": datasets,
        },
        "options": {
            "indexAxis": "y" if horizontal else "x",
            "maintainAspectRatio": False,
            "animation": False,
            "scales": scales,
        },
    }
    return config, chart_height(len(names), per_row=12 + 8 * len(datasets)) if horizontal else TALL


def _parameter_title(key: str) -> str:
    field = PARAMETER_BY_KEY.get(key)
    return field.label if field else key


def _along(table: _Table, cut: Slice, keys: tuple[str, ...], title: str, **axis: Any) -> Any:
    """A chart of one slice: a line against the parameter's values, bars if unordered."""
    field = PARAMETER_BY_KEY.get(cut.key)
    ticks = [value_text(field, v) if field else str(v) for v in cut.values]
    series = table.series(keys, list(cut.members))
    if cut.ordered:
        return _line(ticks, series, title, x_title=_parameter_title(cut.key), **axis), TALL
    config, height = bars(ticks, series, title, **axis)
    config["options"]["scales"]["x" if height == TALL else "y"]["title"] = {
        "display": True,
        "text": _parameter_title(cut.key),
    }
    return config, height


def compare_charts(
    scenarios: list[dict[str, Any]],
    base: dict[str, Any],
    swept: bool,
    columns: list[str],
    rows: list[list[Any]],
    labels: dict[str, str],
) -> CompareCharts:
    """The charts a comparison's page shows, chosen by what was swept (module docstring).

    Args:
        scenarios: ``page.json``'s scenarios (name, overrides), base first.
        base: the base's parameters; empty for a page stored before they were kept.
        swept: whether the scenarios are a typed sweep (else the workbook's sheet).
        columns, rows, labels: the KPI table, by key, and each key's header.
    """
    table = _Table(columns, rows, labels)
    keys = varying_keys(scenarios, base) if swept else []
    cuts = slices(scenarios, base, keys)
    equity_title = RESERVE_MONTHS.text
    line = line_slice(scenarios, base, keys)
    if line is not None:
        cost, _ = _along(table, line, COST_KEYS, COST_TITLE, min=0)
        equity, _ = _along(table, line, EQUITY_KEYS, equity_title)
        return CompareCharts(
            "line",
            Chart("chart-cost", "", cost, TALL),
            Chart("chart-equity", "", equity, TALL),
            (),
        )
    names = [s["name"] for s in scenarios]
    everyone = list(range(len(scenarios)))
    cost, height = bars(names, table.series(COST_KEYS, everyone), COST_TITLE, min=0)
    equity, _ = bars(names, table.series(EQUITY_KEYS, everyone), equity_title)
    small = tuple(_small(table, i, cut) for i, cut in enumerate(cuts)) if len(keys) > 1 else ()
    return CompareCharts(
        "bar",
        Chart("chart-cost", "", cost, height),
        Chart("chart-equity", "", equity, height),
        small,
    )


def _small(table: _Table, index: int, cut: Slice) -> Chart:
    """One swept parameter's chart: subsidy and gap (亿元, left) and the lowest reserve
    months (right axis), against the parameter."""
    held = "其他参数取基准 others at base" if cut.held == "base" else f"其他参数同 {cut.held}"
    config, height = _along(table, cut, (*COST_KEYS, "months_min_optimized"), SMALL_MONEY)
    if height == TALL:
        months = config["data"]["datasets"][-1]
        months["yAxisID"] = "y1"
        config["options"]["scales"]["y1"] = _axis(
            SMALL_MONTHS, position="right", grid={"drawOnChartArea": False}
        )
    return Chart(f"chart-param-{index}", f"{_parameter_title(cut.key)} · {held}", config, height)
