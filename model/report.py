"""Allocation / Comparison → formatted workbooks and JSON (the only writer of results)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from openpyxl import Workbook

from model.results import PROVINCE_JSON_KEYS, Allocation
from model.xlsx import atomic_path, safe_text, save_workbook


def write_json(payload: dict[str, Any], path: str | Path, force: bool = False) -> Path:
    """Write a JSON result atomically (UTF-8, Chinese kept readable)."""
    with atomic_path(path, force) as temporary:
        temporary.write_text(
            json.dumps(payload, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
    return Path(path)


def write_allocation_workbook(
    allocation: Allocation, path: str | Path, force: bool = False
) -> Path:
    """Write the allocation workbook."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "allocation"
    sheet.append(list(PROVINCE_JSON_KEYS))
    for row in allocation.table[list(PROVINCE_JSON_KEYS)].itertuples(index=False):
        sheet.append([safe_text(v) if isinstance(v, str) else float(v) for v in row])
    return save_workbook(workbook, path, force)
