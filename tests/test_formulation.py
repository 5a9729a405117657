"""The LP's coefficients and structure (docs/formulation.md §3), by hand on small instances."""

from __future__ import annotations

import pyomo.environ as pyo
import pytest

from model.lp.formulation import (
    LEVELS,
    before_adjustment,
    build_model,
    closing,
    coefficients,
    months,
    reserve_floor,
    update_coefficients,
)
from model.schema import OBJECTIVES
from model.workbook.scenarios import Parameters
from tests.fixtures_lp import make_data, parameters, unit
from tests.workbooks import WORKED_EXAMPLE

WORKED = Parameters(year=2020, contribution_ratio=0.04)


def worked_units():
    return make_data(WORKED_EXAMPLE, WORKED).units


def test_worked_example_coefficients() -> None:
    c = coefficients(worked_units(), WORKED)
    assert c.codes == ("A", "B", "C")
    assert c.contribution == pytest.approx([360.0, 86.4, 172.8])
    assert c.rule_allocation == pytest.approx([206.4, 309.6, 103.2])
    # before = opening + contribution income − expenditure
    assert c.before == pytest.approx([2300.0, -100.0, 600.0])
    assert c.held == pytest.approx([1940.0, -186.4, 427.2])
    assert c.floor == pytest.approx([0.0, 0.0, 0.0])
    assert c.expenditure == pytest.approx([600.0, 500.0, 300.0])
    assert c.fund == pytest.approx(619.2)
    assert c.central_budget == 0.0
    assert c.money_scale == pytest.approx(1400.0)


def test_free_transfers_are_bounded_by_zero_and_the_fund() -> None:
    c = coefficients(worked_units(), WORKED)
    assert c.lower == pytest.approx([0.0, 0.0, 0.0])
    assert c.upper == pytest.approx([619.2] * 3)


@pytest.mark.parametrize(
    ("delta", "lower", "upper"),
    [
        (0.0, [206.4, 309.6, 103.2], [206.4, 309.6, 103.2]),
        (0.25, [154.8, 232.2, 77.4], [258.0, 387.0, 129.0]),
        (1.0, [0.0, 0.0, 0.0], [412.8, 619.2, 206.4]),
    ],
)
def test_rule_band(delta: float, lower: list[float], upper: list[float]) -> None:
    params = Parameters(year=2020, contribution_ratio=0.04, max_rule_deviation=delta)
    c = coefficients(worked_units(), params)
    assert c.lower == pytest.approx(lower)
    assert c.upper == pytest.approx(upper)


def test_before_adds_every_income_and_subtracts_expenditure() -> None:
    records = [unit("X", contribution=10, before=0, opening=50, other=7, planned=3)]
    units = make_data(records, parameters()).units
    # contribution income was solved so that before = 0: 50 + 60 + 7 + 3 − 120
    assert units["contribution_income_100m"].iloc[0] == pytest.approx(60.0)
    assert before_adjustment(units).tolist() == pytest.approx([0.0])


def test_reserve_floor_keeps_deficits_from_deepening_and_adds_the_months() -> None:
    records = [
        unit("P", contribution=10, before=50, opening=60, expenditure=120),
        unit("N", contribution=10, before=-300, opening=-250, expenditure=240),
    ]
    units = make_data(records, parameters()).units
    assert reserve_floor(units, parameters()).tolist() == pytest.approx(
        [-250.0, 0.0]
    )  # sorted by code: N, P
    # three months of expenditure: 120/4 = 30 and 240/4 = 60 on top
    floored = reserve_floor(units, parameters(reserve_months_floor=3.0))
    assert floored.tolist() == pytest.approx([-190.0, 30.0])


def test_local_cap_share_and_central_budget_come_from_the_inputs() -> None:
    records = [
        unit("A", contribution=100, before=500),
        unit("B", contribution=100, before=-100, cap=30, share=0.4),
    ]
    params = parameters(central_subsidy_budget_100m=200.0)
    c = coefficients(make_data(records, params).units, params)
    assert c.local_cap == pytest.approx([0.0, 30.0])
    assert c.min_local_share == pytest.approx([0.0, 0.4])
    assert c.central_budget == 200.0


@pytest.mark.parametrize("objective", OBJECTIVES)
def test_model_rows_and_level_expressions(objective: str) -> None:
    records = [
        unit("A", contribution=100, before=500),
        unit("B", contribution=100, before=-100, cap=30, share=0.4),
        unit("C", contribution=100, before=100),
    ]
    params = parameters(objective=objective)
    c = coefficients(make_data(records, params).units, params)
    m = build_model(c, objective)
    assert len(m.full_payment) == 3
    assert list(m.local_share) == [1]  # only B has a minimum local share
    assert [k for k in m.LEVELS] == list(LEVELS)
    assert not any(m.level_objective[k].active for k in LEVELS)
    # The full-payment requirement is floor − K: B holds −200, so it needs 200.
    assert [pyo.value(m.need[p]) for p in m.UNITS] == pytest.approx([-400.0, 200.0, 0.0])
    # Evaluate every level at the statutory rule with l = 30, g = 45 and u = 125 in B.
    for p, value in enumerate(c.rule_allocation):
        m.transfer[p].set_value(value)
        m.rule_distance[p].set_value(0.0)
        for var in (m.local_subsidy, m.central_subsidy, m.unfunded_gap):
            var[p].set_value(0.0)
    m.local_subsidy[1].set_value(30.0)
    m.central_subsidy[1].set_value(45.0)
    m.unfunded_gap[1].set_value(125.0)
    assert pyo.value(closing(m, 1)) == pytest.approx(-200.0 + 100.0 + 75.0)
    assert [pyo.value(months(m, p)) for p in range(3)] == pytest.approx([50.0, -2.5, 10.0])
    assert pyo.value(m.level_value["unfunded_gap"]) == pytest.approx(125.0)
    assert pyo.value(m.level_value["fiscal_subsidy"]) == pytest.approx(75.0)
    assert pyo.value(m.level_value["central_subsidy"]) == pytest.approx(45.0)
    assert pyo.value(m.level_value["rule_distance"]) == pytest.approx(0.0)
    body = m.fund_balance.body
    assert pyo.value(body) == pytest.approx(300.0)
    assert pyo.value(m.fund_balance.upper) == pytest.approx(300.0)
    assert pyo.value(m.fund_balance.lower) == pytest.approx(300.0)
    # Local share row: (1 − 0.4)·30 − 0.4·45 = 0, exactly binding.
    assert pyo.value(m.local_share[1].body) == pytest.approx(0.0)


def test_unknown_objective_is_refused() -> None:
    c = coefficients(worked_units(), WORKED)
    with pytest.raises(ValueError, match="unknown objective"):
        build_model(c, "gini")


def test_update_coefficients_loads_another_scenario_over_the_first() -> None:
    """Re-using a built model loads the second scenario's numbers, worked out by hand, and
    keeps nothing of the first (a fresh build would load them through the same function)."""
    units = worked_units()
    first = Parameters(year=2020, contribution_ratio=0.04)
    second = Parameters(
        year=2021,
        contribution_ratio=0.045,
        reserve_months_floor=2.0,
        max_rule_deviation=0.1,
        central_subsidy_budget_100m=80.0,
    )
    m = build_model(coefficients(units, first), "maximin")
    update_coefficients(m, coefficients(units, second))
    # contributions 405, 97.2, 194.4 (fund 696.6); by retirees 232.2, 348.3, 116.1
    assert pyo.value(m.fund) == pytest.approx(696.6)
    assert pyo.value(m.central_budget) == pytest.approx(80.0)
    assert [pyo.value(m.rule_allocation[p]) for p in m.UNITS] == pytest.approx(
        [232.2, 348.3, 116.1]
    )
    # K = before − contribution = (2300, −100, 600) − (405, 97.2, 194.4)
    assert [pyo.value(m.held[p]) for p in m.UNITS] == pytest.approx([1895.0, -197.2, 405.6])
    # need = floor − K, the floor being two months of (600, 500, 300)
    assert [pyo.value(m.need[p]) for p in m.UNITS] == pytest.approx(
        [100.0 - 1895.0, 500.0 / 6 + 197.2, 50.0 - 405.6]
    )
    assert [m.transfer[p].lb for p in m.UNITS] == pytest.approx([208.98, 313.47, 104.49])
    assert [m.transfer[p].ub for p in m.UNITS] == pytest.approx([255.42, 383.13, 127.71])
    assert [m.local_subsidy[p].ub for p in m.UNITS] == pytest.approx([0.0, 0.0, 0.0])
