"""An ``Allocation`` in words: the summary sentences and the diagnostics, in Chinese and English.

The report writer lays out; it does no arithmetic. Everything a sentence needs (counts,
largest transfers, the input change that would close a gap) is worked out here, and every
function returns ``(Chinese, English)`` pairs so the workbook can print them side by side.

Cell references name the input workbook as ``caf template`` writes it: the ``provinces``
columns in the order of ``schema.PROVINCE_FIELDS`` (A = code, B = name_zh, …) and the
``parameters`` keys in the order of ``schema.PARAMETER_FIELDS`` from row 2. An
``Allocation`` does not carry input row numbers, so a province's row is named by the unit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pandas as pd
from openpyxl.utils import get_column_letter

from model.results import STATUS_GAP, Allocation
from model.schema import (
    MONTHS_PER_YEAR,
    PARAMETER_BY_KEY,
    PARAMETER_FIELDS,
    PROVINCE_BY_KEY,
    PROVINCE_FIELDS,
)

Line = tuple[str, str]
"""One sentence as ``(Chinese, English)``."""

EVEN_TOLERANCE_100m = 0.005
"""A unit whose net transfer rounds to 0.00亿 is counted as roughly even, not as a
contributor or a beneficiary, so the counts match what the workbook shows."""

DUAL_TOLERANCE = 0.005
"""Dual values that round to 0.00 are reported as zero."""

NAME_LIMIT = 5
"""How many units a sentence names before saying "and N more"."""

CONTRIBUTOR, BENEFICIARY, EVEN = "contributor", "beneficiary", "even"
ROLE_LABELS: dict[str, str] = {
    CONTRIBUTOR: "净上解 Contributor",
    BENEFICIARY: "净受益 Beneficiary",
    EVEN: "基本持平 Even",
}

IMBALANCE_SENTENCE: dict[str, tuple[str, str, str]] = {
    "maximin": (
        "months_min",
        "最低储备月数（最困难单位）",
        "The lowest reserve, in months of expenditure,",
    ),
    "range": (
        "months_range",
        "储备月数的极差（最高减最低）",
        "The spread of reserve months (highest minus lowest)",
    ),
    "mad": (
        "months_mad",
        "储备月数与全国水平的平均绝对偏差",
        "The mean absolute deviation of reserve months from the national level",
    ),
}

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


def province_cell(key: str) -> str:
    """``provinces!N`` for ``local_subsidy_cap_100m``: the column ``caf template`` writes."""
    column = [f.key for f in PROVINCE_FIELDS].index(key) + 1
    return f"provinces!{get_column_letter(column)}"


def parameter_cell(key: str) -> str:
    """``parameters!B8`` for ``central_subsidy_budget_100m``: the template's value cell."""
    row = [f.key for f in PARAMETER_FIELDS].index(key) + 2
    return f"parameters!B{row}"


def _yi(value: float) -> str:
    return f"{value + 0.0:,.2f}亿"


def _signed(value: float) -> str:
    return f"{value + 0.0:+,.2f}亿"


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """``1 unit``, ``3 units``."""
    return f"{count} {noun if count == 1 else (nouns or noun + 's')}"


def plural_months(months: float) -> str:
    """``1 month``, ``1.5 months``."""
    return f"{months:g} month" + ("" if months == 1 else "s")


def _months(value: float | None) -> str:
    return "undefined" if value is None else f"{value + 0.0:.1f}"


def _months_zh(value: float | None) -> str:
    return "无定义" if value is None else f"{value + 0.0:.1f}"


def name_en(row: object) -> str:
    """The English name, or the Chinese one when the workbook gives none."""
    english = str(getattr(row, "name_en", "") or "").strip()
    return english or str(getattr(row, "name_zh", ""))


def join_en(names: Sequence[str], limit: int = NAME_LIMIT) -> str:
    """``A``, ``A and B``, ``A, B and C``, or ``A, …, E and 3 more``."""
    shown = list(names[:limit])
    more = len(names) - len(shown)
    if more > 0:
        return ", ".join(shown) + f" and {more} more"
    if len(shown) <= 1:
        return "".join(shown)
    return ", ".join(shown[:-1]) + " and " + shown[-1]


def join_zh(names: Sequence[str], limit: int = NAME_LIMIT) -> str:
    """``甲``, ``甲和乙``, ``甲、乙和丙``, or ``甲、…、戊等8个单位``."""
    shown = list(names[:limit])
    if len(names) > len(shown):
        return "、".join(shown) + f"等{len(names)}个单位"
    if len(shown) <= 1:
        return "".join(shown)
    return "、".join(shown[:-1]) + "和" + shown[-1]


def _names(frame: pd.DataFrame) -> tuple[list[str], list[str]]:
    rows = list(frame.itertuples())
    return [str(r.name_zh) for r in rows], [name_en(r) for r in rows]


def _roles(net: pd.Series) -> pd.Series:
    roles = pd.Series(EVEN, index=net.index, dtype=object)
    roles[net < -EVEN_TOLERANCE_100m] = CONTRIBUTOR
    roles[net > EVEN_TOLERANCE_100m] = BENEFICIARY
    return roles


def unit_roles(allocation: Allocation) -> pd.Series:
    """Each unit's role under the optimised allocation: contributor, beneficiary or even."""
    return _roles(allocation.table["net_transfer_100m"])


def role_labels(allocation: Allocation) -> pd.Series:
    """``unit_roles`` as the bilingual labels printed in the workbook."""
    return unit_roles(allocation).map(ROLE_LABELS)


def headline_counts(allocation: Allocation) -> dict[str, int]:
    """Unit counts for the summary's headline figures.

    Keys: ``contributors``, ``beneficiaries`` and ``even`` (optimised), the same with a
    ``rule_`` prefix (statutory), ``subsidised`` (any extra subsidy), ``gap_units``, ``units``.
    """
    table = allocation.table
    optimised = unit_roles(allocation)
    rule = _roles(table["rule_net_transfer_100m"])
    subsidy = table["local_subsidy_100m"] + table["central_subsidy_100m"]
    counts = {"units": len(table)}
    for prefix, roles in (("", optimised), ("rule_", rule)):
        counts[prefix + "contributors"] = int((roles == CONTRIBUTOR).sum())
        counts[prefix + "beneficiaries"] = int((roles == BENEFICIARY).sum())
        counts[prefix + "even"] = int((roles == EVEN).sum())
    counts["subsidised"] = int((subsidy > 0).sum())
    counts["gap_units"] = len(allocation.gap_units)
    return counts


def gap_names(allocation: Allocation) -> Line:
    """The units left with an unfunded gap, largest first, named in both languages."""
    table = allocation.table
    gaps = table[table["unfunded_gap_100m"] > 0].sort_values("unfunded_gap_100m", ascending=False)
    zh, en = _names(gaps)
    return "、".join(zh), ", ".join(en)


# --- summary ---------------------------------------------------------------------------


def summary_sentences(allocation: Allocation) -> list[Line]:
    """Five plain sentences saying what happened, as ``(Chinese, English)`` pairs."""
    return [
        _status_sentence(allocation),
        _fund_sentence(allocation),
        _transfer_sentence(allocation),
        _subsidy_sentence(allocation),
        _imbalance_sentence(allocation),
    ]


def _status_sentence(allocation: Allocation) -> Line:
    n = len(allocation.table)
    if allocation.status != STATUS_GAP:
        return (
            f"全部{n}个统筹单位均可保证养老金按时足额发放。",
            f"Full payment is guaranteed in all {n} units.",
        )
    table = allocation.table
    gaps = table[table["unfunded_gap_100m"] > 0].sort_values("unfunded_gap_100m", ascending=False)
    zh, en = _names(gaps)
    total = allocation.totals["unfunded_gap_100m"]
    return (
        f"无法保证全额发放：{join_zh(zh)}仍有{_yi(total)}元养老金缺口。",
        f"Full payment cannot be guaranteed: an unfunded gap of {_yi(total)} remains in "
        f"{join_en(en)}.",
    )


def _fund_sentence(allocation: Allocation) -> Line:
    t = allocation.totals
    ratio = allocation.parameters.contribution_ratio
    return (
        f"按{ratio * 100:g}%的上解比例，调剂基金规模为{_yi(t['fund_100m'])}元；优化后省际净调剂"
        f"{_yi(t['moved_100m'])}元，按法定规则为{_yi(t['rule_moved_100m'])}元。",
        f"At a contribution ratio of {ratio * 100:g}% the fund raises {_yi(t['fund_100m'])}; "
        f"{_yi(t['moved_100m'])} moves between units, against {_yi(t['rule_moved_100m'])} "
        "under the statutory rule.",
    )


def _transfer_sentence(allocation: Allocation) -> Line:
    counts = headline_counts(allocation)
    table = allocation.table
    roles = unit_roles(allocation)
    takers = table[roles == BENEFICIARY].sort_values("net_transfer_100m", ascending=False)
    givers = table[roles == CONTRIBUTOR].sort_values("net_transfer_100m")
    if takers.empty or givers.empty:
        return ("各单位之间没有资金净调剂。", "No money moves between units.")
    top = takers.head(2)
    zh, en = _names(top)
    amounts = [_signed(v) for v in top["net_transfer_100m"]]
    giver = givers.iloc[0]
    givers_en = _count_phrase(counts["contributors"], "net contributor")
    takers_en = _count_phrase(counts["beneficiaries"], "net beneficiary", "net beneficiaries")
    receive = (
        "receive the largest net transfers" if len(top) > 1 else "receives the largest net transfer"
    )
    return (
        f"{counts['contributors']}个单位净上解、{counts['beneficiaries']}个单位净受益；"
        f"{join_zh(zh)}获得的净调剂最多（{'、'.join(amounts)}），"
        f"{giver['name_zh']}净上解最多（{_signed(giver['net_transfer_100m'])}）。",
        f"{givers_en} and {takers_en}; {join_en(en)} {receive} "
        f"({' and '.join(amounts)}), and {name_en(giver)} hands up the most "
        f"({_signed(giver['net_transfer_100m'])}).",
    )


def _count_phrase(count: int, noun: str, nouns: str | None = None) -> str:
    """``1 unit is a net contributor`` or ``23 units are net contributors``."""
    if count == 1:
        return f"1 unit is a {noun}"
    return f"{count} units are {nouns or noun + 's'}"


def _subsidy_sentence(allocation: Allocation) -> Line:
    t = allocation.totals
    local, central = t["local_subsidy_100m"], t["central_subsidy_100m"]
    if local + central <= 0:
        return (
            "无需追加地方或中央财政补助。",
            "No extra local or central fiscal subsidy is needed.",
        )
    table = allocation.table
    n = headline_counts(allocation)["subsidised"]
    capped_zh, capped_en = _names(table[table["at_local_cap"]])
    zh = f"需追加财政补助{_yi(local + central)}元，涉及{n}个单位：地方{_yi(local)}元"
    en = (
        f"Extra fiscal subsidy of {_yi(local + central)} is needed in {n} units: local {_yi(local)}"
    )
    if capped_en:
        zh += f"（{join_zh(capped_zh)}已达上限）"
        en += f", at the cap in {join_en(capped_en)}"
    return zh + f"，中央{_yi(central)}元。", en + f"; central {_yi(central)}."


def _imbalance_sentence(allocation: Allocation) -> Line:
    metric, zh_label, en_label = IMBALANCE_SENTENCE[allocation.parameters.objective]
    values = [allocation.equity[state][metric].value for state in ("before", "rule", "optimized")]
    zh = "、".join(_months_zh(v) for v in values)
    return (
        f"{zh_label}：调剂前、按规则、优化后分别为{zh}个月。",
        f"{en_label} is {_months(values[0])} months before adjustment, {_months(values[1])} "
        f"under the statutory rule and {_months(values[2])} optimised.",
    )


# --- diagnostics: binding constraints ---------------------------------------------------


def binding_lines(allocation: Allocation) -> list[Line]:
    """Which constraints bind, and where, in words."""
    return [
        _fund_binding(allocation),
        _local_cap_binding(allocation),
        *_band_binding(allocation),
        _floor_binding(allocation),
        _central_binding(allocation),
    ]


def _fund_binding(allocation: Allocation) -> Line:
    fund = _yi(allocation.totals["fund_100m"])
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
    zh = join_zh([f"{r.name_zh}（{_yi(r.local_subsidy_cap_100m)}元）" for r in rows], len(rows))
    en = join_en([f"{name_en(r)} ({_yi(r.local_subsidy_cap_100m)})" for r in rows], len(rows))
    cell = province_cell("local_subsidy_cap_100m")
    return (
        f"地方财政补助已达上限（{cell}）：{zh}。这些省份无法再追加地方补助。",
        f"Local subsidy is at its cap ({cell}) in {en}: these provinces cannot add more.",
    )


def _band_binding(allocation: Allocation) -> list[Line]:
    delta = allocation.parameters.max_rule_deviation
    cell = parameter_cell("max_rule_deviation")
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
        zh, en = _names(at_edge)
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
    zh, en = _names(at_floor)
    return (
        f"{join_zh(zh, 10)}年末恰好处于{floor_zh}（结余加缺口等于下限；已有赤字不要求弥补）。",
        f"At {floor_en}: {join_en(en, 10)} (closing balance plus any gap equals the floor; "
        "an existing deficit need not be repaid).",
    )


def _central_binding(allocation: Allocation) -> Line:
    budget = allocation.parameters.central_subsidy_budget_100m
    used = allocation.totals["central_subsidy_100m"]
    cell = parameter_cell("central_subsidy_budget_100m")
    if budget <= 0:
        return (
            f"中央财政补助预算为0（{cell}），不能追加中央补助。",
            f"No extra central subsidy is budgeted ({cell} is 0).",
        )
    if allocation.central_budget_binding:
        return (
            f"中央财政补助预算{_yi(budget)}元已全部用完（{cell}）。",
            f"The central subsidy budget of {_yi(budget)} is used up ({cell}).",
        )
    return (
        f"中央财政补助预算未用完：使用{_yi(used)}元，预算{_yi(budget)}元（{cell}）。",
        f"The central subsidy budget is not used up: {_yi(used)} of {_yi(budget)} ({cell}).",
    )


# --- diagnostics: dual values -----------------------------------------------------------


def dual_lines(allocation: Allocation) -> list[Line]:
    """The dual values and what each means for policy (marginal, not necessarily unique)."""
    fund = allocation.fund_dual
    lines = [
        (
            "以下为边际（局部）值，在财政补助最小化层级读取；线性规划退化时不一定唯一。",
            "These are local (marginal) values, read at the fiscal-subsidy level; with a "
            "degenerate linear program they need not be unique.",
        ),
        (
            f"调剂基金每增加1亿元，可节省财政补助{_yi(fund)}元。",
            f"One more 亿 in the fund would save {_yi(fund)} of subsidy.",
        ),
    ]
    return lines + _unit_dual_lines(allocation)


def _unit_dual_lines(allocation: Allocation) -> list[Line]:
    duals = allocation.table["full_payment_dual"].round(2) + 0.0
    duals = duals.where(duals.abs() >= DUAL_TOLERANCE, 0.0)
    lines = []
    for value in sorted(set(duals[duals != 0]), reverse=True):
        zh, en = _names(allocation.table[duals == value])
        lines.append(
            (
                f"{join_zh(zh, 10)}：支付需求每增加1亿元，需追加财政补助{value:.2f}亿元。",
                f"{join_en(en, 10)}: each extra 亿 of requirement needs {value:.2f}亿 "
                "more fiscal subsidy.",
            )
        )
    zero = int((duals == 0).sum())
    if zero:
        rest_zh, rest_en = ("其余", "the other ") if lines else ("全部", "all ")
        lines.append(
            (
                f"{rest_zh}{zero}个单位：支付需求小幅增加时无需追加财政补助（对偶值为0），"
                "由调剂基金消化。",
                f"In {rest_en}{plural(zero, 'unit')} a small extra requirement needs no "
                "extra subsidy (dual 0): the fund absorbs it.",
            )
        )
    return lines


# --- diagnostics: closing a gap ---------------------------------------------------------


def gap_lines(allocation: Allocation) -> list[Line]:
    """For each unit left with a gap, the input changes that would each close it."""
    table = allocation.table
    gaps = table[table["unfunded_gap_100m"] > 0].sort_values("unfunded_gap_100m", ascending=False)
    if gaps.empty:
        return [("所有单位均可足额发放，没有缺口需要弥补。", "No unit has an unfunded gap.")]
    total = allocation.totals["unfunded_gap_100m"]
    lines = [
        (
            f"未弥补缺口共{_yi(total)}元。以下每项改动单独即可弥补相应单位的缺口（其余条件"
            "不变，一阶估计；请重新运行caf确认）。单元格位置按caf template的版式给出。",
            f"An unfunded gap of {_yi(total)} remains. Each change below would close that "
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
    zh, en = _parameter_ref("central_subsidy_budget_100m")
    return (
        f"将{zh}由{_yi(budget)}提高到{_yi(budget + total)}可一次弥补全部缺口"
        "（前提是各单位的地方最低分担比例允许）。",
        f"Raising {en} from {_yi(budget)} to {_yi(budget + total)} would close every gap "
        "at once, where the minimum local shares allow.",
    )


def _province_ref(key: str, zh_name: str, en_name: str) -> Line:
    """``地方财政补助上限（provinces!N，黑龙江所在行）`` and its English twin."""
    field, cell = PROVINCE_BY_KEY[key], province_cell(key)
    return (
        f"{field.zh}（{cell}，{zh_name}所在行）",
        f"the {field.en.lower()} ({cell}, row of {en_name})",
    )


def _parameter_ref(key: str) -> Line:
    field, cell = PARAMETER_BY_KEY[key], parameter_cell(key)
    return f"{field.zh}（{cell}）", f"the {field.en.lower()} ({cell})"


def _unit_gap_lines(allocation: Allocation, row: pd.Series) -> list[Line]:
    gap = float(row["unfunded_gap_100m"])
    zh_name, en_name = str(row["name_zh"]), name_en(row)
    code = str(row["code"])
    return [
        (
            f"{zh_name}（代码{code}）缺口{_yi(gap)}元，以下任一改动即可弥补：",
            f"{en_name} (code {code}) is short of {_yi(gap)}; any one of these would close it:",
        ),
        *_gap_province_inputs(allocation, row, gap, zh_name, en_name),
        *_gap_parameters(allocation, row, gap),
    ]


def _gap_province_inputs(
    allocation: Allocation, row: pd.Series, gap: float, zh_name: str, en_name: str
) -> Iterable[Line]:
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
    zh, en = _province_ref("local_subsidy_cap_100m", zh_name, en_name)
    yield (
        f"· 将{zh}由{_yi(cap)}提高到{_yi(cap + gap)}；",
        f"· raise {en} from {_yi(cap)} to {_yi(cap + gap)};",
    )
    cut = gap / (1.0 + allocation.parameters.reserve_months_floor / MONTHS_PER_YEAR)
    if cut < expenditure:
        zh, en = _province_ref("expenditure_100m", zh_name, en_name)
        yield (
            f"· 或将{zh}减少{_yi(cut)}（储备下限随之降低）；",
            f"· or lower {en} by {_yi(cut)} (the reserve floor falls with it);",
        )
    zh, en = _province_ref("contribution_income_100m", zh_name, en_name)
    yield (f"· 或将{zh}增加{_yi(gap)}；", f"· or raise {en} by {_yi(gap)};")
    target = max(opening, 0.0) + gap
    zh, en = _province_ref("opening_balance_100m", zh_name, en_name)
    note_zh = "（结余为负时下限随之变动，只有转正的部分起作用）" if opening < 0 else ""
    note_en = " (while it is negative the floor moves with it)" if opening < 0 else ""
    yield (
        f"· 或将{zh}由{_yi(opening)}提高到{_yi(target)}{note_zh}；",
        f"· or raise {en} from {_yi(opening)} to {_yi(target)}{note_en};",
    )
    if share > 0:
        yield (
            f"  注：该单位地方最低分担比例为{share:.0%}，中央补助须有相应的地方配套。",
            f"  Note: its minimum local share is {share:.0%}, so central money needs local "
            "matching.",
        )


def _gap_parameters(allocation: Allocation, row: pd.Series, gap: float) -> Iterable[Line]:
    """Closing ``gap`` through the parameters sheet (these act on every unit)."""
    params = allocation.parameters
    budget = params.central_subsidy_budget_100m
    zh, en = _parameter_ref("central_subsidy_budget_100m")
    yield (
        f"· 或将{zh}由{_yi(budget)}提高到{_yi(budget + gap)}；",
        f"· or raise {en} from {_yi(budget)} to {_yi(budget + gap)};",
    )
    months = params.reserve_months_floor
    if months > 0:
        lower = MONTHS_PER_YEAR * gap / float(row["expenditure_100m"])
        zh, en = _parameter_ref("reserve_months_floor")
        if lower <= months:
            yield (
                f"· 或将{zh}由{months:g}降至{months - lower:.2f}个月（适用于所有单位）；",
                f"· or lower {en} from {months:g} to {months - lower:.2f} months (for every unit);",
            )
        else:
            yield (
                f"· 即使将{zh}降为0，也不足以弥补该缺口；",
                f"· even setting {en} to 0 would not close it;",
            )
    delta = params.max_rule_deviation
    rule = float(row["rule_allocation_100m"])
    if delta is not None and bool(row["at_band_upper"]) and rule > 0:
        wider = (float(row["allocation_100m"]) + gap) / rule - 1.0
        zh, en = _parameter_ref("max_rule_deviation")
        yield (
            f"· 或将{zh}由{delta:.2f}放宽到至少{wider:.2f}（或留空），"
            "前提是其他单位能让出相应拨付。",
            f"· or widen {en} from {delta:.2f} to at least {wider:.2f} (or blank), if other "
            "units can spare the transfer.",
        )
