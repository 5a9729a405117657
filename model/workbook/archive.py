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

    def refuse(what: str, fix: str, what_zh: str, fix_zh: str) -> InputError:
        return InputError([Problem(name, what, fix, what_zh, fix_zh)])

    if not path.is_file():
        raise refuse(
            "found no such file",
            "check the path and the file name",
            "未找到该文件",
            "请检查路径和文件名",
        )
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise refuse(
            f"the file is {size / 2**20:.1f} MiB, over the {MAX_FILE_BYTES // 2**20} MiB limit",
            "remove unused sheets, images and formatting, or split it",
            f"文件大小为{size / 2**20:.1f} MiB，超过{MAX_FILE_BYTES // 2**20} MiB的上限",
            "请删除未使用的工作表、图片和格式，或将其拆分为多个工作簿",
        )
    raw = path.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if raw[:8] == _OLE_MAGIC:
        raise refuse(
            "this is an old .xls or a password-protected workbook",
            "open it in Excel and save it as an unprotected .xlsx workbook",
            "该文件为旧版 .xls 工作簿或受密码保护的工作簿",
            "请在 Excel 中打开，并另存为未设密码的 .xlsx 工作簿",
        )
    if not zipfile.is_zipfile(path):
        raise refuse(
            "this is not an Excel workbook (.xlsx)",
            "save the file from Excel as an .xlsx workbook",
            "该文件不是 Excel 工作簿（.xlsx）",
            "请在 Excel 中将该文件另存为 .xlsx 工作簿",
        )
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            names = {m.filename for m in members}
            if "xl/workbook.xml" not in names:
                raise refuse(
                    "this zip file is not an Excel workbook (no xl/workbook.xml)",
                    "save the file from Excel as an .xlsx workbook",
                    "该 zip 文件不是 Excel 工作簿（缺少 xl/workbook.xml）",
                    "请在 Excel 中将该文件另存为 .xlsx 工作簿",
                )
            declared = sum(m.file_size for m in members)
            if declared > MAX_UNCOMPRESSED_BYTES:
                raise refuse(
                    f"the workbook expands to {declared / 2**20:.0f} MiB, over the "
                    f"{MAX_UNCOMPRESSED_BYTES // 2**20} MiB limit",
                    "remove unused sheets and formatting, or split the workbook",
                    f"工作簿解压后为{declared / 2**20:.0f} MiB，"
                    f"超过{MAX_UNCOMPRESSED_BYTES // 2**20} MiB的上限",
                    "请删除未使用的工作表和格式，或将工作簿拆分",
                )
            if any(m.flag_bits & 0x1 for m in members):
                raise refuse(
                    "this workbook is password-protected (encrypted)",
                    "open it in Excel and save it as an unprotected .xlsx workbook",
                    "该工作簿受密码保护（已加密）",
                    "请在 Excel 中打开，并另存为未设密码的 .xlsx 工作簿",
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
                    "该工作簿含有宏，caf 不打开含宏的文件",
                    "请另存为不含宏的普通 .xlsx 工作簿（“Excel 工作簿”格式）",
                )
    except (
        zipfile.BadZipFile,
        zlib.error,
        EOFError,
        OSError,
        NotImplementedError,
        RuntimeError,
    ) as exc:
        raise refuse(
            f"the workbook is damaged ({exc})",
            "save it again from Excel",
            f"工作簿已损坏（{exc}）",
            "请在 Excel 中重新保存",
        ) from None
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
                        f"工作簿解压后超过{MAX_UNCOMPRESSED_BYTES // 2**20} MiB"
                        f"（压缩包内文件 {member.filename}），可能是恶意压缩文件（zip 炸弹）",
                        "请提供由 Excel 保存的原始工作簿",
                    )
        if actual != member.file_size:
            raise refuse(
                f"member {member.filename} declares {member.file_size} bytes but holds {actual}",
                "send the original workbook saved from Excel",
                f"压缩包内文件 {member.filename} 声明大小为{member.file_size}字节，"
                f"实际为{actual}字节",
                "请提供由 Excel 保存的原始工作簿",
            )
