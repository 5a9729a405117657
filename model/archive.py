"""The file as a zip archive: what is checked before any XML parser sees it.

Non-workbooks, old .xls files, password-protected and macro workbooks, oversized files
and zip bombs are refused here, cheaply, with a message that names the file. Members are
decompressed as a stream and counted, so a bomb costs at most the limit.
"""

from __future__ import annotations

import hashlib
import zipfile
import zlib
from pathlib import Path
from typing import Any

from model.errors import InputError, Problem

MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_UNCOMPRESSED_BYTES = 100 * 1024 * 1024
_CHUNK = 1024 * 1024
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def inspect_archive(path: Path, name: str) -> tuple[str, int]:
    """Refuse what is not a plain .xlsx before any XML parser touches it; return its
    SHA-256 and size.

    Checks the file size, the zip structure, the macro parts, and each member's declared
    and actual uncompressed size (streamed, stopping at the limit), so a zip bomb costs
    at most ``MAX_UNCOMPRESSED_BYTES`` of decompression.
    """

    def refuse(what: str, fix: str) -> InputError:
        return InputError([Problem(name, what, fix)])

    if not path.is_file():
        raise refuse("found no such file", "check the path and the file name")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise refuse(
            f"the file is {size / 2**20:.1f} MiB, over the {MAX_FILE_BYTES // 2**20} MiB limit",
            "remove unused sheets, images and formatting, or split it",
        )
    raw = path.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if raw[:8] == _OLE_MAGIC:
        raise refuse(
            "this is an old .xls or a password-protected workbook",
            "open it in Excel and save it as an unprotected .xlsx workbook",
        )
    if not zipfile.is_zipfile(path):
        raise refuse(
            "this is not an Excel workbook (.xlsx)", "save the file from Excel as an .xlsx workbook"
        )
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            names = {m.filename for m in members}
            if "xl/workbook.xml" not in names:
                raise refuse(
                    "this zip file is not an Excel workbook (no xl/workbook.xml)",
                    "save the file from Excel as an .xlsx workbook",
                )
            declared = sum(m.file_size for m in members)
            if declared > MAX_UNCOMPRESSED_BYTES:
                raise refuse(
                    f"the workbook expands to {declared / 2**20:.0f} MiB, over the "
                    f"{MAX_UNCOMPRESSED_BYTES // 2**20} MiB limit",
                    "remove unused sheets and formatting, or split the workbook",
                )
            if any(m.flag_bits & 0x1 for m in members):
                raise refuse(
                    "this workbook is password-protected (encrypted)",
                    "open it in Excel and save it as an unprotected .xlsx workbook",
                )
            _measure_members(archive, members, refuse)
            content_types = (
                archive.read("[Content_Types].xml") if ("[Content_Types].xml" in names) else b""
            )
            if (
                "xl/vbaProject.bin" in names
                or b"macroEnabled" in content_types
                or path.suffix.lower() in (".xlsm", ".xltm")
            ):
                raise refuse(
                    "this workbook contains macros, which caf never opens",
                    "save it as a plain .xlsx workbook (Excel Workbook, no macros)",
                )
    except (
        zipfile.BadZipFile,
        zlib.error,
        EOFError,
        OSError,
        NotImplementedError,
        RuntimeError,
    ) as exc:
        raise refuse(f"the workbook is damaged ({exc})", "save it again from Excel") from None
    return digest, size


def _measure_members(archive: zipfile.ZipFile, members: list[zipfile.ZipInfo], refuse: Any) -> None:
    """Decompress every member, counting bytes, and stop at the limit."""
    total = 0
    for member in members:
        actual = 0
        with archive.open(member) as stream:
            while chunk := stream.read(_CHUNK):
                actual += len(chunk)
                total += len(chunk)
                if total > MAX_UNCOMPRESSED_BYTES:
                    raise refuse(
                        f"the workbook expands to over {MAX_UNCOMPRESSED_BYTES // 2**20} MiB "
                        f"(member {member.filename}); it may be a zip bomb",
                        "send the original workbook saved from Excel",
                    )
        if actual != member.file_size:
            raise refuse(
                f"member {member.filename} declares {member.file_size} bytes but holds {actual}",
                "send the original workbook saved from Excel",
            )
