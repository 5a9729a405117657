"""The lexicographic solve with HiGHS: the one module that names the solver.

The built Pyomo model is compiled once by ``matrix.linear_form`` (Pyomo's public
``LinearRepnVisitor`` over every row and level objective) into numpy arrays: a column-wise
matrix, the bounds, one cost row per level and the rows' and columns' Pyomo components; they
are handed to ``highspy`` as one ``HighsLp``. Each further scenario of a sweep only pushes
the column and row bounds that ``formulation.scenario_bounds`` computes from its
``Coefficients`` (numpy to HiGHS, no Pyomo evaluation). The levels are driven on the loaded
HiGHS instance: each level swaps the cost vector and, once solved, tightens its own
``level_bound`` row to ``f_k ≤ f_k* + tol_k``.
Nothing is re-sent between levels, which is what keeps sweeps and county-scale models fast:
a level costs about one HiGHS ``run``.

The model is always feasible (the unfunded gap is elastic), so anything but an optimal
end is a solver failure: it is raised, and no value is ever read after it.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import highspy
import numpy as np
import pyomo.environ as pyo
from pyomo.common.tee import capture_output

from model.lp.formulation import (
    LEVEL_EQUITY,
    LEVEL_GAP,
    LEVEL_RULE,
    LEVEL_SUBSIDY,
    LEVELS,
    ScenarioBounds,
)
from model.lp.matrix import LinearForm, NotLinear, linear_form

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
        transfer_dual: per unit, the reduced cost of its transfer at the dual level: where
            the transfer sits at a lower bound (a guardrail or the band), the subsidy (or
            gap) that bound costs per 亿; at an upper bound, minus what one more 亿 of room
            would save. Zero where the transfer is between its bounds.
        solver: the solver's name and version.
    """

    levels: tuple[LevelOutcome, ...]
    values: dict[str, np.ndarray]
    dual_level: str
    full_payment_dual: tuple[float, ...]
    fund_dual: float
    solver: str
    transfer_dual: tuple[float, ...] = ()
    timings: dict[str, float] = field(default_factory=dict)

    def level(self, name: str) -> LevelOutcome:
        """The outcome of the named level."""
        return next(level for level in self.levels if level.name == name)


@dataclass(frozen=True)
class FrontierSolution:
    """One point of the equity–rule frontier as the solver left it.

    Attributes:
        target: the imbalance it was held at, ``e_k``.
        imbalance: the imbalance reached (at most ``e_k`` plus its tolerance).
        rule_distance: ``Σ |a − rule|`` (亿元), minimised under that hold.
        values: the decisions, one array per name in ``DECISIONS``.
    """

    target: float
    imbalance: float
    rule_distance: float
    values: dict[str, np.ndarray]


@functools.cache
def solver_version() -> str:
    """``HiGHS x.y.z`` for run_info.

    The first HiGHS instance of a process prints a banner on standard output, which would
    spoil ``caf run --json -``: it is made here, with the output captured, and every later
    instance is silent.
    """
    with capture_output(capture_fd=True):
        highs = highspy.Highs()
    return f"HiGHS {highs.versionMajor()}.{highs.versionMinor()}.{highs.versionPatch()}"


BUILT_AGREEMENT = 1e-9
"""How closely ``formulation.scenario_bounds`` must reproduce Pyomo's compilation of the
built scenario (relative, or absolute below 1): far above round-off, far below any bound
that means something."""


class LexicographicSolver:
    """A built model compiled once, loaded into HiGHS once, solved level by level, scenario
    after scenario.

    Everything is read through public doors: ``matrix.linear_form`` walks the model with
    Pyomo's public expression visitor and gives the matrix, one cost row per level objective,
    and for each row its constraint and for each column its variable, from which the index
    maps are kept; ``highspy`` takes them as one ``HighsLp``. ``load`` then pushes another
    scenario's bounds.

    On loading, the compilation is checked, and refused with ``SolverFailure``: the model
    must be linear with no fixed variable and no NaN bound, HiGHS must hold one column per
    variable and one row per constraint, every variable and constraint family must have its
    bounds in ``formulation.scenario_bounds``, and those bounds must reproduce the compiled
    ones for the scenario the model was built with.

    Args:
        model: a model from ``formulation.build_model``; it keeps the numbers it was built
            with, while ``coefficients`` says which scenario HiGHS holds.
    """

    def __init__(self, model: pyo.ConcreteModel) -> None:
        self.model = model
        self.objective_kind: str = model.objective_kind
        self._built: Any = model.coefficients
        self.coefficients = self._built
        self.levels: tuple[str, ...] = tuple(model.LEVELS)
        self._unitless: tuple[str, ...] = model.unitless_levels
        self._bounds_of: Callable[[Any], ScenarioBounds] = model.scenario_bounds_of
        n_variables = sum(1 for _ in model.component_data_objects(pyo.Var, descend_into=True))
        constraints = sum(1 for _ in model.component_data_objects(pyo.Constraint, active=True))
        try:
            compiled = linear_form(model, {k: model.level_objective[k] for k in self.levels})
        except NotLinear as error:
            raise SolverFailure(f"the model cannot go to HiGHS: {error}") from error
        columns = {id(v): j for j, v in enumerate(compiled.columns)}
        rows = {id(c): i for i, c in enumerate(compiled.rows)}
        n_rows, n_columns = compiled.shape
        if n_columns != n_variables or n_rows != len(rows) or n_rows != constraints:
            raise SolverFailure(
                f"compiled {n_columns} columns and {n_rows} rows for a model of "
                f"{n_variables} variables and {constraints} constraints"
            )
        row_lower, row_upper = compiled.row_lower.copy(), compiled.row_upper.copy()
        column_lower, column_upper = compiled.column_lower, compiled.column_upper

        def indices(name: str, index: dict[int, int]) -> np.ndarray:
            component = model.component(name)
            if component is None:
                raise SolverFailure(f"scenario_bounds names {name}, which the model lacks")
            return np.array([index[id(d)] for d in component.values()], dtype=np.int32)

        # Level rows ``f_k ≤ level_optimum``: loaded free; solve moves their upper bounds,
        # less the row's constant.
        self._level_rows = {k: rows[id(model.level_bound[k])] for k in self.levels}
        self._level_row_index = np.array(list(self._level_rows.values()), dtype=np.int32)
        self._level_row_constant = {
            k: float(compiled.row_constant[i]) for k, i in self._level_rows.items()
        }
        row_lower[self._level_row_index] = -math.inf
        row_upper[self._level_row_index] = math.inf

        expected = self._bounds_of(self._built)
        self._column_families = list(expected.columns)
        self._row_families = list(expected.rows)
        column_parts = {name: indices(name, columns) for name in self._column_families}
        row_parts = {name: indices(name, rows) for name in self._row_families}
        self._column_index = _concatenate(column_parts.values())
        self._row_index = _concatenate(row_parts.values())
        # Rows first needed at a later level (the equity and rule-distance definitions) are
        # released until then: they only define columns no earlier level costs, and without
        # them the early levels are a far smaller LP for HiGHS.
        self._deferred: dict[str, tuple[str, ...]] = {
            level: tuple(f for f in families if f in row_parts)
            for level, families in getattr(model, "deferred_rows", {}).items()
            if level in self.levels
        }
        self._deferred_index = {
            level: _concatenate([row_parts[f] for f in families] or [np.zeros(0, np.int32)])
            for level, families in self._deferred.items()
        }
        self._deferred_bounds = {
            level: (row_lower[index].copy(), row_upper[index].copy())
            for level, index in self._deferred_index.items()
        }
        _check_covered("variable", self._column_index, n_columns, compiled.columns)
        covered = np.concatenate([self._row_index, self._level_row_index])
        _check_covered("constraint", covered, n_rows, compiled.rows)
        disagree = [
            name
            for name, index in column_parts.items()
            if not _agrees(expected.columns[name], (column_lower[index], column_upper[index]))
        ] + [
            name
            for name, index in row_parts.items()
            if not _agrees(expected.rows[name], (row_lower[index], row_upper[index]))
        ]
        if disagree:
            raise SolverFailure(
                f"formulation.scenario_bounds disagrees with the compiled model in {disagree}"
            )

        # Costs: one row per level objective, all minimised.
        self.costs: dict[str, np.ndarray] = compiled.costs
        self.cost_offsets: dict[str, float] = compiled.cost_offsets

        solver_version()  # the first instance's banner, swallowed
        self._highs = highspy.Highs()
        self._highs.setOptionValue("output_flag", False)
        self._highs.setOptionValue("threads", 1)
        self._pass(compiled, column_lower, column_upper, row_lower, row_upper)
        if self._highs.getNumCol() != n_columns or self._highs.getNumRow() != n_rows:
            raise SolverFailure(
                f"HiGHS holds {self._highs.getNumCol()} columns and {self._highs.getNumRow()} "
                f"rows for a model of {n_columns} variables and {n_rows} constraints"
            )
        self._n_columns = n_columns
        # A plan names the levels it solves cold by interior point (``interior_levels``);
        # every other level goes by primal simplex from the basis before it: only the cost
        # changes between levels, so that basis stays primal feasible, and a plan's late
        # held levels are thin, degenerate regions where interior point stalls.
        # Below ``LARGE_MODEL_COLUMNS`` columns primal simplex is the faster route for those
        # levels too (the sample's plan: 0.3 s against 0.5 s a draw, measured side by side).
        self.interior_levels: tuple[str, ...] | None = getattr(model, "interior_levels", None)
        if self.interior_levels is not None and n_columns < LARGE_MODEL_COLUMNS:
            self.interior_levels = ()
        self.large = n_columns >= LARGE_MODEL_COLUMNS and self.interior_levels is None
        if self.large:
            self._highs.setOptionValue("solver", "ipm")
        self._columns = {name: indices(name, columns) for name in model.decisions}
        # A plan's matrix holds data: its data-dependent entries are located once, checked
        # against the compilation, and ``load`` rewrites them for another draw.
        self._matrix_values_of: Callable[[Any], dict[str, np.ndarray]] | None = getattr(
            model, "matrix_values_of", None
        )
        self._same_structure: Callable[[Any], bool] | None = getattr(model, "same_structure", None)
        self._entries: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        if self._matrix_values_of is not None:
            self._entries = _locate_entries(model, model.matrix_layout, rows, columns)
            _check_entries(compiled, self._entries, self._matrix_values_of(self._built))
        # Duals in policy terms are a single year's: a plan's rows are per year and unit.
        self._reads_duals = not model.fund_balance.is_indexed()
        if self._reads_duals:
            self._full_payment_rows = indices("full_payment", rows)
            self._fund_row = rows[id(model.fund_balance)]
        self._all_columns = np.arange(n_columns, dtype=np.int32)

    @property
    def highs(self) -> highspy.Highs:
        """The HiGHS instance holding the LP (to inspect it; ``load`` and ``solve`` drive it)."""
        return self._highs

    def _pass(
        self,
        compiled: LinearForm,
        column_lower: np.ndarray,
        column_upper: np.ndarray,
        row_lower: np.ndarray,
        row_upper: np.ndarray,
    ) -> None:
        n_rows, n_columns = compiled.shape
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = n_columns, n_rows
        lp.col_cost_ = np.zeros(n_columns)
        lp.col_lower_, lp.col_upper_ = column_lower, column_upper
        lp.row_lower_, lp.row_upper_ = row_lower, row_upper
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = n_columns, n_rows
        lp.a_matrix_.start_ = compiled.start
        lp.a_matrix_.index_ = compiled.index
        lp.a_matrix_.value_ = compiled.value
        if self._highs.passModel(lp) == highspy.HighsStatus.kError:
            raise SolverFailure("HiGHS refused the compiled LP")

    def load(self, coeffs: Any) -> None:
        """Push another scenario of the same dataset: every column and row bound, the level
        rows released. The costs stay. A single year's matrix stays too: no scenario
        changes it. A plan's data-dependent entries (``plan.MatrixFamily``) are rewritten,
        so one built plan serves every growth draw of the plan under uncertainty.

        Raises:
            ValueError: ``coeffs`` are of another dataset (for a single year: units,
                expenditure or local shares differ, and those are in the matrix; for a
                plan: other units, years or families of rows).
            SolverFailure: HiGHS refused a bound or a coefficient.
        """
        fits = (
            self._same_structure(coeffs)
            if self._same_structure is not None
            else self._built.same_matrix(coeffs)
        )
        if not fits:
            raise ValueError("these coefficients are of another dataset than the built model")
        bounds = self._bounds_of(coeffs)
        highs = self._highs
        if self._matrix_values_of is not None:
            self._push_entries(self._matrix_values_of(coeffs))
        statuses = [
            highs.changeColsBounds(
                len(self._column_index),
                self._column_index,
                _concatenate(bounds.columns[name][0] for name in self._column_families),
                _concatenate(bounds.columns[name][1] for name in self._column_families),
            ),
            highs.changeRowsBounds(  # type: ignore[attr-defined]
                len(self._row_index),
                self._row_index,
                _concatenate(bounds.rows[name][0] for name in self._row_families),
                _concatenate(bounds.rows[name][1] for name in self._row_families),
            ),
        ]
        self._release_levels()
        if highspy.HighsStatus.kError in statuses:
            raise SolverFailure("HiGHS refused the bounds of this scenario")
        self._deferred_bounds = {
            level: (
                _concatenate([bounds.rows[f][0] for f in families] or [np.zeros(0)]),
                _concatenate([bounds.rows[f][1] for f in families] or [np.zeros(0)]),
            )
            for level, families in self._deferred.items()
        }
        if self._matrix_values_of is not None:
            # HiGHS keeps state from the draws solved before (clearSolver does not drop it),
            # and a plan's last levels have alternate optima: passing the LP afresh makes a
            # draw's decisions its own, whatever was solved before it in the batch.
            self._highs.passModel(self._highs.getLp())
        self.coefficients = coeffs

    def _push_entries(self, values: dict[str, np.ndarray]) -> None:
        """Rewrite the data-dependent matrix entries, one ``changeCoeff`` each."""
        change = self._highs.changeCoeff
        failed = False
        for name, (row_index, column_index) in self._entries.items():
            triples = zip(
                row_index.tolist(), column_index.tolist(), values[name].tolist(), strict=True
            )
            for i, j, v in triples:
                failed |= change(i, j, v) == highspy.HighsStatus.kError
        if failed:
            raise SolverFailure("HiGHS refused a matrix coefficient of this draw")

    def _release_levels(self) -> None:
        n = len(self._level_row_index)
        self._highs.changeRowsBounds(  # type: ignore[attr-defined]
            n, self._level_row_index, np.full(n, -math.inf), np.full(n, math.inf)
        )

    def _defer_rows(self) -> None:
        """Release the rows of every later level's own definitions (see ``__init__``)."""
        for index in self._deferred_index.values():
            n = len(index)
            self._highs.changeRowsBounds(  # type: ignore[attr-defined]
                n, index, np.full(n, -math.inf), np.full(n, math.inf)
            )

    def _enforce_rows(self, level: str) -> None:
        """Give the rows first needed at ``level`` their scenario bounds."""
        index = self._deferred_index.get(level)
        if index is not None and len(index):
            lower, upper = self._deferred_bounds[level]
            self._highs.changeRowsBounds(len(index), index, lower, upper)  # type: ignore[attr-defined]

    def _hold(self, level: str, value: float) -> None:
        """Hold ``level`` at most at ``value`` (``math.inf`` releases it)."""
        self._highs.changeRowBounds(
            self._level_rows[level], -math.inf, value - self._level_row_constant[level]
        )

    def _optimise(self, level: str) -> np.ndarray:
        """Minimise one level's objective under the rows now held; the solution.

        Raises:
            SolverFailure: HiGHS did not end optimal.
        """
        highs = self._highs
        if self.large:
            highs.clearSolver()
        highs.changeColsCost(self._n_columns, self._all_columns, self.costs[level])
        highs.run()
        status = highs.getModelStatus()
        if status != highspy.HighsModelStatus.kOptimal:
            raise SolverFailure(
                f"HiGHS ended a frontier solve ({level}) with {highs.modelStatusToString(status)}"
            )
        return np.asarray(highs.getSolution().col_value, dtype=float)

    def level_value(self, level: str, solution: np.ndarray) -> float:
        """A level's objective at ``solution``."""
        return float(self.costs[level] @ solution) + self.cost_offsets[level]

    def frontier(self, outcome: SolveOutcome, points: int) -> tuple[FrontierSolution, ...]:
        """The equity–rule frontier (docs/formulation.md §4), right after ``solve``.

        With the gap and both subsidy levels held as ``solve`` left them: ``e₀`` is the best
        imbalance among the allocations nearest the rule (rule distance first, then
        imbalance); ``e*`` is the imbalance optimum. For ``points`` targets ``e_k`` evenly
        from ``e₀`` to ``e*``, the rule distance is minimised with the imbalance held at
        ``e_k``. The last point is the ordinary run; with nothing to trade (a band of 0, or
        ``e₀ = e*``) there is one point.
        """
        equity = outcome.level(LEVEL_EQUITY)
        rule = outcome.level(LEVEL_RULE)
        self._hold(LEVEL_EQUITY, math.inf)
        self._hold(LEVEL_RULE, math.inf)
        nearest = self.level_value(LEVEL_RULE, self._optimise(LEVEL_RULE))
        self._hold(LEVEL_RULE, nearest + rule.tolerance)
        start = self.level_value(LEVEL_EQUITY, self._optimise(LEVEL_EQUITY))
        self._hold(LEVEL_RULE, math.inf)
        best = equity.objective
        if points <= 1 or start - best <= equity.tolerance:
            targets = [best]
        else:
            targets = [start + (best - start) * k / (points - 1) for k in range(points)]
        solutions = []
        for target in targets:
            self._hold(LEVEL_EQUITY, target + equity.tolerance)
            solution = self._optimise(LEVEL_RULE)
            solutions.append(
                FrontierSolution(
                    target=target,
                    imbalance=self.level_value(LEVEL_EQUITY, solution),
                    rule_distance=self.level_value(LEVEL_RULE, solution),
                    values={name: solution[index] for name, index in self._columns.items()},
                )
            )
        return tuple(solutions)

    def solve(self, scale: float) -> SolveOutcome:
        """Solve every level in order, holding each optimum within its tolerance.

        Args:
            scale: the money size of the model (``Coefficients.money_scale``).

        Raises:
            SolverFailure: a level did not end optimal.
        """
        highs = self._highs
        highs.clearSolver()
        self._release_levels()
        self._defer_rows()
        outcomes: list[LevelOutcome] = []
        duals: tuple[float, ...] = ()
        fund_dual = 0.0
        transfer_dual: tuple[float, ...] = ()
        dual_level = LEVEL_SUBSIDY
        for name in self.levels:
            self._enforce_rows(name)
            if self.interior_levels is not None:
                interior = name in self.interior_levels
                if interior:
                    highs.clearSolver()
                highs.setOptionValue("solver", "ipm" if interior else "simplex")
                highs.setOptionValue("simplex_strategy", 4)
            if self.large:
                highs.clearSolver()
            highs.changeColsCost(self._n_columns, self._all_columns, self.costs[name])
            started = time.perf_counter()
            highs.run()
            seconds = time.perf_counter() - started
            status = highs.getModelStatus()
            if status != highspy.HighsModelStatus.kOptimal:
                raise SolverFailure(
                    f"HiGHS ended level {name} with {highs.modelStatusToString(status)}; the "
                    "model is elastic, so this is a solver or data-scale problem"
                )
            value = float(highs.getInfo().objective_function_value) + self.cost_offsets[name]
            size = max(1.0, abs(value)) if name in self._unitless else scale
            tolerance = RELATIVE_TOLERANCE * size + ABSOLUTE_TOLERANCE
            outcomes.append(LevelOutcome(name, value, "optimal", seconds, tolerance))
            if name == LEVEL_GAP and value > negligible(scale):
                dual_level = LEVEL_GAP
            if name == dual_level and self._reads_duals:
                row_dual = np.asarray(highs.getSolution().row_dual, dtype=float)
                duals = tuple(float(d) + 0.0 for d in row_dual[self._full_payment_rows])
                fund_dual = -float(row_dual[self._fund_row]) + 0.0
                col_dual = np.asarray(highs.getSolution().col_dual, dtype=float)
                transfer_dual = tuple(float(d) + 0.0 for d in col_dual[self._columns["transfer"]])
            highs.changeRowBounds(
                self._level_rows[name],
                -math.inf,
                value + tolerance - self._level_row_constant[name],
            )
        solution = np.asarray(highs.getSolution().col_value, dtype=float)
        values = {name: solution[index] for name, index in self._columns.items()}
        return SolveOutcome(
            levels=tuple(outcomes),
            values=values,
            dual_level=dual_level,
            full_payment_dual=duals,
            fund_dual=fund_dual,
            solver=solver_version(),
            transfer_dual=transfer_dual,
        )


def _locate_entries(
    model: pyo.ConcreteModel,
    layout: dict[str, Any],
    rows: dict[int, int],
    columns: dict[int, int],
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Each matrix family's (row, column) positions in the compiled LP."""
    located = {}
    for name, family in layout.items():
        row, column = model.component(family.row), model.component(family.column)
        if row is None or column is None:
            raise SolverFailure(f"matrix family {name} names a component the model lacks")
        located[name] = (
            np.array([rows[id(row[key])] for key in family.row_keys], dtype=np.int32),
            np.array([columns[id(column[key])] for key in family.column_keys], dtype=np.int32),
        )
    return located


def _check_entries(
    compiled: LinearForm,
    entries: dict[str, tuple[np.ndarray, np.ndarray]],
    values: dict[str, np.ndarray],
) -> None:
    """Refuse a layout whose values for the built data disagree with the compilation: then
    ``load`` would write a coefficient into the wrong place, or with the wrong sign."""
    n_rows, _ = compiled.shape
    counts = np.diff(compiled.start)
    column_of = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
    keys = column_of * n_rows + compiled.index.astype(np.int64)
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    wrong = []
    for name, (row_index, column_index) in entries.items():
        wanted = column_index.astype(np.int64) * n_rows + row_index
        at = np.searchsorted(sorted_keys, wanted)
        found = (at < len(sorted_keys)) & (sorted_keys[np.minimum(at, len(keys) - 1)] == wanted)
        compiled_values = np.where(found, compiled.value[order[np.minimum(at, len(keys) - 1)]], 0.0)
        if values[name].shape != wanted.shape or not np.allclose(
            compiled_values, values[name], rtol=BUILT_AGREEMENT, atol=BUILT_AGREEMENT
        ):
            wrong.append(name)
    if wrong:
        raise SolverFailure(f"the plan's matrix families disagree with the compiled model: {wrong}")


def _concatenate(parts: object) -> np.ndarray:
    return np.concatenate([np.asarray(p) for p in parts])  # type: ignore[attr-defined]


def _check_covered(what: str, index: np.ndarray, size: int, components: list) -> None:
    """Every column (row) in exactly one family of ``scenario_bounds`` (or a level row)."""
    counts = np.bincount(index, minlength=size)
    if np.all(counts == 1):
        return
    missing = sorted({components[i].parent_component().name for i in np.flatnonzero(counts == 0)})
    raise SolverFailure(
        f"formulation.scenario_bounds has no bounds for the {what} families {missing}"
        if missing
        else f"formulation.scenario_bounds names a {what} twice"
    )


def _agrees(hand: tuple[np.ndarray, np.ndarray], compiled: tuple[np.ndarray, np.ndarray]) -> bool:
    return all(
        a.shape == b.shape and bool(np.allclose(a, b, rtol=BUILT_AGREEMENT, atol=BUILT_AGREEMENT))
        for a, b in zip(hand, compiled, strict=True)
    )


def solve_lexicographic(m: pyo.ConcreteModel, scale: float) -> SolveOutcome:
    """Compile and load a built model into HiGHS, and solve its levels."""
    return LexicographicSolver(m).solve(scale)
