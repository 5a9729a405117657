"""Sweeps: ``blank`` as a value, empty items refused, and the scenarios' readable labels
(model/workbook/scenarios.py), with their consumers: the JSON and the comparison workbook."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from openpyxl import load_workbook

from model.analysis.batch import run_comparison
from model.cli import main
from model.errors import InputError
from model.schema import PARAMETER_BY_KEY, PARAMETER_FIELDS
from model.workbook.reader import FundData, read_workbook
from model.workbook.scenarios import Parameters, scenario_labels, sweep_scenarios, value_text

SAMPLE = Path(__file__).resolve().parent.parent / "inputs" / "sample_2020.xlsx"
DOCS = Path(__file__).resolve().parent.parent / "docs"
ISSUE_SWEEP = [
    "contribution_ratio=0.035,0.04,0.045",
    "reserve_months_floor=0,3",
    "max_rule_deviation=0,0.2",
    "objective=maximin,range,mad",
]
BASE = Parameters(year=2020, contribution_ratio=0.04)


@pytest.fixture(scope="module")
def sample() -> FundData:
    return read_workbook(SAMPLE)


# --- labels ------------------------------------------------------------------------------


def test_the_issue_sweep_gives_37_readable_unique_names(sample: FundData) -> None:
    scenarios = sweep_scenarios(sample.parameters, ISSUE_SWEEP)
    names = [s.name for s in scenarios]
    assert len(names) == 37 and len(set(names)) == 37
    assert names[0] == "base" and scenarios[0].overrides == ()
    assert names[1] == "上解 3.5% · 储备 0月 · 区间 0% · maximin"
    assert names[2] == "上解 3.5% · 储备 0月 · 区间 0% · range"
    assert names[-1] == "上解 4.5% · 储备 3月 · 区间 20% · mad"
    part = r"(上解 (3\.5|4|4\.5)%) · (储备 (0|3)月) · (区间 (0|20)%) · (maximin|range|mad)"
    for scenario in scenarios[1:]:
        assert re.fullmatch(part, scenario.name), scenario.name
        assert "=" not in scenario.name and len(scenario.name) <= 40
        # the full parameters stay with the scenario, as checked values
        overrides = dict(scenario.overrides)
        assert list(overrides) == [text.partition("=")[0] for text in ISSUE_SWEEP]
        for key, value in overrides.items():
            assert getattr(scenario.parameters, key) == value
            assert value_text(PARAMETER_BY_KEY[key], value) in scenario.name


def test_labels_show_only_what_differs_from_the_base() -> None:
    names = [
        s.name for s in sweep_scenarios(BASE, ["contribution_ratio=0.04", "objective=range,mad"])
    ]
    assert names == ["base", "range", "mad"]
    # nothing differs: every swept key is still named, so the scenario is not nameless
    assert [s.name for s in sweep_scenarios(BASE, ["objective=maximin"])] == ["base", "maximin"]


def test_labels_that_read_alike_are_told_apart_in_sweep_order() -> None:
    scenarios = sweep_scenarios(BASE, ["contribution_ratio=0.05,0.0500000000001,0.05000000000002"])
    assert [s.name for s in scenarios] == ["base", "上解 5%", "上解 5% (2)", "上解 5% (3)"]
    assert len({s.parameters.contribution_ratio for s in scenarios[1:]}) == 3


def test_a_label_is_never_base_and_a_value_written_twice_is_solved_once() -> None:
    combos = [(("objective", "range"),), (("objective", "range"),)]
    assert scenario_labels(BASE, combos) == ["range", "range (2)"]
    scenarios = sweep_scenarios(BASE, ["contribution_ratio=0.045,4.5%"])
    assert [s.name for s in scenarios] == ["base", "上解 4.5%"]


@pytest.mark.parametrize(
    ("key", "value", "shown"),
    [
        ("contribution_ratio", 0.035, "3.5%"),
        ("reserve_months_floor", 3.0, "3月"),
        ("central_subsidy_budget_100m", 200.5, "200.5亿"),
        ("max_rule_deviation", None, "不设"),
        ("insured_growth", -0.005, "-0.5%"),
        ("plan_end_year", 2035, "2035"),
        ("optimize_ratio_path", "yes", "yes"),
    ],
)
def test_values_read_as_a_planner_writes_them(key: str, value: object, shown: str) -> None:
    assert value_text(PARAMETER_BY_KEY[key], value) == shown


def test_every_parameter_has_a_word_and_the_docs_list_them() -> None:
    words = {f.key: f.short for f in PARAMETER_FIELDS}
    assert [k for k, w in words.items() if not w] == ["objective"]
    assert len(set(words.values())) == len(words)
    text = (DOCS / "inputs.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- words:scenario -->\n(.*?)<!-- /words:scenario -->", text, re.S)
    assert block
    rows = [line.split("|")[1:3] for line in block.group(1).splitlines()[2:]]
    documented = {k.strip().strip("`"): w.strip() for k, w in rows}
    assert documented.keys() == words.keys()
    assert all(documented[k] == w for k, w in words.items() if w)


# --- blank and empty items ---------------------------------------------------------------


def test_blank_sweeps_free_transfers_and_solves_like_free_maximin(sample: FundData) -> None:
    scenarios = sweep_scenarios(sample.parameters, ["max_rule_deviation=0,0.2,blank"])
    assert [s.name for s in scenarios] == ["base", "区间 0%", "区间 20%", "区间 不设"]
    free = scenarios[-1]
    assert free.parameters.max_rule_deviation is None
    assert free.overrides == (("max_rule_deviation", None),)
    assert sweep_scenarios(sample.parameters, ["max_rule_deviation=空"])[1].parameters == (
        free.parameters
    )
    reference = sample.scenario("free_maximin")
    assert reference.parameters == free.parameters
    swept, named = run_comparison(sample, [free, reference], workers=1).allocations
    assert swept.totals == pytest.approx(named.totals, rel=1e-7, abs=1e-6)
    assert [lv.objective for lv in swept.levels] == pytest.approx(
        [lv.objective for lv in named.levels], rel=1e-7, abs=1e-6
    )


@pytest.mark.parametrize(
    ("sweep", "positions"),
    [("max_rule_deviation=0,,0.2", [(2, 3)]), ("max_rule_deviation=0,0.2,", [(3, 3)])],
    ids=["between", "trailing"],
)
def test_an_empty_item_is_located_in_both_languages(
    sweep: str, positions: list[tuple[int, int]]
) -> None:
    with pytest.raises(InputError) as caught:
        sweep_scenarios(BASE, [sweep])
    problems = caught.value.problems
    assert [p.where for p in problems] == [f"--sweep {sweep}"] * len(positions)
    for problem, (n, of) in zip(problems, positions, strict=True):
        assert problem.what == f"found an empty value (value {n} of {of})"
        assert problem.what_zh == f"第 {n} 个取值为空（共 {of} 个）"
        assert "blank" in problem.fix and "空" in problem.fix_zh


def test_every_sweeps_problems_are_listed_at_once() -> None:
    with pytest.raises(InputError) as caught:
        sweep_scenarios(BASE, ["contribution_ratio=0.04,4.5,", "objective=best"])
    found = [(p.where, p.what.split(" (")[0].split(",")[0]) for p in caught.value.problems]
    assert found == [
        ("--sweep contribution_ratio=0.04,4.5,", "found an empty value"),
        ("--sweep contribution_ratio", "found 4.5"),
        ("--sweep objective", 'found "best"'),
    ]


def test_cli_empty_item_is_exit_2_bilingual_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, result = tmp_path / "cmp.xlsx", tmp_path / "cmp.json"
    argv = ["compare", str(SAMPLE), "-o", str(out), "--json", str(result)]
    assert main([*argv, "--sweep", "max_rule_deviation=0,,0.2"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    (line,) = err.splitlines()
    assert line.startswith("--sweep max_rule_deviation=0,,0.2: 第 2 个取值为空（共 3 个）")
    assert "found an empty value (value 2 of 3)" in line
    assert list(tmp_path.iterdir()) == []


# --- what else is sweepable --------------------------------------------------------------


def test_the_guardrail_is_sweepable() -> None:
    scenarios = sweep_scenarios(BASE, ["min_return_share=0,0.5"])
    assert [s.name for s in scenarios] == ["base", "返还 0%", "返还 50%"]
    assert [s.parameters.min_return_share for s in scenarios] == [None, 0.0, 0.5]


def test_incentive_mode_is_sweepable_and_a_point_equals_a_single_solve(
    sample: FundData,
) -> None:
    from model.analysis.runner import solve_scenario

    scenarios = sweep_scenarios(sample.parameters, ["standard_contribution_rate=blank,0.13"])
    assert [s.name for s in scenarios] == ["base", "征缴 不设", "征缴 13%"]
    assert scenarios[1].parameters == sample.parameters
    comparison = run_comparison(sample, scenarios, workers=1)
    swept = comparison.allocations[2]
    single = solve_scenario(sample, scenarios[2])
    assert swept.parameters.standard_contribution_rate == 0.13
    assert swept.totals == pytest.approx(single.totals, rel=1e-7, abs=1e-6)
    assert swept.totals["collection_shortfall_100m"] > 0


def test_the_plan_parameters_are_sweepable() -> None:
    sweeps = [
        "plan_end_year=2030,blank",
        "wage_growth=0.03",
        "optimize_ratio_path=yes",
        "ratio_max=0.08",
        "ratio_step_max=0.005",
    ]
    scenarios = sweep_scenarios(BASE, sweeps)
    assert [s.name for s in scenarios] == [
        "base",
        "末年 2030 · 工资 3% · 路径 yes · 上限 8% · 年增 0.5%",
        "末年 不设 · 工资 3% · 路径 yes · 上限 8% · 年增 0.5%",
    ]
    first = scenarios[1].parameters
    assert (first.plan_end_year, first.wage_growth, first.optimize_ratio_path) == (
        2030,
        0.03,
        "yes",
    )
    assert (first.ratio_max, first.ratio_step_max) == (0.08, 0.005)
    assert scenarios[2].parameters.plan_end_year is None


# --- the consumers: JSON and workbook ----------------------------------------------------


def test_cli_issue_sweep_names_every_scenario_in_the_json_and_the_workbook(
    tmp_path: Path, sample: FundData
) -> None:
    out, result = tmp_path / "cmp.xlsx", tmp_path / "cmp.json"
    argv = ["compare", str(SAMPLE), "-o", str(out), "--json", str(result), "--workers", "2"]
    for sweep in ISSUE_SWEEP:
        argv += ["--sweep", sweep]
    assert main(argv) == 3  # a band of 0 under a reserve floor of 3 months leaves a gap
    expected = sweep_scenarios(sample.parameters, ISSUE_SWEEP)
    scenarios = json.loads(result.read_text(encoding="utf-8"))["scenarios"]
    assert [s["scenario"] for s in scenarios] == [s.name for s in expected]
    assert scenarios[0]["overrides"] == {}
    assert scenarios[-1]["overrides"] == {
        "contribution_ratio": 0.045,
        "reserve_months_floor": 3.0,
        "max_rule_deviation": 0.2,
        "objective": "mad",
    }
    book = load_workbook(out)
    kpi = book["kpi"]
    headers = [kpi.cell(row=1, column=c) for c in range(3, 3 + len(expected))]
    assert [h.value for h in headers] == [s.name for s in expected]
    assert headers[-1].comment.text == (
        "contribution_ratio=0.045; reserve_months_floor=3.0; max_rule_deviation=0.2; objective=mad"
    )
