"""The bounds on each unit's transfer: the rule band and the guardrails (a planner's limits).

A transfer ``a_p`` is held between the tightest of its lower bounds and the tightest of its
upper bounds:

- the **rule band** (``max_rule_deviation`` δ): ``(1 − δ)·rule_p ≤ a_p ≤ (1 + δ)·rule_p``;
- the **minimum return share** (``min_return_share`` ρ): ``a_p ≥ ρ·contribution_p``, so
  every unit gets back at least ρ of what it hands up;
- the per-unit **minimum and maximum transfer** (``min_transfer_100m``,
  ``max_transfer_100m``): bounds a planner writes for one unit;
- and always ``0 ≤ a_p ≤ fund``.

They are column bounds, not rows: HiGHS treats a bound at no cost, and the reduced cost of
the transfer column at its bound is the guardrail's dual (the subsidy, or gap, one more 亿
of room would save). Bounds that cannot all hold (a lower above an upper, or lower bounds
that ask for more than the fund) are the planner's input error, named by cell here, so the
LP is never handed an infeasible model.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from model.errors import InputError, Problem
from model.lp.rule import statutory_allocation
from model.workbook.reader import Source, parameter_cell, province_cell
from model.workbook.scenarios import Parameters, Scenario

FREE, FUND, BAND, RETURN_SHARE, MIN_TRANSFER, MAX_TRANSFER = (
    "free",
    "fund",
    "band",
    "min_return_share",
    "min_transfer",
    "max_transfer",
)
"""What sets a bound. ``free`` (0 below) and ``fund`` (the whole fund above) are the
natural limits; the others are policy."""


@dataclass(frozen=True)
class TransferBounds:
    """Each unit's lower and upper bound on its transfer, and what sets each.

    Attributes:
        lower, upper: the bounds (亿元).
        lower_by, upper_by: which limit is the tightest, per unit (``band``,
            ``min_return_share``, ``min_transfer``, ``max_transfer``, or the natural
            ``free`` and ``fund``).
    """

    lower: np.ndarray
    upper: np.ndarray
    lower_by: np.ndarray
    upper_by: np.ndarray


def transfer_bounds(
    units: pd.DataFrame,
    parameters: Parameters,
    contribution: np.ndarray,
    rule_allocation: np.ndarray,
    fund: float,
) -> TransferBounds:
    """The tightest bounds of the band and the guardrails, unit by unit."""
    n = len(rule_allocation)
    lowers = {FREE: np.zeros(n)}
    uppers = {FUND: np.full(n, fund)}
    delta = parameters.max_rule_deviation
    if delta is not None:
        lowers[BAND] = np.maximum(0.0, (1.0 - delta) * rule_allocation)
        uppers[BAND] = (1.0 + delta) * rule_allocation
    share = parameters.min_return_share
    if share is not None:
        lowers[RETURN_SHARE] = share * contribution
    if "min_transfer_100m" in units:
        lowers[MIN_TRANSFER] = units["min_transfer_100m"].to_numpy(dtype=float)
    if "max_transfer_100m" in units:
        uppers[MAX_TRANSFER] = units["max_transfer_100m"].to_numpy(dtype=float)
    lower, lower_by = _tightest(lowers, np.fmax)
    upper, upper_by = _tightest(uppers, np.fmin)
    return TransferBounds(lower, upper, lower_by, upper_by)


def _tightest(bounds: dict[str, np.ndarray], pick: np.ufunc) -> tuple[np.ndarray, np.ndarray]:
    """Combine bounds (NaN = none for that unit) and name the one that wins; ties go to
    the natural limit, then in the order the bounds were added."""
    names = list(bounds)
    stacked = np.vstack([bounds[name] for name in names])
    value = stacked[0]
    for row in stacked[1:]:
        value = pick(value, row)
    winner = np.full(value.shape, names[0], dtype=object)
    for name, row in zip(names[1:], stacked[1:], strict=True):
        strictly = np.isfinite(row) & (row == value) & (row != stacked[0])
        winner = np.where(strictly & (winner == names[0]), name, winner)
    return value, winner


def has_guardrails(units: pd.DataFrame, parameters: Parameters) -> bool:
    """Whether any guardrail is set: only then can the bounds contradict each other."""
    if parameters.min_return_share is not None:
        return True
    return any(
        key in units and bool(units[key].notna().any())
        for key in ("min_transfer_100m", "max_transfer_100m")
    )


def check_scenarios(
    units: pd.DataFrame, scenarios: Iterable[Scenario], source: Source | None
) -> None:
    """Check the transfer bounds of every scenario before any is solved, so a comparison
    refuses its impossible scenarios at once, listing them all, instead of failing half-way.

    Raises:
        InputError: every scenario's contradictory bounds, by cell.
    """
    problems: list[Problem] = []
    for scenario in scenarios:
        params = scenario.parameters
        if not has_guardrails(units, params):
            continue  # the band alone always leaves room: Σ(1 ± δ)·rule brackets the fund
        rule = statutory_allocation(units, params)
        contribution = rule.contribution_100m.to_numpy(dtype=float)
        allocation = rule.allocation_100m.to_numpy(dtype=float)
        bounds = transfer_bounds(units, params, contribution, allocation, rule.fund_100m)
        try:
            check_transfer_bounds(units, params, bounds, rule.fund_100m, source, scenario.name)
        except InputError as error:
            problems += error.problems
    if problems:
        raise InputError(problems)


def check_transfer_bounds(
    units: pd.DataFrame,
    parameters: Parameters,
    bounds: TransferBounds,
    fund: float,
    source: Source | None,
    scenario: str,
) -> None:
    """Refuse bounds that cannot all hold, naming the cells that set them.

    Raises:
        InputError: a unit's lower bound above its upper bound, lower bounds that add up
            to more than the fund, or upper bounds that add up to less.
    """
    problems: list[Problem] = []
    rows = units["input_row"].to_numpy() if "input_row" in units else np.zeros(len(units))
    names = units["name_zh"].to_numpy(dtype=str)
    context = "" if scenario == "base" else f' (scenario "{scenario}")'
    context_zh = "" if scenario == "base" else f"（情景“{scenario}”）"
    tolerance = 1e-9 * max(1.0, fund)
    for p in np.flatnonzero(bounds.lower > bounds.upper + tolerance):
        low = _where(bounds.lower_by[p], parameters, source, int(rows[p]))
        high = _where(bounds.upper_by[p], parameters, source, int(rows[p]))
        problems.append(
            Problem(
                low,
                f"{names[p]}'s transfer must be at least {bounds.lower[p]:,.2f}亿 "
                f"({_label(bounds.lower_by[p])}) but at most {bounds.upper[p]:,.2f}亿 "
                f"({_label(bounds.upper_by[p])}, {high}){context}",
                "loosen one of the two so that the lower bound is not above the upper",
                f"{names[p]}的拨付额须不少于{bounds.lower[p]:,.2f}亿元"
                f"（{_label_zh(bounds.lower_by[p])}），又须不超过{bounds.upper[p]:,.2f}亿元"
                f"（{_label_zh(bounds.upper_by[p])}，{high}）{context_zh}",
                "请放宽其中之一，使下限不高于上限",
            )
        )
    if not problems and bounds.lower.sum() > fund + tolerance:
        problems.append(
            Problem(
                _column_or_parameter(units, parameters, source, "min"),
                f"the lower bounds on transfers add up to {bounds.lower.sum():,.2f}亿, more "
                f"than the fund of {fund:,.2f}亿{context}",
                "lower the minimum transfers or the minimum return share",
                f"各单位拨付额下限合计{bounds.lower.sum():,.2f}亿元，超过调剂基金"
                f"{fund:,.2f}亿元{context_zh}",
                "请降低最低拨付额或最低返还比例",
            )
        )
    if not problems and bounds.upper.sum() < fund - tolerance:
        problems.append(
            Problem(
                _column_or_parameter(units, parameters, source, "max"),
                f"the upper bounds on transfers add up to {bounds.upper.sum():,.2f}亿, less "
                f"than the fund of {fund:,.2f}亿, which must all be paid out{context}",
                "raise the maximum transfers",
                f"各单位拨付额上限合计{bounds.upper.sum():,.2f}亿元，少于必须全部拨付的调剂基金"
                f"{fund:,.2f}亿元{context_zh}",
                "请提高最高拨付额",
            )
        )
    if problems:
        raise InputError(problems)


_LABELS = {
    BAND: ("the rule band", "规则偏离区间"),
    RETURN_SHARE: ("the minimum return share", "最低返还比例"),
    MIN_TRANSFER: ("its minimum transfer", "最低拨付额"),
    MAX_TRANSFER: ("its maximum transfer", "最高拨付额"),
    FREE: ("zero", "零"),
    FUND: ("the whole fund", "基金总额"),
}


def _label(by: str) -> str:
    return _LABELS[by][0]


def _label_zh(by: str) -> str:
    return _LABELS[by][1]


def _where(by: str, parameters: Parameters, source: Source | None, row: int) -> str:
    """The cell that sets a bound."""
    if by == MIN_TRANSFER:
        return province_cell("min_transfer_100m", source, row)
    if by == MAX_TRANSFER:
        return province_cell("max_transfer_100m", source, row)
    if by == RETURN_SHARE:
        return parameter_cell("min_return_share", source)
    if by == BAND:
        return parameter_cell("max_rule_deviation", source)
    return parameter_cell("contribution_ratio", source)


def _column_or_parameter(
    units: pd.DataFrame, parameters: Parameters, source: Source | None, side: str
) -> str:
    key = f"{side}_transfer_100m"
    if key in units and units[key].notna().any():
        return province_cell(key, source)
    return parameter_cell("min_return_share", source)
