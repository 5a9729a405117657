"""FundData + Parameters → the Pyomo model of docs/formulation.md §3 (pure: no I/O, no solving).

Read from the top down: sets, parameters, variables, then one ``add_<family>`` call per
constraint family, then the objective of every lexicographic level. Every figure that a
policy scenario can change is a mutable ``Param`` or a variable bound, so the matrix and the
level costs are the same for every scenario of a dataset: the solver compiles the built
model once and, for each further scenario, pushes only the bounds ``scenario_bounds``
computes from the ``Coefficients`` (the same numbers ``update_coefficients`` loads).

Notation (money in 亿元): ``a`` transfer from the fund, ``l`` local subsidy, ``g`` central
subsidy, ``u`` unfunded gap; ``K_p = before_p − contribution_p`` is what a unit holds at
year end before any transfer or subsidy, so ``closing_p = K_p + a_p + l_p + g_p``.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from model.lp.guardrails import transfer_bounds
from model.lp.rule import RuleAllocation, collection_shortfall, statutory_allocation
from model.schema import MONTHS_PER_YEAR
from model.workbook.scenarios import Parameters

LEVEL_GAP = "unfunded_gap"
LEVEL_SUBSIDY = "fiscal_subsidy"
LEVEL_CENTRAL = "central_subsidy"
LEVEL_EQUITY = "imbalance"
LEVEL_RULE = "rule_distance"
LEVELS: tuple[str, ...] = (LEVEL_GAP, LEVEL_SUBSIDY, LEVEL_CENTRAL, LEVEL_EQUITY, LEVEL_RULE)
"""The lexicographic levels in order. What each one measures, in words, is
``model.vocabulary.level_meaning``: the solver names the levels, the vocabulary says them."""

DECISIONS: tuple[str, ...] = ("transfer", "local_subsidy", "central_subsidy", "unfunded_gap")
"""The variables whose values a solve returns."""

DEFERRED_ROWS: dict[str, tuple[str, ...]] = {
    LEVEL_EQUITY: (
        "maximin_rows",
        "range_low",
        "range_high",
        "national_months_definition",
        "mad_above",
        "mad_below",
    ),
    LEVEL_RULE: ("rule_distance_above", "rule_distance_below"),
}
"""The row families each level is the first to need. They define auxiliary columns (the
lowest months, the deviations, ``e ≥ |a − rule|``) that no earlier level costs, so the
solver releases them until their level: the early levels are then a far smaller LP."""

UNBOUNDED = math.inf
"""Right-hand side of a level row that is not yet holding an optimum, so the rows stay in
the solver and only their bounds move."""


@dataclass(frozen=True)
class Coefficients:
    """Every per-unit number the LP needs, as arrays in code order.

    Attributes:
        codes: unit codes, sorted.
        contribution: what each unit hands up under this scenario's ratio.
        rule_allocation: the statutory allocation.
        before: ``opening + contribution_income + other_income + planned_central − expenditure``.
        floor: ``min(opening, 0) + reserve_months_floor × expenditure / 12``.
        expenditure: pension expenditure (> 0).
        local_cap: the most extra local subsidy.
        min_local_share: the least local share of any extra subsidy.
        lower, upper: the bounds on transfers: the tightest of the rule band and the
            guardrails (``guardrails.transfer_bounds``); (0, fund) when transfers are free.
        shortfall: in incentive mode, how far each unit's contribution income falls short
            of the standard (``rule.collection_shortfall``); ``before`` already counts it
            as collected, so the LP's data do not depend on collecting less.
        lower_by, upper_by: what sets each bound, per unit (``band``,
            ``min_return_share``, ``min_transfer``, ``max_transfer``, ``free``, ``fund``).
        fund: Σ contribution.
        central_budget: the most extra central subsidy in total.
    """

    codes: tuple[str, ...]
    contribution: np.ndarray
    rule_allocation: np.ndarray
    before: np.ndarray
    floor: np.ndarray
    expenditure: np.ndarray
    local_cap: np.ndarray
    min_local_share: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    fund: float
    central_budget: float
    lower_by: np.ndarray = field(default_factory=lambda: np.array([], dtype=object))
    upper_by: np.ndarray = field(default_factory=lambda: np.array([], dtype=object))
    shortfall: np.ndarray = field(default_factory=lambda: np.array([], dtype=float))

    @property
    def held(self) -> np.ndarray:
        """``K_p = before_p − contribution_p``: the year-end balance with no transfer."""
        return self.before - self.contribution

    @property
    def money_scale(self) -> float:
        """A size of the money in the model, for tolerances that scale with the data."""
        return float(max(1.0, np.abs(self.expenditure).sum()))

    def same_matrix(self, other: Coefficients) -> bool:
        """Whether ``other`` fits the same built LP: the units, the expenditure (in the
        months rows) and the local shares (in the local-share rows) are in the matrix."""
        return (
            other.codes == self.codes
            and np.array_equal(other.expenditure, self.expenditure)
            and np.array_equal(other.min_local_share, self.min_local_share)
        )


def before_adjustment(units: pd.DataFrame) -> pd.Series:
    """Year-end balance with no adjustment and no extra subsidy (docs/formulation.md §3)."""
    return pd.Series(_before(units), index=units.index)


def _before(units: pd.DataFrame) -> np.ndarray:
    def column(key: str) -> np.ndarray:
        return units[key].to_numpy(dtype=float)

    return (
        column("opening_balance_100m")
        + column("contribution_income_100m")
        + column("other_income_100m")
        + column("planned_central_subsidy_100m")
        - column("expenditure_100m")
    )


def reserve_floor(units: pd.DataFrame, parameters: Parameters) -> pd.Series:
    """``min(opening, 0) + reserve_months_floor × expenditure / 12``: no deficit deepens."""
    return pd.Series(_floor(units, parameters), index=units.index)


def _floor(units: pd.DataFrame, parameters: Parameters) -> np.ndarray:
    opening = units["opening_balance_100m"].to_numpy(dtype=float)
    expenditure = units["expenditure_100m"].to_numpy(dtype=float)
    return (
        np.minimum(opening, 0.0) + parameters.reserve_months_floor * expenditure / MONTHS_PER_YEAR
    )


def coefficients(
    units: pd.DataFrame, parameters: Parameters, rule: RuleAllocation | None = None
) -> Coefficients:
    """Derive the LP's numbers for one scenario from the validated units."""
    rule = rule or statutory_allocation(units, parameters)
    contribution = rule.contribution_100m.to_numpy(dtype=float)
    rule_allocation = rule.allocation_100m.to_numpy(dtype=float)
    bounds = transfer_bounds(units, parameters, contribution, rule_allocation, rule.fund_100m)
    shortfall = collection_shortfall(units, parameters)
    result = Coefficients(
        codes=tuple(str(c) for c in units.index),
        contribution=contribution,
        rule_allocation=rule_allocation,
        # Incentive mode: the LP sees every unit collecting at least the standard.
        before=_before(units) + shortfall,
        floor=_floor(units, parameters),
        expenditure=units["expenditure_100m"].to_numpy(dtype=float),
        local_cap=units["local_subsidy_cap_100m"].to_numpy(dtype=float),
        min_local_share=units["min_local_share"].to_numpy(dtype=float),
        lower=bounds.lower,
        upper=bounds.upper,
        fund=rule.fund_100m,
        central_budget=parameters.central_subsidy_budget_100m,
        lower_by=bounds.lower_by,
        upper_by=bounds.upper_by,
        shortfall=shortfall,
    )
    _check_finite(result)
    return result


def _check_finite(coeffs: Coefficients) -> None:
    """Refuse NaN or infinite data: HiGHS would silently drop the column or row."""
    for name in (
        "contribution",
        "rule_allocation",
        "before",
        "floor",
        "expenditure",
        "local_cap",
        "min_local_share",
        "lower",
        "upper",
    ):
        values = getattr(coeffs, name)
        if not np.all(np.isfinite(values)):
            bad = [coeffs.codes[i] for i in np.flatnonzero(~np.isfinite(values))]
            raise ValueError(f"{name} is not a finite number for units {bad}")


def build_model(coeffs: Coefficients, objective: str) -> pyo.ConcreteModel:
    """Build the LP for one equity ``objective`` (``maximin``, ``range`` or ``mad``).

    All level objectives are built and deactivated; ``solve`` activates them in turn and
    fixes each optimum through the ``level_bound`` constraints.
    """
    m = pyo.ConcreteModel(name="central_adjustment_fund")
    n = len(coeffs.codes)
    m.UNITS = pyo.RangeSet(0, n - 1)
    m.SHARED = pyo.Set(initialize=[p for p in range(n) if coeffs.min_local_share[p] > 0])
    m.LEVELS = pyo.Set(initialize=LEVELS, ordered=True)
    m.objective_kind = objective
    m.decisions = DECISIONS
    m.unitless_levels = (LEVEL_EQUITY,)
    m.scenario_bounds_of = functools.partial(scenario_bounds, objective=objective)
    m.deferred_rows = DEFERRED_ROWS

    m.need = pyo.Param(m.UNITS, mutable=True, initialize=0.0)
    m.held = pyo.Param(m.UNITS, mutable=True, initialize=0.0)
    m.rule_allocation = pyo.Param(m.UNITS, mutable=True, initialize=0.0)
    m.fund = pyo.Param(mutable=True, initialize=0.0)
    m.central_budget = pyo.Param(mutable=True, initialize=0.0)
    m.level_optimum = pyo.Param(m.LEVELS, mutable=True, initialize=UNBOUNDED)
    m.months_per_money = {p: MONTHS_PER_YEAR / coeffs.expenditure[p] for p in range(n)}
    m.total_expenditure = float(coeffs.expenditure.sum())

    m.transfer = pyo.Var(m.UNITS, within=pyo.NonNegativeReals)
    m.local_subsidy = pyo.Var(m.UNITS, within=pyo.NonNegativeReals)
    m.central_subsidy = pyo.Var(m.UNITS, within=pyo.NonNegativeReals)
    m.unfunded_gap = pyo.Var(m.UNITS, within=pyo.NonNegativeReals)
    m.rule_distance = pyo.Var(m.UNITS, within=pyo.NonNegativeReals)

    add_fund_balance(m)
    add_full_payment(m)
    add_local_share(m, coeffs.min_local_share)
    add_central_budget(m)
    add_rule_distance(m)
    add_imbalance(m, objective)
    add_level_objectives(m)
    update_coefficients(m, coeffs)
    return m


def closing(m: pyo.ConcreteModel, p: int) -> pyo.Expression:
    """``closing_p = K_p + a_p + l_p + g_p`` (the unfunded gap is not money held)."""
    return m.held[p] + m.transfer[p] + m.local_subsidy[p] + m.central_subsidy[p]


def months(m: pyo.ConcreteModel, p: int) -> pyo.Expression:
    """Reserve months ``M_p = 12 · closing_p / expenditure_p``."""
    return m.months_per_money[p] * closing(m, p)


def add_fund_balance(m: pyo.ConcreteModel) -> None:
    """The fund pays out what it raises: ``Σ_p a_p = Σ_p contribution_p``."""
    m.fund_balance = pyo.Constraint(expr=pyo.quicksum(m.transfer[p] for p in m.UNITS) == m.fund)


def add_full_payment(m: pyo.ConcreteModel) -> None:
    """Pensions paid in full: ``closing_p + u_p ≥ floor_p``, i.e. ``a+l+g+u ≥ floor − K``."""

    def rule(m: pyo.ConcreteModel, p: int) -> pyo.Expression:
        return (
            m.transfer[p] + m.local_subsidy[p] + m.central_subsidy[p] + m.unfunded_gap[p]
            >= m.need[p]
        )

    m.full_payment = pyo.Constraint(m.UNITS, rule=rule)


def add_local_share(m: pyo.ConcreteModel, share: np.ndarray) -> None:
    """Local finance bears its share: ``l_p ≥ s_p (l_p + g_p)``, i.e. ``(1−s)l − s·g ≥ 0``."""

    def rule(m: pyo.ConcreteModel, p: int) -> pyo.Expression:
        s = float(share[p])
        return (1.0 - s) * m.local_subsidy[p] - s * m.central_subsidy[p] >= 0.0

    m.local_share = pyo.Constraint(m.SHARED, rule=rule)


def add_central_budget(m: pyo.ConcreteModel) -> None:
    """Extra central money is budgeted: ``Σ_p g_p ≤ central_subsidy_budget``."""
    m.central_budget_limit = pyo.Constraint(
        expr=pyo.quicksum(m.central_subsidy[p] for p in m.UNITS) <= m.central_budget
    )


def add_rule_distance(m: pyo.ConcreteModel) -> None:
    """``e_p ≥ |a_p − rule_p|`` as two rows; Σ e is the last level's objective."""
    m.rule_distance_above = pyo.Constraint(
        m.UNITS, rule=lambda m, p: m.rule_distance[p] >= m.transfer[p] - m.rule_allocation[p]
    )
    m.rule_distance_below = pyo.Constraint(
        m.UNITS, rule=lambda m, p: m.rule_distance[p] >= m.rule_allocation[p] - m.transfer[p]
    )


def add_imbalance(m: pyo.ConcreteModel, objective: str) -> None:
    """The equity level's rows and its expression ``m.imbalance`` (to minimise).

    - maximin: ``t ≤ M_p`` for all p; minimise ``−t``.
    - range: ``lo ≤ M_p ≤ hi``; minimise ``hi − lo``.
    - mad: ``d_p ≥ |M_p − M̄|``; minimise ``Σ d / n``. The national months ``M̄`` is a
      variable with one defining row, ``M̄ = 12 Σ closing / Σ expenditure``: written into
      every ``mad`` row instead, it would put every unit's columns in every row, n² entries
      (8 million at 2,850 units).
    """
    if objective == "maximin":
        m.lowest_months = pyo.Var()
        m.maximin_rows = pyo.Constraint(m.UNITS, rule=lambda m, p: m.lowest_months <= months(m, p))
        m.imbalance = pyo.Expression(expr=-m.lowest_months)
    elif objective == "range":
        m.lowest_months = pyo.Var()
        m.highest_months = pyo.Var()
        m.range_low = pyo.Constraint(m.UNITS, rule=lambda m, p: m.lowest_months <= months(m, p))
        m.range_high = pyo.Constraint(m.UNITS, rule=lambda m, p: m.highest_months >= months(m, p))
        m.imbalance = pyo.Expression(expr=m.highest_months - m.lowest_months)
    elif objective == "mad":
        m.deviation = pyo.Var(m.UNITS, within=pyo.NonNegativeReals)
        m.national_months = pyo.Var()
        m.national_months_definition = pyo.Constraint(
            expr=m.national_months
            == MONTHS_PER_YEAR / m.total_expenditure * pyo.quicksum(closing(m, p) for p in m.UNITS)
        )
        m.mad_above = pyo.Constraint(
            m.UNITS, rule=lambda m, p: m.deviation[p] >= months(m, p) - m.national_months
        )
        m.mad_below = pyo.Constraint(
            m.UNITS, rule=lambda m, p: m.deviation[p] >= m.national_months - months(m, p)
        )
        m.imbalance = pyo.Expression(
            expr=pyo.quicksum(m.deviation[p] for p in m.UNITS) / len(m.UNITS)
        )
    else:
        raise ValueError(f"unknown objective {objective!r}")


def add_level_objectives(m: pyo.ConcreteModel) -> None:
    """One deactivated objective per level, and a row per level holding its optimum.

    ``level_bound[k]``: ``f_k(x) ≤ level_optimum[k]`` keeps level k at its optimum (plus
    the tolerance the solver adds) while later levels are optimised; its right-hand side
    is ``UNBOUNDED`` until then, so the model's structure never changes between solves.
    """
    expressions = {
        LEVEL_GAP: pyo.quicksum(m.unfunded_gap[p] for p in m.UNITS),
        LEVEL_SUBSIDY: pyo.quicksum(m.local_subsidy[p] + m.central_subsidy[p] for p in m.UNITS),
        LEVEL_CENTRAL: pyo.quicksum(m.central_subsidy[p] for p in m.UNITS),
        LEVEL_EQUITY: m.imbalance,
        LEVEL_RULE: pyo.quicksum(m.rule_distance[p] for p in m.UNITS),
    }
    m.level_value = pyo.Expression(m.LEVELS, rule=lambda m, k: expressions[k])
    m.level_objective = pyo.Objective(m.LEVELS, rule=lambda m, k: m.level_value[k])
    m.level_objective.deactivate()
    m.level_bound = pyo.Constraint(
        m.LEVELS, rule=lambda m, k: m.level_value[k] <= m.level_optimum[k]
    )


Bounds = tuple[np.ndarray, np.ndarray]
"""``(lower, upper)`` arrays over one component's index, in the component's order."""


@dataclass(frozen=True)
class ScenarioBounds:
    """Every number a scenario changes in the built LP, as bounds the solver can push.

    Attributes:
        columns: variable name → bounds of each of its columns.
        rows: constraint name → bounds on each row's linear part (the body's constant,
            e.g. ``K_p`` inside ``months``, moved into the bounds). The level rows are not
            here: the solver drives them level by level.
    """

    columns: dict[str, Bounds]
    rows: dict[str, Bounds]


def scenario_bounds(coeffs: Coefficients, objective: str) -> ScenarioBounds:
    """One scenario's column and row bounds from ``coeffs`` alone, with no Pyomo in the way.

    Each row is read as Pyomo compiles the family above it: ``lhs ≥ rhs`` and ``lhs ≤ rhs``
    between two expressions become ``lhs − rhs`` against 0, and the constant of that body
    goes to the bound. The matrix and the level costs are not here: no scenario changes
    them (a scenario only moves Params and bounds). ``solve.LexicographicSolver`` refuses a
    model whose compilation disagrees with these numbers or has a family missing here, and
    tests/test_solver_route.py checks that pushing them over another scenario gives
    exactly a fresh compilation.
    """
    n = len(coeffs.codes)
    zero, free = np.zeros(n), np.full(n, math.inf)
    held = coeffs.held
    held_months = MONTHS_PER_YEAR / coeffs.expenditure * held  # the constant of M_p
    rule = coeffs.rule_allocation
    shared = int(np.count_nonzero(coeffs.min_local_share > 0))
    one = np.ones(1)
    columns: dict[str, Bounds] = {
        "transfer": (coeffs.lower, coeffs.upper),
        "local_subsidy": (zero, coeffs.local_cap),
        "central_subsidy": (zero, free),
        "unfunded_gap": (zero, free),
        "rule_distance": (zero, free),
    }
    rows: dict[str, Bounds] = {
        "fund_balance": (coeffs.fund * one, coeffs.fund * one),  # Σ a = fund
        "full_payment": (coeffs.floor - held, free),  # a + l + g + u ≥ floor − K
        "local_share": (np.zeros(shared), np.full(shared, math.inf)),  # (1−s)l − s·g ≥ 0
        "central_budget_limit": (-math.inf * one, coeffs.central_budget * one),  # Σ g ≤ B
        "rule_distance_above": (-free, rule),  # a − e ≤ rule
        "rule_distance_below": (-free, -rule),  # −a − e ≤ −rule
    }
    if objective in ("maximin", "range"):
        columns["lowest_months"] = (-math.inf * one, math.inf * one)
        low = "maximin_rows" if objective == "maximin" else "range_low"
        rows[low] = (-free, held_months)  # t − 12(a+l+g)/E ≤ 12K/E
        if objective == "range":
            columns["highest_months"] = (-math.inf * one, math.inf * one)
            rows["range_high"] = (-free, -held_months)  # 12(a+l+g)/E − hi ≤ −12K/E
    elif objective == "mad":
        columns["deviation"] = (zero, free)
        columns["national_months"] = (-math.inf * one, math.inf * one)
        national = MONTHS_PER_YEAR / float(coeffs.expenditure.sum()) * float(held.sum())
        # M̄ − 12 Σ(a+l+g)/ΣE = 12 ΣK/ΣE
        rows["national_months_definition"] = (national * one, national * one)
        rows["mad_above"] = (-free, -held_months)  # 12(a+l+g)/E − M̄ − d ≤ −12K/E
        rows["mad_below"] = (-free, held_months)  # M̄ − 12(a+l+g)/E − d ≤ 12K/E
    else:
        raise ValueError(f"unknown objective {objective!r}")
    return ScenarioBounds(columns=columns, rows=rows)


def update_coefficients(m: pyo.ConcreteModel, coeffs: Coefficients) -> None:
    """Load one scenario's numbers into the built model (mutable params and bounds);
    ``m.coefficients`` keeps them, for the solver to check its compilation against."""
    need = coeffs.floor - coeffs.held
    held = coeffs.held
    for p in m.UNITS:
        m.need[p] = float(need[p])
        m.held[p] = float(held[p])
        m.rule_allocation[p] = float(coeffs.rule_allocation[p])
        m.transfer[p].setlb(float(coeffs.lower[p]))
        m.transfer[p].setub(float(coeffs.upper[p]))
        m.local_subsidy[p].setub(float(coeffs.local_cap[p]))
    m.fund = coeffs.fund
    m.central_budget = coeffs.central_budget
    m.coefficients = coeffs
    release_levels(m)
    m.level_objective.deactivate()


def release_levels(m: pyo.ConcreteModel) -> None:
    """Free every level row before a new lexicographic solve."""
    for k in m.LEVELS:
        m.level_optimum[k] = UNBOUNDED
