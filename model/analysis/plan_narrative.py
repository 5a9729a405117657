"""A ``Plan`` in words: the summary sentences, ``(Chinese, English)`` pairs.

The plan workbook, the web page and the terminal print the same sentences; everything they
need (who runs out when, what the plan costs, the ratio path, the years of most strain) is
worked out here.
"""

from __future__ import annotations

import pandas as pd

from model.analysis.narrative import Line, join_en, join_zh, name_en, yi
from model.analysis.plan import Plan


def _percent(ratio: float) -> str:
    return f"{ratio * 100:.4g}%"


def ratio_runs(plan: Plan) -> list[tuple[float, int, int]]:
    """The ratio path as runs of equal ratios: ``(ratio, first year, last year)``."""
    runs: list[tuple[float, int, int]] = []
    for year, ratio in zip(plan.years, plan.ratios, strict=True):
        if runs and abs(runs[-1][0] - ratio) <= 1e-9:
            runs[-1] = (runs[-1][0], runs[-1][1], year)
        else:
            runs.append((ratio, year, year))
    return runs


def _span(first: int, last: int) -> str:
    return str(first) if first == last else f"{first}–{last}"


def horizon_sentence(plan: Plan) -> Line:
    """The horizon and the units."""
    first, last, n = plan.years[0], plan.years[-1], len(plan.years)
    units = len(plan.units)
    return (
        f"规划期 {first}–{last} 年（{n} 年），{units} 个统筹单位。",
        f"Plan {first}–{last} ({n} years), {units} pooling units.",
    )


def ratio_sentence(plan: Plan) -> Line:
    """The ratio path, compressed into runs."""
    runs = ratio_runs(plan)
    zh = "，".join(f"{_span(a, b)} 年 {_percent(r)}" for r, a, b in runs)
    en = ", ".join(f"{_percent(r)} in {_span(a, b)}" for r, a, b in runs)
    if plan.optimised:
        p = plan.parameters
        ceiling, step = p.ratio_max or plan.ratios[0], p.ratio_step_max or 0.0
        return (
            f"上解比例路径由模型选定（不高于 {_percent(ceiling)}，每年至多提高 "
            f"{step * 100:.4g} 个百分点，取满足前述目标的最平缓路径）：{zh}。",
            f"The ratio path is optimised (at most {_percent(ceiling)}, rising at most "
            f"{step * 100:.4g} points a year; the gentlest path that reaches the levels "
            f"above): {en}.",
        )
    return f"上解比例：{zh}。", f"Contribution ratio: {en}."


def _depleted(plan: Plan, key: str) -> tuple[list[str], list[str]]:
    """Units that run out under a regime, earliest first, as ``name year``."""
    years = plan.depletion[key].dropna().sort_values(kind="stable")
    zh = [f"{plan.units.at[c, 'name_zh']} {int(y)}" for c, y in years.items()]
    en = [f"{name_en(_row(plan, c))} {int(y)}" for c, y in years.items()]
    return zh, en


def _row(plan: Plan, code: str) -> object:
    return pd.Series(plan.units.loc[code]).rename(code)


def depletion_sentences(plan: Plan) -> list[Line]:
    """Which units run out when, before adjustment and under the rule, and the nation."""
    lines: list[Line] = []
    for key, zh_regime, en_regime in (
        ("depletion_year_rule", "按法定规则调剂、不增加财政补助", "Under the statutory rule"),
        ("depletion_year_before", "不调剂、不增加财政补助", "Before adjustment"),
    ):
        zh, en = _depleted(plan, key)
        if zh:
            lines.append(
                (
                    f"{zh_regime}，规划期内有 {len(zh)} 个单位结余耗尽：{join_zh(zh)}。",
                    f"{en_regime}, with no extra subsidy, {len(en)} units run out within the "
                    f"horizon: {join_en(en)}.",
                )
            )
        else:
            lines.append(
                (
                    f"{zh_regime}，规划期内没有单位结余耗尽。",
                    f"{en_regime}, with no extra subsidy, no unit runs out within the horizon.",
                )
            )
    year, deficit = plan.national_depletion_year, plan.first_current_deficit_year
    zh_year = f"{year} 年耗尽" if year else "规划期内不会耗尽"
    en_year = f"runs out in {year}" if year else "does not run out within the horizon"
    zh_deficit = f"{deficit} 年起出现当期收不抵支" if deficit else "规划期内没有当期赤字"
    en_deficit = (
        f"the first national current deficit is in {deficit}"
        if deficit
        else "there is no national current deficit within the horizon"
    )
    lines.append(
        (
            f"全国累计结余（不增加财政补助）{zh_year}；{zh_deficit}。",
            f"The national balance, with no extra subsidy, {en_year}; {en_deficit}.",
        )
    )
    return lines


def plan_result_sentence(plan: Plan) -> Line:
    """Whether the plan keeps every unit paying, and if not, who cannot from when."""
    gap_years = plan.gap_years()
    if not gap_years:
        return (
            "在本规划下，每个单位在每一年都能足额发放养老金。",
            "Under this plan every unit pays pensions in full in every year.",
        )
    zh, en = _depleted(plan, "depletion_year_plan")
    total = plan.totals()["unfunded_gap_100m"]
    return (
        f"即使按本规划调剂并用足可用补助，仍有 {len(zh)} 个单位无法足额发放（起始年份）："
        f"{join_zh(zh)}；规划期内缺口合计 {yi(total)}，"
        f"涉及 {_span(gap_years[0], gap_years[-1])} 年。",
        f"Even under this plan, with every subsidy available used, {len(en)} units cannot pay "
        f"in full (from): {join_en(en)}; the unfunded pensions total {yi(total)} over "
        f"{_span(gap_years[0], gap_years[-1])}.",
    )


def cost_sentence(plan: Plan) -> Line:
    """What the plan costs over the horizon."""
    totals = plan.totals()
    moved = float(plan.national["moved_100m"].sum())
    local, central = totals["local_subsidy_100m"], totals["central_subsidy_100m"]
    return (
        f"规划期内需地方财政补助 {yi(local)}、中央财政补助 {yi(central)}；"
        f"调剂基金在单位间净调剂 {yi(moved)}。",
        f"Over the horizon the plan needs {yi(local)} of local and {yi(central)} of central "
        f"subsidy; the fund moves {yi(moved)} between units.",
    )


def strain_sentence(plan: Plan) -> Line:
    """The years with the most strain (subsidy and gap), and the lowest reserve then."""
    n = plan.national
    parts_zh, parts_en = [], []
    for year in plan.strain_years():
        need = float(
            n.at[year, "local_subsidy_100m"]
            + n.at[year, "central_subsidy_100m"]
            + n.at[year, "unfunded_gap_100m"]
        )
        low = float(n.at[year, "lowest_months"])
        parts_zh.append(f"{year} 年（补助与缺口 {yi(need)}，最低储备 {low:.1f} 个月）")
        parts_en.append(f"{year} (subsidy and gap {yi(need)}, lowest reserve {low:.1f} months)")
    return (
        f"压力最大的年份：{'；'.join(parts_zh)}。",
        f"Years with the most strain: {'; '.join(parts_en)}.",
    )


def plan_sentences(plan: Plan) -> list[Line]:
    """The plan's summary, in order."""
    return [
        horizon_sentence(plan),
        ratio_sentence(plan),
        *depletion_sentences(plan),
        plan_result_sentence(plan),
        cost_sentence(plan),
        strain_sentence(plan),
    ]
