"""The multi-year plan's own sheets: ``growth``, ``projection`` and ``ratio_path``.

A plan starts from the ordinary workbook (the base year) and carries every unit's figures
forward year by year (docs/formulation.md, the multi-year plan). These sheets say how:
per-unit growth rates, explicit figures that override the growth model for one unit and
year, and the contribution ratio year by year. All three are optional; a workbook without
them plans with the national growth defaults of the ``parameters`` sheet and a constant
ratio.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from model.schema import GROWTH_DRIVERS


def _empty_growth() -> pd.DataFrame:
    return pd.DataFrame(columns=list(GROWTH_DRIVERS), dtype=float).rename_axis("code")


def _empty_projection() -> pd.DataFrame:
    index = pd.MultiIndex.from_arrays([[], []], names=["code", "year"])
    return pd.DataFrame(index=index, dtype=float)


@dataclass(frozen=True)
class Horizon:
    """The plan's sheets, validated.

    Attributes:
        growth: indexed by unit code (text, sorted), one column per driver of
            ``schema.GROWTH_DRIVERS``; NaN where the sheet leaves the national default.
            Units the sheet does not list are absent (they take the defaults).
        projection: indexed by (code, year), one float column per key of the provinces
            sheet that the planner gave for some unit and year; NaN where not given. Such a
            figure replaces the growth model for that unit and year, and later years grow
            from it.
        projection_cells: ((code, year, key), "projection!D5") for every figure given, so a
            message about it can name its cell.
        ratio_path: (year, contribution_ratio) pairs, sorted by year, as written; a year
            the sheet skips keeps the previous year's ratio.
        ratio_path_cells: (year, "ratio_path!B3") for every ratio given.
    """

    growth: pd.DataFrame = field(default_factory=_empty_growth)
    projection: pd.DataFrame = field(default_factory=_empty_projection)
    projection_cells: tuple[tuple[tuple[str, int, str], str], ...] = ()
    ratio_path: tuple[tuple[int, float], ...] = ()
    ratio_path_cells: tuple[tuple[int, str], ...] = ()

    def ratio_cell(self, year: int) -> str:
        """Where the ratio of ``year`` is written, or the sheet when it is not."""
        return dict(self.ratio_path_cells).get(year, "ratio_path!B:B")
