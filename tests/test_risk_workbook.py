"""The risk workbook: read it back and check every probability, percentile, colour scale,
chart and trace against the ``RiskResult`` it was written from.

Runs of the hand case of tests/test_risk.py, made once for the module: two scenarios (no
contribution at all, and a 20% ratio that carries unit A) of 30 draws; one scenario whose
benefits fall 50% a year with a 20-point s.d., so some draws have a negative expenditure
and fail; and two units like A, so the nation itself runs out in some draws.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from openpyxl.chart import LineChart
from openpyxl.workbook.workbook import Workbook

from model.analysis.risk import FAN, MONEY, PERCENTILES, RiskResult, solve_draws, summarise
from model.analysis.risk_narrative import (
    failed_line,
    likeliest_depletion_year,
    national_runs_out,
    probability_text,
    risk_sentences,
)
from model.analysis.risk_run import run_risk
from model.errors import InputError
from model.export.layout import WARNING_FILL
from model.export.risk import FAILED_LISTED, RISK_SHEETS, risk_workbook, write_risk_workbook
from model.export.risk_tables import REGIMES
from model.vocabulary import FIGURES, NEVER
from model.workbook.scenarios import Scenario
from tests.fixtures_lp import make_data
from tests.test_docs import _table
from tests.test_report import formulas, same
from tests.test_risk import hand_data

INJECTION = '=HYPERLINK("http://x","y")'


@pytest.fixture(scope="module")
def result() -> RiskResult:
    data = hand_data(draws=30)
    base = data.scenarios[0].parameters
    low = Scenario("low", base.with_overrides({"contribution_ratio": 0.0}))
    high = Scenario("high", base.with_overrides({"contribution_ratio": 0.2}))
    return run_risk(data, [low, high], in_process=True)


@pytest.fixture(scope="module")
def failing() -> RiskResult:
    data = hand_data(draws=30, benefit_growth=-0.5, benefit_growth_sd=0.2, plan_end_year=2024)
    return run_risk(data, list(data.scenarios), in_process=True)


@pytest.fixture(scope="module")
def poor() -> RiskResult:
    """Two units like A: the nation's balance runs out in 2021 in some draws, not all."""
    unit_a = {
        "avg_wage_yuan": 100_000.0,
        "region": "East",
        "name_en": "",
        "insured_employees_10k": 100.0,
        "retirees_10k": 10.0,
        "contribution_income_100m": 90.0,
        "expenditure_100m": 100.0,
        "opening_balance_100m": 15.0,
    }
    records = [unit_a | {"code": "A", "name_zh": "甲"}, unit_a | {"code": "C", "name_zh": "丙"}]
    poorer = make_data(records, hand_data(draws=30).parameters)
    return run_risk(poorer, list(poorer.scenarios), in_process=True)


@pytest.fixture(scope="module")
def written(result: RiskResult, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_risk_workbook(result, tmp_path_factory.mktemp("risk") / "risk.xlsx")


@pytest.fixture(scope="module")
def book(written: Path) -> Workbook:
    return load_workbook(written)


def rows(sheet: Any) -> list[list[Any]]:
    return [[cell.value for cell in row] for row in sheet.iter_rows()]


def row_of(sheet: Any, column: int, value: object, start: int = 1) -> int:
    """The first row at or below ``start`` whose cell in ``column`` holds ``value`` (or,
    for text, starts with it)."""
    for row in range(start, sheet.max_row + 1):
        held = sheet.cell(row=row, column=column).value
        if held == value or (isinstance(value, str) and str(held).startswith(value)):
            return row
    raise AssertionError(f"{value!r} not in column {column} of {sheet.title}")


# --- structure -----------------------------------------------------------------------------


def test_the_sheets_are_the_contract_in_order(book: Workbook) -> None:
    assert book.sheetnames == list(RISK_SHEETS)
    assert RISK_SHEETS == (
        "summary",
        "ranking",
        "unit_gap",
        "depletion_rule",
        "depletion_before",
        "depletion_plan",
        "national_depletion",
        "subsidy",
        "fan",
        "run_info",
    )


def test_values_only_and_every_sheet_prints_landscape(written: Path, book: Workbook) -> None:
    assert formulas(written) == []
    for sheet in book.worksheets:
        assert sheet.page_setup.orientation == "landscape", sheet.title
        assert sheet.sheet_properties.pageSetUpPr.fitToPage, sheet.title


def test_the_docs_list_the_risk_sheets() -> None:
    sheets = [cells[0].strip("`") for cells in _table("outputs.md", "sheets:risk")]
    assert sheets == list(RISK_SHEETS)


def test_an_existing_file_is_kept_without_force(result: RiskResult, tmp_path: Path) -> None:
    path = tmp_path / "risk.xlsx"
    path.write_bytes(b"keep me")
    with pytest.raises(InputError):
        write_risk_workbook(result, path)
    assert path.read_bytes() == b"keep me"
    assert [p.name for p in tmp_path.iterdir()] == ["risk.xlsx"]
    write_risk_workbook(result, path, force=True)
    assert load_workbook(path).sheetnames == list(RISK_SHEETS)


# --- summary and ranking -------------------------------------------------------------------


def test_the_summary_table_reads_back_the_odds(result: RiskResult, book: Workbook) -> None:
    sheet = book["summary"]
    ranks = {s.scenario: rank for rank, s in enumerate(result.ranking(), start=1)}
    for risk in result.scenarios:
        row = row_of(sheet, 1, risk.scenario)
        values = [sheet.cell(row=row, column=c).value for c in range(1, 11)]
        money = risk.money.loc["total_subsidy_100m"]
        assert values[1] == ranks[risk.scenario]
        assert values[2] == same(risk.gap_probability)
        assert values[3:6] == [same(money[f"p{q}"]) for q in PERCENTILES]
        year, share = likeliest_depletion_year(risk) or (None, None)
        assert values[6] == same(national_runs_out(risk))
        assert values[7] == (NEVER.name if year is None else year)
        assert values[8] == (None if share is None else same(share))
        assert values[9] == f"{risk.solved}/{risk.draws}" == "30/30"
        assert sheet.cell(row=row, column=3).number_format == "0.0%"


def test_the_summary_sentences_are_the_results(result: RiskResult, book: Workbook) -> None:
    texts = [row[0] for row in rows(book["summary"]) if row[0]]
    lines = risk_sentences(result)
    assert len(lines) == len(result.scenarios) + 1  # one a scenario, then the ranking
    for zh, en in lines:
        assert zh in texts and en in texts
    for risk, (zh, en) in zip(result.scenarios, lines[:-1], strict=True):
        assert f"「{risk.scenario}」" in zh and f"“{risk.scenario}”" in en
        if risk.gap_probability > 0:
            assert f"{probability_text(risk.gap_probability)} 的抽样中至少一个单位" in zh
        else:
            assert "没有一次抽样出现未弥补缺口" in zh
    first = result.ranking()[0].scenario
    assert lines[-1][1].split(": ", 1)[1].startswith(f"1. {first} (")


def test_the_nation_running_out_is_told_with_its_year(poor: RiskResult) -> None:
    (risk,) = poor.scenarios
    runs_out = national_runs_out(risk)
    assert 0 < runs_out < 1
    assert likeliest_depletion_year(risk) == (2021, pytest.approx(runs_out))
    book = risk_workbook(poor)
    sheet = book["summary"]
    row = row_of(sheet, 1, "base")
    assert [sheet.cell(row, c).value for c in (7, 8, 9)] == [same(runs_out), 2021, same(runs_out)]
    zh, en = risk_sentences(poor)[0]
    told = probability_text(runs_out)
    assert f"全国结余在 {told} 的抽样中于规划期内耗尽，最可能在 2021 年（{told}）" in zh
    assert f"runs out within the horizon in {told} of the draws, most likely in 2021" in en
    table = rows(book["national_depletion"])
    assert [r[:2] for r in table[1:4]] == [
        [2020, 0],
        [2021, same(runs_out)],
        [NEVER.name, same(1 - runs_out)],
    ]


def test_the_summary_states_the_sample(result: RiskResult, book: Workbook) -> None:
    sheet = book["summary"]
    assert f"Seed {result.seed}" in sheet["A2"].value
    assert f"{result.draws} draws a scenario" in sheet["A2"].value
    for label, value in (("Wage growth s.d. σ", 0.1), ("Shock correlation ρ", 0.3)):
        row = next(r for r in range(1, sheet.max_row + 1) if label in str(sheet.cell(r, 1).value))
        assert sheet.cell(row=row, column=2).value == same(value)


def test_the_ranking_is_robust_first(result: RiskResult, book: Workbook) -> None:
    table = rows(book["ranking"])
    ranked = result.ranking()
    assert [r[1] for r in table[1 : 1 + len(ranked)]] == [s.scenario for s in ranked]
    assert ranked[0].subsidy_p95 <= ranked[1].subsidy_p95
    for rank, (row, risk) in enumerate(zip(table[1:], ranked, strict=False), start=1):
        assert row[0] == rank
        assert row[2] == same(risk.subsidy_p95)
        assert row[3] == same(risk.gap_probability)


# --- probabilities -------------------------------------------------------------------------


def test_unit_gap_reads_back_and_is_coloured(result: RiskResult, book: Workbook) -> None:
    sheet = book["unit_gap"]
    table = rows(sheet)
    assert table[0][2:] == [s.scenario for s in result.scenarios]
    assert table[1][1] == "任一单位 Any unit"
    assert table[1][2:] == [same(s.gap_probability) for s in result.scenarios]
    codes = result.scenarios[0].codes
    assert [r[0] for r in table[2 : 2 + len(codes)]] == list(codes)
    for row in table[2 : 2 + len(codes)]:
        expected = [s.unit_gap_probability[row[0]] for s in result.scenarios]
        assert row[2:] == [same(p) for p in expected]
    (scale,) = list(sheet.conditional_formatting)
    assert str(scale.sqref) == f"C2:D{1 + 1 + len(codes)}"
    assert [(v.type, v.val) for v in scale.rules[0].colorScale.cfvo] == [
        ("num", 0.0),
        ("num", 0.5),
        ("num", 1.0),
    ]
    assert any(p > 0 for s in result.scenarios for p in s.unit_gap_probability)


@pytest.mark.parametrize("regime", REGIMES, ids=[r.sheet for r in REGIMES])
def test_each_depletion_sheet_holds_every_scenario_coloured(
    result: RiskResult, book: Workbook, regime: Any
) -> None:
    sheet = book[regime.sheet]
    scales = list(sheet.conditional_formatting)
    assert len(scales) == len(result.scenarios)
    assert all(f.rules[0].type == "colorScale" for f in scales)
    for risk, scale in zip(result.scenarios, scales, strict=True):
        heading = row_of(
            sheet, 1, f"情景 Scenario: {risk.scenario}    已求解 30/30 次抽样 30 of 30 draws solved"
        )
        assert [sheet.cell(heading + 1, 3 + i).value for i in range(len(risk.years))] == [
            str(y) for y in risk.years
        ]
        frame = risk.depletion[regime.key]
        first = heading + 2
        assert str(scale.sqref) == f"C{first}:D{first + len(risk.codes) - 1}"
        for offset, code in enumerate(risk.codes):
            row = [sheet.cell(first + offset, c).value for c in range(1, 3 + len(risk.years))]
            assert row[:2] == [code, risk.names[offset]]
            assert row[2:] == [same(p) for p in frame.loc[code]]


def test_the_hand_case_runs_out_where_the_closed_form_says(result: RiskResult) -> None:
    """Unit A's odds of having run out by the second year before adjustment are the same in
    both scenarios (the ratio does not matter before adjustment) and not trivial, so the
    depletion sheets show a figure worth reading."""
    low, high = (s.depletion["before"].at["A", 2021] for s in result.scenarios)
    assert low == high and 0 < low < 1


def test_national_depletion_is_a_distribution(result: RiskResult, book: Workbook) -> None:
    table = rows(book["national_depletion"])
    years = result.scenarios[0].years
    assert [r[0] for r in table[1 : 2 + len(years)]] == [*years, NEVER.name]
    for column, risk in enumerate(result.scenarios, start=1):
        shares = [r[column] for r in table[1 : 2 + len(years)]]
        assert shares == [same(p) for p in risk.national_depletion]
        assert sum(shares) == pytest.approx(1.0)
    assert list(book["national_depletion"].conditional_formatting)


def test_subsidy_reads_back_every_spread(result: RiskResult, book: Workbook) -> None:
    table = rows(book["subsidy"])
    body = table[1 : 1 + len(result.scenarios) * len(MONEY)]
    expected = [
        [risk.scenario, FIGURES[key].name, *(risk.money.at[key, c] for c in risk.money.columns)]
        for risk in result.scenarios
        for key in MONEY
    ]
    assert list(result.scenarios[0].money.columns) == ["mean", "p5", "p50", "p95"]
    for got, want in zip(body, expected, strict=True):
        assert got[:6] == [same(v) for v in want]


# --- fan -----------------------------------------------------------------------------------


def test_a_fan_chart_and_its_table_per_scenario(result: RiskResult, book: Workbook) -> None:
    sheet = book["fan"]
    charts = sheet._charts
    assert [type(c) for c in charts] == [LineChart] * len(result.scenarios)
    assert all(not s._charts for s in book.worksheets if s.title != "fan")
    for risk, chart in zip(result.scenarios, charts, strict=True):
        assert len(chart.series) == 2 * len(FAN)
        widths = [s.graphicalProperties.line.width for s in chart.series]
        assert widths[FAN.index(50)] > widths[0]  # the median is bold
        heading = row_of(sheet, 1, f"情景 Scenario: {risk.scenario}", 1)
        header = row_of(sheet, 1, "年度\nYear", heading)
        refs = chart.series[0].val.numRef.f
        assert refs == f"'fan'!$B${header + 1}:$B${header + len(risk.years)}"
        for offset, year in enumerate(risk.years, start=1):
            got = [sheet.cell(header + offset, c).value for c in range(1, 2 + 2 * len(FAN))]
            plan = [risk.fan_plan.at[year, f"p{q}"] for q in FAN]
            before = [risk.fan_before.at[year, f"p{q}"] for q in FAN]
            assert got == [year, *(same(v) for v in plan + before)]


# --- run_info and failures -----------------------------------------------------------------


def run_info(book: Workbook) -> dict[str, Any]:
    return {row[0]: row[1] for row in rows(book["run_info"]) if row[0]}


def test_run_info_traces_the_run(result: RiskResult, book: Workbook) -> None:
    items = run_info(book)
    assert items["SHA-256"] == result.source.sha256
    assert items["输入文件 Input file"] == result.source.name
    assert items["随机种子 Seed"] == result.seed == 7
    assert items["每个情景的抽样次数 Draws a scenario"] == 30
    assert items["Dask 版本 Dask version"] == "未使用 not used"
    assert items["运行方式 Engine"] == "in-process"
    assert items["冲击标准差 Shock s.d.: wage_growth_sd"] == same(0.1)
    assert items["冲击相关系数 Shock correlation ρ"] == same(0.3)
    assert items["未能求解的抽样 Failed draws"] == 0
    assert items["情景参数差异 Differs from low: high"] == "contribution_ratio=0.2"
    assert {"caf-optimizer", "highspy", "Python", "生成时间 Generated (UTC)"} <= set(items)


def test_run_info_of_a_dask_run_names_its_cluster(result: RiskResult) -> None:
    dask = dataclasses.replace(
        result,
        engine="dask",
        dask_version="2099.1.0",
        scheduler="tcp://10.0.0.5:8786",
        workers=8,
    )
    items = run_info(risk_workbook(dask))
    assert items["Dask 版本 Dask version"] == "2099.1.0"
    assert items["调度器地址 Scheduler address"] == "tcp://10.0.0.5:8786"
    assert items["工作进程数 Workers"] == 8


def test_failed_draws_raise_the_banner_and_are_listed(failing: RiskResult) -> None:
    (risk,) = failing.scenarios
    assert risk.failed and risk.solved + len(risk.failed) == 30
    book = risk_workbook(failing)
    sheet = book["summary"]
    zh, en = failed_line(failing) or ("", "")
    assert sheet["A3"].value == f"{zh}\n{en}"
    assert sheet["A3"].fill.fgColor.rgb.endswith(WARNING_FILL.fgColor.rgb[-6:])
    assert en.startswith(f"{len(risk.failed)} draw") and "“base”" in en
    listed = [r for r in rows(book["run_info"]) if str(r[0]).startswith("base · ")]
    assert [(r[0], r[1]) for r in listed] == [(f"base · {n}", why) for n, why in risk.failed]
    assert run_info(book)["未能求解的抽样 Failed draws"] == len(risk.failed)
    solved = f"已求解 {risk.solved}/30 次抽样 {risk.solved} of 30 draws solved"
    assert row_of(book["depletion_rule"], 1, f"情景 Scenario: base    {solved}")


def test_no_banner_when_every_draw_solved(book: Workbook) -> None:
    assert book["summary"]["A3"].fill.fgColor.rgb != WARNING_FILL.fgColor.rgb


def test_a_long_list_of_failures_is_cut_and_counted(failing: RiskResult) -> None:
    (risk,) = failing.scenarios
    many = tuple((n, "expenditure below zero") for n in range(FAILED_LISTED + 37))
    crowded = dataclasses.replace(failing, scenarios=(dataclasses.replace(risk, failed=many),))
    table = rows(risk_workbook(crowded)["run_info"])
    assert sum(1 for r in table if str(r[0]).startswith("base · ")) == FAILED_LISTED
    assert table[-1][0] == "另有 37 次未列出 37 more not listed"


def test_a_scenario_name_is_never_a_formula(result: RiskResult, tmp_path: Path) -> None:
    first, second = result.scenarios
    named = dataclasses.replace(
        result, scenarios=(first, dataclasses.replace(second, scenario=INJECTION))
    )
    path = write_risk_workbook(named, tmp_path / "risk.xlsx")
    assert formulas(path) == []
    book = load_workbook(path)
    assert book["unit_gap"]["D1"].value == INJECTION
    assert book["unit_gap"]["D1"].data_type == "s"


def test_a_scenario_with_no_draw_solved_is_blank_not_zero(result: RiskResult) -> None:
    """Every draw of the second scenario fails: its figures are blank (NaN), never 0%, the
    sentence says there are no odds, and it ranks last."""
    data = hand_data(draws=5)
    scenario = data.scenarios[0]
    batch = solve_draws(data, scenario, 0, range(5))
    failed = dataclasses.replace(batch, failed=tuple((n, "no optimum") for n in batch.draws))
    lost = dataclasses.replace(summarise(data, scenario, [failed], 5), scenario="lost")
    assert lost.solved == 0
    book = risk_workbook(dataclasses.replace(result, scenarios=(result.scenarios[0], lost)))
    sheet = book["summary"]
    row = row_of(sheet, 1, "lost")
    assert [sheet.cell(row, c).value for c in range(2, 11)] == [2, *([None] * 7), "0/5"]
    assert "在「lost」情景下，5 次抽样无一求解，无法给出概率。" in [r[0] for r in rows(sheet)]
    assert [r[1] for r in rows(book["ranking"])[1:3]] == [result.scenarios[0].scenario, "lost"]
    assert rows(book["unit_gap"])[1][3] is None


def test_scenarios_of_different_horizons_share_the_national_table() -> None:
    data = hand_data(draws=10)
    base = data.scenarios[0].parameters
    short = Scenario("short", base)
    long = Scenario("long", base.with_overrides({"plan_end_year": 2022}))
    result = run_risk(data, [short, long], in_process=True)
    table = rows(risk_workbook(result)["national_depletion"])
    assert [r[0] for r in table[1:5]] == [2020, 2021, 2022, NEVER.name]
    assert table[3][1] is None and table[3][2] is not None  # 2022 is beyond "short"
    book = risk_workbook(result)
    assert len(book["fan"]._charts) == 2
    heading = row_of(book["depletion_rule"], 1, "情景 Scenario: long")
    assert book["depletion_rule"].cell(heading + 1, 5).value == "2022"
