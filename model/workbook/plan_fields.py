"""The columns of the multi-year plan's sheets (``growth``, ``projection``, ``ratio_path``).

The data dictionary of the plan's sheets, as ``schema`` is of the others: each column is a
field of ``schema``, with what a blank means in these sheets (the national default, the
growth model) instead of the provinces sheet's defaults, since a blank growth rate is not
0 and a blank projected figure is not missing. The reader, the template and the docs' tables
are derived from it.
"""

from __future__ import annotations

import re
from dataclasses import replace

from model.schema import (
    GROWTH_DRIVERS,
    GROWTH_SHEET,
    PARAMETER_BY_KEY,
    PROJECTION_SHEET,
    PROVINCE_BY_KEY,
    PROVINCE_FIELDS,
    RATIO_PATH_SHEET,
    Field,
)

PLAN_SHEETS: tuple[str, ...] = (GROWTH_SHEET, PROJECTION_SHEET, RATIO_PATH_SHEET)

GROWTH_UNUSUAL = 0.2
"""An annual rate beyond ±20% is read but warned about: no province's wages, insured
employees, retirees or pensions have moved that fast for long, and −0.5 typed for −0.5%
(−50% a year) lies within the hard bound of ±0.5."""

NOT_PROJECTED = "opening_balance_100m"
"""Only the base year has an opening balance; the plan carries every later year's forward."""

CODE = replace(
    PROVINCE_BY_KEY["code"],
    expected="a code of the provinces sheet, such as 44",
    expected_zh="provinces 工作表中的代码，如 44",
)

GROWTH_FIELDS: tuple[Field, ...] = (
    CODE,
    *(
        replace(
            PARAMETER_BY_KEY[key],
            required=False,
            default=None,
            expected=PARAMETER_BY_KEY[key].expected + ", or blank for the national default",
            expected_zh=PARAMETER_BY_KEY[key].expected_zh + "；留空则取全国默认值",
        )
        for key in GROWTH_DRIVERS
    ),
)
"""The ``growth`` sheet: a unit's code, then any of the four annual rates."""


def _projected(field: Field) -> Field:
    """A provinces column as the projection sheet reads it: blank keeps the growth model."""
    return replace(
        field,
        required=False,
        default=None,
        expected=re.sub(r", or blank.*$", "", field.expected)
        + ", or blank to keep the growth model",
        expected_zh=re.sub(r"，(或)?留空.*$", "", field.expected_zh) + "；留空则按增长模型推算",
    )


PROJECTED_FIELDS: tuple[Field, ...] = tuple(
    _projected(f) for f in PROVINCE_FIELDS if f.kind == "number" and f.key != NOT_PROJECTED
)
"""The per-unit figures a ``projection`` row may give: every number of the provinces sheet
but the opening balance."""

PROJECTION_FIELDS: tuple[Field, ...] = (
    CODE,
    replace(
        PARAMETER_BY_KEY["year"],
        expected="a year after the base year, at most plan_end_year",
        expected_zh="基年之后、不晚于规划末年的年份",
    ),
    *PROJECTED_FIELDS,
)
"""The ``projection`` sheet: code, year, then the figures that replace the growth model."""

RATIO_PATH_FIELDS: tuple[Field, ...] = (
    replace(
        PARAMETER_BY_KEY["year"],
        expected="a year from the base year to plan_end_year",
        expected_zh="自基年至规划末年之间的年份",
    ),
    PARAMETER_BY_KEY["contribution_ratio"],
)
"""The ``ratio_path`` sheet: the contribution ratio from a year on."""

SHEET_FIELDS: dict[str, tuple[Field, ...]] = {
    GROWTH_SHEET: GROWTH_FIELDS,
    PROJECTION_SHEET: PROJECTION_FIELDS,
    RATIO_PATH_SHEET: RATIO_PATH_FIELDS,
}
