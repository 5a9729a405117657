"""One scenario from validated data to an ``Allocation``: build, solve, extract.

Kept apart from the CLI and the web app so both run exactly the same pipeline, and so
the comparison runner can time and reuse its stages.
"""

from __future__ import annotations

import time

from model.formulation import build_model, coefficients
from model.inputs import FundData
from model.results import Allocation, extract
from model.rule import statutory_allocation
from model.scenarios import Scenario
from model.solve import solve_lexicographic


def solve_scenario(data: FundData, scenario: Scenario) -> Allocation:
    """Solve one scenario of ``data`` and return its allocation.

    Raises:
        SolverFailure: HiGHS did not reach an optimum (never expected; the LP is elastic).
    """
    timings: dict[str, float] = {}
    started = time.perf_counter()
    params = scenario.parameters
    rule = statutory_allocation(data.units, params)
    coeffs = coefficients(data.units, params, rule)
    model = build_model(coeffs, params.objective)
    timings["build"] = time.perf_counter() - started
    outcome = solve_lexicographic(model, coeffs.money_scale)
    for level in outcome.levels:
        timings[f"solve_{level.name}"] = level.seconds
    started = time.perf_counter()
    allocation = extract(
        model,
        data.units,
        coeffs,
        rule,
        outcome,
        scenario.name,
        params,
        data.source,
        scenario.overrides,
    )
    timings["extract"] = time.perf_counter() - started
    allocation.timings.update(timings)
    return allocation
