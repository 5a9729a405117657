"""``caf`` on bad input: exit 2, one line per problem, no traceback, no output (issue 2)."""

from __future__ import annotations

import copy
import json
import struct
import zipfile
from pathlib import Path

import pytest

from model.cli import main
from tests.workbooks import WORKED_EXAMPLE, WORKED_PARAMETERS, write_workbook


@pytest.fixture
def good(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    return write_workbook(folder / "good.xlsx", WORKED_EXAMPLE, WORKED_PARAMETERS)


@pytest.fixture
def bad(tmp_path: Path) -> Path:
    """Two problems: text in a wage cell and a percentage contribution ratio."""
    units = copy.deepcopy(WORKED_EXAMPLE)
    units[1]["avg_wage_yuan"] = "about 90k"
    folder = tmp_path / "in"
    folder.mkdir(exist_ok=True)
    return write_workbook(folder / "bad.xlsx", units, {"year": 2020, "contribution_ratio": 4})


BAD_LINES = [
    'provinces!E3: found "about 90k" in avg_wage_yuan — '
    "expected a number in yuan per year, above zero",
    "parameters!B3: found 4, which looks like a percentage for contribution_ratio — "
    "expected a fraction such as 0.04 (for 4%), at most 0.2: write 0.04 for 4%",
]


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


def _refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> list[str]:
    """Run caf, expect exit 2 and no traceback; return the stderr lines."""
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    assert "internal error" not in captured.err
    return [english(line) for line in captured.err.splitlines()]


def english(line: str) -> str:
    """``where: 中文 / English`` → ``where: English``, after checking the Chinese is there."""
    where, said = line.split(": ", 1)
    chinese, english_half = said.split(" / ", 1)
    assert any("\u4e00" <= c <= "\u9fff" for c in chinese), line
    return f"{where}: {english_half}"


# --- check -----------------------------------------------------------------------------


def test_check_valid_returns_0(good: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(good)]) == 0
    captured = capsys.readouterr()
    assert "valid — 3 units, year 2020, 1 scenario" in captured.out
    assert captured.err == ""


def test_check_invalid_returns_2_with_one_line_per_problem(
    bad: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _refused(["check", str(bad)], capsys) == BAD_LINES


def test_check_debug_shows_a_traceback(bad: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--debug", "check", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" in err
    assert "InputError" in err
    assert [english(line) for line in err.splitlines()[-2:]] == BAD_LINES


def test_check_missing_file_returns_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = _refused(["check", str(tmp_path / "nope.xlsx")], capsys)
    assert lines == ["nope.xlsx: found no such file — check the path and the file name"]


def test_check_text_file_returns_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "data.xlsx"
    path.write_text("code,name\n")
    lines = _refused(["check", str(path)], capsys)
    assert lines == [
        "data.xlsx: this is not an Excel workbook (.xlsx) — "
        "save the file from Excel as an .xlsx workbook"
    ]


def test_check_damaged_workbook_returns_2_not_an_internal_error(
    good: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A corrupt deflate stream is bad input (exit 2), not an internal error (exit 1)."""
    data = bytearray(good.read_bytes())
    with zipfile.ZipFile(good) as archive:
        info = archive.getinfo("xl/worksheets/sheet1.xml")
    name_length, extra_length = struct.unpack_from("<HH", data, info.header_offset + 26)
    data[info.header_offset + 30 + name_length + extra_length] = 0xFF  # invalid block type
    path = tmp_path / "damaged.xlsx"
    path.write_bytes(bytes(data))
    (line,) = _refused(["check", str(path)], capsys)
    assert line.startswith("damaged.xlsx: ")


# --- run writes nothing on bad input ---------------------------------------------------


def test_run_bad_input_returns_2_and_writes_no_file(
    bad: Path, out_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = out_dir / "allocation.xlsx"
    argv = ["run", str(bad), "-o", str(out), "--json", str(out_dir / "result.json")]
    assert _refused(argv, capsys) == BAD_LINES
    assert list(out_dir.iterdir()) == []  # no output and no temporary file
    assert sorted(p.name for p in bad.parent.iterdir()) == ["bad.xlsx"]


def test_run_refuses_an_existing_output_without_force(
    good: Path, out_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = out_dir / "allocation.xlsx"
    out.write_bytes(b"keep me")
    (line,) = _refused(["run", str(good), "-o", str(out)], capsys)
    assert (
        line
        == f"{out}: the file already exists — choose another name, or add --force to replace it"
    )
    assert out.read_bytes() == b"keep me"


def test_run_unknown_scenario_returns_2(
    good: Path, out_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = out_dir / "allocation.xlsx"
    lines = _refused(["run", str(good), "-o", str(out), "--scenario", "high"], capsys)
    assert lines == ['scenarios!A:A: found no scenario named "high" — use one of: base']
    assert not out.exists()


# --- --set and --sweep -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("assignment", "expected"),
    [
        (
            "bogus=1",
            '--set bogus=1: unknown parameter key "bogus" — use one of year, contribution_ratio, '
            "wage_base_share, reserve_months_floor, objective, max_rule_deviation, "
            "central_subsidy_budget_100m, min_return_share, "
            "standard_contribution_rate, plan_end_year, wage_growth, insured_growth, "
            "retiree_growth, benefit_growth, optimize_ratio_path, ratio_max, ratio_step_max, "
            "draws, seed, shock_correlation, wage_growth_sd, insured_growth_sd, "
            "retiree_growth_sd, benefit_growth_sd",
        ),
        (
            "contribution_ratio=4",
            "--set contribution_ratio: found 4, which looks like a percentage — "
            "expected a fraction such as 0.04 (for 4%), at most 0.2: write 0.04 for 4%",
        ),
        (
            "contribution_ratio=abc",
            '--set contribution_ratio: found "abc" — expected a fraction such as 0.04 '
            "(for 4%), at most 0.2",
        ),
        (
            "objective=best",
            '--set objective: found "best" — expected one of maximin, range, mad',
        ),
        (
            "year=2020.5",
            '--set year: found "2020.5" — expected a whole year such as 2020',
        ),
        (
            "contribution_ratio",
            '--set contribution_ratio: found "contribution_ratio" — write it as key=value',
        ),
    ],
    ids=["unknown-key", "percentage", "text", "objective", "year", "no-equals"],
)
def test_run_bad_set_returns_2(
    good: Path,
    out_dir: Path,
    capsys: pytest.CaptureFixture[str],
    assignment: str,
    expected: str,
) -> None:
    out = out_dir / "allocation.xlsx"
    lines = _refused(["run", str(good), "-o", str(out), "--set", assignment], capsys)
    assert lines == [expected]
    assert list(out_dir.iterdir()) == []


def test_run_good_set_is_applied(
    good: Path, out_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, result = out_dir / "allocation.xlsx", out_dir / "result.json"
    argv = ["run", str(good), "-o", str(out), "--json", str(result)]
    assert main([*argv, "--set", "contribution_ratio=0.045", "--set", "objective=range"]) == 0
    parameters = json.loads(result.read_text(encoding="utf-8"))["parameters"]
    assert parameters["contribution_ratio"] == 0.045
    assert parameters["objective"] == "range"
    assert out.exists()
    assert sorted(p.name for p in out_dir.iterdir()) == ["allocation.xlsx", "result.json"]


@pytest.mark.parametrize(
    ("sweep", "expected"),
    [
        (
            "bogus=1,2",
            '--sweep bogus=1,2: unknown parameter key "bogus" — use one of year, '
            "contribution_ratio, wage_base_share, reserve_months_floor, objective, "
            "max_rule_deviation, central_subsidy_budget_100m, min_return_share, "
            "standard_contribution_rate, plan_end_year, wage_growth, insured_growth, "
            "retiree_growth, benefit_growth, optimize_ratio_path, ratio_max, ratio_step_max, "
            "draws, seed, shock_correlation, wage_growth_sd, insured_growth_sd, "
            "retiree_growth_sd, benefit_growth_sd",
        ),
        (
            "contribution_ratio=",
            "--sweep contribution_ratio=: found no values — list values as key=v1,v2",
        ),
    ],
    ids=["unknown-key", "no-values"],
)
def test_compare_bad_sweep_returns_2(
    good: Path,
    out_dir: Path,
    capsys: pytest.CaptureFixture[str],
    sweep: str,
    expected: str,
) -> None:
    out = out_dir / "comparison.xlsx"
    lines = _refused(["compare", str(good), "-o", str(out), "--sweep", sweep], capsys)
    assert lines == [expected]
    assert list(out_dir.iterdir()) == []


def test_compare_sweep_percentage_names_the_key_once(
    good: Path, out_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = out_dir / "comparison.xlsx"
    argv = ["compare", str(good), "-o", str(out), "--sweep", "contribution_ratio=0.04,4"]
    (line,) = _refused(argv, capsys)
    where, _, message = line.partition(": ")
    assert where.startswith("--sweep ")
    assert where.count("contribution_ratio") == 1, where
    assert message.startswith("found 4, which looks like a percentage — ")
    assert message.endswith("write 0.04 for 4%")
    assert list(out_dir.iterdir()) == []


def test_compare_bad_input_returns_2_and_writes_no_file(
    bad: Path, out_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = out_dir / "comparison.xlsx"
    assert _refused(["compare", str(bad), "-o", str(out)], capsys) == BAD_LINES
    assert list(out_dir.iterdir()) == []


# --- template --------------------------------------------------------------------------


def test_template_refuses_to_overwrite_without_force(
    out_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = out_dir / "template.xlsx"
    assert main(["template", str(out)]) == 0
    assert out.exists()
    assert "wrote the input template" in capsys.readouterr().out
    (line,) = _refused(["template", str(out)], capsys)
    assert (
        line
        == f"{out}: the file already exists — choose another name, or add --force to replace it"
    )
    assert main(["template", str(out), "--force"]) == 0
    assert [p.name for p in out_dir.iterdir()] == ["template.xlsx"]


def test_template_into_a_missing_folder_returns_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "nowhere" / "template.xlsx"
    (line,) = _refused(["template", str(out)], capsys)
    assert line.startswith(f"{out}: the output folder does not exist — create ")
