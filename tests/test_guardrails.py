"""Guardrails (docs/formulation.md §3): a minimum return share and per-unit minimum and
maximum transfers, from the workbook through the LP to the diagnostics."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl.utils import get_column_letter

from model.analysis import diagnostics
from model.cli import main
from model.errors import InputError
from model.lp.guardrails import (
    BAND,
    FREE,
    FUND,
    MAX_TRANSFER,
    MIN_TRANSFER,
    RETURN_SHARE,
    transfer_bounds,
)
from model.schema import PROVINCE_FIELDS
from model.workbook.reader import read_workbook
from model.workbook.scenarios import Parameters
from tests.fixtures_lp import instances, make_data, solve, solve_instance, unit
from tests.workbooks import WORKED_EXAMPLE, WORKED_PARAMETERS, write_workbook

SAMPLE = Path(__file__).resolve().parent.parent / "inputs" / "sample_2020.xlsx"


def hand_units() -> list[dict[str, Any]]:
    """A is rich, C is fine, B needs 130 more than it holds (K = −160, floor −30).

    The fund is 120 (rules 40 each). With a minimum return share of 0.5, A keeps 50 and C
    keeps 5, so B gets at most 65 and its local subsidy is 130 − 65 = 65; every 亿 of A's
    or C's guaranteed return costs one 亿 of B's subsidy.
    """
    return [
        unit("A", contribution=100, before=1000),
        unit("B", contribution=10, before=-150, opening=-30, cap=200),
        unit("C", contribution=10, before=60),
    ]


def test_without_a_guardrail_the_fund_goes_to_the_unit_in_need() -> None:
    allocation = solve(hand_units())
    assert allocation.totals["local_subsidy_100m"] == pytest.approx(10.0, abs=1e-6)


def test_a_minimum_return_share_holds_and_its_dual_is_the_subsidy_it_costs() -> None:
    allocation = solve(hand_units(), min_return_share=0.5)
    table = allocation.table
    assert allocation.totals["local_subsidy_100m"] == pytest.approx(65.0, abs=1e-6)
    assert table.loc["A", "allocation_100m"] == pytest.approx(50.0, abs=1e-6)
    assert table.loc["C", "allocation_100m"] == pytest.approx(5.0, abs=1e-6)
    assert list(table["transfer_lower_by"]) == [RETURN_SHARE] * 3
    assert list(table["at_transfer_lower"]) == [True, False, True]
    assert table.loc["A", "transfer_dual"] == pytest.approx(1.0, abs=1e-6)
    assert table.loc["C", "transfer_dual"] == pytest.approx(1.0, abs=1e-6)
    lines = [en for _, en in diagnostics.guardrail_lines(allocation)]
    assert lines[0] == (
        "The minimum return share (50%, parameters!B9) binds: Unit A and Unit C sit at this "
        "lower bound."
    )
    assert (
        lines[1]
        == "  Unit A and Unit C: each 亿 of room on this bound would save 1.00亿 of fiscal subsidy."
    )


def test_a_maximum_transfer_caps_the_unit_and_costs_subsidy() -> None:
    records = hand_units()
    records[1]["max_transfer_100m"] = 100.0
    allocation = solve(records)
    assert allocation.table.loc["B", "allocation_100m"] == pytest.approx(100.0, abs=1e-6)
    assert allocation.totals["local_subsidy_100m"] == pytest.approx(30.0, abs=1e-6)
    assert allocation.table.loc["B", "transfer_upper_by"] == MAX_TRANSFER
    assert allocation.table.loc["B", "transfer_dual"] == pytest.approx(-1.0, abs=1e-6)


def test_the_tightest_bound_wins_and_is_named() -> None:
    records = hand_units()
    records[0]["min_transfer_100m"] = 60.0
    records[2]["max_transfer_100m"] = 30.0
    params = Parameters(
        year=2020,
        contribution_ratio=0.01,
        wage_base_share=1.0,
        max_rule_deviation=0.5,
        min_return_share=0.5,
    )
    units = make_data(records, params).units
    contribution = np.array([100.0, 10.0, 10.0])
    rule = np.array([40.0, 40.0, 40.0])
    bounds = transfer_bounds(units, params, contribution, rule, 120.0)
    # A: band 20, share 50, minimum 60 → 60; B: band 20 → 20; C: band 20 → 20.
    assert list(bounds.lower) == [60.0, 20.0, 20.0]
    assert list(bounds.lower_by) == [MIN_TRANSFER, BAND, BAND]
    # A, B: band 60; C: its maximum 30.
    assert list(bounds.upper) == [60.0, 60.0, 30.0]
    assert list(bounds.upper_by) == [BAND, BAND, MAX_TRANSFER]
    free = transfer_bounds(
        units, Parameters(year=2020, contribution_ratio=0.01), contribution, rule, 120.0
    )
    assert list(free.lower_by) == [MIN_TRANSFER, FREE, FREE]
    assert list(free.upper_by) == [FUND, FUND, MAX_TRANSFER]


def test_a_return_share_the_band_cannot_give_is_refused_by_cell() -> None:
    with pytest.raises(InputError) as caught:
        solve(hand_units(), min_return_share=0.9, max_rule_deviation=0.1)
    (problem,) = caught.value.problems
    assert problem.where == "parameters!B9"
    assert "单位A" in problem.what and "at least 90.00亿 (the minimum return share)" in problem.what
    assert "at most 44.00亿 (the rule band, parameters!B7)" in problem.what
    assert problem.what_zh and problem.fix_zh


def test_minimum_transfers_beyond_the_fund_are_refused() -> None:
    records = hand_units()
    records[0]["min_transfer_100m"] = 100.0
    records[2]["min_transfer_100m"] = 100.0
    with pytest.raises(InputError) as caught:
        solve(records)
    (problem,) = caught.value.problems
    assert problem.where == "provinces!P"
    assert "add up to 200.00亿, more than the fund of 120.00亿" in problem.what


def test_a_minimum_above_the_maximum_is_a_located_input_error(tmp_path: Path) -> None:
    rows = copy.deepcopy(WORKED_EXAMPLE)
    rows[1]["min_transfer_100m"] = 300
    rows[1]["max_transfer_100m"] = 200
    with pytest.raises(InputError) as caught:
        read_workbook(write_workbook(tmp_path / "in.xlsx", rows, WORKED_PARAMETERS))
    (problem,) = caught.value.problems
    keys = [f.key for f in PROVINCE_FIELDS if any(f.key in row for row in rows)]
    low, high = (
        get_column_letter(keys.index(k) + 1) for k in ("min_transfer_100m", "max_transfer_100m")
    )
    assert problem.where == f"provinces!{low}3"
    assert f"above the maximum of 200亿 in provinces!{high}3" in problem.what


def test_a_guardrail_is_swept_like_any_parameter(tmp_path: Path) -> None:
    out, result = tmp_path / "cmp.xlsx", tmp_path / "cmp.json"
    argv = ["compare", str(SAMPLE), "-o", str(out), "--json", str(result)]
    sweeps = ["--sweep", "max_rule_deviation=blank", "--sweep", "min_return_share=0.3,0.6"]
    assert main([*argv, *sweeps]) == 0
    scenarios = json.loads(result.read_text(encoding="utf-8"))["scenarios"]
    assert [s["parameters"]["min_return_share"] for s in scenarios] == [None, 0.3, 0.6]
    assert [s["parameters"]["max_rule_deviation"] for s in scenarios] == [0.5, None, None]
    for scenario in scenarios[1:]:
        share = scenario["parameters"]["min_return_share"]
        for row in scenario["provinces"]:
            assert row["allocation_100m"] >= share * row["contribution_100m"] - 1e-3


@settings(max_examples=25, deadline=None, derandomize=True)
@given(instances(), st.sampled_from([0.2, 0.5, 0.8]), st.integers(0, 2**32 - 1))
def test_guardrails_hold_in_every_result(
    instance: tuple[list[dict[str, Any]], Parameters], share: float, seed: int
) -> None:
    records, params = instance
    rng = np.random.default_rng(seed)
    params = Parameters(**{**params.as_dict(), "min_return_share": share})
    records = [dict(r) for r in records]
    for record in records:
        if rng.random() < 0.3:
            record["min_transfer_100m"] = float(rng.integers(0, 50))
    try:
        allocation = solve_instance(records, params)
    except InputError:
        return  # bounds that cannot hold together are refused, never solved
    t = allocation.table
    zero = allocation.round_off
    assert (t["allocation_100m"] >= share * t["contribution_100m"] - zero).all()
    least = np.array([r.get("min_transfer_100m", np.nan) for r in records], dtype=float)
    has = ~np.isnan(least)
    order = [str(r["code"]) for r in records]
    got = t.loc[order, "allocation_100m"].to_numpy()
    assert (got[has] >= least[has] - zero).all()
    assert t["allocation_100m"].sum() == pytest.approx(allocation.totals["fund_100m"], rel=1e-7)
