"""Build small input workbooks for tests, cell by cell, exactly as a planner would."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from openpyxl import Workbook

from model.schema import PROVINCE_FIELDS

WORKED_EXAMPLE: list[dict[str, Any]] = [
    # docs/formulation.md §2 at ratio 0.04: contributions 360.0, 86.4, 172.8; allocations 206.4,
    # 309.6, 103.2. Balances are chosen so every unit pays in full under the rule.
    {
        "code": "A",
        "name_zh": "甲",
        "name_en": "Alpha",
        "region": "East",
        "avg_wage_yuan": 100000,
        "insured_employees_10k": 1000,
        "retirees_10k": 200,
        "opening_balance_100m": 2000,
        "contribution_income_100m": 900,
        "expenditure_100m": 600,
    },
    {
        "code": "B",
        "name_zh": "乙",
        "name_en": "Beta",
        "region": "Northeast",
        "avg_wage_yuan": 60000,
        "insured_employees_10k": 400,
        "retirees_10k": 300,
        "opening_balance_100m": 100,
        "contribution_income_100m": 300,
        "expenditure_100m": 500,
    },
    {
        "code": "C",
        "name_zh": "丙",
        "name_en": "Gamma",
        "region": "Central",
        "avg_wage_yuan": 80000,
        "insured_employees_10k": 600,
        "retirees_10k": 100,
        "opening_balance_100m": 500,
        "contribution_income_100m": 400,
        "expenditure_100m": 300,
    },
]
WORKED_PARAMETERS: dict[str, Any] = {"year": 2020, "contribution_ratio": 0.04}


def write_workbook(
    path: Path,
    units: list[dict[str, Any]],
    parameters: dict[str, Any],
    scenarios: list[dict[str, Any]] | None = None,
    headers: str = "key",
) -> Path:
    """Write a workbook with the given rows; ``headers`` is ``key`` or ``label``."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "provinces"
    keys = [f.key for f in PROVINCE_FIELDS if any(f.key in u for u in units)]
    labels = {f.key: f.label for f in PROVINCE_FIELDS}
    sheet.append([k if headers == "key" else labels[k] for k in keys])
    for unit in units:
        sheet.append([unit.get(k) for k in keys])
    params = workbook.create_sheet("parameters")
    params.append(["key", "value"])
    for key, value in parameters.items():
        params.append([key, value])
    if scenarios is not None:
        sheet_s = workbook.create_sheet("scenarios")
        columns = ["scenario", *sorted({k for s in scenarios for k in s if k != "scenario"})]
        sheet_s.append(columns)
        for scenario in scenarios:
            sheet_s.append([scenario.get(c) for c in columns])
    workbook.save(path)
    return path
