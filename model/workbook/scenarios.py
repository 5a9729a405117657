"""Policy parameters and the scenarios that override them.

One ``Parameters`` object fully describes a run's policy. The ``parameters`` sheet gives
the base; the ``scenarios`` sheet, ``--set`` and ``--sweep`` give overrides. Every value,
whichever way it arrives, is checked by ``cells.coerce_cell`` against the data dictionary,
so a bad value reads the same in the CLI, the workbook and the web form.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass, replace
from typing import Any

from model.errors import InputError, Problem
from model.schema import NOT_SET, PARAMETER_BY_KEY, Field
from model.workbook.cells import coerce_cell

BASE_SCENARIO = "base"
MAX_SWEEP_SCENARIOS = 10_000
"""The most scenarios a typed sweep may make on the command line: far more than a study
needs, far fewer than ten short lists can multiply to (10¹⁰ from 4,000 characters)."""


@dataclass(frozen=True)
class Parameters:
    """The policy of one run (see docs/formulation.md §3 and docs/outputs.md)."""

    year: int
    contribution_ratio: float
    wage_base_share: float = 0.9
    reserve_months_floor: float = 0.0
    objective: str = "maximin"
    max_rule_deviation: float | None = None
    central_subsidy_budget_100m: float = 0.0
    min_return_share: float | None = None
    standard_contribution_rate: float | None = None
    plan_end_year: int | None = None
    wage_growth: float = 0.0
    insured_growth: float = 0.0
    retiree_growth: float = 0.0
    benefit_growth: float = 0.0
    optimize_ratio_path: str = "no"
    ratio_max: float | None = None
    ratio_step_max: float | None = None
    draws: int = 200
    seed: int = 2020
    shock_correlation: float = 0.5
    wage_growth_sd: float = 0.015
    insured_growth_sd: float = 0.01
    retiree_growth_sd: float = 0.005
    benefit_growth_sd: float = 0.01

    @property
    def optimizes_ratio_path(self) -> bool:
        """Whether the plan chooses the ratio path (``optimize_ratio_path = yes``)."""
        return self.optimize_ratio_path == "yes"

    def as_dict(self) -> dict[str, Any]:
        """The parameters as a plain mapping, in data-dictionary order."""
        return asdict(self)

    def with_overrides(self, overrides: dict[str, Any]) -> Parameters:
        """A copy with already-coerced values replaced."""
        return replace(self, **overrides)


@dataclass(frozen=True)
class Scenario:
    """A named set of parameters to solve."""

    name: str
    parameters: Parameters
    overrides: tuple[tuple[str, Any], ...] = ()


def parse_assignment(text: str, origin: str) -> tuple[str, str]:
    """Split ``key=value`` from ``--set`` or ``--sweep``; refuse unknown keys."""
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise InputError(
            [
                Problem(
                    origin,
                    f'found "{text}"',
                    "write it as key=value",
                    what_zh=f"发现“{text}”",
                    fix_zh="请按 key=value 的格式书写",
                )
            ]
        )
    if key not in PARAMETER_BY_KEY:
        raise InputError([unknown_key(origin, key)])
    return key, value.strip()


def unknown_key(origin: str, key: str) -> Problem:
    """The problem of a parameter key the data dictionary does not know."""
    return Problem(
        origin,
        f'unknown parameter key "{key}"',
        f"use one of {', '.join(PARAMETER_BY_KEY)}",
        what_zh=f"发现未知的参数名“{key}”",
        fix_zh=f"请使用以下参数名之一：{'、'.join(PARAMETER_BY_KEY)}",
    )


def apply_overrides(base: Parameters, overrides: dict[str, object], origin: str) -> Parameters:
    """Check raw override values and apply them to ``base``.

    Raises:
        InputError: naming ``origin`` and the key for every bad value.
    """
    problems: list[Problem] = []
    clean: dict[str, Any] = {}
    for key, raw in overrides.items():
        field = PARAMETER_BY_KEY.get(key)
        if field is None:
            problems.append(unknown_key(origin, key))
            continue
        value, error = coerce_cell(field, raw)
        if error is not None:
            # the key is in the location, so the message is the fault's own words
            problems.append(
                Problem(f"{origin} {key}", error.what, error.fix, error.what_zh, error.fix_zh)
            )
        else:
            clean[key] = value
    if problems:
        raise InputError(problems)
    return base.with_overrides(clean)


def sweep_scenarios(
    base: Parameters,
    sweeps: list[str],
    limit: int = MAX_SWEEP_SCENARIOS,
    where: str = "--sweep",
) -> list[Scenario]:
    """The base scenario plus the cartesian product of every ``key=v1,v2,...`` sweep.

    Every item is checked once, and every problem of every sweep is raised together: a bad
    value, an empty item (``0,,0.2`` or a trailing comma, which would otherwise run the base
    again under another name) and a sweep with no values. ``blank`` (or 空, none) is a value:
    ``max_rule_deviation=0,0.2,blank`` sweeps free transfers too. A value written twice
    (``0.04,4%``) is solved once. Each scenario keeps the checked values it sets as its
    ``overrides`` and is named by ``scenario_labels``.

    The count (the base plus the product of the axes' sizes) is known before any scenario
    is built, and a sweep of more than ``limit`` scenarios is refused there, located at
    ``where``.
    """
    axes: list[tuple[str, list[Any]]] = []
    problems: list[Problem] = []
    for text in sweeps:
        key, values = parse_assignment(text, f"--sweep {text}")
        axis_problems = _sweep_item_problems(text, values)
        checked = _axis_values(base, key, values, axis_problems)
        problems.extend(axis_problems)
        axes.append((key, checked))
    if problems:
        raise InputError(problems)
    count = 1 + math.prod(len(values) for _, values in axes) if axes else 1
    if count > limit:
        raise InputError([too_many_scenarios(count, limit, where)])
    if not axes:
        return [Scenario(BASE_SCENARIO, base)]
    combos = [
        tuple(zip((key for key, _ in axes), values, strict=True))
        for values in itertools.product(*(values for _, values in axes))
    ]
    labels = scenario_labels(base, combos)
    scenarios = [Scenario(BASE_SCENARIO, base)]
    for combo, label in zip(combos, labels, strict=True):
        scenarios.append(Scenario(label, base.with_overrides(dict(combo)), combo))
    return scenarios


def _axis_values(base: Parameters, key: str, values: str, problems: list[Problem]) -> list[Any]:
    """An axis's distinct checked values, in order; each bad item's problem goes to
    ``problems``."""
    checked: list[Any] = []
    for item in values.split(","):
        if not item.strip():
            continue
        try:
            value = getattr(apply_overrides(base, {key: item.strip()}, "--sweep"), key)
        except InputError as error:
            problems.extend(error.problems)
            continue
        if value not in checked:
            checked.append(value)
    return checked


def sweep_size(base: Parameters, sweeps: list[str]) -> int:
    """How many scenarios ``sweep_scenarios`` would make (the base included), counted from
    the axes' sizes without building any; bad items and unknown keys count as nothing, so
    a sweep can be refused for its size before its other problems are listed."""
    count = 1
    for text in sweeps:
        key, _, values = text.partition("=")
        if key.strip() not in PARAMETER_BY_KEY:
            continue
        count *= max(1, len(_axis_values(base, key.strip(), values, [])))
    return count + 1 if sweeps else 1


def too_many_scenarios(count: int, limit: int, where: str) -> Problem:
    """The problem of a sweep of ``count`` scenarios where at most ``limit`` are allowed."""
    return Problem(
        where,
        f"found {count:,} scenarios, over the limit of {limit:,}",
        "sweep fewer values, or split the study into several comparisons",
        what_zh=f"发现{count:,}个情景，超过{limit:,}个的上限",
        fix_zh="请减少参数组合的取值，或将研究拆分为几次比较",
    )


def _sweep_item_problems(text: str, values: str) -> list[Problem]:
    """The problems of a sweep's list itself: no values, or an empty item (located by its
    position, so ``0,,0.2`` points at the second comma's gap)."""
    items = values.split(",")
    where = f"--sweep {text}"
    if all(not item.strip() for item in items):
        return [
            Problem(
                where,
                "found no values",
                "list values as key=v1,v2",
                what_zh="未发现任何取值",
                fix_zh="请按 key=v1,v2 的格式列出取值",
            )
        ]
    return [
        Problem(
            where,
            f"found an empty value (value {position} of {len(items)})",
            "remove the extra comma, or write blank for no value (free transfers, no guardrail)",
            what_zh=f"第 {position} 个取值为空（共 {len(items)} 个）",
            fix_zh="请删去多余的逗号；如要不设该参数（如不设区间），请写“空”或 blank",
        )
        for position, item in enumerate(items, start=1)
        if not item.strip()
    ]


LABEL_SEPARATOR = " · "
"""Between the parts of a swept scenario's label: the middle dot reads in both languages."""


def scenario_labels(base: Parameters, combos: list[tuple[tuple[str, Any], ...]]) -> list[str]:
    """Short, unique names for swept scenarios, built from what differs from the base.

    Each label lists, in the order the sweeps were given, every swept parameter that some
    scenario sets to a value other than the base's, as its word (``Field.short``)
    and its value: ``上解 4.5% · 储备 3月 · 区间 20% · range``. Fractions read as percents,
    months with 月, money with 亿, a cleared value as 不设. When no swept value differs from
    the base, every swept parameter is listed. Two labels that still read alike (values
    equal to many digits) are told apart by `` (2)``, `` (3)`` in sweep order; a label is
    never ``base`` nor cut short. The full values stay in each scenario's ``overrides``.
    """
    if not combos:
        return []
    keys = [key for key, _ in combos[0]]
    defaults = base.as_dict()
    shown = {key for combo in combos for key, value in combo if value != defaults[key]}
    shown = shown or set(keys)
    labels: list[str] = []
    seen = {BASE_SCENARIO}
    for combo in combos:
        label = LABEL_SEPARATOR.join(_label_part(k, v) for k, v in combo if k in shown)
        unique, counter = label, 2
        while unique in seen:
            unique = f"{label} ({counter})"
            counter += 1
        seen.add(unique)
        labels.append(unique)
    return labels


def _label_part(key: str, value: Any) -> str:
    """``上解 4.5%``: a parameter's word and its value as a scenario label shows them."""
    field = PARAMETER_BY_KEY[key]
    text = value_text(field, value)
    return f"{field.short} {text}" if field.short else text


def value_text(field: Field, value: Any) -> str:
    """A checked value as a label shows it: ``4.5%``, ``3月``, ``200亿``, ``2035``, 不设."""
    if value is None:
        return NOT_SET
    if field.kind in ("text", "choice", "integer"):
        return str(value)
    if field.fraction:
        return f"{_digits(value * 100)}%"
    suffix = {"月": "月", "亿元": "亿"}.get(field.unit, field.unit)
    return f"{_digits(value)}{suffix}"


def _digits(number: float) -> str:
    """A number with no float noise (0.035 × 100 reads 3.5) and no needless zeros."""
    return f"{round(number, 9):.12g}"
