"""Allocation / Comparison → the plain data a page shows, stored as ``page.json``.

Built in the worker once per run, from the same objects that write the workbooks, so a
page shows exactly the workbook's figures and can be rendered again after a restart
without solving. Pages format; they never compute: figures come from ``model.analysis.results``,
``model.analysis.comparison`` and ``model.analysis.narrative``.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from model.analysis.equity import METRIC_MEANINGS
from model.analysis.results import STATES, Allocation
from model.workbook.reader import Source

Label = tuple[str, str, str]
"""``(Chinese, English, unit)``: printed as ``中文 English (unit)`` like the template."""

PROVINCE_COLUMNS: dict[str, Label] = {
    "contribution_100m": ("上解额", "Contribution", "亿元"),
    "rule_allocation_100m": ("规则拨付额", "Rule allocation", "亿元"),
    "allocation_100m": ("优化拨付额", "Optimised allocation", "亿元"),
    "net_transfer_100m": ("净调剂额", "Net transfer", "亿元"),
    "local_subsidy_100m": ("地方财政补助", "Local subsidy", "亿元"),
    "central_subsidy_100m": ("中央财政补助", "Central subsidy", "亿元"),
    "unfunded_gap_100m": ("资金缺口", "Unfunded gap", "亿元"),
    "closing_balance_100m": ("年末结余", "Closing balance", "亿元"),
    "months_before": ("调剂前储备月数", "Months before", "月"),
    "months_rule": ("按规则储备月数", "Months under rule", "月"),
    "months_optimized": ("优化后储备月数", "Months optimised", "月"),
}
METRIC_LABELS: dict[str, tuple[str, str]] = {
    "months_min": ("最低储备月数", "Lowest reserve months"),
    "months_max": ("最高储备月数", "Highest reserve months"),
    "months_range": ("储备月数极差", "Range of reserve months"),
    "months_mad": ("储备月数平均绝对偏差", "Mean absolute deviation of months"),
    "months_cv": ("储备月数变异系数", "Coefficient of variation of months"),
    "gini": ("人均资源基尼系数", "Gini"),
    "theil": ("泰尔指数", "Theil T"),
    "theil_between": ("区域间泰尔指数", "Theil T between regions"),
    "theil_within": ("区域内泰尔指数", "Theil T within regions"),
}
STATE_LABELS: dict[str, tuple[str, str]] = {
    "before": ("调剂前", "Before"),
    "rule": ("按法定规则", "Statutory rule"),
    "optimized": ("优化后", "Optimised"),
}
DIFF_FIGURES: dict[str, tuple[str, str]] = {
    "net_transfer_100m": ("净调剂", "Net transfer"),
    "local_subsidy_100m": ("地方补助", "Local subsidy"),
    "central_subsidy_100m": ("中央补助", "Central subsidy"),
    "unfunded_gap_100m": ("缺口", "Unfunded gap"),
    "months_optimized": ("储备月数", "Months"),
}
"""Short names for the diff table, where the figure repeats on every row."""
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


def label(text: Label | tuple[str, str]) -> str:
    """``中文 English (unit)``, the template's way of writing a header."""
    zh, en, *rest = text
    unit = rest[0] if rest else ""
    return f"{zh} {en}" + (f" ({unit})" if unit else "")


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
    rows = []
    for code, row in table.iterrows():
        record = {
            "code": str(code),
            "name_zh": str(row["name_zh"]),
            "name_en": str(row["name_en"]),
            "region": str(row["region"]),
            "role": str(row["role"]),
        }
        record.update({key: plain(row[key]) for key in PROVINCE_COLUMNS})
        rows.append(record)
    equity = [
        {
            "key": metric,
            "label": label(METRIC_LABELS[metric]),
            "meaning": meaning,
            "values": [plain(allocation.equity[s][metric].value) for s in STATES],
            "notes": [allocation.equity[s][metric].note for s in STATES],
        }
        for metric, meaning in METRIC_MEANINGS.items()
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
        "equity": equity,
    }


def frame_rows(frame: pd.DataFrame, columns: list[str]) -> list[list[Any]]:
    """The chosen columns of a frame as rows of JSON-safe values."""
    return [[plain(v) for v in row] for row in frame[columns].itertuples(index=False)]


def compare_page(comparison: Any) -> dict[str, Any]:
    """Everything the comparison page shows: KPIs, each scenario's diff, the trade-off."""
    from model.export.comparison import KPI_LABELS

    kpi = comparison.kpi_table()
    shown = [c for c in KPI_SHOWN if c in kpi.columns]
    labels = dict(KPI_LABELS)
    labels.update(
        {
            f"{m}_optimized": label((*METRIC_LABELS[m], "")) + " · 优化后 optimised"
            for m in METRIC_LABELS
        }
    )
    scenarios = []
    for allocation in comparison.allocations:
        scenarios.append(
            {
                "name": allocation.scenario,
                "status": allocation.status,
                "overrides": [[k, plain(v)] for k, v in allocation.overrides],
            }
        )
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
        "scenarios": scenarios,
        "kpi_columns": [[c, labels.get(c, c)] for c in shown],
        "kpi_rows": frame_rows(kpi, shown),
        "diffs": diffs,
        "figure_labels": {k: f"{zh} {en}" for k, (zh, en) in DIFF_FIGURES.items()},
    }
