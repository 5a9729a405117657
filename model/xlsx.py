"""Safe, atomic writing shared by every workbook and file the project writes.

Outputs are written to a temporary file beside the target and renamed over it, so a
planner never finds a half-written report. An existing file is replaced only when the
caller says ``force``. User text is stored as plain text: a name like ``=HYPERLINK(...)``
must never become a formula in a workbook forwarded to a director.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from model.errors import InputError, Problem


def _file_mode() -> int:
    """``0o666`` less the process umask: what ``open()`` would have given the file."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


_FILE_MODE = _file_mode()
"""Read once at import: ``mkstemp`` creates files readable by their owner only, and a
report on a shared drive must be readable by colleagues as any saved file would be."""

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def safe_text(value: object) -> str:
    """User text with control characters removed, never read as a formula."""
    return _CONTROL.sub("", str(value))


def refuse_overwrite(path: Path, force: bool) -> None:
    """Raise an InputError unless ``path`` can be written: its folder exists, it is not a
    folder itself, and it does not exist yet (or ``force`` is given)."""
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise InputError(
            [
                Problem(
                    str(path),
                    "this is a folder, not a file name",
                    "give the output file's name, such as allocation.xlsx",
                    what_zh="该路径是文件夹，而非文件名",
                    fix_zh="请给出输出文件的名称，如 allocation.xlsx",
                )
            ]
        )
    if not folder.is_dir():
        raise InputError(
            [
                Problem(
                    str(path),
                    "the output folder does not exist",
                    f"create {folder} first or choose another path",
                    what_zh="输出文件夹不存在",
                    fix_zh=f"请先创建文件夹 {folder}，或另选路径",
                )
            ]
        )
    if path.exists() and not force:
        raise InputError(
            [
                Problem(
                    str(path),
                    "the file already exists",
                    "choose another name, or add --force to replace it",
                    what_zh="该文件已存在",
                    fix_zh="请另选文件名，或加上 --force 以替换该文件",
                )
            ]
        )


@contextlib.contextmanager
def atomic_path(path: str | Path, force: bool = False) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; rename it over ``path`` on success.

    Raises:
        InputError: the target exists and ``force`` is False, or its folder is missing.
    """
    path = Path(path)
    refuse_overwrite(path, force)
    folder = path.parent if str(path.parent) else Path(".")
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    os.close(handle)
    try:
        yield Path(temporary)
        os.chmod(temporary, _FILE_MODE)
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)


def save_workbook(workbook: Any, path: str | Path, force: bool = False) -> Path:
    """Save an openpyxl workbook atomically."""
    with atomic_path(path, force) as temporary:
        workbook.save(temporary)
    return Path(path)
