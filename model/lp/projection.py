"""Every unit's figures, year by year to the plan's end: the growth model of the plan.

The base year is the workbook itself. Each later year grows the year before it
(docs/formulation.md, the multi-year plan):

- wages at ``wage_growth``; insured employees and enterprise employment at
  ``insured_growth``; retirees at ``retiree_growth``;
- contribution income by ``(1 + wage_growth)(1 + insured_growth)``: the wage bill;
- expenditure by ``(1 + retiree_growth)(1 + benefit_growth)``: retirees times pension;
- other income, the planned central subsidy, the local subsidy cap and the guardrail
  bounds on the transfer in proportion to expenditure: they are money of the same unit
  and scale with its pension bill.

A unit's rates come from the ``growth`` sheet, or the national defaults of the parameters.
A figure in the ``projection`` sheet replaces the grown value for that unit and year, and
the years after it grow from it: that is how the end of a temporary relief (2020's
contribution cut) is written once and carried. Shares (``min_local_share``) stay as given.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from model.schema import GROWTH_DRIVERS
from model.workbook.horizon import Horizon, ratio_path_for
from model.workbook.scenarios import Parameters

GROWS_WITH: dict[str, tuple[str, ...]] = {
    "avg_wage_yuan": ("wage_growth",),
    "insured_employees_10k": ("insured_growth",),
    "enterprise_employment_10k": ("insured_growth",),
    "retirees_10k": ("retiree_growth",),
    "contribution_income_100m": ("wage_growth", "insured_growth"),
    "expenditure_100m": ("retiree_growth", "benefit_growth"),
    "other_income_100m": ("retiree_growth", "benefit_growth"),
    "planned_central_subsidy_100m": ("retiree_growth", "benefit_growth"),
    "local_subsidy_cap_100m": ("retiree_growth", "benefit_growth"),
    "min_transfer_100m": ("retiree_growth", "benefit_growth"),
    "max_transfer_100m": ("retiree_growth", "benefit_growth"),
}
"""Each projected figure and the drivers whose growth factors multiply it each year.
Figures not listed (names, region, shares) are carried unchanged; the opening balance is
the base year's alone (later years carry the plan's own closing balance)."""


@dataclass(frozen=True)
class Projection:
    """The plan's data: one frame of units per year, and the ratio of each year.

    Attributes:
        years: the base year to the plan's end year, consecutive.
        units: per year, a frame like ``FundData.units`` (same index and columns) holding
            that year's figures; ``opening_balance_100m`` is the base year's in every frame.
        ratios: the contribution ratio of each year (the fixed path; with an optimised
            path, the starting point the solver may raise).
        growth: per unit, the four annual rates used (a frame indexed like the units).
    """

    years: tuple[int, ...]
    units: tuple[pd.DataFrame, ...]
    ratios: tuple[float, ...]
    growth: pd.DataFrame

    @property
    def codes(self) -> tuple[str, ...]:
        """The unit codes, sorted (as in every frame)."""
        return tuple(str(c) for c in self.units[0].index)

    def figure(self, key: str) -> np.ndarray:
        """One figure for every year and unit, shape (years, units)."""
        return np.stack([frame[key].to_numpy(dtype=float) for frame in self.units])


def growth_rates(units: pd.DataFrame, parameters: Parameters, horizon: Horizon) -> pd.DataFrame:
    """Each unit's annual rate of each driver: its ``growth`` row, else the national default."""
    defaults = {d: float(getattr(parameters, d)) for d in GROWTH_DRIVERS}
    rates = pd.DataFrame(defaults, index=units.index, dtype=float)
    own = horizon.growth.reindex(units.index)
    for driver in GROWTH_DRIVERS:
        if driver in own:
            rates[driver] = own[driver].fillna(rates[driver]).astype(float)
    return rates


def project(
    units: pd.DataFrame,
    parameters: Parameters,
    horizon: Horizon,
    shocks: np.ndarray | None = None,
) -> Projection:
    """Carry the base year's ``units`` to ``parameters.plan_end_year`` (the base year alone
    when no end is set).

    Args:
        shocks: the plan under uncertainty: added to each unit's rates year by year, shape
            (years, units, drivers) in the order of ``GROWTH_DRIVERS`` (``shocks.ShockModel``);
            None for the planned rates.

    Raises:
        ValueError: the end year is before the base year (the reader refuses it first).
    """
    end = parameters.plan_end_year or parameters.year
    if end < parameters.year:
        raise ValueError(f"plan_end_year {end} is before the base year {parameters.year}")
    years = tuple(range(parameters.year, end + 1))
    rates = growth_rates(units, parameters, horizon)
    planned = {d: 1.0 + rates[d].to_numpy(dtype=float) for d in GROWTH_DRIVERS}
    overrides = _overrides(horizon, units.index)
    # The columns that change from year to year, carried as arrays (one frame is built a
    # year, at once: setting columns one by one on a copied frame cost more than the LP of
    # a risk draw): the grown figures, and any figure the projection sheet replaces.
    grown_keys = [key for key in GROWS_WITH if key in units]
    replaced = {key for by_key in overrides.values() for key in by_key} - set(grown_keys)
    current = {key: units[key].to_numpy(dtype=float) for key in grown_keys}
    current |= {key: units[key].to_numpy() for key in sorted(replaced)}
    frames = [units]
    for index, year in enumerate(years[1:], start=1):
        factor = planned
        if shocks is not None:
            factor = {d: planned[d] + shocks[index, :, j] for j, d in enumerate(GROWTH_DRIVERS)}
        following = dict(current)
        for key in grown_keys:
            column = current[key]
            for driver in GROWS_WITH[key]:
                column = column * factor[driver]
            following[key] = column
        for key, values in overrides.get(year, {}).items():
            given = ~np.isnan(values)
            column = np.array(following[key], dtype=float)
            column[given] = values[given]
            following[key] = column
        current = following
        frames.append(
            pd.DataFrame(
                {key: current.get(key, units[key]) for key in units.columns}, index=units.index
            )
        )
    ratios = tuple(ratio for _, ratio in ratio_path_for(parameters, horizon))
    return Projection(years=years, units=tuple(frames), ratios=ratios, growth=rates)


def _overrides(horizon: Horizon, codes: pd.Index) -> dict[int, dict[str, np.ndarray]]:
    """year → key → the projection sheet's figures in code order (NaN where not given)."""
    table = horizon.projection
    result: dict[int, dict[str, np.ndarray]] = {}
    if table.empty:
        return result
    for year, rows in table.groupby(level="year"):
        by_code = rows.droplevel("year").reindex(codes)
        result[int(year)] = {
            str(key): by_code[key].to_numpy(dtype=float) for key in by_code.columns
        }
    return result
