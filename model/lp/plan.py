"""Projection + Parameters → the multi-year plan's Pyomo model (pure: no I/O, no solving).

The model of docs/formulation.md (the multi-year plan): the single-year variables for every
unit p and year t, and the balance carried from each year to the next. Money in 亿元.

Notation: ``a`` transfer, ``l`` local subsidy, ``g`` central subsidy, ``u`` unfunded gap
(emergency money: it enters the balance, so a shortfall is counted once, in its year),
``s`` the closing balance, ``r_t`` the contribution ratio, ``B`` the contribution base
(the ratio's wage base), ``k_{p,t} = R_{p,t} · Σ_q B_{q,t} / Σ_q R_{q,t}`` the statutory
allocation per unit of ratio (so ``rule_{p,t} = r_t · k_{p,t}``), and
``F_{p,t} = income + other income + planned central subsidy − expenditure``.

The ratio is always a column: fixed paths hold it by equal bounds, an optimised path frees
it between its bounds with the step rows. So the band, the return-share guardrail and the
rule distance are rows in ``r``, and a 1-year plan is the single-year LP with the band moved
from column bounds into rows (the same feasible set, tested).

Every data-dependent bound is read through ``plan_bounds``, the plan's counterpart of
``formulation.scenario_bounds``; the solver refuses a model whose compilation disagrees.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from model.lp.formulation import (
    DEFERRED_ROWS,
    LEVEL_CENTRAL,
    LEVEL_EQUITY,
    LEVEL_GAP,
    LEVEL_RULE,
    LEVEL_SUBSIDY,
    ScenarioBounds,
)
from model.lp.projection import Projection
from model.lp.rule import collection_shortfall, contribution_base
from model.schema import MONTHS_PER_YEAR
from model.workbook.scenarios import Parameters

LEVEL_RATIO = "ratio_path"
"""The optimised path's own level: ``Σ_t r_t``, the gentlest path that reaches the levels
before it."""

LEVEL_GAP_TIMING = "gap_timing"
LEVEL_SUBSIDY_TIMING = "subsidy_timing"
"""Money drawn so far, summed over the years: ``Σ_t (T − t) · x_t`` for the gap and for the
subsidy. With the total held, minimising it draws the money as late as it can be drawn, in
the year the shortfall happens. Without it the totals are indifferent to timing, and the
equity level, which sums the reserves of every year, would draw emergency money and
subsidies years before they are needed to lift the early reserves."""

PLAN_DECISIONS: tuple[str, ...] = (
    "transfer",
    "local_subsidy",
    "central_subsidy",
    "unfunded_gap",
    "closing",
    "ratio",
)


INTERIOR_LEVELS: tuple[str, ...] = (LEVEL_GAP, LEVEL_GAP_TIMING)
"""The levels solved cold by interior point in a large plan (``solve.LARGE_MODEL_COLUMNS``;
a smaller one goes by simplex throughout); the rest go by primal simplex from the level
before. Moving the gap as late as it can go re-routes the emergency money of every unit:
from the gap level's basis primal simplex took 122,734 iterations (455 s) at 2,850 units ×
30 years, where interior point takes about as long as the gap level itself."""


def plan_levels(optimised: bool, years: int) -> tuple[str, ...]:
    """The lexicographic levels of a plan, in order; a 1-year plan has a single year's."""
    ratio = (LEVEL_RATIO,) if optimised and years > 1 else ()
    gap_timing = (LEVEL_GAP_TIMING,) if years > 1 else ()
    subsidy_timing = (LEVEL_SUBSIDY_TIMING,) if years > 1 else ()
    return (
        LEVEL_GAP,
        *gap_timing,
        LEVEL_SUBSIDY,
        LEVEL_CENTRAL,
        *ratio,
        *subsidy_timing,
        LEVEL_EQUITY,
        LEVEL_RULE,
    )


@dataclass(frozen=True)
class PlanCoefficients:
    """Every number the plan's LP needs; arrays of shape (years, units) unless noted.

    Attributes:
        codes, years: the units (sorted) and the years (base year first).
        opening: the base year's opening balance (units).
        base: the contribution base ``B`` (亿元 per unit of ratio).
        rule_share: ``k``: the statutory allocation per unit of ratio.
        flow: ``F = income + other + planned central − expenditure``; in incentive mode the
            income counts as at least the standard (``shortfall`` added).
        floor: ``min(opening, 0) + reserve_months_floor × expenditure / 12``.
        expenditure: pension expenditure (> 0).
        local_cap, min_local_share: as in the single year, per year.
        transfer_lower, transfer_upper: the per-unit guardrail bounds on ``a`` (0 and ∞
            where none is written).
        band: ``max_rule_deviation`` δ, or None; return_share: ``min_return_share`` ρ, or None.
        ratio_lower, ratio_upper: per year (shape (years,)): equal for a fixed path.
        ratio_step: the most the ratio rises in a year, or None for a fixed path.
        central_budget: the most extra central subsidy in any one year.
        shortfall: the incentive mode's collection shortfall (zeros when off).
        fixed_ratios: the fixed path (or the optimised path's start) per year.
    """

    codes: tuple[str, ...]
    years: tuple[int, ...]
    opening: np.ndarray
    base: np.ndarray
    rule_share: np.ndarray
    flow: np.ndarray
    floor: np.ndarray
    expenditure: np.ndarray
    local_cap: np.ndarray
    min_local_share: np.ndarray
    transfer_lower: np.ndarray
    transfer_upper: np.ndarray
    band: float | None
    return_share: float | None
    ratio_lower: np.ndarray
    ratio_upper: np.ndarray
    ratio_step: float | None
    central_budget: float
    shortfall: np.ndarray
    fixed_ratios: np.ndarray

    @property
    def optimised(self) -> bool:
        """Whether the ratio path is the solver's to choose."""
        return self.ratio_step is not None

    @property
    def money_scale(self) -> float:
        """The money in the model (Σ expenditure over all years), for tolerances."""
        return float(max(1.0, np.abs(self.expenditure).sum()))

    @property
    def shape(self) -> tuple[int, int]:
        """(years, units)."""
        return len(self.years), len(self.codes)

    def same_structure(self, other: PlanCoefficients) -> bool:
        """Whether ``other`` fits a model built from these: the same units and years, the
        same families of rows (a band, a return share, an optimised path or not) and the
        same local shares (in the matrix, and not rewritten). Every other number may differ:
        ``plan_matrix_values`` and ``plan_bounds`` carry them into a loaded model."""
        return (
            self.codes == other.codes
            and self.years == other.years
            and (self.band is None) == (other.band is None)
            and (self.return_share is None) == (other.return_share is None)
            and self.optimised == other.optimised
            and bool(np.array_equal(self.min_local_share, other.min_local_share))
        )


def plan_coefficients(projection: Projection, parameters: Parameters) -> PlanCoefficients:
    """The plan's numbers from the projected units and the scenario's policy."""
    frames = projection.units
    base = np.stack([contribution_base(f, parameters) for f in frames])
    retirees = projection.figure("retirees_10k")
    rule_share = base.sum(axis=1, keepdims=True) * retirees / retirees.sum(axis=1, keepdims=True)
    shortfall = np.stack([collection_shortfall(f, parameters) for f in frames])
    expenditure = projection.figure("expenditure_100m")
    flow = (
        projection.figure("contribution_income_100m")
        + shortfall
        + projection.figure("other_income_100m")
        + projection.figure("planned_central_subsidy_100m")
        - expenditure
    )
    opening = frames[0]["opening_balance_100m"].to_numpy(dtype=float)
    floor = np.minimum(opening, 0.0) + (
        parameters.reserve_months_floor * expenditure / MONTHS_PER_YEAR
    )
    fixed = np.asarray(projection.ratios, dtype=float)
    if parameters.optimizes_ratio_path:
        ceiling = float(parameters.ratio_max or fixed[0])
        lower = np.full(len(fixed), fixed[0])
        upper = np.full(len(fixed), max(ceiling, fixed[0]))
        upper[0] = fixed[0]
        step: float | None = float(parameters.ratio_step_max or 0.0)
    else:
        lower, upper, step = fixed.copy(), fixed.copy(), None
    result = PlanCoefficients(
        codes=projection.codes,
        years=projection.years,
        opening=opening,
        base=base,
        rule_share=rule_share,
        flow=flow,
        floor=floor,
        expenditure=expenditure,
        local_cap=projection.figure("local_subsidy_cap_100m"),
        min_local_share=projection.figure("min_local_share"),
        transfer_lower=_guardrail(projection, "min_transfer_100m", 0.0),
        transfer_upper=_guardrail(projection, "max_transfer_100m", math.inf),
        band=parameters.max_rule_deviation,
        return_share=parameters.min_return_share,
        ratio_lower=lower,
        ratio_upper=upper,
        ratio_step=step,
        central_budget=parameters.central_subsidy_budget_100m,
        shortfall=shortfall,
        fixed_ratios=fixed,
    )
    _check_finite(result)
    return result


def _guardrail(projection: Projection, key: str, default: float) -> np.ndarray:
    if key not in projection.units[0]:
        return np.full((len(projection.years), len(projection.codes)), default)
    values = projection.figure(key)
    return np.where(np.isnan(values), default, values)


def _check_finite(coeffs: PlanCoefficients) -> None:
    """Refuse NaN or infinite data: HiGHS would silently drop the column or row."""
    for name in ("base", "rule_share", "flow", "floor", "expenditure", "local_cap", "opening"):
        values = getattr(coeffs, name)
        if not np.all(np.isfinite(values)):
            raise ValueError(f"{name} is not a finite number in the projected plan")
    if np.any(coeffs.expenditure <= 0):
        raise ValueError("a projected expenditure is not positive")


def build_plan_model(coeffs: PlanCoefficients, objective: str) -> pyo.ConcreteModel:
    """Build the plan's LP for one equity ``objective`` (``maximin``, ``range``, ``mad``).

    All level objectives are built and deactivated; the solver drives them in turn and
    holds each optimum through ``level_bound``, as for a single year.
    """
    m = pyo.ConcreteModel(name="central_adjustment_fund_plan")
    n_years, n_units = coeffs.shape
    m.YEARS = pyo.RangeSet(0, n_years - 1)
    m.UNITS = pyo.RangeSet(0, n_units - 1)
    m.CELLS = pyo.Set(initialize=m.YEARS * m.UNITS, ordered=True)
    m.SHARED = pyo.Set(
        initialize=[(t, p) for t, p in m.CELLS if coeffs.min_local_share[t, p] > 0], ordered=True
    )
    levels = plan_levels(coeffs.optimised, n_years)
    m.LEVELS = pyo.Set(initialize=levels, ordered=True)
    m.objective_kind = objective
    m.coefficients = coeffs
    m.decisions = PLAN_DECISIONS
    m.unitless_levels = (LEVEL_EQUITY, LEVEL_RATIO)
    m.scenario_bounds_of = lambda c: plan_bounds(c, objective)
    m.deferred_rows = {LEVEL_EQUITY: DEFERRED_ROWS[LEVEL_EQUITY]}
    m.interior_levels = INTERIOR_LEVELS
    m.matrix_layout = plan_matrix_layout(coeffs, objective)
    m.matrix_values_of = lambda c: plan_matrix_values(c, objective)
    m.same_structure = coeffs.same_structure

    m.inflow = pyo.Param(m.CELLS, mutable=True, initialize=0.0)
    m.central_budget = pyo.Param(mutable=True, initialize=0.0)
    m.ratio_step = pyo.Param(mutable=True, initialize=0.0)
    m.level_optimum = pyo.Param(m.LEVELS, mutable=True, initialize=math.inf)

    m.transfer = pyo.Var(m.CELLS, within=pyo.NonNegativeReals)
    m.local_subsidy = pyo.Var(m.CELLS, within=pyo.NonNegativeReals)
    m.central_subsidy = pyo.Var(m.CELLS, within=pyo.NonNegativeReals)
    m.unfunded_gap = pyo.Var(m.CELLS, within=pyo.NonNegativeReals)
    m.rule_distance = pyo.Var(m.CELLS, within=pyo.NonNegativeReals)
    m.closing = pyo.Var(m.CELLS)
    m.ratio = pyo.Var(m.YEARS)

    add_plan_fund_balance(m, coeffs)
    add_carried_balance(m, coeffs)
    add_plan_local_share(m, coeffs)
    add_plan_central_budget(m)
    add_plan_band(m, coeffs)
    add_plan_return_share(m, coeffs)
    add_plan_rule_distance(m, coeffs)
    if coeffs.optimised:
        add_ratio_steps(m)
    add_plan_imbalance(m, coeffs, objective)
    add_plan_level_objectives(m, levels)
    update_plan_coefficients(m, coeffs)
    return m


def add_plan_fund_balance(m: pyo.ConcreteModel, coeffs: PlanCoefficients) -> None:
    """Each year the fund pays out what it raises: ``Σ_p a_{p,t} − r_t Σ_p B_{p,t} = 0``."""
    total = coeffs.base.sum(axis=1)
    m.fund_balance = pyo.Constraint(
        m.YEARS,
        rule=lambda m, t: (
            pyo.quicksum(m.transfer[t, p] for p in m.UNITS) - float(total[t]) * m.ratio[t] == 0.0
        ),
    )


def add_carried_balance(m: pyo.ConcreteModel, coeffs: PlanCoefficients) -> None:
    """``s_{p,t} − s_{p,t−1} + r_t B_{p,t} − a − l − g − u = F_{p,t}`` (``s_{p,−1}`` is the
    opening balance, moved into the right-hand side ``inflow``)."""

    def rule(m: pyo.ConcreteModel, t: int, p: int) -> pyo.Expression:
        previous = m.closing[t - 1, p] if t > 0 else 0.0
        return (
            m.closing[t, p]
            - previous
            + float(coeffs.base[t, p]) * m.ratio[t]
            - m.transfer[t, p]
            - m.local_subsidy[t, p]
            - m.central_subsidy[t, p]
            - m.unfunded_gap[t, p]
            == m.inflow[t, p]
        )

    m.carried_balance = pyo.Constraint(m.CELLS, rule=rule)


def add_plan_local_share(m: pyo.ConcreteModel, coeffs: PlanCoefficients) -> None:
    """Local finance bears its share each year: ``(1−s) l − s g ≥ 0``."""

    def rule(m: pyo.ConcreteModel, t: int, p: int) -> pyo.Expression:
        s = float(coeffs.min_local_share[t, p])
        return (1.0 - s) * m.local_subsidy[t, p] - s * m.central_subsidy[t, p] >= 0.0

    m.local_share = pyo.Constraint(m.SHARED, rule=rule)


def add_plan_central_budget(m: pyo.ConcreteModel) -> None:
    """Each year's extra central money is budgeted: ``Σ_p g_{p,t} ≤ central_subsidy_budget``."""
    m.central_budget_limit = pyo.Constraint(
        m.YEARS,
        rule=lambda m, t: (
            pyo.quicksum(m.central_subsidy[t, p] for p in m.UNITS) <= m.central_budget
        ),
    )


def add_plan_band(m: pyo.ConcreteModel, coeffs: PlanCoefficients) -> None:
    """The rule band δ, year by year: ``a − (1−δ) k r ≥ 0`` and ``a − (1+δ) k r ≤ 0``."""
    if coeffs.band is None:
        return
    low, high = max(0.0, 1.0 - coeffs.band), 1.0 + coeffs.band
    k = coeffs.rule_share
    m.band_low = pyo.Constraint(
        m.CELLS,
        rule=lambda m, t, p: m.transfer[t, p] - low * float(k[t, p]) * m.ratio[t] >= 0.0,
    )
    m.band_high = pyo.Constraint(
        m.CELLS,
        rule=lambda m, t, p: m.transfer[t, p] - high * float(k[t, p]) * m.ratio[t] <= 0.0,
    )


def add_plan_return_share(m: pyo.ConcreteModel, coeffs: PlanCoefficients) -> None:
    """Every unit gets back at least ρ of what it hands up: ``a − ρ B r ≥ 0``."""
    if coeffs.return_share is None:
        return
    rho, base = coeffs.return_share, coeffs.base
    m.return_share = pyo.Constraint(
        m.CELLS,
        rule=lambda m, t, p: m.transfer[t, p] - rho * float(base[t, p]) * m.ratio[t] >= 0.0,
    )


def add_plan_rule_distance(m: pyo.ConcreteModel, coeffs: PlanCoefficients) -> None:
    """``e ≥ |a − k r|`` as two rows: ``e − a + k r ≥ 0`` and ``e + a − k r ≥ 0``."""
    k = coeffs.rule_share
    m.rule_distance_above = pyo.Constraint(
        m.CELLS,
        rule=lambda m, t, p: (
            m.rule_distance[t, p] - m.transfer[t, p] + float(k[t, p]) * m.ratio[t] >= 0.0
        ),
    )
    m.rule_distance_below = pyo.Constraint(
        m.CELLS,
        rule=lambda m, t, p: (
            m.rule_distance[t, p] + m.transfer[t, p] - float(k[t, p]) * m.ratio[t] >= 0.0
        ),
    )


def add_ratio_steps(m: pyo.ConcreteModel) -> None:
    """An optimised path never falls and rises at most a step: ``0 ≤ r_t − r_{t−1} ≤ step``."""
    m.STEPS = pyo.RangeSet(1, len(m.YEARS) - 1) if len(m.YEARS) > 1 else pyo.Set(initialize=[])
    m.ratio_step_rows = pyo.Constraint(
        m.STEPS,
        rule=lambda m, t: pyo.inequality(0.0, m.ratio[t] - m.ratio[t - 1], m.ratio_step),
    )


def add_plan_imbalance(m: pyo.ConcreteModel, coeffs: PlanCoefficients, objective: str) -> None:
    """The equity level summed over the years, ``m.imbalance`` (to minimise), with the
    months ``M_{p,t} = 12 s_{p,t} / X_{p,t}``:

    - maximin: ``lo_t ≤ M_{p,t}``; minimise ``−Σ_t lo_t``.
    - range: ``lo_t ≤ M_{p,t} ≤ hi_t``; minimise ``Σ_t (hi_t − lo_t)``.
    - mad: ``d_{p,t} ≥ |M_{p,t} − M̄_t|`` with ``M̄_t = 12 Σ_p s_{p,t} / Σ_p X_{p,t}``;
      minimise ``Σ_t Σ_p d_{p,t} / n``.

    One imbalance variable per year keeps every row to one year's units.
    """
    per = MONTHS_PER_YEAR / coeffs.expenditure

    def months(m: pyo.ConcreteModel, t: int, p: int) -> pyo.Expression:
        return float(per[t, p]) * m.closing[t, p]

    if objective in ("maximin", "range"):
        m.lowest_months = pyo.Var(m.YEARS)
        m.maximin_rows = pyo.Constraint(
            m.CELLS, rule=lambda m, t, p: months(m, t, p) - m.lowest_months[t] >= 0.0
        )
        if objective == "maximin":
            m.imbalance = pyo.Expression(expr=-pyo.quicksum(m.lowest_months[t] for t in m.YEARS))
        else:
            m.highest_months = pyo.Var(m.YEARS)
            m.range_high = pyo.Constraint(
                m.CELLS, rule=lambda m, t, p: m.highest_months[t] - months(m, t, p) >= 0.0
            )
            m.imbalance = pyo.Expression(
                expr=pyo.quicksum(m.highest_months[t] - m.lowest_months[t] for t in m.YEARS)
            )
    elif objective == "mad":
        total = coeffs.expenditure.sum(axis=1)
        m.deviation = pyo.Var(m.CELLS, within=pyo.NonNegativeReals)
        m.national_months = pyo.Var(m.YEARS)
        m.national_months_definition = pyo.Constraint(
            m.YEARS,
            rule=lambda m, t: (
                m.national_months[t]
                - MONTHS_PER_YEAR / float(total[t]) * pyo.quicksum(m.closing[t, p] for p in m.UNITS)
                == 0.0
            ),
        )
        m.mad_above = pyo.Constraint(
            m.CELLS,
            rule=lambda m, t, p: m.deviation[t, p] - months(m, t, p) + m.national_months[t] >= 0.0,
        )
        m.mad_below = pyo.Constraint(
            m.CELLS,
            rule=lambda m, t, p: m.deviation[t, p] + months(m, t, p) - m.national_months[t] >= 0.0,
        )
        n_units = len(m.UNITS)
        m.imbalance = pyo.Expression(
            expr=pyo.quicksum(m.deviation[t, p] for t, p in m.CELLS) / n_units
        )
    else:
        raise ValueError(f"unknown objective {objective!r}")


def add_plan_level_objectives(m: pyo.ConcreteModel, levels: tuple[str, ...]) -> None:
    """One deactivated objective per level and the row ``f_k ≤ level_optimum[k]`` holding
    each optimum, as for a single year."""
    n_years = len(m.YEARS)
    expressions = {
        LEVEL_GAP: pyo.quicksum(m.unfunded_gap[c] for c in m.CELLS),
        LEVEL_GAP_TIMING: pyo.quicksum((n_years - t) * m.unfunded_gap[t, p] for t, p in m.CELLS),
        LEVEL_SUBSIDY_TIMING: pyo.quicksum(
            (n_years - t) * (m.local_subsidy[t, p] + m.central_subsidy[t, p]) for t, p in m.CELLS
        ),
        LEVEL_SUBSIDY: pyo.quicksum(m.local_subsidy[c] + m.central_subsidy[c] for c in m.CELLS),
        LEVEL_CENTRAL: pyo.quicksum(m.central_subsidy[c] for c in m.CELLS),
        LEVEL_RATIO: pyo.quicksum(m.ratio[t] for t in m.YEARS),
        LEVEL_EQUITY: m.imbalance,
        LEVEL_RULE: pyo.quicksum(m.rule_distance[c] for c in m.CELLS),
    }
    m.level_value = pyo.Expression(m.LEVELS, rule=lambda m, k: expressions[k])  # only levels
    m.level_objective = pyo.Objective(m.LEVELS, rule=lambda m, k: m.level_value[k])
    m.level_objective.deactivate()
    m.level_bound = pyo.Constraint(
        m.LEVELS, rule=lambda m, k: m.level_value[k] <= m.level_optimum[k]
    )


def inflow(coeffs: PlanCoefficients) -> np.ndarray:
    """The carried-balance rows' right-hand side: ``F``, plus the opening balance in the
    base year."""
    result = coeffs.flow.copy()
    result[0] += coeffs.opening
    return result


def plan_bounds(coeffs: PlanCoefficients, objective: str) -> ScenarioBounds:
    """Every column and row bound of the plan's LP from ``coeffs``, flattened year by year
    (the order of ``CELLS``), as ``formulation.scenario_bounds`` gives a single year's."""
    n_years, n_units = coeffs.shape
    cells = n_years * n_units
    zero, free = np.zeros(cells), np.full(cells, math.inf)
    years_free = np.full(n_years, math.inf)
    flat = np.ravel
    shared = int(np.count_nonzero(coeffs.min_local_share > 0))
    columns: dict[str, tuple[np.ndarray, np.ndarray]] = {
        "transfer": (flat(coeffs.transfer_lower), flat(coeffs.transfer_upper)),
        "local_subsidy": (zero, flat(coeffs.local_cap)),
        "central_subsidy": (zero, free),
        "unfunded_gap": (zero, free),
        "rule_distance": (zero, free),
        "closing": (flat(coeffs.floor), free),
        "ratio": (coeffs.ratio_lower, coeffs.ratio_upper),
    }
    rows: dict[str, tuple[np.ndarray, np.ndarray]] = {
        "fund_balance": (np.zeros(n_years), np.zeros(n_years)),
        "carried_balance": (flat(inflow(coeffs)), flat(inflow(coeffs))),
        "local_share": (np.zeros(shared), np.full(shared, math.inf)),
        "central_budget_limit": (-years_free, np.full(n_years, coeffs.central_budget)),
        "rule_distance_above": (zero, free),
        "rule_distance_below": (zero, free),
    }
    if coeffs.band is not None:
        rows["band_low"] = (zero, free)
        rows["band_high"] = (-free, zero)
    if coeffs.return_share is not None:
        rows["return_share"] = (zero, free)
    if coeffs.optimised:
        steps = n_years - 1
        rows["ratio_step_rows"] = (np.zeros(steps), np.full(steps, coeffs.ratio_step or 0.0))
    if objective in ("maximin", "range"):
        columns["lowest_months"] = (-years_free, years_free)
        rows["maximin_rows"] = (zero, free)
        if objective == "range":
            columns["highest_months"] = (-years_free, years_free)
            rows["range_high"] = (zero, free)
    elif objective == "mad":
        columns["deviation"] = (zero, free)
        columns["national_months"] = (-years_free, years_free)
        rows["national_months_definition"] = (np.zeros(n_years), np.zeros(n_years))
        rows["mad_above"] = (zero, free)
        rows["mad_below"] = (zero, free)
    else:
        raise ValueError(f"unknown objective {objective!r}")
    return ScenarioBounds(columns=columns, rows=rows)


def update_plan_coefficients(m: pyo.ConcreteModel, coeffs: PlanCoefficients) -> None:
    """Load the plan's data-dependent bounds into the built model."""
    bounds = plan_bounds(coeffs, m.objective_kind)
    rhs = inflow(coeffs)
    for t, p in m.CELLS:
        m.inflow[t, p] = float(rhs[t, p])
    for name, (lower, upper) in bounds.columns.items():
        for var, lo, hi in zip(m.component(name).values(), lower, upper, strict=True):
            var.setlb(None if math.isinf(lo) else float(lo))
            var.setub(None if math.isinf(hi) else float(hi))
    m.central_budget = coeffs.central_budget
    m.ratio_step = float(coeffs.ratio_step or 0.0)
    for k in m.LEVELS:
        m.level_optimum[k] = math.inf


@dataclass(frozen=True)
class MatrixFamily:
    """Where one family of data-dependent matrix coefficients sits: entry ``i`` is the
    coefficient of ``column[column_keys[i]]`` in ``row[row_keys[i]]``.

    The plan's matrix holds data (the contribution base, the rule's shares, the months per
    亿 of each unit's expenditure), so a growth draw changes it; these families are every
    such coefficient, and ``plan_matrix_values`` gives their values for any coefficients of
    the same structure (``PlanCoefficients.same_structure``).
    """

    row: str
    column: str
    row_keys: tuple[object, ...]
    column_keys: tuple[object, ...]


def plan_matrix_layout(coeffs: PlanCoefficients, objective: str) -> dict[str, MatrixFamily]:
    """The data-dependent coefficient families of a plan's model (``MatrixFamily``), by name."""
    n_years, n_units = coeffs.shape
    cells = tuple((t, p) for t in range(n_years) for p in range(n_units))
    years_of_cells = tuple(t for t, _ in cells)

    def on_ratio(row: str) -> MatrixFamily:
        return MatrixFamily(row, "ratio", cells, years_of_cells)

    def on_closing(row: str) -> MatrixFamily:
        return MatrixFamily(row, "closing", cells, cells)

    layout = {
        "fund_base": MatrixFamily(
            "fund_balance", "ratio", tuple(range(n_years)), tuple(range(n_years))
        ),
        "carried_base": on_ratio("carried_balance"),
        "rule_above": on_ratio("rule_distance_above"),
        "rule_below": on_ratio("rule_distance_below"),
    }
    if coeffs.band is not None:
        layout["band_low"] = on_ratio("band_low")
        layout["band_high"] = on_ratio("band_high")
    if coeffs.return_share is not None:
        layout["return_share"] = on_ratio("return_share")
    if objective in ("maximin", "range"):
        layout["maximin_months"] = on_closing("maximin_rows")
        if objective == "range":
            layout["range_months"] = on_closing("range_high")
    elif objective == "mad":
        layout["mad_above_months"] = on_closing("mad_above")
        layout["mad_below_months"] = on_closing("mad_below")
        layout["national_months"] = MatrixFamily(
            "national_months_definition", "closing", years_of_cells, cells
        )
    return layout


def plan_matrix_values(coeffs: PlanCoefficients, objective: str) -> dict[str, np.ndarray]:
    """The values of ``plan_matrix_layout``'s families for ``coeffs``, in its entry order,
    with the signs the rows of ``build_plan_model`` give them."""
    flat = np.ravel
    base, k = coeffs.base, coeffs.rule_share
    values = {
        "fund_base": -coeffs.base.sum(axis=1),
        "carried_base": flat(base),
        "rule_above": flat(k),
        "rule_below": -flat(k),
    }
    if coeffs.band is not None:
        low, high = max(0.0, 1.0 - coeffs.band), 1.0 + coeffs.band
        values["band_low"] = -flat(low * k)
        values["band_high"] = -flat(high * k)
    if coeffs.return_share is not None:
        values["return_share"] = -flat(coeffs.return_share * base)
    per = flat(MONTHS_PER_YEAR / coeffs.expenditure)
    if objective in ("maximin", "range"):
        values["maximin_months"] = per
        if objective == "range":
            values["range_months"] = -per
    elif objective == "mad":
        total = coeffs.expenditure.sum(axis=1)
        values["mad_above_months"] = -per
        values["mad_below_months"] = per
        values["national_months"] = -np.repeat(MONTHS_PER_YEAR / total, coeffs.shape[1])
    return values


def frame_of(coeffs: PlanCoefficients, values: np.ndarray) -> pd.DataFrame:
    """A (years × units) array as a frame: years as rows, unit codes as columns."""
    return pd.DataFrame(
        np.asarray(values).reshape(coeffs.shape), index=list(coeffs.years), columns=coeffs.codes
    )
