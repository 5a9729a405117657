"""The comparison workbook at fifty scenarios: the issue's 37-scenario sweep, laid out as
metrics × scenarios, one long ``changes`` table, titled matrices and print set-up."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.workbook.workbook import Workbook

from model.analysis.batch import run_comparison
from model.analysis.comparison import DIFF_COLUMNS, KPI_COLUMNS, Comparison
from model.analysis.equity import METRICS
from model.export.comparison import (
    COMPARISON_SHEETS,
    KPI_GROUPS,
    MATRIX_SHEETS,
    write_comparison_workbook,
)
from model.schema import PARAMETER_BY_KEY
from model.vocabulary import DISPLAY_ZERO, EQUITY_METRICS, FIGURES, SHORT_STATUSES
from model.workbook.reader import read_workbook
from model.workbook.scenarios import sweep_scenarios
from tests.test_docs import _table

SAMPLE = Path(__file__).resolve().parent.parent / "inputs" / "sample_2020.xlsx"
ISSUE_SWEEP = [
    "contribution_ratio=0.035,0.04,0.045",
    "reserve_months_floor=0,3",
    "max_rule_deviation=0,0.2",
    "objective=maximin,range,mad",
]
SWEPT = ("contribution_ratio", "reserve_months_floor", "objective", "max_rule_deviation")
"""The swept keys in the order the KPI sheet lists parameters (the schema's)."""


@pytest.fixture(scope="module")
def comparison() -> Comparison:
    data = read_workbook(SAMPLE)
    return run_comparison(data, sweep_scenarios(data.parameters, ISSUE_SWEEP), workers=1)


@pytest.fixture(scope="module")
def book(comparison: Comparison, tmp_path_factory: pytest.TempPathFactory) -> Workbook:
    path = tmp_path_factory.mktemp("comparison") / "cmp.xlsx"
    return load_workbook(write_comparison_workbook(comparison, path))


def _column_a(sheet: object) -> list[object]:
    return [row[0] for row in sheet.iter_rows(min_col=1, max_col=1, values_only=True)]  # type: ignore[attr-defined]


def test_sheets_and_their_order(comparison: Comparison, book: Workbook) -> None:
    assert len(comparison.names) == 37
    assert (
        tuple(book.sheetnames)
        == COMPARISON_SHEETS
        == (
            "kpi",
            "charts",
            "changes",
            "net_transfer",
            "subsidy",
            "months_optimized",
            "run_info",
        )
    )


def test_the_docs_list_the_sheets() -> None:
    sheets = [cells[0].strip("`") for cells in _table("outputs.md", "sheets:comparison")]
    assert sheets == list(COMPARISON_SHEETS)


def test_kpi_groups_cover_every_kpi() -> None:
    grouped = [key for _, keys in KPI_GROUPS for key in keys]
    assert sorted(grouped) == sorted(KPI_COLUMNS)


def test_kpi_sheet_is_metrics_by_scenarios(comparison: Comparison, book: Workbook) -> None:
    kpi = book["kpi"]
    # header, parameters (section + 4 swept keys), status, 2 figure groups, 3 equity states
    figures = len(KPI_COLUMNS) + 3 * len(METRICS)
    sections = 1 + len(KPI_GROUPS) + 3
    assert kpi.max_row == 1 + sections + len(SWEPT) + 1 + figures
    assert kpi.max_column == 2 + 37
    assert [kpi.cell(row=1, column=c).value for c in (1, 2)] == ["指标 Metric", "单位 Unit"]
    assert [kpi.cell(row=1, column=c).value for c in range(3, 40)] == comparison.names
    labels = _column_a(kpi)
    assert not any("_" in str(label) for label in labels), labels  # no raw keys
    assert labels[2 : 2 + len(SWEPT)] == [
        "上解比例 Contribution ratio",
        "最低储备月数 Reserve floor",
        "均衡目标 Equity objective",
        "规则偏离上限 Max rule deviation",
    ]
    assert FIGURES["unfunded_gap_100m"].name in labels
    assert labels.count(EQUITY_METRICS["gini"].name) == 3
    assert kpi.freeze_panes == "C2"


def test_kpi_values_read_back(comparison: Comparison, book: Workbook) -> None:
    kpi = book["kpi"]
    labels = _column_a(kpi)
    table = comparison.kpi_table()
    gap = labels.index(FIGURES["unfunded_gap_100m"].name) + 1
    assert kpi.cell(row=gap, column=2).value == "亿元"
    first_gini = labels.index(EQUITY_METRICS["gini"].name) + 1  # the optimised state first
    status = labels.index("状态 Status") + 1
    for index in (0, 7, 36):
        column = 3 + index
        assert kpi.cell(row=gap, column=column).value == pytest.approx(
            table["unfunded_gap_100m"].iloc[index]
        )
        assert kpi.cell(row=first_gini, column=column).value == pytest.approx(
            table["gini_optimized"].iloc[index]
        )
        expected = SHORT_STATUSES[comparison.allocations[index].status].name
        assert kpi.cell(row=status, column=column).value == expected
    band = labels.index("规则偏离上限 Max rule deviation") + 1
    assert kpi.cell(row=band, column=39).value == pytest.approx(0.2)
    assert kpi.cell(row=1, column=39).comment.text == (  # type: ignore[union-attr]
        "contribution_ratio=0.045; reserve_months_floor=3.0; max_rule_deviation=0.2; objective=mad"
    )


def test_kpi_prints_split_across_landscape_pages(book: Workbook) -> None:
    kpi = book["kpi"]
    assert kpi.page_setup.orientation == "landscape"
    assert kpi.page_setup.fitToWidth == 0  # columns split across pages, never shrunk to one
    assert kpi.page_setup.fitToHeight == 1
    assert kpi.print_title_rows.replace("$", "") == "1:1"
    assert kpi.print_title_cols.replace("$", "") == "A:B"
    assert kpi.column_dimensions["A"].width >= 40


def test_changes_is_one_long_table(comparison: Comparison, book: Workbook) -> None:
    expected = 0
    for other in comparison.allocations[1:]:
        for column in DIFF_COLUMNS:
            moved = (other.table[column] - comparison.base.table[column]).abs() > DISPLAY_ZERO
            expected += int(moved.sum())
    assert expected > 1000
    assert len(comparison.changes()) == expected
    changes = book["changes"]
    assert changes.max_row == 1 + expected
    assert changes.auto_filter.ref == f"A1:G{1 + expected}"
    assert changes.freeze_panes == "A2"
    header = [c.value for c in changes[1]]
    assert header == [
        "情景 Scenario",
        "代码 Code",
        "名称 Name",
        "项目 Figure",
        "基准 Base",
        "情景值 Value",
        "变化 Change",
    ]
    figures = {row[3] for row in changes.iter_rows(min_row=2, values_only=True)}
    assert figures <= {FIGURES[c].text for c in DIFF_COLUMNS}
    first = next(changes.iter_rows(min_row=2, values_only=True))
    assert first[0] == comparison.names[1]
    assert first[6] == pytest.approx(first[5] - first[4])


def test_matrices_have_a_title_with_the_unit(comparison: Comparison, book: Workbook) -> None:
    for column, (title, _) in MATRIX_SHEETS.items():
        sheet = book[title]
        assert sheet["A1"].value == FIGURES[column].header
        assert [c.value for c in sheet[2]][2:] == comparison.names
        assert sheet.print_title_rows.replace("$", "") == "1:2"
        assert sheet.print_title_cols.replace("$", "") == "A:B"
        assert sheet.page_setup.fitToWidth == 0
    assert book["months_optimized"]["A1"].value.endswith("(月)")


def _chart_kinds(book: Workbook) -> list[str]:
    """Each chart's kind in sheet order: ``bar`` (horizontal), ``col`` or ``scatter``."""
    return [
        "scatter" if chart.tagname == "scatterChart" else chart.type
        for chart in book["charts"]._charts
    ]


def test_an_unordered_set_is_bars_read_from_the_kpi_rows(
    comparison: Comparison, tmp_path: Path
) -> None:
    """Written without ``swept`` (the scenarios sheet): two bar charts over every
    scenario, nothing drawn as a line, and no helper columns on ``kpi``."""
    book = load_workbook(write_comparison_workbook(comparison, tmp_path / "set.xlsx"))
    assert _chart_kinds(book) == ["bar", "bar"]
    assert not any(c.value for row in book["kpi"].iter_rows(min_col=40) for c in row)


def test_a_sweep_of_several_adds_a_pair_per_parameter(
    comparison: Comparison, tmp_path: Path
) -> None:
    """Bars over all 37, then per swept parameter a cost and an equity chart along it:
    lines for the ratio, the floor and the band, bars for the objectives."""
    path = write_comparison_workbook(comparison, tmp_path / "swept.xlsx", swept=True)
    book = load_workbook(path)
    kinds = _chart_kinds(book)
    assert kinds[:2] == ["bar", "bar"]
    assert kinds[2:] == ["scatter"] * 6 + ["col"] * 2
    captions = [c for c in _column_a(book["charts"]) if isinstance(c, str) and " · " in c]
    keys = ["contribution_ratio", "reserve_months_floor", "max_rule_deviation", "objective"]
    assert [c.split(" · ")[0] for c in captions] == [PARAMETER_BY_KEY[k].label for k in keys]


def test_slice_tables_copy_the_kpi_figures(comparison: Comparison, tmp_path: Path) -> None:
    """The table under each pair holds the parameter's values in order and, per value, the
    figures of the one scenario with that value and the others as held."""
    book = load_workbook(write_comparison_workbook(comparison, tmp_path / "s.xlsx", swept=True))
    sheet = book["charts"]
    table = comparison.kpi_table().set_index("scenario")
    header = next(
        r
        for r in range(1, sheet.max_row + 1)
        if sheet.cell(r, 2).value == FIGURES["total_subsidy_100m"].name
    )
    ratios = [sheet.cell(header + i, 1).value for i in (1, 2, 3)]
    assert ratios == [0.035, 0.04, 0.045]
    for i, ratio in enumerate(ratios, start=1):
        held = f"上解 {ratio * 100:g}% · 储备 0月 · 区间 0% · maximin"
        assert sheet.cell(header + i, 2).value == pytest.approx(
            table.loc[held, "total_subsidy_100m"]
        )
        assert sheet.cell(header + i, 3).value == pytest.approx(
            table.loc[held, "unfunded_gap_100m"]
        )


def test_a_one_parameter_sweep_is_lines_against_it(tmp_path: Path) -> None:
    """The base repeats one swept ratio; it joins the line, so both charts are lines and no
    bars over scenarios are drawn."""
    data = read_workbook(SAMPLE)
    sweep = sweep_scenarios(data.parameters, ["contribution_ratio=0.05,0.03,0.04"])
    one = run_comparison(data, sweep, workers=1)
    book = load_workbook(write_comparison_workbook(one, tmp_path / "one.xlsx", swept=True))
    assert _chart_kinds(book) == ["scatter", "scatter"]
    values = [c for c in _column_a(book["charts"]) if isinstance(c, float)]
    assert values == sorted(values) and len(values) == len(set(values)) >= 3
