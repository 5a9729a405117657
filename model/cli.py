"""``caf``: the command line, and the only module that prints.

Exit codes (docs/outputs.md): 0 full payment guaranteed, 3 solved but an unfunded gap
remains, 2 bad input (one line per problem, no traceback), 1 internal error, 130
interrupted (Ctrl-C). ``--debug`` shows a traceback; nothing else does.

Outputs are checked before the workbook is read (``model.xlsx.check_outputs``) and written
as a set once everything is solved (``model.xlsx.save_together``). Reading and solving run
on a worker thread while the main thread waits, since HiGHS runs in C and would not see a
Ctrl-C for seconds: the main thread answers at once, and as nothing is written until the
end, an interrupted command leaves no file behind.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

from model import __version__
from model.errors import InputError, Problem
from model.vocabulary import (
    BENEFICIARY,
    CONTRIBUTOR,
    EQUITY_METRICS,
    EVEN,
    FIGURES,
    ROLES,
    STATES,
    STATUS_FULL,
    STATUS_GAP,
    STATUSES,
    ROUGHLY_EVEN_100m,
)

if TYPE_CHECKING:
    import pandas as pd

    from model.analysis.comparison import Comparison
    from model.analysis.plan import Plan
    from model.analysis.results import Allocation
    from model.analysis.risk import RiskResult
    from model.workbook.reader import FundData
    from model.workbook.scenarios import Scenario

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_INPUT = 2
EXIT_GAP = 3
EXIT_INTERRUPTED = 130
"""128 + SIGINT, as a shell reports a command stopped by Ctrl-C."""

T = TypeVar("T")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="caf", description="Optimizer for the central pension adjustment fund (中央调剂基金)."
    )
    parser.add_argument("--version", action="version", version=f"caf {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    commands = parser.add_subparsers(dest="command", required=True)

    template = commands.add_parser("template", help="write an empty input template")
    template.add_argument("out", type=Path)
    template.add_argument("--force", action="store_true", help="replace an existing file")

    check = commands.add_parser("check", help="validate a workbook")
    check.add_argument("workbook", type=Path)

    run = _solving_command(commands, "run", "solve one scenario and write the allocation")
    run.add_argument(
        "--frontier",
        type=int,
        metavar="K",
        help="points of the equity–rule frontier (default 11; 0 turns it off; off by "
        "default from 1,000 units)",
    )
    _scenario_choice(run, "override a parameter (repeatable)")
    plan = _solving_command(commands, "plan", "solve the multi-year plan to plan_end_year")
    _scenario_choice(plan, "override a parameter (repeatable), e.g. plan_end_year=2035")

    compare = _solving_command(commands, "compare", "solve every scenario and compare them")
    compare.add_argument(
        "--sweep",
        action="append",
        default=[],
        metavar="KEY=V1,V2,...",
        help="sweep a parameter (repeatable: cartesian product); blank or 空 is a value, "
        "clearing a band or guardrail",
    )
    compare.add_argument(
        "--workers", type=int, default=0, help="processes to use (default: all cores)"
    )

    risk = _solving_command(
        commands, "risk", "the plan under uncertainty of every scenario, on Dask"
    )
    risk.add_argument("--draws", type=int, help="growth draws per scenario (default: draws)")
    risk.add_argument("--seed", type=int, help="fixes the draws (default: seed)")
    risk.add_argument(
        "--sweep",
        action="append",
        default=[],
        metavar="KEY=V1,V2,...",
        help="sweep a policy parameter (repeatable), as for compare",
    )
    risk.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="a Dask scheduler (tcp://host:8786); default: a local cluster on this machine",
    )
    risk.add_argument(
        "--workers", type=int, default=0, help="local worker processes (default: all cores)"
    )

    from model.web.server import add_arguments

    add_arguments(commands.add_parser("serve", help="start the web interface"))
    from model.web import user_command

    user_command.add_arguments(commands)
    return parser


def _solving_command(commands: Any, name: str, help_text: str) -> argparse.ArgumentParser:
    """A command that reads a workbook and writes a workbook, and optionally the JSON."""
    command: argparse.ArgumentParser = commands.add_parser(name, help=help_text)
    command.add_argument("workbook", type=Path)
    command.add_argument("-o", "--out", type=Path, required=True)
    command.add_argument("--json", type=Path, dest="json_out")
    command.add_argument("--force", action="store_true", help="replace existing outputs")
    return command


def _scenario_choice(command: argparse.ArgumentParser, set_help: str) -> None:
    """``--set key=value`` (repeatable) and ``--scenario NAME``: the policy of one solve,
    read by ``_chosen_scenario``."""
    command.add_argument(
        "--set",
        action="append",
        default=[],
        dest="assignments",
        metavar="KEY=VALUE",
        help=set_help,
    )
    command.add_argument("--scenario", help="a row of the scenarios sheet")


def main(
    argv: Sequence[str] | None = None, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    """Run ``caf`` with ``argv``; return the exit code."""
    out = out or sys.stdout
    err = err or sys.stderr
    args = _parser().parse_args(argv)
    try:
        handler = {
            "template": _template,
            "check": _check,
            "run": _run,
            "compare": _compare,
            "plan": _plan,
            "risk": _risk,
            "serve": _serve,
            "user": _user,
        }[args.command]
        args.err = err
        return handler(args, out)
    except InputError as error:
        if args.debug:
            traceback.print_exc(file=err)
        for problem in error.problems:
            print(problem, file=err)
        return EXIT_INPUT
    except KeyboardInterrupt:
        from model.xlsx import remove_temporaries

        _stop_workers()
        remove_temporaries()
        print("已中断，未写入任何输出 / interrupted (Ctrl-C): no output was written", file=err)
        return EXIT_INTERRUPTED
    except Exception as error:  # the last line of defence: a planner never sees a traceback
        if args.debug:
            traceback.print_exc(file=err)
        else:
            print(f"internal error: {error} (run with --debug for details)", file=err)
        return EXIT_INTERNAL


def entry() -> None:
    """Console-script entry point."""
    code = main()
    if code == EXIT_INTERRUPTED:
        # A solve may still be running in C on its thread: leave without waiting for it.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


def _stop_workers() -> None:
    """End the worker processes a comparison started, so none outlives an interruption."""
    if "multiprocessing" in sys.modules:
        for child in sys.modules["multiprocessing"].active_children():
            child.terminate()


def _in_background(work: Callable[[], T]) -> T:
    """Run ``work`` on a daemon thread and wait for it here, where Ctrl-C is seen at once.

    Python acts on a signal only in the main thread, between bytecodes; a HiGHS solve is one
    long call into C, so run on the main thread it would hold Ctrl-C back until it ends.
    The worker blocks SIGINT, and so do the threads and worker processes it starts, so the
    signal always reaches the main thread, and a comparison's workers are ended by it
    (``_stop_workers``) rather than each stopping mid-task. Whatever ``work`` raises is
    raised here.
    """
    outcome: list[tuple[bool, Any]] = []

    def target() -> None:
        if hasattr(signal, "pthread_sigmask"):
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            outcome.append((True, work()))
        except BaseException as error:  # handed to the main thread, which reports it
            outcome.append((False, error))

    thread = threading.Thread(target=target, name="caf-solve", daemon=True)
    thread.start()
    while thread.is_alive():
        thread.join(0.1)
    done, value = outcome[0]
    if not done:
        raise value
    return value


def _template(args: argparse.Namespace, out: TextIO) -> int:
    from model.workbook.template import write_template

    path = write_template(args.out, force=args.force)
    print(f"wrote the input template to {path}", file=out)
    return EXIT_OK


def _check(args: argparse.Namespace, out: TextIO) -> int:
    from model.workbook.reader import read_workbook

    data = read_workbook(args.workbook)
    units, scenarios = len(data.units), len(data.scenarios)
    print(
        f"{args.workbook}: valid — {units} unit{'s' if units != 1 else ''}, year "
        f"{data.parameters.year}, {scenarios} scenario{'s' if scenarios != 1 else ''}",
        file=out,
    )
    for line in warning_lines(data.source.warnings):
        print(line, file=out)
    for line in collection_rate_lines(data):
        print(line, file=out)
    for line in plan_lines(data):
        print(line, file=out)
    return EXIT_OK


def collection_rate_lines(data: FundData) -> list[str]:
    """Each unit's effective collection rate (contribution income / contribution base) and
    the national one, so a planner can choose ``standard_contribution_rate`` (usually a
    little under the national rate)."""
    from model.lp.rule import contribution_base

    base = contribution_base(data.units, data.parameters)
    income = data.units["contribution_income_100m"].to_numpy(dtype=float)
    national = float(income.sum() / base.sum())
    rates = sorted(zip(income / base, data.units["name_zh"], strict=True))
    listed = ", ".join(f"{name} {rate:.1%}" for rate, name in rates)
    return [
        f"征缴率 Effective collection rate (contribution income / contribution base): "
        f"national {national:.1%}",
        f"  by unit, lowest first: {listed}",
    ]


def plan_lines(data: FundData) -> list[str]:
    """What ``caf plan`` would cover, so a planner sees the horizon, the ratio path, the
    growth rates and the projected figures before solving; one line when there is no plan.
    """
    from itertools import pairwise

    from model.workbook.horizon import ratio_path_for

    p, horizon = data.parameters, data.horizon
    if p.plan_end_year is None:
        return [
            "多年规划 Plan: 未设规划期 none — 在 parameters 工作表中填写规划末年 plan_end_year"
            "（如 2035）后，可用 caf plan 做多年规划 / plan_end_year is blank: set it in the "
            "parameters sheet (such as 2035) to plan the years ahead with caf plan"
        ]
    years = p.plan_end_year - p.year + 1
    lines = [f"多年规划 Plan: {p.year}–{p.plan_end_year} ({years} year{'s' if years != 1 else ''})"]
    if p.optimizes_ratio_path:
        step = 100 * (p.ratio_step_max or 0.0)
        lines.append(
            f"  上解比例 Ratio path: optimised from {_percent(p.contribution_ratio)} in {p.year}, "
            f"within ratio_max {_percent(p.ratio_max or 0.0)}, rising at most {step:.4g} "
            f"percentage point{'s' if step != 1 else ''} a year"
        )
    else:
        path = ratio_path_for(p, horizon)
        steps = [f"{_percent(path[0][1])} in {path[0][0]}"] + [
            f"{_percent(ratio)} from {year}"
            for (_, before), (year, ratio) in pairwise(path)
            if ratio != before
        ]
        if len(steps) == 1:
            lines.append(
                f"  上解比例 Ratio path: fixed at {_percent(p.contribution_ratio)} every year"
            )
        else:
            shown = steps if len(steps) <= 6 else [*steps[:3], "…", *steps[-2:]]
            lines.append(f"  上解比例 Ratio path: fixed, {', '.join(shown)}")
    rates = ", ".join(
        f"{name} {_percent(getattr(p, key))}"
        for key, name in (
            ("wage_growth", "wage"),
            ("insured_growth", "insured"),
            ("retiree_growth", "retirees"),
            ("benefit_growth", "benefits"),
        )
    )
    own = int(horizon.growth.notna().any(axis=1).sum())
    lines.append(
        f"  增长率 Growth: national defaults {rates}; "
        + (
            f"{own} unit{'s' if own != 1 else ''} with their own rates"
            if own
            else "no unit has its own rates"
        )
    )
    cells = horizon.projection_cells
    if cells:
        units = len({code for (code, _, _), _ in cells})
        spans = _year_ranges({year for (_, year, _), _ in cells})
        lines.append(
            f"  预测数 Projection: {len(cells)} figure{'s' if len(cells) != 1 else ''} for {units} "
            f"unit{'s' if units != 1 else ''} (years {spans}) replace the growth model"
        )
    else:
        lines.append("  预测数 Projection: none; every figure grows from the base year")
    return lines


def _percent(value: float) -> str:
    """0.045 → ``4.5%``, -0.005 → ``−0.5%`` (a true minus, as the other terminal lines)."""
    return f"{value * 100:.4g}%".replace("-", "−")


def _year_ranges(years: set[int]) -> str:
    """{2021, 2022, 2023, 2025} → ``2021–2023, 2025``."""
    ranges: list[list[int]] = []
    for year in sorted(years):
        if ranges and year == ranges[-1][-1] + 1:
            ranges[-1].append(year)
        else:
            ranges.append([year])
    return ", ".join(f"{r[0]}–{r[-1]}" if len(r) > 1 else f"{r[0]}" for r in ranges)


def warning_lines(warnings: Sequence[Problem]) -> list[str]:
    """The reader's warnings under a heading, one line each (Chinese first); none, nothing.

    They never stop a run, so they are printed on the normal output, before anything else
    the command says, where the planner reads first.
    """
    if not warnings:
        return []
    return ["请核对 / Please check:", *(f"  {warning}" for warning in warnings)]


def _run(args: argparse.Namespace, out: TextIO) -> int:
    _check_outputs(args)  # before the imports: a refusal answers at once
    from model.analysis.frontier import default_points
    from model.analysis.runner import solve_scenario
    from model.export.allocation import write_allocation_workbook
    from model.workbook.reader import read_workbook

    def solve() -> tuple[FundData, Allocation]:
        data = read_workbook(args.workbook)
        scenario = _chosen_scenario(data, args)
        points = default_points(len(data.units), args.frontier)
        return data, solve_scenario(data, scenario, points)

    data, allocation = _in_background(solve)
    return _finish(
        args,
        out,
        data,
        allocation,
        lambda path: write_allocation_workbook(allocation, path, force=True),
        summary_lines(allocation),
        gap=allocation.status == STATUS_GAP,
    )


def _chosen_scenario(data: FundData, args: argparse.Namespace) -> Scenario:
    """The ``--scenario`` (or the base) with every ``--set`` applied."""
    from model.workbook.scenarios import Scenario, apply_overrides, parse_assignment

    scenario = data.scenario(args.scenario) if args.scenario else data.scenarios[0]
    if args.assignments:
        pairs = dict(parse_assignment(text, f"--set {text}") for text in args.assignments)
        params = apply_overrides(scenario.parameters, dict(pairs), "--set")
        scenario = Scenario(scenario.name, params, scenario.overrides + tuple(pairs.items()))
    return scenario


def _plan(args: argparse.Namespace, out: TextIO) -> int:
    _check_outputs(args)  # before the imports: a refusal answers at once
    from model.analysis.plan import solve_plan
    from model.analysis.plan_narrative import plan_sentences
    from model.export.plan import write_plan_workbook
    from model.workbook.reader import read_workbook

    def solve() -> tuple[FundData, Plan]:
        data = read_workbook(args.workbook)
        return data, solve_plan(data, _chosen_scenario(data, args))

    data, plan = _in_background(solve)
    return _finish(
        args,
        out,
        data,
        plan,
        lambda path: write_plan_workbook(plan, path, force=True),
        [line for pair in plan_sentences(plan) for line in pair],
        gap=plan.status == STATUS_GAP,
    )


def _check_outputs(args: argparse.Namespace) -> None:
    """Refuse before reading or solving, so a planner does not wait for a run that cannot be
    saved: no output may be the input workbook, another output, a folder, a device or a
    pipe, nor lie in a folder that cannot be written to."""
    from model.xlsx import check_outputs

    check_outputs(_outputs(args), [args.workbook], args.force)


def _outputs(args: argparse.Namespace) -> list[tuple[str, Path]]:
    outputs = [("-o", args.out)]
    if args.json_out is not None:
        outputs.append(("--json", args.json_out))
    return outputs


def _swept_scenarios(data: FundData, args: argparse.Namespace) -> list[Scenario]:
    """The ``--sweep``'s scenarios (base first), or the workbook's scenarios sheet."""
    from model.workbook.scenarios import sweep_scenarios

    if args.sweep:
        return sweep_scenarios(data.parameters, args.sweep)
    return list(data.scenarios)


def _finish(
    args: argparse.Namespace,
    out: TextIO,
    data: FundData,
    result: Any,
    write: Callable[[Path], object],
    lines: list[str],
    gap: bool,
) -> int:
    """Save the workbook and its JSON as a pair, print the reader's warnings and the
    result's lines, and answer with the exit code (3 when some pension is unfunded)."""
    _save(args, write, result)
    for line in [*warning_lines(data.source.warnings), *lines]:
        print(line, file=out)
    print(f"wrote {args.out}" + (f" and {args.json_out}" if args.json_out else ""), file=out)
    return EXIT_GAP if gap else EXIT_OK


def _save(args: argparse.Namespace, write: Callable[[Path], object], result: Any) -> None:
    """Write the workbook and, with ``--json``, ``result.to_json()`` beside it: both or
    neither."""
    from model.export.json import write_json
    from model.xlsx import save_together

    writes: list[tuple[Path, Callable[[Path], object]]] = [(args.out, write)]
    if args.json_out is not None:
        writes.append((args.json_out, lambda path: write_json(result.to_json(), path, True)))
    save_together(writes, args.force)


def _compare(args: argparse.Namespace, out: TextIO) -> int:
    _check_outputs(args)  # before the imports: a refusal answers at once
    from model.analysis.batch import run_comparison
    from model.export.comparison import write_comparison_workbook
    from model.workbook.reader import read_workbook

    def solve() -> tuple[FundData, Comparison]:
        data = read_workbook(args.workbook)
        scenarios = _swept_scenarios(data, args)
        progress = _progress_bar(args.err) if len(scenarios) > 20 else None
        workers = args.workers or None
        return data, run_comparison(data, scenarios, workers=workers, progress=progress)

    data, comparison = _in_background(solve)
    swept = bool(args.sweep)

    def write(path: Path) -> object:
        return write_comparison_workbook(comparison, path, force=True, swept=swept)

    lines = comparison_lines(comparison)
    return _finish(args, out, data, comparison, write, lines, gap=comparison.any_gap)


def _risk(args: argparse.Namespace, out: TextIO) -> int:
    _check_outputs(args)  # before the imports: a refusal answers at once
    from model.analysis.risk_narrative import risk_sentences
    from model.analysis.risk_run import run_risk, with_sample
    from model.export.risk import write_risk_workbook
    from model.workbook.reader import read_workbook

    def solve() -> tuple[FundData, RiskResult]:
        data = read_workbook(args.workbook)
        scenarios = with_sample(_swept_scenarios(data, args), args.draws, args.seed)
        progress = _progress_bar(args.err, "draws")
        result = run_risk(data, scenarios, args.scheduler, args.workers or None, progress=progress)
        return data, result

    data, result = _in_background(solve)
    return _finish(
        args,
        out,
        data,
        result,
        lambda path: write_risk_workbook(result, path, force=True),
        [line for pair in risk_sentences(result) for line in pair],
        gap=result.any_gap,
    )


def _progress_bar(stream: TextIO, unit: str = "scenarios") -> Callable[[int, int], None] | None:
    """A one-line bar on a terminal; nothing at all when the output is not a terminal."""
    if not stream.isatty():
        return None

    def show(done: int, total: int) -> None:
        filled = int(30 * done / total)
        end = "\n" if done == total else ""
        stream.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {done}/{total} {unit}{end}")
        stream.flush()

    return show


def _serve(args: argparse.Namespace, out: TextIO) -> int:
    from model.web.server import serve_from_arguments

    return serve_from_arguments(args, out)


def _user(args: argparse.Namespace, out: TextIO) -> int:
    from model.web.user_command import run

    return run(args, out)


def _money(value: float) -> str:
    from model.analysis.narrative import yi

    return yi(value)


def _months(value: float | None) -> str:
    return "undefined" if value is None else f"{value:.1f}"


def _names(frame: pd.DataFrame, key: str, signed: bool = True, limit: int = 5) -> str:
    """``Guangdong −645.71, Beijing −300.12 and 2 more``: the first units of ``frame``."""
    listed = ", ".join(
        f"{r.name_en or r.name_zh} {getattr(r, key):{'+' if signed else ''},.2f}"
        for r in frame.head(limit).itertuples()
    )
    more = len(frame) - limit
    return listed + (f" and {more} more" if more > 0 else "")


def summary_lines(allocation: Allocation) -> list[str]:
    """A short readable summary of one allocation for the terminal.

    Counts and roles are the workbook's (``narrative.headline_counts``) and so are the
    words (``model.vocabulary``); a line with nothing to say (no roughly even unit, no
    subsidy) is left out.
    """
    from model.analysis.narrative import (
        deficit_sentence,
        far_from_rule_sentence,
        headline_counts,
        incentive_sentence,
        knee_sentence,
        plural,
    )

    a, f = allocation, FIGURES
    table, t, counts, p = a.table, a.totals, headline_counts(a), a.parameters
    rule = STATES["rule"].en.lower()
    contributor, beneficiary = ROLES[CONTRIBUTOR].en.lower(), ROLES[BENEFICIARY].en.lower()
    by_net = table.sort_values("net_transfer_100m")
    groups = {
        "net_contributors": by_net[by_net["role"] == CONTRIBUTOR],
        "net_beneficiaries": by_net[by_net["role"] == BENEFICIARY].iloc[::-1],
        "roughly_even": by_net[by_net["role"] == EVEN],
    }
    lines = [
        f"caf {a.scenario}: year {p.year}, ratio {p.contribution_ratio:g}, "
        f"objective {p.objective}, band "
        + ("free" if p.max_rule_deviation is None else f"±{p.max_rule_deviation:g}")
        + f", reserve floor {p.reserve_months_floor:g} months",
        f"{f['fund_100m'].en} {_money(t['fund_100m'])}; {f['moved_100m'].en.lower()} "
        f"{_money(t['moved_100m'])} (under the {rule}: {_money(t['rule_moved_100m'])}).",
        f"Roles (|net| ≤ {ROUGHLY_EVEN_100m:g}亿 is {ROLES[EVEN].en.lower()}): "
        f"{plural(counts['contributors'], contributor)}, "
        f"{plural(counts['beneficiaries'], beneficiary, f['net_beneficiaries'].en.lower())}, "
        f"{counts['even']} {ROLES[EVEN].en.lower()}; under the {rule} "
        f"{counts['rule_contributors']}, {counts['rule_beneficiaries']} and "
        f"{counts['rule_even']}.",
    ]
    for key, frame in groups.items():
        if len(frame) or key != "roughly_even":
            lines.append(f"{f[key].en} ({len(frame)}): {_names(frame, 'net_transfer_100m')}.")
    if counts["subsidised"]:
        local, central = t["local_subsidy_100m"], t["central_subsidy_100m"]
        lines.append(
            f"{f['total_subsidy_100m'].en} {_money(local + central)} in "
            f"{plural(counts['subsidised'], 'unit')}: {f['local_subsidy_100m'].en.lower()} "
            f"{_money(local)}, {f['central_subsidy_100m'].en.lower()} {_money(central)}."
        )
    if a.status == STATUS_GAP:
        gaps = table.loc[a.gap_units]
        lines.append(
            f"{f['unfunded_gap_100m'].en.upper()} {_money(t['unfunded_gap_100m'])}"
            + (
                f" (the units' own responsibility {_money(t['own_gap_100m'])}, left by the "
                f"fund {_money(t['fund_gap_100m'])})"
                if "own_gap_100m" in t
                else ""
            )
            + (
                f": {_names(gaps, 'unfunded_gap_100m', signed=False, limit=len(gaps))}."
                if len(gaps)
                else ", below round-off in every unit."
            )
        )
    else:
        lines.append(f"{STATUSES[STATUS_FULL].en} in all {plural(len(table), 'unit')}.")
    deficit = deficit_sentence(a)
    if deficit is not None:
        lines.extend(deficit)
    for metric in ("months_min", "months_range"):
        values = ", ".join(
            f"{label.en.lower()} {_months(a.equity[state][metric].value)}"
            for state, label in STATES.items()
        )
        lines.append(f"{EQUITY_METRICS[metric].en}: {values}.")
    for sentence in (incentive_sentence(a), far_from_rule_sentence(a), knee_sentence(a)):
        if sentence is not None:
            lines.append(sentence[1])
    return lines


def comparison_lines(comparison: Comparison) -> list[str]:
    """One line per scenario for the terminal, in the vocabulary's words."""
    f, lowest = FIGURES, EQUITY_METRICS["months_min"].en.lower()
    rows = []
    for allocation in comparison.allocations:
        t = allocation.totals
        subsidy = t["local_subsidy_100m"] + t["central_subsidy_100m"]
        rows.append(
            f"{allocation.scenario}: {f['fund_100m'].en.lower()} {_money(t['fund_100m'])}, "
            f"{f['total_subsidy_100m'].en.lower()} {_money(subsidy)}, "
            f"{f['unfunded_gap_100m'].en.lower()} {_money(t['unfunded_gap_100m'])}, {lowest} "
            f"{_months(allocation.equity['optimized']['months_min'].value)}"
        )
    return rows


if __name__ == "__main__":
    entry()
