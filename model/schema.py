"""The data dictionary: every sheet, key, bilingual label, unit, default and bound.

This is the single place that knows what a workbook may contain. The reader, the
template writer, the report headers, the web form and the README's input table are all
derived from it, so a new column is added here and nowhere else.

Money is in 亿元 (100 million yuan), people in 万人 (10 thousand persons), wages in yuan
per year, ratios as fractions and reserves in months of expenditure.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, replace
from typing import Literal

Kind = Literal["text", "number", "integer", "choice"]

PROVINCES_SHEET = "provinces"
PARAMETERS_SHEET = "parameters"
SCENARIOS_SHEET = "scenarios"
INSTRUCTIONS_SHEET = "instructions"

REGIONS: tuple[str, ...] = ("East", "Central", "West", "Northeast")
OBJECTIVES: tuple[str, ...] = ("maximin", "range", "mad")

REGION_ALIASES: dict[str, str] = {
    "东部": "East",
    "东部地区": "East",
    "中部": "Central",
    "中部地区": "Central",
    "西部": "West",
    "西部地区": "West",
    "东北": "Northeast",
    "东北部": "Northeast",
    "东北地区": "Northeast",
}
"""The Chinese names of the four regions, as the statistical yearbooks write them."""

WAGE_BASE_SHARE_DEFAULT = 0.9
CONTRIBUTION_RATIO_MAX = 0.2
"""The most a contribution ratio may be. Units collect about 16% of wages for pensions,
so handing up more than a fifth of the wage base is not a policy but a typo (1 for 1%,
or 0.4 for 0.04). The published ratios run from 3% (2018) to 4.5% (2021)."""
MONTHS_PER_YEAR = 12.0

GROWTH_SHEET = "growth"
PROJECTION_SHEET = "projection"
RATIO_PATH_SHEET = "ratio_path"

GROWTH_DRIVERS: tuple[str, ...] = (
    "wage_growth",
    "insured_growth",
    "retiree_growth",
    "benefit_growth",
)
"""The four annual growth rates that carry a unit's figures from year to year (the plan)."""

GROWTH_MAX = 0.5
"""The largest annual growth (or fall) accepted: 50% a year is already far outside any
province's history, and 3 or 5 typed for 3% or 5% is then read as the percentage slip it is."""

GROWTH_DRIVER_LABELS: tuple[tuple[str, str, str, str, str, str], ...] = (
    ("wage_growth", "工资增长率", "Wage growth", "0.05", "the average wage", "工资"),
    (
        "insured_growth",
        "参保职工增长率",
        "Insured growth",
        "-0.005",
        "insured employees and enterprise employment",
        "参保",
    ),
    ("retiree_growth", "离退休人数增长率", "Retiree growth", "0.03", "retirees", "退休"),
    (
        "benefit_growth",
        "人均待遇增长率",
        "Benefit growth",
        "0.03",
        "the pension per retiree",
        "待遇",
    ),
)
"""key, Chinese, English, an example rate, what grows at it, and its short word."""

PLAN_HORIZON_MAX = 60
"""The most years a plan may cover: a horizon beyond two generations is not a plan."""

GROWTH_SD_LABELS: tuple[tuple[str, str, str, float, str], ...] = (
    ("wage_growth_sd", "工资增长率标准差", "Wage growth s.d.", 0.015, "工资σ"),
    ("insured_growth_sd", "参保职工增长率标准差", "Insured growth s.d.", 0.01, "参保σ"),
    ("retiree_growth_sd", "离退休人数增长率标准差", "Retiree growth s.d.", 0.005, "退休σ"),
    ("benefit_growth_sd", "人均待遇增长率标准差", "Benefit growth s.d.", 0.01, "待遇σ"),
)
"""The plan under uncertainty: each driver's shock s.d. (key, Chinese, English, default,
short word), in the order of ``GROWTH_DRIVERS``. The defaults are about the spread of the
provinces' yearly rates around their trend in 2010–2020: a point and a half for wages, a
point for employment and benefits, half a point for retirees, whose numbers move slowly."""

GROWTH_SD_MAX = 0.2
"""The largest shock s.d. accepted: 20 points a year; 1 or 2 typed for 1% or 2% is refused."""

DRAWS_MAX = 100_000
"""The most draws a risk run takes: ten thousand already fixes a 1% probability to ±0.2%."""


@dataclass(frozen=True)
class Field:
    """One column of the provinces sheet or one key of the parameters sheet.

    Attributes:
        key: the canonical key, carrying its unit as a suffix (``retirees_10k``).
        zh: the Chinese label, printed first in the template.
        en: the English label.
        unit: the unit as printed in the label, or "" for a dimensionless value.
        kind: how the cell is read.
        required: whether a blank cell is an error.
        default: the value used for a blank cell of an optional key.
        minimum, maximum: inclusive bounds, or None.
        positive: whether zero is also refused (expenditure, wages).
        fraction: a share in 0..1; a value in (1, 100] is reported as a percentage typo.
        choices: the allowed values of a choice field.
        expected: how the error message describes a valid value.
        expected_zh: the same, in Chinese.
        aliases: other spellings of a choice, as (alias, choice) pairs.
        help: one line for the template's instructions sheet.
        short: for a parameter, the word that names it in a swept scenario's label
            (``上解 4.5% · 储备 3月 · 区间 20% · range``, ``scenarios.scenario_labels``): two
            characters, so fifty labels fit a chart axis and a table header; blank for the
            objective, whose values name themselves.
    """

    key: str
    zh: str
    en: str
    unit: str = ""
    kind: Kind = "number"
    required: bool = True
    default: float | str | None = None
    minimum: float | None = None
    maximum: float | None = None
    positive: bool = False
    fraction: bool = False
    choices: tuple[str, ...] = ()
    expected: str = ""
    expected_zh: str = ""
    aliases: tuple[tuple[str, str], ...] = ()
    help: str = ""
    short: str = ""

    def choice_of(self, text: str) -> str | None:
        """The choice ``text`` names, ignoring case, or None; aliases (东部) count too."""
        folded = text.strip().casefold()
        for choice in self.choices:
            if folded == choice.casefold():
                return choice
        for alias, choice in self.aliases:
            if folded == alias.casefold():
                return choice
        return None

    @property
    def label(self) -> str:
        """The bilingual template header, Chinese first: ``离退休人数 Retirees (万人)``."""
        unit = f" ({self.unit})" if self.unit else ""
        return f"{self.zh} {self.en}{unit}"


def yes_no(key: str, zh: str, en: str, help: str, short: str = "") -> Field:
    """An optional yes/no switch, ``no`` when blank; 是 and 否 are read too."""
    return Field(
        key,
        zh,
        en,
        kind="choice",
        required=False,
        default="no",
        choices=("no", "yes"),
        aliases=(("否", "no"), ("是", "yes")),
        expected="yes or no",
        expected_zh="yes（是）或 no（否）",
        help=help,
        short=short,
    )


PROVINCE_FIELDS: tuple[Field, ...] = (
    Field(
        "code",
        "代码",
        "Code",
        kind="text",
        expected="a unique code such as 44",
        expected_zh="唯一代码，如 44",
        help="Unique id of the pooling unit, read as text (leading zeros are kept).",
    ),
    Field(
        "name_zh",
        "名称",
        "Name (Chinese)",
        kind="text",
        expected="the unit's Chinese name",
        expected_zh="单位的中文名称",
        help="Chinese name, for example 广东.",
    ),
    Field(
        "name_en",
        "英文名称",
        "Name (English)",
        kind="text",
        required=False,
        default="",
        expected="the unit's English name",
        expected_zh="单位的英文名称",
        help="English name, for example Guangdong.",
    ),
    Field(
        "region",
        "地区",
        "Region",
        kind="choice",
        choices=REGIONS,
        aliases=tuple(REGION_ALIASES.items()),
        expected="one of East, Central, West, Northeast",
        expected_zh="东部、中部、西部、东北之一（也可写 East、Central、West、Northeast）",
        help="The four economic regions used for the Theil decomposition.",
    ),
    Field(
        "avg_wage_yuan",
        "平均工资",
        "Average wage",
        "元",
        minimum=0,
        positive=True,
        expected="a number in yuan per year, above zero",
        expected_zh="以元/年计的正数",
        help="Provincial average wage of urban employees, yuan per year.",
    ),
    Field(
        "insured_employees_10k",
        "参保职工人数",
        "Insured employees",
        "万人",
        minimum=0,
        positive=True,
        expected="a number of persons in 万人, above zero",
        expected_zh="以万人计的正数",
        help="In-service insured persons of the enterprise scheme.",
    ),
    Field(
        "enterprise_employment_10k",
        "企业就业人数",
        "Enterprise employment",
        "万人",
        required=False,
        default=None,
        minimum=0,
        positive=True,
        expected="a number of persons in 万人, above zero, or blank",
        expected_zh="以万人计的正数，或留空",
        help="NBS enterprise employment; when given, covered = mean of this and insured.",
    ),
    Field(
        "retirees_10k",
        "离退休人数",
        "Retirees",
        "万人",
        minimum=0,
        positive=True,
        expected="a number of persons in 万人, above zero",
        expected_zh="以万人计的正数",
        help="Approved retirees; the fund is handed down in proportion to these.",
    ),
    Field(
        "opening_balance_100m",
        "年初累计结余",
        "Opening balance",
        "亿元",
        expected="a number in 亿元 (may be negative)",
        expected_zh="以亿元计的数值（可为负）",
        help="Accumulated balance at the start of the year; negative when in deficit.",
    ),
    Field(
        "contribution_income_100m",
        "征缴收入",
        "Contribution income",
        "亿元",
        minimum=0,
        expected="a number in 亿元, zero or more",
        expected_zh="以亿元计的非负数",
        help="This year's own contribution income.",
    ),
    Field(
        "other_income_100m",
        "其他收入",
        "Other income",
        "亿元",
        required=False,
        default=0.0,
        minimum=0,
        expected="a number in 亿元, zero or more",
        expected_zh="以亿元计的非负数",
        help="Interest and other income, excluding subsidies and the adjustment.",
    ),
    Field(
        "expenditure_100m",
        "基金支出",
        "Expenditure",
        "亿元",
        minimum=0,
        positive=True,
        expected="a number in 亿元, above zero",
        expected_zh="以亿元计的正数",
        help="This year's pension expenditure.",
    ),
    Field(
        "planned_central_subsidy_100m",
        "已安排中央财政补助",
        "Planned central subsidy",
        "亿元",
        required=False,
        default=0.0,
        minimum=0,
        expected="a number in 亿元, zero or more",
        expected_zh="以亿元计的非负数",
        help="Central fiscal subsidy already budgeted for the unit.",
    ),
    Field(
        "local_subsidy_cap_100m",
        "地方财政补助上限",
        "Local subsidy cap",
        "亿元",
        required=False,
        default=0.0,
        minimum=0,
        expected="a number in 亿元, zero or more",
        expected_zh="以亿元计的非负数",
        help="The most extra local fiscal subsidy the province can add.",
    ),
    Field(
        "min_local_share",
        "地方最低分担比例",
        "Minimum local share",
        required=False,
        default=0.0,
        minimum=0,
        maximum=1,
        fraction=True,
        expected="a fraction between 0 and 1, such as 0.3",
        expected_zh="0 到 1 之间的小数，如 0.3",
        help="Least share of any extra subsidy that local finance must bear.",
    ),
    Field(
        "min_transfer_100m",
        "最低拨付额",
        "Minimum transfer",
        "亿元",
        required=False,
        default=None,
        minimum=0,
        expected="a number in 亿元, zero or more, or blank for none",
        expected_zh="以亿元计的非负数，留空表示不设",
        help="Guardrail: the least the fund must hand down to this unit.",
    ),
    Field(
        "max_transfer_100m",
        "最高拨付额",
        "Maximum transfer",
        "亿元",
        required=False,
        default=None,
        minimum=0,
        expected="a number in 亿元, zero or more, or blank for none",
        expected_zh="以亿元计的非负数，留空表示不设",
        help="Guardrail: the most the fund may hand down to this unit.",
    ),
)

PARAMETER_FIELDS: tuple[Field, ...] = (
    Field(
        "year",
        "年度",
        "Year",
        kind="integer",
        minimum=1990,
        maximum=2100,
        expected="a whole year such as 2020",
        expected_zh="整数年份，如 2020",
        help="The budget year.",
        short="年度",
    ),
    Field(
        "contribution_ratio",
        "上解比例",
        "Contribution ratio",
        minimum=0,
        maximum=CONTRIBUTION_RATIO_MAX,
        positive=True,
        fraction=True,
        expected="a fraction such as 0.04 (for 4%), at most 0.2",
        expected_zh="小数，如 0.04（即 4%），不超过 0.2",
        help="Share of the wage base handed up: 0.03 (2018), 0.035, 0.04, 0.045 (2021).",
        short="上解",
    ),
    Field(
        "wage_base_share",
        "工资基数比例",
        "Wage base share",
        required=False,
        default=WAGE_BASE_SHARE_DEFAULT,
        minimum=0,
        maximum=1,
        positive=True,
        fraction=True,
        expected="a fraction such as 0.9",
        expected_zh="小数，如 0.9",
        help="Share of the average wage used as base.",
        short="基数",
    ),
    Field(
        "reserve_months_floor",
        "最低储备月数",
        "Reserve floor",
        "月",
        required=False,
        default=0.0,
        minimum=0,
        maximum=120,
        expected="a number of months from 0 to 120",
        expected_zh="0 到 120 之间的月数",
        help="Months of expenditure every unit must keep in reserve at year end.",
        short="储备",
    ),
    Field(
        "objective",
        "均衡目标",
        "Equity objective",
        kind="choice",
        required=False,
        default="maximin",
        choices=OBJECTIVES,
        expected="one of maximin, range, mad",
        expected_zh="maximin、range、mad 之一",
        help="maximin raises the worst-off unit; range narrows the spread; mad the mean gap.",
    ),
    Field(
        "max_rule_deviation",
        "规则偏离上限",
        "Max rule deviation",
        required=False,
        default=None,
        minimum=0,
        maximum=1,
        fraction=True,
        expected="a fraction such as 0.2, or blank for free transfers",
        expected_zh="小数，如 0.2；留空表示不设区间",
        help="Band around the statutory allocation; 0 reproduces the rule, blank frees it.",
        short="区间",
    ),
    Field(
        "central_subsidy_budget_100m",
        "中央财政补助预算",
        "Central subsidy budget",
        "亿元",
        required=False,
        default=0.0,
        minimum=0,
        expected="a number in 亿元, zero or more",
        expected_zh="以亿元计的非负数",
        help="The most extra central subsidy available across all units.",
        short="中央",
    ),
    Field(
        "min_return_share",
        "最低返还比例",
        "Minimum return share",
        required=False,
        default=None,
        minimum=0,
        maximum=1,
        fraction=True,
        expected="a fraction such as 0.5, or blank for none",
        expected_zh="小数，如 0.5；留空表示不设",
        help="Guardrail: every unit gets back at least this share of what it hands up.",
        short="返还",
    ),
    Field(
        "standard_contribution_rate",
        "标准征缴率",
        "Standard contribution rate",
        required=False,
        default=None,
        minimum=0,
        maximum=1,
        fraction=True,
        expected="a fraction of the contribution base such as 0.12, or blank for off",
        expected_zh="缴费基数的比例，如 0.12；留空表示不启用",
        help="Incentive mode: the LP sees each unit collecting at least this share of its "
        "contribution base; a unit collecting less covers its own shortfall (caf check "
        "reports every unit's effective rate).",
        short="征缴",
    ),
    Field(
        "plan_end_year",
        "规划末年",
        "Plan end year",
        kind="integer",
        required=False,
        default=None,
        minimum=1990,
        maximum=2100,
        expected="a whole year at or after the base year, such as 2035, or blank for no plan",
        expected_zh="不早于基年的整数年份，如 2035；留空表示不做多年规划",
        help="Multi-year plan: the last year of the horizon (caf plan); blank means no plan.",
        short="末年",
    ),
    *(
        Field(
            key,
            zh,
            en,
            required=False,
            default=0.0,
            minimum=-GROWTH_MAX,
            maximum=GROWTH_MAX,
            fraction=True,
            expected=f"an annual rate as a fraction such as {example} (for "
            f"{float(example) * 100:g}%), between -{GROWTH_MAX:g} and {GROWTH_MAX:g}",
            expected_zh=f"以小数表示的年增长率，如 {example}（即 {float(example) * 100:g}%），"
            f"介于 -{GROWTH_MAX:g} 与 {GROWTH_MAX:g} 之间",
            help=f"Multi-year plan: national default annual growth of {what}; the growth "
            "sheet may set it per unit.",
            short=short,
        )
        for key, zh, en, example, what, short in GROWTH_DRIVER_LABELS
    ),
    yes_no(
        "optimize_ratio_path",
        "优化上解比例路径",
        "Optimise the ratio path",
        help="Multi-year plan: yes lets caf choose the gentlest rising ratio path that keeps "
        "every unit paying (bounded by ratio_max and ratio_step_max); no follows ratio_path.",
        short="路径",
    ),
    Field(
        "ratio_max",
        "上解比例上限",
        "Ratio ceiling",
        required=False,
        default=None,
        minimum=0,
        maximum=CONTRIBUTION_RATIO_MAX,
        positive=True,
        fraction=True,
        expected="a fraction such as 0.06, at most 0.2",
        expected_zh="小数，如 0.06，不超过 0.2",
        help="Optimised ratio path: the highest ratio any year may reach.",
        short="上限",
    ),
    Field(
        "ratio_step_max",
        "上解比例年增幅上限",
        "Largest yearly ratio rise",
        required=False,
        default=None,
        minimum=0,
        maximum=CONTRIBUTION_RATIO_MAX,
        fraction=True,
        expected="a fraction such as 0.005 (half a point a year), at most 0.2",
        expected_zh="小数，如 0.005（每年提高半个百分点），不超过 0.2",
        help="Optimised ratio path: the most the ratio may rise from one year to the next "
        "(it never falls).",
        short="年增",
    ),
)

RISK_FIELDS: tuple[Field, ...] = (
    Field(
        "draws",
        "抽样次数",
        "Draws",
        kind="integer",
        required=False,
        default=200,
        minimum=1,
        maximum=DRAWS_MAX,
        expected=f"a whole number of draws from 1 to {DRAWS_MAX:,}, such as 1000",
        expected_zh=f"1 至 {DRAWS_MAX:,} 之间的整数，如 1000",
        help="Plan under uncertainty (caf risk): how many growth paths to draw and plan.",
        short="抽样",
    ),
    Field(
        "seed",
        "随机种子",
        "Seed",
        kind="integer",
        required=False,
        default=2020,
        minimum=0,
        maximum=2**31 - 1,
        expected="a whole number, zero or more, such as 2020",
        expected_zh="非负整数，如 2020",
        help="Plan under uncertainty: fixes the draws; the same seed gives the same results "
        "on any number of workers.",
        short="种子",
    ),
    Field(
        "shock_correlation",
        "冲击相关系数",
        "Shock correlation",
        required=False,
        default=0.5,
        minimum=0,
        maximum=1,
        fraction=True,
        expected="a fraction from 0 to 1, such as 0.5",
        expected_zh="0 至 1 之间的小数，如 0.5",
        help="Plan under uncertainty: the share of each year's shock common to all units "
        "(ρ: 0 independent provinces, 1 one national shock).",
        short="相关",
    ),
    *(
        Field(
            key,
            zh,
            en,
            required=False,
            default=default,
            minimum=0,
            maximum=GROWTH_SD_MAX,
            fraction=True,
            expected=f"a standard deviation as a fraction such as {default:g} (for "
            f"{default * 100:g}% a year), at most {GROWTH_SD_MAX:g}",
            expected_zh=f"以小数表示的标准差，如 {default:g}（即每年 {default * 100:g}%），"
            f"不超过 {GROWTH_SD_MAX:g}",
            help="Plan under uncertainty: the s.d. of the yearly shock to "
            f"{en.removesuffix(' s.d.').lower()} around its planned rate; 0 makes it certain.",
            short=short,
        )
        for key, zh, en, default, short in GROWTH_SD_LABELS
    ),
)
"""The parameters of the plan under uncertainty (docs/formulation.md)."""

CEILINGS: dict[str, float] = {"亿元": 1e6, "万人": 1e5, "元": 1e7}
"""The largest magnitude accepted per unit: 1,000,000亿元 (far above any province's
pension fund), 100,000万人 (a billion persons) and 10,000,000 yuan a year. A value beyond
these is a typo (a figure in yuan typed into an 亿元 column), and left in it would push
the linear program past what double precision can solve."""


def _with_ceiling(field: Field) -> Field:
    """Bound a number field by its unit's ceiling, on both sides where it may be negative."""
    ceiling = CEILINGS.get(field.unit)
    if field.kind != "number" or ceiling is None or field.maximum is not None:
        return field
    minimum = -ceiling if field.minimum is None else field.minimum
    return replace(field, minimum=minimum, maximum=ceiling)


PROVINCE_FIELDS = tuple(_with_ceiling(f) for f in PROVINCE_FIELDS)
PARAMETER_FIELDS = tuple(_with_ceiling(f) for f in (*PARAMETER_FIELDS, *RISK_FIELDS))
PROVINCE_BY_KEY: dict[str, Field] = {f.key: f for f in PROVINCE_FIELDS}
PARAMETER_BY_KEY: dict[str, Field] = {f.key: f for f in PARAMETER_FIELDS}

NOT_SET = "不设"
"""A scenario label's value for a parameter cleared with ``blank`` (free transfers, no
guardrail)."""

RISK_PARAMETER_KEYS: tuple[str, ...] = tuple(f.key for f in RISK_FIELDS)
"""The parameters only the plan under uncertainty (``caf risk``) reads."""

PLAN_PARAMETER_KEYS: tuple[str, ...] = (
    "plan_end_year",
    *GROWTH_DRIVERS,
    "optimize_ratio_path",
    "ratio_max",
    "ratio_step_max",
    *RISK_PARAMETER_KEYS,
)
"""The parameters only a multi-year plan (or its risk run) reads; a single-year run ignores
them."""

ACCEPT_UNUSUAL = yes_no(
    "accept_unusual_figures",
    "接受异常数据",
    "Accept unusual figures",
    help="yes turns the plausibility errors (a figure 100 times outside anything published) "
    "into warnings, for genuinely unusual data; they stay on every report.",
)
"""Not a policy parameter: it says how the workbook itself is to be read, so it lives in
the parameters sheet (where the decision is recorded with the data) but not in a run's
``Parameters``, and ``--set`` cannot change it."""

PARAMETER_KEY_HEADER = Field("key", "参数", "Key", kind="text")
PARAMETER_VALUE_HEADER = Field("value", "取值", "Value", kind="text")
SCENARIO_NAME_HEADER = Field("scenario", "情景", "Scenario", kind="text")


def normalise_header(text: str) -> str:
    """Fold a header for matching: NFKC (full-width brackets, digits and blanks become
    half-width), trim, collapse blanks, lowercase."""
    folded = unicodedata.normalize("NFKC", text)
    return " ".join(folded.split()).casefold()


def header_aliases(fields: tuple[Field, ...]) -> dict[str, str]:
    """Map every accepted spelling of a header (key, full label, zh, en) to its key."""
    aliases: dict[str, str] = {}
    for f in fields:
        for spelling in (f.key, f.label, f.zh, f"{f.zh} {f.en}", f.en if f.unit == "" else ""):
            if spelling:
                aliases.setdefault(normalise_header(spelling), f.key)
    return aliases


def is_ignored_header(text: str) -> bool:
    """Planners may keep notes beside the data: headers starting with #, 备注 or note."""
    folded = normalise_header(text)
    return folded.startswith(("#", "备注", "note"))
