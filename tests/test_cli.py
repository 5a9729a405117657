"""The command line's contracts: the JSON result's keys, exit codes, the progress bar."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from model.cli import _progress_bar, main

SAMPLE = Path(__file__).resolve().parent.parent / "inputs" / "sample_2020.xlsx"

TOP_KEYS = {"scenario", "status", "parameters", "totals", "provinces", "equity"}
FRONTIER_KEYS = {"imbalance", "rule_distance_100m", "moved_100m", "lowest_months", "contributors"}
TOTAL_KEYS = {"fund_100m", "unfunded_gap_100m", "local_subsidy_100m", "central_subsidy_100m"}
PROVINCE_KEYS = {
    "code",
    "name_zh",
    "contribution_100m",
    "rule_allocation_100m",
    "allocation_100m",
    "net_transfer_100m",
    "local_subsidy_100m",
    "central_subsidy_100m",
    "unfunded_gap_100m",
    "closing_balance_100m",
    "months_before",
    "months_rule",
    "months_optimized",
    "full_payment_dual",
}
PARAMETER_KEYS = {
    "year",
    "contribution_ratio",
    "wage_base_share",
    "reserve_months_floor",
    "objective",
    "max_rule_deviation",
    "central_subsidy_budget_100m",
    "min_return_share",
    "standard_contribution_rate",
    "plan_end_year",
    "wage_growth",
    "insured_growth",
    "retiree_growth",
    "benefit_growth",
    "optimize_ratio_path",
    "ratio_max",
    "ratio_step_max",
    "draws",
    "seed",
    "shock_correlation",
    "wage_growth_sd",
    "insured_growth_sd",
    "retiree_growth_sd",
    "benefit_growth_sd",
}


def test_run_json_has_exactly_the_interface_keys(tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    assert main(["run", str(SAMPLE), "-o", str(tmp_path / "a.xlsx"), "--json", str(out)]) == 0
    result = json.loads(out.read_text(encoding="utf-8"))
    assert set(result) == TOP_KEYS | {"frontier"}  # caf run --json adds the frontier
    assert set(result["frontier"][0]) == FRONTIER_KEYS
    assert result["scenario"] == "base" and result["status"] == "full_payment"
    assert set(result["parameters"]) == PARAMETER_KEYS
    assert set(result["totals"]) == TOTAL_KEYS
    assert len(result["provinces"]) == 32
    assert all(set(p) == PROVINCE_KEYS for p in result["provinces"])
    assert all(isinstance(p["code"], str) for p in result["provinces"])
    assert set(result["equity"]) == {"before", "rule", "optimized"}
    # Each allocation is cleaned of solver round-off (a crumb of 0.0001亿 is reported as 0),
    # so the fund balances within those crumbs: far below what any report shows.
    fund = sum(p["allocation_100m"] for p in result["provinces"])
    assert fund == pytest.approx(result["totals"]["fund_100m"], rel=1e-7)


def test_compare_json_wraps_one_result_per_scenario(tmp_path: Path) -> None:
    out = tmp_path / "compare.json"
    code = main(["compare", str(SAMPLE), "-o", str(tmp_path / "c.xlsx"), "--json", str(out)])
    result = json.loads(out.read_text(encoding="utf-8"))
    assert set(result) == {"scenarios"}
    names = [s["scenario"] for s in result["scenarios"]]
    assert names == [
        "base",
        "ratio_4.5",
        "band_20",
        "reserve_3m",
        "rule_only",
        "free_maximin",
        "optimised_path",
    ]
    # each compare object is a run's, led by its overrides: a swept name is a short label
    assert all(list(s)[:2] == ["scenario", "overrides"] for s in result["scenarios"])
    assert all(set(s) == TOP_KEYS | {"overrides"} for s in result["scenarios"])
    overrides = {s["scenario"]: s["overrides"] for s in result["scenarios"]}
    assert overrides["base"] == {} and overrides["ratio_4.5"] == {"contribution_ratio": 0.045}
    statuses = {s["scenario"]: s["status"] for s in result["scenarios"]}
    assert code == (3 if "unfunded_gap" in statuses.values() else 0)


def test_run_scenario_and_set_are_applied(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    assert (
        main(
            [
                "run",
                str(SAMPLE),
                "-o",
                str(tmp_path / "r.xlsx"),
                "--json",
                str(out),
                "--scenario",
                "ratio_4.5",
                "--set",
                "objective=range",
            ]
        )
        == 0
    )
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["scenario"] == "ratio_4.5"
    assert result["parameters"]["contribution_ratio"] == 0.045
    assert result["parameters"]["objective"] == "range"


def test_unknown_scenario_is_an_input_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", str(SAMPLE), "-o", str(tmp_path / "r.xlsx"), "--scenario", "nope"]) == 2
    assert 'found no scenario named "nope"' in capsys.readouterr().err
    assert not (tmp_path / "r.xlsx").exists()


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_is_quiet_off_a_terminal() -> None:
    assert _progress_bar(io.StringIO()) is None


def test_progress_bar_draws_on_a_terminal() -> None:
    stream = _Terminal()
    show = _progress_bar(stream)
    assert show is not None
    show(10, 40)
    show(40, 40)
    text = stream.getvalue()
    assert "10/40 scenarios" in text and "40/40 scenarios\n" in text
    assert "#" * 30 in text


def test_outputs_are_checked_before_anything_is_written(tmp_path: Path) -> None:
    out = tmp_path / "a.xlsx"
    missing = tmp_path / "no_such_folder" / "a.json"
    assert main(["run", str(SAMPLE), "-o", str(out), "--json", str(missing)]) == 2
    assert not out.exists()
    assert main(["run", str(SAMPLE), "-o", str(out), "--json", str(out), "--force"]) == 2
    assert not out.exists()
    assert main(["run", str(SAMPLE), "-o", str(tmp_path), "--force"]) == 2
    assert list(tmp_path.iterdir()) == []


def test_outputs_are_readable_like_any_saved_file(tmp_path: Path) -> None:
    import os
    import stat

    out = tmp_path / "a.xlsx"
    assert main(["run", str(SAMPLE), "-o", str(out)]) == 0
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~umask


def test_caf_run_imports_no_web_stack(tmp_path: Path) -> None:
    """`caf run` must not pay for the web interface: FastAPI, Starlette, uvicorn and Jinja
    stay unimported (benchmarks/national.py measures what is left); nor for scipy (over a
    second to load), which only the tests' cross-check uses: the route to HiGHS walks the
    model with Pyomo's expression visitor, not its scipy-based standard-form compiler."""
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from model.cli import main\n"
        f"code = main(['run', {str(SAMPLE)!r}, '-o', {str(tmp_path / 'a.xlsx')!r}])\n"
        "heavy = sorted(m for m in ('fastapi', 'starlette', 'uvicorn', 'jinja2', 'scipy')"
        " if m in sys.modules)\n"
        "print(code, ','.join(heavy))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip().splitlines()[-1] == "0"


def test_compare_shows_progress_only_on_a_terminal(tmp_path: Path) -> None:
    floors = ",".join(str(m) for m in range(21))
    args = [
        "compare",
        str(SAMPLE),
        "-o",
        str(tmp_path / "a.xlsx"),
        "--workers",
        "1",
        "--sweep",
        f"reserve_months_floor={floors}",
    ]
    terminal = _Terminal()
    assert main(args, out=io.StringIO(), err=terminal) in (0, 3)
    assert "22/22 scenarios\n" in terminal.getvalue()
    quiet = io.StringIO()
    assert main([*args, "--force"], out=io.StringIO(), err=quiet) in (0, 3)
    assert quiet.getvalue() == ""
