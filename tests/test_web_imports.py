"""The web application imports no solver stack: solves happen in the worker processes.

``model.web.app`` and everything it imports at module level (the routes, ``site``,
``views``, ``pages``' column lists, the vocabulary) must load without Pyomo, HiGHS,
pandas, numpy, scipy or openpyxl; ``model.web.jobs`` imports those inside the functions
the workers run. Checked in a fresh interpreter, since this test session has them loaded.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SOLVER_STACK = ("pyomo", "highspy", "pandas", "numpy", "scipy", "openpyxl")


def test_the_web_app_imports_no_solver_stack(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from model.web.app import create_app\n"
        f"app = create_app({str(tmp_path / 'runs')!r})\n"
        f"print(','.join(m for m in {SOLVER_STACK!r} if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""
