"""Many scenarios of one workbook, solved side by side on worker processes.

Scenarios are split into contiguous chunks, several per worker process (so a slow chunk
does not hold the others up). Each worker process keeps one ``Runner`` for all the chunks
it is given, made once by the pool's initializer with the data: it builds each model
structure once per process and re-solves it with its persistent HiGHS instance, pushing only
the next scenario's bounds, and the data crosses to each worker once, not with every chunk.
Results come back in scenario order whatever the number of workers, so the same input
always gives the same comparison (``comparison.Comparison``, whose tables are built there).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed

from model.analysis.comparison import Comparison
from model.analysis.results import Allocation
from model.analysis.runner import Runner
from model.lp.guardrails import check_scenarios
from model.workbook.reader import FundData
from model.workbook.scenarios import Scenario

Progress = Callable[[int, int], None]
"""Called as ``progress(done, total)`` after each chunk or scenario."""


_runner: Runner | None = None
"""The worker process's own ``Runner`` (set by ``_start_worker``; unused in the parent)."""


def _start_worker(data: FundData) -> None:
    global _runner
    _runner = Runner(data)


def _solve_chunk(scenarios: list[Scenario]) -> list[Allocation]:
    if _runner is None:
        raise RuntimeError("a batch worker was not started with its data")
    return [_runner.solve(s) for s in scenarios]


def _chunks(items: list[Scenario], count: int) -> list[list[Scenario]]:
    size, extra = divmod(len(items), count)
    chunks, start = [], 0
    for index in range(count):
        end = start + size + (1 if index < extra else 0)
        if end > start:
            chunks.append(items[start:end])
        start = end
    return chunks


def run_comparison(
    data: FundData,
    scenarios: list[Scenario],
    workers: int | None = None,
    progress: Progress | None = None,
) -> Comparison:
    """Solve every scenario, on ``workers`` processes (default: every core).

    Small comparisons run in this process: starting workers costs more than it saves.

    Args:
        data: the validated workbook.
        scenarios: base first.
        workers: processes to use; 1 runs here.
        progress: called as ``progress(done, total)`` after each chunk or scenario.
    """
    check_scenarios(data.units, scenarios, data.source)
    total = len(scenarios)
    workers = min(workers or os.cpu_count() or 1, total)
    if workers <= 1 or total < 8:
        runner = Runner(data)
        results = []
        for done, scenario in enumerate(scenarios, start=1):
            results.append(runner.solve(scenario))
            if progress:
                progress(done, total)
        return Comparison(tuple(results))
    chunks = _chunks(scenarios, workers * 4)
    solved: dict[int, list[Allocation]] = {}
    done = 0
    with ProcessPoolExecutor(
        max_workers=workers, initializer=_start_worker, initargs=(data,)
    ) as pool:
        futures = {pool.submit(_solve_chunk, chunk): i for i, chunk in enumerate(chunks)}
        for future in as_completed(futures):
            solved[futures[future]] = future.result()
            done += len(solved[futures[future]])
            if progress:
                progress(done, total)
    return Comparison(tuple(a for i in range(len(chunks)) for a in solved[i]))
