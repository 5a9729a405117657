"""The statutory rule of docs/formulation.md §2, on the worked example and by hand."""

from __future__ import annotations

import pytest

from model.lp.rule import contributions, covered_employees, statutory_allocation
from model.workbook.scenarios import Parameters
from tests.fixtures_lp import make_data
from tests.workbooks import WORKED_EXAMPLE

WORKED = Parameters(year=2020, contribution_ratio=0.04)


def worked_units():
    return make_data(WORKED_EXAMPLE, WORKED).units


def test_worked_example_contributions_and_allocations() -> None:
    rule = statutory_allocation(worked_units(), WORKED)
    assert list(rule.contribution_100m.index) == ["A", "B", "C"]
    assert rule.contribution_100m.tolist() == pytest.approx([360.0, 86.4, 172.8])
    assert rule.allocation_100m.tolist() == pytest.approx([206.4, 309.6, 103.2])
    assert rule.net_transfer_100m.tolist() == pytest.approx([-153.6, 223.2, -69.6])
    assert rule.fund_100m == pytest.approx(619.2)
    # 619.2亿 / 600万 retirees = 10,320 yuan per retiree.
    assert rule.per_retiree_yuan == pytest.approx(10_320.0)


def test_net_transfers_sum_to_zero() -> None:
    rule = statutory_allocation(worked_units(), WORKED)
    assert rule.net_transfer_100m.sum() == pytest.approx(0.0, abs=1e-9)
    assert rule.allocation_100m.sum() == pytest.approx(rule.contribution_100m.sum())


def test_covered_is_the_mean_of_insured_and_employment_when_both_are_given() -> None:
    records = [dict(r) for r in WORKED_EXAMPLE]
    records[0]["enterprise_employment_10k"] = 600.0  # A: (1000 + 600) / 2 = 800
    units = make_data(records, WORKED).units
    assert covered_employees(units).tolist() == pytest.approx([800.0, 400.0, 600.0])
    # 0.04 × 0.9 × 100000 × 800万 = 288亿
    assert contributions(units, WORKED).tolist() == pytest.approx([288.0, 86.4, 172.8])


def test_contributions_scale_with_the_ratio_and_wage_base_share() -> None:
    units = worked_units()
    at_45 = contributions(units, Parameters(year=2021, contribution_ratio=0.045))
    assert at_45.tolist() == pytest.approx([405.0, 97.2, 194.4])
    full_wage = Parameters(year=2020, contribution_ratio=0.04, wage_base_share=1.0)
    assert contributions(units, full_wage).tolist() == pytest.approx([400.0, 96.0, 192.0])


def test_allocation_is_in_proportion_to_retirees() -> None:
    rule = statutory_allocation(worked_units(), WORKED)
    per_retiree = rule.allocation_100m / worked_units()["retirees_10k"]
    assert per_retiree.tolist() == pytest.approx([619.2 / 600] * 3)
