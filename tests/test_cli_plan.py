"""``caf plan``: exit codes, the JSON contract, and no output on bad input."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import openpyxl

from model.cli import EXIT_GAP, EXIT_INPUT, EXIT_OK, main

SAMPLE = Path(__file__).resolve().parent.parent / "inputs" / "sample_2020.xlsx"

PLAN_KEYS = {"scenario", "status", "parameters", "ratio_path", "years", "units", "national"}
YEAR_KEYS = {
    "year",
    "fund_100m",
    "local_subsidy_100m",
    "central_subsidy_100m",
    "unfunded_gap_100m",
    "national_closing_100m",
    "national_current_balance_100m",
}
UNIT_KEYS = {
    "code",
    "name_zh",
    "depletion_year_before",
    "depletion_year_rule",
    "depletion_year_plan",
    "years",
}
UNIT_YEAR_KEYS = {
    "year",
    "allocation_100m",
    "rule_allocation_100m",
    "local_subsidy_100m",
    "central_subsidy_100m",
    "unfunded_gap_100m",
    "closing_balance_100m",
    "months_optimized",
}


def run(*argv: str) -> tuple[int, str, str]:
    out, err = StringIO(), StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_plan_json_has_exactly_the_interface_keys(tmp_path: Path) -> None:
    out, js = tmp_path / "plan.xlsx", tmp_path / "plan.json"
    code, text, err = run(
        "plan", str(SAMPLE), "-o", str(out), "--json", str(js), "--set", "plan_end_year=2022"
    )
    assert code in (EXIT_OK, EXIT_GAP), err
    result = json.loads(js.read_text(encoding="utf-8"))
    assert set(result) == PLAN_KEYS
    assert [r["year"] for r in result["ratio_path"]] == [2020, 2021, 2022]
    assert [r["contribution_ratio"] for r in result["ratio_path"]] == [0.04, 0.045, 0.045]
    assert all(set(y) == YEAR_KEYS for y in result["years"])
    assert len(result["units"]) == 32
    for unit in result["units"]:
        assert set(unit) == UNIT_KEYS
        assert all(set(y) == UNIT_YEAR_KEYS for y in unit["years"])
        for key in ("depletion_year_before", "depletion_year_rule", "depletion_year_plan"):
            assert unit[key] is None or 2020 <= unit[key] <= 2022
    assert set(result["national"]) == {"depletion_year", "first_current_deficit_year"}
    assert result["status"] in ("full_payment", "unfunded_gap")
    assert (code == EXIT_GAP) == (result["status"] == "unfunded_gap")
    assert openpyxl.load_workbook(out, read_only=True).sheetnames[0] == "summary"
    assert "规划期 2020–2022" in text and "Plan 2020–2022 (3 years)" in text


def test_a_one_year_plan_without_gap_exits_0(tmp_path: Path) -> None:
    code, _, err = run(
        "plan", str(SAMPLE), "-o", str(tmp_path / "p.xlsx"), "--set", "plan_end_year=2020"
    )
    assert code == EXIT_OK, err


def test_a_plan_with_a_gap_exits_3(tmp_path: Path) -> None:
    code, text, _ = run(
        "plan",
        str(SAMPLE),
        "-o",
        str(tmp_path / "p.xlsx"),
        "--set",
        "plan_end_year=2030",
        "--set",
        "benefit_growth=0.08",
    )
    assert code == EXIT_GAP
    assert "cannot pay in full" in text


def test_no_horizon_is_bad_input_with_no_output(tmp_path: Path) -> None:
    out = tmp_path / "p.xlsx"
    code, _, err = run("plan", str(SAMPLE), "-o", str(out), "--set", "plan_end_year=")
    assert code == EXIT_INPUT
    assert "plan_end_year" in err and "Traceback" not in err
    assert not out.exists()


def test_an_optimised_path_without_bounds_is_bad_input(tmp_path: Path) -> None:
    out = tmp_path / "p.xlsx"
    code, _, err = run(
        "plan",
        str(SAMPLE),
        "-o",
        str(out),
        "--set",
        "plan_end_year=2025",
        "--set",
        "optimize_ratio_path=yes",
    )
    assert code == EXIT_INPUT
    assert "ratio_max" in err and not out.exists()


def test_a_plan_end_before_the_base_year_is_bad_input(tmp_path: Path) -> None:
    code, _, err = run(
        "plan", str(SAMPLE), "-o", str(tmp_path / "p.xlsx"), "--set", "plan_end_year=2019"
    )
    assert code == EXIT_INPUT and "plan_end_year" in err
