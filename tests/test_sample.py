"""The shipped sample workbook reproduces the published 2020 figures of the central fund.

The calibration targets come from the published figures in inputs/build_sample.py.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import openpyxl
import pandas as pd
import pytest

from model.lp.rule import RuleAllocation, statutory_allocation
from model.schema import PROVINCE_FIELDS
from model.workbook.reader import FundData, read_workbook

ROOT = Path(__file__).parent.parent
SAMPLE = ROOT / "inputs" / "sample_2020.xlsx"
BUILDER = ROOT / "inputs" / "build_sample.py"

ROUGHLY_EVEN = 5.0  # 亿元: |net| at or below this counts as roughly even
TO_THE_CENT = 0.005
"""亿元: the calibration reproduces every published figure to the cent (half a cent either
way); the largest miss, the fund, is 0.0039亿."""
SEVEN_CONTRIBUTORS = {"44", "11", "35", "32", "33", "31", "37"}
REGIONS = {
    "East": {"11", "12", "13", "31", "32", "33", "35", "37", "44", "46"},
    "Central": {"14", "34", "36", "41", "42", "43"},
    "West": {"15", "45", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "66"},
    "Northeast": {"21", "22", "23"},
}
PUBLISHED_URLS = {
    "https://www.tellerreport.com/business/2020-06-22-central-pension-adjustments-exceed-700-"
    "billion-yuan--net-benefits-in-four-provinces-exceed-10-billion-yuan.HkWJm1tA6L.html",
    "https://www.jqknews.com/news/498638-Steady!_Nearly_300_million_people_can_get_the_money_"
    "Seven_provinces_have_a_net_contribution_of_1767_billion.html",
    "https://wodefinance.com/TianTianFund/qkcniehapz.html",
    "https://tjj.fujian.gov.cn/tongjinianjian/dz2022/cn-en/html/1007.htm",
}


def _within(value: float, target: float, relative: float) -> bool:
    return abs(value - target) <= relative * abs(target)


@pytest.fixture(scope="module")
def data() -> FundData:
    return read_workbook(SAMPLE)


@pytest.fixture(scope="module")
def units(data: FundData) -> pd.DataFrame:
    return data.units


@pytest.fixture(scope="module")
def rule(data: FundData) -> RuleAllocation:
    return statutory_allocation(data.units, data.parameters)


@pytest.fixture(scope="module")
def nets(rule: RuleAllocation) -> pd.Series:
    return rule.net_transfer_100m


@pytest.fixture(scope="module")
def before(units: pd.DataFrame) -> pd.Series:
    return (
        units["opening_balance_100m"]
        + units["contribution_income_100m"]
        + units["other_income_100m"]
        + units["planned_central_subsidy_100m"]
        - units["expenditure_100m"]
    )


@pytest.fixture(scope="module")
def builder() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_sample", BUILDER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


def test_the_units_are_the_31_provinces_and_the_xpcc(units: pd.DataFrame) -> None:
    assert len(units) == 32
    assert set(units.index) == set().union(*REGIONS.values())
    assert all(isinstance(code, str) for code in units.index)
    for region, codes in REGIONS.items():
        assert set(units.index[units["region"] == region]) == codes
    assert units.loc["66", "name_zh"] == "新疆生产建设兵团"
    assert units.loc["44", "name_en"] == "Guangdong"


def test_every_column_is_filled(units: pd.DataFrame) -> None:
    """Every column but the guardrails, which the sample leaves blank (none set)."""
    guardrails = ["min_transfer_100m", "max_transfer_100m"]
    assert not units.drop(columns=guardrails).isna().any().any()
    assert units[guardrails].isna().all().all()
    assert (units[["name_zh", "name_en", "region"]] != "").all().all()


def test_the_parameters_and_scenarios(data: FundData) -> None:
    p = data.parameters
    assert (p.year, p.contribution_ratio, p.wage_base_share) == (2020, 0.04, 0.9)
    assert (p.reserve_months_floor, p.objective, p.max_rule_deviation) == (0, "maximin", 0.5)
    assert p.central_subsidy_budget_100m > 0
    by_name = {s.name: s.parameters for s in data.scenarios}
    assert by_name["ratio_4.5"].contribution_ratio == 0.045
    assert by_name["band_20"].max_rule_deviation == 0.2
    assert by_name["reserve_3m"].reserve_months_floor == 3
    assert by_name["rule_only"].max_rule_deviation == 0
    assert by_name["rule_only"].contribution_ratio == 0.04  # blank cells inherit
    assert by_name["free_maximin"].max_rule_deviation is None  # "blank" written: no band


def test_the_fund_is_the_published_7398_23(rule: RuleAllocation) -> None:
    assert rule.fund_100m == pytest.approx(7398.23, abs=TO_THE_CENT)  # off by 0.0039


def test_the_seven_net_contributors_hand_up_1767(nets: pd.Series) -> None:
    contributors = nets[nets < -ROUGHLY_EVEN]
    assert set(contributors.index) == SEVEN_CONTRIBUTORS
    assert float(contributors.sum()) == pytest.approx(-1767.0, abs=TO_THE_CENT)  # 0.00001


@pytest.mark.parametrize(("code", "published"), [("44", -645.71), ("21", 555.58), ("23", 485.56)])
def test_the_published_provincial_nets(nets: pd.Series, code: str, published: float) -> None:
    assert float(nets[code]) == pytest.approx(published, abs=TO_THE_CENT)  # off by 0.0007 at most


@pytest.mark.parametrize(("code", "reading"), [("42", 186.87), ("22", 145.19)])
def test_the_uncertain_readings_are_matched_too(nets: pd.Series, code: str, reading: float) -> None:
    """The published figures are uncertain readings, but the calibration hits them too."""
    assert float(nets[code]) == pytest.approx(reading, abs=TO_THE_CENT)  # off by 0.0006 at most


def test_21_provinces_and_the_xpcc_benefit_and_3_are_even(nets: pd.Series) -> None:
    beneficiaries = nets[nets > ROUGHLY_EVEN]
    even = nets[nets.abs() <= ROUGHLY_EVEN]
    assert len(beneficiaries) == 22
    assert "66" in beneficiaries.index
    assert len(even) == 3
    assert abs(float(nets.sum())) < 1e-6


def test_heilongjiang_starts_in_deficit(units: pd.DataFrame) -> None:
    assert units.loc["23", "opening_balance_100m"] < 0


def test_several_units_run_a_current_deficit(units: pd.DataFrame, before: pd.Series) -> None:
    deficit = before < units["opening_balance_100m"]
    assert deficit.sum() >= 3


def test_some_units_cannot_pay_in_full_under_the_rule(
    units: pd.DataFrame, before: pd.Series, nets: pd.Series
) -> None:
    floor = units["opening_balance_100m"].clip(upper=0.0)
    short = before + nets < floor
    assert 3 <= short.sum() <= 5
    assert short["23"]


def test_free_transfers_and_subsidies_can_pay_everyone(
    data: FundData, units: pd.DataFrame, before: pd.Series, rule: RuleAllocation
) -> None:
    floor = units["opening_balance_100m"].clip(upper=0.0)
    # what each unit still needs after handing up its contribution, before any transfer
    need = (floor - (before - rule.contribution_100m)).clip(lower=0.0).sum()
    available = (
        rule.fund_100m
        + units["local_subsidy_cap_100m"].sum()
        + data.parameters.central_subsidy_budget_100m
    )
    assert need < 0.5 * available
    assert float((before - floor).sum()) > 0


def test_fujian_uses_its_published_figures(
    units: pd.DataFrame, before: pd.Series, nets: pd.Series
) -> None:
    fujian = units.loc["35"]
    assert fujian["insured_employees_10k"] == 894.36
    assert fujian["retirees_10k"] == 159.34
    assert fujian["expenditure_100m"] == 532.89
    revenue = (
        fujian["contribution_income_100m"]
        + fujian["other_income_100m"]
        + fujian["planned_central_subsidy_100m"]
    )
    assert revenue == pytest.approx(391.99, abs=TO_THE_CENT)  # exact
    assert before["35"] + nets["35"] == pytest.approx(562.49, abs=TO_THE_CENT)  # off by 0.0005


def test_the_figures_are_plausible(units: pd.DataFrame) -> None:
    assert units["opening_balance_100m"].sum() == pytest.approx(50900.0, abs=0.01)
    guangdong = units.loc["44"]
    assert 12 * guangdong["opening_balance_100m"] / guangdong["expenditure_100m"] > 48
    workers_per_retiree = units["insured_employees_10k"] / units["retirees_10k"]
    assert workers_per_retiree["44"] > 6
    assert workers_per_retiree["23"] < 1.3
    published_wages = {"East": 104069, "Central": 73457, "West": 81954, "Northeast": 71721}
    for region, published in published_wages.items():
        mean = units.loc[units["region"] == region, "avg_wage_yuan"].mean()
        assert _within(float(mean), published, 0.15), region
    assert units.loc["11", "avg_wage_yuan"] > 150000
    assert units.loc["31", "avg_wage_yuan"] > 150000
    assert units.loc["54", "avg_wage_yuan"] > 120000


def test_the_workbook_layout() -> None:
    workbook = openpyxl.load_workbook(SAMPLE, read_only=True)
    try:
        assert workbook.sheetnames == [
            "provinces",
            "parameters",
            "scenarios",
            "growth",
            "projection",
            "ratio_path",
            "sources",
        ]
        rows = list(workbook["provinces"].iter_rows(values_only=True))
        assert list(rows[0]) == [f.label for f in PROVINCE_FIELDS]
        assert all(isinstance(row[0], str) for row in rows[1:])
        parameters = dict(list(workbook["parameters"].iter_rows(values_only=True))[1:])
        assert "max_rule_deviation" in parameters
        assert parameters["max_rule_deviation"] == 0.5
        sources = list(workbook["sources"].iter_rows(values_only=True))
    finally:
        workbook.close()
    header = list(sources[0])
    records = [dict(zip(header, row, strict=True)) for row in sources[1:]]
    items = {r["item"] for r in records}
    for field in PROVINCE_FIELDS:
        assert f"provinces: {field.key}" in items
    urls = {r["source_url"] for r in records if r["source_url"]}
    assert urls >= PUBLISHED_URLS
    statuses = " ".join(r["status"] for r in records)
    assert "published" in statuses
    assert "illustrative" in statuses


def test_rebuilding_gives_the_same_numbers(
    builder: ModuleType, units: pd.DataFrame, tmp_path: Path
) -> None:
    rows = builder.sample_rows()
    assert rows == builder.sample_rows()
    shipped = units.drop(columns="input_row").to_dict(orient="records")
    assert len(rows) == len(shipped)
    for built, read in zip(rows, sorted(shipped, key=lambda r: r["code"]), strict=True):
        assert built.keys() == read.keys()
        for key, value in built.items():
            if value is None:
                assert pd.isna(read[key]), (built["code"], key)
            elif isinstance(value, str):
                assert read[key] == value, (built["code"], key)
            else:
                assert float(read[key]) == pytest.approx(value, abs=1e-9), (built["code"], key)
    rebuilt = builder.write_workbook(tmp_path / "sample.xlsx")
    pd.testing.assert_frame_equal(read_workbook(rebuilt).units, units)
