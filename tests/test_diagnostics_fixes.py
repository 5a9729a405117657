"""Each change the diagnostics say "would close" a gap does, when re-solved.

``diagnostics.gap_lines`` lists, for every unit left short, input changes of which "any
one of these would close it", and one change that "would close every gap at once". Here
each listed change is read back from the English line (the cell it names and the figure
it gives, as a planner would type it), applied alone to the data or the parameters, and
the scenario re-solved with ``runner.solve_scenario``:

- a unit's change must take at least that unit's gap off the least total gap (with one
  unit short, the gap is then zero): adding the unit's shortfall to it keeps the old
  answer feasible, so the least total can only fall that far or further;
- the change for every gap must leave no gap.

"Zero" is ``solve.negligible`` at the changed data's money scale.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from dataclasses import dataclass
from typing import Any

import pytest

from model.analysis import diagnostics
from model.analysis.results import Allocation
from model.analysis.runner import solve_scenario
from model.lp.solve import negligible
from model.schema import PARAMETER_FIELDS, PROVINCE_FIELDS
from model.workbook import reader
from model.workbook.reader import FundData, read_workbook
from model.workbook.scenarios import Scenario
from tests.conftest import SAMPLE
from tests.fixtures_lp import make_data, parameters, unit

UNIT = re.compile(r"\(code (?P<code>[^)]+)\) is short of (?P<gap>[-\d,.]+)亿")
CELL = r"\((?P<cell>provinces![A-Z]+|parameters![A-Z]+\d+)\d*(?:, row of [^)]*)?\)"
"""The cell a line names: a provinces column (the unit is the line's) or a parameter."""
NUMBER = r"[-\d,.]+"
FIX = re.compile(
    rf"^· (?:or )?(?P<verb>raise|lower|widen) .*?{CELL} "
    rf"(?:from (?P<old>{NUMBER})(?:亿)? to (?:at least )?(?P<new>{NUMBER})|by (?P<by>{NUMBER}))"
)
EVERY_GAP = re.compile(rf"^Raising .*?{CELL} from (?P<old>{NUMBER})亿 to (?P<new>{NUMBER})亿")
NOT_A_FIX = ("· even setting",)


@dataclass(frozen=True)
class Fix:
    """One listed change, of a unit's input row (``row``) or of a parameter (``row`` None)."""

    line: str
    key: str
    value: float
    row: str | None
    unit: str | None
    """The unit whose gap it claims to close, or None for the line for every gap."""
    closes: float
    """The gap it claims to close: the unit's gap, or the total for the every-gap line."""


def number(text: str) -> float:
    return float(text.replace(",", ""))


def cell_keys(data: FundData) -> dict[str, str]:
    """``provinces!N`` or ``parameters!B8`` → key, as the diagnostics name the cells."""
    keys = {reader.province_cell(f.key, data.source): f.key for f in PROVINCE_FIELDS}
    for field in PARAMETER_FIELDS:
        keys[reader.parameter_cell(field.key, data.source)] = field.key
    return keys


def current(data: FundData, scenario: Scenario, key: str, code: str | None) -> float:
    if code is None:
        return float(getattr(scenario.parameters, key) or 0.0)
    return float(data.units.at[code, key])


def listed_fixes(data: FundData, scenario: Scenario, allocation: Allocation) -> list[Fix]:
    """Every change ``gap_lines`` lists, read from its English line."""
    keys, fixes, code, gap = cell_keys(data), [], None, 0.0
    for _, line in diagnostics.gap_lines(allocation):
        if found := UNIT.search(line):
            code, gap = found["code"], number(found["gap"])
        elif found := EVERY_GAP.match(line):
            key = keys[found["cell"]]
            assert number(found["old"]) == pytest.approx(current(data, scenario, key, None))
            total = allocation.totals["unfunded_gap_100m"]
            fixes.append(Fix(line, key, number(found["new"]), None, None, total))
        elif line.startswith("· ") and not line.startswith(NOT_A_FIX):
            found = FIX.match(line)
            assert found, f"a listed change this test cannot read: {line}"
            key = keys[found["cell"]]
            target = code if key in data.units.columns else None
            was = current(data, scenario, key, target)
            if found["by"] is not None:
                sign = 1.0 if found["verb"] == "raise" else -1.0
                value = was + sign * number(found["by"])
            else:
                assert number(found["old"]) == pytest.approx(was, abs=0.005), line
                value = number(found["new"])
            fixes.append(Fix(line, key, value, target, code, gap))
    return fixes


def apply(data: FundData, scenario: Scenario, fix: Fix) -> tuple[FundData, Scenario]:
    """The data and scenario with this one change made."""
    if fix.row is None:
        policy = dataclasses.replace(scenario.parameters, **{fix.key: fix.value})
        return data, Scenario(f"{scenario.name} + fix", policy)
    units = data.units.copy()
    units.at[fix.row, fix.key] = fix.value
    return dataclasses.replace(data, units=units), scenario


# --- the gap scenarios -------------------------------------------------------------------


def sample(name: str, caps: float = 1.0, **policy: Any) -> tuple[FundData, Scenario]:
    """A scenario of the shipped sample, with every local cap scaled by ``caps``."""
    data = read_workbook(SAMPLE)
    scenario = data.scenario(name)
    units = data.units.copy()
    units["local_subsidy_cap_100m"] *= caps
    params = dataclasses.replace(scenario.parameters, **policy)
    return dataclasses.replace(data, units=units), Scenario(name, params)


def one_short(share: float = 0.0) -> tuple[FundData, Scenario]:
    """B (K = 10, floor 60) gets at most 44 within the ±10% band, 2 of local and 1 of
    central subsidy: 3 short. Every kind of change applies to it."""
    records = [
        unit("A", contribution=100, before=1000, opening=500),
        unit("B", contribution=10, before=20, expenditure=240, opening=50, cap=2, share=share),
        unit("C", contribution=10, before=60, opening=50),
    ]
    policy = parameters(
        reserve_months_floor=3.0, max_rule_deviation=0.1, central_subsidy_budget_100m=1.0
    )
    return make_data(records, policy), Scenario("one_short", policy)


SCENARIOS = {
    "sample_rule_only": lambda: sample("rule_only"),
    "sample_rule_only_budget_50": lambda: sample("rule_only", central_subsidy_budget_100m=50.0),
    "sample_band_20_half_caps_no_budget": lambda: sample(
        "band_20", caps=0.5, central_subsidy_budget_100m=0.0
    ),
    "one_short": one_short,
    "one_short_local_share_half": lambda: one_short(share=0.5),
}


@functools.cache
def cases() -> tuple[Any, ...]:
    """One case per listed change in every scenario (solved once, at collection)."""
    out = []
    for name, build in SCENARIOS.items():
        data, scenario = build()
        allocation = solve_scenario(data, scenario)
        assert allocation.status == "unfunded_gap", name
        for fix in listed_fixes(data, scenario, allocation):
            label = f"{name}-{fix.unit or 'every_gap'}-{fix.key}"
            gap = allocation.totals["unfunded_gap_100m"]
            out.append(pytest.param(name, fix, gap, id=label))
    return tuple(out)


@pytest.mark.parametrize(("name", "fix", "gap_before"), cases())
def test_each_listed_change_closes_its_gap(name: str, fix: Fix, gap_before: float) -> None:
    data, scenario = apply(*SCENARIOS[name](), fix)
    after = solve_scenario(data, scenario)
    zero = negligible(float(data.units["expenditure_100m"].abs().sum()))
    left = after.totals["unfunded_gap_100m"]
    assert left <= gap_before - fix.closes + zero, (fix.line, gap_before, left)


def test_a_central_budget_that_local_matching_blocks_is_not_offered() -> None:
    """With a 50% local share and the local subsidy at its cap, central money cannot reach
    the unit, so no line may say a larger central budget would close its gap."""
    data, scenario = one_short(share=0.5)
    allocation = solve_scenario(data, scenario)
    keys = {fix.key for fix in listed_fixes(data, scenario, allocation)}
    assert "central_subsidy_budget_100m" not in keys
    lines = [en for _, en in diagnostics.gap_lines(allocation)]
    assert any("cannot close every gap" in line for line in lines)
    assert any("a larger central budget alone would not close" in line for line in lines)


def test_the_hand_scenario_lists_every_kind_of_change() -> None:
    """The cases above cover each kind of line the diagnostics write."""
    keys = {(case.values[0], case.values[1].key) for case in cases()}
    assert {key for name, key in keys if name == "one_short"} == {
        "local_subsidy_cap_100m",
        "expenditure_100m",
        "contribution_income_100m",
        "opening_balance_100m",
        "central_subsidy_budget_100m",
        "reserve_months_floor",
        "max_rule_deviation",
    }
