"""The comparison of several scenarios of one workbook: KPIs, province × scenario matrices
and per-unit diffs against the base (``Comparison``).

Tables only: the scenarios are solved, in parallel, by ``batch.run_comparison``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from model.analysis.equity import METRICS
from model.analysis.results import BENEFICIARY, CONTRIBUTOR, EVEN, STATUS_GAP, Allocation
from model.vocabulary import DISPLAY_ZERO

KPI_COLUMNS: tuple[str, ...] = (
    "fund_100m",
    "moved_100m",
    "local_subsidy_100m",
    "central_subsidy_100m",
    "total_subsidy_100m",
    "unfunded_gap_100m",
    "net_contributors",
    "net_beneficiaries",
    "roughly_even",
)
MATRIX_COLUMNS: tuple[str, ...] = (
    "net_transfer_100m",
    "subsidy_100m",
    "months_optimized",
)
DIFF_COLUMNS: tuple[str, ...] = (
    "net_transfer_100m",
    "local_subsidy_100m",
    "central_subsidy_100m",
    "unfunded_gap_100m",
    "months_optimized",
)
CHANGE_COLUMNS: tuple[str, ...] = (
    "scenario",
    "code",
    "name_zh",
    "figure",
    "base",
    "value",
    "change",
)
"""The columns of ``Comparison.changes``: one row per scenario, unit and figure that moved."""


@dataclass(frozen=True)
class Comparison:
    """The allocations of several scenarios of one workbook, base first."""

    allocations: tuple[Allocation, ...]

    @property
    def base(self) -> Allocation:
        """The first scenario, against which the diffs are taken."""
        return self.allocations[0]

    @property
    def any_gap(self) -> bool:
        """Whether any scenario leaves an unfunded gap (exit code 3)."""
        return any(a.status == STATUS_GAP for a in self.allocations)

    @property
    def names(self) -> list[str]:
        """Scenario names in order."""
        return [a.scenario for a in self.allocations]

    def kpi_table(self) -> pd.DataFrame:
        """One row per scenario: the parameters, the headline totals and every equity metric."""
        rows = []
        for a in self.allocations:
            row: dict[str, Any] = {"scenario": a.scenario, "status": a.status}
            row.update(a.parameters.as_dict())
            row.update(kpis(a))
            for state in ("before", "rule", "optimized"):
                for metric in METRICS:
                    row[f"{metric}_{state}"] = a.equity[state][metric].value
            rows.append(row)
        return pd.DataFrame(rows).set_index("scenario", drop=False)

    def matrix(self, column: str) -> pd.DataFrame:
        """Province × scenario values of one per-unit column (``subsidy_100m`` = l + g)."""
        data = {}
        for a in self.allocations:
            if column == "subsidy_100m":
                data[a.scenario] = a.table["local_subsidy_100m"] + a.table["central_subsidy_100m"]
            else:
                data[a.scenario] = a.table[column]
        frame = pd.DataFrame(data)
        frame.insert(0, "name_zh", self.base.table["name_zh"])
        return frame

    def diff(self, name: str) -> pd.DataFrame:
        """What changed for which unit in scenario ``name`` against the base, largest first.

        One row per (unit, figure) that moved by more than ``DISPLAY_ZERO``: a change that
        would read 0.00 is no change.
        """
        other = next(a for a in self.allocations if a.scenario == name)
        return _changed(self.base, other).rename(columns={"value": "scenario"})

    def changes(self) -> pd.DataFrame:
        """Every scenario's changes against the base in one long table (``CHANGE_COLUMNS``):
        scenario order, then largest change first. Its length is the sum over scenarios of
        the (unit, figure) pairs that moved by more than ``DISPLAY_ZERO``."""
        frames = [_changed(self.base, a).assign(scenario=a.scenario) for a in self.allocations[1:]]
        if not frames:
            return pd.DataFrame(columns=list(CHANGE_COLUMNS))
        return pd.concat(frames, ignore_index=True)[list(CHANGE_COLUMNS)]

    def to_json(self) -> dict[str, Any]:
        """``{"scenarios": [...]}``: one ``run`` result per scenario (docs/outputs.md), each
        with its ``overrides``: the parameters it sets on top of the base, in full, since a
        swept scenario's name is a short label."""
        return {"scenarios": [_with_overrides(a) for a in self.allocations]}


def _with_overrides(a: Allocation) -> dict[str, Any]:
    result = a.to_json()
    return {"scenario": result.pop("scenario"), "overrides": dict(a.overrides), **result}


def kpis(a: Allocation) -> dict[str, float]:
    """The headline figures of one allocation for the KPI table; roles as the allocation
    workbook counts them (``thresholds.ROUGHLY_EVEN_100m``)."""
    t = a.totals
    role = a.table["role"]
    return {
        "fund_100m": t["fund_100m"],
        "moved_100m": t["moved_100m"],
        "local_subsidy_100m": t["local_subsidy_100m"],
        "central_subsidy_100m": t["central_subsidy_100m"],
        "total_subsidy_100m": t["local_subsidy_100m"] + t["central_subsidy_100m"],
        "unfunded_gap_100m": t["unfunded_gap_100m"],
        "net_contributors": int((role == CONTRIBUTOR).sum()),
        "net_beneficiaries": int((role == BENEFICIARY).sum()),
        "roughly_even": int((role == EVEN).sum()),
    }


def _changed(base: Allocation, other: Allocation) -> pd.DataFrame:
    """The (unit, figure) pairs of ``DIFF_COLUMNS`` where ``other`` differs from ``base`` by
    more than ``DISPLAY_ZERO``, largest change first (ties in figure, then unit order)."""
    parts = []
    for column in DIFF_COLUMNS:
        before, after = base.table[column], other.table[column]
        change = after - before
        moved = change.abs() > DISPLAY_ZERO
        parts.append(
            pd.DataFrame(
                {
                    "code": change.index[moved],
                    "name_zh": other.table.loc[moved, "name_zh"].to_numpy(),
                    "name_en": other.table.loc[moved, "name_en"].to_numpy(),
                    "figure": column,
                    "base": before[moved].astype(float).to_numpy(),
                    "value": after[moved].astype(float).to_numpy(),
                    "change": change[moved].astype(float).to_numpy(),
                }
            )
        )
    frame = pd.concat(parts, ignore_index=True)
    order = frame["change"].abs().sort_values(ascending=False, kind="stable").index
    return frame.loc[order].reset_index(drop=True)
