"""The allocation in words: summary sentences, binding constraints, duals, closing a gap."""

from __future__ import annotations

import copy
import dataclasses
import math
import re
from pathlib import Path

import numpy as np
import pytest
from openpyxl import load_workbook

from model.analysis import diagnostics, narrative
from model.analysis.results import Allocation, roles
from model.analysis.runner import solve_scenario
from model.schema import PARAMETER_FIELDS, PROVINCE_FIELDS
from model.workbook import reader
from model.workbook.reader import read_workbook
from model.workbook.template import write_template
from tests.workbooks import WORKED_EXAMPLE, WORKED_PARAMETERS, write_workbook

CJK = re.compile(r"[\u4e00-\u9fff]")


def solve(folder: Path, units: list[dict], parameters: dict) -> Allocation:
    data = read_workbook(write_workbook(folder / "in.xlsx", units, parameters))
    return solve_scenario(data, data.scenarios[0])


@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory) -> Allocation:
    """The worked example of docs/formulation.md §2: full payment, no subsidy, free transfers."""
    return solve(tmp_path_factory.mktemp("full"), WORKED_EXAMPLE, WORKED_PARAMETERS)


def gap_units() -> list[dict]:
    units = copy.deepcopy(WORKED_EXAMPLE)
    units[1].update(expenditure_100m=1500, local_subsidy_cap_100m=100)
    units[2].update(expenditure_100m=700, local_subsidy_cap_100m=50, opening_balance_100m=0)
    return units


GAP_PARAMETERS = dict(
    WORKED_PARAMETERS,
    central_subsidy_budget_100m=30,
    max_rule_deviation=0.5,
    reserve_months_floor=1,
)


@pytest.fixture(scope="module")
def gap(tmp_path_factory: pytest.TempPathFactory) -> Allocation:
    """Beta and Gamma cannot pay in full: local caps, the central budget and the floor bind."""
    return solve(tmp_path_factory.mktemp("gap"), gap_units(), GAP_PARAMETERS)


def with_table(allocation: Allocation, **columns: object) -> Allocation:
    """A copy of ``allocation`` with some table columns replaced (for exact wording tests)."""
    return dataclasses.replace(allocation, table=allocation.table.assign(**columns))


def english(lines: list[tuple[str, str]]) -> str:
    return "\n".join(en for _, en in lines)


def chinese(lines: list[tuple[str, str]]) -> str:
    return "\n".join(zh for zh, _ in lines)


# --- helpers -------------------------------------------------------------------------------


def test_join_lists_names_in_plain_english_and_chinese() -> None:
    assert narrative.join_en([]) == ""
    assert narrative.join_en(["Jilin"]) == "Jilin"
    assert narrative.join_en(["Jilin", "Liaoning"]) == "Jilin and Liaoning"
    assert narrative.join_en(["A", "B", "C"]) == "A, B and C"
    assert narrative.join_en(list("ABCDEFG"), limit=3) == "A, B, C and 4 more"
    assert narrative.join_zh(["吉林", "辽宁", "黑龙江"]) == "吉林、辽宁和黑龙江"
    assert narrative.join_zh(list("甲乙丙丁"), limit=2) == "甲、乙等4个单位"


def test_cells_follow_the_template_layout(tmp_path: Path) -> None:
    """provinces!N is the local subsidy cap and parameters!B8 the central budget, as written."""
    workbook = load_workbook(write_template(tmp_path / "template.xlsx"))
    for field in PROVINCE_FIELDS:
        cell = reader.province_cell(field.key).split("!")[1] + "1"
        assert workbook["provinces"][cell].value == field.label
    for field in PARAMETER_FIELDS:
        row = int(reader.parameter_cell(field.key).split("!B")[1])
        assert workbook["parameters"].cell(row=row, column=1).value == field.key
    assert reader.province_cell("local_subsidy_cap_100m") == "provinces!N"
    assert reader.parameter_cell("central_subsidy_budget_100m") == "parameters!B8"


def test_english_name_falls_back_to_chinese(full: Allocation) -> None:
    unnamed = with_table(full, name_en=["", "Beta", ""])
    assert narrative.join_en(narrative.unit_names(unnamed.table)[1]) == "甲, Beta and 丙"


# --- roles and counts ----------------------------------------------------------------------


def test_roles_and_counts(full: Allocation) -> None:
    roles = narrative.unit_roles(full)
    assert list(roles) == ["contributor", "beneficiary", "contributor"]
    counts = narrative.headline_counts(full)
    assert counts["units"] == 3
    assert (counts["contributors"], counts["beneficiaries"], counts["even"]) == (2, 1, 0)
    # docs/formulation.md §2: under the rule A and C hand up, B receives.
    assert (counts["rule_contributors"], counts["rule_beneficiaries"]) == (2, 1)
    assert counts["subsidised"] == 0 and counts["gap_units"] == 0


def test_a_net_transfer_within_5_yi_is_roughly_even(full: Allocation) -> None:
    """docs/outputs.md: contributor below −5亿, beneficiary above +5亿, roughly even between."""
    assert list(roles(np.array([-5.0, 5.0, 0.0, -4.99, 4.99, -5.01, 5.01]))) == [
        "even",
        "even",
        "even",
        "even",
        "even",
        "contributor",
        "beneficiary",
    ]
    even = with_table(full, role=["even"] * 3)
    assert narrative.role_labels(even).iloc[0] == "基本持平 Roughly even"


def test_roughly_even_units_are_counted_and_said(full: Allocation) -> None:
    allocation = with_table(
        full, role=["contributor", "beneficiary", "even"], net_transfer_100m=[-360.0, 363.0, -3.0]
    )
    counts = narrative.headline_counts(allocation)
    assert (counts["contributors"], counts["beneficiaries"], counts["even"]) == (1, 1, 1)
    lines = narrative.summary_sentences(allocation)
    assert (
        "1 unit is a net contributor, 1 unit is a net beneficiary and 1 unit is roughly even "
        "(net within ±5亿)" in english(lines)
    )
    assert "1个单位基本持平（净调剂在±5亿元以内）" in chinese(lines)


# --- summary -------------------------------------------------------------------------------


def test_summary_of_full_payment(full: Allocation) -> None:
    lines = narrative.summary_sentences(full)
    assert 3 <= len(lines) <= 6
    for zh, en in lines:
        assert CJK.search(zh), zh
        assert not CJK.search(en.replace("亿", "")), en  # English, keeping the 亿 unit
    text = english(lines)
    assert "Full payment is guaranteed in all 3 units." in text
    assert "619.20亿" in text
    assert "2 units are net contributors and 1 unit is a net beneficiary" in text
    assert "Beta receives the largest net transfer" in text
    assert "Alpha hands up the most (-360.00亿)" in text
    # No unit needs subsidy, so there is no subsidy sentence at all.
    assert "subsidy" not in text and "补助" not in chinese(lines)
    assert "The lowest reserve, in months of expenditure, is -2.4 months before" in text
    # Free maximin gives Beta the whole fund: 532.80亿 moved against the rule's 223.20亿.
    assert "moves 532.80亿 between units, 2.4 times what the statutory rule moves" in text
    zh = chinese(lines)
    assert "全部3个统筹单位均可保证养老金按时足额发放" in zh
    assert "乙获得的净调剂最多" in zh


def test_summary_of_a_gap_names_the_units_and_the_capped_subsidy(gap: Allocation) -> None:
    lines = narrative.summary_sentences(gap)
    text = english(lines)
    total = gap.totals["unfunded_gap_100m"]
    assert f"an unfunded gap of {total:,.2f}亿 remains in Beta and Gamma" in text
    assert "local 150.00亿, at the cap in Beta and Gamma; central 30.00亿" in text
    assert "乙和丙仍有" in chinese(lines)


@pytest.mark.parametrize(
    ("objective", "phrase"),
    [
        ("maximin", "The lowest reserve"),
        ("range", "The spread of reserve months"),
        ("mad", "The mean absolute deviation of reserve months"),
    ],
)
def test_imbalance_sentence_follows_the_objective(
    full: Allocation, objective: str, phrase: str
) -> None:
    policy = dataclasses.replace(full.parameters, objective=objective)
    last = narrative.summary_sentences(dataclasses.replace(full, parameters=policy))[-1]
    assert last[1].startswith(phrase)


# --- binding constraints -------------------------------------------------------------------


def test_binding_lines_without_limits(full: Allocation) -> None:
    text = english(diagnostics.binding_lines(full))
    assert "the fund pays out exactly what it raises, 619.20亿" in text
    assert "every cap is 0" in text
    assert "none is set (parameters!B7 is blank), so transfers are free" in text
    assert "every unit ends the year above the full-payment limit" in text
    assert "No extra central subsidy is budgeted (parameters!B8 is 0)." in text


def test_binding_lines_name_where_each_constraint_binds(gap: Allocation) -> None:
    text = english(diagnostics.binding_lines(gap))
    cap = reader.province_cell("local_subsidy_cap_100m", gap.source)
    band = reader.parameter_cell("max_rule_deviation", gap.source)
    budget = reader.parameter_cell("central_subsidy_budget_100m", gap.source)
    assert f"Local subsidy is at its cap ({cap}) in Beta (100.00亿) and Gamma (50.00亿)" in text
    assert f"At the lower edge of the ±50% rule band ({band}): Alpha" in text
    assert "At the reserve floor of 1 month of expenditure: Beta and Gamma" in text
    assert f"The central subsidy budget of 30.00亿 is used up ({budget})." in text
    assert "乙（100.00亿元）和丙（50.00亿元）" in chinese(diagnostics.binding_lines(gap))


def test_a_zero_band_reproduces_the_rule(full: Allocation) -> None:
    policy = dataclasses.replace(full.parameters, max_rule_deviation=0.0)
    text = english(diagnostics.binding_lines(dataclasses.replace(full, parameters=policy)))
    assert "every transfer equals the statutory allocation" in text


def test_an_unused_central_budget_says_how_much_is_left(full: Allocation) -> None:
    policy = dataclasses.replace(full.parameters, central_subsidy_budget_100m=200.0)
    text = english(diagnostics.binding_lines(dataclasses.replace(full, parameters=policy)))
    assert "not used up: 0.00亿 of 200.00亿" in text


# --- duals ---------------------------------------------------------------------------------


def test_dual_lines_say_what_each_value_means(full: Allocation) -> None:
    allocation = with_table(
        dataclasses.replace(full, fund_dual=1.0), full_payment_dual=[0.0, 1.0, -0.0]
    )
    lines = diagnostics.dual_lines(allocation)
    text = english(lines)
    assert "local (marginal) values" in text and "need not be unique" in text
    assert "One more 亿 in the fund would save 1.00亿 of subsidy." in text
    assert "Beta: each extra 亿 of requirement needs 1.00亿 more fiscal subsidy." in text
    assert "In the other 2 units a small extra requirement costs nothing (dual 0)" in text
    assert "调剂基金每增加1亿元，可节省财政补助1.00亿元" in chinese(lines)


def test_units_with_the_same_dual_share_a_line(full: Allocation) -> None:
    allocation = with_table(full, full_payment_dual=[0.5, 0.5, 0.5])
    text = english(diagnostics.dual_lines(allocation))
    assert "Alpha, Beta and Gamma: each extra 亿 of requirement needs 0.50亿" in text
    assert "other" not in text


# --- closing a gap -------------------------------------------------------------------------


def test_no_gap_needs_no_change(full: Allocation) -> None:
    assert diagnostics.gap_lines(full) == [
        ("所有单位均可足额发放，没有缺口需要弥补。", "No unit has an unfunded gap.")
    ]


def test_gap_lines_name_the_input_cells_and_amounts(gap: Allocation) -> None:
    lines = diagnostics.gap_lines(gap)
    text = english(lines)
    beta = gap.table.loc["B"]
    short = beta["unfunded_gap_100m"]
    assert f"Beta (code B) is short of {short:,.2f}亿" in text

    def cell(key: str) -> str:
        return reader.province_cell(key, gap.source, 3)

    assert cell("local_subsidy_cap_100m") != "provinces!N3"
    assert (
        f"raise the local subsidy cap ({cell('local_subsidy_cap_100m')}) from 100.00亿 to "
        f"{up(100 + short):,.2f}亿" in text
    )
    assert (
        f"raise the contribution income ({cell('contribution_income_100m')}) by {up(short):,.2f}亿"
        in text
    )
    # Cutting expenditure also lowers a 1-month floor by 1/12 of the cut.
    assert (
        f"lower the expenditure ({cell('expenditure_100m')}) by {up(short / (13 / 12)):,.2f}亿"
        in text
    )
    opening = cell("opening_balance_100m")
    assert f"({opening}) from 100.00亿 to {up(100 + short):,.2f}亿" in text
    budget = reader.parameter_cell("central_subsidy_budget_100m", gap.source)
    floor = reader.parameter_cell("reserve_months_floor", gap.source)
    assert f"central subsidy budget ({budget}) from 30.00亿 to {up(30 + short):,.2f}亿" in text
    assert f"even setting the reserve floor ({floor}) to 0 would not close it" in text
    total = gap.totals["unfunded_gap_100m"]
    assert f"from 30.00亿 to {up(30 + total):,.2f}亿 would close every gap at once" in text
    assert "Gamma (code C)" in text
    assert f"地方财政补助上限（{cell('local_subsidy_cap_100m')}）" in chinese(lines)


def up(value: float) -> float:
    """Required amounts are shown rounded up to the cent, so typing them closes the gap."""
    return math.ceil(value * 100 - 1e-9) / 100


def test_a_negative_opening_balance_only_counts_above_zero(full: Allocation) -> None:
    allocation = with_table(
        full, unfunded_gap_100m=[0.0, 10.0, 0.0], opening_balance_100m=[0, -50, 0]
    )
    text = english(diagnostics.gap_lines(allocation))
    assert "from -50.00亿 to 10.00亿 (while it is negative the floor moves with it)" in text


def test_a_small_gap_can_be_closed_by_a_lower_floor_or_a_wider_band(full: Allocation) -> None:
    policy = dataclasses.replace(full.parameters, reserve_months_floor=2.0, max_rule_deviation=0.1)
    allocation = with_table(
        dataclasses.replace(full, parameters=policy),
        unfunded_gap_100m=[0.0, 10.0, 0.0],
        at_band_upper=[False, True, False],
        allocation_100m=[0.0, 340.56, 0.0],
    )
    text = english(diagnostics.gap_lines(allocation))
    # Beta spends 500亿 a year: 10亿 is 0.24 months of it.
    assert "lower the reserve floor (parameters!B5) from 2 to 1.76 months" in text
    # (340.56 + 10) / 309.6 − 1 = 0.1323…, shown rounded up so that typing it is enough.
    assert "widen the max rule deviation (parameters!B7) from 0.10 to at least 0.14" in text


def test_a_minimum_local_share_is_mentioned(full: Allocation) -> None:
    allocation = with_table(full, unfunded_gap_100m=[0.0, 10.0, 0.0], min_local_share=[0, 0.3, 0])
    assert "its minimum local share is 30%" in english(diagnostics.gap_lines(allocation))
