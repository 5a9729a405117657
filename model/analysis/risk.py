"""The plan under uncertainty: many growth draws of one plan, each solved, summarised as
the odds a ministry weighs (docs/formulation.md, the plan under uncertainty).

Two halves, so the work can travel to any worker:

- ``solve_draws`` is the task. It takes one scenario and a run of draw numbers, builds the
  plan's model once and re-solves it in place for every draw (``LexicographicSolver.load``
  rewrites the bounds and the data-dependent matrix entries), and returns a ``DrawBatch``:
  a few numbers per draw, not whole plans. Draw ``n`` depends on (seed, n) only
  (``lp.shocks``), and every draw, the first included, is loaded into the same model built
  from the planned rates, so a draw's LP is the same whichever batch it falls in.
- ``summarise`` turns a scenario's batches into a ``ScenarioRisk`` (probabilities,
  percentiles, fan bands), and ``RiskResult`` ranks the scenarios.

A draw whose projection or LP fails (a growth path with a negative expenditure, a solver
failure) is counted and reported with its reason, never dropped silently; probabilities are
over the draws that solved.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from model.analysis.plan import check_plan_guardrails, extract_plan, problem_origin
from model.errors import InputError
from model.lp.plan import build_plan_model, plan_coefficients
from model.lp.projection import project
from model.lp.shocks import SD_KEYS, ShockModel
from model.lp.solve import LexicographicSolver, SolverFailure
from model.workbook.horizon import plan_problems
from model.workbook.reader import FundData, Source
from model.workbook.scenarios import Parameters, Scenario

NEVER = -1
"""A depletion year index meaning "not within the horizon"."""
REGIMES: tuple[str, ...] = ("before", "rule", "plan")
"""Depletion regimes, as in ``analysis.plan``: no adjustment, the statutory rule, the plan
(its first year with an unfunded gap)."""
PERCENTILES: tuple[int, ...] = (5, 50, 95)
"""The subsidy percentiles reported."""
FAN: tuple[int, ...] = (5, 25, 50, 75, 95)
"""The bands of the national balance's fan chart."""
MONEY: tuple[str, ...] = (
    "local_subsidy_100m",
    "central_subsidy_100m",
    "total_subsidy_100m",
    "unfunded_gap_100m",
)
"""The horizon's totals of each draw (亿元) whose distribution is reported."""


@dataclass(frozen=True)
class DrawBatch:
    """What one task returns: a few numbers per draw of one scenario.

    Attributes:
        scenario: the scenario's position in the run.
        draws: the draw numbers, in order.
        depletion: regime → (draws × units) int16: the index of the first year the unit is
            depleted (``NEVER`` if not); rows of failed draws are ``NEVER`` and ignored.
        money: ``MONEY`` key → (draws,) horizon totals.
        national_plan: (draws × years) the national closing balance under the plan.
        national_before: (draws × years) the national balance with no extra subsidy.
        national_depletion: (draws,) the index of the year the nation runs out with no extra
            subsidy, or ``NEVER``.
        failed: (draw number, reason) of every draw that did not solve.
        seconds: the task's wall-clock time; solve_seconds: the part spent in HiGHS.
    """

    scenario: int
    draws: tuple[int, ...]
    depletion: dict[str, np.ndarray]
    money: dict[str, np.ndarray]
    national_plan: np.ndarray
    national_before: np.ndarray
    national_depletion: np.ndarray
    failed: tuple[tuple[int, str], ...]
    seconds: float = 0.0
    solve_seconds: float = 0.0

    @property
    def solved(self) -> np.ndarray:
        """A mask of the draws that solved."""
        bad = {n for n, _ in self.failed}
        return np.array([n not in bad for n in self.draws], dtype=bool)


def check_risk_scenario(data: FundData, scenario: Scenario) -> None:
    """Refuse, before any work is sent out, a scenario whose plan cannot be made: the
    checks of ``caf plan`` (a horizon, a ratio path that does not fall, guardrails that
    hold at the planned rates).

    Raises:
        InputError: located problems, as ``caf plan`` reports them.
    """
    params = scenario.parameters
    problems = plan_problems(params, data.horizon, *problem_origin(scenario, data.source))
    if problems:
        raise InputError(problems)
    projection = project(data.units, params, data.horizon)
    check_plan_guardrails(projection, params, data.source, scenario.name)


def solve_draws(data: FundData, scenario: Scenario, index: int, draws: range) -> DrawBatch:
    """Solve the plan of ``scenario`` for each draw number in ``draws`` (the Dask task).

    The model is built once from the planned rates; every draw is loaded into it.
    """
    started = time.perf_counter()
    params = scenario.parameters
    planned = plan_coefficients(project(data.units, params, data.horizon), params)
    solver = LexicographicSolver(build_plan_model(planned, params.objective))
    shocks = ShockModel.of(params)
    n_years, n_units = planned.shape
    count = len(draws)
    depletion = {r: np.full((count, n_units), NEVER, dtype=np.int16) for r in REGIMES}
    money = {key: np.full(count, np.nan) for key in MONEY}
    national_plan = np.full((count, n_years), np.nan)
    national_before = np.full((count, n_years), np.nan)
    national_depletion = np.full(count, NEVER, dtype=np.int16)
    failed: list[tuple[int, str]] = []
    solving = 0.0
    year_index = {year: i for i, year in enumerate(planned.years)}
    for row, n in enumerate(draws):
        try:
            projection = project(data.units, params, data.horizon, shocks.draw(n, n_years, n_units))
            coeffs = plan_coefficients(projection, params)
            solver.load(coeffs)
            tick = time.perf_counter()
            outcome = solver.solve(coeffs.money_scale)
            solving += time.perf_counter() - tick
            plan = extract_plan(data, scenario, projection, coeffs, outcome.values, outcome.levels)
        except (SolverFailure, ValueError, FloatingPointError) as error:
            failed.append((n, str(error) or type(error).__name__))
            continue
        for regime in REGIMES:
            years = plan.depletion[f"depletion_year_{regime}"]
            depletion[regime][row] = [NEVER if pd.isna(y) else year_index[int(y)] for y in years]
        totals = plan.totals()
        money["local_subsidy_100m"][row] = totals["local_subsidy_100m"]
        money["central_subsidy_100m"][row] = totals["central_subsidy_100m"]
        money["total_subsidy_100m"][row] = (
            totals["local_subsidy_100m"] + totals["central_subsidy_100m"]
        )
        money["unfunded_gap_100m"][row] = totals["unfunded_gap_100m"]
        national_plan[row] = plan.national["national_closing_100m"].to_numpy(dtype=float)
        national_before[row] = plan.national["national_before_100m"].to_numpy(dtype=float)
        year = plan.national_depletion_year
        national_depletion[row] = NEVER if year is None else year_index[year]
    return DrawBatch(
        scenario=index,
        draws=tuple(draws),
        depletion=depletion,
        money=money,
        national_plan=national_plan,
        national_before=national_before,
        national_depletion=national_depletion,
        failed=tuple(failed),
        seconds=time.perf_counter() - started,
        solve_seconds=solving,
    )


@dataclass(frozen=True)
class ScenarioRisk:
    """One scenario under uncertainty.

    Attributes:
        scenario, parameters: what was solved.
        years: the base year to the plan's end.
        codes, names: the units (code order) and their Chinese names.
        draws: draws asked for; solved: draws that solved; failed: (draw, reason) of the rest.
        gap_probability: the probability that some unit has an unfunded gap in some year.
        unit_gap_probability: per unit code, the probability it has one.
        depletion: regime → frame (unit codes × years): the probability the unit has run
            out by the end of that year (cumulative, so rows never fall).
        national_depletion: the national depletion year's distribution (no extra
            subsidy): index the years and then ``None`` (never within the horizon).
        money: ``MONEY`` keys × (mean, p5, p50, p95) of the horizon totals (亿元).
        fan_plan, fan_before: years × ``FAN`` percentiles of the national balance, under
            the plan and with no extra subsidy (亿元).
    """

    scenario: str
    parameters: Parameters
    years: tuple[int, ...]
    codes: tuple[str, ...]
    names: tuple[str, ...]
    draws: int
    solved: int
    failed: tuple[tuple[int, str], ...]
    gap_probability: float
    unit_gap_probability: pd.Series
    depletion: dict[str, pd.DataFrame]
    national_depletion: pd.Series
    money: pd.DataFrame
    fan_plan: pd.DataFrame
    fan_before: pd.DataFrame

    @property
    def subsidy_p95(self) -> float:
        """The 95th percentile of the total extra subsidy: the ranking's first key."""
        return float(self.money.at["total_subsidy_100m", "p95"])

    def to_json(self) -> dict[str, Any]:
        """This scenario's part of the risk JSON (docs/outputs.md)."""
        return {
            "scenario": self.scenario,
            "parameters": self.parameters.as_dict(),
            "draws": self.draws,
            "solved_draws": self.solved,
            "failed_draws": [{"draw": n, "reason": reason} for n, reason in self.failed],
            "gap_probability": _number(self.gap_probability),
            "money": {
                key: {column: _number(self.money.at[key, column]) for column in self.money}
                for key in self.money.index
            },
            "national_depletion": [
                {"year": None if pd.isna(y) else int(y), "probability": _number(p)}
                for y, p in self.national_depletion.items()
            ],
            "national_balance": [
                {"year": int(year)}
                | {f"plan_p{q}_100m": _number(self.fan_plan.at[year, f"p{q}"]) for q in FAN}
                | {f"before_p{q}_100m": _number(self.fan_before.at[year, f"p{q}"]) for q in FAN}
                for year in self.years
            ],
            "units": [
                {
                    "code": code,
                    "name_zh": name,
                    "gap_probability": _number(self.unit_gap_probability[code]),
                    **{
                        f"depletion_by_year_{regime}": [
                            {"year": int(year), "probability": _number(frame.at[code, year])}
                            for year in self.years
                        ]
                        for regime, frame in self.depletion.items()
                    },
                }
                for code, name in zip(self.codes, self.names, strict=True)
            ],
        }


def _number(value: Any) -> float | None:
    return None if pd.isna(value) else float(value)


def summarise(
    data: FundData, scenario: Scenario, batches: list[DrawBatch], draws: int
) -> ScenarioRisk:
    """The scenario's odds from its batches (any order: they are sorted by draw)."""
    batches = sorted(batches, key=lambda b: b.draws[0] if b.draws else 0)
    params = scenario.parameters
    years = tuple(range(params.year, (params.plan_end_year or params.year) + 1))
    codes = tuple(str(c) for c in data.units.index)
    names = tuple(str(n) for n in data.units["name_zh"])
    mask = np.concatenate([b.solved for b in batches]) if batches else np.zeros(0, bool)
    failed = tuple(item for b in batches for item in b.failed)
    solved = int(mask.sum())

    def stacked(get: Any) -> np.ndarray:
        return np.concatenate([get(b) for b in batches])[mask]

    depletion = {}
    plan_years = stacked(lambda b: b.depletion["plan"])
    for regime in REGIMES:
        first = stacked(lambda b, r=regime: b.depletion[r])
        by_year = (
            np.stack(
                [((first != NEVER) & (first <= t)).mean(axis=0) for t in range(len(years))], axis=1
            )
            if solved
            else np.full((len(codes), len(years)), np.nan)
        )
        depletion[regime] = pd.DataFrame(by_year, index=list(codes), columns=list(years))
    unit_gap = (plan_years != NEVER).mean(axis=0) if solved else np.full(len(codes), np.nan)
    any_gap = float((plan_years != NEVER).any(axis=1).mean()) if solved else float("nan")
    national = stacked(lambda b: b.national_depletion)
    national_depletion = pd.Series(
        [float((national == t).mean()) if solved else np.nan for t in range(len(years))]
        + [float((national == NEVER).mean()) if solved else np.nan],
        index=pd.Index([*years, None], dtype="object", name="year"),
    )
    money = pd.DataFrame({key: _spread(stacked(lambda b, k=key: b.money[k])) for key in MONEY}).T
    return ScenarioRisk(
        scenario=scenario.name,
        parameters=params,
        years=years,
        codes=codes,
        names=names,
        draws=draws,
        solved=solved,
        failed=failed,
        gap_probability=any_gap,
        unit_gap_probability=pd.Series(unit_gap, index=list(codes)),
        depletion=depletion,
        national_depletion=national_depletion,
        money=money,
        fan_plan=_fan(stacked(lambda b: b.national_plan), years),
        fan_before=_fan(stacked(lambda b: b.national_before), years),
    )


def _spread(values: np.ndarray) -> dict[str, float]:
    """Mean and ``PERCENTILES`` of one money total over the draws."""
    if not len(values):
        return {"mean": np.nan} | {f"p{q}": np.nan for q in PERCENTILES}
    return {"mean": float(values.mean())} | {
        f"p{q}": float(np.percentile(values, q)) for q in PERCENTILES
    }


def _fan(paths: np.ndarray, years: tuple[int, ...]) -> pd.DataFrame:
    """Years × ``FAN`` percentiles of a (draws × years) table of balances."""
    if not len(paths):
        return pd.DataFrame(np.nan, index=list(years), columns=[f"p{q}" for q in FAN])
    bands = np.percentile(paths, FAN, axis=0).T
    return pd.DataFrame(bands, index=list(years), columns=[f"p{q}" for q in FAN])


@dataclass(frozen=True)
class RiskResult:
    """Every scenario under uncertainty, and how the run was made.

    Attributes:
        scenarios: one ``ScenarioRisk`` each, in the run's order.
        source: the workbook read.
        draws, seed, correlation, sigma: the sample (the base scenario's; a scenario may
            override them, and its own parameters say so).
        engine: how the draws ran: ``dask`` (with ``scheduler`` and ``workers``) or
            ``in-process``; ``dask_version`` when Dask ran them.
        seconds: wall-clock time of the whole run.
    """

    scenarios: tuple[ScenarioRisk, ...]
    source: Source
    draws: int
    seed: int
    correlation: float
    sigma: tuple[float, ...]
    engine: str
    scheduler: str = ""
    workers: int = 1
    dask_version: str = ""
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def any_gap(self) -> bool:
        """Whether some draw of some scenario leaves an unfunded gap (exit code 3)."""
        return any(s.gap_probability > 0 for s in self.scenarios)

    @property
    def failed_draws(self) -> int:
        """Draws that did not solve, over all scenarios."""
        return sum(len(s.failed) for s in self.scenarios)

    def ranking(self) -> list[ScenarioRisk]:
        """The robust ranking: the lowest 95th percentile of the extra subsidy first, then
        the lowest probability of a gap, then the run's order."""
        order = {s.scenario: i for i, s in enumerate(self.scenarios)}
        return sorted(
            self.scenarios,
            key=lambda s: (
                _last_if_nan(s.subsidy_p95),
                _last_if_nan(s.gap_probability),
                order[s.scenario],
            ),
        )

    def to_json(self) -> dict[str, Any]:
        """The risk JSON (docs/outputs.md)."""
        return {
            "draws": self.draws,
            "seed": self.seed,
            "shock_correlation": self.correlation,
            "growth_sd": dict(zip(SD_KEYS, self.sigma, strict=True)),
            "engine": self.engine,
            "dask_version": self.dask_version or None,
            "workers": self.workers,
            "failed_draws": self.failed_draws,
            "ranking": [
                {
                    "rank": rank,
                    "scenario": s.scenario,
                    "total_subsidy_p95_100m": _number(s.subsidy_p95),
                    "gap_probability": _number(s.gap_probability),
                }
                for rank, s in enumerate(self.ranking(), start=1)
            ],
            "scenarios": [s.to_json() for s in self.scenarios],
        }


def _last_if_nan(value: float) -> float:
    return float("inf") if np.isnan(value) else value
