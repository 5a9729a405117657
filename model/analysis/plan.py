"""The multi-year plan from workbook to ``Plan``: project, build, solve, extract.

A ``Plan`` holds every figure a plan report shows, computed once: unit × year matrices of
the decisions and balances, the national table by year, the ratio path, and the depletion
years (耗尽年份) of every unit and of the nation under three regimes:

- **before**: no adjustment and no extra subsidy, ``opening + Σ F`` (the unit's own money);
- **rule**: the statutory rule on the plan's ratio path, no extra subsidy;
- **plan**: the first year the plan cannot pay in full (an unfunded gap); never otherwise.

A year "depletes" a unit when its balance at year end is below zero (beyond round-off); a
unit still in deficit at the end of the base year depletes in the base year. The nation's
balance with no extra subsidy is the same before and under the rule (the fund only
redistributes), so it has one depletion year, and the first year of a national current
deficit (income + other income + planned central subsidy < expenditure) is reported beside
it.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from model.analysis.results import clean
from model.errors import InputError
from model.lp.formulation import LEVEL_GAP
from model.lp.guardrails import check_transfer_bounds, has_guardrails, transfer_bounds
from model.lp.plan import PlanCoefficients, build_plan_model, frame_of, plan_coefficients
from model.lp.projection import Projection, project
from model.lp.rule import statutory_allocation
from model.lp.solve import LevelOutcome, LexicographicSolver, negligible
from model.schema import MONTHS_PER_YEAR, PARAMETER_FIELDS, PARAMETERS_SHEET
from model.vocabulary import STATUS_FULL, STATUS_GAP
from model.workbook.horizon import plan_problems
from model.workbook.reader import FundData, Source, parameter_cell
from model.workbook.scenarios import Parameters, Scenario

UNIT_FIGURES: tuple[str, ...] = (
    "contribution_100m",
    "rule_allocation_100m",
    "allocation_100m",
    "net_transfer_100m",
    "local_subsidy_100m",
    "central_subsidy_100m",
    "subsidy_100m",
    "unfunded_gap_100m",
    "closing_balance_100m",
    "months_optimized",
    "before_balance_100m",
    "rule_balance_100m",
    "expenditure_100m",
)
"""The unit × year matrices a plan carries (each a frame: years as rows, codes as columns)."""

REGIMES: tuple[str, ...] = ("before", "rule", "plan")
DEPLETION_KEYS: tuple[str, ...] = tuple(f"depletion_year_{regime}" for regime in REGIMES)

PLAN_YEAR_JSON_KEYS: tuple[str, ...] = (
    "fund_100m",
    "local_subsidy_100m",
    "central_subsidy_100m",
    "unfunded_gap_100m",
    "national_closing_100m",
    "national_current_balance_100m",
)
"""The national figures of each year in ``caf plan --json`` (besides ``year``)."""

PLAN_UNIT_YEAR_JSON_KEYS: tuple[str, ...] = (
    "allocation_100m",
    "rule_allocation_100m",
    "local_subsidy_100m",
    "central_subsidy_100m",
    "unfunded_gap_100m",
    "closing_balance_100m",
    "months_optimized",
)
"""Each unit's figures of each year in ``caf plan --json`` (besides ``year``)."""


@dataclass(frozen=True)
class Plan:
    """A solved multi-year plan.

    Attributes:
        scenario, parameters, source: what was solved, from which file.
        units: the base year's units (names, region), indexed by code.
        years: the base year to the plan's end.
        ratios: the ratio of each year (the fixed path, or the one the solver chose).
        optimised: whether the solver chose the ratio path.
        figures: name (``UNIT_FIGURES``) → frame, years × unit codes; money in 亿元, money
            below the model's round-off exactly 0.
        national: by year: the ratio, the fund, money moved, subsidies, gap, the national
            closing balance (plan), the balance with no extra subsidy, the current balance,
            the lowest months and the number of units with a gap.
        depletion: by unit code: ``depletion_year_before``, ``depletion_year_rule``,
            ``depletion_year_plan`` (nullable integers: NA is never within the horizon).
        national_depletion_year: the nation's, with no extra subsidy (None: never).
        first_current_deficit_year: the first year of a national current deficit (None: never).
        levels: the lexicographic levels, in order.
        round_off: the money threshold below which a figure is reported as 0.
        solver: the solver's name and version.
        timings: seconds per stage.
    """

    scenario: str
    parameters: Parameters
    source: Source
    units: pd.DataFrame
    years: tuple[int, ...]
    ratios: tuple[float, ...]
    optimised: bool
    figures: dict[str, pd.DataFrame]
    national: pd.DataFrame
    depletion: pd.DataFrame
    national_depletion_year: int | None
    first_current_deficit_year: int | None
    levels: tuple[LevelOutcome, ...]
    round_off: float
    solver: str
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def status(self) -> str:
        """``full_payment`` or ``unfunded_gap`` (any unit, any year)."""
        return STATUS_GAP if self.gap_years() else STATUS_FULL

    def gap_years(self) -> list[int]:
        """The years in which some unit cannot pay in full."""
        gap = self.national["unfunded_gap_100m"]
        return [int(y) for y in gap.index[gap > 0]]

    def totals(self) -> dict[str, float]:
        """The horizon's totals (亿元): fund, local and central subsidy, gap."""
        n = self.national
        return {
            key: float(n[key].sum())
            for key in ("fund_100m", "local_subsidy_100m", "central_subsidy_100m")
        } | {"unfunded_gap_100m": float(n["unfunded_gap_100m"].sum())}

    def to_json(self) -> dict[str, Any]:
        """The plan's JSON result (docs/outputs.md), with exactly its keys."""
        n = self.national
        years = [
            {"year": int(year)} | {key: float(n.at[year, key]) for key in PLAN_YEAR_JSON_KEYS}
            for year in self.years
        ]
        units = []
        for code in self.units.index:
            depletion = self.depletion.loc[code]
            record: dict[str, Any] = {"code": str(code), "name_zh": self.units.at[code, "name_zh"]}
            record |= {key: _year_or_none(depletion[key]) for key in DEPLETION_KEYS}
            record["years"] = [
                {"year": int(year)}
                | {key: float(self.figures[key].at[year, code]) for key in PLAN_UNIT_YEAR_JSON_KEYS}
                for year in self.years
            ]
            units.append(record)
        return {
            "scenario": self.scenario,
            "status": self.status,
            "parameters": self.parameters.as_dict(),
            "ratio_path": [
                {"year": int(y), "contribution_ratio": float(r)}
                for y, r in zip(self.years, self.ratios, strict=True)
            ],
            "years": years,
            "units": units,
            "national": {
                "depletion_year": self.national_depletion_year,
                "first_current_deficit_year": self.first_current_deficit_year,
            },
        }

    def depleted_units(self) -> dict[str, int]:
        """How many units run out within the horizon, by ``DEPLETION_KEYS`` key."""
        return {key: int(self.depletion[key].notna().sum()) for key in DEPLETION_KEYS}

    def strain_years(self, count: int = 3) -> list[int]:
        """The years with the most strain: the most subsidy and gap, then the lowest months."""
        n = self.national
        need = n["local_subsidy_100m"] + n["central_subsidy_100m"] + n["unfunded_gap_100m"]
        order = sorted(n.index, key=lambda y: (-float(need[y]), float(n.at[y, "lowest_months"])))
        return [int(y) for y in order[:count]]


def solve_plan(data: FundData, scenario: Scenario) -> Plan:
    """Project ``data`` to the scenario's horizon, solve every level, and extract the plan.

    Raises:
        InputError: the scenario's plan parameters contradict each other or the sheets
            (a falling ratio path, a ceiling below the starting ratio, no horizon).
        SolverFailure: HiGHS did not reach an optimum (never expected: the LP is elastic).
    """
    params = scenario.parameters
    problems = plan_problems(params, data.horizon, *problem_origin(scenario, data.source))
    if problems:
        raise InputError(problems)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    projection = project(data.units, params, data.horizon)
    check_plan_guardrails(projection, params, data.source, scenario.name)
    coeffs = plan_coefficients(projection, params)
    solver = LexicographicSolver(build_plan_model(coeffs, params.objective))
    timings["build"] = time.perf_counter() - started
    outcome = solver.solve(coeffs.money_scale)
    for level in outcome.levels:
        timings[f"solve_{level.name}"] = level.seconds
    started = time.perf_counter()
    plan = extract_plan(
        data, scenario, projection, coeffs, outcome.values, outcome.levels, outcome.solver
    )
    timings["extract"] = time.perf_counter() - started
    plan.timings.update(timings)
    return plan


def check_plan_guardrails(
    projection: Projection, parameters: Parameters, source: Source, scenario: str
) -> None:
    """Refuse guardrails that cannot all hold in some year of a fixed ratio path, as a
    single run refuses them, naming the cells and the first year it happens (the
    projected bounds and the fund move year by year, so a bound that holds in the base
    year can fail later). An optimised path raises its ratio where that helps, so it is
    not checked at the fixed ratios.

    Raises:
        InputError: the first year's contradictory bounds.
    """
    if parameters.optimizes_ratio_path:
        return
    for year, frame, ratio in zip(
        projection.years, projection.units, projection.ratios, strict=True
    ):
        params = dataclasses.replace(parameters, contribution_ratio=ratio)
        if not has_guardrails(frame, params):
            continue  # a projection sheet may set a guardrail in a later year only
        rule = statutory_allocation(frame, params)
        contribution = rule.contribution_100m.to_numpy(dtype=float)
        bounds = transfer_bounds(
            frame, params, contribution, rule.allocation_100m.to_numpy(dtype=float), rule.fund_100m
        )
        check_transfer_bounds(frame, params, bounds, rule.fund_100m, source, f"{scenario}, {year}")


def problem_origin(scenario: Scenario, source: Source) -> tuple[str, dict[str, str]]:
    """Where a problem with the scenario's parameters is to be located: the parameters
    sheet's cells for the base, the scenario (its row, or ``--set``) otherwise."""
    if not scenario.overrides:
        return PARAMETERS_SHEET, {f.key: parameter_cell(f.key, source) for f in PARAMETER_FIELDS}
    return f"scenario {scenario.name}", {}


def extract_plan(
    data: FundData,
    scenario: Scenario,
    projection: Projection,
    coeffs: PlanCoefficients,
    values: dict[str, np.ndarray],
    levels: tuple[LevelOutcome, ...],
    solver: str = "",
) -> Plan:
    """Turn the solved decisions into the plan's figures (results compute, reports lay out)."""
    shape = coeffs.shape
    threshold = negligible(coeffs.money_scale)

    def decision(name: str) -> np.ndarray:
        return clean(np.asarray(values[name], dtype=float).reshape(shape), threshold)

    ratio = np.asarray(values["ratio"], dtype=float)
    ratio = np.where(np.abs(ratio - coeffs.fixed_ratios) <= 1e-9, coeffs.fixed_ratios, ratio)
    contribution = ratio[:, None] * coeffs.base
    rule = ratio[:, None] * coeffs.rule_share
    transfer, local, central = (
        decision("transfer"),
        decision("local_subsidy"),
        decision("central_subsidy"),
    )
    fund_has_gap = next(lv.objective for lv in levels if lv.name == LEVEL_GAP) > threshold
    gap = decision("unfunded_gap") if fund_has_gap else np.zeros(shape)
    # Incentive mode: each unit's own finance covers its collection shortfall from what the
    # LP left of its cap; what it cannot cover is its own gap (docs/formulation.md §3).
    committed = clean(
        np.minimum(coeffs.shortfall, np.maximum(coeffs.local_cap - local, 0.0)), threshold
    )
    own_gap = clean(coeffs.shortfall - committed, threshold)
    real_flow = coeffs.flow - coeffs.shortfall
    closing = np.asarray(values["closing"], dtype=float).reshape(shape)
    closing = clean(closing - np.cumsum(own_gap, axis=0), threshold)
    before = coeffs.opening + np.cumsum(real_flow, axis=0)
    rule_balance = coeffs.opening + np.cumsum(real_flow - contribution + rule, axis=0)
    money = {
        "contribution_100m": contribution,
        "rule_allocation_100m": rule,
        "allocation_100m": transfer,
        "net_transfer_100m": transfer - contribution,
        "local_subsidy_100m": local + committed,
        "central_subsidy_100m": central,
        "subsidy_100m": local + committed + central,
        "unfunded_gap_100m": gap + own_gap,
        "closing_balance_100m": closing,
        "before_balance_100m": before,
        "rule_balance_100m": rule_balance,
    }
    reported = {key: clean(np.asarray(v, dtype=float), threshold) for key, v in money.items()}
    reported["months_optimized"] = (
        MONTHS_PER_YEAR * reported["closing_balance_100m"] / (coeffs.expenditure)
    )
    reported["expenditure_100m"] = coeffs.expenditure
    figures = {key: frame_of(coeffs, reported[key]) for key in UNIT_FIGURES}
    years = coeffs.years
    depletion = pd.DataFrame(
        {
            # Reported balances: a balance that is zero but for round-off is not depleted.
            DEPLETION_KEYS[0]: _first_year(reported["before_balance_100m"] < 0, years),
            DEPLETION_KEYS[1]: _first_year(reported["rule_balance_100m"] < 0, years),
            DEPLETION_KEYS[2]: _first_year(reported["unfunded_gap_100m"] > 0, years),
        },
        index=pd.Index(coeffs.codes, name="code"),
    ).astype("Int64")
    income = real_flow + coeffs.expenditure
    national = _national(reported, ratio, coeffs, before, income, years)
    national_before = clean(before.sum(axis=1), threshold)
    current = clean(income.sum(axis=1) - coeffs.expenditure.sum(axis=1), threshold)
    return Plan(
        scenario=scenario.name,
        parameters=scenario.parameters,
        source=data.source,
        units=data.units[["name_zh", "name_en", "region"]].copy(),
        years=years,
        ratios=tuple(float(r) for r in ratio),
        optimised=coeffs.optimised,
        figures=figures,
        national=national,
        depletion=depletion,
        national_depletion_year=_first(national_before < 0, years),
        first_current_deficit_year=_first(current < 0, years),
        levels=levels,
        round_off=threshold,
        solver=solver,
    )


def _year_or_none(value: object) -> int | None:
    return None if pd.isna(value) else int(value)  # type: ignore[call-overload]


def _first_year(mask: np.ndarray, years: tuple[int, ...]) -> list[int | None]:
    """Per unit (column), the first year (row) where ``mask`` holds, or None."""
    return [_first(mask[:, p], years) for p in range(mask.shape[1])]


def _first(mask: np.ndarray, years: tuple[int, ...]) -> int | None:
    hits = np.flatnonzero(mask)
    return int(years[hits[0]]) if len(hits) else None


def _national(
    reported: dict[str, np.ndarray],
    ratio: np.ndarray,
    coeffs: PlanCoefficients,
    before: np.ndarray,
    income: np.ndarray,
    years: tuple[int, ...],
) -> pd.DataFrame:
    """The national table by year."""
    months = reported["months_optimized"]
    total_expenditure = coeffs.expenditure.sum(axis=1)
    closing = reported["closing_balance_100m"].sum(axis=1)
    table: dict[str, Any] = {
        "contribution_ratio": ratio,
        "fund_100m": reported["contribution_100m"].sum(axis=1),
        "moved_100m": np.abs(reported["net_transfer_100m"]).sum(axis=1) / 2.0,
        "local_subsidy_100m": reported["local_subsidy_100m"].sum(axis=1),
        "central_subsidy_100m": reported["central_subsidy_100m"].sum(axis=1),
        "unfunded_gap_100m": reported["unfunded_gap_100m"].sum(axis=1),
        "national_closing_100m": closing,
        "national_before_100m": before.sum(axis=1),
        "national_current_balance_100m": income.sum(axis=1) - total_expenditure,
        "expenditure_100m": total_expenditure,
        "national_months": MONTHS_PER_YEAR * closing / total_expenditure,
        "lowest_months": months.min(axis=1),
        "units_with_gap": (reported["unfunded_gap_100m"] > 0).sum(axis=1),
    }
    return pd.DataFrame(table, index=pd.Index(list(years), name="year"))
