"""The lexicographic solve with HiGHS: the one module that names the solver.

Levels are solved in order (``formulation.LEVELS``). After each, its optimum is held by
activating ``level_bound[k] : f_k ≤ f_k* + tol_k`` so later levels cannot trade it away.
The persistent HiGHS interface keeps the model loaded between levels, so each level only
sends a new objective and one new row.

The model is always feasible (the unfunded gap is elastic), so anything but an optimal
termination is a solver failure: it is raised, and no value is ever read after it.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field

import pyomo.environ as pyo
from pyomo.contrib.solver.common.results import SolutionStatus, TerminationCondition
from pyomo.contrib.solver.solvers.highs import Highs

from model.formulation import LEVEL_EQUITY, LEVEL_SUBSIDY, LEVELS, release_levels

RELATIVE_TOLERANCE = 1e-9
"""Each level is held at ``f* + RELATIVE_TOLERANCE × scale + ABSOLUTE_TOLERANCE``; scale is
the money in the model (Σ expenditure) for money levels, so the tolerance scales with the
data, and ``max(1, |f*|)`` for the equity level, which is in months. It is kept a hundred
times below ``results.CLEAN_TOLERANCE``, so the crumbs a later level may take from an
earlier one's tolerance (say a 0.0001亿 gap traded for 0.0001亿 less subsidy) are cleaned
away rather than reported as an unfunded gap."""

ABSOLUTE_TOLERANCE = 1e-7
"""Above HiGHS's own feasibility tolerance, so a held level never makes the next infeasible."""

DUAL_LEVEL = LEVEL_SUBSIDY
"""Duals are read where they mean something in policy terms: at the fiscal-subsidy level,
with the gap held, a full-payment dual is the extra subsidy needed per 亿 of extra
requirement, and the fund-balance dual is the subsidy one more 亿 in the fund saves."""


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
    """All levels solved to optimality, with the duals read at ``DUAL_LEVEL``.

    Attributes:
        levels: one outcome per level, in order.
        full_payment_dual: per unit, d(least fiscal subsidy)/d(requirement) — extra
            subsidy per 亿 of extra requirement; a local, marginal value.
        fund_dual: subsidy saved per extra 亿 in the fund (marginal value).
        solver: the solver's name and version.
    """

    levels: tuple[LevelOutcome, ...]
    full_payment_dual: tuple[float, ...]
    fund_dual: float
    solver: str
    timings: dict[str, float] = field(default_factory=dict)

    def level(self, name: str) -> LevelOutcome:
        """The outcome of the named level."""
        return next(level for level in self.levels if level.name == name)


def new_solver() -> Highs:
    """A persistent HiGHS interface, quiet, returning control on non-optimal ends.

    The model's structure never changes after it is built (levels move bounds, scenarios
    move mutable parameters and variable bounds), so the costly structural checks Pyomo
    runs before every re-solve are switched off.
    """
    solver = Highs()
    solver.config.load_solutions = False
    solver.config.raise_exception_on_nonoptimal_result = False
    solver.config.tee = False
    solver.config.solver_options["threads"] = 1
    solver.config.solver_options["output_flag"] = False
    updates = solver.config.auto_updates
    updates.check_for_new_or_removed_constraints = False
    updates.check_for_new_or_removed_vars = False
    updates.check_for_new_or_removed_params = False
    updates.update_constraints = False
    updates.update_named_expressions = False
    return solver


@functools.cache
def solver_version() -> str:
    """``HiGHS x.y.z`` for run_info."""
    version = Highs().version()
    return "HiGHS " + ".".join(str(v) for v in version) if version else "HiGHS"


def solve_lexicographic(
    m: pyo.ConcreteModel, scale: float, solver: Highs | None = None
) -> SolveOutcome:
    """Solve every level in order, holding each optimum within its tolerance.

    Args:
        m: a model from ``formulation.build_model`` (level objectives deactivated).
        scale: the money size of the model (``Coefficients.money_scale``).
        solver: a persistent solver to reuse across scenarios; a new one if None.

    Raises:
        SolverFailure: a level did not end optimal.
    """
    solver = solver or new_solver()
    forget_basis(solver)
    outcomes: list[LevelOutcome] = []
    duals: tuple[float, ...] = ()
    fund_dual = 0.0
    release_levels(m)
    for name in LEVELS:
        m.level_objective.deactivate()
        m.level_objective[name].activate()
        started = time.perf_counter()
        results = solver.solve(m)
        seconds = time.perf_counter() - started
        _check(results, name)
        value = float(results.incumbent_objective)
        size = max(1.0, abs(value)) if name == LEVEL_EQUITY else scale
        tolerance = RELATIVE_TOLERANCE * size + ABSOLUTE_TOLERANCE
        outcomes.append(
            LevelOutcome(name, value, str(results.termination_condition.name), seconds, tolerance)
        )
        if name == DUAL_LEVEL:
            loaded = results.solution_loader.get_duals()
            duals = tuple(float(loaded[m.full_payment[p]]) for p in m.UNITS)
            fund_dual = -float(loaded[m.fund_balance])
        m.level_optimum[name] = value + tolerance
    results.solution_loader.load_vars()
    m.level_objective.deactivate()
    return SolveOutcome(
        levels=tuple(outcomes),
        full_payment_dual=duals,
        fund_dual=fund_dual,
        solver=solver_version(),
    )


def forget_basis(solver: Highs) -> None:
    """Start a scenario cold, exactly as a fresh ``caf run`` would.

    Lexicographic optima are unique in their objective values but not always in the
    allocation (Σ|a − rule| has ties). A warm start from the previous scenario's basis can
    land on another vertex of the same optimal face, so a sweep point would differ from a
    single run with the same parameters. Clearing HiGHS's solution and basis keeps the
    speed of the persistent model while making every scenario's answer reproducible.
    Pyomo's interface has no public call for this, hence the guarded attribute.
    """
    highs = getattr(solver, "_solver_model", None)
    if highs is not None and hasattr(highs, "clearSolver"):
        highs.clearSolver()


def _check(results: object, level: str) -> None:
    termination = getattr(results, "termination_condition", None)
    status = getattr(results, "solution_status", None)
    if (
        termination != TerminationCondition.convergenceCriteriaSatisfied
        or status != SolutionStatus.optimal
    ):
        raise SolverFailure(
            f"HiGHS ended level {level} with {termination} ({status}); "
            "the model is elastic, so this is a solver or data-scale problem"
        )
