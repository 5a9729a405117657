"""Incentive-compatible mode (docs/formulation.md §3): no reward for collecting less."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from model.analysis.results import Allocation
from tests.fixtures_lp import solve, unit


def hand_units() -> list[dict[str, Any]]:
    """A and C collect above a 20% standard; B collects 14% of its base of 1,000亿 (140亿)
    and is 60亿 short of the standard. B's cap is 50: it commits 50 and owns a 10亿 gap."""
    return [
        unit("A", contribution=100, before=2000),
        unit("B", contribution=10, before=20, cap=50),
        unit("C", contribution=10, before=100),
    ]


def collecting_less(records: list[dict[str, Any]], by: float) -> list[dict[str, Any]]:
    out = [dict(r) for r in records]
    out[1]["contribution_income_100m"] -= by
    return out


def column(allocation: Allocation, key: str) -> np.ndarray:
    return allocation.table[key].to_numpy(dtype=float)


def test_a_unit_below_the_standard_covers_its_own_shortfall() -> None:
    a = solve(hand_units(), standard_contribution_rate=0.2)
    t = a.table
    assert list(column(a, "collection_shortfall_100m")) == pytest.approx([0, 60, 0], abs=1e-6)
    assert t.loc["B", "committed_local_100m"] == pytest.approx(50, abs=1e-6)
    assert t.loc["B", "own_gap_100m"] == pytest.approx(10, abs=1e-6)
    assert t.loc["B", "fund_gap_100m"] == 0
    assert t.loc["B", "unfunded_gap_100m"] == pytest.approx(10, abs=1e-6)
    assert a.status == "unfunded_gap"
    assert a.totals["own_gap_100m"] == pytest.approx(10, abs=1e-6)
    assert a.totals["fund_gap_100m"] == 0


@pytest.mark.parametrize("less", [1.0, 5.0, 30.0])
def test_collecting_less_changes_no_transfer_and_no_central_subsidy(less: float) -> None:
    """The incentive property: B's lower income leaves the LP's data unchanged."""
    before = solve(hand_units(), standard_contribution_rate=0.2)
    after = solve(collecting_less(hand_units(), less), standard_contribution_rate=0.2)
    for key in ("allocation_100m", "central_subsidy_100m"):
        assert column(after, key) == pytest.approx(column(before, key), abs=1e-9)
    grew = {
        key: column(after, key) - column(before, key)
        for key in ("committed_local_100m", "own_gap_100m")
    }
    assert grew["committed_local_100m"][[0, 2]] == pytest.approx([0, 0], abs=1e-9)
    assert grew["own_gap_100m"][[0, 2]] == pytest.approx([0, 0], abs=1e-9)
    assert grew["committed_local_100m"][1] + grew["own_gap_100m"][1] == pytest.approx(less)


def test_without_the_mode_collecting_less_is_rewarded() -> None:
    """The moral hazard, shown: with the mode off, B's lower income raises its transfer."""
    before = solve(hand_units())
    after = solve(collecting_less(hand_units(), 5.0))
    assert after.table.loc["B", "allocation_100m"] > before.table.loc["B", "allocation_100m"] + 1


def test_caf_check_reports_every_units_effective_collection_rate(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from pathlib import Path

    from model.cli import main

    sample = Path(__file__).resolve().parent.parent / "inputs" / "sample_2020.xlsx"
    assert main(["check", str(sample)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].endswith("national 14.9%")  # Σ income / Σ contribution base
    assert lines[2].startswith("  by unit, lowest first: 福建 6.0%, 广东 8.1%")
    assert lines[2].count("%") == 32


def test_a_sample_run_in_incentive_mode_keeps_the_two_gaps_apart() -> None:
    """A mode-on run of the sample keeps the fund's own gap apart from the units' own."""
    from pathlib import Path

    from model.analysis.runner import solve_scenario
    from model.workbook.reader import read_workbook
    from model.workbook.scenarios import Scenario

    data = read_workbook(Path(__file__).resolve().parent.parent / "inputs" / "sample_2020.xlsx")
    params = data.parameters.with_overrides({"standard_contribution_rate": 0.13})
    a = solve_scenario(data, Scenario("incentive", params))
    t = a.totals
    assert t["unfunded_gap_100m"] == pytest.approx(t["own_gap_100m"] + t["fund_gap_100m"])
    assert t["collection_shortfall_100m"] == pytest.approx(
        t["committed_local_100m"] + t["own_gap_100m"]
    )
    assert set(a.table.index[a.table["collection_shortfall_100m"] > 0]) == {"11", "33", "35", "44"}


def test_the_workbook_keeps_the_two_gaps_apart_unit_by_unit() -> None:
    from pathlib import Path

    from model.analysis.runner import solve_scenario
    from model.export.allocation import INCENTIVE_COLUMNS, allocation_workbook
    from model.workbook.reader import read_workbook
    from model.workbook.scenarios import Scenario

    data = read_workbook(Path(__file__).resolve().parent.parent / "inputs" / "sample_2020.xlsx")
    params = data.parameters.with_overrides({"standard_contribution_rate": 0.13})
    a = solve_scenario(data, Scenario("incentive", params))
    sheet = allocation_workbook(a)["allocation"]
    header = [c.value for c in sheet[1]]
    keys = [c.key for c in INCENTIVE_COLUMNS]
    at = {
        key: header.index(next(h for h in header if h and h.startswith(label)))
        for key, label in (
            ("collection_shortfall_100m", "征缴不足"),
            ("committed_local_100m", "自身财政承担"),
            ("own_gap_100m", "自身责任缺口"),
            ("fund_gap_100m", "基金未弥补缺口"),
        )
    }
    assert list(at) == keys
    code_col = header.index(next(h for h in header if h and h.startswith("代码")))
    for row in sheet.iter_rows(min_row=2, values_only=True):
        code = str(row[code_col])
        for key, col in at.items():
            assert (row[col] or 0.0) == pytest.approx(a.table.loc[code, key], abs=1e-9)


def test_an_own_gap_is_closed_only_by_the_unit_or_a_lower_standard() -> None:
    """Each listed change is re-solved: it must close B's own gap (10亿 in the hand case)."""
    from model.analysis import diagnostics

    a = solve(hand_units(), standard_contribution_rate=0.2)
    lines = [en for _, en in diagnostics.gap_lines(a)]
    assert any("own responsibility of units collecting below the standard" in x for x in lines)
    assert not any("central subsidy budget" in x and "would close" in x for x in lines[2:])
    raised_cap = hand_units()
    raised_cap[1]["local_subsidy_cap_100m"] = 60.0  # as listed: 50 → 60
    assert solve(raised_cap, standard_contribution_rate=0.2).totals["own_gap_100m"] == 0
    more = hand_units()
    more[1]["contribution_income_100m"] += 10.0  # as listed: +10
    assert solve(more, standard_contribution_rate=0.2).totals["own_gap_100m"] == 0
    lower = solve(hand_units(), standard_contribution_rate=0.19)
    assert lower.totals["own_gap_100m"] == 0  # 0.19 × 1,000 − 140 = 50, all committed


def test_a_unit_whose_commitment_uses_up_its_cap_is_at_its_cap() -> None:
    a = solve(hand_units(), standard_contribution_rate=0.2)  # B commits all 50 of its cap
    assert bool(a.table.loc["B", "at_local_cap"])
    assert a.table.loc["B", "local_subsidy_100m"] == pytest.approx(50, abs=1e-6)
