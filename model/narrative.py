"""An ``Allocation`` in words: the summary sentences, in Chinese and English.

The report writer lays out; it does no arithmetic. Everything a sentence needs (counts,
largest transfers) is worked out here, and every function returns ``(Chinese, English)``
pairs so the workbook and the web page can print them side by side. The diagnostics
sheet's sentences live in ``model.diagnostics``.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from model.results import BENEFICIARY, CONTRIBUTOR, EVEN, STATUS_GAP, Allocation

Line = tuple[str, str]
"""One sentence as ``(Chinese, English)``."""

NAME_LIMIT = 5
"""How many units a sentence names before saying "and N more"."""

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


def unit_roles(allocation: Allocation) -> pd.Series:
    """Each unit's role under the optimised allocation: contributor, beneficiary or even."""
    return allocation.table["role"]


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
    rule = table["rule_role"]
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
