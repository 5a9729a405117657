"""Round-off is never shown as policy (docs/outputs.md), on every surface a planner reads.

One data-scaled threshold (``solve.negligible``) decides what money is zero; roles use
±5亿; a unit paid in full but below zero at year end gets its sentence; and the reader's
warnings reach the terminal and the workbook (the web page is tested in test_web.py).
"""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from openpyxl import load_workbook
from openpyxl.workbook.workbook import Workbook

from model.analysis import narrative
from model.analysis.results import COMPUTED_MONEY, Allocation, clean, roles
from model.analysis.runner import solve_scenario
from model.cli import main, plan_lines
from model.errors import Problem
from model.export.allocation import allocation_workbook
from model.lp.solve import negligible
from model.vocabulary import ROUGHLY_EVEN_100m
from model.workbook.reader import FundData, read_workbook
from tests.fixtures_lp import instances, money_scale, solve_instance

SAMPLE = Path(__file__).resolve().parents[1] / "inputs" / "sample_2020.xlsx"
FAST = settings(max_examples=25, deadline=None, derandomize=True)
SUBSIDY_WORDS = (
    "Extra fiscal subsidy",
    "Extra subsidy",
    "需追加财政补助",
    "追加财政补助 Extra subsidy",
)
DEFICIT_ZH = "足额发放的底线是min(年初结余, 0)，已有的赤字可以延续，但不得加深"
DEFICIT_EN = (
    "the full-payment floor min(opening, 0) lets an existing deficit persist but never deepen"
)
WARNINGS = (
    Problem(
        "provinces!L14",
        "found 52000 in expenditure, 10,000 times the median unit's",
        "check the unit: 亿元 are expected",
        "支出为52000，是中位数单位的一万倍",
        "请核对计量单位：应为亿元",
    ),
    Problem(
        "parameters!B3",
        "found a ratio of 0.2",
        "check it: 0.04 is usual",
        "上解比例为0.2",
        "请核对：通常为0.04",
    ),
)


# --- the threshold ---------------------------------------------------------------------------


@FAST
@given(instances())
def test_no_reported_money_figure_is_below_round_off_unless_exactly_zero(
    instance: tuple[list[dict[str, Any]], Any],
) -> None:
    records, params = instance
    a = solve_instance(records, params)
    assert a.round_off == negligible(money_scale(records))
    for key in COMPUTED_MONEY:
        values = a.table[key].to_numpy(dtype=float)
        crumbs = values[(values != 0) & (np.abs(values) < a.round_off)]
        assert crumbs.size == 0, (key, crumbs)
        assert not np.signbit(values[values == 0]).any(), key  # never −0.0
    for province in a.to_json()["provinces"]:
        for key, value in province.items():
            if key.endswith("_100m"):
                assert value == 0 or abs(value) >= a.round_off, (key, value)
    # Counting follows the cleaned figures: above round-off, and nothing else.
    subsidy = a.table["local_subsidy_100m"] + a.table["central_subsidy_100m"]
    assert a.subsidised_units == list(a.table.index[subsidy >= a.round_off])
    assert sorted(a.gap_units) == sorted(a.table.index[a.table["unfunded_gap_100m"] >= a.round_off])
    net = a.table["net_transfer_100m"]
    assert list(a.table["role"]) == list(roles(net.to_numpy()))
    counts = narrative.headline_counts(a)
    assert counts["contributors"] == int((net < -ROUGHLY_EVEN_100m).sum())
    assert counts["beneficiaries"] == int((net > ROUGHLY_EVEN_100m).sum())
    assert counts["contributors"] + counts["beneficiaries"] + counts["even"] == len(a.table)


def test_clean_zeroes_crumbs_only_and_never_leaves_minus_zero() -> None:
    cleaned = clean(np.array([3.96e-5, -1e-9, -0.0, 0.002, -0.0021, 5.0]), 0.002)
    assert list(cleaned) == [0.0, 0.0, 0.0, 0.002, -0.0021, 5.0]
    assert not np.signbit(cleaned[:3]).any()


def test_the_threshold_scales_with_the_money_and_keeps_a_thin_real_gap() -> None:
    """0.002亿 for the national data; 50 counties each 0.0025亿 short stay visible."""
    assert negligible(39451.89) == pytest.approx(0.002, rel=0.01)
    assert negligible(30000.0) < 0.0025
    assert negligible(10 * 39451.89) == pytest.approx(10 * negligible(39451.89), rel=0.01)


# --- the sample ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample() -> FundData:
    return read_workbook(SAMPLE)


@pytest.fixture(scope="module")
def solved(sample: FundData) -> dict[str, Allocation]:
    names = ("base", "band_20", "free_maximin")
    return {name: solve_scenario(sample, sample.scenario(name)) for name in names}


def terminal(args: list[str]) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(args, out=out, err=err)
    return code, out.getvalue()


def chart_titles(book: Workbook) -> list[str]:
    return [c.title.tx.rich.p[0].r[0].t for c in book["summary"]._charts]


def summary_rows(book: Workbook) -> dict[str, list[object]]:
    return {
        str(row[0].value): [c.value for c in row[1:4]]
        for row in book["summary"].iter_rows()
        if isinstance(row[0].value, str)
    }


def sheet_text(book: Workbook, name: str) -> str:
    return "\n".join(
        str(cell.value) for row in book[name].iter_rows() for cell in row if cell.value
    )


def test_the_samples_crumb_of_subsidy_is_exactly_zero(solved: dict[str, Allocation]) -> None:
    """Hubei's 3.96e-5亿 of local subsidy is the subsidy level's held slack, not policy."""
    base = solved["base"]
    assert base.table.at["42", "local_subsidy_100m"] == 0.0
    assert base.totals["local_subsidy_100m"] == base.totals["central_subsidy_100m"] == 0.0
    assert base.subsidised_units == []
    assert narrative.headline_counts(base)["subsidised"] == 0
    assert not any("补助" in zh or "subsidy" in en for zh, en in narrative.summary_sentences(base))


def test_the_samples_terminal_summary(tmp_path: Path) -> None:
    code, text = terminal(["run", str(SAMPLE), "-o", str(tmp_path / "a.xlsx")])
    assert code == 0
    assert not any(word in text for word in SUBSIDY_WORDS), text
    assert "units: " not in text and "in 1 units" not in text
    assert "under the statutory rule 7, 22 and 3" in text
    assert "Full payment guaranteed in all 32 units." in text


def test_the_rule_run_splits_7_22_3_everywhere(sample: FundData, tmp_path: Path) -> None:
    rule = solve_scenario(sample, sample.scenario("rule_only"))
    counts = narrative.headline_counts(rule)
    assert (counts["contributors"], counts["beneficiaries"], counts["even"]) == (7, 22, 3)
    assert (counts["rule_contributors"], counts["rule_beneficiaries"], counts["rule_even"]) == (
        7,
        22,
        3,
    )
    rows = summary_rows(allocation_workbook(rule))
    assert rows["净上解单位 Net contributors"][:2] == [7, 7]
    assert rows["净受益单位 Net beneficiaries"][:2] == [22, 22]
    assert rows["基本持平单位 Roughly even"][:2] == [3, 3]
    english = " ".join(en for _, en in narrative.summary_sentences(rule))
    assert "7 units are net contributors, 22 units are net beneficiaries and 3 units are " in (
        english
    )
    _, text = terminal(
        ["run", str(SAMPLE), "-o", str(tmp_path / "r.xlsx"), "--scenario", "rule_only"]
    )
    assert "7 net contributors, 22 net beneficiaries, 3 roughly even" in text
    assert "Roughly even (3): Guizhou -2.80, Tibet +1.20, Yunnan +3.10." in text


def test_the_samples_workbook_has_no_subsidy_sentence_or_chart(
    solved: dict[str, Allocation], tmp_path: Path
) -> None:
    path = tmp_path / "a.xlsx"
    assert terminal(["run", str(SAMPLE), "-o", str(path)])[0] == 0
    book = load_workbook(path)
    titles = chart_titles(book)
    assert len(titles) == 2
    assert not any("subsidy" in title for title in titles), titles
    summary = sheet_text(book, "summary")
    assert "需追加财政补助" not in summary and "Extra fiscal subsidy" not in summary
    assert "in 1 units" not in summary
    rows = summary_rows(book)
    # Optimised, then the statutory rule: the published split is 7 / 22 / 3.
    assert rows["净上解单位 Net contributors"][1] == 7
    assert rows["净受益单位 Net beneficiaries"][1] == 22
    assert rows["基本持平单位 Roughly even"][1] == 3
    assert rows["追加地方财政补助 Extra local subsidy"][0] == 0
    assert "按法定规则，7个单位净上解、22个单位净受益、3个单位基本持平" in summary


def test_a_real_subsidy_below_a_cent_is_said_with_its_digits_in_the_singular(
    solved: dict[str, Allocation],
) -> None:
    base = solved["base"]
    local = base.table["local_subsidy_100m"].copy()
    local["42"] = 0.003
    totals = dict(base.totals, local_subsidy_100m=0.003)
    real = dataclasses.replace(
        base, table=base.table.assign(local_subsidy_100m=local), totals=totals
    )
    zh, en = next(line for line in narrative.summary_sentences(real) if "subsidy" in line[1])
    assert (
        en
        == "Extra fiscal subsidy of 0.0030亿 is needed in 1 unit: local 0.0030亿; central 0.00亿."
    )
    assert zh.startswith("需追加财政补助0.0030亿元，涉及1个单位")


def test_band_20_says_why_full_payment_sits_beside_a_deficit(
    solved: dict[str, Allocation], tmp_path: Path
) -> None:
    band = solved["band_20"]
    assert band.status == "full_payment"
    assert band.deficit_units == ["23"]  # Heilongjiang opened at −520亿 and may stay there
    zh, en = narrative.deficit_sentence(band) or ("", "")
    assert zh.startswith("黑龙江（-520.00亿元）年末结余仍为负数") and DEFICIT_ZH in zh
    assert en.startswith("Heilongjiang (-520.00亿) ends the year below zero") and DEFICIT_EN in en
    # Jilin and Qinghai end at a crumb below zero: round-off, so exactly 0 and not named.
    assert band.table.at["22", "closing_balance_100m"] == 0.0
    assert band.table.at["63", "closing_balance_100m"] == 0.0

    path = tmp_path / "band.xlsx"
    code, text = terminal(["run", str(SAMPLE), "-o", str(path), "--scenario", "band_20"])
    assert code == 0
    lines = text.splitlines()
    full = lines.index("Full payment guaranteed in all 32 units.")
    assert lines[full + 1] == zh and lines[full + 2] == en  # Chinese first, then English
    summary = sheet_text(load_workbook(path), "summary")
    assert zh in summary and en in summary
    assert "Extra fiscal subsidy of 64.91亿 is needed in 3 units" in summary


def test_no_deficit_sentence_when_every_unit_ends_at_or_above_zero(
    solved: dict[str, Allocation],
) -> None:
    # Free maximin lifts every unit to 5.7 months; within the base's ±50% band Heilongjiang
    # keeps part of its deficit (and the sentence says so, as for band_20).
    free = solved["free_maximin"]
    assert narrative.deficit_sentence(free) is None
    assert not any(DEFICIT_EN in en for _, en in narrative.summary_sentences(free))


# --- the reader's warnings -------------------------------------------------------------------


@pytest.fixture
def warned(sample: FundData, monkeypatch: pytest.MonkeyPatch) -> FundData:
    """The sample as the reader returns it when it has warnings to give."""
    data = dataclasses.replace(sample, source=dataclasses.replace(sample.source, warnings=WARNINGS))
    monkeypatch.setattr("model.workbook.reader.read_workbook", lambda *args, **kwargs: data)
    return data


def test_caf_check_lists_every_warning_after_valid(warned: FundData) -> None:
    code, text = terminal(["check", str(SAMPLE)])
    assert code == 0
    lines = text.splitlines()
    assert "valid — 32 units, year 2020, 7 scenarios" in lines[0]
    assert lines[1] == "请核对 / Please check:"
    assert lines[2:4] == [f"  {w}" for w in WARNINGS]
    assert lines[4].startswith("征缴率 Effective collection rate")  # then the rates
    assert lines[2].startswith("  provinces!L14: 支出为52000")


def test_caf_check_says_nothing_more_without_warnings(sample: FundData) -> None:
    code, text = terminal(["check", str(SAMPLE)])
    lines = text.splitlines()
    assert code == 0 and "Please check" not in text
    assert lines[1].startswith("征缴率 Effective collection rate")
    assert lines[3:] == plan_lines(sample)  # then what the multi-year plan covers


def test_caf_run_and_compare_show_the_warnings_before_the_summary(
    warned: FundData, tmp_path: Path
) -> None:
    code, text = terminal(["run", str(SAMPLE), "-o", str(tmp_path / "a.xlsx")])
    assert code == 0
    lines = text.splitlines()
    assert lines[:3] == ["请核对 / Please check:", *(f"  {w}" for w in WARNINGS)]
    assert lines[3].startswith("caf base:")
    code, text = terminal(
        [
            "compare",
            str(SAMPLE),
            "-o",
            str(tmp_path / "c.xlsx"),
            "--sweep",
            "contribution_ratio=0.04,0.045",
        ]
    )
    assert text.splitlines()[:3] == ["请核对 / Please check:", *(f"  {w}" for w in WARNINGS)]


def test_the_workbook_shows_a_banner_and_one_diagnostics_row_per_warning(
    warned: FundData, solved: dict[str, Allocation]
) -> None:
    allocation = dataclasses.replace(solved["base"], source=warned.source)
    book = allocation_workbook(allocation)
    banner = book["summary"]["A3"].value
    assert banner.startswith("请核对：读取输入时有2条提醒")
    assert "Please check: reading the input raised 2 warnings" in banner
    rows = [
        [cell.value for cell in row]
        for row in book["diagnostics"].iter_rows(min_row=2)
        if row[0].value == "请核对 Please check"
    ]
    assert rows == [
        [
            "请核对 Please check",
            "provinces!L14：支出为52000，是中位数单位的一万倍——请核对计量单位：应为亿元",
            "provinces!L14: found 52000 in expenditure, 10,000 times the median unit's — "
            "check the unit: 亿元 are expected",
        ],
        [
            "请核对 Please check",
            "parameters!B3：上解比例为0.2——请核对：通常为0.04",
            "parameters!B3: found a ratio of 0.2 — check it: 0.04 is usual",
        ],
    ]
    # The warnings come first on the sheet, before the binding constraints.
    assert book["diagnostics"]["A2"].value == "请核对 Please check"


def test_a_workbook_without_warnings_has_no_banner(solved: dict[str, Allocation]) -> None:
    book = allocation_workbook(solved["base"])
    assert book["summary"]["A3"].value is None
    assert "请核对" not in sheet_text(book, "diagnostics")
