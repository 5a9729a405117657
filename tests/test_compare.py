"""Comparison runs: sweeps, the scenarios sheet, parallel solving and the workbook."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from openpyxl import load_workbook

from model.analysis import batch
from model.analysis.batch import run_comparison
from model.analysis.comparison import Comparison
from model.cli import main
from model.errors import InputError
from model.export.comparison import COMPARISON_SHEETS, write_comparison_workbook
from model.vocabulary import FIGURES
from model.workbook.reader import FundData, read_workbook
from model.workbook.scenarios import sweep_scenarios

SAMPLE = Path(__file__).resolve().parent.parent / "inputs" / "sample_2020.xlsx"


@pytest.fixture(scope="module")
def sample() -> FundData:
    return read_workbook(SAMPLE)


@pytest.fixture(scope="module")
def ratio_sweep(sample: FundData) -> Comparison:
    ratios = ",".join(f"{0.030 + 0.002 * i:.3f}" for i in range(11))
    return run_comparison(
        sample, sweep_scenarios(sample.parameters, [f"contribution_ratio={ratios}"])
    )


def test_sweep_point_equals_a_single_run(tmp_path: Path) -> None:
    run_json, compare_json = tmp_path / "run.json", tmp_path / "compare.json"
    code_run = main(
        [
            "run",
            str(SAMPLE),
            "-o",
            str(tmp_path / "run.xlsx"),
            "--json",
            str(run_json),
            "--set",
            "contribution_ratio=0.045",
            "--set",
            "max_rule_deviation=0.2",
        ]
    )
    code_compare = main(
        [
            "compare",
            str(SAMPLE),
            "-o",
            str(tmp_path / "c.xlsx"),
            "--json",
            str(compare_json),
            "--sweep",
            "contribution_ratio=0.035,0.045",
            "--sweep",
            "max_rule_deviation=0.2",
            "--workers",
            "2",
        ]
    )
    assert code_run in (0, 3) and code_compare in (0, 3)
    single = json.loads(run_json.read_text(encoding="utf-8"))
    scenarios = json.loads(compare_json.read_text(encoding="utf-8"))["scenarios"]
    point = next(s for s in scenarios if s["scenario"] == "上解 4.5% · 区间 20%")
    assert point["parameters"] == single["parameters"]
    assert point["totals"] == pytest.approx(single["totals"], rel=1e-6, abs=1e-6)
    for a, b in zip(point["provinces"], single["provinces"], strict=True):
        assert a["code"] == b["code"]
        assert a["allocation_100m"] == pytest.approx(b["allocation_100m"], rel=1e-5, abs=1e-4)
        assert a["months_optimized"] == pytest.approx(b["months_optimized"], rel=1e-5, abs=1e-5)


def test_free_transfers_need_no_more_money_as_the_ratio_rises(ratio_sweep: Comparison) -> None:
    table = ratio_sweep.kpi_table().sort_values("contribution_ratio")
    need = (table["unfunded_gap_100m"] + table["total_subsidy_100m"]).to_numpy()
    assert all(later <= earlier + 1e-4 for earlier, later in itertools.pairwise(need))
    funds = table["fund_100m"].to_numpy()
    assert all(later >= earlier for earlier, later in itertools.pairwise(funds))


def test_scenarios_sheet_gives_one_result_per_named_row(sample: FundData) -> None:
    comparison = run_comparison(sample, list(sample.scenarios), workers=1)
    assert comparison.names == [s.name for s in sample.scenarios]
    assert comparison.names[0] == "base"
    by_name = {a.scenario: a for a in comparison.allocations}
    assert by_name["ratio_4.5"].parameters.contribution_ratio == 0.045
    rule_only = by_name["rule_only"]
    assert (
        rule_only.table["allocation_100m"] - rule_only.table["rule_allocation_100m"]
    ).abs().max() < 1e-3


def test_parallel_equals_serial(sample: FundData) -> None:
    scenarios = sweep_scenarios(
        sample.parameters, ["reserve_months_floor=0,1,2,3,4", "objective=maximin,mad"]
    )
    serial = run_comparison(sample, scenarios, workers=1)
    parallel = run_comparison(sample, scenarios, workers=2)
    assert serial.names == parallel.names
    for a, b in zip(serial.allocations, parallel.allocations, strict=True):
        assert a.totals == pytest.approx(b.totals, rel=1e-7, abs=1e-5)


def test_a_worker_builds_each_model_once_for_all_its_chunks(sample: FundData) -> None:
    """A worker process keeps one Runner across the chunks it is given: a model structure
    is built and compiled once per process, not once per chunk."""
    scenarios = sweep_scenarios(
        sample.parameters, ["reserve_months_floor=0,1,2,3", "objective=maximin,mad"]
    )
    batch._start_worker(sample)
    try:
        runner = batch._runner
        assert runner is not None
        first = batch._solve_chunk(scenarios[:3])
        solvers = dict(runner._solvers)
        second = batch._solve_chunk(scenarios[3:])
        assert batch._runner is runner
        assert set(runner._solvers) == {"maximin", "mad"}
        assert all(runner._solvers[k] is v for k, v in solvers.items())
        assert [a.scenario for a in first + second] == [s.name for s in scenarios]
    finally:
        batch._runner = None


def test_progress_is_reported_for_every_scenario(sample: FundData) -> None:
    seen: list[tuple[int, int]] = []
    scenarios = sweep_scenarios(sample.parameters, ["reserve_months_floor=0,1,2"])
    run_comparison(sample, scenarios, workers=1, progress=lambda d, t: seen.append((d, t)))
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]


def test_diff_lists_changes_largest_first(ratio_sweep: Comparison) -> None:
    name = ratio_sweep.names[-1]
    diff = ratio_sweep.diff(name)
    assert not diff.empty
    changes = diff["change"].abs().to_numpy()
    assert all(a >= b for a, b in itertools.pairwise(changes))
    assert set(diff["figure"]) <= {
        "net_transfer_100m",
        "local_subsidy_100m",
        "central_subsidy_100m",
        "unfunded_gap_100m",
        "months_optimized",
    }


def test_comparison_workbook_reads_back(ratio_sweep: Comparison, tmp_path: Path) -> None:
    path = write_comparison_workbook(ratio_sweep, tmp_path / "compare.xlsx")
    book = load_workbook(path)
    assert tuple(book.sheetnames) == COMPARISON_SHEETS
    assert len(book["charts"]._charts) == 2
    kpi = book["kpi"]
    assert kpi.cell(row=1, column=1).value == "指标 Metric"
    names = [kpi.cell(row=1, column=c).value for c in range(3, 3 + len(ratio_sweep.names))]
    assert names == ratio_sweep.names
    matrix = book["net_transfer"]
    assert matrix["A1"].value == FIGURES["net_transfer_100m"].header
    header = [c.value for c in matrix[2]]
    assert header[:2] == ["代码 Code", "名称 Name"] and header[2:] == ratio_sweep.names
    guangdong = next(r for r in matrix.iter_rows(min_row=3, values_only=True) if r[0] == "44")
    expected = ratio_sweep.allocations[3].table.at["44", "net_transfer_100m"]
    assert guangdong[5] == pytest.approx(expected)


def test_compare_exits_3_when_a_scenario_leaves_a_gap(tmp_path: Path) -> None:
    out = tmp_path / "c.xlsx"
    assert (
        main(
            [
                "compare",
                str(SAMPLE),
                "-o",
                str(out),
                "--sweep",
                "max_rule_deviation=0",
                "--sweep",
                "central_subsidy_budget_100m=0",
            ]
        )
        == 3
    )
    assert out.exists()


def test_sweep_rejects_unknown_keys_and_bad_values(sample: FundData) -> None:
    with pytest.raises(InputError, match="unknown parameter key"):
        sweep_scenarios(sample.parameters, ["ratio=0.1"])
    with pytest.raises(InputError, match="looks like a percentage"):
        sweep_scenarios(sample.parameters, ["contribution_ratio=0.04,4.5"])
    with pytest.raises(InputError, match="found no values"):
        sweep_scenarios(sample.parameters, ["objective="])


def test_sweep_is_a_cartesian_product_after_the_base(sample: FundData) -> None:
    scenarios = sweep_scenarios(
        sample.parameters, ["contribution_ratio=0.035,0.045", "objective=range,mad,maximin"]
    )
    assert len(scenarios) == 7
    assert scenarios[0].name == "base"
    assert scenarios[1].parameters.contribution_ratio == 0.035
    assert scenarios[1].parameters.objective == "range"


def test_scenario_names_stay_harmless_text(tmp_path: Path) -> None:
    """A scenario named like a formula is a header in every matrix: it must stay text."""
    from tests.workbooks import WORKED_EXAMPLE, WORKED_PARAMETERS, write_workbook

    evil = '=HYPERLINK("http://x","y")'
    path = write_workbook(tmp_path / "in.xlsx", WORKED_EXAMPLE, WORKED_PARAMETERS)
    book = load_workbook(path)
    sheet = book.create_sheet("scenarios")
    sheet.append(["scenario", "contribution_ratio"])
    sheet.append([evil, 0.045])
    sheet["A2"].data_type = "s"
    book.save(path)
    data = read_workbook(path)
    assert [s.name for s in data.scenarios] == ["base", evil]
    out = write_comparison_workbook(run_comparison(data, list(data.scenarios)), tmp_path / "c.xlsx")
    written = load_workbook(out)
    for each in written.worksheets:
        for row in each.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (each.title, cell.coordinate, cell.value)
    assert written["net_transfer"].cell(row=2, column=4).value == evil
    assert written["kpi"].cell(row=1, column=4).value == evil
