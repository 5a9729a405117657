"""Shared builders for the optimizer tests: tiny hand-made instances and random ones.

``unit`` writes a pooling unit from the quantities the LP actually sees (contribution,
``before``, expenditure) so that a test's optimum can be worked out on paper. It uses a
contribution ratio of 0.01 and a wage base share of 1, so that with a wage of 100,000 yuan
a unit's contribution is ``covered_10k / 10`` 亿元.

``instances`` is a hypothesis strategy for random but plausible workbooks (3-8 units).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from model.analysis.results import Allocation
from model.analysis.runner import solve_scenario
from model.schema import OBJECTIVES, PROVINCE_FIELDS, REGIONS
from model.workbook.reader import FundData, Source, _units_frame
from model.workbook.scenarios import BASE_SCENARIO, Parameters, Scenario

HAND_RATIO = 0.01
HAND_WAGE = 100_000.0

MONEY_KEYS: tuple[str, ...] = (
    "opening_balance_100m",
    "contribution_income_100m",
    "other_income_100m",
    "expenditure_100m",
    "planned_central_subsidy_100m",
    "local_subsidy_cap_100m",
)
"""Every money column of the provinces sheet (亿元)."""

MONEY_RESULTS: tuple[str, ...] = (
    "contribution_100m",
    "rule_allocation_100m",
    "allocation_100m",
    "net_transfer_100m",
    "local_subsidy_100m",
    "central_subsidy_100m",
    "unfunded_gap_100m",
    "closing_balance_100m",
    "floor_100m",
)
MONTH_RESULTS: tuple[str, ...] = ("months_before", "months_rule", "months_optimized")


def unit(
    code: str,
    *,
    contribution: float,
    before: float,
    retirees: float = 100.0,
    expenditure: float = 120.0,
    opening: float = 0.0,
    cap: float = 0.0,
    share: float = 0.0,
    region: str = "East",
    planned: float = 0.0,
    other: float = 0.0,
) -> dict[str, Any]:
    """One unit whose contribution (at ``HAND_RATIO``) and ``before`` balance are given.

    ``before = opening + contribution_income + other + planned − expenditure``, so the
    contribution income is solved from it (and must come out non-negative).
    """
    income = before + expenditure - opening - other - planned
    assert income >= 0, f"unit {code}: choose a larger opening balance"
    return {
        "code": code,
        "name_zh": f"单位{code}",
        "name_en": f"Unit {code}",
        "region": region,
        "avg_wage_yuan": HAND_WAGE,
        "insured_employees_10k": contribution * 10.0,
        "retirees_10k": retirees,
        "opening_balance_100m": opening,
        "contribution_income_100m": income,
        "other_income_100m": other,
        "expenditure_100m": expenditure,
        "planned_central_subsidy_100m": planned,
        "local_subsidy_cap_100m": cap,
        "min_local_share": share,
    }


def parameters(**values: Any) -> Parameters:
    """Parameters for a hand-made instance: ratio 0.01 on the full wage unless given."""
    defaults: dict[str, Any] = {
        "year": 2020,
        "contribution_ratio": HAND_RATIO,
        "wage_base_share": 1.0,
    }
    return Parameters(**{**defaults, **values})


def make_data(records: list[dict[str, Any]], params: Parameters) -> FundData:
    """FundData built directly from records, as the workbook reader would leave it.

    A key missing from a record takes the field's default, as a blank cell does.
    """
    defaults = {f.key: f.default for f in PROVINCE_FIELDS if not f.required}
    units = _units_frame([{**defaults, **r} for r in records])
    return FundData(
        units=units,
        parameters=params,
        scenarios=(Scenario(BASE_SCENARIO, params),),
        source=Source(name="test", sha256="0" * 64, size_bytes=0),
    )


def solve(records: list[dict[str, Any]], **values: Any) -> Allocation:
    """Solve hand-made units under ``parameters(**values)``."""
    params = parameters(**values)
    return solve_scenario(make_data(records, params), Scenario("test", params))


def solve_instance(records: list[dict[str, Any]], params: Parameters) -> Allocation:
    """Solve random-instance records under ``params``."""
    return solve_scenario(make_data(records, params), Scenario("test", params))


def level_values(allocation: Allocation) -> dict[str, float]:
    """Each lexicographic level's objective value, by name."""
    return {level.name: level.objective for level in allocation.levels}


def money_scale(records: list[dict[str, Any]]) -> float:
    """The size of the money in an instance (Σ expenditure), for tolerances."""
    return max(1.0, float(sum(r["expenditure_100m"] for r in records)))


@st.composite
def instances(
    draw: st.DrawFn, min_units: int = 3, max_units: int = 8
) -> tuple[list[dict[str, Any]], Parameters]:
    """A random plausible instance: units with mixed surpluses and deficits, any policy."""
    n = draw(st.integers(min_units, max_units))
    records: list[dict[str, Any]] = []
    for i in range(n):
        expenditure = draw(st.integers(100, 3000))
        records.append(
            {
                "code": str(11 + 3 * i),
                "name_zh": f"省{i}",
                "name_en": f"Province {i}",
                "region": draw(st.sampled_from(REGIONS)),
                "avg_wage_yuan": float(draw(st.integers(40, 150)) * 1000),
                "insured_employees_10k": float(draw(st.integers(100, 2500))),
                "enterprise_employment_10k": draw(st.none() | st.integers(100, 2500).map(float)),
                "retirees_10k": float(draw(st.integers(50, 1200))),
                "opening_balance_100m": float(draw(st.integers(-1500, 6000))),
                "contribution_income_100m": expenditure * draw(st.integers(40, 120)) / 100.0,
                "other_income_100m": float(draw(st.integers(0, 100))),
                "expenditure_100m": float(expenditure),
                "planned_central_subsidy_100m": float(draw(st.integers(0, 300))),
                "local_subsidy_cap_100m": float(draw(st.sampled_from([0, 0, 20, 150, 1000]))),
                "min_local_share": draw(st.sampled_from([0.0, 0.0, 0.3, 0.5, 1.0])),
            }
        )
    params = Parameters(
        year=2020,
        contribution_ratio=draw(st.sampled_from([0.03, 0.035, 0.04, 0.045])),
        reserve_months_floor=float(draw(st.sampled_from([0, 0, 1, 3, 6]))),
        objective=draw(st.sampled_from(OBJECTIVES)),
        max_rule_deviation=draw(st.sampled_from([None, None, 0.0, 0.1, 0.3])),
        central_subsidy_budget_100m=float(draw(st.sampled_from([0, 0, 50, 500]))),
    )
    return records, params


def random_instance(
    rng: np.random.Generator, objective: str, band: float | None, floor_months: float
) -> tuple[list[dict[str, Any]], Parameters]:
    """A seeded random instance (3-8 units) with the given policy, for a fixed test list."""
    n = int(rng.integers(3, 9))
    records = []
    for i in range(n):
        expenditure = float(rng.integers(100, 3000))
        records.append(
            {
                "code": f"{i + 1:02d}",
                "name_zh": f"省{i}",
                "region": str(rng.choice(REGIONS)),
                "avg_wage_yuan": float(rng.integers(40, 150) * 1000),
                "insured_employees_10k": float(rng.integers(100, 2500)),
                "enterprise_employment_10k": (
                    None if rng.random() < 0.5 else float(rng.integers(100, 2500))
                ),
                "retirees_10k": float(rng.integers(50, 1200)),
                "opening_balance_100m": float(rng.integers(-1500, 6000)),
                "contribution_income_100m": expenditure * float(rng.integers(40, 120)) / 100.0,
                "other_income_100m": float(rng.integers(0, 100)),
                "expenditure_100m": expenditure,
                "planned_central_subsidy_100m": float(rng.integers(0, 300)),
                "local_subsidy_cap_100m": float(rng.choice([0, 20, 150, 1000])),
                "min_local_share": float(rng.choice([0.0, 0.0, 0.3, 0.5, 1.0])),
            }
        )
    params = Parameters(
        year=2020,
        contribution_ratio=float(rng.choice([0.03, 0.035, 0.04, 0.045])),
        reserve_months_floor=floor_months,
        objective=objective,
        max_rule_deviation=band,
        central_subsidy_budget_100m=float(rng.choice([0, 50, 500])),
    )
    return records, params


def scaled(records: list[dict[str, Any]], k: float) -> list[dict[str, Any]]:
    """Every money figure and every wage multiplied by ``k``."""
    out = []
    for record in records:
        new = dict(record)
        for key in (*MONEY_KEYS, "avg_wage_yuan"):
            if new.get(key) is not None:
                new[key] = new[key] * k
        out.append(new)
    return out


def recomputed_levels(allocation: Allocation) -> dict[str, float]:
    """Each level's objective evaluated on the reported per-unit figures, to check that a
    (non-unique) per-unit answer attains the levels the solver reported."""
    t = allocation.table
    months = t["months_optimized"].to_numpy()
    objective = allocation.parameters.objective
    if objective == "maximin":
        imbalance = -months.min()
    elif objective == "range":
        imbalance = months.max() - months.min()
    else:
        national = 12 * t["closing_balance_100m"].sum() / t["expenditure_100m"].sum()
        imbalance = float(np.abs(months - national).mean())
    return {
        "unfunded_gap": float(t["unfunded_gap_100m"].sum()),
        "fiscal_subsidy": float((t["local_subsidy_100m"] + t["central_subsidy_100m"]).sum()),
        "central_subsidy": float(t["central_subsidy_100m"].sum()),
        "imbalance": float(imbalance),
        "rule_distance": float((t["allocation_100m"] - t["rule_allocation_100m"]).abs().sum()),
    }
