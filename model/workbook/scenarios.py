"""Policy parameters and the scenarios that override them.

One ``Parameters`` object fully describes a run's policy. The ``parameters`` sheet gives
the base; the ``scenarios`` sheet, ``--set`` and ``--sweep`` give overrides. Every value,
whichever way it arrives, is checked by ``cells.coerce_cell`` against the data dictionary,
so a bad value reads the same in the CLI, the workbook and the web form.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass, replace
from typing import Any

from model.errors import InputError, Problem
from model.schema import PARAMETER_BY_KEY
from model.workbook.cells import coerce_cell

BASE_SCENARIO = "base"


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


def sweep_scenarios(base: Parameters, sweeps: list[str]) -> list[Scenario]:
    """The base scenario plus the cartesian product of every ``key=v1,v2,...`` sweep.

    Names read ``contribution_ratio=0.045, objective=range`` so a planner can tell the
    rows apart without a legend.
    """
    axes: list[tuple[str, list[str]]] = []
    for text in sweeps:
        key, values = parse_assignment(text, f"--sweep {text}")
        items = [v.strip() for v in values.split(",") if v.strip() != ""]
        if not items:
            raise InputError(
                [
                    Problem(
                        f"--sweep {text}",
                        "found no values",
                        "list values as key=v1,v2",
                        what_zh="未发现任何取值",
                        fix_zh="请按 key=v1,v2 的格式列出取值",
                    )
                ]
            )
        axes.append((key, items))
    scenarios = [Scenario(BASE_SCENARIO, base)]
    seen = {BASE_SCENARIO}
    for combo in itertools.product(*(items for _, items in axes)):
        raw = {key: value for (key, _), value in zip(axes, combo, strict=True)}
        params = apply_overrides(base, dict(raw), "--sweep")
        name = ", ".join(f"{k}={v}" for k, v in raw.items())
        if name in seen:
            continue
        seen.add(name)
        scenarios.append(Scenario(name, params, tuple(raw.items())))
    return scenarios
