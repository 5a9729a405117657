"""Scenarios per second for a 200-scenario sweep of the sample, persistent vs rebuilt.

Both ways are measured in the same run, so the ratio holds on a noisy machine:

- ``persistent``: ``run_comparison`` with every core, one built model and one persistent
  HiGHS instance per worker, changing only parameters between scenarios;
- ``rebuild``: one process, a fresh model and solver for every scenario (``solve_scenario``);
- ``persistent_1``: the persistent path on one process, to separate reuse from parallelism.

``--against DIR`` first runs DIR's own ``benchmarks/sweep.py`` (an older checkout, e.g. from
``git archive``) in a subprocess, and prints this checkout's rates over that one's, so
before and after are measured on the machine in the same state.

Usage: ``python benchmarks/sweep.py [--scenarios 200] [--json FILE] [--against DIR]``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from model.analysis.batch import run_comparison
from model.analysis.runner import solve_scenario
from model.workbook.reader import read_workbook
from model.workbook.scenarios import sweep_scenarios

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


RATES = ("persistent_all_cores_per_s", "persistent_one_core_per_s", "rebuild_one_core_per_s")


def run_against(folder: Path, scenarios: int) -> dict[str, float]:
    """Run ``folder``'s own sweep benchmark in a subprocess and return its figures."""
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "against.json"
        script = folder / "benchmarks" / "sweep.py"
        env = dict(os.environ, PYTHONPATH=str(folder))
        command = [sys.executable, str(script), "--scenarios", str(scenarios), "--json", str(out)]
        subprocess.run(command, check=True, env=env, cwd=folder)
        return json.loads(out.read_text(encoding="utf-8"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", type=int, default=200)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--against", type=Path, help="an older checkout to compare with")
    args = parser.parse_args()
    before = run_against(args.against.resolve(), args.scenarios) if args.against else {}
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
    if before:
        for key in RATES:
            result[f"{key}_vs_against"] = result[key] / before[key]
    width = max(len(k) for k in result)
    for key, value in result.items():
        print(
            f"{key:<{width}}  {value:10.2f}"
            if isinstance(value, float)
            else f"{key:<{width}}  {value:>10}"
        )
    if before:
        print(
            f"(*_vs_against: this checkout's rate over {args.against}'s, same run; "
            "above 1 is faster)"
        )
        result["against"] = before
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
