"""The sample's results are pinned where they are unique: speed work and refactors must not
change the answer.

A lexicographic LP has a unique value at every level but, being degenerate, not a unique
allocation: dual simplex and interior point with crossover end at different vertices with
the same levels (on ``band_20`` they move single units by 31亿). So the JSON files under
``tests/golden`` pin only what is unique (style.md, habit 15):

- each level's objective value (and the tolerance it was held with);
- the totals: fund, unfunded gap, local and central subsidy;
- figures derived from the data alone: each unit's contribution, rule allocation, balance
  before adjustment, floor and months before and under the rule, and the equity metrics
  before adjustment and under the rule.

The per-unit decisions are checked instead by feasibility (every constraint of the
formulation) and by the levels they attain, under both solver paths.

Regenerate the files with ``.venv/bin/python -m tests.test_golden`` only for an intended
change of results, and say so in the commit.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from model.analysis.results import Allocation
from model.analysis.runner import solve_scenario
from model.lp.solve import negligible
from model.schema import PLAN_PARAMETER_KEYS
from model.workbook.reader import FundData, read_workbook
from model.workbook.scenarios import Parameters
from tests.fixtures_lp import recomputed_levels

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "inputs" / "sample_2020.xlsx"
GOLDEN = ROOT / "tests" / "golden"
SCENARIOS = {"base": "sample_2020_base.json", "band_20": "sample_2020_band_20.json"}
METHODS = ("simplex", "interior_point")
"""The two solver paths: dual simplex (models under 5,000 columns, as the sample) and
interior point with crossover (larger models), forced here on the sample."""

TOTALS = ("fund_100m", "unfunded_gap_100m", "local_subsidy_100m", "central_subsidy_100m")
DATA_FIGURES = (
    "contribution_100m",
    "rule_allocation_100m",
    "before_balance_100m",
    "floor_100m",
    "months_before",
    "months_rule",
)
"""Per-unit figures computed from the inputs alone, before any solve."""
DATA_STATES = ("before", "rule")
"""Equity states that depend on the data alone (``optimized`` depends on the vertex)."""
EXACT = {"rel": 1e-12, "abs": 1e-9}
"""Figures derived from the data are arithmetic on the inputs: only float round-off."""


def golden_record(allocation: Allocation) -> dict[str, Any]:
    """What the golden file of a scenario holds: only what is unique."""
    table = allocation.table
    return {
        "scenario": allocation.scenario,
        "status": allocation.status,
        "parameters": allocation.parameters.as_dict(),
        "levels": {
            level.name: {"objective": level.objective, "tolerance": level.tolerance}
            for level in allocation.levels
        },
        "totals": {key: allocation.totals[key] for key in TOTALS},
        "units": [
            {"code": code, "name_zh": table.at[code, "name_zh"]}
            | {key: float(table.at[code, key]) for key in DATA_FIGURES}
            for code in table.index
        ],
        "equity": {
            state: {name: metric.value for name, metric in allocation.equity[state].items()}
            for state in DATA_STATES
        },
    }


@pytest.fixture(scope="module")
def data() -> FundData:
    return read_workbook(SAMPLE)


@pytest.fixture(scope="module")
def zero(data: FundData) -> float:
    """Money below this is round-off at the sample's scale (``solve.negligible``)."""
    return negligible(float(data.units["expenditure_100m"].abs().sum()))


@pytest.fixture(scope="module")
def zero_months(data: FundData, zero: float) -> float:
    """``zero`` in reserve months of the unit that spends least (the largest in months)."""
    return 12 * zero / float(data.units["expenditure_100m"].min())


@pytest.fixture(scope="module")
def solved(data: FundData) -> Iterator[dict[tuple[str, str], Allocation]]:
    """Every scenario under both solver paths, solved once for the module."""
    results = {}
    for method in METHODS:
        with pytest.MonkeyPatch.context() as patch:
            if method == "interior_point":
                patch.setattr("model.lp.solve.LARGE_MODEL_COLUMNS", 0)
            for scenario in SCENARIOS:
                results[scenario, method] = solve_scenario(data, data.scenario(scenario))
    yield results


def golden(scenario: str) -> dict[str, Any]:
    return json.loads((GOLDEN / SCENARIOS[scenario]).read_text(encoding="utf-8"))


CASES = [(scenario, method) for scenario in SCENARIOS for method in METHODS]


@pytest.mark.parametrize(("scenario", "method"), CASES)
def test_level_values_match_the_golden(
    solved: dict[tuple[str, str], Allocation], scenario: str, method: str
) -> None:
    """Each level's optimum, within the tolerance it is held with."""
    allocation, want = solved[scenario, method], golden(scenario)
    assert allocation.status == want["status"]
    # Parameters are added over time (never renamed): the pinned ones must match, and any
    # added since must sit at its default, so the pinned levels still describe this run.
    params = allocation.parameters.as_dict()
    assert {key: params[key] for key in want["parameters"]} == want["parameters"]
    defaults = Parameters(year=params["year"], contribution_ratio=params["contribution_ratio"])
    for key in set(params) - set(want["parameters"]) - set(PLAN_PARAMETER_KEYS):
        assert params[key] == getattr(defaults, key), key  # the plan's keys reach no single year
    assert [level.name for level in allocation.levels] == list(want["levels"])
    for level in allocation.levels:
        pinned = want["levels"][level.name]
        assert level.objective == pytest.approx(pinned["objective"], abs=pinned["tolerance"]), (
            level.name
        )


@pytest.mark.parametrize(("scenario", "method"), CASES)
def test_totals_match_the_golden(
    solved: dict[tuple[str, str], Allocation], scenario: str, method: str, zero: float
) -> None:
    totals, want = solved[scenario, method].totals, golden(scenario)["totals"]
    assert list(want) == list(TOTALS)
    assert totals["fund_100m"] == pytest.approx(want["fund_100m"], **EXACT)
    for key in TOTALS[1:]:
        assert totals[key] == pytest.approx(want[key], abs=zero), key


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_figures_derived_from_the_data_match_the_golden(
    solved: dict[tuple[str, str], Allocation], scenario: str
) -> None:
    allocation, want = solved[scenario, "simplex"], golden(scenario)
    table = allocation.table
    assert list(table.index) == [unit["code"] for unit in want["units"]]
    for unit in want["units"]:
        assert table.at[unit["code"], "name_zh"] == unit["name_zh"]
        for key in DATA_FIGURES:
            assert table.at[unit["code"], key] == pytest.approx(unit[key], **EXACT), (
                unit["code"],
                key,
            )
    for state, metrics in want["equity"].items():
        for name, value in metrics.items():
            assert allocation.equity[state][name].value == pytest.approx(value, **EXACT), (
                state,
                name,
            )


@pytest.mark.parametrize(("scenario", "method"), CASES)
def test_decisions_are_feasible(
    solved: dict[tuple[str, str], Allocation],
    data: FundData,
    scenario: str,
    method: str,
    zero: float,
) -> None:
    """Every constraint of the formulation, on the reported per-unit decisions."""
    allocation = solved[scenario, method]
    t, params = allocation.table, allocation.parameters
    units = data.units.loc[t.index]
    a = t["allocation_100m"].to_numpy()
    local = t["local_subsidy_100m"].to_numpy()
    central = t["central_subsidy_100m"].to_numpy()
    gap = t["unfunded_gap_100m"].to_numpy()
    contribution = t["contribution_100m"].to_numpy()
    rule = t["rule_allocation_100m"].to_numpy()
    for values in (a, local, central, gap):
        assert (values >= -zero).all()
    # the fund pays out what it raises
    assert a.sum() == pytest.approx(contribution.sum(), abs=zero)
    # closing = before − contribution + a + l + g, and full payment: closing + gap ≥ floor
    closing = t["before_balance_100m"].to_numpy() - contribution + a + local + central
    assert t["closing_balance_100m"].to_numpy() == pytest.approx(closing, abs=zero)
    shortfall = t["floor_100m"] - (t["closing_balance_100m"] + t["unfunded_gap_100m"])
    assert (shortfall <= zero).all(), shortfall[shortfall > zero]
    # local cap, local share, central budget
    assert (local <= units["local_subsidy_cap_100m"].to_numpy() + zero).all()
    share = units["min_local_share"].to_numpy()
    assert (local >= share * (local + central) - zero).all()
    assert central.sum() <= params.central_subsidy_budget_100m + zero
    # the band around the rule, or free transfers within the fund
    if params.max_rule_deviation is None:
        assert (a <= contribution.sum() + zero).all()
    else:
        assert (a >= (1 - params.max_rule_deviation) * rule - zero).all()
        assert (a <= (1 + params.max_rule_deviation) * rule + zero).all()


@pytest.mark.parametrize(("scenario", "method"), CASES)
def test_decisions_attain_the_pinned_levels(
    solved: dict[tuple[str, str], Allocation],
    scenario: str,
    method: str,
    zero: float,
    zero_months: float,
) -> None:
    """Each level recomputed from the per-unit figures lies between the pinned optimum and
    the optimum plus the tolerance it is held with, give or take round-off (``zero``)."""
    got = recomputed_levels(solved[scenario, method])
    for name, pinned in golden(scenario)["levels"].items():
        eps = zero_months if name == "imbalance" else zero
        low, high = pinned["objective"] - eps, pinned["objective"] + pinned["tolerance"] + eps
        assert low <= got[name] <= high, (name, got[name], pinned["objective"])


def write_golden_files() -> None:
    """Rewrite ``tests/golden`` from the current code (an intended change of results)."""
    data = read_workbook(SAMPLE)
    for scenario, name in SCENARIOS.items():
        record = golden_record(solve_scenario(data, data.scenario(scenario)))
        text = json.dumps(record, ensure_ascii=False, indent=2) + "\n"
        (GOLDEN / name).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    write_golden_files()
