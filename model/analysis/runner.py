"""Scenarios from validated data to ``Allocation`` objects: build, solve, extract.

Kept apart from the CLI and the web app so both run exactly the same pipeline. A
``Runner`` builds and compiles each model structure once (one per equity objective) and
re-solves it on the same HiGHS instance for scenario after scenario, pushing only the
bounds the scenario's coefficients give, which is what makes parameter sweeps cheap.
"""

from __future__ import annotations

import dataclasses
import time

from model.analysis.frontier import frontier
from model.analysis.results import Allocation, extract
from model.lp.formulation import build_model, coefficients
from model.lp.guardrails import TransferBounds, check_transfer_bounds, has_guardrails
from model.lp.rule import statutory_allocation
from model.lp.solve import LexicographicSolver
from model.workbook.reader import FundData
from model.workbook.scenarios import Scenario


class Runner:
    """Solves scenarios of one dataset, reusing built models and solvers."""

    def __init__(self, data: FundData) -> None:
        self.data = data
        self._solvers: dict[str, LexicographicSolver] = {}

    def solve(self, scenario: Scenario, frontier_points: int = 0) -> Allocation:
        """Solve one scenario and return its allocation.

        Args:
            scenario: the policy to solve.
            frontier_points: points of the equity–rule frontier to add (0: none), each one
                more solve of the rule-distance level on the loaded model.

        Raises:
            SolverFailure: HiGHS did not reach an optimum (never expected: the LP is elastic).
        """
        timings: dict[str, float] = {}
        started = time.perf_counter()
        params = scenario.parameters
        rule = statutory_allocation(self.data.units, params)
        coeffs = coefficients(self.data.units, params, rule)
        if has_guardrails(self.data.units, params):
            bounds = TransferBounds(coeffs.lower, coeffs.upper, coeffs.lower_by, coeffs.upper_by)
            check_transfer_bounds(
                self.data.units, params, bounds, coeffs.fund, self.data.source, scenario.name
            )
        solver = self._solvers.get(params.objective)
        if solver is None:
            solver = LexicographicSolver(build_model(coeffs, params.objective))
            self._solvers[params.objective] = solver
        else:
            solver.load(coeffs)
        timings["build"] = time.perf_counter() - started
        outcome = solver.solve(coeffs.money_scale)
        for level in outcome.levels:
            timings[f"solve_{level.name}"] = level.seconds
        started = time.perf_counter()
        allocation = extract(
            self.data.units,
            coeffs,
            rule,
            outcome,
            scenario.name,
            params,
            self.data.source,
            scenario.overrides,
        )
        timings["extract"] = time.perf_counter() - started
        if frontier_points > 0:
            started = time.perf_counter()
            solutions = solver.frontier(outcome, frontier_points)
            allocation = dataclasses.replace(allocation, frontier=frontier(coeffs, solutions))
            timings["frontier"] = time.perf_counter() - started
        allocation.timings.update(timings)
        return allocation


def solve_scenario(data: FundData, scenario: Scenario, frontier_points: int = 0) -> Allocation:
    """Solve one scenario of ``data`` with a fresh model (and its frontier, if asked)."""
    return Runner(data).solve(scenario, frontier_points)
