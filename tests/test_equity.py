"""Equity metrics of docs/formulation.md §6, by hand and as the pipeline reports them."""

from __future__ import annotations

import math
from itertools import combinations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model.analysis.equity import METRICS, equity_metrics, gini, months_metrics, theil
from model.analysis.runner import solve_scenario
from model.workbook.scenarios import Parameters, Scenario
from tests.fixtures_lp import make_data
from tests.workbooks import WORKED_EXAMPLE


def pairwise_gini(values: list[float]) -> float:
    """Σ_i Σ_j |x_i − x_j| / (2 n² x̄), written out over pairs."""
    n = len(values)
    total = 2 * sum(abs(x - y) for x, y in combinations(values, 2))
    return total / (2 * n * n * (sum(values) / n))


def plain_theil(values: list[float]) -> float:
    mean = sum(values) / len(values)
    return sum(x / mean * math.log(x / mean) for x in values) / len(values)


# --- Gini ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([1, 1, 1, 1], 0.0),
        ([0, 0, 0, 1], 0.75),
        ([1, 3], 0.25),  # |1 − 3|·2 / (2·4·2)
        ([2, 4, 6], 2 * (2 + 4 + 2) / (2 * 9 * 4)),
        ([5], 0.0),
    ],
)
def test_gini_by_hand(values: list[float], expected: float) -> None:
    metric = gini(np.array(values, dtype=float))
    assert metric.value == pytest.approx(expected, abs=1e-12)
    assert metric.note == ""


@settings(max_examples=50, deadline=None, derandomize=True)
@given(st.lists(st.integers(0, 1000), min_size=1, max_size=12).filter(lambda v: sum(v) > 0))
def test_gini_matches_the_pairwise_definition(values: list[int]) -> None:
    metric = gini(np.array(values, dtype=float))
    assert metric.value == pytest.approx(pairwise_gini(values), abs=1e-12)
    assert 0.0 <= metric.value <= 1.0


@pytest.mark.parametrize(
    ("values", "reason"),
    [([], "no units"), ([0, 0, 0], "zero"), ([3, -1, 2], "negative")],
)
def test_gini_undefined_cases_say_why(values: list[float], reason: str) -> None:
    metric = gini(np.array(values, dtype=float))
    assert metric.value is None
    assert reason in metric.note


# --- Theil T and its decomposition ---------------------------------------------------------


def test_theil_of_equal_values_is_zero() -> None:
    result = theil(np.array([2.0, 2.0, 2.0, 2.0]), np.array(["East", "East", "West", "West"]))
    assert result["theil"].value == pytest.approx(0.0, abs=1e-15)
    assert result["theil_between"].value == pytest.approx(0.0, abs=1e-15)
    assert result["theil_within"].value == pytest.approx(0.0, abs=1e-15)


def test_theil_by_hand() -> None:
    """[1, 3]: mean 2, T = ½(½ ln ½ + 3/2 ln 3/2)."""
    expected = 0.5 * (0.5 * math.log(0.5) + 1.5 * math.log(1.5))
    result = theil(np.array([1.0, 3.0]), np.array(["East", "West"]))
    assert result["theil"].value == pytest.approx(expected, rel=1e-12)
    # One unit per group: all inequality lies between the groups.
    assert result["theil_between"].value == pytest.approx(expected, rel=1e-12)
    assert result["theil_within"].value == pytest.approx(0.0, abs=1e-15)


def test_theil_within_only() -> None:
    """Both groups hold [1, 3]: their means are equal, so nothing lies between them."""
    values = np.array([1.0, 3.0, 1.0, 3.0])
    groups = np.array(["East", "East", "West", "West"])
    result = theil(values, groups)
    expected = 0.5 * (0.5 * math.log(0.5) + 1.5 * math.log(1.5))
    assert result["theil"].value == pytest.approx(expected, rel=1e-12)
    assert result["theil_between"].value == pytest.approx(0.0, abs=1e-15)
    assert result["theil_within"].value == pytest.approx(expected, rel=1e-12)


def test_theil_between_and_within_by_hand() -> None:
    """East [1, 1] (mean 1), West [3, 5] (mean 4); overall mean 2.5.

    between = ½·(1/2.5)·ln(1/2.5) + ½·(4/2.5)·ln(4/2.5);
    within  = ½·(4/2.5)·T([3, 5]) (East contributes nothing: its values are equal).
    """
    values = np.array([1.0, 1.0, 3.0, 5.0])
    groups = np.array(["East", "East", "West", "West"])
    result = theil(values, groups)
    between = 0.5 * 0.4 * math.log(0.4) + 0.5 * 1.6 * math.log(1.6)
    within = 0.5 * 1.6 * plain_theil([3.0, 5.0])
    assert result["theil_between"].value == pytest.approx(between, rel=1e-12)
    assert result["theil_within"].value == pytest.approx(within, rel=1e-12)
    assert result["theil"].value == pytest.approx(plain_theil([1, 1, 3, 5]), rel=1e-12)


@settings(max_examples=50, deadline=None, derandomize=True)
@given(
    st.lists(
        st.tuples(
            st.floats(0.1, 1000, allow_nan=False),
            st.sampled_from(["East", "Central", "West", "Northeast"]),
        ),
        min_size=1,
        max_size=12,
    )
)
def test_theil_decomposition_sums_to_the_total(pairs: list[tuple[float, str]]) -> None:
    values = np.array([v for v, _ in pairs])
    groups = np.array([g for _, g in pairs])
    result = theil(values, groups)
    total = result["theil"].value
    assert total == pytest.approx(plain_theil(list(values)), rel=1e-9, abs=1e-12)
    assert result["theil_between"].value + result["theil_within"].value == pytest.approx(
        total, rel=1e-9, abs=1e-12
    )
    assert total >= -1e-12
    assert result["theil_between"].value >= -1e-12
    assert result["theil_within"].value >= -1e-12


@pytest.mark.parametrize(("values", "reason"), [([], "no units"), ([1.0, 0.0], "zero")])
def test_theil_undefined_cases_say_why(values: list[float], reason: str) -> None:
    result = theil(np.array(values), np.array(["East"] * len(values)))
    for key in ("theil", "theil_between", "theil_within"):
        assert result[key].value is None
        assert reason in result[key].note


# --- reserve months ------------------------------------------------------------------------


def test_months_metrics_by_hand() -> None:
    result = months_metrics(np.array([0.0, 6.0, 12.0]), national_months=4.0)
    assert result["months_min"].value == 0.0
    assert result["months_max"].value == 12.0
    assert result["months_range"].value == 12.0
    assert result["months_mad"].value == pytest.approx((4 + 2 + 8) / 3)
    # population std of (0, 6, 12) is √24, mean 6
    assert result["months_cv"].value == pytest.approx(math.sqrt(24) / 6)


def test_months_cv_is_undefined_when_the_mean_is_not_positive() -> None:
    result = months_metrics(np.array([-3.0, 1.0, 2.0]), national_months=0.0)
    assert result["months_cv"].value is None
    assert "mean" in result["months_cv"].note
    assert result["months_min"].value == -3.0


def test_months_metrics_of_no_units() -> None:
    result = months_metrics(np.array([]), national_months=0.0)
    assert all(metric.value is None and metric.note for metric in result.values())


def test_equity_metrics_divides_resources_by_retirees() -> None:
    result = equity_metrics(
        months=np.array([1.0, 2.0]),
        national_months=1.5,
        resources=np.array([100.0, 300.0]),
        retirees=np.array([100.0, 100.0]),
        regions=np.array(["East", "West"]),
    )
    assert set(result) == set(METRICS)
    assert result["gini"].value == pytest.approx(0.25)


# --- the pipeline's three states -----------------------------------------------------------


def test_worked_example_equity_before_rule_and_optimized() -> None:
    """Resources per retiree (亿/万人): before = (max(opening, 0) + contribution income) /
    retirees = (2900/200, 400/300, 900/100); under the rule each unit also hands up its
    contribution and receives its rule allocation."""
    params = Parameters(year=2020, contribution_ratio=0.04)
    a = solve_scenario(make_data(WORKED_EXAMPLE, params), Scenario("w", params))
    before = [2900 / 200, 400 / 300, 900 / 100]
    rule = [(2900 - 360 + 206.4) / 200, (400 - 86.4 + 309.6) / 300, (900 - 172.8 + 103.2) / 100]
    assert set(a.equity) == {"before", "rule", "optimized"}
    assert a.equity["before"]["gini"].value == pytest.approx(pairwise_gini(before))
    assert a.equity["rule"]["gini"].value == pytest.approx(pairwise_gini(rule))
    assert a.equity["before"]["theil"].value == pytest.approx(plain_theil(before))
    # One unit per region: Theil lies entirely between the regions.
    for state in ("before", "rule", "optimized"):
        metrics = a.equity[state]
        assert metrics["theil_within"].value == pytest.approx(0.0, abs=1e-12)
        assert metrics["theil_between"].value == pytest.approx(metrics["theil"].value)
    assert a.equity["before"]["months_min"].value == pytest.approx(-2.4)
    assert a.equity["before"]["months_max"].value == pytest.approx(46.0)
    # National months before: 12 · (2300 − 100 + 600) / 1400 = 24
    assert a.equity["before"]["months_mad"].value == pytest.approx((22 + 26.4 + 0) / 3)
    assert a.equity["rule"]["months_min"].value == pytest.approx(2.9568)
    assert a.equity["optimized"]["months_min"].value == pytest.approx(10.3872, rel=1e-6)
    # Maximin moved money from the rich to the poor: resources are more equal.
    assert a.equity["optimized"]["gini"].value < a.equity["rule"]["gini"].value
    assert a.to_json()["equity"]["before"]["gini"] == a.equity["before"]["gini"].value


def test_negative_resources_make_gini_and_theil_undefined_in_the_report() -> None:
    """A unit with no opening reserve whose income falls short is still counted as 0 or
    more before adjustment; when its resources per retiree are zero, Theil is undefined
    and the report says so instead of printing a number."""
    records = [dict(r) for r in WORKED_EXAMPLE]
    records[1]["opening_balance_100m"] = -50
    records[1]["contribution_income_100m"] = 0
    params = Parameters(year=2020, contribution_ratio=0.04, max_rule_deviation=0.0)
    a = solve_scenario(make_data(records, params), Scenario("w", params))
    theil_before = a.equity["before"]["theil"]
    assert theil_before.value is None
    assert "zero" in theil_before.note
    assert a.to_json()["equity"]["before"]["theil"] is None
    # Under the rule B receives 309.6 − 86.4 net: its resources are positive again.
    assert a.equity["rule"]["theil"].value is not None
