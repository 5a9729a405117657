"""Running the plan under uncertainty: batches of draws as Dask tasks, or in this process.

Every scenario's draws are cut into batches of ``BATCH_DRAWS`` (the last may be shorter),
each one task (``risk.solve_draws``): the batches depend on the number of draws only, never
on the workers, so one worker, eight, or a cluster give the same results. Without a
scheduler address a ``LocalCluster`` sized to the machine (one single-threaded worker
process per core: HiGHS runs one thread per solve) is started and closed at the end; with
one, the planner's IT's cluster (``dask scheduler`` / ``dask worker``) does the work. The
workbook's data is scattered once to every worker rather than sent with each task.

Dask re-runs the tasks of a worker that is lost; a draw whose LP fails is counted in its
batch, never dropped (``risk.DrawBatch.failed``).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from typing import Any

from model.analysis.risk import (
    DrawBatch,
    RiskResult,
    check_risk_scenario,
    solve_draws,
    summarise,
)
from model.errors import InputError, Problem
from model.lp.shocks import ShockModel
from model.workbook.reader import FundData
from model.workbook.scenarios import Scenario, apply_overrides

BATCH_DRAWS = 25
"""Draws per task: enough to amortise building the model (about a third of a solve on the
sample), few enough that two workers share 100 draws evenly."""

Progress = Callable[[int, int], None]
"""Called as ``progress(done, total)`` in draws, after each batch."""


def batches(draws: int) -> list[range]:
    """The draw numbers cut into tasks: a function of the number of draws alone."""
    return [range(start, min(start + BATCH_DRAWS, draws)) for start in range(0, draws, BATCH_DRAWS)]


def run_risk(
    data: FundData,
    scenarios: list[Scenario],
    scheduler: str | None = None,
    workers: int | None = None,
    progress: Progress | None = None,
    in_process: bool = False,
) -> RiskResult:
    """Solve every scenario's draws and summarise them.

    Args:
        scenarios: base first; each draws ``parameters.draws`` paths from its own seed.
        scheduler: a Dask scheduler's address (``tcp://host:8786``); None starts a
            ``LocalCluster`` of ``workers`` processes (default: one per core).
        in_process: run the same tasks one after another in this process, no Dask (the
            web worker's mode, and the benchmark's reference).

    Raises:
        InputError: a scenario's plan cannot be made, or the scheduler cannot be reached.
    """
    problems: list[Problem] = []
    for scenario in scenarios:
        try:
            check_risk_scenario(data, scenario)
        except InputError as error:
            problems.extend(error.problems)
    if problems:
        raise InputError(problems)
    started = time.perf_counter()
    tasks = [
        (index, draws)
        for index, scenario in enumerate(scenarios)
        for draws in batches(scenario.parameters.draws)
    ]
    total = sum(len(draws) for _, draws in tasks)
    engine, address, count, version = "in-process", "", 1, ""
    if in_process:
        results = []
        for index, draws in tasks:
            results.append(solve_draws(data, scenarios[index], index, draws))
            if progress:
                progress(sum(len(r.draws) for r in results), total)
    else:
        import distributed

        engine, version = "dask", distributed.__version__
        results, address, count = _on_dask(data, scenarios, tasks, scheduler, workers, progress)
    seconds = time.perf_counter() - started
    by_scenario: dict[int, list[DrawBatch]] = {i: [] for i in range(len(scenarios))}
    for batch in results:
        by_scenario[batch.scenario].append(batch)
    risks = tuple(
        summarise(data, scenario, by_scenario[i], scenario.parameters.draws)
        for i, scenario in enumerate(scenarios)
    )
    base = scenarios[0].parameters
    shocks = ShockModel.of(base)
    return RiskResult(
        scenarios=risks,
        source=data.source,
        draws=base.draws,
        seed=base.seed,
        correlation=shocks.correlation,
        sigma=shocks.sigma,
        engine=engine,
        scheduler=address,
        workers=count,
        dask_version=version,
        seconds=seconds,
        timings={
            "tasks_seconds": sum(r.seconds for r in results),
            "solve_seconds": sum(r.solve_seconds for r in results),
        },
    )


def _on_dask(
    data: FundData,
    scenarios: list[Scenario],
    tasks: list[tuple[int, range]],
    scheduler: str | None,
    workers: int | None,
    progress: Progress | None,
) -> tuple[list[DrawBatch], str, int]:
    """Submit the tasks to a cluster and gather them as they finish."""
    from distributed import Client, LocalCluster, as_completed

    cluster = None
    if scheduler is None:
        cluster = LocalCluster(
            n_workers=max(1, workers or os.cpu_count() or 1),
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
    try:
        client = _client(Client, cluster if cluster is not None else scheduler)
        with client:
            shared = client.scatter(data, broadcast=True)
            futures = [
                client.submit(
                    solve_draws,
                    shared,
                    scenarios[index],
                    index,
                    draws,
                    key=f"caf-risk-{index}-{draws.start}-{draws.stop}",
                    pure=False,
                )
                for index, draws in tasks
            ]
            total = sum(len(draws) for _, draws in tasks)
            done, results = 0, []
            for future in as_completed(futures):
                batch = future.result()
                results.append(batch)
                done += len(batch.draws)
                if progress:
                    progress(done, total)
            address = str(client.scheduler.address)
            count = len(client.scheduler_info(n_workers=-1)["workers"])
    finally:
        if cluster is not None:
            cluster.close()
    return results, address, count


def _client(client_class: Any, target: Any) -> Any:
    """A Dask client of ``target`` (a cluster or an address).

    Raises:
        InputError: an address that answers nothing.
    """
    try:
        return client_class(target, timeout="20s")
    except OSError as error:
        raise InputError(
            [
                Problem(
                    f"--scheduler {target}",
                    f"found no Dask scheduler there ({error})",
                    "start one with `dask scheduler` and workers with `dask worker ADDRESS`, "
                    "or leave --scheduler out to use this machine",
                    what_zh=f"该地址没有 Dask 调度器（{error}）",
                    fix_zh="请用 `dask scheduler` 启动调度器、用 `dask worker 地址` 启动工作进程，"
                    "或不加 --scheduler 以使用本机",
                )
            ]
        ) from None


def with_sample(scenarios: list[Scenario], draws: int | None, seed: int | None) -> list[Scenario]:
    """The scenarios with ``--draws`` and ``--seed`` applied to each, checked as ``--set``
    values are (a count out of range is a located input error).

    Raises:
        InputError: a value the schema refuses.
    """
    given = {key: value for key, value in (("draws", draws), ("seed", seed)) if value is not None}
    if not given:
        return scenarios
    changed = []
    for scenario in scenarios:
        params = apply_overrides(scenario.parameters, dict(given), "--draws/--seed")
        overrides = (*scenario.overrides, *given.items())
        changed.append(Scenario(scenario.name, params, overrides))
    return changed
