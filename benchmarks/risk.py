"""Cost of the plan under uncertainty, and what Dask buys (ratios measured in one run).

1. **Workers** (default 1,000 draws × the sample's first 4 scenarios): the same draws run
   three ways, each timed end to end (Dask's cluster start included):

   - ``loop``: every batch in this process, one after another, no Dask (``in_process``);
   - ``dask-1``: a ``LocalCluster`` of one worker process;
   - ``dask-2``: a ``LocalCluster`` of two.

   Reported: plans per second, the speed-up of the second worker (``dask-1 / dask-2``,
   goal ≥ 1.7) and Dask's overhead against the plain loop (``dask-1 / loop − 1``, goal
   ≤ 10%). The three results must be identical (same seed, same batches), or the script
   stops.
2. **County scale** (``--county 340x30``): a seeded synthetic workbook
   (``benchmarks/scale.synthetic_workbook``) with the sample's growth defaults; its plan is
   built once and ``--county-draws`` draws are loaded into it and re-solved, as a Dask task
   does. The per-plan time gives the worker-hours of 1,000 draws, and with
   ``--county-seconds`` (a per-plan time at 2,850 × 30 measured by ``benchmarks/plan.py``)
   those of 2,850 units × 30 years × 1,000 draws.

Usage: ``python benchmarks/risk.py [--draws 1000] [--scenarios 4] [--county 340x30]
[--county-draws 3] [--county-seconds S] [--json FILE]``
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
SAMPLE = ROOT / "inputs" / "sample_2020.xlsx"
GROWTH = {
    "wage_growth": 0.05,
    "insured_growth": -0.005,
    "retiree_growth": 0.035,
    "benefit_growth": 0.03,
}


def comparable(result: Any) -> str:
    data = result.to_json()
    for key in ("engine", "workers", "dask_version"):
        data.pop(key)
    return json.dumps(data, sort_keys=True)


def workers(draws: int, scenarios: int) -> dict[str, Any]:
    """The three ways of running the same draws, and their ratios."""
    from model.analysis.risk_run import run_risk, with_sample
    from model.workbook.reader import read_workbook

    data = read_workbook(SAMPLE)
    chosen = with_sample(list(data.scenarios)[:scenarios], draws, None)
    plans = draws * len(chosen)
    rows: dict[str, dict[str, float]] = {}
    results = {}
    for name, options in (
        ("loop", {"in_process": True}),
        ("dask-1", {"workers": 1}),
        ("dask-2", {"workers": 2}),
    ):
        started = time.perf_counter()
        result = run_risk(data, chosen, **options)  # type: ignore[arg-type]
        seconds = time.perf_counter() - started
        results[name] = comparable(result)
        rows[name] = {
            "seconds": round(seconds, 2),
            "plans_per_second": round(plans / seconds, 3),
            "solve_seconds": round(result.timings["solve_seconds"], 2),
            "failed_draws": result.failed_draws,
        }
        print(f"{name:7s} {seconds:8.1f} s  {plans / seconds:6.2f} plans/s", flush=True)
    if len(set(results.values())) != 1:
        raise SystemExit("the three runs disagree: the draws are not reproducible")
    speedup = rows["dask-1"]["seconds"] / rows["dask-2"]["seconds"]
    overhead = rows["dask-1"]["seconds"] / rows["loop"]["seconds"] - 1
    print(
        f"second worker: {speedup:.2f}x (goal >= 1.7); Dask overhead {overhead:+.1%} (goal <= 10%)"
    )
    return {
        "draws": draws,
        "scenarios": [s.name for s in chosen],
        "plans": plans,
        "runs": rows,
        "second_worker_speedup": round(speedup, 3),
        "dask_overhead": round(overhead, 4),
        "identical": True,
    }


def county(size: str, draws: int, county_seconds: float | None) -> dict[str, Any]:
    """Per-plan time at county scale, re-solving one built plan per draw."""
    from scale import synthetic_workbook

    from model.analysis.risk import solve_draws
    from model.workbook.reader import read_workbook
    from model.workbook.scenarios import Scenario

    units, years = (int(part) for part in size.split("x"))
    with tempfile.TemporaryDirectory() as folder:
        path = synthetic_workbook(Path(folder) / "county.xlsx", units)
        data = read_workbook(path)
    params = data.parameters.with_overrides(
        GROWTH | {"plan_end_year": data.parameters.year + years - 1, "draws": draws}
    )
    scenario = Scenario("county", params)
    started = time.perf_counter()
    batch = solve_draws(data, scenario, 0, range(draws))
    seconds = time.perf_counter() - started
    per_plan = batch.solve_seconds / max(1, draws - len(batch.failed))
    print(
        f"{size}: {draws} draws in {seconds:.1f} s ({per_plan:.1f} s of HiGHS a plan), "
        f"1,000 draws = {1000 * seconds / draws / 3600:.1f} worker-hours",
        flush=True,
    )
    row: dict[str, Any] = {
        "size": size,
        "draws": draws,
        "seconds": round(seconds, 2),
        "solve_seconds_per_plan": round(per_plan, 2),
        "worker_hours_per_1000_draws": round(1000 * seconds / draws / 3600, 2),
        "failed_draws": len(batch.failed),
    }
    if county_seconds:
        hours = 1000 * county_seconds / 3600
        row["worker_hours_2850x30_per_1000_draws"] = round(hours, 1)
        print(f"2850x30 at {county_seconds:.0f} s a plan: {hours:.0f} worker-hours per 1,000 draws")
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--scenarios", type=int, default=4)
    parser.add_argument("--county", default="", help="a size such as 340x30; empty: skip")
    parser.add_argument("--county-draws", type=int, default=3)
    parser.add_argument("--county-seconds", type=float, default=None)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    report: dict[str, Any] = {"workers": workers(args.draws, args.scenarios)}
    if args.county:
        report["county"] = county(args.county, args.county_draws, args.county_seconds)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
