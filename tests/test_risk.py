"""The plan under uncertainty: draws, their independence from how they are split, a hand
case with a closed-form probability, failures counted, and the distributed path.

The hand case: unit A opens with 15亿, collects 90 and pays 100 a year, so it ends the base
year at 5; next year its income grows by the wage shock ``s ~ N(0, σ²)`` (every other
rate 0), and its balance before adjustment is ``5 + 90(1 + s) − 100 = 90 s − 5``: it is
depleted by the second year exactly when ``s < 5/90``, with probability ``Φ(5 / (90 σ))``
whatever the correlation ρ, since ``ρ z + √(1−ρ²) ε`` is standard normal. Unit B is rich
and never runs out.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from model.analysis.plan import solve_plan
from model.analysis.risk import FAN, NEVER, RiskResult, solve_draws, summarise
from model.analysis.risk_run import BATCH_DRAWS, batches, run_risk, with_sample
from model.errors import InputError
from model.lp.shocks import ShockModel
from model.workbook.reader import FundData, read_workbook
from model.workbook.scenarios import Scenario
from tests.fixtures_lp import make_data, parameters

SAMPLE = Path(__file__).resolve().parent.parent / "inputs" / "sample_2020.xlsx"
CERTAIN = {
    "wage_growth_sd": 0.0,
    "insured_growth_sd": 0.0,
    "retiree_growth_sd": 0.0,
    "benefit_growth_sd": 0.0,
}


def hand_data(**values: Any) -> FundData:
    """Units A and B of the module docstring, a two-year plan, only wages uncertain."""
    common = {"avg_wage_yuan": 100_000.0, "region": "East", "name_en": ""}
    records = [
        common
        | {
            "code": "A",
            "name_zh": "甲",
            "insured_employees_10k": 100.0,
            "retirees_10k": 10.0,
            "contribution_income_100m": 90.0,
            "expenditure_100m": 100.0,
            "opening_balance_100m": 15.0,
        },
        common
        | {
            "code": "B",
            "name_zh": "乙",
            "insured_employees_10k": 100.0,
            "retirees_10k": 10.0,
            "contribution_income_100m": 300.0,
            "expenditure_100m": 100.0,
            "opening_balance_100m": 1000.0,
        },
    ]
    settings = {
        "contribution_ratio": 0.02,
        "plan_end_year": 2021,
        **CERTAIN,
        "wage_growth_sd": 0.1,
        "shock_correlation": 0.3,
        "draws": 40,
        "seed": 7,
    }
    return make_data(records, parameters(**(settings | values)))


def comparable(result: RiskResult) -> str:
    """The risk JSON without how it was run (engine, workers, Dask's version)."""
    data = result.to_json()
    for key in ("engine", "workers", "dask_version"):
        data.pop(key)
    return json.dumps(data, sort_keys=True)


# --- the draws ---------------------------------------------------------------------------


def test_a_draw_depends_on_seed_and_number_alone() -> None:
    shocks = ShockModel(seed=3, sigma=(0.01, 0.02, 0.0, 0.005), correlation=0.4)
    first = shocks.draw(5, years=6, units=4)
    assert np.array_equal(first, shocks.draw(5, years=6, units=4))
    assert not np.array_equal(first, shocks.draw(6, years=6, units=4))
    assert not np.array_equal(first, ShockModel(4, shocks.sigma, 0.4).draw(5, 6, 4))
    assert first.shape == (6, 4, 4)
    assert not first[0].any()  # the base year is the workbook itself
    assert not first[:, :, 2].any()  # a driver with σ = 0 is certain


def test_shocks_have_the_stated_spread_and_correlation() -> None:
    """Over many draws the shocks have s.d. σ_d, and two units' shocks correlate ρ²."""
    shocks = ShockModel(seed=1, sigma=(0.02, 0.01, 0.0, 0.0), correlation=0.6)
    sample = np.stack([shocks.draw(n, years=2, units=2)[1] for n in range(4000)])
    assert sample[:, 0, 0].std() == pytest.approx(0.02, rel=0.05)
    assert sample[:, 1, 1].std() == pytest.approx(0.01, rel=0.05)
    between = np.corrcoef(sample[:, 0, 0], sample[:, 1, 0])[0, 1]
    assert between == pytest.approx(0.36, abs=0.05)


def test_batches_depend_on_the_number_of_draws_only() -> None:
    assert batches(60) == [range(0, 25), range(25, 50), range(50, 60)]
    assert sum(len(b) for b in batches(1001)) == 1001
    assert BATCH_DRAWS == 25


# --- certain draws are the plan ------------------------------------------------------------


def test_with_every_sd_zero_each_draw_is_the_deterministic_plan() -> None:
    """σ = 0: every draw's totals, depletion years and national path are the plan's, so
    every probability is 0 or 1 and every percentile the plan's figure."""
    data = read_workbook(SAMPLE)
    base = data.scenarios[0]
    scenario = Scenario(base.name, base.parameters.with_overrides(CERTAIN | {"draws": 3}))
    plan = solve_plan(data, scenario)
    (risk,) = run_risk(data, [scenario], in_process=True).scenarios
    assert risk.solved == 3 and not risk.failed
    totals = plan.totals()
    subsidy = totals["local_subsidy_100m"] + totals["central_subsidy_100m"]
    for column in ("p5", "p50", "p95", "mean"):
        assert risk.money.at["total_subsidy_100m", column] == pytest.approx(subsidy, rel=1e-7)
        assert risk.money.at["unfunded_gap_100m", column] == pytest.approx(
            totals["unfunded_gap_100m"], abs=1e-3
        )
    for regime in ("before", "rule", "plan"):
        frame = risk.depletion[regime]
        assert set(np.unique(frame.to_numpy())) <= {0.0, 1.0}
        for code, year in plan.depletion[f"depletion_year_{regime}"].items():
            first = None if pd.isna(year) else int(year)
            expected = [1.0 if first is not None and y >= first else 0.0 for y in plan.years]
            assert frame.loc[code].tolist() == expected, (regime, code)
    assert risk.gap_probability == (1.0 if plan.status == "unfunded_gap" else 0.0)
    closing = plan.national["national_closing_100m"].to_numpy()
    for q in FAN:
        assert risk.fan_plan[f"p{q}"].to_numpy() == pytest.approx(closing, rel=1e-7, abs=1e-3)
    year = plan.national_depletion_year
    assert risk.national_depletion[year] == 1.0 and risk.national_depletion.sum() == 1.0


# --- the hand case -------------------------------------------------------------------------


def test_hand_case_depletion_probability_is_the_normal_closed_form() -> None:
    draws = 800
    data = hand_data(draws=draws)
    (risk,) = run_risk(data, list(data.scenarios), in_process=True).scenarios
    sigma = 0.1
    expected = 0.5 * (1 + math.erf(5 / (90 * sigma) / math.sqrt(2)))  # Φ(5 / 90σ) ≈ 0.711
    attained = risk.depletion["before"].at["A", 2021]
    error = math.sqrt(expected * (1 - expected) / draws)
    assert abs(attained - expected) < 4 * error, (attained, expected)
    assert risk.depletion["before"].at["A", 2020] == 0.0  # 5亿 left at the base year's end
    assert risk.depletion["before"].loc["B"].max() == 0.0
    assert risk.solved == draws


def test_one_worker_two_workers_and_one_process_give_identical_results() -> None:
    data = hand_data(draws=2 * BATCH_DRAWS + 10)
    scenarios = list(data.scenarios)
    alone = run_risk(data, scenarios, in_process=True)
    one = run_risk(data, scenarios, workers=1)
    two = run_risk(data, scenarios, workers=2)
    assert comparable(one) == comparable(two) == comparable(alone)
    assert (one.engine, one.workers, two.workers) == ("dask", 1, 2)
    assert one.dask_version


def test_a_draw_is_the_same_whatever_batch_it_falls_in() -> None:
    """Draws 4-7 of the sample solved in a batch of their own and after draws 0-3: every
    figure is the same, the plan's decisions included (HiGHS must not carry one draw's
    state into the next; the last levels have alternate optima)."""
    data = read_workbook(SAMPLE)
    base = data.scenarios[0]
    scenario = Scenario(base.name, base.parameters.with_overrides({"wage_growth_sd": 0.03}))
    whole = solve_draws(data, scenario, 0, range(0, 8))
    split = solve_draws(data, scenario, 0, range(4, 8))
    for regime in ("before", "rule", "plan"):
        assert np.array_equal(whole.depletion[regime][4:], split.depletion[regime]), regime
    for key, values in whole.money.items():
        assert np.array_equal(values[4:], split.money[key]), key
    assert np.array_equal(whole.national_plan[4:], split.national_plan)


def test_a_draw_that_fails_is_counted_with_its_reason() -> None:
    """Benefits falling 50% a year with a 20-point s.d. make the expenditure of some draws
    negative: those draws are reported, never dropped, and the rest summarised."""
    data = hand_data(draws=60, benefit_growth=-0.5, benefit_growth_sd=0.2, plan_end_year=2024)
    (risk,) = run_risk(data, list(data.scenarios), in_process=True).scenarios
    assert risk.failed, "the crafted draws should include a negative expenditure"
    assert risk.solved + len(risk.failed) == 60
    assert all("expenditure" in reason for _, reason in risk.failed)
    reported = {d["draw"] for d in risk.to_json()["failed_draws"]}
    assert reported == {n for n, _ in risk.failed}


def test_a_plan_that_cannot_be_made_is_refused_before_any_draw() -> None:
    data = hand_data(plan_end_year=None)
    with pytest.raises(InputError) as caught:
        run_risk(data, list(data.scenarios), in_process=True)
    assert "plan_end_year" in str(caught.value.problems[0])


def test_draws_and_seed_are_checked_like_set_values() -> None:
    data = hand_data()
    with pytest.raises(InputError) as caught:
        with_sample(list(data.scenarios), 0, None)
    assert caught.value.problems[0].where == "--draws/--seed draws"
    (changed,) = with_sample(list(data.scenarios), 12, 99)
    assert (changed.parameters.draws, changed.parameters.seed) == (12, 99)


def test_the_robust_ranking_puts_the_cheaper_safer_scenario_first() -> None:
    """A higher ratio moves more to A and needs no subsidy; ranking by the 95th percentile
    of subsidy, then the gap probability, must put it first whatever the order."""
    data = hand_data(draws=30)
    base = data.scenarios[0]
    low = Scenario("low", base.parameters.with_overrides({"contribution_ratio": 0.0}))
    high = Scenario("high", base.parameters.with_overrides({"contribution_ratio": 0.2}))
    for order in ([low, high], [high, low]):
        result = run_risk(data, order, in_process=True)
        assert [s.scenario for s in result.ranking()] == ["high", "low"]
        ranks = result.to_json()["ranking"]
        assert [(r["rank"], r["scenario"]) for r in ranks] == [(1, "high"), (2, "low")]


def test_a_scenario_with_no_solved_draw_writes_null_not_nan() -> None:
    """Its probabilities and percentiles are unknown: the JSON must stay valid (null)."""
    data = hand_data()
    batch = solve_draws(data, data.scenarios[0], 0, range(3))
    lost = dataclasses.replace(batch, failed=tuple((n, "expenditure") for n in batch.draws))
    risk = summarise(data, data.scenarios[0], [lost], 3)
    assert risk.solved == 0 and len(risk.failed) == 3
    text = json.dumps(risk.to_json(), allow_nan=False)
    assert '"gap_probability": null' in text


# --- the distributed path ------------------------------------------------------------------


def _start(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [str(Path(sys.executable).with_name("dask")), *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[Any]]]:
    """``dask scheduler`` and three ``dask worker`` processes on loopback, as a planner's
    IT would start them; stopped by their process groups at the end."""
    scheduler_file = tmp_path_factory.mktemp("dask") / "scheduler.json"
    scheduler = _start(
        "scheduler",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--no-dashboard",
        "--scheduler-file",
        str(scheduler_file),
    )
    workers: list[subprocess.Popen[bytes]] = []
    try:
        deadline = time.monotonic() + 60
        while not scheduler_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        address = json.loads(scheduler_file.read_text())["address"]
        for _ in range(3):
            workers.append(
                _start(
                    "worker", address, "--nthreads", "1", "--no-dashboard", "--host", "127.0.0.1"
                )
            )
        yield address, workers
    finally:
        for process in [*workers, scheduler]:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in [*workers, scheduler]:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def test_a_scheduler_and_workers_in_separate_processes_give_the_same_results(
    cluster: tuple[str, list[Any]],
) -> None:
    """The draws run on the cluster and match a run in this process."""
    address, _ = cluster
    data = hand_data(draws=BATCH_DRAWS + 5)
    remote = run_risk(data, list(data.scenarios), scheduler=address)
    alone = run_risk(data, list(data.scenarios), in_process=True)
    assert comparable(remote) == comparable(alone)
    assert remote.scheduler == address and remote.workers == 3


def test_a_lost_worker_s_tasks_are_run_again_and_nothing_changes(
    cluster: tuple[str, list[Any]],
) -> None:
    """A worker killed (nanny and all) once the first batch is back: Dask re-runs what it
    held on the others, and the result is the one a single process computes."""
    address, workers = cluster
    data = hand_data(draws=8 * BATCH_DRAWS)
    killed: list[int] = []

    def kill_one(done: int, total: int) -> None:
        if not killed:
            victim = workers[0]
            os.killpg(victim.pid, signal.SIGKILL)
            killed.append(victim.pid)

    remote = run_risk(data, list(data.scenarios), scheduler=address, progress=kill_one)
    assert killed
    alone = run_risk(data, list(data.scenarios), in_process=True)
    assert comparable(remote) == comparable(alone)
    assert remote.scenarios[0].solved == 8 * BATCH_DRAWS
    assert remote.workers == 2


def test_an_address_with_no_scheduler_is_a_located_input_error() -> None:
    data = hand_data(draws=2)
    with pytest.raises(InputError) as caught:
        run_risk(data, list(data.scenarios), scheduler="tcp://127.0.0.1:9")
    assert caught.value.problems[0].where == "--scheduler tcp://127.0.0.1:9"


def test_failed_draw_rows_are_never_read() -> None:
    """A failed draw's row stays NEVER and NaN; ``summarise`` masks it out."""
    data = hand_data(draws=60, benefit_growth=-0.5, benefit_growth_sd=0.2, plan_end_year=2024)
    batch = solve_draws(data, data.scenarios[0], 0, range(0, 60))
    bad = ~batch.solved
    assert bad.any()
    assert (batch.depletion["plan"][bad] == NEVER).all()
    assert np.isnan(batch.money["total_subsidy_100m"][bad]).all()


@pytest.mark.parametrize(
    "policy",
    [
        {"objective": "maximin"},
        {"objective": "range", "max_rule_deviation": 0.2},
        {"objective": "mad", "min_return_share": 0.2},
    ],
    ids=["maximin", "range-band", "mad-return-share"],
)
def test_a_loaded_draw_solves_as_a_fresh_build_of_it(policy: dict[str, Any]) -> None:
    """One model built from the planned rates, a shocked draw loaded into it (bounds and
    the data in its matrix): every level's optimum and every decision are a fresh build's."""
    from model.lp.plan import build_plan_model, plan_coefficients
    from model.lp.projection import project
    from model.lp.solve import LexicographicSolver

    data = read_workbook(SAMPLE)
    params = data.scenarios[0].parameters.with_overrides(policy | {"wage_growth_sd": 0.03})
    planned = plan_coefficients(project(data.units, params, data.horizon), params)
    shocks = ShockModel.of(params).draw(3, len(planned.years), len(planned.codes))
    drawn = plan_coefficients(project(data.units, params, data.horizon, shocks), params)
    loaded = LexicographicSolver(build_plan_model(planned, params.objective))
    loaded.load(drawn)
    got = loaded.solve(drawn.money_scale)
    fresh = LexicographicSolver(build_plan_model(drawn, params.objective)).solve(drawn.money_scale)
    for a, b in zip(got.levels, fresh.levels, strict=True):
        assert a.objective == pytest.approx(b.objective, rel=1e-9, abs=1e-6), a.name
    for name, values in fresh.values.items():
        assert got.values[name] == pytest.approx(values, rel=1e-6, abs=1e-5), name
