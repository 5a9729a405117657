"""The documentation is tested against the code: docs/formulation.md's families (of a single
year and of the multi-year plan) and growth table, docs/outputs.md's JSON keys and plan
sheets."""

from __future__ import annotations

import re
from pathlib import Path

import pyomo.environ as pyo

import model.lp.formulation as formulation
import model.lp.plan as plan_lp
from model.analysis.plan import (
    DEPLETION_KEYS,
    PLAN_UNIT_YEAR_JSON_KEYS,
    PLAN_YEAR_JSON_KEYS,
    solve_plan,
)
from model.analysis.results import PROVINCE_JSON_KEYS
from model.export.plan import PLAN_SHEETS
from model.lp.formulation import build_model, coefficients
from model.lp.plan import build_plan_model, plan_coefficients
from model.lp.projection import GROWS_WITH, project
from model.lp.rule import statutory_allocation
from model.schema import OBJECTIVES
from model.workbook.scenarios import Parameters, Scenario
from tests.fixtures_lp import make_data
from tests.workbooks import WORKED_EXAMPLE

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _table(document: str, marker: str) -> list[list[str]]:
    """The body rows of the table between ``<!-- marker -->`` and ``<!-- /marker -->``, as
    lists of cells (the header and its rule left out)."""
    text = (DOCS / document).read_text(encoding="utf-8")
    block = re.search(rf"<!-- {marker} -->\n(.*?)<!-- /{marker} -->", text, re.S)
    assert block, f"docs/{document} has no {marker} table"
    return [
        [c.strip() for c in line.strip().strip("|").split("|")]
        for line in block.group(1).splitlines()[2:]
    ]


def _families(marker: str = "families") -> dict[str, list[str]]:
    """family → the row components the docs name for it (``rows[t,p]`` names ``rows``)."""
    return {
        cells[0].strip("`"): re.findall(r"`([a-z_]+)(?:\[[a-z,]+\])?`", cells[1])
        for cells in _table("formulation.md", marker)
    }


def test_every_documented_family_is_built_by_its_function() -> None:
    for family in _families():
        assert callable(getattr(formulation, f"add_{family}", None)), family


def test_every_family_in_the_code_is_documented() -> None:
    in_code = {name[4:] for name in dir(formulation) if name.startswith("add_")}
    assert in_code == set(_families())


def test_every_documented_row_exists_in_a_built_model() -> None:
    units = make_data(WORKED_EXAMPLE, Parameters(year=2020, contribution_ratio=0.04)).units
    built = {}
    for objective in ("maximin", "range", "mad"):
        params = Parameters(year=2020, contribution_ratio=0.04, objective=objective)
        coeffs = coefficients(units, params, statutory_allocation(units, params))
        built[objective] = build_model(coeffs, objective)
    for family, rows in _families().items():
        assert rows, family
        for row in rows:
            assert any(hasattr(m, row) for m in built.values()), (family, row)


def _plan_models() -> dict[str, pyo.ConcreteModel]:
    """The plan's LP for every objective, with every optional family present: a band, a
    return share, local shares and an optimised ratio path over three years."""
    params = Parameters(
        year=2020,
        contribution_ratio=0.04,
        max_rule_deviation=0.5,
        min_return_share=0.3,
        plan_end_year=2022,
        wage_growth=0.05,
        optimize_ratio_path="yes",
        ratio_max=0.06,
        ratio_step_max=0.005,
    )
    records = [unit | {"min_local_share": 0.3} for unit in WORKED_EXAMPLE]
    data = make_data(records, params)
    coeffs = plan_coefficients(project(data.units, params, data.horizon), params)
    return {objective: build_plan_model(coeffs, objective) for objective in OBJECTIVES}


def _constraints(model: pyo.ConcreteModel) -> set[str]:
    return {c.local_name for c in model.component_objects(pyo.Constraint, descend_into=False)}


def test_every_documented_plan_family_is_built_by_its_function() -> None:
    for family in _families("plan-families"):
        assert callable(getattr(plan_lp, f"add_{family}", None)), family


def test_every_plan_family_in_the_code_is_documented() -> None:
    in_code = {
        name[4:]
        for name, value in vars(plan_lp).items()
        if name.startswith("add_") and getattr(value, "__module__", None) == plan_lp.__name__
    }
    assert in_code == set(_families("plan-families"))


def test_the_documented_plan_rows_are_the_constraints_built() -> None:
    documented = {row for rows in _families("plan-families").values() for row in rows}
    assert all(_families("plan-families").values())
    built = _plan_models()
    for objective, model in built.items():
        assert _constraints(model) <= documented, objective
    assert set().union(*(_constraints(m) for m in built.values())) == documented


def test_the_documented_growth_is_the_projections() -> None:
    documented = {}
    for cells in _table("formulation.md", "growth"):
        drivers = set(re.findall(r"\b([a-z]+_growth)\b", cells[1]))
        for key in re.findall(r"`([a-z_0-9]+)`", cells[0]):
            documented[key] = drivers
    assert documented == {key: set(drivers) for key, drivers in GROWS_WITH.items()}


def _json_keys(block: str) -> list[str]:
    text = (DOCS / "outputs.md").read_text(encoding="utf-8")
    match = re.search(rf"<!-- json:{block} -->\n(.*?)<!-- /json:{block} -->", text, re.S)
    assert match, f"docs/outputs.md has no json:{block} table"
    return [line.split("|")[1].strip().strip("`") for line in match.group(1).splitlines()[2:]]


def test_the_documented_json_keys_are_the_ones_written() -> None:
    from tests.fixtures_lp import solve

    allocation = solve(WORKED_EXAMPLE)
    result = allocation.to_json()
    assert _json_keys("run") == list(result)
    assert _json_keys("province") == list(PROVINCE_JSON_KEYS)
    assert list(result["provinces"][0]) == list(PROVINCE_JSON_KEYS)


def test_the_documented_frontier_keys_are_the_ones_written() -> None:
    from model.analysis.frontier import FrontierPoint

    assert _json_keys("frontier") == list(FrontierPoint.__dataclass_fields__)


def test_the_documented_plan_keys_are_the_ones_written() -> None:
    params = Parameters(year=2020, contribution_ratio=0.04, plan_end_year=2022)
    result = solve_plan(make_data(WORKED_EXAMPLE, params), Scenario("test", params)).to_json()
    assert _json_keys("plan") == list(result)
    assert _json_keys("plan-year") == list(result["years"][0]) == ["year", *PLAN_YEAR_JSON_KEYS]
    unit = result["units"][0]
    assert _json_keys("plan-unit") == list(unit)
    assert [key for key in unit if key.startswith("depletion_year_")] == list(DEPLETION_KEYS)
    assert _json_keys("plan-unit-year") == list(unit["years"][0])
    assert _json_keys("plan-unit-year") == ["year", *PLAN_UNIT_YEAR_JSON_KEYS]
    assert _json_keys("plan-national") == list(result["national"])
    assert _json_keys("plan-ratio") == list(result["ratio_path"][0])


def test_the_documented_plan_sheets_are_the_ones_written() -> None:
    sheets = [cells[0].strip("`") for cells in _table("outputs.md", "sheets:plan")]
    assert sheets == list(PLAN_SHEETS)
