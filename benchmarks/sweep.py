"""Scenarios per second for a 200-scenario sweep of the sample, persistent vs rebuilt.

Both ways are measured in the same run, so the ratio holds on a noisy machine:

- ``persistent``: ``run_comparison`` with every core, one built model and one persistent
  HiGHS instance per worker, changing only parameters between scenarios;
- ``rebuild``: one process, a fresh model and solver for every scenario (``solve_scenario``);
- ``persistent_1``: the persistent path on one process, to separate reuse from parallelism.

Usage: ``python benchmarks/sweep.py [--scenarios 200] [--json FILE]``
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from model.compare import run_comparison
from model.inputs import read_workbook
from model.runner import solve_scenario
from model.scenarios import sweep_scenarios

SAMPLE = Path(__file__).resolve().parent.parent / "inputs" / "sample_2020.xlsx"


def scenarios_for(count: int, data: object) -> list:
    """About ``count`` scenarios: ratio × reserve floor × band, all four levels each."""
    ratios = ",".join(f"{r:.4f}" for r in np.linspace(0.03, 0.05, 10))
    floors = "0,1,2,3,4"
    bands = "0.1,0.2,0.3,0.5"
    scenarios = sweep_scenarios(
        data.parameters,
        [
            f"contribution_ratio={ratios}",  # type: ignore[attr-defined]
            f"reserve_months_floor={floors}",
            f"max_rule_deviation={bands}",
        ],
    )
    return scenarios[:count]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", type=int, default=200)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    data = read_workbook(SAMPLE)
    scenarios = scenarios_for(args.scenarios, data)
    n = len(scenarios)

    started = time.perf_counter()
    run_comparison(data, scenarios)
    persistent = time.perf_counter() - started

    started = time.perf_counter()
    run_comparison(data, scenarios, workers=1)
    persistent_1 = time.perf_counter() - started

    started = time.perf_counter()
    for scenario in scenarios:
        solve_scenario(data, scenario)
    rebuild = time.perf_counter() - started

    result = {
        "scenarios": n,
        "cores": os.cpu_count(),
        "persistent_all_cores_per_s": n / persistent,
        "persistent_one_core_per_s": n / persistent_1,
        "rebuild_one_core_per_s": n / rebuild,
        "speedup_persistent_vs_rebuild": rebuild / persistent,
        "speedup_reuse_alone": rebuild / persistent_1,
    }
    width = max(len(k) for k in result)
    for key, value in result.items():
        print(
            f"{key:<{width}}  {value:10.2f}"
            if isinstance(value, float)
            else f"{key:<{width}}  {value:>10}"
        )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
