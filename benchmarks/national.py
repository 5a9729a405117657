"""``caf run`` on the national sample as a whole process, against the import floor.

The floor is the cost of starting Python and importing what any run must import
(``python -c "import pyomo.environ, pandas, openpyxl, highspy"``). The two commands are
interleaved over several rounds so that machine noise hits both alike, and the median
ratio is printed.

Usage: ``python benchmarks/national.py [--rounds 7] [--json FILE]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "inputs" / "sample_2020.xlsx"
FLOOR = [sys.executable, "-c", "import pyomo.environ, pandas, openpyxl, highspy"]


def timed(command: list[str]) -> float:
    """Wall-clock seconds of one process; it must exit 0 or 3 (a gap is a valid answer)."""
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, check=False)
    elapsed = time.perf_counter() - started
    if result.returncode not in (0, 3):
        raise RuntimeError(f"{command} exited {result.returncode}: {result.stderr.decode()}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "allocation.xlsx"
        run = [
            sys.executable,
            "-m",
            "model.cli",
            "run",
            str(SAMPLE),
            "-o",
            str(out),
            "--json",
            str(Path(folder) / "result.json"),
            "--force",
        ]
        timed(FLOOR)
        timed(run)
        floors, runs = [], []
        for _ in range(args.rounds):
            floors.append(timed(FLOOR))
            runs.append(timed(run))
    ratios = [r / f for r, f in zip(runs, floors, strict=True)]
    result = {
        "rounds": args.rounds,
        "floor_median_s": statistics.median(floors),
        "caf_run_median_s": statistics.median(runs),
        "median_ratio": statistics.median(ratios),
    }
    for key, value in result.items():
        print(f"{key:<18} {value:.3f}" if isinstance(value, float) else f"{key:<18} {value}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
