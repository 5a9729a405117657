"""Allocation / Comparison / Plan → the plain data a page shows, stored as ``page.json``.

Built in the worker once per run, from the same objects that write the workbooks, so a
page shows exactly the workbook's figures and can be rendered again after a restart
without solving. Pages format; they never compute: figures come from ``model.analysis.results``,
``model.analysis.comparison``, ``model.analysis.plan`` and the narratives; words come from
``model.vocabulary``.

The app imports this module for ``RESULT_COLUMNS``, so it loads the analysis (and with it
pandas and the solver) only inside the functions the workers call.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from model.vocabulary import EQUITY_METRICS, PROVINCE_JSON_KEYS, STATES, kpi_label

if TYPE_CHECKING:
    import pandas as pd

    from model.analysis.comparison import Comparison
    from model.analysis.plan import Plan
    from model.analysis.results import Allocation
    from model.workbook.reader import Source

RESULT_COLUMNS: tuple[str, ...] = tuple(
    key for key in PROVINCE_JSON_KEYS if key not in ("code", "name_zh", "full_payment_dual")
)
"""The per-unit figures of the result page's table, in order; headed by
``vocabulary.FIGURES``."""
INCENTIVE_COLUMNS: tuple[str, ...] = (
    "collection_shortfall_100m",
    "committed_local_100m",
    "own_gap_100m",
    "fund_gap_100m",
)
"""Shown after them in incentive mode, as the workbook's allocation sheet does."""
TILES: tuple[str, ...] = (
    "fund_100m",
    "moved_100m",
    "local_subsidy_100m",
    "central_subsidy_100m",
    "unfunded_gap_100m",
)
"""The totals shown as tiles above the result page's charts."""
KPI_SHOWN: tuple[str, ...] = (
    "fund_100m",
    "moved_100m",
    "total_subsidy_100m",
    "unfunded_gap_100m",
    "net_contributors",
    "net_beneficiaries",
    "roughly_even",
    "months_min_optimized",
    "months_range_optimized",
    "gini_optimized",
)
"""The KPI table on the page: the headline columns; the workbook holds every one."""


def plain(value: Any) -> Any:
    """A JSON-safe scalar: numpy numbers become Python ones, NaN becomes None."""
    if value is None or isinstance(value, str | bool):
        return value
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def summary(allocation: Allocation) -> list[tuple[str, str]]:
    """The narrative's sentences as ``(Chinese, English)`` pairs."""
    from model.analysis.narrative import summary_sentences

    return [(zh, en) for zh, en in summary_sentences(allocation)]


def warnings(source: Source) -> list[dict[str, str]]:
    """The reader's warnings as ``{where, zh, en}``, stored with the page so that a page
    rendered again from ``page.json`` still shows them."""
    return [{"where": w.where, "zh": w.zh, "en": w.en} for w in source.warnings]


def run_page(allocation: Allocation) -> dict[str, Any]:
    """Everything the result page shows for one allocation."""
    table = allocation.table
    columns = list(RESULT_COLUMNS)
    if allocation.parameters.standard_contribution_rate is not None:
        columns += list(INCENTIVE_COLUMNS)
    rows = []
    for code, row in table.iterrows():
        record = {
            "code": str(code),
            "name_zh": str(row["name_zh"]),
            "name_en": str(row["name_en"]),
            "region": str(row["region"]),
            "role": str(row["role"]),
        }
        record.update({key: plain(row[key]) for key in columns})
        rows.append(record)
    equity = [
        {
            "key": metric,
            "label": label.text,
            "meaning": label.meaning,
            "values": [plain(allocation.equity[s][metric].value) for s in STATES],
            "notes": [allocation.equity[s][metric].note for s in STATES],
        }
        for metric, label in EQUITY_METRICS.items()
    ]
    return {
        "scenario": allocation.scenario,
        "status": allocation.status,
        "source": {"name": allocation.source.name, "sha256": allocation.source.sha256},
        "parameters": {k: plain(v) for k, v in allocation.parameters.as_dict().items()},
        "overrides": [[k, plain(v)] for k, v in allocation.overrides],
        "warnings": warnings(allocation.source),
        "summary": summary(allocation),
        "totals": {k: plain(v) for k, v in allocation.totals.items()},
        "solver": allocation.solver,
        "rows": rows,
        "columns": columns,
        "equity": equity,
        "frontier": _frontier(allocation),
    }


def _frontier(allocation: Allocation) -> dict[str, Any] | None:
    """The frontier's points, its knee and the rule's own point, or None without one."""
    frontier = allocation.frontier
    if frontier is None:
        return None
    return {
        "points": [{k: plain(v) for k, v in p.to_json().items()} for p in frontier.points],
        "knee": frontier.knee,
        "rule": {
            "moved_100m": plain(frontier.rule_moved_100m),
            "lowest_months": plain(frontier.rule_lowest_months),
        },
    }


def frame_rows(frame: pd.DataFrame, columns: list[str]) -> list[list[Any]]:
    """The chosen columns of a frame as rows of JSON-safe values."""
    return [[plain(v) for v in row] for row in frame[columns].itertuples(index=False)]


def compare_page(comparison: Comparison, swept: bool = False) -> dict[str, Any]:
    """Everything the comparison page shows: KPIs, each scenario's diff, the trade-off.

    ``swept`` says the scenarios are a typed sweep, whose values are ordered, rather than
    the workbook's scenarios sheet; with the base's parameters it lets the charts follow
    what was swept (``compare_charts``).
    """
    kpi = comparison.kpi_table()
    shown = [c for c in KPI_SHOWN if c in kpi.columns]
    scenarios = [
        {
            "name": a.scenario,
            "status": a.status,
            "overrides": [[k, plain(v)] for k, v in a.overrides],
        }
        for a in comparison.allocations
    ]
    diff_columns = ["code", "name_zh", "name_en", "figure", "base", "scenario", "change"]
    diffs = {
        a.scenario: frame_rows(comparison.diff(a.scenario), diff_columns)
        for a in comparison.allocations[1:]
    }
    base = comparison.allocations[0]
    return {
        "source": {"name": base.source.name, "sha256": base.source.sha256},
        "warnings": warnings(base.source),
        "any_gap": bool(comparison.any_gap),
        "swept": swept,
        "base_parameters": {k: plain(v) for k, v in base.parameters.as_dict().items()},
        "scenarios": scenarios,
        "kpi_columns": [[c, kpi_label(c)] for c in shown],
        "kpi_rows": frame_rows(kpi, shown),
        "diffs": diffs,
    }


def plan_page(plan: Plan) -> dict[str, Any]:
    """Everything the plan page shows: the sentences, the national table by year, each
    unit's depletion years and reserve months by year (the heat map)."""
    from model.analysis.plan import DEPLETION_KEYS
    from model.analysis.plan_narrative import plan_sentences, ratio_runs

    depletion = plan.units.join(plan.depletion)
    # as the plan workbook's depletion sheet: earliest to run out under the rule first
    ordered = depletion.sort_values(list(DEPLETION_KEYS[1::-1]), na_position="last", kind="stable")
    months = plan.figures["months_optimized"]
    units = [
        {
            "code": str(code),
            "name_zh": str(unit["name_zh"]),
            "name_en": str(unit["name_en"]),
            "region": str(unit["region"]),
            **{key: _year(unit[key]) for key in DEPLETION_KEYS},
            "months": [plain(months.at[year, code]) for year in plan.years],
        }
        for code, unit in ordered.iterrows()
    ]
    national = plan.national
    gap_years = plan.gap_years()
    return {
        "scenario": plan.scenario,
        "status": plan.status,
        "source": {"name": plan.source.name, "sha256": plan.source.sha256},
        "parameters": {k: plain(v) for k, v in plan.parameters.as_dict().items()},
        "warnings": warnings(plan.source),
        "summary": [(zh, en) for zh, en in plan_sentences(plan)],
        "solver": plan.solver,
        "years": [int(y) for y in plan.years],
        "ratio_runs": [[plain(r), int(a), int(b)] for r, a, b in ratio_runs(plan)],
        "optimised": bool(plan.optimised),
        "totals": {k: plain(v) for k, v in plan.totals().items()},
        "depleted": plan.depleted_units(),
        "national_depletion_year": plan.national_depletion_year,
        "first_current_deficit_year": plan.first_current_deficit_year,
        "first_gap_year": gap_years[0] if gap_years else None,
        "national_columns": [str(c) for c in national.columns],
        "national": [
            [int(year), *(plain(v) for v in row)]
            for year, row in zip(national.index, national.itertuples(index=False), strict=True)
        ],
        "units": units,
    }


def _year(value: Any) -> int | None:
    """A nullable year (pandas ``Int64``) as JSON: an integer, or None for never."""
    import pandas as pd

    return None if pd.isna(value) else int(value)
