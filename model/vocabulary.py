"""The output vocabulary: every label, unit and display threshold a planner reads.

Inputs have their data dictionary in ``model.schema``; outputs have this one. Each figure,
state, status, role, equity metric and solve level is named here once, in Chinese and
English with its unit, and the allocation workbook, the web pages and the terminal all
read it (style habits 13 and 14), so one concept has one word everywhere: the gap is
未弥补缺口 Unfunded gap on every surface, the statutory rule is 法定规则 Statutory rule.

This module imports nothing from ``model`` and nothing heavy (no pandas, numpy or Pyomo):
the web application reads it without loading the solver stack.

There are three kinds of threshold, and they must not be confused:

- **Round-off** depends on the data. Money below ``solve.negligible(money_scale)`` is what
  the solver leaves behind, not policy: ``results.extract`` reports every per-unit money
  figure below it as exactly 0 and records the threshold on the ``Allocation`` as
  ``round_off``. Anything that counts units ("needing subsidy", "having a gap") therefore
  counts only figures above it. That function is the only test of what money is zero.
- **Roles** are policy: ``ROUGHLY_EVEN_100m`` (docs/outputs.md).
- **Display** is typography: ``DISPLAY_ZERO`` is half the last digit a figure is shown to.
"""

from __future__ import annotations

from dataclasses import dataclass

# --- thresholds ----------------------------------------------------------------------------

ROUGHLY_EVEN_100m = 5.0
"""亿元. A unit is a net contributor when its net transfer is below −5亿, a net beneficiary
when it is above +5亿, and roughly even otherwise: the split the published 2020 figures use
(7 contributors, 22 beneficiaries, 3 roughly even)."""

DISPLAY_ZERO = 0.005
"""Half the last displayed digit of a figure shown to two decimals (0.01亿, or a dual value
of 0.01亿/亿): a value smaller than this reads 0.00, so it is shown as 0, unsigned and
uncoloured. It decides display only, never a count or a role."""


# --- labels --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Label:
    """One thing a surface names: Chinese, English and the unit (blank for none)."""

    zh: str
    en: str
    unit: str = ""

    @property
    def name(self) -> str:
        """``未弥补缺口 Unfunded gap``: Chinese then English, as every surface writes it."""
        return f"{self.zh} {self.en}"

    @property
    def text(self) -> str:
        """``未弥补缺口 Unfunded gap (亿元)``: the name with its unit, for a header."""
        return self.name + (f" ({self.unit})" if self.unit else "")

    @property
    def header(self) -> str:
        """``未弥补缺口⏎Unfunded gap⏎(亿元)``: one line each, for a workbook header cell."""
        return f"{self.zh}\n{self.en}" + (f"\n({self.unit})" if self.unit else "")


@dataclass(frozen=True)
class MetricLabel(Label):
    """An equity metric: its label and what it measures."""

    meaning: str = ""


YI = "亿元"
MONTHS = "月"
UNITS = "个"

CONTRIBUTOR, BENEFICIARY, EVEN = "contributor", "beneficiary", "even"
"""The role keys of the results' ``role`` column."""

FIGURES: dict[str, Label] = {
    # who
    "code": Label("代码", "Code"),
    "name_zh": Label("名称", "Name"),
    "name_en": Label("英文名称", "Name (English)"),
    "region": Label("地区", "Region"),
    "role": Label("调剂角色", "Role"),
    "retirees_10k": Label("离退休人数", "Retirees", "万人"),
    # per-unit money, statutory and optimised
    "contribution_100m": Label("上解额", "Contribution", YI),
    "rule_allocation_100m": Label("法定拨付额", "Statutory allocation", YI),
    "allocation_100m": Label("优化拨付额", "Optimised allocation", YI),
    "rule_net_transfer_100m": Label("法定净调剂额", "Statutory net transfer", YI),
    "net_transfer_100m": Label("优化净调剂额", "Optimised net transfer", YI),
    "local_subsidy_100m": Label("追加地方财政补助", "Extra local subsidy", YI),
    "central_subsidy_100m": Label("追加中央财政补助", "Extra central subsidy", YI),
    "subsidy_100m": Label("追加财政补助", "Extra subsidy, local + central", YI),
    "unfunded_gap_100m": Label("未弥补缺口", "Unfunded gap", YI),
    "rule_shortfall_100m": Label("法定规则下的缺口", "Shortfall under the rule", YI),
    "rule_closing_balance_100m": Label("法定年末结余", "Statutory closing balance", YI),
    "closing_balance_100m": Label("优化年末结余", "Optimised closing balance", YI),
    "months_before": Label("调剂前储备月数", "Reserve months before", MONTHS),
    "months_rule": Label("法定储备月数", "Reserve months, statutory rule", MONTHS),
    "months_optimized": Label("优化后储备月数", "Reserve months, optimised", MONTHS),
    "full_payment_dual": Label("足额支付对偶值", "Full-payment dual", "亿/亿"),
    # quarterly settlement
    "advance_q1_100m": Label("一季度预拨", "Q1 advance", YI),
    "advance_q2_100m": Label("二季度预拨", "Q2 advance", YI),
    "advance_q3_100m": Label("三季度预拨", "Q3 advance", YI),
    "advance_q4_100m": Label("四季度预拨", "Q4 advance", YI),
    "settlement_100m": Label("年终清算", "Year-end settlement", YI),
    # totals and counts
    "fund_100m": Label("调剂基金规模", "Fund size", YI),
    "moved_100m": Label("省际调剂资金", "Moved between units", YI),
    "rule_moved_100m": Label("法定省际调剂资金", "Moved between units, statutory rule", YI),
    # incentive mode: a unit's collection shortfall and who bears it
    "collection_shortfall_100m": Label("征缴不足", "Collection shortfall", YI),
    "committed_local_100m": Label("自身财政承担", "Committed by own finance", YI),
    "own_gap_100m": Label("自身责任缺口", "Own-responsibility gap", YI),
    "fund_gap_100m": Label("基金未弥补缺口", "Gap the fund left", YI),
    "total_subsidy_100m": Label("追加财政补助合计", "Total extra subsidy", YI),
    "net_contributors": Label("净上解单位", "Net contributors", UNITS),
    "net_beneficiaries": Label("净受益单位", "Net beneficiaries", UNITS),
    "roughly_even": Label("基本持平单位", "Roughly even", UNITS),
    "per_retiree_yuan": Label("全国人均拨付额", "Statutory amount per retiree", "元"),
    # the multi-year plan
    "year": Label("年度", "Year"),
    "contribution_ratio": Label("上解比例", "Contribution ratio"),
    "expenditure_100m": Label("基金支出", "Expenditure", YI),
    "before_balance_100m": Label("调剂前年末结余", "Closing balance before adjustment", YI),
    "rule_balance_100m": Label("法定规则年末结余", "Closing balance, statutory rule", YI),
    "national_closing_100m": Label("全国年末结余（规划）", "National closing balance, plan", YI),
    "national_before_100m": Label(
        "全国年末结余（不增加补助）", "National closing balance, no extra subsidy", YI
    ),
    "national_current_balance_100m": Label("全国当期收支差", "National current balance", YI),
    "national_months": Label("全国储备月数", "National reserve months", MONTHS),
    "lowest_months": Label("最低储备月数", "Lowest reserve months", MONTHS),
    "units_with_gap": Label("存在缺口的单位", "Units with a gap", UNITS),
    "depletion_year_before": Label("耗尽年份（调剂前）", "Depletion year, before adjustment"),
    "depletion_year_rule": Label("耗尽年份（法定规则）", "Depletion year, statutory rule"),
    "depletion_year_plan": Label("无法足额发放年份（规划）", "First year short, plan"),
}
"""Every figure shown per unit or in total, by its key in the results and the JSON."""

NEVER = Label("规划期内不会", "never")
"""A depletion year that does not come within the horizon."""

RESERVE_MONTHS = Label("储备月数", "Reserve months", MONTHS)
FRONTIER = Label("前沿", "Frontier")
THIS_RUN = Label("本次结果", "This run")
LOWEST_MONTHS = Label("最困难单位储备月数", "Lowest reserve months", MONTHS)
"""Reserve months in general: a chart axis over all three states."""

STATES: dict[str, Label] = {
    "before": Label("调剂前", "Before"),
    "rule": Label("法定规则", "Statutory rule"),
    "optimized": Label("优化后", "Optimised"),
}
"""The three states every comparison shows, in order: before adjustment, under the
statutory rule of 国发〔2018〕18号, and optimised."""

STATUS_FULL, STATUS_GAP = "full_payment", "unfunded_gap"
"""The two outcomes of a run, as the results and the JSON write them."""

STATUSES: dict[str, Label] = {
    STATUS_FULL: Label("全额发放有保障", "Full payment guaranteed"),
    STATUS_GAP: Label("存在未弥补缺口", "Unfunded gap remains"),
}
SHORT_STATUSES: dict[str, Label] = {
    STATUS_FULL: Label("足额", "Full"),
    STATUS_GAP: Label("缺口", "Gap"),
}
"""The statuses where space is short (a cell per scenario)."""

ROLES: dict[str, Label] = {
    CONTRIBUTOR: Label("净上解", "Net contributor"),
    BENEFICIARY: Label("净受益", "Net beneficiary"),
    EVEN: Label("基本持平", "Roughly even"),
}
"""A unit's role, decided by ``ROUGHLY_EVEN_100m``."""

EQUITY_METRICS: dict[str, MetricLabel] = {
    "months_min": MetricLabel(
        "最低储备月数", "Lowest reserve months", MONTHS, "Reserve months of the worst-off unit"
    ),
    "months_max": MetricLabel(
        "最高储备月数", "Highest reserve months", MONTHS, "Reserve months of the best-off unit"
    ),
    "months_range": MetricLabel(
        "储备月数极差", "Range of reserve months", MONTHS, "Highest minus lowest reserve months"
    ),
    "months_mad": MetricLabel(
        "储备月数平均绝对偏差",
        "Mean absolute deviation of reserve months",
        MONTHS,
        "Mean absolute deviation of reserve months from the national months",
    ),
    "months_cv": MetricLabel(
        "储备月数变异系数",
        "Coefficient of variation of reserve months",
        "",
        "Coefficient of variation of reserve months (std / mean)",
    ),
    "gini": MetricLabel(
        "人均资源基尼系数",
        "Gini of resources per retiree",
        "",
        "Gini of resources per retiree (0 equal, 1 one unit holds all)",
    ),
    "theil": MetricLabel("泰尔指数", "Theil T", "", "Theil T of resources per retiree (0 equal)"),
    "theil_between": MetricLabel(
        "区域间泰尔指数", "Theil T between regions", "", "Part of Theil T between the four regions"
    ),
    "theil_within": MetricLabel(
        "区域内泰尔指数", "Theil T within regions", "", "Part of Theil T within the regions"
    ),
}
"""The equity metrics of docs/formulation.md §6, in the order every table lists them."""


def kpi_label(key: str) -> str:
    """A comparison column's header: a figure (``unfunded_gap_100m``), a metric in a state
    (``gini_optimized``), or the key itself for a parameter."""
    if key in FIGURES:
        return FIGURES[key].text
    for state, state_label in STATES.items():
        metric = key.removesuffix(f"_{state}")
        if metric != key and metric in EQUITY_METRICS:
            return f"{EQUITY_METRICS[metric].text} · {state_label.name}"
    return key


# --- the solve levels ----------------------------------------------------------------------

LEVEL_MEANINGS: dict[str, str] = {
    "unfunded_gap": "Σ unfunded gap u (亿元), minimised",
    "fiscal_subsidy": "Σ extra local + central subsidy l + g (亿元), minimised",
    "central_subsidy": "Σ extra central subsidy g (亿元), minimised",
    "rule_distance": "Σ |transfer − statutory allocation| (亿元), minimised",
    "gap_timing": "Σ over years of the emergency money drawn so far, Σ (T − t) u_t (亿元), "
    "minimised: the gap falls in the year it happens",
    "subsidy_timing": "Σ over years of the subsidy drawn so far, Σ (T − t)(l + g)_t (亿元), "
    "minimised: subsidy is paid when needed",
    "ratio_path": "Σ over years of the contribution ratio, minimised: the gentlest path",
}
"""What each lexicographic level's objective value measures, for ``run_info``."""

IMBALANCE_MEANINGS: dict[str, str] = {
    "maximin": "minus the lowest reserve months, −min M (months), minimised",
    "range": "highest − lowest reserve months (months), minimised",
    "mad": "mean |M − national months| (months), minimised",
}
"""What the ``imbalance`` level measures under each objective."""


def level_meaning(level: str, objective: str) -> str:
    """What a level's objective value measures, in words, for run_info."""
    return IMBALANCE_MEANINGS[objective] if level == "imbalance" else LEVEL_MEANINGS[level]


PROVINCE_JSON_KEYS: tuple[str, ...] = (
    "code",
    "name_zh",
    "contribution_100m",
    "rule_allocation_100m",
    "allocation_100m",
    "net_transfer_100m",
    "local_subsidy_100m",
    "central_subsidy_100m",
    "unfunded_gap_100m",
    "closing_balance_100m",
    "months_before",
    "months_rule",
    "months_optimized",
    "full_payment_dual",
)
"""The keys of each unit in the JSON result, in order: a contract (docs/outputs.md), added
to but never renamed. The web result table shows the figures among them."""
