"""Files that are not plain workbooks are refused before openpyxl opens them (issue 2).

Non-workbooks, old .xls / password-protected files, macro workbooks, oversized files and
zip bombs each get their own message, located by the file's name.
"""

from __future__ import annotations

import shutil
import struct
import time
import tracemalloc
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import openpyxl
import pytest

import model.workbook.archive
from model.errors import InputError, Problem
from model.workbook.archive import MAX_UNCOMPRESSED_BYTES, inspect_archive
from model.workbook.reader import read_workbook
from tests.workbooks import WORKED_EXAMPLE, WORKED_PARAMETERS, write_workbook

MiB = 2**20
BOMB_BYTES = 600 * 10**6  # ≈ 572 MiB of zeros, ≈ 2.6 MB compressed at level 1


@pytest.fixture
def good(tmp_path: Path) -> Path:
    return write_workbook(tmp_path / "good.xlsx", WORKED_EXAMPLE, WORKED_PARAMETERS)


@pytest.fixture
def no_openpyxl(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if the reader hands the file to openpyxl."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("openpyxl.load_workbook was called")

    monkeypatch.setattr(openpyxl, "load_workbook", refuse)


def _zeros(archive: zipfile.ZipFile, name: str, size: int) -> None:
    """Stream ``size`` zero bytes into one member without holding them in memory."""
    chunk = bytes(MiB)
    with archive.open(name, "w", force_zip64=True) as member:
        left = size
        while left > 0:
            member.write(chunk[: min(left, MiB)])
            left -= MiB


@pytest.fixture(scope="module")
def bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bomb") / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        _zeros(archive, "xl/worksheets/sheet1.xml", BOMB_BYTES)
    return path


def _central_entries(data: bytes) -> Iterator[tuple[int, str]]:
    """(offset, name) of every central-directory header in a zip's bytes."""
    position = data.find(b"PK\x01\x02")
    while position != -1:
        name_length = struct.unpack_from("<H", data, position + 28)[0]
        name = data[position + 46 : position + 46 + name_length].decode()
        yield position, name
        position = data.find(b"PK\x01\x02", position + 46 + name_length)


def _declare_size(source: Path, target: Path, member: str, size: int) -> Path:
    """Copy ``source`` with ``member``'s declared uncompressed size changed to ``size``."""
    data = bytearray(source.read_bytes())
    hits = [offset for offset, name in _central_entries(bytes(data)) if name == member]
    assert len(hits) == 1
    (declared,) = struct.unpack_from("<I", data, hits[0] + 24)
    assert declared != 0xFFFFFFFF  # a 32-bit size field, not a zip64 placeholder
    struct.pack_into("<I", data, hits[0] + 24, size)
    target.write_bytes(bytes(data))
    with zipfile.ZipFile(target) as archive:
        assert archive.getinfo(member).file_size == size
    return target


def _rezip(source: Path, target: Path, add: dict[str, bytes]) -> Path:
    """Copy a zip's members, replacing or adding the ``add`` members."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            if info.filename not in add:
                new.writestr(info, old.read(info))
        for name, content in add.items():
            new.writestr(name, content)
    return target


def english(problem: Problem) -> str:
    """The located English half of a problem; the Chinese half is checked to exist."""
    assert problem.what_zh and problem.fix_zh
    return f"{problem.where}: {problem.en}"


def _refusal(path: Path) -> Problem:
    with pytest.raises(InputError) as caught:
        read_workbook(path)
    assert len(caught.value.problems) == 1
    return caught.value.problems[0]


# --- not a workbook --------------------------------------------------------------------


def test_found_no_such_file(tmp_path: Path) -> None:
    problem = _refusal(tmp_path / "missing.xlsx")
    assert english(problem) == "missing.xlsx: found no such file — check the path and the file name"


def test_text_file_renamed_xlsx_is_not_an_excel_workbook(tmp_path: Path, no_openpyxl: None) -> None:
    path = tmp_path / "data.xlsx"
    path.write_text("code,name\n11,北京\n", encoding="utf-8")
    assert english(_refusal(path)) == (
        "data.xlsx: this is not an Excel workbook (.xlsx) — "
        "save the file from Excel as an .xlsx workbook"
    )


def test_ole_header_is_an_old_xls_or_password_protected(tmp_path: Path, no_openpyxl: None) -> None:
    path = tmp_path / "old.xlsx"
    path.write_bytes(bytes.fromhex("D0CF11E0A1B11AE1") + bytes(504))
    problem = _refusal(path)
    assert problem.where == "old.xlsx"
    assert problem.what == "this is an old .xls or a password-protected workbook"
    assert "save it as an unprotected .xlsx" in problem.fix


def test_zip_without_workbook_xml_is_not_an_excel_workbook(
    tmp_path: Path, no_openpyxl: None
) -> None:
    path = tmp_path / "archive.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<document/>")
    problem = _refusal(path)
    assert problem.where == "archive.xlsx"
    assert problem.what == "this zip file is not an Excel workbook (no xl/workbook.xml)"


def test_workbook_whose_sheet_list_cannot_be_parsed_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "broken.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "not xml at all")
    problem = _refusal(path)
    assert problem.where == "broken.xlsx"
    assert problem.what == "the workbook's list of sheets cannot be read (ParseError)"
    assert problem.fix == "save it again from Excel as .xlsx"


def _central_offset(data: bytes, member: str) -> int:
    (offset,) = [offset for offset, name in _central_entries(data) if name == member]
    return offset


def _corrupt_invalid_deflate(data: bytearray, info: zipfile.ZipInfo) -> None:
    # the first byte of the deflate stream: 0xFF makes an invalid block type (zlib.error)
    name_length, extra_length = struct.unpack_from("<HH", data, info.header_offset + 26)
    data[info.header_offset + 30 + name_length + extra_length] = 0xFF


def _corrupt_unknown_method(data: bytearray, info: zipfile.ZipInfo) -> None:
    # method 9 (deflate64) is not supported by zipfile (NotImplementedError)
    struct.pack_into("<H", data, _central_offset(bytes(data), info.filename) + 10, 9)
    struct.pack_into("<H", data, info.header_offset + 8, 9)


def _corrupt_encrypted_flag(data: bytearray, info: zipfile.ZipInfo) -> None:
    # general-purpose bit 0: encrypted, password required (RuntimeError)
    central = _central_offset(bytes(data), info.filename)
    flags = struct.unpack_from("<H", data, central + 8)[0] | 1
    struct.pack_into("<H", data, central + 8, flags)
    struct.pack_into("<H", data, info.header_offset + 6, flags)


@pytest.mark.parametrize(
    "corrupt",
    [_corrupt_invalid_deflate, _corrupt_unknown_method, _corrupt_encrypted_flag],
    ids=["invalid-deflate-stream", "unsupported-compression-method", "encrypted-member"],
)
def test_damaged_member_is_reported_not_crashed(
    good: Path, tmp_path: Path, no_openpyxl: None, corrupt: Callable[..., None]
) -> None:
    """zipfile raises zlib.error / NotImplementedError / RuntimeError for these, not
    BadZipFile; each must still become a located InputError, never an internal error."""
    data = bytearray(good.read_bytes())
    with zipfile.ZipFile(good) as archive:
        info = archive.getinfo("xl/worksheets/sheet1.xml")
    corrupt(data, info)
    path = tmp_path / "damaged.xlsx"
    path.write_bytes(bytes(data))
    problem = _refusal(path)
    assert problem.where == "damaged.xlsx"
    assert "damaged" in problem.what or "password" in problem.what


# --- macros ----------------------------------------------------------------------------


def test_vba_project_is_refused_as_macros(good: Path, tmp_path: Path, no_openpyxl: None) -> None:
    path = _rezip(good, tmp_path / "macro.xlsx", {"xl/vbaProject.bin": b"\x00" * 64})
    assert english(_refusal(path)) == (
        "macro.xlsx: this workbook contains macros, which caf never opens — "
        "save it as a plain .xlsx workbook (Excel Workbook, no macros)"
    )


def test_macro_enabled_content_type_is_refused(
    good: Path, tmp_path: Path, no_openpyxl: None
) -> None:
    with zipfile.ZipFile(good) as archive:
        types = archive.read("[Content_Types].xml").decode()
    types = types.replace(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
        "application/vnd.ms-excel.sheet.macroEnabled.main+xml",
    )
    assert "macroEnabled" in types
    path = _rezip(good, tmp_path / "macro.xlsx", {"[Content_Types].xml": types.encode()})
    problem = _refusal(path)
    assert problem.where == "macro.xlsx"
    assert "contains macros" in problem.what


def test_xlsm_name_is_refused(good: Path, tmp_path: Path, no_openpyxl: None) -> None:
    path = tmp_path / "plain.xlsm"
    shutil.copy(good, path)
    problem = _refusal(path)
    assert problem.where == "plain.xlsm"
    assert "contains macros" in problem.what


# --- size limits and zip bombs ---------------------------------------------------------


def test_file_over_50_mib_on_disk_is_refused_by_size(tmp_path: Path, no_openpyxl: None) -> None:
    path = tmp_path / "huge.xlsx"
    with path.open("wb") as handle:
        handle.truncate(60 * MiB)  # sparse: costs no disk
    start = time.perf_counter()
    problem = _refusal(path)
    assert time.perf_counter() - start < 1.0
    assert english(problem) == (
        "huge.xlsx: the file is 60.0 MiB, over the 50 MiB limit — "
        "remove unused sheets, images and formatting, or split it"
    )


def test_zip_bomb_is_refused_in_well_under_a_second(bomb: Path, no_openpyxl: None) -> None:
    assert bomb.stat().st_size < 4 * MiB
    start = time.perf_counter()
    problem = _refusal(bomb)
    elapsed = time.perf_counter() - start
    assert elapsed < 1.0
    assert problem.where == "bomb.xlsx"
    assert problem.what.startswith("the workbook expands to 572 MiB")
    assert "over the 100 MiB limit" in problem.what


def test_member_declaring_a_small_size_but_holding_a_bomb_is_refused(
    bomb: Path, tmp_path: Path, no_openpyxl: None
) -> None:
    liar = _declare_size(bomb, tmp_path / "liar.xlsx", "xl/worksheets/sheet1.xml", 1000)
    start = time.perf_counter()
    problem = _refusal(liar)
    assert time.perf_counter() - start < 1.0
    assert problem.where == "liar.xlsx"
    # zipfile stops at the declared size and the CRC then disagrees
    assert "damaged" in problem.what or "zip bomb" in problem.what


def test_member_declaring_more_than_it_holds_is_refused(
    good: Path, tmp_path: Path, no_openpyxl: None
) -> None:
    with zipfile.ZipFile(good) as archive:
        actual = archive.getinfo("xl/workbook.xml").file_size
    liar = _declare_size(good, tmp_path / "liar.xlsx", "xl/workbook.xml", actual + 100)
    assert english(_refusal(liar)) == (
        f"liar.xlsx: member xl/workbook.xml declares {actual + 100} bytes but holds {actual} — "
        "send the original workbook saved from Excel"
    )


def test_streamed_decompression_stops_at_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The streamed count is the last line of defence when declared sizes are not trusted."""
    path = tmp_path / "big.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        _zeros(archive, "xl/big.bin", 3 * MiB)
    monkeypatch.setattr(model.workbook.archive, "MAX_UNCOMPRESSED_BYTES", MiB)

    def refuse(what: str, fix: str, what_zh: str, fix_zh: str) -> InputError:
        return InputError([Problem("big.zip", what, fix, what_zh, fix_zh)])

    with zipfile.ZipFile(path) as archive, pytest.raises(InputError) as caught:
        model.workbook.archive._measure_members(archive, archive.infolist(), refuse)
    (problem,) = caught.value.problems
    assert problem.what == (
        "the workbook expands to over 1 MiB (member xl/big.bin); it may be a zip bomb"
    )


def test_bomb_in_content_types_is_refused_without_decompressing_it(
    tmp_path: Path, no_openpyxl: None
) -> None:
    """[Content_Types].xml must not be read whole before the size checks."""
    path = tmp_path / "types_bomb.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        _zeros(archive, "[Content_Types].xml", MAX_UNCOMPRESSED_BYTES + MiB)
    tracemalloc.start()
    try:
        with pytest.raises(InputError) as caught:
            inspect_archive(path, path.name)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "100 MiB limit" in caught.value.problems[0].what
    assert peak < 32 * MiB, f"decompressed {peak / MiB:.0f} MiB before refusing"


def test_plain_workbook_passes_the_archive_checks(good: Path) -> None:
    digest, size = inspect_archive(good, "upload.xlsx")
    assert size == good.stat().st_size
    assert len(digest) == 64
    assert read_workbook(good, "upload.xlsx").source.sha256 == digest
