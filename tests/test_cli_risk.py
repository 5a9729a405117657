"""``caf risk``: exit codes as ``compare``, the JSON contract, and located input errors before
any Dask worker starts."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from model.cli import main
from model.lp.shocks import SD_KEYS
from tests.workbooks import write_workbook

UNITS = [
    {
        "code": "A",
        "name_zh": "甲",
        "region": "East",
        "avg_wage_yuan": 100_000,
        "insured_employees_10k": 100,
        "retirees_10k": 10,
        "opening_balance_100m": 15,
        "contribution_income_100m": 90,
        "expenditure_100m": 100,
    },
    {
        "code": "B",
        "name_zh": "乙",
        "region": "East",
        "avg_wage_yuan": 100_000,
        "insured_employees_10k": 100,
        "retirees_10k": 10,
        "opening_balance_100m": 1000,
        "contribution_income_100m": 300,
        "expenditure_100m": 100,
    },
]
PARAMETERS: dict[str, Any] = {
    "year": 2020,
    "contribution_ratio": 0.02,
    "wage_base_share": 1.0,
    "plan_end_year": 2022,
    "wage_growth_sd": 0.1,
    "insured_growth_sd": 0,
    "retiree_growth_sd": 0,
    "benefit_growth_sd": 0,
    "draws": 30,
}
UNIT_KEYS = {"code", "name_zh", "gap_probability"} | {
    f"depletion_by_year_{regime}" for regime in ("before", "rule", "plan")
}


def risk(tmp_path: Path, *extra: str, parameters: dict[str, Any] | None = None) -> tuple[int, str]:
    source = write_workbook(tmp_path / "in.xlsx", UNITS, parameters or PARAMETERS)
    err = io.StringIO()
    argv = ["risk", str(source), "-o", str(tmp_path / "risk.xlsx"), *extra]
    code = main(argv, out=io.StringIO(), err=err)
    return code, err.getvalue()


@pytest.fixture(scope="module")
def answered(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, dict[str, Any], Path]:
    folder = tmp_path_factory.mktemp("risk")
    code, err = risk(folder, "--json", str(folder / "risk.json"), "--workers", "2", "--seed", "5")
    assert code in (0, 3), err
    return code, json.loads((folder / "risk.json").read_text()), folder


def test_the_json_carries_the_sample_and_every_figure(
    answered: tuple[int, dict[str, Any], Path],
) -> None:
    code, result, folder = answered
    assert (folder / "risk.xlsx").is_file()
    assert result["draws"] == 30 and result["seed"] == 5
    assert set(result["growth_sd"]) == set(SD_KEYS)
    assert result["engine"] == "dask" and result["workers"] == 2 and result["dask_version"]
    (scenario,) = result["scenarios"]
    assert scenario["solved_draws"] == 30 and scenario["failed_draws"] == []
    assert set(scenario["money"]) == {
        "local_subsidy_100m",
        "central_subsidy_100m",
        "total_subsidy_100m",
        "unfunded_gap_100m",
    }
    assert set(scenario["money"]["total_subsidy_100m"]) == {"mean", "p5", "p50", "p95"}
    assert sum(d["probability"] for d in scenario["national_depletion"]) == pytest.approx(1)
    assert [y["year"] for y in scenario["national_balance"]] == [2020, 2021, 2022]
    for unit in scenario["units"]:
        assert set(unit) == UNIT_KEYS
        by_year = [p["probability"] for p in unit["depletion_by_year_before"]]
        assert by_year == sorted(by_year)  # cumulative: never falls
    assert result["ranking"][0]["rank"] == 1
    assert code == (3 if result["scenarios"][0]["gap_probability"] > 0 else 0)


@pytest.mark.parametrize(
    ("extra", "where"),
    [
        (("--draws", "0"), "--draws/--seed draws"),
        (("--sweep", "objective=best"), "--sweep objective"),
    ],
)
def test_bad_options_are_located_input_errors(
    tmp_path: Path, extra: tuple[str, ...], where: str
) -> None:
    code, err = risk(tmp_path, *extra)
    assert code == 2
    assert err.startswith(where), err
    assert not (tmp_path / "risk.xlsx").exists()


def test_a_workbook_without_a_horizon_is_refused_before_any_worker(tmp_path: Path) -> None:
    parameters = {k: v for k, v in PARAMETERS.items() if k != "plan_end_year"}
    code, err = risk(tmp_path, parameters=parameters)
    assert code == 2
    assert "plan_end_year" in err
    assert not (tmp_path / "risk.xlsx").exists()


def test_an_output_over_the_input_is_refused(tmp_path: Path) -> None:
    source = write_workbook(tmp_path / "in.xlsx", UNITS, PARAMETERS)
    before = source.read_bytes()
    code = main(["risk", str(source), "-o", str(source), "--force"], io.StringIO(), io.StringIO())
    assert code == 2 and source.read_bytes() == before


def test_the_documented_risk_keys_are_the_ones_written(
    answered: tuple[int, dict[str, Any], Path],
) -> None:
    from tests.test_docs import _json_keys

    _, result, _ = answered
    assert _json_keys("risk") == list(result)
    scenario = result["scenarios"][0]
    assert _json_keys("risk-scenario") == list(scenario)
    assert _json_keys("risk-unit") == list(scenario["units"][0])
