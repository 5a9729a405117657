"""The lexicographic solve with HiGHS: the one module that names the solver.

The Pyomo model is loaded into HiGHS once through Pyomo's persistent interface
(``pyomo.contrib.solver``'s ``Highs``, what ``SolverFactory('highs')`` resolves to), which
also pushes each scenario's mutable parameters and bounds. The levels are then driven on
the loaded HiGHS instance itself: each level swaps the cost vector and, once solved,
tightens its own ``level_bound`` row to ``f_k ≤ f_k* + tol_k``. Nothing is re-sent
between levels, which is what keeps sweeps and county-scale models fast: a level costs
about one HiGHS ``run``.

The model is always feasible (the unfunded gap is elastic), so anything but an optimal
end is a solver failure: it is raised, and no value is ever read after it.
"""

from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass, field

import highspy
import numpy as np
import pyomo.environ as pyo
from pyomo.contrib.solver.solvers.highs import Highs
from pyomo.repn import generate_standard_repn

from model.formulation import LEVEL_EQUITY, LEVEL_GAP, LEVEL_SUBSIDY, LEVELS

RELATIVE_TOLERANCE = 1e-9
"""Each level is held at ``f* + RELATIVE_TOLERANCE × scale + ABSOLUTE_TOLERANCE``; scale is
the money in the model (Σ expenditure) for money levels, so the tolerance scales with the
data, and ``max(1, |f*|)`` for the equity level, which is in months. Later levels may take
those crumbs (say a 0.0001亿 gap traded for 0.0001亿 less subsidy), so ``negligible`` is
set well above what all the levels together can leave."""

ABSOLUTE_TOLERANCE = 1e-7
"""Above HiGHS's own feasibility tolerance, so a held level never makes the next infeasible."""

GAP_THRESHOLD = 10 * len(LEVELS) * RELATIVE_TOLERANCE
"""The relative part of ``negligible`` (5e-8): ten times the slack every level together
may leave, so no crumb of it survives; and no larger, so that real money spread over many
small units (50 counties each 0.0025亿 short in a 30,000亿 model) is still reported."""


def negligible(scale: float) -> float:
    """The one test of what money is zero: ``GAP_THRESHOLD × scale`` plus a hundred times
    ``ABSOLUTE_TOLERANCE``, where ``scale`` is the money in the model
    (``Coefficients.money_scale``).

    A level-one optimum above it is a real unfunded gap, below it the run is full payment;
    ``results.extract`` reports every per-unit money figure below it as exactly 0, so a
    unit needs subsidy or has a gap only above it. For the national data (about 40,000亿
    of expenditure) it is 0.002亿, below the 0.01亿 a report shows.
    """
    return GAP_THRESHOLD * scale + 100 * ABSOLUTE_TOLERANCE


LARGE_MODEL_COLUMNS = 5000
"""From this many columns (about 1,000 units) each level is solved cold by interior point
with crossover: at 2,850 units that is 2.5× faster than dual simplex warm-started from the
previous level, whose basis suits the new objective poorly. Smaller models re-solve from the
previous level's basis by simplex, which costs a few iterations."""

DECISIONS: tuple[str, ...] = ("transfer", "local_subsidy", "central_subsidy", "unfunded_gap")


class SolverFailure(RuntimeError):
    """HiGHS ended a level without an optimal solution (never expected: the LP is elastic)."""


@dataclass(frozen=True)
class LevelOutcome:
    """One lexicographic level: its objective value and how the solver ended."""

    name: str
    objective: float
    termination: str
    seconds: float
    tolerance: float


@dataclass(frozen=True)
class SolveOutcome:
    """All levels solved to optimality.

    Attributes:
        levels: one outcome per level, in order.
        values: the decisions after the last level, one array per name in ``DECISIONS``.
        dual_level: where the duals were read. Duals are read where they mean something
            in policy terms: at the fiscal-subsidy level (gap held) when pensions are paid
            in full, and at the gap level when they are not, since then an extra 亿
            closes gap rather than saving subsidy.
        full_payment_dual: per unit, the extra subsidy (or gap) per 亿 of extra
            requirement there; a local, marginal value.
        fund_dual: the subsidy saved (or gap closed) by one more 亿 in the fund.
        solver: the solver's name and version.
    """

    levels: tuple[LevelOutcome, ...]
    values: dict[str, np.ndarray]
    dual_level: str
    full_payment_dual: tuple[float, ...]
    fund_dual: float
    solver: str
    timings: dict[str, float] = field(default_factory=dict)

    def level(self, name: str) -> LevelOutcome:
        """The outcome of the named level."""
        return next(level for level in self.levels if level.name == name)


@functools.cache
def solver_version() -> str:
    """``HiGHS x.y.z`` for run_info."""
    version = Highs().version()
    return "HiGHS " + ".".join(str(v) for v in version) if version else "HiGHS"


class LexicographicSolver:
    """A built model loaded into HiGHS once, solved level by level, scenario after scenario.

    Pyomo's interface has no public handle on the HiGHS instance or on its variable and
    row maps, so three private attributes are read here, and only here:
    ``_solver_model``, ``_pyomo_var_to_solver_var_map`` and
    ``_pyomo_con_to_solver_con_map``. Pyomo is pinned below 6.11 for that reason, and the
    cross-check against scipy and the golden results would catch a change. The model's
    size is checked against the maps, since a NaN bound makes HiGHS drop a column silently.

    Args:
        model: a model from ``formulation.build_model``.
    """

    def __init__(self, model: pyo.ConcreteModel) -> None:
        self.model = model
        self._interface = Highs()
        self._interface.config.load_solutions = False
        self._interface.set_instance(model)
        self._highs = self._interface._solver_model
        self._highs.setOptionValue("output_flag", False)
        self._highs.setOptionValue("threads", 1)
        columns = self._interface._pyomo_var_to_solver_var_map
        rows = self._interface._pyomo_con_to_solver_con_map
        self._n_columns = self._highs.getNumCol()
        if self._n_columns != len(columns) or self._highs.getNumRow() != len(rows):
            raise SolverFailure(
                f"HiGHS holds {self._n_columns} columns and {self._highs.getNumRow()} rows "
                f"for a model of {len(columns)} variables and {len(rows)} constraints"
            )
        self.large = self._n_columns >= LARGE_MODEL_COLUMNS
        if self.large:
            self._highs.setOptionValue("solver", "ipm")
        self._columns = {
            name: np.array([columns[id(v)] for v in getattr(model, name).values()])
            for name in DECISIONS
        }
        self._costs = {k: self._cost_vector(model.level_value[k], columns) for k in LEVELS}
        self._level_rows = {k: rows[model.level_bound[k]] for k in LEVELS}
        self._full_payment_rows = np.array([rows[c] for c in model.full_payment.values()])
        self._fund_row = rows[model.fund_balance]
        self._all_columns = np.arange(self._n_columns, dtype=np.int32)

    def _cost_vector(self, expression: pyo.Expression, columns: dict[int, int]) -> np.ndarray:
        repn = generate_standard_repn(expression.expr, compute_values=True)
        costs = np.zeros(self._n_columns)
        for var, coefficient in zip(repn.linear_vars, repn.linear_coefs, strict=True):
            costs[columns[id(var)]] += float(coefficient)
        return costs

    def refresh(self) -> None:
        """Push the model's current parameters and variable bounds into HiGHS."""
        self._interface.update_parameters()
        self._interface.update_variables(
            [
                v
                for name in ("transfer", "local_subsidy")
                for v in getattr(self.model, name).values()
            ]
        )

    def solve(self, scale: float) -> SolveOutcome:
        """Solve every level in order, holding each optimum within its tolerance.

        Args:
            scale: the money size of the model (``Coefficients.money_scale``).

        Raises:
            SolverFailure: a level did not end optimal.
        """
        highs = self._highs
        highs.clearSolver()
        for row in self._level_rows.values():
            highs.changeRowBounds(row, -math.inf, math.inf)
        outcomes: list[LevelOutcome] = []
        duals: tuple[float, ...] = ()
        fund_dual = 0.0
        dual_level = LEVEL_SUBSIDY
        for name in LEVELS:
            if self.large:
                highs.clearSolver()
            highs.changeColsCost(self._n_columns, self._all_columns, self._costs[name])
            started = time.perf_counter()
            highs.run()
            seconds = time.perf_counter() - started
            status = highs.getModelStatus()
            if status != highspy.HighsModelStatus.kOptimal:
                raise SolverFailure(
                    f"HiGHS ended level {name} with {highs.modelStatusToString(status)}; the "
                    "model is elastic, so this is a solver or data-scale problem"
                )
            value = float(highs.getInfo().objective_function_value)
            size = max(1.0, abs(value)) if name == LEVEL_EQUITY else scale
            tolerance = RELATIVE_TOLERANCE * size + ABSOLUTE_TOLERANCE
            outcomes.append(LevelOutcome(name, value, "optimal", seconds, tolerance))
            if name == LEVEL_GAP and value > negligible(scale):
                dual_level = LEVEL_GAP
            if name == dual_level:
                row_dual = np.asarray(highs.getSolution().row_dual, dtype=float)
                duals = tuple(float(d) + 0.0 for d in row_dual[self._full_payment_rows])
                fund_dual = -float(row_dual[self._fund_row]) + 0.0
            highs.changeRowBounds(self._level_rows[name], -math.inf, value + tolerance)
        solution = np.asarray(highs.getSolution().col_value, dtype=float)
        values = {name: solution[index] for name, index in self._columns.items()}
        return SolveOutcome(
            levels=tuple(outcomes),
            values=values,
            dual_level=dual_level,
            full_payment_dual=duals,
            fund_dual=fund_dual,
            solver=solver_version(),
        )


def solve_lexicographic(
    m: pyo.ConcreteModel, scale: float, solver: LexicographicSolver | None = None
) -> SolveOutcome:
    """Solve a built model's levels (loading it into HiGHS unless ``solver`` holds it)."""
    if solver is None:
        solver = LexicographicSolver(m)
    else:
        solver.refresh()
    return solver.solve(scale)
