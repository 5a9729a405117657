"""An ``Allocation`` in words: the summary sentences, in Chinese and English.

The report writer lays out; it does no arithmetic. Everything a sentence needs (counts,
largest transfers) is worked out here, and every function returns ``(Chinese, English)``
pairs so the workbook and the web page can print them side by side. The diagnostics
sheet's sentences live in ``model.analysis.diagnostics``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd

from model.analysis.results import BENEFICIARY, CONTRIBUTOR, EVEN, STATUS_GAP, Allocation
from model.errors import Problem
from model.vocabulary import DISPLAY_ZERO, ROLES, ROUGHLY_EVEN_100m

Line = tuple[str, str]
"""One sentence as ``(Chinese, English)``."""

NAME_LIMIT = 5
"""How many units a sentence names before saying "and N more"."""

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


def _decimals(value: float) -> int:
    """Two decimals; money that is not zero yet would read 0.00 keeps two significant
    digits (0.0025), so a sentence never calls real money 0.00."""
    if 0 < abs(value) < DISPLAY_ZERO:
        return 1 - math.floor(math.log10(abs(value)))
    return 2


def yi(value: float) -> str:
    """Money as every sentence shows it: ``1,234.56亿`` (more digits below a cent)."""
    return f"{value + 0.0:,.{_decimals(value)}f}亿"


def _signed(value: float) -> str:
    return f"{value + 0.0:+,.{_decimals(value)}f}亿"


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


def unit_names(frame: pd.DataFrame) -> tuple[list[str], list[str]]:
    """The units of ``frame`` by name, in Chinese and in English."""
    rows = list(frame.itertuples())
    return [str(r.name_zh) for r in rows], [name_en(r) for r in rows]


def unit_roles(allocation: Allocation) -> pd.Series:
    """Each unit's role under the optimised allocation: contributor, beneficiary or even."""
    return allocation.table["role"]


def role_labels(allocation: Allocation) -> pd.Series:
    """``unit_roles`` as the bilingual labels printed in the workbook (``vocabulary.ROLES``)."""
    return unit_roles(allocation).map({role: label.name for role, label in ROLES.items()})


def headline_counts(allocation: Allocation) -> dict[str, int]:
    """Unit counts for the summary's headline figures.

    Keys: ``contributors``, ``beneficiaries`` and ``even`` (optimised), the same with a
    ``rule_`` prefix (statutory), ``subsidised`` (extra subsidy above round-off),
    ``gap_units``, ``deficit_units`` (paid in full but below zero at year end), ``units``.
    """
    table = allocation.table
    optimised = unit_roles(allocation)
    rule = table["rule_role"]
    counts = {"units": len(table)}
    for prefix, roles in (("", optimised), ("rule_", rule)):
        counts[prefix + "contributors"] = int((roles == CONTRIBUTOR).sum())
        counts[prefix + "beneficiaries"] = int((roles == BENEFICIARY).sum())
        counts[prefix + "even"] = int((roles == EVEN).sum())
    counts["subsidised"] = len(allocation.subsidised_units)
    counts["gap_units"] = len(allocation.gap_units)
    counts["deficit_units"] = len(allocation.deficit_units)
    return counts


def gap_names(allocation: Allocation) -> Line:
    """The units left with an unfunded gap, largest first, named in both languages."""
    gaps = allocation.gap_table()
    zh, en = unit_names(gaps)
    return "、".join(zh), ", ".join(en)


# --- summary ---------------------------------------------------------------------------


def summary_sentences(allocation: Allocation) -> list[Line]:
    """Plain sentences saying what happened, as ``(Chinese, English)`` pairs.

    A sentence with nothing to say is left out: the subsidy sentence when no unit needs
    subsidy above round-off, the deficit sentence when every unit ends the year at or
    above zero.
    """
    sentences = [
        _status_sentence(allocation),
        deficit_sentence(allocation),
        _fund_sentence(allocation),
        _transfer_sentence(allocation),
        far_from_rule_sentence(allocation),
        _rule_roles_sentence(allocation),
        _subsidy_sentence(allocation),
        incentive_sentence(allocation),
        _imbalance_sentence(allocation),
        knee_sentence(allocation),
    ]
    return [line for line in sentences if line is not None]


def _status_sentence(allocation: Allocation) -> Line:
    n = len(allocation.table)
    if allocation.status != STATUS_GAP:
        return (
            f"全部{n}个统筹单位均可保证养老金按时足额发放。",
            f"Full payment is guaranteed in all {plural(n, 'unit')}.",
        )
    gaps = allocation.gap_table()
    zh, en = unit_names(gaps)
    total = allocation.totals["unfunded_gap_100m"]
    if not en:
        return (
            "无法保证全额发放：仍有少量未弥补缺口，分散在各单位，每个单位均不足舍入误差。",
            "Full payment cannot be guaranteed: a small unfunded gap remains, spread so "
            "thinly over the units that no single unit's share is above round-off.",
        )
    return (
        f"无法保证全额发放：{join_zh(zh)}仍有{yi(total)}元养老金缺口。",
        f"Full payment cannot be guaranteed: an unfunded gap of {yi(total)} remains in "
        f"{join_en(en)}.",
    )


def incentive_sentence(allocation: Allocation) -> Line | None:
    """In incentive mode: which units collect below the standard, what their own finance
    commits, and the gap that is their own responsibility, apart from the fund's."""
    rate = allocation.parameters.standard_contribution_rate
    if rate is None:
        return None
    table = allocation.table
    short = table[table["collection_shortfall_100m"] > 0]
    standard = f"{rate:.1%}"
    if short.empty:
        return (
            f"激励相容模式：所有单位的征缴率均不低于标准征缴率{standard}。",
            f"Incentive mode: every unit collects at least the standard rate of {standard}.",
        )
    t = allocation.totals
    zh, en = unit_names(short.sort_values("collection_shortfall_100m", ascending=False))
    owners = table[table["own_gap_100m"] > 0]
    own_zh, own_en = unit_names(owners)
    line_zh = (
        f"激励相容模式：{join_zh(zh)}的征缴低于标准征缴率{standard}，差额共"
        f"{yi(t['collection_shortfall_100m'])}元，不由调剂基金或中央财政弥补；其自身财政承担"
        f"{yi(t['committed_local_100m'])}元"
    )
    line_en = (
        f"Incentive mode: {join_en(en)} collect below the standard rate of {standard}, "
        f"{yi(t['collection_shortfall_100m'])} short in all, which neither the fund nor central "
        f"finance makes up; their own finance commits {yi(t['committed_local_100m'])}"
    )
    if owners.empty:
        return line_zh + "。", line_en + "."
    return (
        line_zh + f"，{join_zh(own_zh)}尚余{yi(t['own_gap_100m'])}元缺口，由其自身负责。",
        line_en + f", and {join_en(own_en)} are left {yi(t['own_gap_100m'])} short, their own "
        "responsibility.",
    )


def knee_sentence(allocation: Allocation) -> Line | None:
    """The frontier's knee: the point after which each extra month for the worst-off unit
    costs the most reallocation. None without a frontier or a knee."""
    frontier = allocation.frontier
    if frontier is None or frontier.knee is None:
        return None
    k = frontier.knee
    point = frontier.points[k]
    before, after = frontier.slope(k - 1), frontier.slope(k)
    if before is None or after is None:
        return None
    months, moved = f"{point.lowest_months:.1f}", yi(point.moved_100m)
    return (
        f"均衡代价的拐点：最困难单位储备达到{months}个月（单位间调剂{moved}元）之后，"
        f"每多1个月需多调剂{yi(after)}元，此前每月为{yi(before)}元。",
        f"The knee of the equity frontier: beyond {months} months for the worst-off unit "
        f"({moved} moved between units), each further month moves {yi(after)} more, "
        f"against {yi(before)} a month before it.",
    )


def deficit_sentence(allocation: Allocation) -> Line | None:
    """Why "full payment" can sit beside a negative year-end balance (docs/outputs.md).

    Names every unit paid in full that still ends the year below zero, with its balance;
    None when there is none.
    """
    codes = allocation.deficit_units
    if not codes:
        return None
    rows = list(allocation.table.loc[codes].sort_values("closing_balance_100m").itertuples())
    zh = join_zh([f"{r.name_zh}（{yi(r.closing_balance_100m)}元）" for r in rows], len(rows))
    en = join_en([f"{name_en(r)} ({yi(r.closing_balance_100m)})" for r in rows], len(rows))
    verb = "ends" if len(rows) == 1 else "end"
    return (
        f"{zh}年末结余仍为负数，但养老金照常足额发放：足额发放的底线是min(年初结余, 0)，"
        "已有的赤字可以延续，但不得加深。",
        f"{en} {verb} the year below zero yet still pays pensions in full: the "
        "full-payment floor min(opening, 0) lets an existing deficit persist but never "
        "deepen.",
    )


def _fund_sentence(allocation: Allocation) -> Line:
    t = allocation.totals
    ratio = allocation.parameters.contribution_ratio
    return (
        f"按{ratio * 100:g}%的上解比例，调剂基金规模为{yi(t['fund_100m'])}元；优化后省际净调剂"
        f"{yi(t['moved_100m'])}元，按法定规则为{yi(t['rule_moved_100m'])}元。",
        f"At a contribution ratio of {ratio * 100:g}% the fund raises {yi(t['fund_100m'])}; "
        f"{yi(t['moved_100m'])} moves between units, against {yi(t['rule_moved_100m'])} "
        "under the statutory rule.",
    )


def _transfer_sentence(allocation: Allocation) -> Line:
    counts = headline_counts(allocation)
    table = allocation.table
    roles = unit_roles(allocation)
    takers = table[roles == BENEFICIARY].sort_values("net_transfer_100m", ascending=False)
    givers = table[roles == CONTRIBUTOR].sort_values("net_transfer_100m")
    if takers.empty or givers.empty:
        return (
            f"各单位之间没有超过{ROUGHLY_EVEN_100m:g}亿元的净调剂。",
            f"No unit's net transfer exceeds {ROUGHLY_EVEN_100m:g}亿 either way.",
        )
    top = takers.head(2)
    zh, en = unit_names(top)
    amounts = [_signed(v) for v in top["net_transfer_100m"]]
    giver = givers.iloc[0]
    receive = (
        "receive the largest net transfers" if len(top) > 1 else "receives the largest net transfer"
    )
    return (
        f"{_roles_zh(counts)}；{join_zh(zh)}获得的净调剂最多（{'、'.join(amounts)}），"
        f"{giver['name_zh']}净上解最多（{_signed(giver['net_transfer_100m'])}）。",
        f"{_roles_en(counts)}; {join_en(en)} {receive} "
        f"({' and '.join(amounts)}), and {name_en(giver)} hands up the most "
        f"({_signed(giver['net_transfer_100m'])}).",
    )


FAR_FROM_RULE = 1.5
"""An answer that moves more than this many times what the statutory rule moves between
units is said to, plainly: a director must see how far it departs from the law."""


def far_from_rule_sentence(allocation: Allocation) -> Line | None:
    """Say so when the answer moves much more money between units than the rule does,
    and what a planner can do about it; None otherwise."""
    moved = allocation.totals["moved_100m"]
    rule = allocation.totals["rule_moved_100m"]
    if rule <= 0 or moved <= FAR_FROM_RULE * rule:
        return None
    times = f"{moved / rule:.1f}"
    return (
        f"注意：本方案单位间调剂{yi(moved)}元，是法定规则（{yi(rule)}元）的{times}倍。"
        "如需更接近法定规则，可设置规则偏离上限（max_rule_deviation）或最低返还比例"
        "（min_return_share），或参照均衡前沿的拐点。",
        f"Note: this answer moves {yi(moved)} between units, {times} times what the statutory "
        f"rule moves ({yi(rule)}). To stay nearer the rule, set a rule band "
        "(max_rule_deviation) or a minimum return share (min_return_share), or take the "
        "frontier's knee.",
    )


def _rule_roles_sentence(allocation: Allocation) -> Line:
    """The statutory rule's split, counted with the same 5亿 threshold as the optimised one
    (the published 2020 split is 7 / 22 / 3)."""
    counts = headline_counts(allocation)
    return (
        f"按法定规则，{_roles_zh(counts, 'rule_')}。",
        f"Under the statutory rule, {_roles_en(counts, 'rule_')}.",
    )


def _roles_zh(counts: dict[str, int], prefix: str = "") -> str:
    text = (
        f"{counts[prefix + 'contributors']}个单位净上解、"
        f"{counts[prefix + 'beneficiaries']}个单位净受益"
    )
    if counts[prefix + "even"]:
        text += (
            f"、{counts[prefix + 'even']}个单位基本持平（净调剂在±{ROUGHLY_EVEN_100m:g}亿元以内）"
        )
    return text


def _roles_en(counts: dict[str, int], prefix: str = "") -> str:
    givers = _count_phrase(counts[prefix + "contributors"], "net contributor")
    takers = _count_phrase(counts[prefix + "beneficiaries"], "net beneficiary", "net beneficiaries")
    if not counts[prefix + "even"]:
        return f"{givers} and {takers}"
    even = counts[prefix + "even"]
    verb = "is" if even == 1 else "are"
    return (
        f"{givers}, {takers} and {plural(even, 'unit')} {verb} roughly even "
        f"(net within ±{ROUGHLY_EVEN_100m:g}亿)"
    )


def _count_phrase(count: int, noun: str, nouns: str | None = None) -> str:
    """``1 unit is a net contributor`` or ``23 units are net contributors``."""
    if count == 1:
        return f"1 unit is a {noun}"
    return f"{count} units are {nouns or noun + 's'}"


def _subsidy_sentence(allocation: Allocation) -> Line | None:
    """Where extra subsidy goes; None when no unit needs any above round-off."""
    t = allocation.totals
    local, central = t["local_subsidy_100m"], t["central_subsidy_100m"]
    n = headline_counts(allocation)["subsidised"]
    if n == 0:
        return None
    table = allocation.table
    capped_zh, capped_en = unit_names(table[table["at_local_cap"]])
    zh = f"需追加财政补助{yi(local + central)}元，涉及{n}个单位：地方{yi(local)}元"
    en = (
        f"Extra fiscal subsidy of {yi(local + central)} is needed in {plural(n, 'unit')}: "
        f"local {yi(local)}"
    )
    if capped_en:
        zh += f"（{join_zh(capped_zh)}已达上限）"
        en += f", at the cap in {join_en(capped_en)}"
    return zh + f"，中央{yi(central)}元。", en + f"; central {yi(central)}."


def _imbalance_sentence(allocation: Allocation) -> Line:
    metric, zh_label, en_label = IMBALANCE_SENTENCE[allocation.parameters.objective]
    values = [allocation.equity[state][metric].value for state in ("before", "rule", "optimized")]
    zh = "、".join(_months_zh(v) for v in values)
    return (
        f"{zh_label}：调剂前、按规则、优化后分别为{zh}个月。",
        f"{en_label} is {_months(values[0])} months before adjustment, {_months(values[1])} "
        f"under the statutory rule and {_months(values[2])} optimised.",
    )


# --- input warnings ------------------------------------------------------------------------


def warning_line(warning: Problem) -> Line:
    """A reader's warning as ``(Chinese, English)``, each starting with its location."""
    return f"{warning.where}：{warning.zh}", f"{warning.where}: {warning.en}"


def warning_lines(allocation: Allocation) -> list[Line]:
    """Every warning the reader raised about the input, in reading order."""
    return [warning_line(w) for w in allocation.source.warnings]


WARNING_HEADING: Line = ("请核对", "Please check")
"""The heading above the reader's warnings on every surface."""


def warning_banner(count: int) -> Line:
    """The workbook's one-line alert, at the top of its summary, to ``count`` warnings."""
    return (
        f"请核对：读取输入时有{count}条提醒（数据可能有误），见diagnostics表开头。",
        f"Please check: reading the input raised {plural(count, 'warning')} (figures that "
        "may be slips), listed at the top of the diagnostics sheet.",
    )
