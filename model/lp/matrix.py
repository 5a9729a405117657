"""The built Pyomo model as the arrays HiGHS takes: matrix, bounds and one cost row per level.

Every row and objective is walked once by Pyomo's public ``LinearRepnVisitor`` (the walker
Pyomo's own LP and standard-form writers use), which gives each expression's linear
coefficients by variable and its constant. The rows come from the public
``ConstraintData.to_bounded_expression`` (``lb ≤ body ≤ ub``), the body's constant moved into
the bounds as Pyomo's writers move it. Nothing else is needed: no private attribute, no
writer plugin, and no scipy (Pyomo's standard-form compiler builds scipy sparse matrices,
and loading scipy costs over a second per process). tests/test_solver_route.py checks these
arrays against Pyomo's standard-form compiler.

One row per active constraint, one column per variable, in Pyomo's component order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyomo.environ as pyo
from pyomo.repn.linear import LinearRepnVisitor


class NotLinear(ValueError):
    """The model is not a linear program this module can hand to HiGHS as it stands."""


@dataclass(frozen=True)
class LinearForm:
    """``row_lower ≤ A x ≤ row_upper``, ``column_lower ≤ x ≤ column_upper``, and costs.

    Attributes:
        columns: the variables, in column order.
        rows: the constraints, in row order.
        start, index, value: ``A`` column-wise (CSC): column j's entries are
            ``index[start[j]:start[j+1]]`` (row numbers, ascending) and their values.
        row_constant: each row body's constant, already moved into the row bounds
            (``body = A_i x + row_constant_i``).
        costs: objective name → its dense cost row (minimised); ``cost_offsets`` its constant.
    """

    columns: list[pyo.Var]
    rows: list[pyo.Constraint]
    start: np.ndarray
    index: np.ndarray
    value: np.ndarray
    column_lower: np.ndarray
    column_upper: np.ndarray
    row_lower: np.ndarray
    row_upper: np.ndarray
    row_constant: np.ndarray
    costs: dict[str, np.ndarray]
    cost_offsets: dict[str, float]

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, columns)."""
        return len(self.rows), len(self.columns)

    def dense(self) -> np.ndarray:
        """``A`` as a dense array (for tests and small models)."""
        matrix = np.zeros(self.shape)
        for j in range(len(self.columns)):
            part = slice(self.start[j], self.start[j + 1])
            matrix[self.index[part], j] = self.value[part]
        return matrix


def linear_form(model: pyo.ConcreteModel, objectives: dict[str, pyo.Objective]) -> LinearForm:
    """Compile ``model``'s active constraints and the given ``objectives`` (minimised,
    active or not) into a ``LinearForm``, reading mutable parameters at their current values.

    Raises:
        NotLinear: a fixed variable, a non-linear term, a variable outside the model, a
            maximised objective or a NaN bound (which HiGHS would silently misread).
    """
    columns = list(model.component_data_objects(pyo.Var, descend_into=True))
    fixed = [v.name for v in columns if v.fixed]
    if fixed:
        raise NotLinear(f"fixed variables {fixed[:5]} (this route gives every variable a column)")
    column_of = {id(v): j for j, v in enumerate(columns)}
    visitor = LinearRepnVisitor({})

    def walk(expr: object, where: str) -> tuple[dict[int, float], float]:
        repn = visitor.walk_expression(expr)
        if repn.nonlinear is not None:
            raise NotLinear(f"{where} is not linear")
        return repn.linear, float(repn.constant)

    rows = list(model.component_data_objects(pyo.Constraint, active=True, descend_into=True))
    n_rows = len(rows)
    row_lower = np.empty(n_rows)
    row_upper = np.empty(n_rows)
    row_constant = np.empty(n_rows)
    counts = np.empty(n_rows, dtype=np.int64)
    entries: list[int] = []
    values: list[float] = []
    for i, row in enumerate(rows):
        try:
            lower, body, upper = row.to_bounded_expression(evaluate_bounds=True)
        except ValueError as error:
            raise NotLinear(str(error)) from error
        terms, constant = walk(body, row.name)
        try:
            entries.extend(map(column_of.__getitem__, terms))
        except KeyError as error:
            raise NotLinear(f"{row.name} names a variable outside the model") from error
        values.extend(terms.values())
        counts[i] = len(terms)
        row_constant[i] = constant
        row_lower[i] = -math.inf if lower is None else lower - constant
        row_upper[i] = math.inf if upper is None else upper - constant

    # Row-wise entries to column-wise: a stable sort by column keeps rows ascending.
    column = np.array(entries, dtype=np.int32)
    order = np.argsort(column, kind="stable")
    start = np.zeros(len(columns) + 1, dtype=np.int32)
    np.cumsum(np.bincount(column, minlength=len(columns)), out=start[1:])
    index = np.repeat(np.arange(n_rows, dtype=np.int32), counts)[order]
    value = np.array(values, dtype=np.float64)[order]

    bounds = [v.bounds for v in columns]
    column_lower = np.array([-math.inf if lb is None else lb for lb, _ in bounds], dtype=float)
    column_upper = np.array([math.inf if ub is None else ub for _, ub in bounds], dtype=float)

    costs: dict[str, np.ndarray] = {}
    cost_offsets: dict[str, float] = {}
    for name, objective in objectives.items():
        if objective.sense != pyo.minimize:
            raise NotLinear(f"objective {name} is not minimised")
        terms, constant = walk(objective.expr, objective.name)
        cost = np.zeros(len(columns))
        try:
            cost[[column_of[v] for v in terms]] = list(terms.values())
        except KeyError as error:
            raise NotLinear(f"objective {name} names a variable outside the model") from error
        costs[name] = cost
        cost_offsets[name] = constant

    return LinearForm(
        columns=columns,
        rows=rows,
        start=start,
        index=index,
        value=value,
        column_lower=column_lower,
        column_upper=column_upper,
        row_lower=row_lower,
        row_upper=row_upper,
        row_constant=row_constant,
        costs=costs,
        cost_offsets=cost_offsets,
    )
