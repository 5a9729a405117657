"""The route from the Pyomo model to HiGHS: public doors only, and no stale scenario.

A sweep compiles the model of its first scenario once and, for every further scenario,
pushes only the bounds ``formulation.scenario_bounds`` computes from the coefficients. So
the LP HiGHS holds after pushing scenario B over a model built for A must be exactly the LP
a fresh compilation of B gives: matrix, costs of every level, column and row bounds. If a
scenario ever changed a number that is not a bound (a mutable coefficient in a row or in a
level objective), or a family's bounds were computed wrongly, this is where it shows.
"""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pyomo.environ as pyo
import pytest

from model.lp.formulation import LEVELS, Coefficients, build_model, coefficients, scenario_bounds
from model.lp.matrix import linear_form
from model.lp.solve import LexicographicSolver, SolverFailure
from model.schema import OBJECTIVES, PLAN_PARAMETER_KEYS
from model.workbook.reader import FundData, read_workbook
from model.workbook.scenarios import Parameters, apply_overrides

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "inputs" / "sample_2020.xlsx"
SAME = 1e-12
"""Relative (absolute below 1) agreement between pushed and freshly compiled numbers."""

# Every parameter a scenario may change differs between A (the sample's base) and B.
B_OVERRIDES: dict[str, Any] = {
    "contribution_ratio": 0.045,
    "wage_base_share": 0.8,
    "max_rule_deviation": 0.2,
    "reserve_months_floor": 3.0,
    "central_subsidy_budget_100m": 50.0,
    "min_return_share": 0.3,
    "standard_contribution_rate": 0.12,
}


@pytest.fixture(scope="module")
def data() -> FundData:
    return read_workbook(SAMPLE)


def scenario(data: FundData, objective: str, overrides: dict[str, Any]) -> Coefficients:
    params = apply_overrides(data.parameters, {"objective": objective, **overrides}, "test")
    return coefficients(data.units, params)


def fresh(coeffs: Coefficients, objective: str) -> LexicographicSolver:
    return LexicographicSolver(build_model(coeffs, objective))


def assert_same(got: Any, want: Any, what: str) -> None:
    got, want = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    assert got.shape == want.shape, what
    assert np.array_equal(np.isinf(got), np.isinf(want)), what
    finite = np.isfinite(want)
    scale = np.maximum(1.0, np.maximum(np.abs(got[finite]), np.abs(want[finite])))
    worst = np.max(np.abs(got[finite] - want[finite]) / scale, initial=0.0)
    assert worst <= SAME, f"{what}: off by {worst:.3g} relative"


def assert_same_lp(pushed: LexicographicSolver, compiled: LexicographicSolver) -> None:
    got, want = pushed.highs.getLp(), compiled.highs.getLp()
    assert (got.num_col_, got.num_row_) == (want.num_col_, want.num_row_)
    assert got.a_matrix_.format_ == want.a_matrix_.format_
    assert np.array_equal(got.a_matrix_.start_, want.a_matrix_.start_)
    assert np.array_equal(got.a_matrix_.index_, want.a_matrix_.index_)
    assert_same(got.a_matrix_.value_, want.a_matrix_.value_, "matrix")
    assert_same(got.col_lower_, want.col_lower_, "column lower bounds")
    assert_same(got.col_upper_, want.col_upper_, "column upper bounds")
    assert_same(got.row_lower_, want.row_lower_, "row lower bounds")
    assert_same(got.row_upper_, want.row_upper_, "row upper bounds")
    assert list(pushed.costs) == list(compiled.costs)
    for level, costs in compiled.costs.items():
        assert_same(pushed.costs[level], costs, f"costs of level {level}")
        assert_same(pushed.cost_offsets[level], compiled.cost_offsets[level], level)


@pytest.mark.parametrize("objective", OBJECTIVES)
@pytest.mark.parametrize("direction", ["A then B", "B then A"])
def test_pushing_a_scenario_gives_exactly_a_fresh_compilation(
    data: FundData, objective: str, direction: str
) -> None:
    a, b = scenario(data, objective, {}), scenario(data, objective, B_OVERRIDES)
    if direction == "B then A":
        a, b = b, a
    assert not np.allclose(a.upper, b.upper)  # the scenarios really differ
    reused = fresh(a, objective)
    reused.solve(a.money_scale)  # levels held, a basis in place: load must undo all that
    reused.load(b)
    assert reused.coefficients is b
    compiled = fresh(b, objective)
    assert_same_lp(reused, compiled)
    got, want = reused.solve(b.money_scale), compiled.solve(b.money_scale)
    for mine, theirs in zip(got.levels, want.levels, strict=True):
        assert mine.objective == pytest.approx(theirs.objective, rel=1e-9, abs=1e-7)


def test_the_sample_scenarios_one_after_another(data: FundData) -> None:
    """The sample's own scenarios, pushed in turn over one model per objective."""
    solvers: dict[str, LexicographicSolver] = {}
    for name in ("base", "ratio_4.5", "band_20", "reserve_3m", "rule_only", "base"):
        params = data.scenario(name).parameters
        coeffs = coefficients(data.units, params)
        solver = solvers.get(params.objective)
        if solver is None:
            solvers[params.objective] = fresh(coeffs, params.objective)
            continue
        solver.load(coeffs)
        assert_same_lp(solver, fresh(coeffs, params.objective))


def test_the_model_keeps_its_numbers_and_the_solver_says_which_it_holds(data: FundData) -> None:
    a, b = scenario(data, "maximin", {}), scenario(data, "maximin", B_OVERRIDES)
    m = build_model(a, "maximin")
    solver = LexicographicSolver(m)
    solver.load(b)
    assert m.coefficients is a
    assert pyo.value(m.fund) == pytest.approx(a.fund)
    assert solver.coefficients is b
    assert not any(m.level_objective[k].active for k in m.LEVELS)
    assert all(pyo.value(m.level_optimum[k]) == float("inf") for k in m.LEVELS)


# --- the compilation is Pyomo's own standard form -----------------------------------------


@pytest.mark.parametrize("objective", OBJECTIVES)
def test_the_compilation_is_pyomos_standard_form(data: FundData, objective: str) -> None:
    """``matrix.linear_form`` (Pyomo's expression visitor, no scipy) gives the matrix, row
    bounds and level costs Pyomo's standard-form compiler gives (which needs scipy: fine
    here, not in a run)."""
    from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler

    m = build_model(scenario(data, objective, B_OVERRIDES), objective)
    mine = linear_form(m, {k: m.level_objective[k] for k in LEVELS})
    # Pyomo's compiler drops a row with no finite bound and compiles active objectives only.
    m.level_objective.activate()
    for k in LEVELS:
        m.level_optimum[k] = 0.0
    theirs = LinearStandardFormCompiler().write(m, mixed_form=True, column_order=mine.columns)
    assert [id(v) for v in theirs.columns] == [id(v) for v in mine.columns]
    row = {id(r): i for i, r in enumerate(mine.rows)}
    order = [row[id(entry[0])] for entry in theirs.rows]
    assert sorted(order) == list(range(len(mine.rows)))  # one row each, none split or lost
    assert_same(mine.dense()[order], theirs.A.toarray(), "matrix")
    kind = np.array([entry[1] for entry in theirs.rows])
    rhs = np.asarray(theirs.rhs, dtype=float)
    level = np.isin(order, [row[id(m.level_bound[k])] for k in LEVELS])
    assert_same(mine.row_constant[order][level], -rhs[level], "level rows' constants")
    lower, upper = mine.row_lower[order], mine.row_upper[order]
    assert_same(lower[~level], np.where(kind == 1, -np.inf, rhs)[~level], "row lower bounds")
    assert_same(upper[~level], np.where(kind == -1, np.inf, rhs)[~level], "row upper bounds")
    assert [o.index() for o in theirs.objectives] == list(mine.costs)
    for i, (name, costs) in enumerate(mine.costs.items()):
        assert_same(costs, theirs.c.toarray()[i], f"costs of {name}")
        assert_same(mine.cost_offsets[name], theirs.c_offset[i], f"offset of {name}")


def test_mad_is_sparse(data: FundData) -> None:
    """The national months is one variable with one defining row: each mad row holds one
    unit's columns (a, l, g, d) and the national months, so the matrix grows with n, not n²."""
    m = build_model(scenario(data, "mad", {}), "mad")
    compiled = linear_form(m, {})
    entries = np.count_nonzero(compiled.dense(), axis=1)
    row = {id(r): i for i, r in enumerate(compiled.rows)}
    mad = [row[id(r)] for family in (m.mad_above, m.mad_below) for r in family.values()]
    assert entries[mad].max() == 5
    n = len(m.UNITS)
    assert entries[row[id(m.national_months_definition)]] == 3 * n + 1
    assert len(compiled.value) < 60 * n


# --- what the solver refuses -----------------------------------------------------------------


def test_a_family_without_scenario_bounds_is_refused(data: FundData) -> None:
    coeffs = scenario(data, "maximin", {})
    m = build_model(coeffs, "maximin")
    m.extra_rows = pyo.Constraint(m.UNITS, rule=lambda m, p: m.transfer[p] <= m.fund)
    with pytest.raises(SolverFailure, match=r"no bounds for the constraint families \['extra"):
        LexicographicSolver(m)


def test_bounds_that_disagree_with_the_compilation_are_refused(data: FundData) -> None:
    """A Param changed behind the coefficients' back (or a family's bounds computed wrongly)
    is caught on loading, not solved."""
    coeffs = scenario(data, "range", {})
    m = build_model(coeffs, "range")
    m.held[3] = 1.0 + pyo.value(m.held[3])
    with pytest.raises(SolverFailure, match=r"disagrees .*\['range_low', 'range_high'\]"):
        LexicographicSolver(m)


def test_a_fixed_variable_is_refused(data: FundData) -> None:
    """The route gives every variable a column; a fixed one would be a constant in the rows
    and a column all the same."""
    coeffs = scenario(data, "maximin", {})
    m = build_model(coeffs, "maximin")
    m.transfer[0].fix(1.0)
    with pytest.raises(SolverFailure, match="fixed variables"):
        LexicographicSolver(m)


def test_a_nan_in_a_row_is_refused_on_compiling(data: FundData) -> None:
    coeffs = scenario(data, "maximin", {})
    m = build_model(coeffs, "maximin")
    m.fund = float("nan")
    with pytest.raises(SolverFailure, match="cannot go to HiGHS"):
        LexicographicSolver(m)


def test_a_nonlinear_row_is_refused(data: FundData) -> None:
    coeffs = scenario(data, "maximin", {})
    m = build_model(coeffs, "maximin")
    m.product = pyo.Constraint(expr=m.transfer[0] * m.transfer[1] <= 5.0)
    with pytest.raises(SolverFailure, match=r"product.* is not linear"):
        LexicographicSolver(m)


def test_a_nan_bound_is_refused_by_load(data: FundData) -> None:
    coeffs = scenario(data, "maximin", {})
    solver = fresh(coeffs, "maximin")
    bad = dataclasses.replace(coeffs, upper=np.where(np.arange(32) == 3, np.nan, coeffs.upper))
    with pytest.raises(SolverFailure, match="refused the bounds"):
        solver.load(bad)


def test_coefficients_of_another_dataset_are_refused(data: FundData) -> None:
    coeffs = scenario(data, "maximin", {})
    solver = fresh(coeffs, "maximin")
    other = dataclasses.replace(coeffs, expenditure=coeffs.expenditure * 1.01)
    with pytest.raises(ValueError, match="another dataset"):
        solver.load(other)


def test_no_value_is_read_after_a_level_that_is_not_optimal(data: FundData) -> None:
    coeffs = scenario(data, "maximin", {})
    solver = fresh(coeffs, "maximin")
    solver.highs.setOptionValue("time_limit", 0.0)
    with pytest.raises(SolverFailure, match=r"level \w+ with Time limit"):
        solver.solve(coeffs.money_scale)


def test_scenario_bounds_refuses_an_unknown_objective(data: FundData) -> None:
    with pytest.raises(ValueError, match="unknown objective"):
        scenario_bounds(scenario(data, "maximin", {}), "gini")


def test_scenario_bounds_of_a_worked_case() -> None:
    """Two units, numbers by hand: K = before − contribution, need = floor − K."""
    c = Coefficients(
        codes=("A", "B"),
        contribution=np.array([10.0, 20.0]),
        rule_allocation=np.array([12.0, 18.0]),
        before=np.array([100.0, -50.0]),
        floor=np.array([0.0, 5.0]),
        expenditure=np.array([120.0, 60.0]),
        local_cap=np.array([0.0, 7.0]),
        min_local_share=np.array([0.0, 0.5]),
        lower=np.array([6.0, 9.0]),
        upper=np.array([18.0, 27.0]),
        fund=30.0,
        central_budget=4.0,
    )
    bounds = scenario_bounds(c, "mad")
    assert bounds.rows["full_payment"][0].tolist() == [-90.0, 75.0]
    assert bounds.rows["fund_balance"][0].tolist() == [30.0]
    assert bounds.rows["central_budget_limit"][1].tolist() == [4.0]
    assert bounds.rows["rule_distance_above"][1].tolist() == [12.0, 18.0]
    assert bounds.rows["local_share"][0].tolist() == [0.0]  # only B shares
    # M_p's constant 12K/E = (9, −14) moves to the bounds; national 12·ΣK/ΣE = 12·20/180
    assert bounds.rows["mad_above"][1] == pytest.approx([-9, 14])
    assert bounds.rows["mad_below"][1] == pytest.approx([9, -14])
    assert bounds.rows["national_months_definition"][0] == pytest.approx([12 * 20 / 180])
    assert bounds.columns["local_subsidy"][1].tolist() == [0.0, 7.0]
    assert bounds.columns["transfer"][0].tolist() == [6.0, 9.0]


# --- public doors only -----------------------------------------------------------------------


def solver_modules() -> list[Path]:
    """The modules of model/ that touch Pyomo or HiGHS."""
    return [
        path
        for path in sorted((ROOT / "model").rglob("*.py"))
        if "import pyomo" in (text := path.read_text(encoding="utf-8"))
        or "from pyomo" in text
        or "highspy" in text
    ]


def test_no_private_attribute_of_pyomo_or_highs_is_read() -> None:
    """Reading ``obj._name`` of another library's object (anything but ``self`` or ``cls``)
    pins that library's version; so does importing a private name or module."""
    modules = solver_modules()
    assert {p.name for p in modules} >= {"formulation.py", "solve.py"}
    found = []
    for path in modules:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Attribute)
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
                and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))
            ):
                found.append(f"{path.name}:{node.lineno} {ast.unparse(node)}")
            if isinstance(node, ast.ImportFrom) and node.module and node.module != "__future__":
                private_module = any(part.startswith("_") for part in node.module.split("."))
                private_name = any(alias.name.startswith("_") for alias in node.names)
                if node.module.split(".")[0] in ("pyomo", "highspy") and (
                    private_module or private_name
                ):
                    found.append(f"{path.name}:{node.lineno} from {node.module}")
    assert not found


def test_parameters_cover_every_field_b_changes() -> None:
    """B_OVERRIDES changes every scenario parameter but the year and the objective (the
    objective is a separate model, tested per objective; the plan's own parameters do not
    reach a single year's LP)."""
    fields = {f.name for f in dataclasses.fields(Parameters)} - {"year", "objective"}
    fields -= set(PLAN_PARAMETER_KEYS)
    assert set(B_OVERRIDES) == fields
