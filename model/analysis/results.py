"""Solved model → ``Allocation``: per-unit figures, totals, equity metrics and duals.

Results compute; reports lay out. Everything a report, the JSON or the web page shows is
computed here once, so the three never disagree.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from model.analysis.equity import Metric, equity_metrics
from model.analysis.frontier import Frontier
from model.lp.formulation import LEVEL_GAP, Coefficients
from model.lp.guardrails import BAND, FREE, FUND
from model.lp.rule import RuleAllocation
from model.lp.solve import LevelOutcome, SolveOutcome, negligible
from model.schema import MONTHS_PER_YEAR
from model.vocabulary import (
    BENEFICIARY,
    CONTRIBUTOR,
    EVEN,
    PROVINCE_JSON_KEYS,
    STATUS_FULL,
    STATUS_GAP,
    ROUGHLY_EVEN_100m,
)
from model.workbook.reader import Source
from model.workbook.scenarios import Parameters

STATES: tuple[str, ...] = ("before", "rule", "optimized")

COMPUTED_MONEY: tuple[str, ...] = (
    "contribution_100m",
    "rule_allocation_100m",
    "rule_net_transfer_100m",
    "allocation_100m",
    "net_transfer_100m",
    "local_subsidy_100m",
    "central_subsidy_100m",
    "unfunded_gap_100m",
    "before_balance_100m",
    "rule_closing_balance_100m",
    "closing_balance_100m",
    "floor_100m",
    "band_lower_100m",
    "band_upper_100m",
    "rule_shortfall_100m",
    "collection_shortfall_100m",
    "committed_local_100m",
    "own_gap_100m",
    "fund_gap_100m",
)
"""The per-unit money columns the model computes (亿元): each is exactly 0 or at least
``Allocation.round_off`` in size. The planner's own figures (expenditure, opening balance,
local subsidy cap) are shown as they were typed."""


@dataclass(frozen=True)
class Allocation:
    """The answer for one scenario.

    Attributes:
        scenario: the scenario's name.
        parameters: its policy.
        status: ``full_payment`` or ``unfunded_gap``.
        table: one row per unit, indexed by code; holds every ``PROVINCE_JSON_KEYS``
            column plus ``name_en``, ``region``, ``retirees_10k``, ``rule_net_transfer_100m``,
            ``rule_closing_balance_100m``, ``floor_100m``, ``local_subsidy_cap_100m``,
            ``band_lower_100m``, ``band_upper_100m``, the binding flags ``at_local_cap``,
            ``at_band_lower``, ``at_band_upper``, ``at_floor``; ``at_transfer_lower`` and
            ``at_transfer_upper`` (at whatever bound), ``transfer_lower_by`` and
            ``transfer_upper_by`` (what sets each bound: ``band``, ``min_return_share``,
            ``min_transfer``, ``max_transfer``, ``free``, ``fund``) and ``transfer_dual``
            (the bound's reduced cost, ``solve.SolveOutcome.transfer_dual``); the ``role`` and
            ``rule_role`` of each unit (contributor, beneficiary, even) and ``input_row``,
            the unit's row in the provinces sheet (0 when not read from a workbook).
        totals: fund, gap, local and central subsidy, and money moved (all 亿元).
        equity: metrics per state (before, rule, optimized).
        fund_dual: subsidy saved (or, with a gap, gap closed) per extra 亿 in the fund.
        dual_level: the level the duals were read at (``fiscal_subsidy`` or
            ``unfunded_gap``), which says what they measure.
        central_budget_binding: whether the central budget is used up.
        per_retiree_yuan: the statutory amount per retiree.
        levels: each lexicographic level's objective and termination.
        solver: solver name and version.
        source: the input file, with the reader's warnings.
        frontier: the equity–rule frontier, when it was computed (``caf run``; not in
            comparisons, where it would multiply the solves).
        round_off: the money (亿元) below which a figure is solver round-off,
            ``solve.negligible`` of this model's money: every per-unit money figure of
            ``table`` is either exactly 0 or at least this large.
    """

    scenario: str
    parameters: Parameters
    status: str
    table: pd.DataFrame
    totals: dict[str, float]
    equity: dict[str, dict[str, Metric]]
    fund_dual: float
    dual_level: str
    central_budget_binding: bool
    per_retiree_yuan: float
    levels: tuple[LevelOutcome, ...]
    solver: str
    source: Source
    overrides: tuple[tuple[str, Any], ...] = ()
    timings: dict[str, float] = field(default_factory=dict)
    round_off: float = 0.0
    frontier: Frontier | None = None

    def gap_table(self) -> pd.DataFrame:
        """The rows of units left with an unfunded gap (above round-off), largest first.

        Every figure below the round-off threshold is already exactly 0 in the table, so
        ``> 0`` is the one test of "has a gap" that every sentence and page uses.
        """
        table = self.table
        return table[table["unfunded_gap_100m"] > 0].sort_values(
            "unfunded_gap_100m", ascending=False, kind="stable"
        )

    @property
    def gap_units(self) -> list[str]:
        """Codes of units left with an unfunded gap (above round-off), largest first."""
        return list(self.gap_table().index)

    @property
    def subsidised_units(self) -> list[str]:
        """Codes of units given extra local or central subsidy (above round-off)."""
        table = self.table
        return list(table.index[(table["local_subsidy_100m"] + table["central_subsidy_100m"]) > 0])

    @property
    def deficit_units(self) -> list[str]:
        """Codes of units that pay in full yet end the year below zero.

        The full-payment floor is ``min(opening, 0)``: a unit that opened the year in
        deficit may keep it, but never deepen it. Units left with a gap are not listed.
        """
        table = self.table
        mask = (table["closing_balance_100m"] < 0) & (table["unfunded_gap_100m"] <= 0)
        return list(table.index[mask])

    def to_json(self) -> dict[str, Any]:
        """The JSON result of docs/outputs.md, with exactly its keys."""
        provinces = []
        for row in self.table[list(PROVINCE_JSON_KEYS)].itertuples(index=False):
            record = dict(zip(PROVINCE_JSON_KEYS, row, strict=True))
            provinces.append(
                {k: (v if isinstance(v, str) else float(v)) for k, v in record.items()}
            )
        return {
            "scenario": self.scenario,
            "status": self.status,
            "parameters": self.parameters.as_dict(),
            "totals": {
                k: self.totals[k]
                for k in (
                    "fund_100m",
                    "unfunded_gap_100m",
                    "local_subsidy_100m",
                    "central_subsidy_100m",
                )
            },
            "provinces": provinces,
            "equity": {
                state: {name: metric.value for name, metric in metrics.items()}
                for state, metrics in self.equity.items()
            },
        } | (
            {}
            if self.frontier is None
            else {"frontier": [p.to_json() for p in self.frontier.points]}
        )


def extract(
    units: pd.DataFrame,
    coeffs: Coefficients,
    rule: RuleAllocation,
    outcome: SolveOutcome,
    scenario: str,
    parameters: Parameters,
    source: Source,
    overrides: tuple[tuple[str, Any], ...] = (),
) -> Allocation:
    """Turn a solve outcome into an ``Allocation``: every reported figure, computed once.

    Round-off is never policy: the solver's decisions below ``solve.negligible`` of this
    model's money are set to exactly 0 first, every per-unit figure is derived from the
    cleaned decisions (so closing = before − contribution + a + l + g holds row by row in
    the report), and every derived money figure below the threshold is 0 as well
    (``COMPUTED_MONEY``). The fund balance Σ a = Σ contribution then holds within the
    crumbs removed, a few 1e-9 of the money.

    The status follows the gap level's optimum: an unfunded gap is reported whenever the
    least total gap exceeds the same threshold, however thinly it is spread over units. A
    unit's gap is its shortfall ``max(0, floor − closing)``, so closing + gap ≥ floor holds
    in the report even where a later level moved a sliver of gap between units within the
    held tolerance.
    """
    threshold = negligible(coeffs.money_scale)
    transfer = clean(outcome.values["transfer"], threshold)
    local = clean(outcome.values["local_subsidy"], threshold)
    central = clean(outcome.values["central_subsidy"], threshold)
    closing = coeffs.held + transfer + local + central
    fund_has_gap = outcome.level(LEVEL_GAP).objective > threshold
    short = np.maximum(0.0, coeffs.floor - closing)
    gap = short if fund_has_gap else np.zeros_like(short)
    n = len(transfer)
    # Incentive mode (docs/formulation.md §3): the LP counted each unit as collecting the
    # standard; its own finance covers the difference from what the LP left of its cap,
    # and what it cannot cover is its own gap, kept apart from the gap the fund left.
    collection = coeffs.shortfall if len(coeffs.shortfall) == n else np.zeros(n)
    committed = clean(np.minimum(collection, np.maximum(coeffs.local_cap - local, 0.0)), threshold)
    own_gap = clean(collection - committed, threshold)
    has_gap = fund_has_gap or float(own_gap.sum()) > threshold
    real = dataclasses.replace(coeffs, before=coeffs.before - collection)
    closing = closing - collection + committed
    rule_closing = real.held + coeffs.rule_allocation
    lower_by = coeffs.lower_by if len(coeffs.lower_by) == n else np.full(n, FREE, dtype=object)
    upper_by = coeffs.upper_by if len(coeffs.upper_by) == n else np.full(n, FUND, dtype=object)
    at_lower = (lower_by != FREE) & (transfer <= coeffs.lower + threshold)
    at_upper = (upper_by != FUND) & (transfer >= coeffs.upper - threshold)
    duals = np.asarray(outcome.transfer_dual, dtype=float)
    transfer_dual = duals + 0.0 if len(duals) == n else np.zeros(n)
    money = {
        "contribution_100m": coeffs.contribution,
        "rule_allocation_100m": coeffs.rule_allocation,
        "rule_net_transfer_100m": coeffs.rule_allocation - coeffs.contribution,
        "allocation_100m": transfer,
        "net_transfer_100m": transfer - coeffs.contribution,
        "local_subsidy_100m": local + committed,
        "central_subsidy_100m": central,
        "unfunded_gap_100m": gap + own_gap,
        "before_balance_100m": real.before,
        "rule_closing_balance_100m": rule_closing,
        "closing_balance_100m": closing,
        "floor_100m": coeffs.floor,
        "band_lower_100m": coeffs.lower,
        "band_upper_100m": coeffs.upper,
        "rule_shortfall_100m": np.maximum(0.0, coeffs.floor - rule_closing),
        "collection_shortfall_100m": collection,
        "committed_local_100m": committed,
        "own_gap_100m": own_gap,
        "fund_gap_100m": gap,
    }
    reported = {
        key: clean(np.asarray(money[key], dtype=float), threshold) for key in COMPUTED_MONEY
    }
    columns: dict[str, object] = {"code": list(coeffs.codes)}
    for key in (
        "name_zh",
        "name_en",
        "region",
        "retirees_10k",
        "expenditure_100m",
        "local_subsidy_cap_100m",
        "min_local_share",
        "opening_balance_100m",
    ):
        columns[key] = units[key].to_numpy()
    exp = coeffs.expenditure
    columns.update(reported)
    columns.update(
        {
            "months_before": MONTHS_PER_YEAR * reported["before_balance_100m"] / exp,
            "months_rule": MONTHS_PER_YEAR * reported["rule_closing_balance_100m"] / exp,
            "months_optimized": MONTHS_PER_YEAR * reported["closing_balance_100m"] / exp,
            "full_payment_dual": np.asarray(outcome.full_payment_dual, dtype=float) + 0.0,
            # In incentive mode a unit's own commitment draws on the same cap.
            "at_local_cap": (coeffs.local_cap > 0)
            & (local + committed >= coeffs.local_cap - threshold),
            "at_band_lower": at_lower & (lower_by == BAND),
            "at_band_upper": at_upper & (upper_by == BAND),
            "at_transfer_lower": at_lower,
            "at_transfer_upper": at_upper,
            "transfer_lower_by": lower_by,
            "transfer_upper_by": upper_by,
            "transfer_dual": transfer_dual,
            "at_floor": closing + gap + own_gap <= coeffs.floor + threshold,
            "role": roles(reported["net_transfer_100m"]),
            "rule_role": roles(reported["rule_net_transfer_100m"]),
            "input_row": (
                units["input_row"].to_numpy()
                if "input_row" in units
                else np.zeros(len(units), dtype=int)
            ),
        }
    )
    table = pd.DataFrame(columns, index=pd.Index(coeffs.codes, name="code"))
    net = reported["net_transfer_100m"]
    rule_net = reported["rule_net_transfer_100m"]
    totals = {
        "fund_100m": float(coeffs.fund),
        "unfunded_gap_100m": float(reported["unfunded_gap_100m"].sum()),
        "local_subsidy_100m": float(reported["local_subsidy_100m"].sum()),
        "central_subsidy_100m": float(reported["central_subsidy_100m"].sum()),
        "moved_100m": float(np.clip(net, 0, None).sum()),
        "rule_moved_100m": float(np.clip(rule_net, 0, None).sum()),
        "rule_shortfall_100m": float(reported["rule_shortfall_100m"].sum()),
    }
    if parameters.standard_contribution_rate is not None:
        for key in (
            "collection_shortfall_100m",
            "committed_local_100m",
            "own_gap_100m",
            "fund_gap_100m",
        ):
            totals[key] = float(reported[key].sum())
    central_binding = (
        coeffs.central_budget > 0
        and totals["central_subsidy_100m"] >= coeffs.central_budget - threshold
    )
    return Allocation(
        scenario=scenario,
        parameters=parameters,
        status=STATUS_GAP if has_gap else STATUS_FULL,
        table=table,
        totals=totals,
        equity=_equity(
            units,
            real,
            rule,
            reported["allocation_100m"],
            reported["local_subsidy_100m"],
            reported["central_subsidy_100m"],
        ),
        fund_dual=outcome.fund_dual,
        dual_level=outcome.dual_level,
        central_budget_binding=bool(central_binding),
        per_retiree_yuan=rule.per_retiree_yuan,
        levels=outcome.levels,
        solver=outcome.solver,
        source=source,
        overrides=overrides,
        timings=dict(outcome.timings),
        round_off=threshold,
    )


def clean(values: np.ndarray, threshold: float) -> np.ndarray:
    """``values`` with every entry smaller in size than ``threshold`` set to exactly 0
    (never −0.0): solver round-off is not policy."""
    return np.where(np.abs(values) < threshold, 0.0, values) + 0.0


def roles(net: np.ndarray) -> np.ndarray:
    """``contributor`` (net < −5亿), ``beneficiary`` (net > +5亿) or ``even`` (roughly
    even) for each net transfer: ``thresholds.ROUGHLY_EVEN_100m``, as every surface
    counts them (docs/outputs.md)."""
    net = np.asarray(net, dtype=float)
    return np.where(
        net < -ROUGHLY_EVEN_100m,
        CONTRIBUTOR,
        np.where(net > ROUGHLY_EVEN_100m, BENEFICIARY, EVEN),
    )


def _equity(
    units: pd.DataFrame,
    coeffs: Coefficients,
    rule: RuleAllocation,
    transfer: np.ndarray,
    local: np.ndarray,
    central: np.ndarray,
) -> dict[str, dict[str, Metric]]:
    """Metrics before adjustment, under the rule, and optimised (docs/formulation.md §6)."""
    exp = coeffs.expenditure
    retirees = units["retirees_10k"].to_numpy(dtype=float)
    regions = units["region"].to_numpy(dtype=str)
    own = np.maximum(units["opening_balance_100m"].to_numpy(dtype=float), 0.0) + sum(
        units[key].to_numpy(dtype=float)
        for key in ("contribution_income_100m", "other_income_100m", "planned_central_subsidy_100m")
    )
    states = {
        "before": (coeffs.before, own),
        "rule": (
            coeffs.held + coeffs.rule_allocation,
            own - coeffs.contribution + coeffs.rule_allocation,
        ),
        "optimized": (
            coeffs.held + transfer + local + central,
            own - coeffs.contribution + transfer + local + central,
        ),
    }
    metrics = {}
    for state, (closing, resources) in states.items():
        months = MONTHS_PER_YEAR * closing / exp
        national = MONTHS_PER_YEAR * float(closing.sum()) / float(exp.sum())
        metrics[state] = equity_metrics(months, national, resources, retirees, regions)
    return metrics
