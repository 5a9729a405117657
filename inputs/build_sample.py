"""Build ``inputs/sample_2020.xlsx``: an illustrative 2020 workbook calibrated to published totals.

Run it from the repository root with ``.venv/bin/python inputs/build_sample.py``. It is
deterministic: the same figures come out on every run, and no randomness is involved.

What is published and what is not (see the workbook's ``sources`` sheet):

- Published, and reproduced by the statutory rule at ratio 0.04: the fund of 7398.23亿, the
  seven net contributors handing up 1767亿 net, Guangdong −645.71, Liaoning +555.58,
  Heilongjiang +485.56, and 21 provinces plus the XPCC as net beneficiaries with 3 roughly
  even. Fujian's insured employees, retirees, revenue, expenditure and year-end balance are
  published and used as they are; the accumulated balance at the end of 2019 (50 900亿) is
  matched as a national total.
- Illustrative: every other per-province figure. The provinces' full input tables are not
  published in machine-readable form, so wages, retirees and balances are plausible values
  chosen by hand, and the covered employees are then solved so that the rule hits the
  published nets exactly.

The calibration is closed-form. With the retirees fixed, the fund pays
``per_retiree = fund / Σ retirees`` to every retiree, so a unit's contribution must be
``per_retiree × retirees − net`` to reach its target net; dividing by
``ratio × 0.9 × wage`` gives its covered employees, which are split into insured employees
and enterprise employment with a chosen ratio. Balances are built the same way: the units
that cannot pay in full under the rule get the contribution income that leaves them exactly
the chosen shortfall below their floor.
"""

from __future__ import annotations

import datetime as dt
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from model.lp.projection import project
from model.lp.rule import RuleAllocation, statutory_allocation
from model.schema import (
    GROWTH_DRIVERS,
    GROWTH_SHEET,
    PARAMETERS_SHEET,
    PROJECTION_SHEET,
    PROVINCE_FIELDS,
    PROVINCES_SHEET,
    RATIO_PATH_SHEET,
    SCENARIOS_SHEET,
)
from model.workbook.horizon import Horizon
from model.workbook.scenarios import Parameters

OUTPUT = Path(__file__).resolve().parent / "sample_2020.xlsx"
SOURCES_SHEET = "sources"

YEAR = 2020
CONTRIBUTION_RATIO = 0.04
WAGE_BASE_SHARE = 0.9
CENTRAL_SUBSIDY_BUDGET_100M = 200.0
ROUGHLY_EVEN_100M = 5.0

# Published figures (published; sources in the sample's sources sheet).
FUND_100M = 7398.23
NET_CONTRIBUTORS_TOTAL_100M = -1767.0
OPENING_TOTAL_100M = 50900.0  # enterprise fund accumulated balance, end of 2019
FUJIAN_INSURED_10K = 894.36
FUJIAN_RETIREES_10K = 159.34
FUJIAN_REVENUE_100M = 391.99
FUJIAN_EXPENDITURE_100M = 532.89
FUJIAN_CLOSING_100M = 562.49

URL_RATIO_2020 = (
    "https://www.tellerreport.com/business/2020-07-29-this-year-the-level-of-pension-benefits-"
    "still-achieve-%22universal-increase%22.rJudpA9CxD.html"
)
URL_FUND_2020 = (
    "https://www.tellerreport.com/business/2020-06-22-central-pension-adjustments-exceed-700-"
    "billion-yuan--net-benefits-in-four-provinces-exceed-10-billion-yuan.HkWJm1tA6L.html"
)
URL_GUANGDONG_2020 = (
    "https://www.jqknews.com/news/498638-Steady!_Nearly_300_million_people_can_get_the_money_"
    "Seven_provinces_have_a_net_contribution_of_1767_billion.html"
)
URL_NORTHEAST_2020 = "https://wodefinance.com/TianTianFund/qkcniehapz.html"
URL_BALANCE_2019 = (
    "https://www.tellerreport.com/news/2020-03-06---ministry-of-human-resources-and-social-"
    "security--it-is-fully-guaranteed-that-the-national-pension-will-be-paid-on-time-and-in-"
    "full--the-cumulative-national-balance-has-exceeded-5-trillion-yuan--.r1b3WiaJS8.html"
)
URL_FUND_FLOWS_2018 = "http://www.china.org.cn/china/2019-09/25/content_75244955_12.htm"
URL_RATIO_2021 = "http://china.org.cn/china/2022-02/27/content_78074532_10.htm"
URL_CASS_2019 = "https://www.bjqtforthbase.com/channels/220704/programs/29439309"
URL_FUJIAN_2020 = "https://tjj.fujian.gov.cn/tongjinianjian/dz2022/cn-en/html/1007.htm"
URL_GUANGDONG_2016 = "https://wodefinance.com/TianTianFund/ohtkyxyepj.html"
URL_RATIOS_2017 = (
    "https://www.pionline.com/article/20180615/ONLINE/180619898/china-creating-adjustment-pool-"
    "for-pension-payouts-in-less-vibrant-provinces"
)
URL_WAGES_2019 = (
    "https://www.marketscreener.com/news/The-Average-Annual-Wage-of-Persons-Employed-in-Urban-"
    "Non-private-Units-In-2019--30625731/"
)

# People and the target nets. Wages are illustrative values near the NBS 2019 provincial
# urban non-private averages, rounded to 100 yuan. Retirees are illustrative "approved"
# counts (核定离退休人数) in 万人. The target net is in 亿元; None marks the XPCC, which takes
# the residual so that the nets sum to zero. The last column is enterprise employment as a
# share of insured employees (None for Fujian, whose insured count is published).
# code, 名称, name, region, wage, retirees, target net, employment / insured
PEOPLE: tuple[tuple[Any, ...], ...] = (
    ("11", "北京", "Beijing", "East", 173200, 260.0, -410.0, 0.50),
    ("12", "天津", "Tianjin", "East", 114700, 175.0, 14.5, 0.45),
    ("13", "河北", "Hebei", "East", 73000, 290.0, 33.0, 0.40),
    ("14", "山西", "Shanxi", "Central", 71000, 165.0, 50.0, 0.40),
    ("15", "内蒙古", "Inner Mongolia", "West", 83800, 175.0, 72.0, 0.40),
    ("21", "辽宁", "Liaoning", "Northeast", 74000, 860.0, 555.58, 0.30),
    ("22", "吉林", "Jilin", "Northeast", 73000, 235.0, 145.19, 0.30),
    ("23", "黑龙江", "Heilongjiang", "Northeast", 69000, 700.0, 485.56, 0.30),
    ("31", "上海", "Shanghai", "East", 171900, 390.0, -140.0, 0.50),
    ("32", "江苏", "Jiangsu", "East", 96500, 560.0, -210.0, 0.50),
    ("33", "浙江", "Zhejiang", "East", 99700, 490.0, -180.0, 0.45),
    ("34", "安徽", "Anhui", "Central", 79000, 175.0, 9.8, 0.40),
    ("35", "福建", "Fujian", "East", 85200, FUJIAN_RETIREES_10K, -95.0, None),
    ("36", "江西", "Jiangxi", "Central", 74000, 175.0, 40.0, 0.40),
    ("37", "山东", "Shandong", "East", 84200, 410.0, -86.29, 0.45),
    ("41", "河南", "Henan", "Central", 67300, 260.0, 12.6, 0.40),
    ("42", "湖北", "Hubei", "Central", 79000, 405.0, 186.87, 0.40),
    ("43", "湖南", "Hunan", "Central", 74000, 270.0, 16.4, 0.40),
    ("44", "广东", "Guangdong", "East", 98900, 520.0, -645.71, 0.55),
    ("45", "广西", "Guangxi", "West", 78400, 140.0, 11.2, 0.40),
    ("46", "海南", "Hainan", "East", 84200, 44.0, 6.3, 0.40),
    ("50", "重庆", "Chongqing", "West", 88200, 230.0, 15.7, 0.40),
    ("51", "四川", "Sichuan", "West", 86400, 530.0, 62.0, 0.40),
    ("52", "贵州", "Guizhou", "West", 87300, 85.0, -2.8, 0.40),
    ("53", "云南", "Yunnan", "West", 90200, 100.0, 3.1, 0.40),
    ("54", "西藏", "Tibet", "West", 137900, 12.0, 1.2, 0.40),
    ("61", "陕西", "Shaanxi", "West", 82400, 160.0, 10.9, 0.40),
    ("62", "甘肃", "Gansu", "West", 78000, 85.0, 9.6, 0.40),
    ("63", "青海", "Qinghai", "West", 95100, 27.0, 6.8, 0.40),
    ("64", "宁夏", "Ningxia", "West", 87900, 34.0, 5.9, 0.40),
    ("65", "新疆", "Xinjiang", "West", 82100, 110.0, 7.3, 0.40),
    ("66", "新疆生产建设兵团", "XPCC", "West", 80000, 40.0, None, 0.40),
)

# Balances, all illustrative except Fujian's. Expenditure = retirees × cost per approved
# retiree (万元 a year). Opening balances are end-2019 values; None marks Fujian (derived from
# its published year-end balance) and Guangdong (the residual that makes the national total
# 50 900亿). "Own cover" is (contribution + other income + planned central subsidy) /
# expenditure; units with a shortfall instead get the income that leaves them that many 亿
# below their floor under the statutory rule. Central share is the planned central subsidy
# as a share of expenditure.
# code, cost, opening, own cover, shortfall, central share, local cap, min local share
BALANCES: tuple[tuple[Any, ...], ...] = (
    ("11", 6.6, 5600.0, 1.03, None, 0.00, 150.0, 0.5),
    ("12", 5.4, 450.0, 0.93, None, 0.08, 40.0, 0.4),
    ("13", 4.6, 700.0, 0.92, None, 0.18, 40.0, 0.3),
    ("14", 4.9, 1400.0, 0.97, None, 0.15, 40.0, 0.3),
    ("15", 4.8, 400.0, 0.88, None, 0.25, 25.0, 0.2),
    ("21", 4.4, 300.0, None, 120.0, 0.38, 60.0, 0.1),
    ("22", 4.3, 150.0, None, 45.0, 0.35, 20.0, 0.0),
    ("23", 4.0, -520.0, None, 180.0, 0.45, 40.0, 0.0),
    ("31", 6.8, 2400.0, 0.95, None, 0.00, 150.0, 0.5),
    ("32", 5.0, 4800.0, 0.96, None, 0.02, 150.0, 0.5),
    ("33", 4.8, 4200.0, 0.91, None, 0.02, 150.0, 0.5),
    ("34", 4.6, 1700.0, 1.00, None, 0.15, 40.0, 0.3),
    ("35", None, None, None, None, 0.03, 80.0, 0.4),
    ("36", 4.3, 650.0, 0.93, None, 0.20, 30.0, 0.3),
    ("37", 5.0, 2000.0, 0.89, None, 0.05, 100.0, 0.4),
    ("41", 4.5, 1300.0, 0.96, None, 0.18, 50.0, 0.3),
    ("42", 4.5, 850.0, 0.86, None, 0.22, 40.0, 0.3),
    ("43", 4.4, 1300.0, 0.94, None, 0.18, 40.0, 0.3),
    ("44", 4.7, None, 1.06, None, 0.01, 200.0, 0.5),
    ("45", 4.6, 650.0, 0.93, None, 0.22, 25.0, 0.2),
    ("46", 4.8, 260.0, 0.95, None, 0.12, 15.0, 0.3),
    ("50", 4.4, 1000.0, 0.91, None, 0.20, 40.0, 0.3),
    ("51", 4.5, 3200.0, 0.95, None, 0.20, 60.0, 0.3),
    ("52", 5.0, 900.0, 1.02, None, 0.25, 20.0, 0.2),
    ("53", 5.2, 1200.0, 1.00, None, 0.25, 20.0, 0.2),
    ("54", 7.5, 110.0, 1.05, None, 0.40, 5.0, 0.0),
    ("61", 5.0, 550.0, 0.92, None, 0.22, 30.0, 0.2),
    ("62", 5.0, 420.0, 0.93, None, 0.28, 15.0, 0.1),
    ("63", 6.0, 25.0, None, 12.0, 0.35, 3.0, 0.0),
    ("64", 5.2, 230.0, 0.96, None, 0.28, 8.0, 0.1),
    ("65", 5.4, 1150.0, 0.99, None, 0.28, 20.0, 0.1),
    ("66", 5.0, 80.0, 0.92, None, 0.40, 0.0, 0.0),
)

INTEREST_RATE = 0.025  # other income = interest on a positive opening balance
FUJIAN = "35"
GUANGDONG = "44"
RESIDUAL_NET = "66"

BASE_BAND = 0.5
"""The base scenario keeps every transfer within ±50% of the statutory allocation. Free
transfers with maximin move 6,279亿 (3.5 times the rule's 1,770亿) and leave 23 units net
contributors; within ±50% full payment still needs no extra subsidy, 2,219亿 moves (1.25
times the rule) and the roles come out 21 / 8 / 3 against the published 22 / 7 / 3. Free
maximin stays as the scenario free_maximin."""

PLAN_END_YEAR = 2035
GROWTH_DEFAULTS: tuple[tuple[str, float], ...] = (
    ("wage_growth", 0.05),
    ("insured_growth", -0.005),
    ("retiree_growth", 0.035),
    ("benefit_growth", 0.03),
)
"""Illustrative national growth rates, in the range the CASS 2019 baseline implies: wages
5% a year, the insured shrinking slowly, retirees and pensions each growing 3–3.5%."""

NORTHEAST = ("21", "22", "23")
NORTHEAST_INSURED_GROWTH = -0.02
"""Illustrative: Liaoning, Jilin and Heilongjiang lose insured workers faster than the
nation (out-migration), so the growth sheet gives them their own rate."""

RELIEF_REBOUND = 1.29
"""The end of 2020's contribution relief (阶段性减免): each unit's 2021 contribution income
is its 2020 income grown one year with its wage bill and raised by this factor. The factor
is calibrated, not published: with it the national balance with no extra subsidy peaks in
2025 and runs out in 2035, the year of the CASS 2019–2050 baseline."""

RATIO_2021 = 0.045
"""The published 2021 contribution ratio; the sample's ratio path holds it to 2035."""

PARAMETERS: tuple[tuple[str, Any], ...] = (
    ("year", YEAR),
    ("contribution_ratio", CONTRIBUTION_RATIO),
    ("wage_base_share", WAGE_BASE_SHARE),
    ("reserve_months_floor", 0),
    ("objective", "maximin"),
    ("max_rule_deviation", BASE_BAND),
    ("central_subsidy_budget_100m", CENTRAL_SUBSIDY_BUDGET_100M),
    ("plan_end_year", PLAN_END_YEAR),
    *GROWTH_DEFAULTS,
)

SCENARIO_KEYS: tuple[str, ...] = (
    "contribution_ratio",
    "max_rule_deviation",
    "reserve_months_floor",
    "optimize_ratio_path",
    "ratio_max",
    "ratio_step_max",
)
SCENARIOS: tuple[dict[str, Any], ...] = (
    {"scenario": "ratio_4.5", "contribution_ratio": 0.045},
    {"scenario": "band_20", "max_rule_deviation": 0.2},
    {"scenario": "reserve_3m", "reserve_months_floor": 3},
    {"scenario": "rule_only", "max_rule_deviation": 0},
    {"scenario": "free_maximin", "max_rule_deviation": "blank"},
    {
        "scenario": "optimised_path",
        "optimize_ratio_path": "yes",
        "ratio_max": 0.08,
        "ratio_step_max": 0.005,
    },
)


@dataclass(frozen=True)
class People:
    """One unit's people and target net, as in ``PEOPLE``."""

    code: str
    name_zh: str
    name_en: str
    region: str
    wage: float
    retirees: float
    net: float | None
    employment_share: float | None


@dataclass(frozen=True)
class Balance:
    """One unit's balance assumptions, as in ``BALANCES``."""

    code: str
    cost: float | None
    opening: float | None
    own_cover: float | None
    shortfall: float | None
    central_share: float
    local_cap: float
    local_share: float


def _people() -> list[People]:
    return [People(*row) for row in PEOPLE]


def _balances() -> dict[str, Balance]:
    return {row[0]: Balance(*row) for row in BALANCES}


def _money(value: float) -> float:
    return round(float(value), 2)


def target_nets() -> dict[str, float]:
    """The net each unit is calibrated to; the XPCC takes the residual so Σ net = 0."""
    nets = {p.code: p.net for p in _people() if p.net is not None}
    nets[RESIDUAL_NET] = -sum(nets.values())
    return nets


def _people_rows() -> list[dict[str, Any]]:
    """Solve covered employees so that the rule reaches every target net exactly."""
    people = _people()
    nets = target_nets()
    per_retiree_100m = FUND_100M / sum(p.retirees for p in people)  # 亿元 per 万人
    rows = []
    for p in people:
        contribution = per_retiree_100m * p.retirees - nets[p.code]
        per_covered = CONTRIBUTION_RATIO * WAGE_BASE_SHARE * p.wage * 1e4 / 1e8
        covered = contribution / per_covered
        if p.employment_share is None:
            insured = FUJIAN_INSURED_10K
            employment = 2.0 * covered - insured
        else:
            insured = 2.0 * covered / (1.0 + p.employment_share)
            employment = p.employment_share * insured
        rows.append(
            {
                "code": p.code,
                "name_zh": p.name_zh,
                "name_en": p.name_en,
                "region": p.region,
                "avg_wage_yuan": p.wage,
                "insured_employees_10k": _money(insured),
                "enterprise_employment_10k": _money(employment),
                "retirees_10k": _money(p.retirees),
            }
        )
    return rows


def rule_of(rows: list[dict[str, Any]]) -> RuleAllocation:
    """The statutory split at ratio 0.04, computed by ``model.lp.rule``."""
    frame = pd.DataFrame.from_records(rows).set_index("code", drop=False)
    parameters = Parameters(
        year=YEAR, contribution_ratio=CONTRIBUTION_RATIO, wage_base_share=WAGE_BASE_SHARE
    )
    return statutory_allocation(frame, parameters)


def rule_nets(rows: list[dict[str, Any]]) -> pd.Series:
    """The statutory net transfer of each unit at ratio 0.04."""
    return rule_of(rows).net_transfer_100m


def sample_rows() -> list[dict[str, Any]]:
    """The provinces sheet: one dict per unit, keyed by ``schema.PROVINCE_FIELDS``."""
    rows = _people_rows()
    nets = rule_nets(rows)
    balances = _balances()
    opening: dict[str, float] = {}
    expenditure: dict[str, float] = {}
    for row in rows:
        code, b = row["code"], balances[row["code"]]
        if code == FUJIAN:
            expenditure[code] = FUJIAN_EXPENDITURE_100M
            # published year-end balance = opening + revenue − expenditure + rule net
            opening[code] = _money(
                FUJIAN_CLOSING_100M - FUJIAN_REVENUE_100M + FUJIAN_EXPENDITURE_100M - nets[code]
            )
        else:
            expenditure[code] = _money(row["retirees_10k"] * b.cost)
            if b.opening is not None:
                opening[code] = b.opening
    opening[GUANGDONG] = _money(OPENING_TOTAL_100M - sum(opening.values()))
    for row in rows:
        code, b = row["code"], balances[row["code"]]
        spend = expenditure[code]
        other = _money(INTEREST_RATE * max(opening[code], 0.0))
        central = _money(b.central_share * spend)
        if code == FUJIAN:
            income = FUJIAN_REVENUE_100M
        elif b.shortfall is not None:
            floor = min(opening[code], 0.0)
            income = floor - b.shortfall - opening[code] - nets[code] + spend
        else:
            income = b.own_cover * spend
        row.update(
            {
                "opening_balance_100m": opening[code],
                "contribution_income_100m": _money(income - other - central),
                "other_income_100m": other,
                "expenditure_100m": spend,
                "planned_central_subsidy_100m": central,
                "local_subsidy_cap_100m": b.local_cap,
                "min_local_share": b.local_share,
                # Guardrails are left blank in the sample: the columns are there to be seen.
                "min_transfer_100m": None,
                "max_transfer_100m": None,
            }
        )
    return [{f.key: row[f.key] for f in PROVINCE_FIELDS} for row in rows]


def source_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The sources sheet: what is published, what is illustrative, and how it was calibrated."""
    nets = rule_nets(rows)
    frame = pd.DataFrame.from_records(rows).set_index("code")
    contributors = nets[nets < -ROUGHLY_EVEN_100M]
    even = nets[nets.abs() <= ROUGHLY_EVEN_100M]
    beneficiaries = nets[nets > ROUGHLY_EVEN_100M]

    def row(
        item: str, status: str, how: str, url: str = "", published: Any = None, sample: Any = None
    ) -> dict[str, Any]:
        return {
            "item": item,
            "status": status,
            "published_value": published,
            "sample_value": sample,
            "source_url": url,
            "how": how,
        }

    def net_of(code: str) -> float:
        return round(float(nets[code]), 2)

    illustrative = "illustrative"
    return [
        row(
            "whole workbook",
            "illustrative, calibrated",
            "A sample for trying the model, not official data. The provinces' full input "
            "tables are not published in machine-readable form: every per-province figure is "
            "illustrative except Fujian's published figures, and the values are calibrated "
            "so that the statutory rule reproduces the published 2020 totals below. "
            "sample_value is the sample's national total for a column, or the value reached "
            "for a target.",
        ),
        row(
            "provinces: code",
            "published standard",
            "GB/T 2260 two-digit province codes, written as text; 66 is the code used here for "
            "the Xinjiang Production and Construction Corps (XPCC), which GB/T 2260 does not "
            "list.",
        ),
        row("provinces: name_zh", "published", "Official short names; XPCC = 新疆生产建设兵团."),
        row("provinces: name_en", "published", "Usual English names."),
        row(
            "provinces: region",
            "published convention",
            "The NBS four-region division (East, Central, West, Northeast); the XPCC is West.",
        ),
        row(
            "provinces: avg_wage_yuan",
            illustrative,
            "Illustrative values near the 2019 provincial urban non-private averages, rounded "
            "to 100 yuan. Only the national and regional averages are recorded as published "
            "(East 104069, Central 73457, West 81954, Northeast 71721); sample_value is the "
            "unweighted mean of the 32 units.",
            URL_WAGES_2019,
            90501,
            round(float(frame["avg_wage_yuan"].mean())),
        ),
        row(
            "provinces: retirees_10k",
            illustrative,
            "Illustrative approved retirees (核定离退休人数), chosen by hand. They are lower than "
            "total enterprise retirees: with a 7398.23亿 fund, the published nets of Liaoning "
            "and Heilongjiang need a per-retiree allocation near 9000 yuan. Fujian's is the "
            "published year-end count.",
            URL_FUJIAN_2020,
            FUJIAN_RETIREES_10K,
            round(float(frame["retirees_10k"].sum()), 2),
        ),
        row(
            "provinces: insured_employees_10k",
            "illustrative, calibrated",
            "Solved: contribution = per_retiree × retirees − target net, covered = contribution "
            "/ (0.04 × 0.9 × wage), insured = 2 × covered / (1 + employment share). Fujian's "
            "is the published year-end count.",
            URL_FUJIAN_2020,
            FUJIAN_INSURED_10K,
            round(float(frame["insured_employees_10k"].sum()), 2),
        ),
        row(
            "provinces: enterprise_employment_10k",
            "illustrative, calibrated",
            "Employment share × insured, the share chosen by hand (0.3 Northeast, 0.4-0.55 "
            "elsewhere); Fujian's is 2 × covered − its published insured count.",
        ),
        row(
            "provinces: opening_balance_100m",
            "illustrative, calibrated to a total",
            "Illustrative end-2019 balances; Guangdong takes the residual so that the total "
            "equals the published 50900亿, leaving it over 48 months of expenditure (55.7 months "
            "were published for 2016). Heilongjiang is negative, as it has been since 2016 "
            "(−232亿 published for 2016). Fujian's is back-calculated so that its closing "
            "balance under the rule equals its published year-end balance 562.49亿.",
            URL_BALANCE_2019,
            OPENING_TOTAL_100M,
            round(float(frame["opening_balance_100m"].sum()), 2),
        ),
        row(
            "provinces: expenditure_100m",
            illustrative,
            "Retirees × an illustrative cost per approved retiree (4.0-7.5万元 a year). "
            "Fujian's 532.89亿 is published. The published 2018 national figure was about "
            "32000亿.",
            URL_FUND_FLOWS_2018,
            32000,
            round(float(frame["expenditure_100m"].sum()), 2),
        ),
        row(
            "provinces: contribution_income_100m",
            "illustrative, calibrated",
            "Own cover × expenditure − other income − planned central subsidy, own cover "
            "0.86-1.06 (2020 contributions were cut by pandemic exemptions). Liaoning, Jilin, "
            "Heilongjiang and Qinghai instead get the income that leaves them 120, 45, 180 and "
            "12亿 short of their floor under the rule. Fujian's published revenue 391.99亿 is "
            "split into this, other income and the planned central subsidy.",
            URL_FUJIAN_2020,
            FUJIAN_REVENUE_100M,
        ),
        row(
            "provinces: other_income_100m",
            illustrative,
            f"Interest at {INTEREST_RATE:.1%} on a positive opening balance.",
        ),
        row(
            "provinces: planned_central_subsidy_100m",
            illustrative,
            "A share of expenditure chosen by hand: 0-5% for the rich East, 15-28% for most "
            "of the Centre and West, 35-45% for the Northeast, Tibet, Qinghai and the XPCC.",
            sample=round(float(frame["planned_central_subsidy_100m"].sum()), 2),
        ),
        row(
            "provinces: local_subsidy_cap_100m",
            illustrative,
            "Policy assumption: larger caps for richer provinces, none for the XPCC.",
        ),
        row(
            "provinces: min_local_share",
            illustrative,
            "Policy assumption: 0.5 for the richest provinces down to 0 for the poorest.",
        ),
        row(
            "provinces: min_transfer_100m",
            "blank",
            "Guardrail a planner may set per unit: the least transfer; none is set here.",
        ),
        row(
            "provinces: max_transfer_100m",
            "blank",
            "Guardrail a planner may set per unit: the most transfer; none is set here.",
        ),
        row("parameters: year", "published", "The 2020 budget year.", URL_FUND_2020, YEAR, YEAR),
        row(
            "parameters: contribution_ratio",
            "published",
            "The published 2020 contribution ratio of 4%.",
            URL_RATIO_2020,
            CONTRIBUTION_RATIO,
            CONTRIBUTION_RATIO,
        ),
        row(
            "parameters: wage_base_share",
            "published",
            "The wage base is 90% of the average wage (国发〔2018〕18号).",
            "",
            WAGE_BASE_SHARE,
            WAGE_BASE_SHARE,
        ),
        row(
            "parameters: reserve_months_floor",
            "policy choice",
            "0: no reserve beyond paying in full without deepening an existing deficit.",
            sample=0,
        ),
        row("parameters: objective", "policy choice", "maximin, the default.", sample="maximin"),
        row(
            "parameters: max_rule_deviation",
            "policy choice",
            "0.5: every transfer within ±50% of the statutory allocation. Free transfers with "
            "maximin move 6,279亿, 3.5 times the rule's 1,770亿, and make 23 units net "
            "contributors; within ±50% full payment needs no extra subsidy, 2,219亿 moves (1.25 "
            "times the rule) and the roles come out 21 / 8 / 3, near the published 22 / 7 / 3. "
            "The scenarios sheet tries 0.2, 0 and blank (free_maximin).",
            sample=BASE_BAND,
        ),
        row(
            "parameters: central_subsidy_budget_100m",
            illustrative,
            "Illustrative budget for extra central subsidy.",
            sample=CENTRAL_SUBSIDY_BUDGET_100M,
        ),
        row(
            "parameters: min_return_share",
            "blank",
            "Guardrail: the least share of its contribution every unit gets back; not set in "
            "the base scenario.",
        ),
        row(
            "scenarios",
            illustrative,
            "What-if runs: ratio 4.5% (the published 2021 ratio), a ±20% band around the rule, "
            "a 3-month reserve floor, the statutory rule alone (band 0), and free transfers "
            "with maximin (band blank: the most equal reserves, far from the rule).",
        ),
        row(
            "target: fund_100m",
            "published, reached",
            "Σ contribution at ratio 0.04 (2020 budget).",
            URL_FUND_2020,
            FUND_100M,
            round(rule_of(rows).fund_100m, 2),
        ),
        row(
            "target: net contributors",
            "published, reached",
            "Guangdong, Beijing, Fujian, Jiangsu, Zhejiang, Shanghai and Shandong; the split "
            "among the six other than Guangdong is illustrative.",
            URL_FUND_2020,
            NET_CONTRIBUTORS_TOTAL_100M,
            round(float(contributors.sum()), 2),
        ),
        row(
            "target: Guangdong (44) net",
            "published, reached",
            "net = allocation − contribution",
            URL_GUANGDONG_2020,
            -645.71,
            net_of("44"),
        ),
        row(
            "target: Liaoning (21) net",
            "published, reached",
            "net = allocation − contribution",
            URL_NORTHEAST_2020,
            555.58,
            net_of("21"),
        ),
        row(
            "target: Heilongjiang (23) net",
            "published, reached",
            "net = allocation − contribution",
            URL_NORTHEAST_2020,
            485.56,
            net_of("23"),
        ),
        row(
            "target: Hubei (42) net",
            "published (uncertain reading), reached",
            "Read from a garbled source.",
            URL_NORTHEAST_2020,
            186.87,
            net_of("42"),
        ),
        row(
            "target: Jilin (22) net",
            "published (uncertain reading), reached",
            "Read from a garbled source.",
            URL_NORTHEAST_2020,
            145.19,
            net_of("22"),
        ),
        row(
            "target: net beneficiaries",
            "published, reached",
            f"21 provinces plus the XPCC with net > {ROUGHLY_EVEN_100M:g}亿; which ones, and "
            "the nets other than the published ones, are illustrative.",
            URL_FUND_2020,
            22,
            len(beneficiaries),
        ),
        row(
            "target: roughly even",
            "published, reached",
            f"|net| ≤ {ROUGHLY_EVEN_100M:g}亿; Tibet, Guizhou and Yunnan are an illustrative "
            "choice.",
            URL_FUND_2020,
            3,
            len(even),
        ),
        row(
            "plausibility: workers per retiree",
            "published (approximate)",
            "2017: Guangdong about 8, Heilongjiang under 1.3. Sample: insured / retirees for "
            "Guangdong and Heilongjiang.",
            URL_RATIOS_2017,
            "8 / 1.3",
            f"{_ratio(frame, GUANGDONG):.2f} / {_ratio(frame, '23'):.2f}",
        ),
        row(
            "plausibility: Guangdong reserve months",
            "published (2016)",
            "Months of expenditure in the opening balance.",
            URL_GUANGDONG_2016,
            55.7,
            round(
                12
                * float(frame.loc[GUANGDONG, "opening_balance_100m"])
                / float(frame.loc[GUANGDONG, "expenditure_100m"]),
                1,
            ),
        ),
        *plan_source_rows(row, rows),
    ]


def insured_growth_of(code: str) -> float:
    """The sample's insured growth for a unit: the Northeast's own, else the national."""
    national = dict(GROWTH_DEFAULTS)["insured_growth"]
    return NORTHEAST_INSURED_GROWTH if code in NORTHEAST else national


def projection_rows(rows: list[dict[str, Any]]) -> list[list[Any]]:
    """The projection sheet: every unit's 2021 contribution income after the relief ends."""
    wage = dict(GROWTH_DEFAULTS)["wage_growth"]
    return [
        [
            row["code"],
            YEAR + 1,
            round(
                row["contribution_income_100m"]
                * (1 + wage)
                * (1 + insured_growth_of(row["code"]))
                * RELIEF_REBOUND,
                2,
            ),
        ]
        for row in rows
    ]


def plan_source_rows(row: Any, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The sources sheet's lines on the multi-year plan: what is published, what is not."""
    return [
        row(
            "parameters: plan_end_year",
            "policy choice",
            "The plan runs to 2035, the year the CASS 2019–2050 baseline projects the "
            "enterprise employees' fund to exhaust its accumulated balance.",
            URL_CASS_2019,
            PLAN_END_YEAR,
            PLAN_END_YEAR,
        ),
        row(
            "parameters: wage_growth, insured_growth, retiree_growth, benefit_growth",
            "illustrative",
            "National growth defaults in the range the CASS baseline implies (wages 5%, "
            "insured −0.5%, retirees 3.5%, pensions 3% a year); not published as such.",
            URL_CASS_2019,
            sample=", ".join(f"{k} {v:g}" for k, v in GROWTH_DEFAULTS),
        ),
        row(
            "growth: insured_growth of 21, 22, 23",
            "illustrative",
            "The Northeast loses insured workers faster than the nation (out-migration).",
            sample=NORTHEAST_INSURED_GROWTH,
        ),
        row(
            "projection: 2021 contribution_income_100m",
            "illustrative, calibrated",
            "2020's income is depressed by the contribution relief (阶段性减免), which left a "
            "national current deficit of about 3,750亿. 2021 restores it: each unit's 2020 "
            f"income grown one year with its wage bill and raised by {RELIEF_REBOUND:g}. The "
            "factor is calibrated so that, with the growth defaults, the national balance "
            "with no extra subsidy runs out in 2035 as in the CASS baseline.",
            URL_CASS_2019,
            sample=RELIEF_REBOUND,
        ),
        row(
            "target: national depletion year",
            "published (projection), reached",
            "CASS 中国养老金精算报告2019–2050 baseline: the accumulated balance is exhausted "
            "in 2035 (a later update with reforms moved it to 2044). The sample's national "
            "balance with no extra subsidy peaks in 2025 and runs out in 2035; the baseline's "
            "peak is in the late 2020s (first current deficit 2028), so the sample's peak "
            "comes two to three years early.",
            URL_CASS_2019,
            2035,
            national_depletion_year(rows),
        ),
        row(
            "ratio_path: 2021 contribution_ratio",
            "published",
            "The published 2021 ratio of 4.5%, held to 2035 (from 2022 national pooling "
            "replaced the fund; later ratios are a planner's choice).",
            URL_RATIO_2021,
            RATIO_2021,
            RATIO_2021,
        ),
        row(
            "scenarios: optimised_path",
            "policy choice",
            "The ratio path chosen by caf: the gentlest path rising at most half a point a "
            "year (the published 3% → 4.5% pace) up to 8%.",
        ),
    ]


def sample_horizon(rows: list[dict[str, Any]]) -> Horizon:
    """The growth and projection sheets as the reader will read them."""
    growth = pd.DataFrame(
        {"insured_growth": [NORTHEAST_INSURED_GROWTH] * len(NORTHEAST)},
        index=pd.Index(NORTHEAST, name="code"),
    )
    projected = projection_rows(rows)
    index = pd.MultiIndex.from_tuples([(c, y) for c, y, _ in projected], names=["code", "year"])
    projection = pd.DataFrame({"contribution_income_100m": [v for _, _, v in projected]}, index)
    return Horizon(growth=growth.reindex(columns=list(GROWTH_DRIVERS)), projection=projection)


def national_depletion_year(rows: list[dict[str, Any]]) -> int | None:
    """The first year the national balance with no extra subsidy falls below zero."""
    units = pd.DataFrame.from_records(rows).set_index("code", drop=False).sort_index()
    parameters = Parameters(
        year=YEAR,
        contribution_ratio=CONTRIBUTION_RATIO,
        plan_end_year=PLAN_END_YEAR,
        **dict(GROWTH_DEFAULTS),
    )
    projection = project(units, parameters, sample_horizon(rows))
    flow = sum(
        projection.figure(key)
        for key in (
            "contribution_income_100m",
            "other_income_100m",
            "planned_central_subsidy_100m",
        )
    ) - projection.figure("expenditure_100m")
    balance = units["opening_balance_100m"].sum() + flow.sum(axis=1).cumsum()
    below = [year for year, value in zip(projection.years, balance, strict=True) if value < 0]
    return below[0] if below else None


def _ratio(frame: pd.DataFrame, code: str) -> float:
    return float(frame.loc[code, "insured_employees_10k"] / frame.loc[code, "retirees_10k"])


def _write_table(sheet: Any, header: list[str], records: list[list[Any]]) -> None:
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for record in records:
        sheet.append(record)
    sheet.freeze_panes = "A2"
    for index, title in enumerate(header, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = max(10, min(48, len(title) + 4))


def write_workbook(path: Path = OUTPUT, rows: list[dict[str, Any]] | None = None) -> Path:
    """Write the four sheets (``rows`` defaults to ``sample_rows()``) and return the path."""
    rows = sample_rows() if rows is None else rows
    workbook = Workbook()
    workbook.properties.creator = "inputs/build_sample.py"
    workbook.properties.created = dt.datetime(2020, 1, 1)
    provinces = workbook.active
    provinces.title = PROVINCES_SHEET
    _write_table(
        provinces,
        [f.label for f in PROVINCE_FIELDS],
        [[row[f.key] for f in PROVINCE_FIELDS] for row in rows],
    )
    for (cell,) in provinces.iter_rows(min_row=2, max_col=1):
        cell.number_format = "@"  # codes are text
    _write_table(
        workbook.create_sheet(PARAMETERS_SHEET),
        ["key", "value"],
        [[key, value] for key, value in PARAMETERS],
    )
    _write_table(
        workbook.create_sheet(SCENARIOS_SHEET),
        ["scenario", *SCENARIO_KEYS],
        [[s["scenario"], *(s.get(k) for k in SCENARIO_KEYS)] for s in SCENARIOS],
    )
    _write_table(
        workbook.create_sheet(GROWTH_SHEET),
        ["code", *GROWTH_DRIVERS],
        [
            [
                code,
                *(
                    NORTHEAST_INSURED_GROWTH if d == "insured_growth" else None
                    for d in GROWTH_DRIVERS
                ),
            ]
            for code in NORTHEAST
        ],
    )
    _write_table(
        workbook.create_sheet(PROJECTION_SHEET),
        ["code", "year", "contribution_income_100m"],
        projection_rows(rows),
    )
    _write_table(
        workbook.create_sheet(RATIO_PATH_SHEET),
        ["year", "contribution_ratio"],
        [[YEAR + 1, RATIO_2021]],
    )
    for name in (GROWTH_SHEET, PROJECTION_SHEET):
        for (cell,) in workbook[name].iter_rows(min_row=2, max_col=1):
            cell.number_format = "@"  # codes are text
    sources = source_rows(rows)
    _write_table(
        workbook.create_sheet(SOURCES_SHEET), list(sources[0]), [list(s.values()) for s in sources]
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(path)
    return path


def summary(rows: list[dict[str, Any]]) -> str:
    """A short account of the calibration and of the balances, for the console."""
    frame = pd.DataFrame.from_records(rows).set_index("code")
    nets = rule_nets(rows)
    before = frame.eval(
        "opening_balance_100m + contribution_income_100m + other_income_100m"
        " + planned_central_subsidy_100m - expenditure_100m"
    )
    floor = frame["opening_balance_100m"].clip(upper=0.0)
    closing_rule = before + nets
    shortfall = (floor - closing_rule)[closing_rule < floor]
    deficit = frame.index[before < frame["opening_balance_100m"]]
    lines = [
        f"fund {rule_of(rows).fund_100m:.2f}亿",
        f"net contributors {nets[nets < -ROUGHLY_EVEN_100M].round(2).to_dict()}",
        f"  total {nets[nets < -ROUGHLY_EVEN_100M].sum():.2f}",
        f"beneficiaries {int((nets > ROUGHLY_EVEN_100M).sum())}, roughly even "
        f"{nets[nets.abs() <= ROUGHLY_EVEN_100M].round(2).to_dict()}",
        f"Liaoning {nets['21']:.2f}, Heilongjiang {nets['23']:.2f}, Hubei {nets['42']:.2f}, "
        f"Jilin {nets['22']:.2f}",
        f"current deficit ({len(deficit)}): {', '.join(deficit)}",
        f"short under the rule: {shortfall.round(2).to_dict()}",
        f"opening total {frame['opening_balance_100m'].sum():.2f}, expenditure total "
        f"{frame['expenditure_100m'].sum():.2f}",
    ]
    return "\n".join(lines)


def main() -> int:
    rows = sample_rows()
    path = write_workbook(OUTPUT, rows)
    print(f"wrote {path}")
    print(summary(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
