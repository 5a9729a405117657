"""The sample's results are pinned: speed work and refactors must not change the answer.

The JSON files under ``tests/golden`` were written by ``caf run`` on the shipped sample
(base scenario and ``band_20``). Regenerate them only for an intended change of results,
and say so in the commit.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from model.inputs import read_workbook
from model.runner import solve_scenario

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden"
MONEY = {"rel": 1e-6, "abs": 1e-4}


@pytest.mark.parametrize(
    ("scenario", "golden"),
    [("base", "sample_2020_base.json"), ("band_20", "sample_2020_band_20.json")],
)
def test_sample_result_matches_the_saved_json(scenario: str, golden: str) -> None:
    expected = json.loads((GOLDEN / golden).read_text(encoding="utf-8"))
    data = read_workbook(ROOT / "inputs" / "sample_2020.xlsx")
    actual = solve_scenario(data, data.scenario(scenario)).to_json()
    assert actual["status"] == expected["status"]
    assert actual["parameters"] == expected["parameters"]
    assert actual["totals"] == pytest.approx(expected["totals"], **MONEY)
    assert len(actual["provinces"]) == len(expected["provinces"])
    for got, want in zip(actual["provinces"], expected["provinces"], strict=True):
        assert got["code"] == want["code"]
        for key, value in want.items():
            if isinstance(value, float):
                assert got[key] == pytest.approx(value, **MONEY), (want["code"], key)
            else:
                assert got[key] == value
    for state, metrics in expected["equity"].items():
        for name, value in metrics.items():
            assert actual["equity"][state][name] == pytest.approx(value, rel=1e-6, abs=1e-6)
