"""An independent check of the multi-year plan: its LP again as plain matrices in scipy.

Nothing here uses ``model.lp.plan``, ``model.lp.projection``, ``model.lp.formulation`` or
``model.lp.solve``: each instance is projected again from its records, growth rates and
overrides with the growth model of docs/formulation.md (the multi-year plan), the plan's LP
is written as ``min c·x  s.t.  A_ub x ≤ b_ub, A_eq x = b_eq, bounds``, and its lexicographic
levels are run by hand with ``scipy.optimize.linprog`` (HiGHS). The project must reach the
same optimum at every level; its per-unit decisions (a vertex among many) must be feasible
here and attain those levels; and its depletion years must be those of this projection.

Variables, per year t and unit p, in blocks of ``years × units``: ``a`` (transfer), ``l``
(local subsidy), ``g`` (central subsidy), ``u`` (unfunded gap), ``e`` (``|a − rule|``),
``s`` (closing balance); then ``r`` (the ratio, one per year); then the equity auxiliaries:
``lo`` per year for maximin, ``lo, hi`` per year for range, ``d`` per year and unit for mad.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linprog

from model.analysis.plan import Plan, solve_plan
from model.workbook.horizon import Horizon
from model.workbook.reader import FundData
from model.workbook.scenarios import Parameters, Scenario
from tests.fixtures_lp import make_data, random_instance

DRIVERS = ("wage_growth", "insured_growth", "retiree_growth", "benefit_growth")

GROWN: dict[str, tuple[str, ...]] = {
    "avg_wage_yuan": ("wage_growth",),
    "insured_employees_10k": ("insured_growth",),
    "enterprise_employment_10k": ("insured_growth",),
    "retirees_10k": ("retiree_growth",),
    "contribution_income_100m": ("wage_growth", "insured_growth"),
    "expenditure_100m": ("retiree_growth", "benefit_growth"),
    "other_income_100m": ("retiree_growth", "benefit_growth"),
    "planned_central_subsidy_100m": ("retiree_growth", "benefit_growth"),
    "local_subsidy_cap_100m": ("retiree_growth", "benefit_growth"),
    "min_transfer_100m": ("retiree_growth", "benefit_growth"),
    "max_transfer_100m": ("retiree_growth", "benefit_growth"),
}
"""Each figure a later year grows, and the drivers whose ``1 + rate`` multiply it yearly."""

OWN_RATES: dict[str, tuple[float, float]] = {
    "wage_growth": (0.02, 0.09),
    "insured_growth": (-0.02, 0.03),
    "retiree_growth": (0.01, 0.06),
    "benefit_growth": (0.01, 0.07),
}
"""The range of a unit's own rate on the ``growth`` sheet (the national defaults are drawn
from a narrower one)."""

SMALL = 1e-6
"""Agreement: ``SMALL × Σ expenditure`` (all units and years) for money levels, ``T`` times
that for the timing levels (money weighted by up to ``T`` years), ``SMALL × max(1, |f|)``
for the equity and ratio levels."""

MONEY_LEVELS = ("unfunded_gap", "fiscal_subsidy", "central_subsidy", "rule_distance")
TIMING_LEVELS = ("gap_timing", "subsidy_timing")


def expected_levels(optimised: bool, years: int) -> tuple[str, ...]:
    """The plan's levels, in order, as the spec orders them."""
    timing = years > 1
    return (
        "unfunded_gap",
        *(("gap_timing",) if timing else ()),
        "fiscal_subsidy",
        "central_subsidy",
        *(("ratio_path",) if optimised else ()),
        *(("subsidy_timing",) if timing else ()),
        "imbalance",
        "rule_distance",
    )


# ----------------------------------------------------------------------------- instances


@dataclass(frozen=True)
class Case:
    """One seeded instance's policy; the numbers are drawn from the seed."""

    seed: int
    objective: str
    band: float | None = None
    return_share: float | None = None
    optimised: bool = False
    horizon: bool = False
    ratio_path: bool = False
    guardrails: bool = False


CASES: tuple[Case, ...] = (
    Case(0, "maximin"),
    Case(1, "range", band=0.0, horizon=True),
    Case(2, "mad", band=0.3, ratio_path=True),
    Case(3, "maximin", return_share=0.5, optimised=True),
    Case(4, "range", optimised=True, horizon=True),
    Case(5, "mad", return_share=0.3, horizon=True, guardrails=True),
    Case(6, "maximin", band=0.3, optimised=True, horizon=True),
    Case(7, "range", return_share=0.6, ratio_path=True, guardrails=True),
    Case(8, "mad", band=0.0, optimised=True),
    Case(9, "maximin", band=0.0, horizon=True, ratio_path=True),
    Case(10, "mad", optimised=True, horizon=True, guardrails=True),
    Case(11, "range", band=0.3, optimised=True),
)


@dataclass(frozen=True)
class Instance:
    """A base-year workbook and its plan sheets, as plain values.

    Attributes:
        records, params: the provinces rows and the parameters (with the horizon).
        growth: code → driver → the unit's own rate (the ``growth`` sheet).
        overrides: (code, year) → key → the figure (the ``projection`` sheet).
        ratio_path: (year, ratio) rows of the ``ratio_path`` sheet.
    """

    records: list[dict[str, Any]]
    params: Parameters
    growth: dict[str, dict[str, float]] = field(default_factory=dict)
    overrides: dict[tuple[str, int], dict[str, float]] = field(default_factory=dict)
    ratio_path: tuple[tuple[int, float], ...] = ()

    @property
    def years(self) -> tuple[int, ...]:
        """The base year to the plan's end."""
        assert self.params.plan_end_year is not None
        return tuple(range(self.params.year, self.params.plan_end_year + 1))

    def data(self) -> FundData:
        """The project's input: the records and a ``Horizon`` holding the plan sheets."""
        growth = pd.DataFrame(
            [[rates.get(d, np.nan) for d in DRIVERS] for rates in self.growth.values()],
            index=pd.Index(list(self.growth), name="code"),
            columns=list(DRIVERS),
            dtype=float,
        ).sort_index()
        keys = sorted({k for figures in self.overrides.values() for k in figures})
        projection = pd.DataFrame(
            [[figures.get(k, np.nan) for k in keys] for figures in self.overrides.values()],
            index=pd.MultiIndex.from_tuples(list(self.overrides), names=["code", "year"]),
            columns=keys,
            dtype=float,
        ).sort_index()
        horizon = Horizon(growth=growth, projection=projection, ratio_path=self.ratio_path)
        return dataclasses.replace(make_data(self.records, self.params), horizon=horizon)


def draw_instance(case: Case) -> Instance:
    """The case's instance: 3-6 units, 2-5 years, plausible growth, the case's policy."""
    rng = np.random.default_rng(7000 + case.seed)
    floor_months = float(rng.choice([0.0, 1.0, 3.0]))
    records, params = random_instance(rng, case.objective, case.band, floor_months)
    records = records[: int(rng.integers(3, 7))]
    years = int(rng.integers(2, 6))
    ratio = params.contribution_ratio
    params = dataclasses.replace(
        params,
        plan_end_year=params.year + years - 1,
        wage_growth=round(float(rng.uniform(0.03, 0.08)), 4),
        insured_growth=round(float(rng.uniform(-0.01, 0.02)), 4),
        retiree_growth=round(float(rng.uniform(0.02, 0.055)), 4),
        benefit_growth=round(float(rng.uniform(0.02, 0.06)), 4),
        min_return_share=case.return_share,
    )
    if case.optimised:
        params = dataclasses.replace(
            params,
            optimize_ratio_path="yes",
            ratio_max=round(ratio + float(rng.choice([0.005, 0.01, 0.02])), 4),
            ratio_step_max=float(rng.choice([0.002, 0.005])),
        )
    instance = Instance(records, params)
    if case.horizon:
        instance = with_horizon(rng, instance)
    if case.ratio_path:
        path = [(params.year + 1, round(ratio + 0.005, 4))]
        if years >= 4:  # the year between keeps the ratio before it
            path.append((params.year + 3, round(ratio + 0.01, 4)))
        instance = dataclasses.replace(instance, ratio_path=tuple(path))
    if case.guardrails:
        instance = with_guardrails(rng, instance)
    return instance


def with_horizon(rng: np.random.Generator, instance: Instance) -> Instance:
    """Own growth rates for about half the units, and projection overrides in a later year:
    one unit's contribution income and retirees, another's expenditure."""
    growth: dict[str, dict[str, float]] = {}
    for record in instance.records:
        if rng.random() < 0.5:
            continue
        chosen = rng.choice(len(DRIVERS), size=int(rng.integers(1, 5)), replace=False)
        growth[record["code"]] = {
            DRIVERS[i]: round(float(rng.uniform(*OWN_RATES[DRIVERS[i]])), 4) for i in chosen
        }
    years = instance.years
    first, second = rng.choice(len(instance.records), size=2, replace=False)
    a, b = instance.records[first], instance.records[second]
    overrides = {
        (a["code"], int(rng.choice(years[1:]))): {
            "contribution_income_100m": round(
                a["contribution_income_100m"] * float(rng.uniform(1.0, 1.4)), 2
            ),
            "retirees_10k": round(a["retirees_10k"] * float(rng.uniform(1.0, 1.2)), 1),
        },
        (b["code"], int(years[1])): {
            "expenditure_100m": round(b["expenditure_100m"] * float(rng.uniform(1.05, 1.3)), 2),
        },
    }
    return dataclasses.replace(instance, growth=growth, overrides=overrides)


def with_guardrails(rng: np.random.Generator, instance: Instance) -> Instance:
    """A minimum transfer on some units and a maximum on others, with room for every year
    and ratio: the minimum a fifth of the base year's rule, the maximum twice the larger of
    the rule and the return-share floor, plus 1亿."""
    p = instance.params
    ref = project_again(instance)
    rule = ref.rule_share[0] * p.contribution_ratio
    floor = (p.min_return_share or 0.0) * ref.base[0] * (p.ratio_max or p.contribution_ratio)
    records = []
    for i, record in enumerate(instance.records):
        record = dict(record)
        pick = rng.random()
        if pick < 0.35:
            record["min_transfer_100m"] = round(0.2 * float(rule[i]), 2)
        elif pick < 0.7:
            record["max_transfer_100m"] = round(2 * max(float(rule[i]), float(floor[i])) + 1, 2)
        records.append(record)
    return dataclasses.replace(instance, records=records)


# ---------------------------------------------------------------------------- projection


@dataclass(frozen=True)
class Reference:
    """The plan's numbers, re-derived; arrays of shape (years, units) unless noted."""

    years: tuple[int, ...]
    codes: tuple[str, ...]
    opening: np.ndarray
    figures: dict[str, np.ndarray]
    base: np.ndarray
    rule_share: np.ndarray
    flow: np.ndarray
    floor: np.ndarray
    ratios: np.ndarray

    @property
    def expenditure(self) -> np.ndarray:
        return self.figures["expenditure_100m"]

    @property
    def scale(self) -> float:
        return max(1.0, float(self.expenditure.sum()))


def figure(records: list[dict[str, Any]], key: str) -> np.ndarray:
    """One column of the records; a blank is NaN."""
    values = [r.get(key) for r in records]
    return np.array([np.nan if v is None else float(v) for v in values])


def project_again(instance: Instance) -> Reference:
    """Grow the base year to the plan's end; derive B, k, F and the floor year by year."""
    p = instance.params
    records = sorted(instance.records, key=lambda r: r["code"])
    codes = tuple(r["code"] for r in records)
    years = instance.years

    def rate(code: str, driver: str) -> float:
        return instance.growth.get(code, {}).get(driver, float(getattr(p, driver)))

    figures: dict[str, np.ndarray] = {}
    for key in (*GROWN, "other_income_100m", "min_local_share"):
        rows = [figure(records, key)]
        for year in years[1:]:
            value = rows[-1].copy()
            for i, code in enumerate(codes):
                for driver in GROWN.get(key, ()):
                    value[i] *= 1.0 + rate(code, driver)
                given = instance.overrides.get((code, year), {})
                if key in given:
                    value[i] = given[key]
            rows.append(value)
        figures[key] = np.stack(rows)
    insured, employed = figures["insured_employees_10k"], figures["enterprise_employment_10k"]
    covered = np.where(np.isnan(employed), insured, (insured + employed) / 2)
    base = p.wage_base_share * figures["avg_wage_yuan"] * covered * 1e4 / 1e8
    retirees = figures["retirees_10k"]
    rule_share = retirees * base.sum(axis=1)[:, None] / retirees.sum(axis=1)[:, None]
    expenditure = figures["expenditure_100m"]
    flow = (
        figures["contribution_income_100m"]
        + figures["other_income_100m"]
        + figures["planned_central_subsidy_100m"]
        - expenditure
    )
    opening = figure(records, "opening_balance_100m")
    floor = np.minimum(opening, 0.0) + p.reserve_months_floor * expenditure / 12
    path = dict(instance.ratio_path)
    ratios = [p.contribution_ratio]
    for year in years[1:]:
        ratios.append(path.get(year, ratios[-1]))
    return Reference(
        years=years,
        codes=codes,
        opening=opening,
        figures=figures,
        base=base,
        rule_share=rule_share,
        flow=flow,
        floor=floor,
        ratios=np.array(ratios),
    )


# ------------------------------------------------------------------------------------ LP


@dataclass
class PlanLP:
    """The plan's LP as matrices; ``index`` maps each variable family to its columns."""

    index: dict[str, np.ndarray]
    size: int
    ub: list[np.ndarray] = field(default_factory=list)
    ub_rhs: list[float] = field(default_factory=list)
    ub_ratio: list[bool] = field(default_factory=list)
    eq: list[np.ndarray] = field(default_factory=list)
    eq_rhs: list[float] = field(default_factory=list)
    bounds: list[tuple[float | None, float | None]] = field(default_factory=list)
    levels: dict[str, np.ndarray] = field(default_factory=dict)

    def row(self, *entries: tuple[Any, Any]) -> np.ndarray:
        """A row from (columns, coefficients) pairs; coefficients broadcast to the columns."""
        vector = np.zeros(self.size)
        for columns, coefficients in entries:
            values = np.broadcast_to(coefficients, np.shape(columns))
            np.add.at(vector, np.ravel(columns), np.ravel(values))
        return vector

    def le(self, vector: np.ndarray, rhs: float, ratio_only: bool = False) -> None:
        self.ub.append(vector)
        self.ub_rhs.append(float(rhs))
        self.ub_ratio.append(ratio_only)

    def equal(self, vector: np.ndarray, rhs: float) -> None:
        self.eq.append(vector)
        self.eq_rhs.append(float(rhs))


def columns(years: int, units: int, objective: str) -> tuple[dict[str, np.ndarray], int]:
    """The column of every variable: (years, units) arrays for the cells, (years,) for r."""
    index: dict[str, np.ndarray] = {}
    start = 0
    cells = years * units
    for name in ("a", "l", "g", "u", "e", "s"):
        index[name] = np.arange(start, start + cells).reshape(years, units)
        start += cells
    aux = {"maximin": ("r", "lo"), "range": ("r", "lo", "hi"), "mad": ("r",)}[objective]
    for name in aux:
        index[name] = np.arange(start, start + years)
        start += years
    if objective == "mad":
        index["d"] = np.arange(start, start + cells).reshape(years, units)
        start += cells
    return index, start


def build_lp(ref: Reference, params: Parameters) -> PlanLP:
    """The plan's LP of docs/formulation.md from the re-derived numbers."""
    n_years, n_units = ref.base.shape
    index, size = columns(n_years, n_units, params.objective)
    lp = PlanLP(index, size)
    a, loc, g, u, e, s, r = (index[k] for k in ("a", "l", "g", "u", "e", "s", "r"))
    k, base = ref.rule_share, ref.base
    for t in range(n_years):
        lp.equal(lp.row((a[t], 1.0), (r[t], -base[t].sum())), 0.0)  # Σ a = r Σ B
        lp.le(lp.row((g[t], 1.0)), params.central_subsidy_budget_100m)
        for p in range(n_units):
            # s − s_prev + r B − a − l − g − u = F (+ opening in the base year)
            carried = [(s[t, p], 1.0), (r[t], base[t, p])]
            carried += [(v[t, p], -1.0) for v in (a, loc, g, u)]
            if t > 0:
                carried.append((s[t - 1, p], -1.0))
            lp.equal(lp.row(*carried), ref.flow[t, p] + (ref.opening[p] if t == 0 else 0.0))
            share = ref.figures["min_local_share"][t, p]
            if share > 0:  # (1 − share) l − share g ≥ 0
                lp.le(lp.row((g[t, p], share), (loc[t, p], -(1 - share))), 0.0)
            lp.le(lp.row((a[t, p], 1.0), (r[t], -k[t, p]), (e[t, p], -1.0)), 0.0)
            lp.le(lp.row((a[t, p], -1.0), (r[t], k[t, p]), (e[t, p], -1.0)), 0.0)
            if params.max_rule_deviation is not None:
                delta = params.max_rule_deviation
                lp.le(lp.row((r[t], max(0.0, 1 - delta) * k[t, p]), (a[t, p], -1.0)), 0.0)
                lp.le(lp.row((a[t, p], 1.0), (r[t], -(1 + delta) * k[t, p])), 0.0)
            if params.min_return_share is not None:
                rho = params.min_return_share
                lp.le(lp.row((r[t], rho * base[t, p]), (a[t, p], -1.0)), 0.0)
    if params.optimizes_ratio_path:
        assert params.ratio_step_max is not None
        for t in range(1, n_years):  # 0 ≤ r_t − r_{t−1} ≤ step
            lp.le(lp.row((r[t], 1.0), (r[t - 1], -1.0)), params.ratio_step_max, True)
            lp.le(lp.row((r[t - 1], 1.0), (r[t], -1.0)), 0.0, True)
    lp.bounds = column_bounds(ref, params, size)
    add_imbalance(lp, ref, params.objective)
    weight = (n_years - np.arange(n_years))[:, None]
    lp.levels = {
        "unfunded_gap": lp.row((u, 1.0)),
        "gap_timing": lp.row((u, weight)),
        "fiscal_subsidy": lp.row((loc, 1.0), (g, 1.0)),
        "central_subsidy": lp.row((g, 1.0)),
        "ratio_path": lp.row((r, 1.0)),
        "subsidy_timing": lp.row((loc, weight), (g, weight)),
        "imbalance": lp.levels["imbalance"],
        "rule_distance": lp.row((e, 1.0)),
    }
    return lp


def column_bounds(
    ref: Reference, params: Parameters, size: int
) -> list[tuple[float | None, float | None]]:
    """Transfers within their guardrails, the local subsidy within its cap, the balance at
    or above its floor, the ratio fixed or between the base ratio and ``ratio_max``."""
    n_years, n_units = ref.base.shape
    index, _ = columns(n_years, n_units, params.objective)
    bounds: list[tuple[float | None, float | None]] = [(0.0, None)] * size
    least, most = ref.figures["min_transfer_100m"], ref.figures["max_transfer_100m"]
    for t in range(n_years):
        for p in range(n_units):
            low = 0.0 if np.isnan(least[t, p]) else max(0.0, float(least[t, p]))
            high = None if np.isnan(most[t, p]) else float(most[t, p])
            bounds[index["a"][t, p]] = (low, high)
            bounds[index["l"][t, p]] = (0.0, float(ref.figures["local_subsidy_cap_100m"][t, p]))
            bounds[index["s"][t, p]] = (float(ref.floor[t, p]), None)
        start = float(ref.ratios[0])
        if not params.optimizes_ratio_path:
            bounds[index["r"][t]] = (float(ref.ratios[t]), float(ref.ratios[t]))
        elif t == 0:
            bounds[index["r"][t]] = (start, start)
        else:
            bounds[index["r"][t]] = (start, max(start, float(params.ratio_max or start)))
    for name in ("lo", "hi"):
        for column in index.get(name, ()):
            bounds[column] = (None, None)
    return bounds


def add_imbalance(lp: PlanLP, ref: Reference, objective: str) -> None:
    """The equity rows with ``M_{p,t} = 12 s_{p,t} / X_{p,t}``, and ``levels["imbalance"]``:
    maximin ``−Σ_t lo_t``; range ``Σ_t (hi_t − lo_t)``; mad ``Σ_t Σ_p d_{p,t} / n``."""
    s = lp.index["s"]
    per_month = 12.0 / ref.expenditure
    n_years, n_units = s.shape
    if objective in ("maximin", "range"):
        lo = lp.index["lo"]
        for t in range(n_years):
            for p in range(n_units):  # lo_t ≤ M_{p,t}
                lp.le(lp.row((lo[t], 1.0), (s[t, p], -per_month[t, p])), 0.0)
                if objective == "range":  # M_{p,t} ≤ hi_t
                    lp.le(lp.row((s[t, p], per_month[t, p]), (lp.index["hi"][t], -1.0)), 0.0)
        if objective == "maximin":
            lp.levels["imbalance"] = lp.row((lo, -1.0))
        else:
            lp.levels["imbalance"] = lp.row((lp.index["hi"], 1.0), (lo, -1.0))
        return
    d = lp.index["d"]
    for t in range(n_years):
        national = lp.row((s[t], 12.0 / ref.expenditure[t].sum()))
        for p in range(n_units):  # ±(M_{p,t} − M̄_t) ≤ d_{p,t}
            own = lp.row((s[t, p], per_month[t, p]))
            lp.le(own - national - lp.row((d[t, p], 1.0)), 0.0)
            lp.le(national - own - lp.row((d[t, p], 1.0)), 0.0)
    lp.levels["imbalance"] = lp.row((d, 1.0 / n_units))


def reference_levels(lp: PlanLP, names: tuple[str, ...], holds: list[float]) -> list[float]:
    """Each level's optimum by linprog, holding the levels before it at ``f* + hold``."""
    ub, ub_rhs = list(lp.ub), list(lp.ub_rhs)
    optima = []
    for name, hold in zip(names, holds, strict=True):
        result = linprog(
            lp.levels[name],
            A_ub=np.array(ub),
            b_ub=np.array(ub_rhs),
            A_eq=np.array(lp.eq),
            b_eq=np.array(lp.eq_rhs),
            bounds=lp.bounds,
            method="highs",
        )
        assert result.status == 0, f"reference level {name}: {result.message}"
        optima.append(float(result.fun))
        ub.append(lp.levels[name])
        ub_rhs.append(float(result.fun) + hold)
    return optima


def decisions(lp: PlanLP, ref: Reference, plan: Plan) -> np.ndarray:
    """The project's plan as a point of this LP; ``e`` and the equity auxiliaries take the
    least values its decisions allow."""
    x = np.zeros(lp.size)
    index = lp.index
    reported = {
        "a": "allocation_100m",
        "l": "local_subsidy_100m",
        "g": "central_subsidy_100m",
        "u": "unfunded_gap_100m",
        "s": "closing_balance_100m",
    }
    for name, key in reported.items():
        frame = plan.figures[key]
        assert list(frame.index) == list(ref.years) and tuple(frame.columns) == ref.codes
        x[index[name]] = frame.to_numpy(dtype=float)
    ratio = np.asarray(plan.ratios, dtype=float)
    x[index["r"]] = ratio
    x[index["e"]] = np.abs(x[index["a"]] - ratio[:, None] * ref.rule_share)
    months = 12.0 * x[index["s"]] / ref.expenditure
    if "lo" in index:
        x[index["lo"]] = months.min(axis=1)
    if "hi" in index:
        x[index["hi"]] = months.max(axis=1)
    if "d" in index:
        national = 12.0 * x[index["s"]].sum(axis=1) / ref.expenditure.sum(axis=1)
        x[index["d"]] = np.abs(months - national[:, None])
    return x


def violations(lp: PlanLP, x: np.ndarray, money: float, ratio: float) -> list[str]:
    """Every bound and row that ``x`` breaks by more than ``money`` (亿元) or, for rows and
    columns in the ratio alone, ``ratio``."""
    found = []
    r_columns = set(lp.index["r"].tolist())
    for j, (low, high) in enumerate(lp.bounds):
        slack = ratio if j in r_columns else money
        if (low is not None and x[j] < low - slack) or (high is not None and x[j] > high + slack):
            found.append(f"column {j} = {x[j]} outside [{low}, {high}]")
    for i, (vector, rhs) in enumerate(zip(lp.ub, lp.ub_rhs, strict=True)):
        if vector @ x > rhs + (ratio if lp.ub_ratio[i] else money):
            found.append(f"row {i}: {vector @ x} > {rhs}")
    for i, (vector, rhs) in enumerate(zip(lp.eq, lp.eq_rhs, strict=True)):
        if abs(vector @ x - rhs) > money:
            found.append(f"equality {i}: {vector @ x} ≠ {rhs}")
    return found


# -------------------------------------------------------------------------------- solving


@dataclass(frozen=True)
class Solved:
    """One case solved both ways."""

    instance: Instance
    ref: Reference
    lp: PlanLP
    plan: Plan
    names: tuple[str, ...]
    optima: tuple[float, ...]


def size_of(name: str, value: float, ref: Reference) -> float:
    """What a level's agreement is relative to: money, money over the years, or itself."""
    if name in MONEY_LEVELS:
        return ref.scale
    if name in TIMING_LEVELS:
        return ref.scale * len(ref.years)
    return max(1.0, abs(value))


@functools.cache
def solved(case: Case) -> Solved:
    instance = draw_instance(case)
    plan = solve_plan(instance.data(), Scenario("test", instance.params))
    ref = project_again(instance)
    lp = build_lp(ref, instance.params)
    names = expected_levels(instance.params.optimizes_ratio_path, len(ref.years))
    holds = [level.tolerance for level in plan.levels]
    optima = reference_levels(lp, names, holds) if len(holds) == len(names) else []
    return Solved(instance, ref, lp, plan, names, tuple(optima))


# ---------------------------------------------------------------------------------- tests


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.seed}-{c.objective}")
def test_project_reaches_the_reference_optimum_at_every_level(case: Case) -> None:
    run = solved(case)
    assert [level.name for level in run.plan.levels] == list(run.names)
    for level in run.plan.levels:
        size = size_of(level.name, level.objective, run.ref)
        assert 0 < level.tolerance <= SMALL * size, f"{level.name} held too loosely"
    for name, want, level in zip(run.names, run.optima, run.plan.levels, strict=True):
        size = size_of(name, want, run.ref)
        assert abs(level.objective - want) <= SMALL * size, (name, level.objective, want)


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.seed}-{c.objective}")
def test_project_plan_is_feasible_and_attains_the_reference_levels(case: Case) -> None:
    run = solved(case)
    if not run.instance.params.optimizes_ratio_path:
        assert run.plan.ratios == pytest.approx(run.ref.ratios, abs=1e-12)
    x = decisions(run.lp, run.ref, run.plan)
    assert violations(run.lp, x, money=SMALL * run.ref.scale, ratio=1e-9) == []
    for name, want in zip(run.names, run.optima, strict=True):
        attained = float(run.lp.levels[name] @ x)
        size = size_of(name, want, run.ref)
        hold = next(level.tolerance for level in run.plan.levels if level.name == name)
        assert want - SMALL * size <= attained <= want + hold + SMALL * size, (
            name,
            attained,
            want,
        )


def first_year(mask: np.ndarray, years: tuple[int, ...]) -> int | None:
    hits = np.flatnonzero(mask)
    return int(years[hits[0]]) if len(hits) else None


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.seed}-{c.objective}")
def test_depletion_years_follow_the_reference_projection(case: Case) -> None:
    run = solved(case)
    ref, plan, years = run.ref, run.plan, run.ref.years
    before = ref.opening + np.cumsum(ref.flow, axis=0)
    ratio = np.asarray(plan.ratios, dtype=float)[:, None]  # the plan's path (checked above)
    under_rule = ref.opening + np.cumsum(ref.flow - ratio * ref.base + ratio * ref.rule_share, 0)
    depletion = plan.depletion
    for p, code in enumerate(ref.codes):
        assert _year(depletion.at[code, "depletion_year_before"]) == first_year(
            before[:, p] < 0, years
        ), code
        assert _year(depletion.at[code, "depletion_year_rule"]) == first_year(
            under_rule[:, p] < 0, years
        ), code
    assert plan.national_depletion_year == first_year(before.sum(axis=1) < 0, years)
    current = ref.flow.sum(axis=1)
    assert plan.first_current_deficit_year == first_year(current < 0, years)
    gap = plan.figures["unfunded_gap_100m"].to_numpy()
    if run.optima[0] <= plan.round_off:
        assert depletion["depletion_year_plan"].isna().all()
    else:
        assert depletion["depletion_year_plan"].notna().any()
    for p, code in enumerate(ref.codes):
        assert _year(depletion.at[code, "depletion_year_plan"]) == first_year(
            gap[:, p] > 0, years
        ), code


def _year(value: object) -> int | None:
    return None if pd.isna(value) else int(value)  # type: ignore[call-overload]


def test_cases_exercise_the_plan() -> None:
    """The seeded cases reach what the plan is for: a year with an unfunded gap, subsidy,
    a ratio path raised by the solver, and a unit running out of money before adjustment."""
    runs = [solved(case) for case in CASES]
    optimum = [dict(zip(run.names, run.optima, strict=True)) for run in runs]
    assert any(o["unfunded_gap"] > 1.0 for o in optimum)
    assert any(o["fiscal_subsidy"] > 1.0 for o in optimum)
    raised = [
        run.plan.ratios[-1] > run.plan.ratios[0] + 1e-6
        for run in runs
        if run.instance.params.optimizes_ratio_path
    ]
    assert any(raised)
    assert any(run.plan.depletion["depletion_year_before"].notna().any() for run in runs)
