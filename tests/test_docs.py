"""The documentation is tested against the code (docs/formulation.md's families)."""

from __future__ import annotations

import re
from pathlib import Path

import model.lp.formulation as formulation
from model.analysis.results import PROVINCE_JSON_KEYS
from model.lp.formulation import build_model, coefficients
from model.lp.rule import statutory_allocation
from model.workbook.scenarios import Parameters
from tests.fixtures_lp import make_data
from tests.workbooks import WORKED_EXAMPLE

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _families() -> dict[str, list[str]]:
    """family → the row components the docs name for it."""
    text = (DOCS / "formulation.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- families -->\n(.*?)<!-- /families -->", text, re.S)
    assert block, "docs/formulation.md has no families table"
    families = {}
    for line in block.group(1).splitlines()[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        families[cells[0].strip("`")] = re.findall(r"`([a-z_]+)(?:\[[a-z]\])?`", cells[1])
    return families


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
