"""Cost of the multi-year plan: the sample against a single run, and county-scale plans.

1. **The sample** (32 units × 16 years, every level): ``caf plan`` against ``caf run`` on
   the shipped sample, each as a fresh process (so imports, reading and writing count), the
   median of ``--repeat`` runs, and the ratio of the two measured in the same session.
2. **Scale** (default 340 × 30 and 2,850 × 30): for each size, in a fresh process, a seeded
   synthetic workbook (``benchmarks/scale.synthetic_workbook``) is read and projected with
   the sample's growth defaults, then the plan is built (Pyomo), loaded into HiGHS, solved
   level by level, extracted and written; each stage is timed and the peak memory recorded.
   Then the **raw HiGHS** reference: the LP of each level (earlier levels held, exactly as
   the solver left them) is written to MPS from the loaded HiGHS instance and solved cold by
   ``highspy`` with the same options, one thread, under a time limit. ``ratio`` is
   (build + load + solve) over the raw solve summed over levels; a level that hit the limit
   makes the raw figure a lower bound (marked ``>``), and ``--raw-levels`` limits the
   reference to the first levels at large sizes, where cold solves of the later, held
   levels take far longer than the warm-started solves of the project.

Usage: ``python benchmarks/plan.py [--sizes 340x30,2850x30] [--repeat 3] [--raw-levels N]
[--time-limit S] [--json FILE]``
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import highspy

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "inputs" / "sample_2020.xlsx"
GROWTH = {
    "wage_growth": 0.05,
    "insured_growth": -0.005,
    "retiree_growth": 0.035,
    "benefit_growth": 0.03,
}


def sample_ratio(repeat: int, folder: Path) -> dict[str, Any]:
    """Median wall time of ``caf run`` and ``caf plan`` on the sample, fresh processes."""
    caf = str(Path(sys.executable).parent / "caf")
    times: dict[str, list[float]] = {"run": [], "plan": []}
    for _ in range(repeat):
        for command in ("run", "plan"):
            out = folder / f"{command}.xlsx"
            started = time.perf_counter()
            done = subprocess.run(
                [caf, command, str(SAMPLE), "-o", str(out), "--force"],
                capture_output=True,
                check=False,
            )
            times[command].append(time.perf_counter() - started)
            if done.returncode not in (0, 3):
                raise RuntimeError(done.stderr.decode())
    run, plan = statistics.median(times["run"]), statistics.median(times["plan"])
    return {"caf_run": run, "caf_plan": plan, "ratio_plan_vs_run": plan / run}


class Enough(Exception):
    """Every level the raw reference wants has been written."""


def measure(units: int, years: int, raw_levels: int, time_limit: float) -> dict[str, Any]:
    """Every stage of one plan at ``units`` × ``years`` (run in its own process)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from scale import synthetic_workbook

    from model.analysis.plan import extract_plan
    from model.export.plan import write_plan_workbook
    from model.lp.plan import build_plan_model, plan_coefficients
    from model.lp.projection import project
    from model.lp.solve import LexicographicSolver
    from model.workbook.reader import read_workbook
    from model.workbook.scenarios import Scenario

    folder = Path(tempfile.mkdtemp(prefix="caf-plan-bench-"))
    row: dict[str, Any] = {"units": units, "years": years}
    data = read_workbook(synthetic_workbook(folder / "input.xlsx", units))
    params = dataclasses.replace(
        data.parameters, plan_end_year=data.parameters.year + years - 1, **GROWTH
    )
    started = time.perf_counter()
    projection = project(data.units, params, data.horizon)
    coeffs = plan_coefficients(projection, params)
    row["project"] = time.perf_counter() - started
    started = time.perf_counter()
    model = build_plan_model(coeffs, params.objective)
    row["build"] = time.perf_counter() - started
    started = time.perf_counter()
    solver = LexicographicSolver(model)
    row["load"] = time.perf_counter() - started
    row["columns"], row["rows"] = solver.highs.getNumCol(), solver.highs.getNumRow()
    written: list[Path] = []
    run = solver.highs.run

    def run_and_keep() -> Any:
        """Keep each level's LP as the solver hands it to HiGHS; a second, instrumented
        solve after the timed one, stopped once the levels wanted are kept."""
        if len(written) >= raw_levels:
            raise Enough
        path = folder / f"level_{len(written)}.mps"
        solver.highs.writeModel(str(path))
        written.append(path)
        return run()

    outcome = solver.solve(coeffs.money_scale)
    for level in outcome.levels:
        row[f"level_{level.name}"] = level.seconds
    row["solve"] = sum(level.seconds for level in outcome.levels)
    started = time.perf_counter()
    plan = extract_plan(
        data, Scenario("base", params), projection, coeffs, outcome.values, outcome.levels
    )
    row["extract"] = time.perf_counter() - started
    started = time.perf_counter()
    write_plan_workbook(plan, folder / "plan.xlsx", force=True)
    row["write"] = time.perf_counter() - started
    row["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    row["total"] = sum(row[k] for k in ("project", "build", "load", "solve", "extract", "write"))
    if raw_levels > 0:
        solver.highs.run = run_and_keep  # type: ignore[method-assign]
        with contextlib.suppress(Enough):
            solver.solve(coeffs.money_scale)
        raw, capped = 0.0, False
        for index, path in enumerate(written):
            seconds, optimal = raw_solve(path, index, time_limit)
            raw += seconds
            capped = capped or not optimal
        row["raw_levels"] = len(written)
        row["raw_highs"] = raw
        row["raw_capped"] = capped
        ours = sum(level.seconds for level in outcome.levels[: row["raw_levels"]])
        share = ours / row["solve"] if row["solve"] else 1.0
        # build and load count in full against the first raw levels' share of the solve
        row["ratio_vs_raw"] = (share * (row["build"] + row["load"]) + ours) / raw
    return row


def raw_solve(path: Path, index: int, time_limit: float) -> tuple[float, bool]:
    """Solve one level's MPS cold with the project's options; (seconds, optimal)."""
    highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("threads", 1)
    highs.setOptionValue("time_limit", time_limit)
    highs.setOptionValue("solver", "ipm" if index == 0 else "simplex")
    highs.setOptionValue("simplex_strategy", 4)
    highs.readModel(str(path))
    started = time.perf_counter()
    highs.run()
    seconds = time.perf_counter() - started
    return seconds, highs.getModelStatus() == highspy.HighsModelStatus.kOptimal


def in_process(size: str, raw_levels: int, time_limit: float) -> dict[str, Any]:
    """Measure one size in a fresh interpreter, so peak memory is the plan's own."""
    units, years = (int(x) for x in size.split("x"))
    code = (
        "import json, sys; sys.path.insert(0, 'benchmarks'); from plan import measure; "
        f"print(json.dumps(measure({units}, {years}, {raw_levels}, {time_limit})))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="340x30,2850x30")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--raw-levels", type=int, default=99)
    parser.add_argument("--time-limit", type=float, default=300.0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        sample = sample_ratio(args.repeat, Path(folder))
    print(
        f"sample: caf run {sample['caf_run']:.2f} s, caf plan {sample['caf_plan']:.2f} s, "
        f"plan / run {sample['ratio_plan_vs_run']:.2f}×"
    )
    rows = []
    for size in filter(None, args.sizes.split(",")):
        row = in_process(size, args.raw_levels, args.time_limit)
        rows.append(row)
        levels = ", ".join(
            f"{k.removeprefix('level_')} {v:.2f}" for k, v in row.items() if k.startswith("level_")
        )
        raw = ""
        if "raw_highs" in row:
            mark = ">" if row["raw_capped"] else ""
            raw = (
                f"; raw HiGHS ({row['raw_levels']} levels) {mark}{row['raw_highs']:.2f} s, "
                f"ratio {row['ratio_vs_raw']:.2f}×"
            )
        print(
            f"{size}: {row['columns']} columns × {row['rows']} rows; project "
            f"{row['project']:.2f}, build {row['build']:.2f}, load {row['load']:.2f}, solve "
            f"{row['solve']:.2f} ({levels}), extract {row['extract']:.2f}, write "
            f"{row['write']:.2f}; total {row['total']:.2f} s; peak "
            f"{row['peak_rss_mib']:.0f} MiB{raw}"
        )
    if args.json:
        args.json.write_text(json.dumps({"sample": sample, "sizes": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
