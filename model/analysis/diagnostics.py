"""The diagnostics of an ``Allocation`` in words: binding constraints, dual values and the
input changes that would close an unfunded gap, each as ``(Chinese, English)`` pairs.

Cell references name the planner's own input workbook. Where each key and unit sits is the
reader's knowledge (``workbook.reader.province_cell`` and ``parameter_cell``): this module
asks it rather than knowing the layout.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import pandas as pd

from model.analysis.narrative import (
    Line,
    join_en,
    join_zh,
    name_en,
    plural,
    plural_months,
    unit_names,
    yi,
)
from model.analysis.results import Allocation
from model.lp.formulation import LEVEL_GAP, LEVEL_SUBSIDY
from model.lp.guardrails import MAX_TRANSFER, MIN_TRANSFER, RETURN_SHARE
from model.schema import (
    MONTHS_PER_YEAR,
    PARAMETER_BY_KEY,
    PROVINCE_BY_KEY,
)
from model.vocabulary import DISPLAY_ZERO
from model.workbook.reader import parameter_cell, province_cell


def _up(value: float, places: int = 2) -> float:
    """Round a required amount up to what is shown, so typing the shown figure closes the
    gap rather than leaving up to half a cent of it (more than round-off at this scale)."""
    scale = 10**places
    return math.ceil(value * scale - 1e-9) / scale


def _down(value: float, places: int = 2) -> float:
    """Round a limit that must not be exceeded down to what is shown."""
    scale = 10**places
    return math.floor(value * scale + 1e-9) / scale


def central_headroom(row: pd.Series) -> float:
    """The most extra central subsidy this unit could take with its local subsidy at its
    cap: local finance must match central money (``l ≥ s (l + g)``, so ``g ≤ l (1 − s)/s``).
    Unlimited when the unit has no minimum local share."""
    share = float(row["min_local_share"])
    if share <= 0:
        return math.inf
    cap = float(row["local_subsidy_cap_100m"])
    return max(0.0, cap * (1.0 - share) / share - float(row["central_subsidy_100m"]))


BAND_EDGES: dict[str, tuple[str, str, str, str]] = {
    "at_band_lower": (
        "下限",
        "lower",
        "拨付额已降到规则允许的最低值",
        "they receive as little as the band allows",
    ),
    "at_band_upper": (
        "上限",
        "upper",
        "若放宽规则带可获得更多拨付",
        "they would receive more if the band allowed",
    ),
}


# --- diagnostics: binding constraints ---------------------------------------------------


def binding_lines(allocation: Allocation) -> list[Line]:
    """Which constraints bind, and where, in words."""
    return [
        _fund_binding(allocation),
        _local_cap_binding(allocation),
        *_band_binding(allocation),
        *guardrail_lines(allocation),
        _floor_binding(allocation),
        _central_binding(allocation),
    ]


def _fund_binding(allocation: Allocation) -> Line:
    fund = yi(allocation.totals["fund_100m"])
    return (
        f"基金收支平衡：调剂基金全部拨付，共{fund}元（该约束总是起作用）。",
        f"Fund balance: the fund pays out exactly what it raises, {fund} (always binding).",
    )


def _local_cap_binding(allocation: Allocation) -> Line:
    table = allocation.table
    capped = table[table["at_local_cap"]]
    if capped.empty:
        if (table["local_subsidy_cap_100m"] > 0).any():
            return (
                "地方财政补助上限：没有单位达到上限。",
                "Local subsidy cap: no unit is at its cap.",
            )
        return (
            "地方财政补助上限：所有单位的上限均为0，不能追加地方补助。",
            "Local subsidy cap: every cap is 0, so no unit can add local subsidy.",
        )
    rows = list(capped.itertuples())
    zh = join_zh([f"{r.name_zh}（{yi(r.local_subsidy_cap_100m)}元）" for r in rows], len(rows))
    en = join_en([f"{name_en(r)} ({yi(r.local_subsidy_cap_100m)})" for r in rows], len(rows))
    cell = province_cell("local_subsidy_cap_100m", allocation.source)
    return (
        f"地方财政补助已达上限（{cell}）：{zh}。这些省份无法再追加地方补助。",
        f"Local subsidy is at its cap ({cell}) in {en}: these provinces cannot add more.",
    )


def _band_binding(allocation: Allocation) -> list[Line]:
    delta = allocation.parameters.max_rule_deviation
    cell = parameter_cell("max_rule_deviation", allocation.source)
    if delta is None:
        return [
            (
                f"规则偏离带：未设置（{cell}为空），调剂额不受法定规则约束。",
                f"Rule band: none is set ({cell} is blank), so transfers are free.",
            )
        ]
    if delta == 0:
        return [
            (
                f"规则偏离带为0（{cell}）：每个单位的拨付额等于法定拨付额。",
                f"Rule band is 0 ({cell}): every transfer equals the statutory allocation.",
            )
        ]
    table = allocation.table
    lines = []
    for flag, (zh_edge, en_edge, zh_meaning, en_meaning) in BAND_EDGES.items():
        at_edge = table[table[flag]]
        if at_edge.empty:
            continue
        zh, en = unit_names(at_edge)
        lines.append(
            (
                f"规则偏离带（±{delta:.0%}，{cell}）{zh_edge}：{join_zh(zh, 10)}，{zh_meaning}。",
                f"At the {en_edge} edge of the ±{delta:.0%} rule band ({cell}): "
                f"{join_en(en, 10)}; {en_meaning}.",
            )
        )
    if not lines:
        lines.append(
            (
                f"规则偏离带（±{delta:.0%}）：没有单位处于边界。",
                f"Rule band (±{delta:.0%}): no transfer is at an edge.",
            )
        )
    return lines


def _floor_binding(allocation: Allocation) -> Line:
    table = allocation.table
    months = allocation.parameters.reserve_months_floor
    at_floor = table[table["at_floor"]]
    floor_zh = f"{months:g}个月支出的储备下限" if months > 0 else "足额发放的底线（不留额外储备）"
    floor_en = (
        f"the reserve floor of {plural_months(months)} of expenditure"
        if months > 0
        else "the full-payment limit (no reserve beyond it)"
    )
    if at_floor.empty:
        return (
            f"储备下限：所有单位年末结余均高于{floor_zh}。",
            f"Reserve floor: every unit ends the year above {floor_en}.",
        )
    zh, en = unit_names(at_floor)
    return (
        f"{join_zh(zh, 10)}年末恰好处于{floor_zh}（结余加缺口等于下限；已有赤字不要求弥补）。",
        f"At {floor_en}: {join_en(en, 10)} (closing balance plus any gap equals the floor; "
        "an existing deficit need not be repaid).",
    )


def _central_binding(allocation: Allocation) -> Line:
    budget = allocation.parameters.central_subsidy_budget_100m
    used = allocation.totals["central_subsidy_100m"]
    cell = parameter_cell("central_subsidy_budget_100m", allocation.source)
    if budget <= 0:
        return (
            f"中央财政补助预算为0（{cell}），不能追加中央补助。",
            f"No extra central subsidy is budgeted ({cell} is 0).",
        )
    if allocation.central_budget_binding:
        return (
            f"中央财政补助预算{yi(budget)}元已全部用完（{cell}）。",
            f"The central subsidy budget of {yi(budget)} is used up ({cell}).",
        )
    return (
        f"中央财政补助预算未用完：使用{yi(used)}元，预算{yi(budget)}元（{cell}）。",
        f"The central subsidy budget is not used up: {yi(used)} of {yi(budget)} ({cell}).",
    )


GUARDRAILS: dict[str, tuple[str, str, str, str]] = {
    # what sets the bound: (zh name, en name, zh edge, en edge)
    RETURN_SHARE: ("最低返还比例", "the minimum return share", "下限", "lower bound"),
    MIN_TRANSFER: ("最低拨付额", "the minimum transfer", "下限", "lower bound"),
    MAX_TRANSFER: ("最高拨付额", "the maximum transfer", "上限", "upper bound"),
}


def guardrail_lines(allocation: Allocation) -> list[Line]:
    """Which guardrail binds, for which units, and what one more 亿 of room would be worth
    (the reduced cost of the transfer at its bound, read where the other duals are)."""
    table = allocation.table
    saving_zh, saving_en = GUARDRAIL_SAVING[allocation.dual_level]
    lines: list[Line] = []
    for by, (name_zh, name_en_, edge_zh, edge_en) in GUARDRAILS.items():
        side = "upper" if by == MAX_TRANSFER else "lower"
        at = table[table[f"at_transfer_{side}"] & (table[f"transfer_{side}_by"] == by)]
        if at.empty:
            continue
        cell_zh, cell_en = _guardrail_cell(allocation, by)
        zh, en = unit_names(at)
        lines.append(
            (
                f"{name_zh}（{cell_zh}）起作用：{join_zh(zh, 10)}的拨付额处于该{edge_zh}。",
                f"{name_en_.capitalize()} ({cell_en}) binds: {join_en(en, 10)} sit at "
                f"this {edge_en}.",
            )
        )
        worth = at["transfer_dual"].abs().round(2)
        for value in sorted(set(worth[worth >= DISPLAY_ZERO]), reverse=True):
            zh, en = unit_names(at[worth == value])
            shown = f"{value:.2f}"
            lines.append(
                (
                    f"  {join_zh(zh, 10)}：该界限每放宽1亿元，" + saving_zh.format(v=shown),
                    f"  {join_en(en, 10)}: each 亿 of room on this bound "
                    + saving_en.format(v=shown),
                )
            )
    return lines


GUARDRAIL_SAVING: dict[str, tuple[str, str]] = {
    LEVEL_SUBSIDY: ("可节省财政补助{v}亿元。", "would save {v}亿 of fiscal subsidy."),
    LEVEL_GAP: ("可减少未弥补缺口{v}亿元。", "would close {v}亿 of unfunded gap."),
}


def _guardrail_cell(allocation: Allocation, by: str) -> tuple[str, str]:
    """Where the guardrail is set, in Chinese and in English (the share, then the cell)."""
    if by == RETURN_SHARE:
        share = allocation.parameters.min_return_share or 0.0
        cell = parameter_cell("min_return_share", allocation.source)
        return f"{share:.0%}，{cell}", f"{share:.0%}, {cell}"
    key = "min_transfer_100m" if by == MIN_TRANSFER else "max_transfer_100m"
    cell = province_cell(key, allocation.source)
    return cell, cell


# --- diagnostics: dual values -----------------------------------------------------------


DUAL_MEANING: dict[str, tuple[str, str, str, str, str, str]] = {
    # level: (level zh, level en, fund zh, fund en, unit zh, unit en)
    LEVEL_SUBSIDY: (
        "财政补助最小化层级（缺口保持不变）",
        "the fiscal-subsidy level (with the gap held)",
        "调剂基金每增加1亿元，可节省财政补助{v}元。",
        "One more 亿 in the fund would save {v} of subsidy.",
        "支付需求每增加1亿元，需追加财政补助{v}亿元。",
        "each extra 亿 of requirement needs {v}亿 more fiscal subsidy.",
    ),
    LEVEL_GAP: (
        "缺口最小化层级（仍有缺口，新增资金先弥补缺口）",
        "the unfunded-gap level (a gap remains, so extra money closes gap first)",
        "调剂基金每增加1亿元，可减少未弥补缺口{v}元。",
        "One more 亿 in the fund would close {v} of unfunded gap.",
        "支付需求每增加1亿元，未弥补缺口增加{v}亿元。",
        "each extra 亿 of requirement adds {v}亿 of unfunded gap.",
    ),
}


def dual_lines(allocation: Allocation) -> list[Line]:
    """The dual values and what each means for policy (marginal, not necessarily unique)."""
    level_zh, level_en, fund_zh, fund_en, _, _ = DUAL_MEANING[allocation.dual_level]
    fund = yi(allocation.fund_dual)
    lines = [
        (
            f"以下为边际（局部）值，在{level_zh}读取；线性规划退化时不一定唯一。",
            f"These are local (marginal) values, read at {level_en}; with a degenerate "
            "linear program they need not be unique.",
        ),
        (fund_zh.format(v=fund), fund_en.format(v=fund)),
    ]
    return lines + _unit_dual_lines(allocation)


def _unit_dual_lines(allocation: Allocation) -> list[Line]:
    *_, unit_zh, unit_en = DUAL_MEANING[allocation.dual_level]
    duals = allocation.table["full_payment_dual"].round(2) + 0.0
    duals = duals.where(duals.abs() >= DISPLAY_ZERO, 0.0)
    lines = []
    for value in sorted(set(duals[duals != 0]), reverse=True):
        zh, en = unit_names(allocation.table[duals == value])
        lines.append(
            (
                f"{join_zh(zh, 10)}：" + unit_zh.format(v=f"{value:.2f}"),
                f"{join_en(en, 10)}: " + unit_en.format(v=f"{value:.2f}"),
            )
        )
    zero = int((duals == 0).sum())
    if zero:
        rest_zh, rest_en = ("其余", "the other ") if lines else ("全部", "all ")
        lines.append(
            (
                f"{rest_zh}{zero}个单位：支付需求小幅增加时对偶值为0，由调剂基金消化。",
                f"In {rest_en}{plural(zero, 'unit')} a small extra requirement costs nothing "
                "(dual 0): the fund absorbs it.",
            )
        )
    return lines


# --- diagnostics: closing a gap ---------------------------------------------------------


def gap_lines(allocation: Allocation) -> list[Line]:
    """For each unit left with a gap, the input changes that would each close it."""
    gaps = allocation.gap_table()
    if gaps.empty:
        return [("所有单位均可足额发放，没有缺口需要弥补。", "No unit has an unfunded gap.")]
    total = allocation.totals["unfunded_gap_100m"]
    lines = [
        (
            f"未弥补缺口共{yi(total)}元。以下每项改动单独即可弥补相应单位的缺口（其余条件"
            "不变，一阶估计；请重新运行caf确认）。单元格位置按caf template的版式给出。",
            f"An unfunded gap of {yi(total)} remains. Each change below would close that "
            "unit's gap on its own, other things equal (a first-order estimate: re-run caf "
            "to confirm). Cells are named as `caf template` lays out the input workbook.",
        ),
        _all_gaps_central(allocation, total),
    ]
    for _, row in gaps.iterrows():
        lines.extend(_unit_gap_lines(allocation, row))
    return lines


def _all_gaps_central(allocation: Allocation, total: float) -> Line:
    budget = allocation.parameters.central_subsidy_budget_100m
    zh, en = _parameter_ref(allocation, "central_subsidy_budget_100m")
    own = allocation.totals.get("own_gap_100m", 0.0)
    if own > 0:
        return (
            f"仅提高{zh}不能一次弥补全部缺口：其中{yi(own)}元是征缴低于标准的单位的自身责任缺口，"
            "中央财政不予弥补。",
            f"Raising {en} alone cannot close every gap: {yi(own)} of it is the own "
            "responsibility of units collecting below the standard, which central money does "
            "not make up.",
        )
    gaps = allocation.gap_table()
    matched = [
        row for _, row in gaps.iterrows() if central_headroom(row) < float(row["unfunded_gap_100m"])
    ]
    if matched:
        zh_names = join_zh([str(r["name_zh"]) for r in matched])
        en_names = join_en([name_en(r) for r in matched])
        return (
            f"仅提高{zh}不能一次弥补全部缺口：{zh_names}的中央补助须有地方配套，"
            "而其地方财政补助已达上限。",
            f"Raising {en} alone cannot close every gap: central money for {en_names} needs "
            "local matching, and their local subsidy is at its cap.",
        )
    target = _up(budget + total)
    return (
        f"将{zh}由{yi(budget)}提高到{yi(target)}可一次弥补全部缺口。",
        f"Raising {en} from {yi(budget)} to {yi(target)} would close every gap at once.",
    )


def _province_ref(allocation: Allocation, key: str, row: pd.Series) -> Line:
    """``地方财政补助上限（provinces!N23）`` and its English twin.

    A unit that did not come from a workbook row (input_row 0) is named by its name.
    """
    field = PROVINCE_BY_KEY[key]
    input_row = int(row.get("input_row", 0) or 0)
    cell = province_cell(key, allocation.source, input_row)
    if input_row > 0:
        return f"{field.zh}（{cell}）", f"the {field.en.lower()} ({cell})"
    return (
        f"{field.zh}（{cell}，{row['name_zh']}所在行）",
        f"the {field.en.lower()} ({cell}, row of {name_en(row)})",
    )


def _parameter_ref(allocation: Allocation, key: str) -> Line:
    field, cell = PARAMETER_BY_KEY[key], parameter_cell(key, allocation.source)
    return f"{field.zh}（{cell}）", f"the {field.en.lower()} ({cell})"


def _unit_gap_lines(allocation: Allocation, row: pd.Series) -> list[Line]:
    gap = float(row["unfunded_gap_100m"])
    zh_name, en_name = str(row["name_zh"]), name_en(row)
    code = str(row["code"])
    own = float(row.get("own_gap_100m", 0.0) or 0.0)
    if own > 0 and float(row.get("fund_gap_100m", 0.0) or 0.0) == 0:
        return _own_gap_lines(allocation, row, own)
    return [
        (
            f"{zh_name}（代码{code}）缺口{yi(gap)}元，以下任一改动即可弥补：",
            f"{en_name} (code {code}) is short of {yi(gap)}; any one of these would close it:",
        ),
        *_gap_province_inputs(allocation, row, gap),
        *_gap_parameters(allocation, row, gap),
    ]


def _own_gap_lines(allocation: Allocation, row: pd.Series, own: float) -> list[Line]:
    """A gap that is the unit's own responsibility (incentive mode): neither the fund nor
    central finance closes it, only the unit's own collection or finance, or a lower
    standard."""
    zh_name, en_name, code = str(row["name_zh"]), name_en(row), str(row["code"])
    cap = float(row["local_subsidy_cap_100m"])
    cap_zh, cap_en = _province_ref(allocation, "local_subsidy_cap_100m", row)
    income_zh, income_en = _province_ref(allocation, "contribution_income_100m", row)
    rate_zh, rate_en = _parameter_ref(allocation, "standard_contribution_rate")
    return [
        (
            f"{zh_name}（代码{code}）自身责任缺口{yi(own)}元（征缴低于标准），以下任一改动即可弥补：",
            f"{en_name} (code {code}) is {yi(own)} short on its own account (it collects below "
            "the standard); any one of these would close it:",
        ),
        (
            f"· 将{cap_zh}由{yi(cap)}提高到{yi(_up(cap + own))}；",
            f"· raise {cap_en} from {yi(cap)} to {yi(_up(cap + own))};",
        ),
        (
            f"· 或将{income_zh}增加{yi(_up(own))}；",
            f"· or raise {income_en} by {yi(_up(own))};",
        ),
        (
            f"· 或降低{rate_zh}（适用于所有单位）。",
            f"· or lower {rate_en} (for every unit).",
        ),
    ]


def _gap_province_inputs(allocation: Allocation, row: pd.Series, gap: float) -> Iterable[Line]:
    """Closing ``gap`` through this unit's own row of the provinces sheet.

    Each extra 亿 of local subsidy, contribution income or (non-negative) opening balance
    adds 1亿 to the closing balance. Cutting expenditure by x adds x and also lowers the
    floor by ``floor_months × x / 12``. A negative opening balance moves the floor with it
    (no deficit deepens), so only the part above zero counts.
    """
    cap = float(row["local_subsidy_cap_100m"])
    opening = float(row["opening_balance_100m"])
    expenditure = float(row["expenditure_100m"])
    share = float(row["min_local_share"])
    zh, en = _province_ref(allocation, "local_subsidy_cap_100m", row)
    yield (
        f"· 将{zh}由{yi(cap)}提高到{yi(_up(cap + gap))}；",
        f"· raise {en} from {yi(cap)} to {yi(_up(cap + gap))};",
    )
    cut = _up(gap / (1.0 + allocation.parameters.reserve_months_floor / MONTHS_PER_YEAR))
    if cut < expenditure:
        zh, en = _province_ref(allocation, "expenditure_100m", row)
        yield (
            f"· 或将{zh}减少{yi(cut)}（储备下限随之降低）；",
            f"· or lower {en} by {yi(cut)} (the reserve floor falls with it);",
        )
    zh, en = _province_ref(allocation, "contribution_income_100m", row)
    yield (f"· 或将{zh}增加{yi(_up(gap))}；", f"· or raise {en} by {yi(_up(gap))};")
    target = _up(max(opening, 0.0) + gap)
    zh, en = _province_ref(allocation, "opening_balance_100m", row)
    note_zh = "（结余为负时下限随之变动，只有转正的部分起作用）" if opening < 0 else ""
    note_en = " (while it is negative the floor moves with it)" if opening < 0 else ""
    yield (
        f"· 或将{zh}由{yi(opening)}提高到{yi(target)}{note_zh}；",
        f"· or raise {en} from {yi(opening)} to {yi(target)}{note_en};",
    )
    if central_headroom(row) < gap:
        yield (
            f"  注：该单位地方最低分担比例为{share:.0%}，中央补助须有相应的地方配套，"
            "而其地方财政补助已达上限，故仅提高中央财政补助预算不能弥补该缺口。",
            f"  Note: its minimum local share is {share:.0%}, so central money needs local "
            "matching, and its local subsidy is at its cap: a larger central budget alone "
            "would not close this gap.",
        )


def _gap_parameters(allocation: Allocation, row: pd.Series, gap: float) -> Iterable[Line]:
    """Closing ``gap`` through the parameters sheet (these act on every unit)."""
    params = allocation.parameters
    budget = params.central_subsidy_budget_100m
    zh, en = _parameter_ref(allocation, "central_subsidy_budget_100m")
    if central_headroom(row) >= gap:
        yield (
            f"· 或将{zh}由{yi(budget)}提高到{yi(_up(budget + gap))}；",
            f"· or raise {en} from {yi(budget)} to {yi(_up(budget + gap))};",
        )
    months = params.reserve_months_floor
    if months > 0:
        lower = MONTHS_PER_YEAR * gap / float(row["expenditure_100m"])
        zh, en = _parameter_ref(allocation, "reserve_months_floor")
        if lower <= months:
            target = _down(months - lower)
            yield (
                f"· 或将{zh}由{months:g}降至{target:.2f}个月（适用于所有单位）；",
                f"· or lower {en} from {months:g} to {target:.2f} months (for every unit);",
            )
        else:
            yield (
                f"· 即使将{zh}降为0，也不足以弥补该缺口；",
                f"· even setting {en} to 0 would not close it;",
            )
    delta = params.max_rule_deviation
    rule = float(row["rule_allocation_100m"])
    if delta is not None and bool(row["at_band_upper"]) and rule > 0:
        wider = _up((float(row["allocation_100m"]) + gap) / rule - 1.0)
        zh, en = _parameter_ref(allocation, "max_rule_deviation")
        yield (
            f"· 或将{zh}由{delta:.2f}放宽到至少{wider:.2f}（或留空），"
            "前提是其他单位能让出相应拨付。",
            f"· or widen {en} from {delta:.2f} to at least {wider:.2f} (or blank), if other "
            "units can spare the transfer.",
        )
