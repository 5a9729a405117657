"""The multi-year plan's own sheets: ``growth``, ``projection`` and ``ratio_path``.

A plan starts from the ordinary workbook (the base year) and carries every unit's figures
forward year by year (docs/formulation.md, the multi-year plan). These sheets say how:
per-unit growth rates, explicit figures that override the growth model for one unit and
year, and the contribution ratio year by year. All three are optional; a workbook without
them plans with the national growth defaults of the ``parameters`` sheet and a constant
ratio.

What a plan must satisfy, whichever way its parameters arrive (the ``parameters`` sheet, a
row of the ``scenarios`` sheet, ``--set``), is ``plan_problems``; the fixed ratio of every
year is ``ratio_path_for``. The sheets themselves are read by ``plan_sheets``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import pandas as pd

from model.errors import Problem
from model.schema import GROWTH_DRIVERS, PLAN_HORIZON_MAX
from model.workbook.scenarios import Parameters

RATIO_TOLERANCE = 1e-12
"""Ratios closer than this are the same ratio: 0.045 typed twice may differ in the last bit
after a percent sign or a formula, and a path is not "falling" for that."""


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


def ratio_path_for(parameters: Parameters, horizon: Horizon) -> tuple[tuple[int, float], ...]:
    """The fixed contribution ratio of every year from ``year`` to ``plan_end_year``.

    The base year's is ``contribution_ratio`` (its row in the ``ratio_path`` sheet, if any,
    must agree: ``plan_problems``); a year the sheet skips keeps the year before's ratio,
    and the sheet's years outside the horizon are ignored, so a scenario with a shorter
    horizon follows the same path as far as it goes. Without ``plan_end_year``, the base
    year alone.
    """
    given = dict(horizon.ratio_path)
    end = parameters.year if parameters.plan_end_year is None else parameters.plan_end_year
    path = [(parameters.year, parameters.contribution_ratio)]
    for year in range(parameters.year + 1, end + 1):
        path.append((year, given.get(year, path[-1][1])))
    return tuple(path)


def plan_problems(
    parameters: Parameters,
    horizon: Horizon,
    where: str,
    cells: Mapping[str, str] | None = None,
) -> list[Problem]:
    """What stops ``parameters`` from planning with ``horizon``; an empty list when nothing.

    The checks that involve more than one value, so they hold for any combination of the
    parameters sheet, a scenario and ``--set``: a horizon (``plan_end_year`` given, not
    before ``year``, at most ``PLAN_HORIZON_MAX`` years); an optimised path with both its
    bounds and a ceiling no lower than ``contribution_ratio``; a fixed path whose base-year
    row (if any) is ``contribution_ratio`` and which never falls. A fall is named at the
    ``ratio_path`` cell of the year where it falls.

    Args:
        parameters: the parameters to plan with.
        horizon: the workbook's plan sheets.
        where: where the parameters come from (``parameters``, ``scenario high``,
            ``--set``); a key missing from ``cells`` is located as ``{where} {key}``.
        cells: key → where that key's value was written (``parameters!B11``,
            ``scenarios!D3``, ``--set contribution_ratio``), for precise locations.
    """
    known = dict(cells or {})

    def at(key: str) -> str:
        return known.get(key) or f"{where} {key}"

    p = parameters
    if p.plan_end_year is None:
        return [
            Problem(
                at("plan_end_year"),
                "found no plan_end_year, so there is no horizon to plan",
                "set plan_end_year, the plan's last year (such as 2035), in the parameters "
                "sheet or with --set plan_end_year=2035",
                "未填写规划末年 plan_end_year，没有可规划的年份",
                "请在 parameters 工作表中填写规划末年 plan_end_year（如 2035），"
                "或使用 --set plan_end_year=2035",
            )
        ]
    horizon_problem = _horizon_problem(p, at)
    if horizon_problem is not None:
        return [horizon_problem]
    if p.optimizes_ratio_path:
        return _bound_problems(p, at)
    return _path_problems(p, horizon, at)


def _horizon_problem(p: Parameters, at: Callable[[str], str]) -> Problem | None:
    """``plan_end_year`` before the base year, or too far after it."""
    assert p.plan_end_year is not None
    end, years = p.plan_end_year, p.plan_end_year - p.year + 1
    if end < p.year:
        return Problem(
            at("plan_end_year"),
            f"found {end}, before the base year {p.year} ({at('year')})",
            f"make plan_end_year the base year or later, such as {p.year + 15}, or leave it "
            "blank for no plan",
            f"规划末年 {end} 早于基年 {p.year}（{at('year')}）",
            f"请将 plan_end_year 设为基年或以后的年份，如 {p.year + 15}；如不做多年规划，请留空",
        )
    if years > PLAN_HORIZON_MAX:
        last = p.year + PLAN_HORIZON_MAX - 1
        return Problem(
            at("plan_end_year"),
            f"found {end}: a plan of {years} years from {p.year}, more than the "
            f"{PLAN_HORIZON_MAX} a plan may cover",
            f"choose a plan_end_year no later than {last}",
            f"规划末年 {end}：自 {p.year} 年起共 {years} 年，超过规划最多可覆盖的 "
            f"{PLAN_HORIZON_MAX} 年",
            f"请将 plan_end_year 设为不晚于 {last} 的年份",
        )
    return None


def _bound_problems(p: Parameters, at: Callable[[str], str]) -> list[Problem]:
    """An optimised path needs its ceiling and its yearly step, and room to start."""
    problems = []
    chosen, chosen_zh = (
        f"optimize_ratio_path is yes ({at('optimize_ratio_path')})",
        f"optimize_ratio_path 为 yes（{at('optimize_ratio_path')}）",
    )
    instead = "or set optimize_ratio_path to no and give the path in the ratio_path sheet"
    instead_zh = "或将 optimize_ratio_path 设为 no，并在 ratio_path 工作表中给出比例路径"
    if p.ratio_max is None:
        problems.append(
            Problem(
                at("ratio_max"),
                f"found no ratio_max, but {chosen}",
                f"give ratio_max, the highest ratio any year may reach (such as 0.06), {instead}",
                f"未填写 ratio_max，但 {chosen_zh}",
                f"请填写 ratio_max，即各年上解比例的上限（如 0.06），{instead_zh}",
            )
        )
    elif p.ratio_max < p.contribution_ratio - RATIO_TOLERANCE:
        problems.append(
            Problem(
                at("ratio_max"),
                f"found ratio_max {p.ratio_max:g}, below the contribution ratio "
                f"{p.contribution_ratio:g} ({at('contribution_ratio')})",
                f"raise ratio_max to at least {p.contribution_ratio:g}: the base year's ratio "
                "is contribution_ratio, and the ratio never falls",
                f"ratio_max 为 {p.ratio_max:g}，低于上解比例 contribution_ratio "
                f"{p.contribution_ratio:g}（{at('contribution_ratio')}）",
                f"请将 ratio_max 提高到不低于 {p.contribution_ratio:g}：基年的上解比例即 "
                "contribution_ratio，且上解比例只升不降",
            )
        )
    if p.ratio_step_max is None:
        problems.append(
            Problem(
                at("ratio_step_max"),
                f"found no ratio_step_max, but {chosen}",
                "give ratio_step_max, the most the ratio may rise in a year (such as 0.005 "
                f"for half a point), {instead}",
                f"未填写 ratio_step_max，但 {chosen_zh}",
                "请填写 ratio_step_max，即上解比例每年最多提高多少（如 0.005，即半个百分点），"
                f"{instead_zh}",
            )
        )
    return problems


def _path_problems(p: Parameters, horizon: Horizon, at: Callable[[str], str]) -> list[Problem]:
    """A base-year row that is not ``contribution_ratio``, and every year the path falls.

    Each ratio is compared with the one written before it (the base year's being
    ``contribution_ratio``), so one fall is named once, at the year where it happens.
    """
    assert p.plan_end_year is not None
    problems = []
    before, before_year = p.contribution_ratio, p.year
    before_at = at("contribution_ratio")
    for year, ratio in horizon.ratio_path:
        if year < p.year or year > p.plan_end_year:
            continue
        cell = horizon.ratio_cell(year)
        if year == p.year:
            if abs(ratio - p.contribution_ratio) > RATIO_TOLERANCE:
                problems.append(
                    Problem(
                        cell,
                        f"found {ratio:g} for the base year {year}, but the contribution ratio "
                        f"is {p.contribution_ratio:g} ({before_at})",
                        "the base year's ratio is contribution_ratio: make the two equal, or "
                        "delete this row",
                        f"基年 {year} 年的上解比例为 {ratio:g}，而 contribution_ratio 为 "
                        f"{p.contribution_ratio:g}（{before_at}）",
                        "基年的上解比例即 contribution_ratio：请使两者一致，或删除此行",
                    )
                )
            continue
        if ratio < before - RATIO_TOLERANCE:
            if before_year == p.year:
                said = f"the base year's contribution ratio {before:g} ({before_at})"
                said_zh = f"基年 {before_year} 年的上解比例 {before:g}（{before_at}）"
            else:
                said = f"{before:g} in {before_year} ({before_at})"
                said_zh = f"{before_year} 年的 {before:g}（{before_at}）"
            problems.append(
                Problem(
                    cell,
                    f"found {ratio:g} for {year}, below {said}: the ratio never falls",
                    f"make it at least {before:g}, or lower the years before it",
                    f"{year} 年的上解比例 {ratio:g} 低于 {said_zh}：上解比例只升不降",
                    f"请将其提高到不低于 {before:g}，或调低此前各年的比例",
                )
            )
        before, before_year, before_at = ratio, year, cell
    return problems
