"""Every lexicographic level on instances whose optimum is worked out by hand.

Unless a test says otherwise, units are built with ``fixtures_lp.unit``: retirees are equal,
so with equal contributions the statutory allocation is the contribution itself, and an
expenditure of 120 makes a unit's reserve months ``closing / 10``. ``K`` is what a unit
holds before any transfer: ``before − contribution``.

Level objectives are compared tightly. A held level leaves the next one a slack of at most
``LevelOutcome.tolerance`` (and e.g. the fiscal-subsidy level may trade that much unfunded
gap for subsidy), so the comparisons allow for it.
"""

from __future__ import annotations

import copy
import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from model.analysis.runner import Runner, solve_scenario
from model.cli import main
from model.lp.formulation import build_model, coefficients
from model.lp.solve import solve_lexicographic
from model.schema import OBJECTIVES
from model.workbook.reader import read_workbook
from model.workbook.scenarios import Parameters, Scenario, apply_overrides
from tests.fixtures_lp import level_values, make_data, random_instance, solve, unit
from tests.workbooks import WORKED_EXAMPLE, WORKED_PARAMETERS, write_workbook

LEVEL_NAMES = ["unfunded_gap", "fiscal_subsidy", "central_subsidy", "imbalance", "rule_distance"]
TIGHT: dict[str, float] = {"rel": 1e-6, "abs": 1e-5}
LOOSE: dict[str, float] = {"rel": 1e-4, "abs": 1e-3}


def worked(objective: str = "maximin", **overrides: Any):
    params = Parameters(year=2020, contribution_ratio=0.04, objective=objective)
    if overrides:
        params = apply_overrides(params, overrides, "test")
    return solve_scenario(make_data(WORKED_EXAMPLE, params), Scenario("worked", params))


def column(allocation, name: str) -> list[float]:
    return allocation.table[name].tolist()


# --- the worked example of docs/formulation.md §2 -------------------------------------


def test_worked_example_under_maximin_gives_the_whole_fund_to_the_worst_unit() -> None:
    """K = (1940, −186.4, 427.2) over expenditure (600, 500, 300): B is worst whatever it
    gets, so maximin hands it the whole 619.2 and B ends at 12·432.8/500 = 10.3872 months."""
    a = worked("maximin")
    assert a.status == "full_payment"
    assert [level.name for level in a.levels] == LEVEL_NAMES
    values = level_values(a)
    assert [values[k] for k in LEVEL_NAMES[:3]] == pytest.approx([0, 0, 0], abs=1e-9)
    assert values["imbalance"] == pytest.approx(-10.3872, **TIGHT)
    # A and C give up all of their rule allocation; B gets 309.6 more than its own.
    assert values["rule_distance"] == pytest.approx(619.2, **TIGHT)
    assert column(a, "contribution_100m") == pytest.approx([360.0, 86.4, 172.8])
    assert column(a, "rule_allocation_100m") == pytest.approx([206.4, 309.6, 103.2])
    assert column(a, "allocation_100m") == pytest.approx([0.0, 619.2, 0.0], **LOOSE)
    assert column(a, "months_before") == pytest.approx([46.0, -2.4, 24.0])
    assert column(a, "months_rule") == pytest.approx([42.928, 2.9568, 21.216])
    assert column(a, "months_optimized") == pytest.approx([38.8, 10.3872, 17.088], **LOOSE)


def test_worked_example_under_range() -> None:
    """A cannot fall below 38.8 months, and B rises at most to 10.3872: range 28.4128."""
    a = worked("range")
    assert level_values(a)["imbalance"] == pytest.approx(38.8 - 10.3872, **TIGHT)
    assert column(a, "allocation_100m") == pytest.approx([0.0, 619.2, 0.0], **LOOSE)


def test_worked_example_under_mad() -> None:
    """National months 12·2800/1400 = 24. A ≥ 38.8 whatever; each 亿 to C lowers the total
    deviation by 0.04 while C < 24, each 亿 to B by only 0.024, so C is filled to 24
    (a_C = 172.8) and B takes the rest (446.4, 6.24 months): MAD = (14.8 + 17.76 + 0)/3."""
    a = worked("mad")
    assert level_values(a)["imbalance"] == pytest.approx(32.56 / 3, **TIGHT)
    assert column(a, "allocation_100m") == pytest.approx([0.0, 446.4, 172.8], **LOOSE)
    assert column(a, "months_optimized") == pytest.approx([38.8, 6.24, 24.0], **LOOSE)
    # 206.4 + (446.4 − 309.6) + (172.8 − 103.2)
    assert level_values(a)["rule_distance"] == pytest.approx(412.8, **TIGHT)


@pytest.mark.parametrize("objective", OBJECTIVES)
def test_zero_band_reproduces_the_statutory_rule(objective: str) -> None:
    a = worked(objective, max_rule_deviation=0)
    assert column(a, "allocation_100m") == pytest.approx(column(a, "rule_allocation_100m"))
    assert column(a, "months_optimized") == pytest.approx(column(a, "months_rule"))
    assert level_values(a)["rule_distance"] == pytest.approx(0.0, abs=1e-6)


# --- level 1: the unfunded gap -------------------------------------------------------------

NEEDY = [
    unit("A", contribution=100, before=500),
    # K = −400 with expenditure 600: the rule's 100 leaves 300 to find.
    unit("B", contribution=100, before=-300, expenditure=600, cap=50),
]


def test_caps_too_small_leave_the_exact_gap() -> None:
    """At the rule, B needs 300 and can get 50 local + 30 central: gap 220."""
    a = solve(NEEDY, max_rule_deviation=0, central_subsidy_budget_100m=30)
    assert a.status == "unfunded_gap"
    assert a.gap_units == ["B"]
    assert column(a, "unfunded_gap_100m") == pytest.approx([0.0, 220.0], **TIGHT)
    assert a.totals["unfunded_gap_100m"] == pytest.approx(220.0, **TIGHT)
    assert level_values(a)["unfunded_gap"] == pytest.approx(220.0, **TIGHT)
    assert column(a, "local_subsidy_100m") == pytest.approx([0.0, 50.0], **TIGHT)
    assert column(a, "central_subsidy_100m") == pytest.approx([0.0, 30.0], **TIGHT)
    assert column(a, "closing_balance_100m") == pytest.approx([500.0, -220.0], **TIGHT)


def test_free_transfers_shrink_the_gap_by_what_other_units_can_give() -> None:
    """A gives its whole 100 too: B gets 200, so 400 − 200 − 80 = 120 is left unfunded."""
    a = solve(NEEDY, central_subsidy_budget_100m=30)
    assert a.status == "unfunded_gap"
    assert level_values(a)["unfunded_gap"] == pytest.approx(120.0, **TIGHT)
    assert column(a, "allocation_100m") == pytest.approx([0.0, 200.0], **LOOSE)
    assert column(a, "unfunded_gap_100m") == pytest.approx([0.0, 120.0], **LOOSE)


def test_no_gap_when_the_fund_suffices() -> None:
    """B holds −200; free transfers move A's 100 to it and nobody needs a subsidy."""
    a = solve(
        [unit("A", contribution=100, before=500), unit("B", contribution=100, before=-100, cap=99)]
    )
    assert a.status == "full_payment"
    assert a.gap_units == []
    assert level_values(a)["unfunded_gap"] == pytest.approx(0.0, abs=1e-9)
    assert level_values(a)["fiscal_subsidy"] == pytest.approx(0.0, abs=1e-6)
    assert a.totals["local_subsidy_100m"] == 0.0


def _workbook(tmp_path: Path, units: list[dict[str, Any]], **params: Any) -> Path:
    return write_workbook(tmp_path / "in.xlsx", units, {**WORKED_PARAMETERS, **params})


def run_cli(xlsx: Path, tmp_path: Path) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["run", str(xlsx), "-o", str(tmp_path / "o.xlsx")], out=out, err=err)
    assert err.getvalue() == ""
    assert (tmp_path / "o.xlsx").is_file()
    return code, out.getvalue()


def test_cli_exits_3_when_a_gap_remains(tmp_path: Path) -> None:
    units = copy.deepcopy(WORKED_EXAMPLE)
    # B spends 800: before = 100 + 300 − 800 = −400, K = −486.4, 309.6 from the rule
    # leaves 176.8 to find; 50 local + 30 central leave a gap of 96.8.
    units[1]["expenditure_100m"] = 800
    units[1]["local_subsidy_cap_100m"] = 50
    xlsx = _workbook(tmp_path, units, max_rule_deviation=0, central_subsidy_budget_100m=30)
    code, printed = run_cli(xlsx, tmp_path)
    assert code == 3
    assert "UNFUNDED GAP" in printed
    data = read_workbook(xlsx)
    a = solve_scenario(data, data.scenarios[0])
    assert a.status == "unfunded_gap"
    assert a.totals["unfunded_gap_100m"] == pytest.approx(96.8, **TIGHT)
    assert a.gap_units == ["B"]
    assert column(a, "local_subsidy_100m") == pytest.approx([0.0, 50.0, 0.0], **TIGHT)
    assert column(a, "central_subsidy_100m") == pytest.approx([0.0, 30.0, 0.0], **TIGHT)


def test_cli_exits_0_on_full_payment(tmp_path: Path) -> None:
    code, printed = run_cli(_workbook(tmp_path, WORKED_EXAMPLE), tmp_path)
    assert code == 0
    assert "Full payment guaranteed" in printed


@pytest.mark.parametrize("objective", OBJECTIVES)
def test_a_subsidy_that_covers_the_need_is_not_reported_as_a_gap(
    tmp_path: Path, objective: str
) -> None:
    """Regression: the gap level is held at 0 + tolerance, and the subsidy level used to
    trade that tolerance of unfunded gap for less subsidy, leaving a 0.00017亿 "gap" that
    turned the status to unfunded_gap and the exit code to 3 although the local cap
    covers B's 176.8 in full."""
    units = copy.deepcopy(WORKED_EXAMPLE)
    units[1]["expenditure_100m"] = 800
    units[1]["local_subsidy_cap_100m"] = 1000
    xlsx = _workbook(tmp_path, units, max_rule_deviation=0, objective=objective)
    code, _ = run_cli(xlsx, tmp_path)
    assert code == 0
    data = read_workbook(xlsx)
    a = solve_scenario(data, data.scenarios[0])
    assert a.status == "full_payment"
    assert column(a, "unfunded_gap_100m") == [0.0, 0.0, 0.0]
    assert column(a, "local_subsidy_100m") == pytest.approx([0.0, 176.8, 0.0], **TIGHT)


# --- level 2: least fiscal subsidy, local before central -----------------------------------


def one_needy(cap: float, share: float = 0.0) -> list[dict[str, Any]]:
    """At the rule (band 0), B holds −200 + 100: it needs exactly 100 of subsidy."""
    return [
        unit("A", contribution=100, before=500),
        unit("B", contribution=100, before=-100, expenditure=600, cap=cap, share=share),
    ]


def test_local_subsidy_is_used_before_central() -> None:
    a = solve(one_needy(cap=150), max_rule_deviation=0, central_subsidy_budget_100m=200)
    assert a.status == "full_payment"
    assert column(a, "local_subsidy_100m") == pytest.approx([0.0, 100.0], **TIGHT)
    assert column(a, "central_subsidy_100m") == pytest.approx([0.0, 0.0], abs=1e-6)
    values = level_values(a)
    assert values["fiscal_subsidy"] == pytest.approx(100.0, **TIGHT)
    assert values["central_subsidy"] == pytest.approx(0.0, abs=1e-6)
    assert not a.central_budget_binding


def test_central_subsidy_tops_up_a_local_cap() -> None:
    a = solve(one_needy(cap=60), max_rule_deviation=0, central_subsidy_budget_100m=200)
    assert a.status == "full_payment"
    assert column(a, "local_subsidy_100m") == pytest.approx([0.0, 60.0], **TIGHT)
    assert column(a, "central_subsidy_100m") == pytest.approx([0.0, 40.0], **TIGHT)
    assert level_values(a)["central_subsidy"] == pytest.approx(40.0, **TIGHT)
    assert bool(a.table.loc["B", "at_local_cap"])


def test_minimum_local_share_limits_central_money() -> None:
    """l ≤ 30 and l ≥ 0.4 (l + g) give g ≤ 1.5 l = 45: 75 of the 100 is funded."""
    a = solve(one_needy(cap=30, share=0.4), max_rule_deviation=0, central_subsidy_budget_100m=200)
    assert a.status == "unfunded_gap"
    assert column(a, "local_subsidy_100m") == pytest.approx([0.0, 30.0], **TIGHT)
    assert column(a, "central_subsidy_100m") == pytest.approx([0.0, 45.0], **TIGHT)
    assert column(a, "unfunded_gap_100m") == pytest.approx([0.0, 25.0], **TIGHT)
    local, central = a.table.loc["B", ["local_subsidy_100m", "central_subsidy_100m"]]
    assert local >= 0.4 * (local + central) - 1e-6


def test_full_local_share_rules_out_central_money() -> None:
    a = solve(one_needy(cap=30, share=1.0), max_rule_deviation=0, central_subsidy_budget_100m=200)
    assert column(a, "central_subsidy_100m") == pytest.approx([0.0, 0.0], abs=1e-6)
    assert level_values(a)["unfunded_gap"] == pytest.approx(70.0, **TIGHT)


def test_central_budget_is_shared_and_binding() -> None:
    """B needs 100 and C 50, neither has a local cap, the budget is 120: gap 30."""
    units = [
        unit("A", contribution=100, before=500),
        unit("B", contribution=100, before=-100, expenditure=600),
        unit("C", contribution=100, before=-50, expenditure=600),
    ]
    a = solve(units, max_rule_deviation=0, central_subsidy_budget_100m=120)
    assert a.totals["central_subsidy_100m"] == pytest.approx(120.0, **TIGHT)
    assert a.totals["unfunded_gap_100m"] == pytest.approx(30.0, **TIGHT)
    assert a.central_budget_binding
    # How the budget is split between B and C is not unique; each gets at most its need.
    gap = a.table["unfunded_gap_100m"] + a.table["central_subsidy_100m"]
    assert gap.tolist() == pytest.approx([0.0, 100.0, 50.0], **TIGHT)


def test_transfers_come_before_subsidy() -> None:
    """With free transfers A's 100 covers B's need, so B's local cap is left untouched."""
    a = solve(one_needy(cap=1000))
    assert level_values(a)["fiscal_subsidy"] == pytest.approx(0.0, abs=1e-6)
    assert a.totals["local_subsidy_100m"] == 0.0
    assert column(a, "allocation_100m") == pytest.approx([0.0, 200.0], **LOOSE)


def test_reserve_floor_is_funded_by_subsidy() -> None:
    """Three months of 120 is a floor of 30. At the rule B closes at 0 and needs 30."""
    units = [
        unit("A", contribution=100, before=500),
        unit("B", contribution=100, before=0, cap=100),
    ]
    a = solve(units, max_rule_deviation=0, reserve_months_floor=3.0)
    assert column(a, "floor_100m") == pytest.approx([30.0, 30.0])
    assert column(a, "local_subsidy_100m") == pytest.approx([0.0, 30.0], **TIGHT)
    assert column(a, "months_optimized") == pytest.approx([50.0, 3.0], **TIGHT)
    assert bool(a.table.loc["B", "at_floor"])


def test_an_existing_deficit_may_stay_but_not_deepen() -> None:
    """B opens at −200 and ends at −200: nothing needed. C opens at −200 and would end at
    −260: it needs 60 to keep its deficit from deepening."""
    units = [
        unit("A", contribution=100, before=500),
        unit("B", contribution=100, before=-200, opening=-200),
        unit("C", contribution=100, before=-260, opening=-200, cap=100),
    ]
    a = solve(units, max_rule_deviation=0)
    assert a.status == "full_payment"
    assert column(a, "floor_100m") == pytest.approx([0.0, -200.0, -200.0])
    assert column(a, "local_subsidy_100m") == pytest.approx([0.0, 0.0, 60.0], **TIGHT)
    assert level_values(a)["fiscal_subsidy"] == pytest.approx(60.0, **TIGHT)


def test_duals_price_the_requirement_and_the_fund() -> None:
    """Free transfers. C needs 50 and B 500, the fund is 300: C gets 50, B 250 and B's local
    subsidy covers the other 250. One more 亿 of requirement in B or C costs one more 亿
    of subsidy; A's row is slack; one more 亿 in the fund saves one 亿 of subsidy."""
    units = [
        unit("A", contribution=100, before=500),
        unit("B", contribution=100, before=-400, expenditure=600, cap=1000),
        unit("C", contribution=100, before=50),
    ]
    a = solve(units)
    assert level_values(a)["fiscal_subsidy"] == pytest.approx(250.0, **TIGHT)
    assert column(a, "allocation_100m") == pytest.approx([0.0, 250.0, 50.0], **LOOSE)
    assert column(a, "full_payment_dual") == pytest.approx([0.0, 1.0, 1.0], abs=1e-6)
    assert a.fund_dual == pytest.approx(1.0, abs=1e-6)


# --- level 3: regional imbalance -----------------------------------------------------------

EQUAL = [
    unit("A", contribution=100, before=500),  # K = 400: 40 months with nothing
    unit("B", contribution=100, before=0),  # K = −100
    unit("C", contribution=100, before=100),  # K = 0
]


def test_maximin_equalises_the_worst_units() -> None:
    """B needs 100 to reach C; the other 200 lift both by 100: 10 months each."""
    a = solve(EQUAL, objective="maximin")
    assert level_values(a)["imbalance"] == pytest.approx(-10.0, **TIGHT)
    assert column(a, "allocation_100m") == pytest.approx([0.0, 200.0, 100.0], **LOOSE)
    assert column(a, "months_optimized") == pytest.approx([40.0, 10.0, 10.0], **LOOSE)
    assert level_values(a)["rule_distance"] == pytest.approx(200.0, **TIGHT)
    assert a.equity["optimized"]["months_min"].value == pytest.approx(10.0, **TIGHT)


def test_maximin_equalises_months_not_money() -> None:
    """B spends 240, C 60: 12(a_B − 100)/240 = 12 a_C/60 and a_B + a_C = 300 give
    a_C = 40, a_B = 260 and 8 months each."""
    units = [
        unit("A", contribution=100, before=500),
        unit("B", contribution=100, before=0, expenditure=240),
        unit("C", contribution=100, before=100, expenditure=60),
    ]
    a = solve(units, objective="maximin")
    assert level_values(a)["imbalance"] == pytest.approx(-8.0, **TIGHT)
    assert column(a, "allocation_100m") == pytest.approx([0.0, 260.0, 40.0], **LOOSE)
    assert column(a, "months_optimized") == pytest.approx([40.0, 8.0, 8.0], **LOOSE)


def test_range_narrows_the_spread() -> None:
    """A stays at ≥ 40 months whatever; B and C rise to 10 at best: range 30."""
    a = solve(EQUAL, objective="range")
    assert level_values(a)["imbalance"] == pytest.approx(30.0, **TIGHT)
    assert column(a, "allocation_100m") == pytest.approx([0.0, 200.0, 100.0], **LOOSE)
    assert a.equity["optimized"]["months_range"].value == pytest.approx(30.0, **TIGHT)


def test_mad_minimises_the_mean_deviation_from_national_months() -> None:
    """National months 12·600/360 = 20. A deviates by ≥ 20; B and C, holding 200 between
    them, deviate by 40 − 20 = 20 however it is split while both stay ≤ 20 months:
    MAD = 40/3. Every 亿 given to A adds 0.2 to the sum. The split of 300 between B and C
    is not unique, but the rule distance then keeps both at their 100 or more: 200."""
    a = solve(EQUAL, objective="mad")
    values = level_values(a)
    assert values["imbalance"] == pytest.approx(40.0 / 3.0, **TIGHT)
    assert values["rule_distance"] == pytest.approx(200.0, **TIGHT)
    table = a.table
    assert table.loc["A", "allocation_100m"] == pytest.approx(0.0, abs=1e-3)
    assert table.loc["B", "allocation_100m"] >= 100.0 - 1e-3
    assert table.loc["C", "allocation_100m"] >= 100.0 - 1e-3
    assert (table.loc[["B", "C"], "months_optimized"] <= 20.0 + 1e-4).all()
    assert a.equity["optimized"]["months_mad"].value == pytest.approx(40.0 / 3.0, **TIGHT)


# --- level 4: distance from the rule -------------------------------------------------------

BANDED = [
    unit("A", contribution=100, before=500),  # K = 400: ≥ 45 months with a ≥ 50
    unit("B", contribution=100, before=-50),  # K = −150: needs a = 150, the band's top
    unit("C", contribution=100, before=200),  # K = 100
    unit("D", contribution=100, before=250),  # K = 150
]


def test_range_with_a_band_leaves_the_middle_units_at_the_rule() -> None:
    """Band ±50%: a ∈ [50, 150]. Range needs A at 50 and B at 150 (45 − 0 = 45); C and D
    are free as far as equity goes, and the last level keeps both at their rule 100."""
    a = solve(BANDED, objective="range", max_rule_deviation=0.5)
    values = level_values(a)
    assert values["imbalance"] == pytest.approx(45.0, **TIGHT)
    assert values["rule_distance"] == pytest.approx(100.0, **TIGHT)
    assert column(a, "allocation_100m") == pytest.approx([50.0, 150.0, 100.0, 100.0], **LOOSE)
    assert column(a, "band_lower_100m") == pytest.approx([50.0] * 4)
    assert column(a, "band_upper_100m") == pytest.approx([150.0] * 4)
    assert a.table["at_band_lower"].tolist() == [True, False, False, False]
    assert a.table["at_band_upper"].tolist() == [False, True, False, False]


def test_maximin_with_a_band_moves_no_more_than_it_must() -> None:
    """B must get 150 (it ends at 0 months, the best it can). The 50 it takes beyond its
    rule may come from A, C or D in any split (the distance is 100 whichever), but no unit
    is pushed above its rule allocation."""
    a = solve(BANDED, objective="maximin", max_rule_deviation=0.5)
    values = level_values(a)
    assert values["imbalance"] == pytest.approx(0.0, abs=1e-6)
    assert values["rule_distance"] == pytest.approx(100.0, **TIGHT)
    allocation = a.table["allocation_100m"]
    assert allocation["B"] == pytest.approx(150.0, **LOOSE)
    assert (allocation[["A", "C", "D"]] <= 100.0 + 1e-4).all()
    assert (allocation[["A", "C", "D"]] >= 50.0 - 1e-4).all()


def test_mad_with_a_band() -> None:
    """National months 900/40 = 22.5. A (≥ 45) and B (≤ 0) deviate by 22.5 each at best;
    C and D can both sit at 22.5 (a = 125 and 75): MAD 11.25, distance 50+50+25+25."""
    a = solve(BANDED, objective="mad", max_rule_deviation=0.5)
    values = level_values(a)
    assert values["imbalance"] == pytest.approx(11.25, **TIGHT)
    assert values["rule_distance"] == pytest.approx(150.0, **TIGHT)
    assert column(a, "allocation_100m") == pytest.approx([50.0, 150.0, 125.0, 75.0], **LOOSE)


# --- the solver interface ------------------------------------------------------------------


def test_solve_lexicographic_on_a_built_model() -> None:
    params = Parameters(year=2020, contribution_ratio=0.04)
    coeffs = coefficients(make_data(WORKED_EXAMPLE, params).units, params)
    m = build_model(coeffs, "maximin")
    outcome = solve_lexicographic(m, coeffs.money_scale)
    assert [level.name for level in outcome.levels] == LEVEL_NAMES
    assert outcome.level("imbalance").objective == pytest.approx(-10.3872, **TIGHT)
    assert outcome.solver.startswith("HiGHS")
    assert len(outcome.full_payment_dual) == 3


def test_a_reused_runner_gives_the_answers_of_fresh_solves() -> None:
    """The comparison runner re-solves one built model per objective; every scenario must
    come out as if solved on its own (level values tight; the allocation only where the
    lexicographic optimum is unique, i.e. compared loosely on the objective's metric)."""
    rng = np.random.default_rng(7)
    records, base = random_instance(rng, "maximin", None, 0.0)
    data = make_data(records, base)
    runner = Runner(data)
    grid = [
        {},
        {"max_rule_deviation": 0.2},
        {"objective": "range", "reserve_months_floor": 3},
        {"contribution_ratio": 0.045, "central_subsidy_budget_100m": 500},
        {"objective": "mad", "max_rule_deviation": 0.1},
        {"objective": "range", "max_rule_deviation": 0},
        {},
    ]
    for overrides in grid:
        params = apply_overrides(base, overrides, "grid")
        scenario = Scenario(str(overrides), params)
        reused, fresh = runner.solve(scenario), solve_scenario(data, scenario)
        got, want = level_values(reused), level_values(fresh)
        for name in LEVEL_NAMES:
            assert got[name] == pytest.approx(want[name], **TIGHT), (overrides, name)
        assert reused.status == fresh.status
        for key in ("unfunded_gap_100m", "local_subsidy_100m", "central_subsidy_100m"):
            assert reused.totals[key] == pytest.approx(fresh.totals[key], **TIGHT)


def test_a_gap_spread_thinly_over_many_units_is_still_a_gap(tmp_path: Path) -> None:
    """Regression (review): 50 units each 0.0025亿 short under the rule. Each shortfall is
    below the round-off of a 30,000亿 model, but together 0.125亿 of pensions go unpaid:
    the status must say so and the CLI must exit 3."""
    units = [
        dict(
            code=f"{i:02d}",
            name_zh=f"县{i}",
            region="West",
            avg_wage_yuan=60000,
            insured_employees_10k=100,
            retirees_10k=50,
            opening_balance_100m=0,
            contribution_income_100m=600 - 0.0025,
            expenditure_100m=600,
        )
        for i in range(50)
    ]
    params = Parameters(year=2020, contribution_ratio=0.04, max_rule_deviation=0.0)
    a = solve_scenario(make_data(units, params), Scenario("thin", params))
    assert a.status == "unfunded_gap"
    assert a.totals["unfunded_gap_100m"] == pytest.approx(0.125, rel=1e-6)
    assert column(a, "unfunded_gap_100m") == pytest.approx([0.0025] * 50, rel=1e-6)
    xlsx = write_workbook(
        tmp_path / "thin.xlsx", units, dict(WORKED_PARAMETERS, max_rule_deviation=0)
    )
    assert main(["run", str(xlsx), "-o", str(tmp_path / "o.xlsx")]) == 3
