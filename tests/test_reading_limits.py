"""Tiny files cannot take the machine (issue 15, findings 1 and 6).

Each workbook is a few KB that once asked openpyxl for billions of cells, or XML cut off
that once failed as an internal error naming a path on the server. The worst are run as
``caf check`` in a process held to 1 GiB of address space and a time limit: before the
extent was measured they died there of MemoryError (exit 1).
"""

from __future__ import annotations

import dataclasses
import html
import io
import os
import re
import resource
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from model.cli import main
from model.errors import InputError, Problem, Problems, listed
from model.workbook.extent import Extent, sheet_extent
from model.workbook.limits import DEFAULT_LIMITS, ReadingLimits
from model.workbook.parts import MAX_ENTRIES
from model.workbook.reader import FundData, read_workbook
from tests.conftest import LiveServer
from tests.crafted import (
    PROVINCES_PART,
    far_column,
    far_row,
    many_code_rows,
    many_names,
    many_styles,
    merged_ranges,
    rewritten,
    shared_strings,
    truncated,
    unread_sheet_rows,
)
from tests.web_client import with_csrf
from tests.workbooks import WORKED_EXAMPLE, WORKED_PARAMETERS, write_workbook

ONE_GIB = 1 << 30


def refused(path: Path, name: str | None = None, **limits: int) -> list[Problem]:
    with pytest.raises(InputError) as raised:
        read_workbook(path, name, limits=ReadingLimits(**limits))
    return list(raised.value.problems)


def plain(tmp_path: Path) -> FundData:
    return read_workbook(write_workbook(tmp_path / "plain.xlsx", WORKED_EXAMPLE, WORKED_PARAMETERS))


def caf_check(path: Path, seconds: float = 60) -> tuple[int, str, str, float]:
    """``caf check path`` in its own process, held to 1 GiB of address space."""

    def bounded() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (ONE_GIB, ONE_GIB))

    script = "import sys; from model.cli import main; sys.exit(main(sys.argv[1:]))"
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", script, "check", str(path)],
        capture_output=True,
        text=True,
        timeout=seconds,
        preexec_fn=bounded,
        env={**os.environ, "OPENBLAS_NUM_THREADS": "1"},
    )
    return done.returncode, done.stdout, done.stderr, time.monotonic() - started


def test_the_default_limits_leave_room_above_the_largest_study() -> None:
    assert DEFAULT_LIMITS.max_units >= 10_000 > 2_850
    assert DEFAULT_LIMITS.max_rows > DEFAULT_LIMITS.max_units


@pytest.mark.parametrize("field", ["max_units", "max_rows", "max_columns", "max_cells"])
def test_a_limit_below_one_is_refused(field: str) -> None:
    with pytest.raises(ValueError, match=field):
        ReadingLimits(**{field: 0})


def test_a_value_two_billion_rows_down_is_refused_at_its_cell(tmp_path: Path) -> None:
    code, out, err, _ = caf_check(far_row(tmp_path))
    assert code == 2, err
    assert out == ""
    assert err.splitlines() == [err.strip()]
    assert err.startswith("provinces!A2000000000: 第 2,000,000,000 行有内容")
    assert "100,000 rows" in err and "delete the rows below your table" in err
    assert "Traceback" not in err


def test_a_styled_blank_two_billion_rows_down_costs_nothing(tmp_path: Path) -> None:
    path = far_row(tmp_path, value=False)
    code, out, err, _ = caf_check(path)
    assert code == 0, err
    assert "valid — 3 units" in out
    assert read_workbook(path).units.equals(plain(tmp_path).units)


def test_a_value_at_column_zzz_is_refused_at_its_cell(tmp_path: Path) -> None:
    (problem,) = refused(far_column(tmp_path))
    assert problem.where == "provinces!ZZZ1"
    assert "right of column IV" in problem.what
    assert "delete the columns right of your table" in problem.fix
    assert problem.what_zh.startswith("ZZZ 列有内容")


def test_styled_blanks_at_column_zzz_on_five_thousand_rows_cost_nothing(tmp_path: Path) -> None:
    path = far_column(tmp_path, value=False, more_rows=5_000)
    code, out, err, _ = caf_check(path)
    assert code == 0, err
    assert "valid — 3 units" in out
    assert read_workbook(path).units.equals(plain(tmp_path).units)


def test_a_million_code_only_rows_are_refused_in_seconds_at_the_first_row_too_many(
    tmp_path: Path,
) -> None:
    path = many_code_rows(tmp_path, 1_000_000)
    assert path.stat().st_size < 3_000_000
    code, out, err, seconds = caf_check(path, seconds=120)
    assert code == 2, err
    assert out == ""
    assert err.splitlines() == [err.strip()]
    # ten columns wide (the header's), so the table passes 500,000 cells at row 50,001
    assert err.startswith("provinces!A50001: 表格延伸到此单元格，将超过")
    assert "500,000 cells" in err
    assert seconds < 60


def test_a_sheet_caf_never_reads_is_never_parsed(tmp_path: Path) -> None:
    """openpyxl sizes every sheet as it opens a workbook, parsing one without a
    ``<dimension>`` to its end: 13 s for a million rows in a notes sheet, and a damaged
    one refused the whole workbook."""
    cut = unread_sheet_rows(tmp_path, 1_000, cut=True)
    assert read_workbook(cut).units.equals(plain(tmp_path).units)
    code, out, err, seconds = caf_check(unread_sheet_rows(tmp_path, 1_000_000))
    assert code == 0, err
    assert "valid — 3 units" in out
    assert seconds < 30


def test_a_million_merged_ranges_are_refused_at_the_first_one_too_many(tmp_path: Path) -> None:
    """4.6 MB of file: openpyxl and the marks once built every range (33 s, 750 MB)."""
    code, out, err, _ = caf_check(merged_ranges(tmp_path, 1_000_000))
    assert code == 2, err
    assert out == ""
    assert err.startswith("provinces!K250002: 合并区域超过 250,000 个")
    assert "found more than 250,000 merged ranges" in err


def test_merged_ranges_up_to_half_the_cells_are_read_and_checked(tmp_path: Path) -> None:
    """The worked example's table is 40 cells, so 40 allows 20 ranges."""
    (problem,) = refused(merged_ranges(tmp_path, 21, first_row=10), max_cells=40)
    assert problem.where == "provinces!K30"
    below = merged_ranges(tmp_path, 20, first_row=10)
    assert read_workbook(below, limits=ReadingLimits(max_cells=40)).units.equals(
        plain(tmp_path).units
    )
    inside = refused(merged_ranges(tmp_path, 3, first_row=2))
    assert [p.where for p in inside] == ["provinces!K2:L2", "provinces!K3:L3", "provinces!K4:L4"]


def test_a_string_table_longer_than_a_sheet_could_use_is_refused(tmp_path: Path) -> None:
    """3 million texts (7.9 MB of file) once took openpyxl 62 s and 550 MB to load."""
    (problem,) = refused(shared_strings(tmp_path, 41), "budget.xlsx", max_cells=40)
    assert problem.where == "budget.xlsx"
    assert "more than 40 different texts" in problem.what
    assert problem.what_zh.startswith("工作簿中不同的文本超过 40 个")
    within = shared_strings(tmp_path, 40)
    assert read_workbook(within, limits=ReadingLimits(max_cells=40)).units.equals(
        plain(tmp_path).units
    )


def test_more_cell_formats_than_excel_allows_are_refused_before_openpyxl(
    tmp_path: Path,
) -> None:
    """A million formats (186 KB of file) once took openpyxl 34 s and 880 MB to load."""
    (problem,) = refused(many_styles(tmp_path, MAX_ENTRIES), "budget.xlsx")
    assert problem.where == "budget.xlsx"
    assert "styles hold more than 300,000 entries" in problem.what
    assert len(read_workbook(many_styles(tmp_path, 1_000)).units) == 3


def test_more_defined_names_than_a_workbook_needs_are_refused_before_openpyxl(
    tmp_path: Path,
) -> None:
    """A million names (2.6 MB of file) once took 33 s and 900 MB to open."""
    (problem,) = refused(many_names(tmp_path, MAX_ENTRIES), "budget.xlsx")
    assert problem.where == "budget.xlsx"
    assert "sheets and defined names holds more than 300,000 entries" in problem.what
    assert len(read_workbook(many_names(tmp_path, 1_000)).units) == 3


def test_more_units_than_the_limit_are_refused_at_the_first_one_too_many(tmp_path: Path) -> None:
    path = write_workbook(tmp_path / "three.xlsx", WORKED_EXAMPLE, WORKED_PARAMETERS)
    (problem,) = refused(path, max_units=2)
    assert problem.where == "provinces!A4"
    assert "more than 2 pooling units" in problem.what
    assert problem.what_zh.startswith("统筹单位超过 2 个")
    assert len(read_workbook(path, limits=ReadingLimits(max_units=3)).units) == 3


def test_blank_rows_between_units_are_not_counted_as_units(tmp_path: Path) -> None:
    spaced = [WORKED_EXAMPLE[0], {}, {}, WORKED_EXAMPLE[1], {}, WORKED_EXAMPLE[2]]
    path = write_workbook(tmp_path / "spaced.xlsx", spaced, WORKED_PARAMETERS)
    assert len(read_workbook(path, limits=ReadingLimits(max_units=3)).units) == 3


@pytest.mark.parametrize(
    ("limits", "where"),
    [
        ({"max_rows": 3}, "provinces!A4"),
        ({"max_columns": 9}, "provinces!J1"),
        ({"max_cells": 35}, "provinces!A4"),
    ],
)
def test_each_limit_is_the_callers_and_names_the_first_cell_past_it(
    tmp_path: Path, limits: dict[str, int], where: str
) -> None:
    path = write_workbook(tmp_path / "three.xlsx", WORKED_EXAMPLE, WORKED_PARAMETERS)
    (problem,) = refused(path, **limits)
    assert problem.where == where


def test_rows_and_cells_without_numbers_are_placed_as_openpyxl_places_them(
    tmp_path: Path,
) -> None:
    path = many_code_rows(tmp_path, 3)
    with zipfile.ZipFile(path) as archive:
        extent = sheet_extent(archive, PROVINCES_PART, "provinces", path.name, DEFAULT_LIMITS)
    assert extent == Extent(rows=7, columns=10)
    wheres = {p.where for p in refused(path)}
    assert {"provinces!B5", "provinces!B7"} <= wheres
    assert not any(w.endswith("8") for w in wheres)


def test_problems_past_the_cap_are_counted_in_one_line(tmp_path: Path) -> None:
    path = many_code_rows(tmp_path, 500)
    every = refused(path, max_problems=10**9)
    assert len(every) > 1_000
    shown = refused(path)
    assert shown[:200] == every[:200]
    assert len(shown) == 201
    more = shown[-1]
    assert more.where == every[200].where
    assert more.what == f"{len(every) - 200:,} more problems from here on are not listed"
    assert more.what_zh == f"自此处起另有 {len(every) - 200:,} 个问题未列出"


def test_caf_check_lists_the_capped_problems_and_exits_2(tmp_path: Path) -> None:
    path = many_code_rows(tmp_path, 500)
    code, out, err, _ = caf_check(path)
    assert code == 2
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == DEFAULT_LIMITS.max_problems + 1
    assert "more problems from here on are not listed" in lines[-1]


def test_the_collector_keeps_what_listed_would_show_and_counts_the_rest() -> None:
    every = [Problem(f"provinces!A{r}", f"w{r}", "f", "w", "f") for r in range(1, 12)]
    collected = Problems(4)
    collected.append(every[0])
    collected.extend(every[1:3])
    collected += every[3:]
    assert collected.found == 11 and len(collected) == 4
    assert collected.listed() == listed(every, 4)
    assert collected.listed()[-1].what == "7 more problems from here on are not listed"
    assert collected.listed()[-1].where == "provinces!A5"


def test_listed_keeps_a_short_list_whole() -> None:
    problems = [Problem(f"provinces!A{r}", "w", "f", "w", "f") for r in range(3)]
    assert listed(problems, 3) == tuple(problems)
    assert len(listed(problems, 2)) == 3


def upload(tmp_path: Path, made: Path) -> Path:
    """Store ``made`` as the web server stores an upload: ``.partial/<id>/input.xlsx``."""
    stored = tmp_path / ".partial" / "0f3c" / "input.xlsx"
    stored.parent.mkdir(parents=True)
    made.rename(stored)
    return stored


def no_server_path(problems: list[Problem], stored: Path) -> None:
    for problem in problems:
        text = f"{problem.where} {problem.what} {problem.fix} {problem.what_zh} {problem.fix_zh}"
        assert (
            "input.xlsx" not in text and str(stored.parent) not in text and ".partial" not in text
        )


def test_a_truncated_sheet_is_bad_input_named_by_the_uploaded_file(tmp_path: Path) -> None:
    stored = upload(tmp_path, truncated(tmp_path))
    (problem,) = refused(stored, "预算 2021.xlsx")
    assert problem.where == "预算 2021.xlsx"
    assert 'the sheet "provinces" is damaged' in problem.what
    assert "save it again as .xlsx" in problem.fix
    assert problem.what_zh.startswith("工作表“provinces”已损坏")
    no_server_path([problem], stored)


def test_caf_check_refuses_a_truncated_sheet_with_exit_2(tmp_path: Path) -> None:
    path = truncated(tmp_path)
    out, err = io.StringIO(), io.StringIO()
    assert main(["check", str(path)], out=out, err=err) == 2
    assert err.getvalue().startswith("truncated.xlsx: 工作表“provinces”已损坏")
    assert "internal error" not in err.getvalue() and out.getvalue() == ""


def test_a_truncated_styles_part_is_bad_input_named_by_the_uploaded_file(
    tmp_path: Path,
) -> None:
    stored = upload(tmp_path, truncated(tmp_path, part="xl/styles.xml"))
    (problem,) = refused(stored, "budget.xlsx")
    assert problem.where == "budget.xlsx"
    assert "the workbook's part xl/styles.xml is damaged" in problem.what
    assert problem.what_zh.startswith("工作簿的组成部分 xl/styles.xml 已损坏")
    no_server_path([problem], stored)


def test_a_path_in_openpyxls_own_words_is_replaced_by_the_uploaded_name(
    tmp_path: Path,
) -> None:
    """openpyxl says "could not read properties from /…/input.xlsx" of document
    properties it refuses (an entity declared), which caf leaves to it."""

    def declare(xml: bytes) -> bytes:
        return b'<!DOCTYPE x [<!ENTITY a "a">]>' + xml.partition(b"?>")[2]

    made = rewritten(tmp_path, "entity.xlsx", declare, part="docProps/core.xml")
    stored = upload(tmp_path, made)
    (problem,) = refused(stored, "budget.xlsx")
    assert problem.where == "budget.xlsx"
    assert "could not read properties from budget.xlsx" in problem.what
    no_server_path([problem], stored)


@pytest.mark.parametrize(
    ("before", "after", "said"),
    [
        (b'<row r="2">', b'<row r="two">', 'a row is numbered "two"'),
        (b'<c r="A2"', b'<c r="2A"', 'a cell is named "2A"'),
        (b'<c r="B2"', b'<c r="B"', 'a cell is named "B"'),
        (b"<worksheet", b'<!DOCTYPE worksheet [<!ENTITY a "a">]><worksheet', "document type"),
    ],
)
def test_a_sheet_the_parser_cannot_follow_is_named_as_damaged(
    tmp_path: Path, before: bytes, after: bytes, said: str
) -> None:
    path = rewritten(tmp_path, "odd.xlsx", lambda xml: xml.replace(before, after, 1))
    (problem,) = refused(path, "odd upload.xlsx")
    assert problem.where == "odd upload.xlsx"
    assert said in problem.what


def test_a_formula_in_the_sheets_extensions_extends_no_cell(tmp_path: Path) -> None:
    """Excel keeps cross-sheet data validation in ``<extLst>`` as ``<xm:f>``; after a
    styled blank far down, it must not make that blank count as a value."""
    extension = (
        b'<extLst><ext uri="{CCE6A557-97BC-4b89-ADB6-D9C93CAAB3DF}" '
        b'xmlns:x14="http://schemas.microsoft.com/office/spreadsheetml/2009/9/main">'
        b'<x14:dataValidations count="1" '
        b'xmlns:xm="http://schemas.microsoft.com/office/excel/2006/main">'
        b'<x14:dataValidation type="list"><x14:formula1><xm:f>parameters!$A$2:$A$3</xm:f>'
        b"</x14:formula1><xm:sqref>D2:D4</xm:sqref></x14:dataValidation>"
        b"</x14:dataValidations></ext></extLst></worksheet>"
    )

    def change(xml: bytes) -> bytes:
        far = b'<row r="1048576"><c r="A1048576" s="0"/></row></sheetData>'
        return xml.replace(b"</sheetData>", far).replace(b"</worksheet>", extension)

    path = rewritten(tmp_path, "validated.xlsx", change)
    assert read_workbook(path, limits=ReadingLimits(max_rows=10)).units.equals(
        plain(tmp_path).units
    )


def test_the_docs_table_of_limits_gives_the_defaults() -> None:
    text = (Path(__file__).parents[1] / "docs" / "inputs.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| `(max_\w+)` \| ([\d,]+)", text, flags=re.MULTILINE))
    defaults = {f.name: getattr(DEFAULT_LIMITS, f.name) for f in dataclasses.fields(ReadingLimits)}
    assert {key: int(value.replace(",", "")) for key, value in rows.items()} == defaults


@pytest.fixture
def client(live_server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server.url, timeout=60) as http:
        yield with_csrf(http)


@pytest.mark.parametrize(
    ("craft", "said"),
    [
        (truncated, "预算 2021.xlsx: 工作表“provinces”已损坏"),
        (far_row, "provinces!A2000000000: 第 2,000,000,000 行有内容"),
    ],
)
def test_an_upload_of_either_is_a_422_naming_the_uploaded_file(
    client: httpx.Client, tmp_path: Path, craft: Callable[[Path], Path], said: str
) -> None:
    content = craft(tmp_path).read_bytes()
    started = time.monotonic()
    answer = client.post("/runs", files={"workbook": ("预算 2021.xlsx", content)})
    assert answer.status_code == 422
    page = html.unescape(re.sub(r"<[^>]+>", "", answer.text))
    assert said in page
    assert "input.xlsx" not in page and ".partial" not in page
    assert time.monotonic() - started < 30


def test_the_problems_page_counts_every_problem_found_not_the_lines_listed() -> None:
    """A list cut at 200 ends with a line counting the rest; the page's headline says how
    many were found in all, not 201."""
    from model.errors import Problem, found_count, listed
    from model.web.views import render

    found = [Problem(f"provinces!A{i}", "x", "y", "甲", "乙") for i in range(2, 1002)]
    shown = list(listed(found, 200))
    assert len(shown) == 201 and found_count(shown) == 1000 == found_count(found)
    context = {"auth": False, "user": None, "csrf_token": "", "title": "t", "back": "/"}
    page = render("problems.html", 422, problems=shown, found=found_count(shown), **context)
    body = page.body.decode()
    assert "发现 1,000 个问题" in body and "1,000 problems found" in body
