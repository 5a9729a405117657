"""What every report workbook lays out the same way, whichever results it shows.

Table columns headed by the vocabulary's words, a red banner no planner can miss, the
summary's sentences in both languages, and the ``run_info`` sheet that traces a workbook to
its input file, its software and each solve level. The allocation and the plan workbooks
both read these, so the two say the same thing in the same place.
"""

from __future__ import annotations

import io
import platform
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill

from model.export.cells import SECONDS, Column, Grid
from model.lp.solve import LevelOutcome
from model.vocabulary import FIGURES
from model.workbook.reader import Source
from model.workbook.scenarios import Parameters
from model.xlsx import atomic_path, refuse_overwrite

WARNING_FONT = Font(bold=True, color="9C0006")
WARNING_FILL = PatternFill("solid", fgColor="FFC7CE")
LEFT = Alignment(horizontal="left")
TOP = Alignment(vertical="top")
"""A level's figures sit level with the first line of its wrapped meaning."""
LEVEL_FORMATS = (None, None, "0.000000", SECONDS, "0.0E+00")

Item = tuple[str, object]
"""One line of run_info: its bilingual label and its value."""

Writer = Callable[[Path | io.BytesIO, datetime], None]
"""Lays a whole workbook out and saves it to a file or stream, stamped with a time."""


def write_file(write: Writer, path: str | Path, force: bool) -> Path:
    """Save a workbook atomically; refuse to replace a file without ``force``.

    Raises:
        InputError: ``path`` exists and ``force`` is False, or its folder is missing.
    """
    refuse_overwrite(Path(path), force)
    with atomic_path(path, force) as temporary:
        write(temporary, datetime.now(UTC))
    return Path(path)


def read_back(write: Writer, generated: datetime | None) -> Workbook:
    """The workbook exactly as ``write`` saves it, read back by openpyxl (a write-only
    workbook cannot be read, so this one is what was written)."""
    stream = io.BytesIO()
    write(stream, generated or datetime.now(UTC))
    return load_workbook(stream)


def figure_column(key: str, number_format: str | None = None, width: float = 14.0) -> Column:
    """A table column headed by the vocabulary's words for ``key``."""
    label = FIGURES[key]
    return Column(key, label.zh, label.en, label.unit, number_format, width)


def banner(sheet: Grid, row: int, line: tuple[str, str], width: float, columns: int) -> None:
    """A red line across ``columns`` columns, Chinese above English: a warning to the reader."""
    zh, en = line
    sheet.wrapped(row, 1, f"{zh}\n{en}", width, font=WARNING_FONT, fill=WARNING_FILL)
    sheet.merge(row, 1, columns)


def sentences(
    sheet: Grid, row: int, lines: Sequence[tuple[str, str]], width: float, columns: int
) -> int:
    """Each sentence on its own merged, wrapped row, Chinese then English, from the row below
    ``row``; return the last row written."""
    for zh, en in lines:
        for text in (zh, en):
            row += 1
            sheet.wrapped(row, 1, text, width)
            sheet.merge(row, 1, columns)
    return row


def versions() -> list[Item]:
    """The package, solver and Python versions and the platform, for run_info."""

    def version(package: str) -> str:
        try:
            return metadata.version(package)
        except metadata.PackageNotFoundError:
            return "not installed"

    return [
        ("caf-optimizer", version("caf-optimizer")),
        ("Pyomo", version("pyomo")),
        ("highspy", version("highspy")),
        ("Python", platform.python_version()),
        ("平台 Platform", platform.platform()),
    ]


def trace_items(
    source: Source, scenario: str, status: str, solver: str, generated: datetime
) -> list[Item]:
    """The input file and its digest, the run, the time and the software: run_info's head."""
    return [
        ("输入文件 Input file", source.name),
        ("SHA-256", source.sha256),
        ("文件大小 Size (bytes)", source.size_bytes),
        ("情景 Scenario", scenario),
        ("状态 Status", status),
        ("生成时间 Generated (UTC)", generated.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")),
        ("求解器 Solver", solver),
        *versions(),
    ]


def parameter_items(parameters: Parameters) -> list[Item]:
    """Every parameter the run was solved with, in data-dictionary order."""
    return [(f"参数 Parameter: {k}", v) for k, v in parameters.as_dict().items()]


TIMING = "用时"
"""How a timing's label starts: run_info shows its value in seconds."""


def timing_items(timings: dict[str, float]) -> list[Item]:
    """The seconds each stage took."""
    return [(f"{TIMING} Seconds: {k}", v) for k, v in timings.items()]


def run_info(
    sheet: Grid,
    items: Sequence[Item],
    levels: Sequence[LevelOutcome],
    meaning: Callable[[str], str],
) -> None:
    """Everything needed to trace a workbook back to its input and software: ``items`` one
    a row, then each lexicographic level with its termination, value and ``meaning``."""
    widths = [44.0, 70.0, 16.0, 12.0, 12.0]
    sheet.header_row(1, ["项目 Item", "取值 Value", "", "", ""], widths)
    sheet.freeze("A2")
    for row, (label, value) in enumerate(items, start=2):
        sheet.text(row, 1, label)
        fmt = SECONDS if label.startswith(TIMING) else None
        sheet.put(row, 2, "blank" if value is None else value, fmt, alignment=LEFT)
    sheet.autofilter(2, len(items) + 1)
    row = len(items) + 3
    labels = [
        "层级 Level",
        "终止条件 Termination",
        "目标值 Objective",
        "用时 Seconds",
        "容差 Tolerance",
        "含义 Meaning",
    ]
    meaning_width = 60.0
    sheet.header_row(row, labels, [*widths, meaning_width])
    for level in levels:
        row += 1
        values = [level.name, level.termination, level.objective, level.seconds, level.tolerance]
        for column, (value, fmt) in enumerate(zip(values, LEVEL_FORMATS, strict=True), start=1):
            sheet.put(row, column, value, fmt, alignment=TOP)
        sheet.wrapped(row, len(values) + 1, meaning(level.name), meaning_width)
