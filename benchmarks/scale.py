"""Cost of every stage at 32, 340 and 2,850 units, against the raw HiGHS solve.

For each size a seeded generator writes a plausible synthetic workbook in the input
format (to a temporary folder; nothing is committed), then one process times: the
workbook read, the model build (Pyomo), the load into HiGHS, each lexicographic level, the
result extraction and the allocation workbook write, and records the peak memory.

The load is also timed the way it was done before the standard-form route, through
Pyomo's persistent HiGHS interface (``load_persistent``: its public ``set_instance`` on the
same model), so ``ratio_load_vs_persistent`` compares the two in the same run.

The physical limit: the same LP of every level (earlier levels held at their optimum) is
written to MPS by Pyomo and solved cold by ``highspy`` directly, once with the options the
project uses (``raw_highs``: the same algorithm, one thread) and once with HiGHS's defaults
(``raw_highs_defaults``); only HiGHS's ``run`` is timed. The ratio
``(build + load + solve) / raw_highs`` says how close the project is to the solver itself,
and ``ratio_total_vs_raw`` does the same for the whole run from reading the workbook to
writing the allocation workbook (``total``: read + build + load + solve + extract + write;
the persistent load is a comparison only and is left out).

``--against DIR`` first runs DIR's own ``benchmarks/scale.py`` (an older checkout, e.g. from
``git archive``) in a subprocess with the same sizes, and prints this checkout's figures
over that one's, so before and after are measured on the machine in the same state.

Usage: ``python benchmarks/scale.py [--sizes 32,340,2850] [--json FILE] [--against DIR]``
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import highspy
import numpy as np
import pyomo.environ as pyo
from openpyxl import Workbook
from pyomo.contrib.solver.solvers.highs import Highs as PersistentHighs

from model.analysis.results import extract
from model.export.allocation import write_allocation_workbook
from model.lp.formulation import LEVELS, build_model, coefficients
from model.lp.rule import statutory_allocation
from model.lp.solve import LexicographicSolver, SolveOutcome
from model.schema import PROVINCE_FIELDS, REGIONS
from model.workbook.reader import read_workbook


def synthetic_workbook(path: Path, units: int, seed: int = 2020) -> Path:
    """Write a plausible instance: county-like units whose totals resemble the sample's."""
    rng = np.random.default_rng(seed)
    scale = 32.0 / units
    retirees = rng.lognormal(np.log(250 * scale), 0.6, units)
    workers_per_retiree = rng.uniform(1.2, 6.0, units)
    wage = rng.normal(85000, 18000, units).clip(45000, 200000)
    insured = retirees * workers_per_retiree
    # 万人 × 万元 a year = 亿元: pensions of 28,000-42,000 yuan a retiree, as published.
    expenditure = retirees * rng.uniform(2.8, 4.2, units)
    income = expenditure * rng.uniform(0.55, 1.25, units)
    opening = expenditure * rng.uniform(-0.3, 2.5, units)
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "provinces"
    sheet.append([f.key for f in PROVINCE_FIELDS])
    for i in range(units):
        sheet.append(
            [
                f"{i:05d}",
                f"单位{i}",
                f"Unit {i}",
                REGIONS[i % 4],
                round(float(wage[i]), 0),
                round(float(insured[i]), 3),
                round(float(insured[i] * rng.uniform(0.8, 1.1)), 3),
                round(float(retirees[i]), 3),
                round(float(opening[i]), 3),
                round(float(income[i]), 3),
                round(float(expenditure[i] * 0.03), 3),
                round(float(expenditure[i]), 3),
                round(float(expenditure[i] * 0.05), 3),
                round(float(expenditure[i] * rng.uniform(0, 0.08)), 3),
                round(float(rng.choice([0.0, 0.2, 0.5])), 2),
            ]
        )
    params = workbook.create_sheet("parameters")
    for row in (
        ("key", "value"),
        ("year", 2020),
        ("contribution_ratio", 0.04),
        ("central_subsidy_budget_100m", 200),
    ):
        params.append(list(row))
    workbook.save(path)
    return path


def raw_highs_seconds(
    model: pyo.ConcreteModel, outcome: SolveOutcome, folder: Path, options: dict[str, Any]
) -> tuple[float, float]:
    """Write each level's LP to MPS with Pyomo and time ``highspy`` solving it.

    Args:
        options: HiGHS options; ``{}`` is HiGHS's defaults.

    Returns:
        (seconds in HiGHS ``run`` summed over levels, seconds writing the MPS files).
    """
    solve_seconds = 0.0
    write_seconds = 0.0
    optimum = {level.name: level.objective + level.tolerance for level in outcome.levels}
    for index, name in enumerate(LEVELS):
        for held in LEVELS:
            if LEVELS.index(held) < index:
                model.level_optimum[held] = optimum[held]
                model.level_bound[held].activate()
            else:
                model.level_bound[held].deactivate()
        model.level_objective.deactivate()
        model.level_objective[name].activate()
        path = folder / f"level_{index}.mps"
        started = time.perf_counter()
        model.write(str(path), format="mps")
        write_seconds += time.perf_counter() - started
        highs = highspy.Highs()
        highs.setOptionValue("output_flag", False)
        for key, value in options.items():
            highs.setOptionValue(key, value)
        highs.readModel(str(path))
        started = time.perf_counter()
        highs.run()
        solve_seconds += time.perf_counter() - started
        status = highs.getModelStatus()
        if status != highspy.HighsModelStatus.kOptimal:
            raise RuntimeError(f"raw HiGHS ended level {name} with {status}")
        value = highs.getInfo().objective_function_value
        if abs(value - outcome.levels[index].objective) > 1e-5 * max(1.0, abs(value)):
            raise RuntimeError(
                f"raw HiGHS level {name}: {value} vs project {outcome.levels[index].objective}"
            )
    model.level_objective.deactivate()
    model.level_bound.activate()
    return solve_seconds, write_seconds


def measure(units: int, folder: Path) -> dict[str, Any]:
    """Time every stage for one size."""
    path = synthetic_workbook(folder / f"units_{units}.xlsx", units)
    row: dict[str, Any] = {"units": units}
    started = time.perf_counter()
    data = read_workbook(path)
    row["read"] = time.perf_counter() - started
    params = data.parameters
    started = time.perf_counter()
    rule = statutory_allocation(data.units, params)
    coeffs = coefficients(data.units, params, rule)
    model = build_model(coeffs, params.objective)
    row["build"] = time.perf_counter() - started
    started = time.perf_counter()
    solver = LexicographicSolver(model)
    row["load"] = time.perf_counter() - started
    started = time.perf_counter()
    PersistentHighs().set_instance(model)
    row["load_persistent"] = time.perf_counter() - started
    row["ratio_load_vs_persistent"] = row["load"] / row["load_persistent"]
    outcome = solver.solve(coeffs.money_scale)
    for level in outcome.levels:
        row[f"level_{level.name}"] = level.seconds
    row["solve"] = sum(level.seconds for level in outcome.levels)
    started = time.perf_counter()
    allocation = extract(data.units, coeffs, rule, outcome, "base", params, data.source)
    row["extract"] = time.perf_counter() - started
    started = time.perf_counter()
    write_allocation_workbook(allocation, folder / f"allocation_{units}.xlsx", force=True)
    row["write"] = time.perf_counter() - started
    row["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    same = {"solver": "ipm", "threads": 1} if solver.large else {"threads": 1}
    row["raw_highs"], row["mps_write"] = raw_highs_seconds(model, outcome, folder, same)
    row["raw_highs_defaults"], _ = raw_highs_seconds(model, outcome, folder, {})
    row["ratio_build_solve_vs_raw"] = (row["build"] + row["load"] + row["solve"]) / row["raw_highs"]
    row["total"] = total(row)
    row["ratio_total_vs_raw"] = row["total"] / row["raw_highs"]
    return row


RUN_STAGES = ("read", "build", "load", "solve", "extract", "write")
"""The stages of one run, from the input workbook to the allocation workbook."""


def total(row: dict[str, Any]) -> float:
    """Seconds of the whole run (also for rows of an older checkout that did not add them)."""
    return sum(row[stage] for stage in RUN_STAGES)


COLUMNS = [
    "units",
    "read",
    "build",
    "load",
    "load_persistent",
    "ratio_load_vs_persistent",
    "solve",
    "extract",
    "write",
    "total",
    "raw_highs",
    "raw_highs_defaults",
    "ratio_build_solve_vs_raw",
    "ratio_total_vs_raw",
    "peak_rss_mib",
]
COMPARED = ["load", "solve", "write", "total", "raw_highs", "ratio_build_solve_vs_raw"]
"""The figures ``--against`` divides, this checkout over the other (below 1: faster now)."""


def print_rows(rows: list[dict[str, Any]], columns: list[str]) -> None:
    shown = [c for c in columns if any(c in row for row in rows)]
    print("  ".join(f"{c:>12}" for c in shown))
    for row in rows:
        cells = [row.get(c, float("nan")) for c in shown]
        print("  ".join(f"{v:>12.3f}" if isinstance(v, float) else f"{v:>12}" for v in cells))


def run_against(folder: Path, sizes: str) -> list[dict[str, Any]]:
    """Run ``folder``'s own scale benchmark in a subprocess and return its rows."""
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "against.json"
        script = folder / "benchmarks" / "scale.py"
        env = dict(os.environ, PYTHONPATH=str(folder))
        command = [sys.executable, str(script), "--sizes", sizes, "--json", str(out)]
        subprocess.run(command, check=True, env=env, cwd=folder)
        return json.loads(out.read_text(encoding="utf-8"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="32,340,2850")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--against", type=Path, help="an older checkout to compare with")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    before = run_against(args.against.resolve(), args.sizes) if args.against else []
    for old in before:
        old.setdefault("total", total(old))
        old.setdefault("ratio_total_vs_raw", old["total"] / old["raw_highs"])
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for size in sorted(sizes):
            rows.append(measure(size, Path(folder)))
    print_rows(rows, COLUMNS)
    print("seconds per stage; peak_rss_mib is the process peak so far (sizes run ascending)")
    if before:
        print(f"\n{args.against}, run first in the same invocation:")
        print_rows(before, COLUMNS)
        print(f"\nthis checkout over {args.against} (same run; below 1 is faster now):")
        ratios = []
        for old, new in zip(before, rows, strict=True):
            ratio: dict[str, Any] = {"units": new["units"]}
            ratio.update({f"{c}_ratio": new[c] / old[c] for c in COMPARED})
            ratios.append(ratio)
        print_rows(ratios, ["units", *(f"{c}_ratio" for c in COMPARED)])
        for row, old in zip(rows, before, strict=True):
            row["before"] = old
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
