"""One output vocabulary: the workbook, the web page and the terminal say the same words.

``model.vocabulary`` names every figure, state, status, role, equity metric and solve
level once. These tests read the three surfaces back (the allocation workbook with
openpyxl, the result page's HTML, the lines ``caf run`` prints) for one run that leaves a
gap, and check that each shows the vocabulary's words for the same keys; and that no
module keeps a label table of its own, the way the gap was once 资金缺口 on the web and
未弥补缺口 in the workbook.
"""

from __future__ import annotations

import ast
import copy
import html
import io
import re
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from openpyxl import load_workbook

import model.vocabulary as vocabulary
from model.analysis import comparison, quarterly, results
from model.cli import main
from model.export.allocation import ALLOCATION_COLUMNS, QUARTERLY_COLUMNS
from model.lp import formulation, plan
from model.schema import OBJECTIVES
from model.vocabulary import (
    EQUITY_METRICS,
    FIGURES,
    ROLES,
    SHORT_STATUSES,
    STATES,
    STATUSES,
    Label,
)
from model.web import jobs
from model.web.app import create_app
from model.web.pages import RESULT_COLUMNS, TILES
from model.web.storage import KIND_RUN, RunStore
from tests.web_client import outside_any_loop
from tests.workbooks import WORKED_EXAMPLE, write_workbook

MODEL = Path(__file__).resolve().parent.parent / "model"
RETIRED_WORDS = ("资金缺口", "按规则 Rule", "净上解 Contributor", "存在资金缺口")
"""Words the surfaces used before they shared one vocabulary."""


@pytest.fixture(scope="module")
def gap_workbook(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The worked example with a gap of 96.8亿 in Beta (as in test_solve)."""
    units = copy.deepcopy(WORKED_EXAMPLE)
    units[1]["expenditure_100m"] = 800
    units[1]["local_subsidy_cap_100m"] = 50
    parameters = {
        "year": 2020,
        "contribution_ratio": 0.04,
        "max_rule_deviation": 0,
        "central_subsidy_budget_100m": 30,
    }
    return write_workbook(tmp_path_factory.mktemp("vocabulary") / "gap.xlsx", units, parameters)


@pytest.fixture(scope="module")
def terminal(gap_workbook: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """What ``caf run`` prints, and the allocation workbook it writes."""
    out, path = io.StringIO(), tmp_path_factory.mktemp("cli") / "allocation.xlsx"
    assert main(["run", str(gap_workbook), "-o", str(path)], out=out) == 3
    return out.getvalue(), path


@pytest.fixture(scope="module")
def result_page(gap_workbook: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The web result page of the same run, solved in this process (no worker pool)."""
    data_dir = tmp_path_factory.mktemp("runs")
    store = RunStore.open(data_dir)
    with store.staging() as (run_id, folder):
        stored = folder / "input.xlsx"
        stored.write_bytes(gap_workbook.read_bytes())
        result = jobs.solve_job(str(stored), "gap.xlsx", str(folder), "", {})
        meta = {"kind": KIND_RUN, "source": "gap.xlsx", "input": stored.name, "created": "now"}
        store.publish(run_id, folder, {**meta, **result["meta"]})
    return outside_any_loop(_get(create_app(data_dir), f"/runs/{run_id}"))


async def _get(app: FastAPI, path: str) -> str:
    """GET through the ASGI app itself; no lifespan runs, so no worker pool starts."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        page = await client.get(path)
    assert page.status_code == 200
    return page.text


def _cells(path: Path, sheet: str) -> list[list[object]]:
    return [[c.value for c in row] for row in load_workbook(path)[sheet].iter_rows()]


def _table_headers(page: str, table_id: str) -> list[str]:
    table = re.search(rf'<table[^>]*id="{table_id}".*?</thead>', page, re.S)
    assert table, table_id
    cells = re.findall(r"<th[^>]*>(.*?)</th>", table.group(0), re.S)
    return [html.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in cells]


def _text(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


# --- the three surfaces ----------------------------------------------------------------------


def test_the_workbook_heads_its_columns_with_the_vocabulary(terminal: tuple[str, Path]) -> None:
    _, path = terminal
    headers = _cells(path, "allocation")[0]
    assert headers == [FIGURES[c.key].header for c in ALLOCATION_COLUMNS]
    assert _cells(path, "quarterly")[0] == [FIGURES[c.key].header for c in QUARTERLY_COLUMNS]
    assert "未弥补缺口\nUnfunded gap\n(亿元)" in headers


def test_the_workbook_summary_uses_the_vocabulary(terminal: tuple[str, Path]) -> None:
    _, path = terminal
    rows = _cells(path, "summary")
    first = [str(row[0]) for row in rows if row[0] is not None]
    assert STATUSES["unfunded_gap"].name in first[1]
    for key in ("fund_100m", "moved_100m", "net_contributors", "local_subsidy_100m"):
        assert FIGURES[key].name in first, key
    assert any(line.startswith(FIGURES["unfunded_gap_100m"].name) for line in first)
    for metric in ("months_min", "months_range", "gini"):
        assert EQUITY_METRICS[metric].name in first, metric
    imbalance = next(row for row in rows if row[0] == "区域不平衡 Imbalance")
    assert imbalance[1:4] == [state.name for state in STATES.values()]
    equity = _cells(path, "equity")
    assert equity[0][3:6] == [state.name for state in STATES.values()]
    assert [row[1] for row in equity[1:]] == [m.name for m in EQUITY_METRICS.values()]
    assert [row[2] for row in equity[1:]] == [m.meaning for m in EQUITY_METRICS.values()]
    roles = {row[4] for row in _cells(path, "allocation")[1:]}
    assert roles <= {role.name for role in ROLES.values()}


def test_the_web_page_uses_the_vocabulary(result_page: str) -> None:
    headers = _table_headers(result_page, "allocation-table")
    who = [FIGURES["code"].name, f"{FIGURES['name_zh'].name} · {FIGURES['region'].name}"]
    assert headers == [*who, FIGURES["role"].name, *(FIGURES[k].text for k in RESULT_COLUMNS)]
    equity = _table_headers(result_page, "equity-table")
    assert equity[1:] == [state.name for state in STATES.values()]
    text = _text(result_page)
    assert STATUSES["unfunded_gap"].name in text
    for key in TILES:
        assert FIGURES[key].name in text, key
    for metric in EQUITY_METRICS.values():
        assert metric.text in text and metric.meaning in text


def test_the_terminal_uses_the_vocabulary(terminal: tuple[str, Path]) -> None:
    printed, _ = terminal
    lines = printed.splitlines()
    assert any(line.startswith(FIGURES["fund_100m"].en) for line in lines)
    assert any(line.startswith(FIGURES["unfunded_gap_100m"].en.upper()) for line in lines)
    assert any(line.startswith(f"{FIGURES['net_contributors'].en} (") for line in lines)
    assert f"under the {STATES['rule'].en.lower()}" in printed
    for metric in ("months_min", "months_range"):
        line = next(line for line in lines if line.startswith(EQUITY_METRICS[metric].en))
        assert [s.en.lower() in line for s in STATES.values()] == [True] * 3


def test_the_three_surfaces_agree_column_by_column(
    terminal: tuple[str, Path], result_page: str
) -> None:
    """The same key reads the same on the workbook and the web page: ``zh⏎en⏎(unit)``
    in a workbook header is ``zh en (unit)`` on the page."""
    printed, path = terminal
    keys = [c.key for c in ALLOCATION_COLUMNS]
    workbook = dict(zip(keys, _cells(path, "allocation")[0], strict=True))
    web = dict(
        zip(RESULT_COLUMNS, _table_headers(result_page, "allocation-table")[3:], strict=True)
    )
    assert set(web) <= set(workbook)
    for key, header in web.items():
        zh, en, unit = str(workbook[key]).split("\n")
        assert header == f"{zh} {en} {unit}", key
    gap = FIGURES["unfunded_gap_100m"]
    assert gap.en.upper() in printed and gap.name in _text(result_page)


def test_no_surface_keeps_a_retired_word(terminal: tuple[str, Path], result_page: str) -> None:
    printed, path = terminal
    book = load_workbook(path)
    strings = " ".join(
        str(c.value) for sheet in book.worksheets for row in sheet.iter_rows() for c in row
    )
    for word in RETIRED_WORDS:
        assert word not in strings and word not in result_page and word not in printed, word


# --- one place -------------------------------------------------------------------------------

OLD_NAMES = {
    "STATE_LABELS",
    "STATUS_LABELS",
    "SHORT_STATUS_LABELS",
    "METRIC_LABELS",
    "METRIC_MEANINGS",
    "ROLE_LABELS",
    "KPI_LABELS",
    "LEVEL_MEANINGS",
    "IMBALANCE_MEANINGS",
    "PROVINCE_COLUMNS",
    "DIFF_FIGURES",
}
"""The label tables the surfaces kept before the vocabulary: none may come back."""

LABELLED_KEYS = {
    *FIGURES,
    *STATES,
    *STATUSES,
    *ROLES,
    *EQUITY_METRICS,
    *vocabulary.LEVEL_MEANINGS,
}
CJK = re.compile(r"[\u3400-\u9fff]")


def _words(node: ast.AST) -> bool:
    """Whether an expression holds text a reader reads: Chinese, or English with spaces."""
    return any(
        isinstance(n, ast.Constant)
        and isinstance(n.value, str)
        and (CJK.search(n.value) or " " in n.value.strip())
        for n in ast.walk(node)
    )


def _label_tables(path: Path) -> list[str]:
    """Module-level tables that give words to keys the vocabulary names."""
    found = []
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = [t.id for t in targets if isinstance(t, ast.Name)]
            if OLD_NAMES & set(names):
                found.append(f"{names} (a retired name)")
                continue
            value = node.value
            if isinstance(value, ast.Dict):
                pairs = list(zip(value.keys, value.values, strict=True))
            elif isinstance(value, ast.Tuple | ast.List):
                pairs = [
                    (e.elts[0], e)
                    for e in value.elts
                    if isinstance(e, ast.Tuple) and len(e.elts) > 1
                ]
            else:
                continue
            labelled = [
                v
                for k, v in pairs
                if isinstance(k, ast.Constant) and k.value in LABELLED_KEYS and _words(v)
            ]
            if len(labelled) >= 2:
                found.append(f"{names} (words for {len(labelled)} vocabulary keys)")
    return found


def test_no_label_table_is_defined_outside_the_vocabulary() -> None:
    found = {
        str(path.relative_to(MODEL)): tables
        for path in sorted(MODEL.rglob("*.py"))
        if path.name != "vocabulary.py" and (tables := _label_tables(path))
    }
    assert found == {}


def test_no_template_or_module_spells_a_vocabulary_label_itself() -> None:
    """A page or a module that writes ``未弥补缺口 Unfunded gap`` out by hand would drift the
    day the vocabulary changes its word. The input schema has its own labels; words as
    common as 名称 Name also name other things (a metric's name)."""
    labels: list[Label] = [
        *FIGURES.values(),
        *STATES.values(),
        *STATUSES.values(),
        *SHORT_STATUSES.values(),
        *ROLES.values(),
        *EQUITY_METRICS.values(),
    ]
    generic = {FIGURES[key].name for key in ("code", "name_zh", "name_en", "region", "role")}
    names = {label.name for label in labels if CJK.search(label.zh)} - generic
    sources = [p for p in MODEL.rglob("*.py") if p.name not in ("vocabulary.py", "schema.py")]
    sources += list((MODEL / "web" / "templates").glob("*.html"))
    spelled = sorted(
        (str(path.relative_to(MODEL)), name)
        for path in sources
        for name in names
        if name in path.read_text(encoding="utf-8")
    )
    assert spelled == []


def test_the_vocabulary_imports_nothing_from_model_and_nothing_heavy() -> None:
    tree = ast.parse((MODEL / "vocabulary.py").read_text(encoding="utf-8"))
    imported = {
        alias.name.split(".")[0]
        for n in ast.walk(tree)
        if isinstance(n, ast.Import)
        for alias in n.names
    } | {
        n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module
    }
    assert imported <= {"__future__", "dataclasses"}


# --- the same keys as the model ----------------------------------------------------------------


def test_the_vocabulary_names_every_key_the_model_reports() -> None:
    assert tuple(STATES) == results.STATES
    assert {results.STATUS_FULL, results.STATUS_GAP} == set(STATUSES) == set(SHORT_STATUSES)
    assert {results.CONTRIBUTOR, results.BENEFICIARY, results.EVEN} == set(ROLES)
    plan_levels = set(plan.plan_levels(optimised=True, years=2))
    assert set(vocabulary.LEVEL_MEANINGS) | {formulation.LEVEL_EQUITY} == (
        set(formulation.LEVELS) | plan_levels
    )
    assert set(vocabulary.IMBALANCE_MEANINGS) == set(OBJECTIVES)
    reported = {
        *results.PROVINCE_JSON_KEYS,
        *comparison.KPI_COLUMNS,
        *comparison.MATRIX_COLUMNS,
        *comparison.DIFF_COLUMNS,
        *quarterly.ADVANCE_KEYS,
    }
    assert reported <= set(FIGURES), reported - set(FIGURES)


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("unfunded_gap_100m", "未弥补缺口 Unfunded gap (亿元)"),
        ("gini_optimized", "人均资源基尼系数 Gini of resources per retiree · 优化后 Optimised"),
        ("months_min_rule", "最低储备月数 Lowest reserve months (月) · 法定规则 Statutory rule"),
        ("contribution_ratio", "上解比例 Contribution ratio"),
        ("wage_growth", "wage_growth"),
    ],
)
def test_kpi_labels(key: str, expected: str) -> None:
    assert vocabulary.kpi_label(key) == expected
