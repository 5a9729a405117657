"""The data dictionary: every sheet, key, bilingual label, unit, default and bound.

This is the single place that knows what a workbook may contain. The reader, the
template writer, the report headers, the web form and the README's input table are all
derived from it, so a new column is added here and nowhere else.

Money is in 亿元 (100 million yuan), people in 万人 (10 thousand persons), wages in yuan
per year, ratios as fractions and reserves in months of expenditure.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

Kind = Literal["text", "number", "integer", "choice"]

PROVINCES_SHEET = "provinces"
PARAMETERS_SHEET = "parameters"
SCENARIOS_SHEET = "scenarios"
INSTRUCTIONS_SHEET = "instructions"

REGIONS: tuple[str, ...] = ("East", "Central", "West", "Northeast")
OBJECTIVES: tuple[str, ...] = ("maximin", "range", "mad")

WAGE_BASE_SHARE_DEFAULT = 0.9
MONTHS_PER_YEAR = 12.0


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
        help: one line for the template's instructions sheet.
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
    help: str = ""

    @property
    def label(self) -> str:
        """The bilingual template header, Chinese first: ``离退休人数 Retirees (万人)``."""
        unit = f" ({self.unit})" if self.unit else ""
        return f"{self.zh} {self.en}{unit}"


PROVINCE_FIELDS: tuple[Field, ...] = (
    Field(
        "code",
        "代码",
        "Code",
        kind="text",
        expected="a unique code such as 44",
        help="Unique id of the pooling unit, read as text (leading zeros are kept).",
    ),
    Field(
        "name_zh",
        "名称",
        "Name (Chinese)",
        kind="text",
        expected="the unit's Chinese name",
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
        help="English name, for example Guangdong.",
    ),
    Field(
        "region",
        "地区",
        "Region",
        kind="choice",
        choices=REGIONS,
        expected="one of East, Central, West, Northeast",
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
        help="Approved retirees; the fund is handed down in proportion to these.",
    ),
    Field(
        "opening_balance_100m",
        "年初累计结余",
        "Opening balance",
        "亿元",
        expected="a number in 亿元 (may be negative)",
        help="Accumulated balance at the start of the year; negative when in deficit.",
    ),
    Field(
        "contribution_income_100m",
        "征缴收入",
        "Contribution income",
        "亿元",
        minimum=0,
        expected="a number in 亿元, zero or more",
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
        help="Least share of any extra subsidy that local finance must bear.",
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
        help="The budget year.",
    ),
    Field(
        "contribution_ratio",
        "上解比例",
        "Contribution ratio",
        minimum=0,
        maximum=1,
        positive=True,
        fraction=True,
        expected="a fraction such as 0.04 (for 4%)",
        help="Share of the wage base handed up: 0.03 (2018), 0.035, 0.04, 0.045 (2021).",
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
        help="Share of the average wage used as base.",
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
        help="Months of expenditure every unit must keep in reserve at year end.",
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
        help="Band around the statutory allocation; 0 reproduces the rule, blank frees it.",
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
        help="The most extra central subsidy available across all units.",
    ),
)

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
PARAMETER_FIELDS = tuple(_with_ceiling(f) for f in PARAMETER_FIELDS)
PROVINCE_BY_KEY: dict[str, Field] = {f.key: f for f in PROVINCE_FIELDS}
PARAMETER_BY_KEY: dict[str, Field] = {f.key: f for f in PARAMETER_FIELDS}

PARAMETER_KEY_HEADER = Field("key", "参数", "Key", kind="text")
PARAMETER_VALUE_HEADER = Field("value", "取值", "Value", kind="text")
SCENARIO_NAME_HEADER = Field("scenario", "情景", "Scenario", kind="text")


def normalise_header(text: str) -> str:
    """Fold a header for matching: trim, collapse blanks, lowercase, full-width brackets."""
    folded = text.replace("（", "(").replace("）", ")").replace("\u3000", " ")
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
