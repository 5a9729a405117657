"""The equity–rule frontier (docs/formulation.md §4): the price of equity, point by point."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings

from model.analysis.frontier import FrontierPoint
from model.analysis.results import Allocation
from model.analysis.runner import solve_scenario
from model.cli import main
from model.workbook.reader import read_workbook
from model.workbook.scenarios import Parameters, Scenario
from tests.fixtures_lp import instances, make_data
from tests.workbooks import WORKED_EXAMPLE

SAMPLE = Path(__file__).resolve().parent.parent / "inputs" / "sample_2020.xlsx"


def run(records: list[dict[str, Any]], params: Parameters, points: int = 11) -> Allocation:
    return solve_scenario(make_data(records, params), Scenario("test", params), points)


def levels(allocation: Allocation) -> dict[str, float]:
    return {level.name: level.objective for level in allocation.levels}


def assert_frontier_holds(allocation: Allocation) -> None:
    """Monotone, ends at the run itself, tolerances scaled like the levels'."""
    assert allocation.frontier is not None
    points = allocation.frontier.points
    held = {level.name: level.tolerance for level in allocation.levels}
    scale = max(1.0, float(allocation.table["expenditure_100m"].sum()))
    slack = 1e-6 * scale
    for a, b in itertools.pairwise(points):
        assert b.imbalance <= a.imbalance + held["imbalance"] + 1e-7
        assert b.rule_distance_100m >= a.rule_distance_100m - slack
    last, run_levels = points[-1], levels(allocation)
    assert last.imbalance == pytest.approx(run_levels["imbalance"], abs=2 * held["imbalance"])
    assert last.rule_distance_100m == pytest.approx(run_levels["rule_distance"], abs=slack)


def test_the_samples_frontier_rises_from_the_rule_to_the_run() -> None:
    data = read_workbook(SAMPLE)
    allocation = solve_scenario(data, data.scenario("free_maximin"), 11)
    assert allocation.frontier is not None
    points = allocation.frontier.points
    assert len(points) == 11
    assert_frontier_holds(allocation)
    assert points[-1].moved_100m == pytest.approx(allocation.totals["moved_100m"], rel=1e-6)
    assert points[0].moved_100m < points[-1].moved_100m
    assert allocation.frontier.rule_moved_100m == pytest.approx(
        allocation.totals["rule_moved_100m"], rel=1e-9
    )


def test_the_first_point_is_the_rule_when_the_rule_pays_in_full() -> None:
    """In the worked example the rule pays every unit in full, so the allocation nearest
    the rule is the rule itself: distance 0 and the rule's own lowest months."""
    params = Parameters(year=2020, contribution_ratio=0.04)
    allocation = run(WORKED_EXAMPLE, params)
    assert allocation.frontier is not None
    first = allocation.frontier.points[0]
    assert first.rule_distance_100m == pytest.approx(0.0, abs=1e-6)
    rule_lowest = allocation.equity["rule"]["months_min"].value
    assert first.lowest_months == pytest.approx(rule_lowest, abs=1e-6)
    assert first.imbalance == pytest.approx(-rule_lowest, abs=1e-6)  # maximin: −min M
    assert first.moved_100m == pytest.approx(allocation.totals["rule_moved_100m"], abs=1e-6)
    assert_frontier_holds(allocation)


def test_a_band_of_zero_leaves_a_single_point_the_rule() -> None:
    params = Parameters(year=2020, contribution_ratio=0.04, max_rule_deviation=0.0)
    allocation = run(WORKED_EXAMPLE, params)
    assert allocation.frontier is not None
    (only,) = allocation.frontier.points
    assert only.rule_distance_100m == pytest.approx(0.0, abs=1e-6)
    assert allocation.frontier.knee is None


@settings(max_examples=15, deadline=None, derandomize=True)
@given(instances())
def test_every_frontier_is_monotone_and_ends_at_the_run(
    instance: tuple[list[dict[str, Any]], Parameters],
) -> None:
    records, params = instance
    assert_frontier_holds(run(records, params, 5))


def test_caf_run_writes_the_frontier_and_names_the_knee(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, result = tmp_path / "a.xlsx", tmp_path / "a.json"
    argv = ["run", str(SAMPLE), "-o", str(out), "--json", str(result)]
    assert main([*argv, "--scenario", "free_maximin"]) == 0
    frontier = json.loads(result.read_text(encoding="utf-8"))["frontier"]
    assert len(frontier) == 11
    assert list(frontier[0]) == list(FrontierPoint.__dataclass_fields__)
    assert "The knee of the equity frontier: beyond" in capsys.readouterr().out


def test_the_frontier_can_be_turned_off(tmp_path: Path) -> None:
    out, result = tmp_path / "a.xlsx", tmp_path / "a.json"
    argv = ["run", str(SAMPLE), "-o", str(out), "--json", str(result), "--frontier", "0"]
    assert main(argv) == 0
    assert "frontier" not in json.loads(result.read_text(encoding="utf-8"))


def test_the_workbook_has_a_frontier_sheet_with_its_chart() -> None:
    from model.export.allocation import SHEETS, allocation_workbook, sheet_names

    data = read_workbook(SAMPLE)
    allocation = solve_scenario(data, data.scenario("free_maximin"), 11)
    book = allocation_workbook(allocation)
    assert book.sheetnames == list(sheet_names(allocation))
    assert book.sheetnames[:4] == [*SHEETS[:3], "frontier"]
    sheet = book["frontier"]
    assert allocation.frontier is not None
    rows = list(sheet.iter_rows(min_row=2, max_row=12, values_only=True))
    for row, point in zip(rows, allocation.frontier.points, strict=True):
        assert row[3] == pytest.approx(point.moved_100m)
        assert row[4] == pytest.approx(point.lowest_months)
    assert rows[-1][6] == "本次结果 This run"
    assert rows[allocation.frontier.knee][6].startswith("拐点 The knee")
    assert sheet.cell(14, 1).value == "法定规则 Statutory rule"
    assert sheet.cell(14, 4).value == pytest.approx(allocation.totals["rule_moved_100m"])
    assert len(sheet._charts) == 1


def test_without_a_frontier_the_workbook_keeps_its_six_sheets() -> None:
    from model.export.allocation import SHEETS, allocation_workbook

    data = read_workbook(SAMPLE)
    book = allocation_workbook(solve_scenario(data, data.scenarios[0]))
    assert book.sheetnames == list(SHEETS)


def test_an_answer_far_from_the_rule_says_so_plainly() -> None:
    from model.analysis.narrative import far_from_rule_sentence

    data = read_workbook(SAMPLE)
    free = solve_scenario(data, data.scenario("free_maximin"))
    zh, en = far_from_rule_sentence(free) or ("", "")
    assert "是法定规则（1,769.80亿元）的3.5倍" in zh
    assert en.startswith("Note: this answer moves 6,278.62亿 between units, 3.5 times")
    for name in ("base", "band_20"):  # ±50% moves 1.25 times the rule; ±20% less
        assert far_from_rule_sentence(solve_scenario(data, data.scenario(name))) is None
