"""The work done in the worker pool: read, validate, solve and write one run, one
comparison or one run's multi-year plan.

These are top-level functions taking and returning plain data, so a process pool can
pickle them, and a long solve never holds the server's event loop. Problems travel back
as ``(where, what, fix, what_zh, fix_zh)`` tuples, the fields of ``Problem`` in order,
because an ``InputError`` does not survive pickling.
Each job writes only into the staging directory it is given; the server publishes it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from model.errors import InputError, Problem
from model.vocabulary import STATUSES
from model.web.forms import form_values, override_text
from model.workbook.limits import DEFAULT_LIMITS, ReadingLimits
from model.workbook.scenarios import Parameters, Scenario, apply_overrides

MAX_WEB_SCENARIOS = 50
READING: ReadingLimits = DEFAULT_LIMITS
"""How much of a workbook the jobs read: set once in each worker by ``warm_up`` from
``caf serve --max-units`` and the like, and constant for the worker's life."""
"""A typed sweep can multiply quickly; larger studies belong to ``caf compare``."""

Fields = tuple[str, str, str, str, str]
"""A ``Problem`` as plain data: ``Problem(*fields)`` rebuilds it."""


def _fields(problems: tuple[Problem, ...] | list[Problem]) -> list[Fields]:
    return [(p.where, p.what, p.fix, p.what_zh, p.fix_zh) for p in problems]


def warm_up(reading: ReadingLimits | None = None) -> bool:
    """Import everything the jobs use, once, before the first planner waits for it and
    before a job's memory is capped (an import under a tight cap fails oddly); set the
    worker's ``READING`` limits."""
    import importlib

    global READING
    READING = reading or DEFAULT_LIMITS

    for module in (
        "model.analysis.runner",
        "model.analysis.frontier",
        "model.analysis.batch",
        "model.analysis.plan",
        "model.export.allocation",
        "model.export.comparison",
        "model.export.plan",
        "model.export.json",
        "model.workbook.reader",
        "model.web.pages",
    ):
        importlib.import_module(module)
    return True


def inspect_job(input_path: str, source_name: str) -> dict[str, Any]:
    """Validate a workbook and return what the upload form needs to prefill itself."""
    from model.workbook.reader import read_workbook

    try:
        data = read_workbook(input_path, source_name, limits=READING)
    except InputError as error:
        return {"problems": _fields(error.problems)}
    return {
        "units": len(data.units),
        "year": data.parameters.year,
        "scenarios": [
            {
                "name": s.name,
                "parameters": form_values(s.parameters.as_dict()),
            }
            for s in data.scenarios
        ],
    }


def _apply_form(
    base: Parameters, form: Mapping[str, str], problems: list[Problem]
) -> tuple[Parameters, tuple[tuple[str, Any], ...]]:
    """Apply non-blank form values; only values that differ from ``base`` count as overrides."""
    raw = {k: v.strip() for k, v in form.items() if v.strip()}
    try:
        params = apply_overrides(base, dict(raw), "form")
    except InputError as error:
        problems.extend(error.problems)
        return base, ()
    old, new = base.as_dict(), params.as_dict()
    changed = tuple((k, new[k]) for k in raw if new[k] != old[k])
    return params, changed


def _chosen(
    input_path: str,
    source_name: str,
    scenario_name: str,
    form: Mapping[str, str],
    problems: list[Problem],
) -> tuple[Any, Scenario | None]:
    """The workbook and the scenario a run solves: the named one (the base when blank) with
    the form's values applied; ``(data, None)`` with ``problems`` filled when it cannot be."""
    from model.workbook.reader import read_workbook

    data = scenario = None
    try:
        data = read_workbook(input_path, source_name, limits=READING)
        scenario = data.scenario(scenario_name) if scenario_name else data.scenarios[0]
    except InputError as error:
        problems.extend(error.problems)
    base = scenario.parameters if scenario else Parameters(year=2020, contribution_ratio=0.04)
    params, changed = _apply_form(base, form, problems)
    if problems or scenario is None:
        return data, None
    return data, Scenario(scenario.name, params, scenario.overrides + changed)


def solve_job(
    input_path: str, source_name: str, folder: str, scenario_name: str, form: dict[str, str]
) -> dict[str, Any]:
    """Solve one scenario of a stored upload and write its outputs into ``folder``.

    Returns ``{"problems": [...]}`` for bad input (workbook and form together), else
    ``{"meta": {...}}`` describing the run.
    """
    from model.analysis.frontier import default_points
    from model.analysis.runner import solve_scenario
    from model.export.allocation import write_allocation_workbook
    from model.web.pages import run_page

    problems: list[Problem] = []
    data, chosen = _chosen(input_path, source_name, scenario_name, form, problems)
    if problems or data is None or chosen is None:
        return {"problems": _fields(problems)}
    params = chosen.parameters
    allocation = solve_scenario(data, chosen, default_points(len(data.units)))
    return _written(
        folder,
        lambda out: write_allocation_workbook(allocation, out / "allocation.xlsx"),
        {"result.json": allocation.to_json(), "page.json": run_page(allocation)},
        scenario=allocation.scenario,
        status=allocation.status,
        year=params.year,
        overrides=[[k, override_text(v)] for k, v in chosen.overrides],
    )


def _written(
    folder: str,
    write_workbook: Callable[[Path], object],
    documents: dict[str, dict[str, Any]],
    **meta: Any,
) -> dict[str, Any]:
    """Write a run's workbook and JSON documents into ``folder``; return its meta.

    The meta of every kind of run holds ``scenario``, ``status`` (a ``vocabulary.STATUSES``
    key) and ``year``, and whatever else that kind shows in the run lists.
    """
    from model.export.json import write_json

    assert meta["status"] in STATUSES, meta["status"]
    out = Path(folder)
    write_workbook(out)
    for name, document in documents.items():
        write_json(document, out / name)
    return {"meta": meta}


def too_many_on_the_web(count: int) -> Problem:
    """The problem of a comparison of ``count`` scenarios, over ``MAX_WEB_SCENARIOS``."""
    return Problem(
        "form sweep",
        f"found {count:,} scenarios, over the web limit of {MAX_WEB_SCENARIOS}",
        "sweep fewer values here, or run caf compare on the command line",
        what_zh=f"发现{count:,}个情景，超过网页端{MAX_WEB_SCENARIOS}个的上限",
        fix_zh="请减少此处参数组合的取值，或在命令行中运行 caf compare",
    )


def check_sweep_size(sweep_lines: list[str]) -> None:
    """Refuse a typed sweep over ``MAX_WEB_SCENARIOS``, counted from its axes' sizes before
    any scenario (or the workbook) is read: cheap enough for the server's event loop.

    Raises:
        InputError: the sweep would make too many scenarios.
    """
    from model.workbook.scenarios import sweep_size

    count = sweep_size(Parameters(year=2020, contribution_ratio=0.04), sweep_lines)
    if count > MAX_WEB_SCENARIOS:
        raise InputError([too_many_on_the_web(count)])


def _scenarios(data: Any, sweep_lines: list[str], problems: list[Problem]) -> list[Scenario]:
    from model.workbook.scenarios import sweep_scenarios, sweep_size

    if sweep_lines:
        count = sweep_size(data.parameters, sweep_lines)
        if count > MAX_WEB_SCENARIOS:
            problems.append(too_many_on_the_web(count))
            return []
        try:
            scenarios = sweep_scenarios(
                data.parameters, sweep_lines, limit=MAX_WEB_SCENARIOS, where="form sweep"
            )
        except InputError as error:
            problems.extend(error.problems)
            return []
    else:
        scenarios = list(data.scenarios)
    if len(scenarios) < 2:
        problems.append(
            Problem(
                "form sweep",
                "found only the base scenario to compare",
                "add rows to the scenarios sheet, or type a sweep such as "
                "contribution_ratio=0.035,0.04,0.045",
                what_zh="仅有基准情景，没有可供比较的情景",
                fix_zh="请在 scenarios 工作表中增加情景行，或输入参数组合，"
                "如 contribution_ratio=0.035,0.04,0.045",
            )
        )
    elif len(scenarios) > MAX_WEB_SCENARIOS:
        problems.append(too_many_on_the_web(len(scenarios)))
    return scenarios


def compare_job(
    input_path: str, source_name: str, folder: str, sweep_lines: list[str]
) -> dict[str, Any]:
    """Run a workbook's scenarios (or a typed sweep) and write the comparison into ``folder``."""
    from model.analysis.batch import run_comparison
    from model.export.comparison import write_comparison_workbook
    from model.web.pages import compare_page
    from model.workbook.reader import read_workbook

    problems: list[Problem] = []
    try:
        data = read_workbook(input_path, source_name, limits=READING)
    except InputError as error:
        return {"problems": _fields(error.problems)}
    scenarios = _scenarios(data, sweep_lines, problems)
    if problems:
        return {"problems": _fields(problems)}
    comparison = run_comparison(data, scenarios, workers=1)
    return _written(
        folder,
        lambda out: write_comparison_workbook(
            comparison, out / "comparison.xlsx", swept=bool(sweep_lines)
        ),
        {
            "comparison.json": comparison.to_json(),
            "page.json": compare_page(comparison, bool(sweep_lines)),
        },
        scenario=f"{len(comparison.allocations)} scenarios",
        status="unfunded_gap" if comparison.any_gap else "full_payment",
        year=data.parameters.year,
        sweep=sweep_lines,
    )


def plan_job(
    input_path: str, source_name: str, folder: str, scenario_name: str, form: dict[str, str]
) -> dict[str, Any]:
    """Solve the multi-year plan of a stored run and write its outputs into ``folder``.

    ``scenario_name`` and ``form`` are the run's own (its scenario and its overrides), so
    the plan starts from exactly the parameters the run's page shows. Returns
    ``{"problems": [...]}`` for what only a plan checks (``plan_problems``: no horizon, a
    falling ratio path, a ceiling below the starting ratio), else ``{"meta": {...}}``.
    """
    from model.analysis.plan import solve_plan
    from model.export.plan import write_plan_workbook
    from model.web.pages import plan_page

    problems: list[Problem] = []
    data, chosen = _chosen(input_path, source_name, scenario_name, form, problems)
    if problems or data is None or chosen is None:
        return {"problems": _fields(problems)}
    try:
        plan = solve_plan(data, chosen)
    except InputError as error:
        return {"problems": _fields(error.problems)}
    return _written(
        folder,
        lambda out: write_plan_workbook(plan, out / "plan.xlsx"),
        {"plan.json": plan.to_json(), "page.json": plan_page(plan)},
        scenario=plan.scenario,
        status=plan.status,
        year=plan.years[0],
        end_year=plan.years[-1],
    )


def risk_job(
    input_path: str,
    source_name: str,
    folder: str,
    scenario_name: str,
    form: dict[str, str],
    draws: int,
) -> dict[str, Any]:
    """The plan under uncertainty of a stored run: ``draws`` growth draws of its plan, run
    one after another in this worker (the server's job limits apply), with its progress
    written in ``folder`` (``plans.PROGRESS``) after each batch of draws."""
    from model.analysis.risk_run import run_risk, with_sample
    from model.export.risk import write_risk_workbook
    from model.web.plans import PROGRESS
    from model.web.risk_pages import risk_page
    from model.web.storage import write_json_atomic

    problems: list[Problem] = []
    data, chosen = _chosen(input_path, source_name, scenario_name, form, problems)
    if problems or data is None or chosen is None:
        return {"problems": _fields(problems)}

    def progress(done: int, total: int) -> None:
        write_json_atomic(Path(folder) / PROGRESS, {"done": done, "total": total})

    try:
        scenarios = with_sample([chosen], draws, None)
        progress(0, draws)
        result = run_risk(data, scenarios, in_process=True, progress=progress)
    except InputError as error:
        return {"problems": _fields(error.problems)}
    (risk,) = result.scenarios
    return _written(
        folder,
        lambda out: write_risk_workbook(result, out / "risk.xlsx"),
        {"risk.json": result.to_json(), "page.json": risk_page(result)},
        scenario=risk.scenario,
        status="unfunded_gap" if result.any_gap else "full_payment",
        year=risk.years[0],
        end_year=risk.years[-1],
        draws=risk.draws,
    )
