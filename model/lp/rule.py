"""The statutory rule of 国发〔2018〕18号: the baseline every run reports.

Each unit hands up ``ratio × wage_base_share × avg_wage × covered`` and the fund is handed
back in proportion to retirees, so the net transfers sum to zero by construction.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from model.workbook.scenarios import Parameters

YUAN_PER_100M = 1e8
PERSONS_PER_10K = 1e4


@dataclass(frozen=True)
class RuleAllocation:
    """The statutory split of one year's fund, indexed like the input units.

    Attributes:
        covered_10k: covered employees, the mean of insured and enterprise employment
            where both are given, else insured employees.
        contribution_100m: what each unit hands up (上解).
        allocation_100m: what each unit receives (下拨), ``per_retiree × retirees``.
        net_transfer_100m: allocation − contribution; sums to zero.
        per_retiree_yuan: the national amount per retiree (全国人均拨付额).
        fund_100m: the size of the fund, Σ contribution.
    """

    covered_10k: pd.Series
    contribution_100m: pd.Series
    allocation_100m: pd.Series
    net_transfer_100m: pd.Series
    per_retiree_yuan: float
    fund_100m: float


def covered_employees(units: pd.DataFrame) -> pd.Series:
    """``(insured + enterprise employment) / 2`` where employment is given, else insured."""
    return pd.Series(_covered(units), index=units.index)


def _covered(units: pd.DataFrame) -> np.ndarray:
    insured = units["insured_employees_10k"].to_numpy(dtype=float)
    employment = units["enterprise_employment_10k"].to_numpy(dtype=float)
    return np.where(np.isnan(employment), insured, (insured + employment) / 2.0)


def contributions(units: pd.DataFrame, parameters: Parameters) -> pd.Series:
    """``ratio × wage_base_share × avg_wage_yuan × covered_10k × 1e4 / 1e8`` in 亿元."""
    return pd.Series(_contributions(units, parameters, _covered(units)), index=units.index)


def _contributions(units: pd.DataFrame, parameters: Parameters, covered: np.ndarray) -> np.ndarray:
    wage = units["avg_wage_yuan"].to_numpy(dtype=float)
    wage_bill_100m = wage * covered * PERSONS_PER_10K / YUAN_PER_100M
    return parameters.contribution_ratio * parameters.wage_base_share * wage_bill_100m


def contribution_base(units: pd.DataFrame, parameters: Parameters) -> np.ndarray:
    """``wage_base_share × avg_wage × covered × 1e4 / 1e8`` (亿元): the wage base the
    contribution ratio applies to, and the denominator of a unit's effective collection
    rate."""
    ratio_one = Parameters(
        year=parameters.year, contribution_ratio=1.0, wage_base_share=parameters.wage_base_share
    )
    return _contributions(units, ratio_one, _covered(units))


def collection_shortfall(units: pd.DataFrame, parameters: Parameters) -> np.ndarray:
    """``max(0, s × base − contribution_income)`` per unit under a standard contribution
    rate ``s`` (docs/formulation.md §3, incentive mode); zeros when the mode is off."""
    rate = parameters.standard_contribution_rate
    if rate is None:
        return np.zeros(len(units))
    income = units["contribution_income_100m"].to_numpy(dtype=float)
    return np.maximum(0.0, rate * contribution_base(units, parameters) - income)


def statutory_allocation(units: pd.DataFrame, parameters: Parameters) -> RuleAllocation:
    """Apply the statutory formula of docs/formulation.md §2 to every unit.

    Computed on numpy arrays (a sweep calls this once per scenario) and returned as Series
    indexed like the units.
    """
    covered = _covered(units)
    contribution = _contributions(units, parameters, covered)
    fund = float(contribution.sum())
    retirees = units["retirees_10k"].to_numpy(dtype=float)
    total_retirees = float(retirees.sum())
    allocation = fund * retirees / total_retirees
    net = allocation - contribution
    per_retiree_yuan = fund * YUAN_PER_100M / (total_retirees * PERSONS_PER_10K)
    index = units.index
    return RuleAllocation(
        covered_10k=pd.Series(covered, index=index, name="covered_10k"),
        contribution_100m=pd.Series(contribution, index=index, name="contribution_100m"),
        allocation_100m=pd.Series(allocation, index=index, name="rule_allocation_100m"),
        net_transfer_100m=pd.Series(net, index=index, name="rule_net_transfer_100m"),
        per_retiree_yuan=float(per_retiree_yuan),
        fund_100m=fund,
    )
