"""An independent check of the optimizer: the same LP as plain matrices in scipy's linprog.

Nothing here uses ``model.lp.formulation`` or ``model.lp.solve``: the coefficients are derived
again from the units table with the formulas of docs/formulation.md §2–3, the LP is written as
``min c·x  s.t.  A_ub x ≤ b_ub, A_eq x = b_eq, bounds`` and the lexicographic levels are
run by hand. The project must reach the same optimum at every level.

Variables, in order: ``a`` (transfer), ``l`` (local subsidy), ``g`` (central subsidy),
``u`` (unfunded gap), ``e`` (``|a − rule|``), then the objective's auxiliaries: ``t`` for
maximin, ``lo, hi`` for range, ``d`` (one per unit) for mad.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from scipy.optimize import linprog

from model.workbook.scenarios import Parameters
from tests.fixtures_lp import instances, make_data, random_instance, solve_instance
from tests.workbooks import WORKED_EXAMPLE

LEVEL_NAMES = ("unfunded_gap", "fiscal_subsidy", "central_subsidy", "imbalance", "rule_distance")
SMALL = 1e-6
"""The most slack a level may be held with: ``SMALL × size``, where size is Σ expenditure
for money levels and ``max(1, |f*|)`` for the equity level (months)."""


@dataclass(frozen=True)
class Reference:
    """The derived numbers of one instance, computed from the formulas of docs/formulation.md."""

    contribution: np.ndarray
    rule: np.ndarray
    held: np.ndarray
    floor: np.ndarray
    expenditure: np.ndarray
    cap: np.ndarray
    share: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    fund: float
    budget: float


def derive(units: pd.DataFrame, p: Parameters) -> Reference:
    """docs/formulation.md §2–3, written out again from the units table."""
    insured = units["insured_employees_10k"].to_numpy(float)
    employment = units["enterprise_employment_10k"].to_numpy(float)
    covered = np.where(np.isnan(employment), insured, (insured + employment) / 2)
    wage = units["avg_wage_yuan"].to_numpy(float)
    contribution = p.contribution_ratio * p.wage_base_share * wage * covered * 1e4 / 1e8
    fund = float(contribution.sum())
    retirees = units["retirees_10k"].to_numpy(float)
    rule = fund * retirees / retirees.sum()
    opening = units["opening_balance_100m"].to_numpy(float)
    expenditure = units["expenditure_100m"].to_numpy(float)
    before = (
        opening
        + units["contribution_income_100m"].to_numpy(float)
        + units["other_income_100m"].to_numpy(float)
        + units["planned_central_subsidy_100m"].to_numpy(float)
        - expenditure
    )
    if p.standard_contribution_rate is not None:  # incentive mode: count the standard
        base = p.wage_base_share * wage * covered * 1e4 / 1e8
        income = units["contribution_income_100m"].to_numpy(float)
        before = before + np.maximum(0.0, p.standard_contribution_rate * base - income)
    floor = np.minimum(opening, 0) + p.reserve_months_floor * expenditure / 12
    if p.max_rule_deviation is None:
        lower, upper = np.zeros_like(rule), np.full_like(rule, fund)
    else:
        lower = np.maximum(0.0, (1 - p.max_rule_deviation) * rule)
        upper = (1 + p.max_rule_deviation) * rule
    # Guardrails (docs/formulation.md §3): every bound a planner sets narrows the band.
    if p.min_return_share is not None:
        lower = np.maximum(lower, p.min_return_share * contribution)
    least = units["min_transfer_100m"].to_numpy(float)
    most = units["max_transfer_100m"].to_numpy(float)
    lower = np.where(np.isnan(least), lower, np.maximum(lower, least))
    upper = np.where(np.isnan(most), upper, np.minimum(upper, most))
    return Reference(
        contribution=contribution,
        rule=rule,
        held=before - contribution,
        floor=floor,
        expenditure=expenditure,
        cap=units["local_subsidy_cap_100m"].to_numpy(float),
        share=units["min_local_share"].to_numpy(float),
        lower=lower,
        upper=upper,
        fund=fund,
        budget=p.central_subsidy_budget_100m,
    )


def reference_levels(r: Reference, objective: str, holds: list[float]) -> list[float]:
    """Solve the five levels with linprog; return each level's optimum.

    After level k, the row ``f_k(x) ≤ f_k* + holds[k]`` is added. The reference holds each
    level with the slack the project reports (``LevelOutcome.tolerance``, checked to be
    small): a lexicographic optimum depends on the slack left to later levels, by far more
    than the slack itself (a range held 1e-5 months looser frees about 1e-2亿 of rule
    distance), so only the same slack gives comparable values at 1e-6.
    """
    n = r.rule.size
    a, loc, g, u, e = (np.arange(n) + k * n for k in range(5))
    extra = {"maximin": 1, "range": 2, "mad": n}[objective]
    size = 5 * n + extra
    aux = 5 * n + np.arange(extra)
    rows: list[np.ndarray] = []
    rhs: list[float] = []

    def row(entries: list[tuple[Any, float]]) -> np.ndarray:
        vector = np.zeros(size)
        for index, coefficient in entries:
            vector[index] += coefficient
        return vector

    def add(vector: np.ndarray, bound: float) -> None:
        rows.append(vector)
        rhs.append(bound)

    per_month = 12.0 / r.expenditure
    for p in range(n):
        # full payment: −(a+l+g+u) ≤ −(floor − K)
        add(row([(a[p], -1), (loc[p], -1), (g[p], -1), (u[p], -1)]), -(r.floor[p] - r.held[p]))
        # local share: s·g − (1−s)·l ≤ 0
        if r.share[p] > 0:
            add(row([(g[p], r.share[p]), (loc[p], -(1 - r.share[p]))]), 0.0)
        # e ≥ |a − rule|
        add(row([(a[p], 1), (e[p], -1)]), r.rule[p])
        add(row([(a[p], -1), (e[p], -1)]), -r.rule[p])
    add(row([(g, 1.0)]), r.budget)

    # Equity rows. M_p = per_month_p (K_p + a_p + l_p + g_p).
    def months(p: int, sign: float) -> list[tuple[np.ndarray, float]]:
        return [(np.array([v[p]]), sign * per_month[p]) for v in (a, loc, g)]

    equity = np.zeros(size)
    if objective == "maximin":  # t − M_p ≤ 0; minimise −t
        for p in range(n):
            add(row([(aux[0], 1), *months(p, -1)]), per_month[p] * r.held[p])
        equity[aux[0]] = -1
    elif objective == "range":  # lo − M_p ≤ 0, M_p − hi ≤ 0; minimise hi − lo
        for p in range(n):
            add(row([(aux[0], 1), *months(p, -1)]), per_month[p] * r.held[p])
            add(row([(aux[1], -1), *months(p, 1)]), -per_month[p] * r.held[p])
        equity[aux[1]], equity[aux[0]] = 1, -1
    else:  # mad: ±(M_p − M̄) − d_p ≤ 0 with M̄ = 12 Σ closing / Σ expenditure
        national = 12.0 / r.expenditure.sum()
        national_row = row([(a, national), (loc, national), (g, national)])
        national_const = national * r.held.sum()
        for p in range(n):
            own = row(months(p, 1))
            deviation = row([(aux[p], -1)])
            constant = per_month[p] * r.held[p] - national_const
            add(own - national_row + deviation, -constant)
            add(national_row - own + deviation, constant)
        equity[aux] = 1.0 / n

    objectives = [
        row([(u, 1.0)]),
        row([(loc, 1.0), (g, 1.0)]),
        row([(g, 1.0)]),
        equity,
        row([(e, 1.0)]),
    ]
    bounds = (
        [(r.lower[p], r.upper[p]) for p in range(n)]
        + [(0, r.cap[p]) for p in range(n)]
        + [(0, None)] * (3 * n)
        + [(None, None) if objective != "mad" else (0, None)] * extra
    )
    a_eq = row([(a, 1.0)])[None, :]
    optima = []
    for k, c in enumerate(objectives):
        result = linprog(
            c,
            A_ub=np.array(rows),
            b_ub=np.array(rhs),
            A_eq=a_eq,
            b_eq=[r.fund],
            bounds=bounds,
            method="highs",
        )
        assert result.status == 0, f"reference level {LEVEL_NAMES[k]}: {result.message}"
        value = float(result.fun)
        optima.append(value)
        add(c, value + holds[k])
    return optima


def cases() -> list[tuple[int, str, float | None, float]]:
    """A seeded list: every objective, free and banded transfers, with and without a floor."""
    out = []
    seed = 0
    for objective in ("maximin", "range", "mad"):
        for band, floor_months in ((None, 0.0), (0.2, 0.0), (None, 3.0), (0.1, 2.0)):
            out.append((seed, objective, band, floor_months))
            seed += 1
    return out


def check_against_reference(records: list[dict[str, Any]], params: Parameters) -> None:
    """Solve with the project and with the reference; every level must agree."""
    allocation = solve_instance(records, params)
    assert [level.name for level in allocation.levels] == list(LEVEL_NAMES)
    scale = max(1.0, sum(abs(r["expenditure_100m"]) for r in records))
    for level in allocation.levels:
        size = max(1.0, abs(level.objective)) if level.name == "imbalance" else scale
        assert 0 < level.tolerance <= SMALL * size, f"{level.name} held too loosely"
    holds = [level.tolerance for level in allocation.levels]
    reference = derive(make_data(records, params).units, params)
    expected = reference_levels(reference, params.objective, holds)
    for name, want, level in zip(LEVEL_NAMES, expected, allocation.levels, strict=True):
        assert level.objective == pytest.approx(want, rel=1e-6, abs=1e-6), name


@pytest.mark.parametrize(("seed", "objective", "band", "floor_months"), cases())
def test_project_reaches_the_reference_optimum_at_every_level(
    seed: int, objective: str, band: float | None, floor_months: float
) -> None:
    rng = np.random.default_rng(1000 + seed)
    check_against_reference(*random_instance(rng, objective, band, floor_months))


def guarded(
    rng: np.random.Generator, records: list[dict[str, Any]], params: Parameters
) -> tuple[list[dict[str, Any]], Parameters]:
    """The same instance with guardrails: a minimum return share, and a minimum or maximum
    transfer on some units, chosen so that every unit's bounds can hold together."""
    share = float(rng.choice([0.3, 0.6]))
    params = dataclasses.replace(params, min_return_share=share, max_rule_deviation=None)
    reference = derive(make_data(records, params).units, params)
    out = []
    for p, record in enumerate(records):
        record = dict(record)
        pick = rng.random()
        if pick < 0.3:
            record["min_transfer_100m"] = round(0.2 * float(reference.rule[p]), 2)
        elif pick < 0.6:
            least = max(share * reference.contribution[p], 0.0)
            record["max_transfer_100m"] = round(max(1.5 * reference.rule[p], least + 1.0), 2)
        out.append(record)
    return out, params


@pytest.mark.parametrize("seed", range(4))
def test_project_reaches_the_reference_optimum_in_incentive_mode(seed: int) -> None:
    rng = np.random.default_rng(3000 + seed)
    objective = ("maximin", "range", "mad", "maximin")[seed]
    records, params = random_instance(rng, objective, None, 0.0)
    rates = [
        r["contribution_income_100m"]
        / (0.9 * r["avg_wage_yuan"] * r["insured_employees_10k"] / 1e4)
        for r in records
    ]
    standard = float(np.median(rates))  # about half the units fall short of it
    params = dataclasses.replace(params, standard_contribution_rate=standard)
    check_against_reference(records, params)


@pytest.mark.parametrize("seed", range(6))
def test_project_reaches_the_reference_optimum_with_guardrails(seed: int) -> None:
    rng = np.random.default_rng(2000 + seed)
    objective = ("maximin", "range", "mad")[seed % 3]
    check_against_reference(*guarded(rng, *random_instance(rng, objective, None, 0.0)))


@settings(max_examples=20, deadline=None, derandomize=True)
@given(instances())
def test_project_matches_the_reference_on_random_instances(
    instance: tuple[list[dict[str, Any]], Parameters],
) -> None:
    check_against_reference(*instance)


def test_reference_reproduces_the_worked_example() -> None:
    """The reference: docs/formulation.md §2's example, where maximin gives B the whole fund."""
    params = Parameters(year=2020, contribution_ratio=0.04)
    r = derive(make_data(WORKED_EXAMPLE, params).units, params)
    assert r.contribution == pytest.approx([360.0, 86.4, 172.8])
    assert r.rule == pytest.approx([206.4, 309.6, 103.2])
    optima = reference_levels(r, "maximin", [1e-7] * 5)
    assert optima[:3] == pytest.approx([0.0, 0.0, 0.0], abs=1e-9)
    # B holds 100 + 300 − 500 − 86.4 = −186.4 before any transfer; all 619.2 → 432.8.
    assert optima[3] == pytest.approx(-12 * 432.8 / 500, rel=1e-9)
    # Maximin leaves A and C nothing: the distance is the whole of their rule allocations
    # plus B's excess, 206.4 + 103.2 + (619.2 − 309.6) = 619.2, less the months' slack.
    assert optima[4] == pytest.approx(619.2, abs=1e-4)
