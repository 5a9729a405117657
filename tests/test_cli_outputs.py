"""``caf``'s outputs (issue 15, finding 7): never the input, never a device or a pipe, a
folder that can be written to before any solving, the workbook and its JSON as a pair,
and Ctrl-C answered at once with 130, leaving nothing behind.

The quick refusals run ``caf`` in this process (``model.cli.main``). What needs a real
process (a read-only folder, a signal, timing) runs ``python -m model.cli`` on a synthetic
workbook of 2,850 units, large enough that reading and solving take seconds. Run as root,
which ignores file permissions, the child is started without the capabilities that let
root write anywhere (``setpriv``), as a planner's own account would be.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from model.cli import main
from model.export.json import write_json
from model.xlsx import save_together
from tests.workbooks import WORKED_EXAMPLE, WORKED_PARAMETERS, write_workbook

CAF = [sys.executable, "-m", "model.cli"]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A folder holding only the input workbook, ``in.xlsx``."""
    write_workbook(tmp_path / "in.xlsx", WORKED_EXAMPLE, WORKED_PARAMETERS)
    return tmp_path


def refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> list[str]:
    """Run caf, expect exit 2, no traceback and a bilingual line per problem."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "internal error" not in err
    lines = err.splitlines()
    assert lines and all(" / " in line and "——" in line for line in lines)
    return lines


def listing(folder: Path) -> list[str]:
    """Every name in ``folder``, hidden temporary files included."""
    return sorted(p.name for p in folder.iterdir())


# --- an output that is the input -------------------------------------------------------


@pytest.mark.parametrize("command", ["run", "plan", "compare"])
@pytest.mark.parametrize("spelling", ["same", "dotdot", "symlink", "hardlink"])
def test_an_output_that_is_the_input_is_refused_even_with_force(
    folder: Path, command: str, spelling: str, capsys: pytest.CaptureFixture[str]
) -> None:
    source = folder / "in.xlsx"
    before = source.read_bytes()
    out = {
        "same": source,
        "dotdot": folder / "sub" / ".." / "in.xlsx",
        "symlink": folder / "link.xlsx",
        "hardlink": folder / "hard.xlsx",
    }[spelling]
    if spelling == "dotdot":
        (folder / "sub").mkdir()
    elif spelling == "symlink":
        out.symlink_to(source)
    elif spelling == "hardlink":
        os.link(source, out)
    names = listing(folder)
    (line,) = refused([command, str(source), "-o", str(out), "--force"], capsys)
    assert line.startswith(f"{out}: ")
    assert f"-o names the input workbook {source}; it is never replaced, even with --force" in line
    assert "输入工作簿" in line
    assert source.read_bytes() == before
    assert listing(folder) == names


def test_json_that_is_the_input_is_refused(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = folder / "in.xlsx"
    before = source.read_bytes()
    argv = ["run", str(source), "-o", str(folder / "a.xlsx"), "--json", str(source), "--force"]
    (line,) = refused(argv, capsys)
    assert line.startswith(f"{source}: ") and "--json names the input workbook" in line
    assert source.read_bytes() == before
    assert listing(folder) == ["in.xlsx"]


@pytest.mark.parametrize("spelling", ["same", "dot", "symlink"])
def test_o_and_json_naming_one_file_are_refused(
    folder: Path, spelling: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out = folder / "a.xlsx"
    second = {"same": out, "dot": folder / "." / "a.xlsx", "symlink": folder / "b.json"}[spelling]
    if spelling == "symlink":
        second.symlink_to(out)
    names = listing(folder)
    argv = ["run", str(folder / "in.xlsx"), "-o", str(out), "--json", str(second), "--force"]
    (line,) = refused(argv, capsys)
    assert line.startswith(f"{second}: ") and "--json names the same file as -o" in line
    assert listing(folder) == names


# --- anything but a regular file --------------------------------------------------------


def _null_device() -> tuple[int, int, int]:
    info = os.stat("/dev/null")
    return info.st_ino, info.st_mode, info.st_rdev


def _char_device(path: Path) -> Path:
    """A node like /dev/null, made in the test's own folder so nothing real is at risk."""
    try:
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except (PermissionError, AttributeError):
        pytest.skip("cannot make a device node here")
    return path


@pytest.mark.parametrize("kind", ["fifo", "device", "link-to-device", "folder"])
def test_a_device_a_pipe_or_a_folder_is_never_replaced(
    folder: Path, kind: str, capsys: pytest.CaptureFixture[str]
) -> None:
    null_before = _null_device()
    out = folder / "special"
    if kind == "fifo":
        os.mkfifo(out)
    elif kind == "device":
        _char_device(out)
    elif kind == "link-to-device":
        _char_device(folder / "node")
        out.symlink_to(folder / "node")
    else:
        out.mkdir()
    mode = os.stat(out).st_mode
    names = listing(folder)
    (line,) = refused(["run", str(folder / "in.xlsx"), "-o", str(out), "--force"], capsys)
    expected = {
        "fifo": "this is a named pipe, not a regular file; it is never replaced, even with --force",
        "device": "this is a device, not a regular file",
        "link-to-device": "this is a device, not a regular file",
        "folder": "this is a folder, not a file name",
    }[kind]
    assert line.startswith(f"{out}: ") and expected in line
    assert os.stat(out).st_mode == mode  # still the pipe, the node or the folder
    assert listing(folder) == names
    assert _null_device() == null_before


def test_the_template_is_never_written_over_a_pipe(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = folder / "pipe"
    os.mkfifo(out)
    (line,) = refused(["template", str(out), "--force"], capsys)
    assert "this is a named pipe, not a regular file" in line
    assert stat.S_ISFIFO(os.stat(out).st_mode)


def test_a_link_to_a_regular_file_is_written_through(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reports = folder / "reports"
    reports.mkdir()
    (reports / "latest.xlsx").write_bytes(b"last month's")
    link = folder / "latest.xlsx"
    link.symlink_to(reports / "latest.xlsx")
    assert main(["run", str(folder / "in.xlsx"), "-o", str(link), "--force"]) == 0
    assert link.is_symlink()
    assert (reports / "latest.xlsx").read_bytes()[:2] == b"PK"
    assert listing(reports) == ["latest.xlsx"]


# --- both or neither ------------------------------------------------------------------


def test_a_pair_whose_second_write_fails_leaves_neither(tmp_path: Path) -> None:
    first, second = tmp_path / "a.xlsx", tmp_path / "json" / "r.json"
    second.parent.mkdir()
    first.write_bytes(b"the old workbook")
    unserialisable = {"figure": object()}
    with pytest.raises(TypeError, match="not JSON serializable"):
        save_together(
            [
                (first, lambda path: path.write_bytes(b"the new workbook")),
                (second, lambda path: write_json(unserialisable, path, True)),
            ],
            force=True,
        )
    assert first.read_bytes() == b"the old workbook"
    assert listing(tmp_path) == ["a.xlsx", "json"]
    assert listing(second.parent) == []


def test_a_pair_whose_second_rename_fails_puts_the_first_back(tmp_path: Path) -> None:
    first, second = tmp_path / "a.xlsx", tmp_path / "r.json"
    first.write_bytes(b"the old workbook")

    def write_then_block(path: Path) -> None:
        path.write_text("{}", encoding="utf-8")
        second.mkdir()  # now the rename over r.json cannot happen

    with pytest.raises(IsADirectoryError):
        save_together(
            [
                (first, lambda path: path.write_bytes(b"the new workbook")),
                (second, write_then_block),
            ],
            force=True,
        )
    assert first.read_bytes() == b"the old workbook"
    assert listing(tmp_path) == ["a.xlsx", "r.json"]
    assert second.is_dir() and listing(second) == []


def test_a_pair_is_written_together(folder: Path) -> None:
    out, result = folder / "a.xlsx", folder / "r.json"
    assert main(["run", str(folder / "in.xlsx"), "-o", str(out), "--json", str(result)]) == 0
    assert out.read_bytes()[:2] == b"PK"
    assert json.loads(result.read_text(encoding="utf-8"))["scenario"] == "base"
    assert listing(folder) == ["a.xlsx", "in.xlsx", "r.json"]


# --- real processes: a read-only folder, Ctrl-C ------------------------------------------


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2,850 county-like units: seconds to read and seconds to solve."""
    rng = random.Random(15)
    units = []
    for i in range(2850):
        retirees = rng.lognormvariate(-2.6, 0.6)
        expenditure = retirees * rng.uniform(2.8, 4.2)
        insured = retirees * rng.uniform(1.2, 6.0)
        units.append(
            {
                "code": f"C{i:04d}",
                "name_zh": f"县{i}",
                "region": ("East", "Central", "West", "Northeast")[i % 4],
                "avg_wage_yuan": round(rng.uniform(45000, 160000)),
                "insured_employees_10k": round(insured, 3),
                "retirees_10k": round(retirees, 3),
                "opening_balance_100m": round(expenditure * rng.uniform(-0.3, 2.5), 3),
                "contribution_income_100m": round(expenditure * rng.uniform(0.55, 1.25), 3),
                "expenditure_100m": round(expenditure, 3),
            }
        )
    path = tmp_path_factory.mktemp("large") / "counties.xlsx"
    return write_workbook(path, units, {**WORKED_PARAMETERS, "central_subsidy_budget_100m": 20})


def unprivileged() -> list[str]:
    """The prefix that runs a command as a planner would: root, without the capabilities
    that let it ignore permissions."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("running as root and setpriv is missing")
    return ["setpriv", "--bounding-set=-dac_override,-dac_read_search"]


def start(
    argv: list[str], prefix: list[str] | None = None, temporary: Path | None = None
) -> subprocess.Popen[str]:
    """Start caf; ``temporary`` is its own TMPDIR, to see what it leaves there."""
    environment = dict(os.environ)
    if temporary is not None:
        environment["TMPDIR"] = str(temporary)
    return subprocess.Popen(
        [*(prefix or []), *CAF, *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
        start_new_session=True,  # its own process group, which Ctrl-C is sent to
    )


def open_files(pid: int) -> set[str]:
    found: set[str] = set()
    with contextlib.suppress(OSError):  # the process has ended
        for fd in os.listdir(f"/proc/{pid}/fd"):
            with contextlib.suppress(OSError):  # closed while listed
                found.add(os.readlink(f"/proc/{pid}/fd/{fd}"))
    return found


def wait_until_read(process: subprocess.Popen[str], workbook: Path) -> None:
    """Return once the child has opened the workbook and closed it again: it has read the
    input and is solving."""
    if not Path(f"/proc/{process.pid}/fd").exists():
        pytest.skip("needs /proc to see what the process has open")
    target, seen, deadline = str(workbook.resolve()), False, time.monotonic() + 300
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        is_open = target in open_files(process.pid)
        if seen and not is_open:
            return
        seen = seen or is_open
        time.sleep(0.01)
    raise AssertionError("the workbook was never read")


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    yield folder
    folder.chmod(0o755)


def test_a_read_only_output_folder_is_refused_before_reading(large: Path, read_only: Path) -> None:
    prefix = unprivileged()
    started = time.monotonic()
    version = subprocess.run([*prefix, *CAF, "--version"], capture_output=True, check=True)
    startup = time.monotonic() - started
    assert version.stdout.startswith(b"caf ")

    started = time.monotonic()
    process = start(["run", str(large), "-o", str(read_only / "a.xlsx")], prefix)
    opened = False
    while process.poll() is None:
        opened = opened or str(large.resolve()) in open_files(process.pid)
        time.sleep(0.01)
    elapsed = time.monotonic() - started
    _, err = process.communicate()
    assert process.returncode == 2, err
    assert err.strip() == (
        f"{read_only / 'a.xlsx'}: 无法写入输出文件夹 {read_only}（Permission denied）——请另选有"
        f"写入权限的文件夹，或申请该文件夹的写入权限 / the output folder {read_only} cannot be "
        "written to (Permission denied) — choose a folder you may write to, or ask for write "
        "permission on it"
    )
    assert not opened, "the workbook was read before the folder was checked"
    assert elapsed < startup + 2.0, f"refused after {elapsed:.1f} s (start-up {startup:.1f} s)"
    assert listing(read_only) == []


def test_a_template_into_a_read_only_folder_is_bad_input_not_an_internal_error(
    read_only: Path,
) -> None:
    result = subprocess.run(
        [*unprivileged(), *CAF, "template", str(read_only / "t.xlsx")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"{read_only / 't.xlsx'}: 无法写入输出文件夹 {read_only}")
    assert "cannot be written to (Permission denied)" in result.stderr
    assert listing(read_only) == []


def test_json_folder_made_read_only_during_the_solve_leaves_no_workbook(
    large: Path, tmp_path: Path
) -> None:
    prefix = unprivileged()
    out, results = tmp_path / "out", tmp_path / "results"
    out.mkdir()
    results.mkdir()
    process = start(
        ["run", str(large), "-o", str(out / "a.xlsx"), "--json", str(results / "r.json")], prefix
    )
    try:
        wait_until_read(process, large)
        results.chmod(0o555)
        _, err = process.communicate(timeout=600)
    finally:
        results.chmod(0o755)
    assert process.returncode == 2, err
    assert f"{results / 'r.json'}: " in err and "cannot be written to (Permission denied)" in err
    assert "Traceback" not in err
    assert listing(out) == [] and listing(results) == []


def children_of(pid: int) -> set[int]:
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.add(int(entry))
    return found


def running(pid: int) -> bool:
    """Alive, not merely a zombie waiting to be reaped."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def interrupt(process: subprocess.Popen[str], group: bool = True) -> float:
    """Press Ctrl-C: SIGINT to the whole process group, as a terminal sends it (or, not
    ``group``, to caf alone, as ``kill -INT``). Return the seconds until caf ended."""
    sent = time.monotonic()
    if group:
        os.killpg(process.pid, signal.SIGINT)
    else:
        process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    return time.monotonic() - sent


@pytest.mark.parametrize("command", ["run", "plan"])
def test_ctrl_c_during_a_solve_answers_at_once_with_130_and_writes_nothing(
    large: Path, tmp_path: Path, command: str
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    argv = [command, str(large), "-o", str(out / "a.xlsx"), "--json", str(out / "r.json")]
    process = start([*argv, "--set", "plan_end_year=2022"] if command == "plan" else argv)
    wait_until_read(process, large)
    time.sleep(0.3)
    answered = interrupt(process)
    err = process.communicate(timeout=30)[1]
    assert process.returncode == 130, err
    assert answered < 1.0, f"answered Ctrl-C after {answered:.2f} s"
    assert err.strip() == "已中断，未写入任何输出 / interrupted (Ctrl-C): no output was written"
    assert listing(out) == []


@pytest.mark.parametrize("group", [True, False], ids=["terminal", "kill-INT"])
def test_ctrl_c_during_a_comparison_ends_its_worker_processes(
    large: Path, tmp_path: Path, group: bool
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    sweep = "contribution_ratio=" + ",".join(f"0.0{d}" for d in range(1, 10))
    argv = ["compare", str(large), "-o", str(out / "c.xlsx"), "--sweep", sweep, "--workers", "2"]
    process = start(argv)
    wait_until_read(process, large)
    deadline = time.monotonic() + 120
    while not children_of(process.pid) and time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        time.sleep(0.05)
    workers = children_of(process.pid)
    assert workers, "the comparison started no worker process"
    answered = interrupt(process, group)
    time.sleep(0.5)
    alive = {pid for pid in workers if running(pid)}
    for pid in alive:  # this test's own processes: end them, so the test fails, not hangs
        os.kill(pid, signal.SIGKILL)
    assert not alive, f"worker processes outlived the interruption: {alive}"
    err = process.communicate(timeout=30)[1]
    assert process.returncode == 130, err
    assert answered < 1.0, f"answered Ctrl-C after {answered:.2f} s"
    assert err.strip() == "已中断，未写入任何输出 / interrupted (Ctrl-C): no output was written"
    assert listing(out) == []


def test_ctrl_c_while_writing_leaves_the_old_outputs_as_they_were(
    large: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.xlsx").write_bytes(b"last month's workbook")
    (out / "r.json").write_text("{}", encoding="utf-8")
    argv = ["run", str(large), "-o", str(out / "a.xlsx"), "--json", str(out / "r.json")]
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    process = start([*argv, "--force"], temporary=scratch)
    wait_until_read(process, large)
    deadline = time.monotonic() + 300
    while not any(name.endswith(".tmp") for name in listing(out)):
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.002)
    answered = interrupt(process)
    err = process.communicate(timeout=30)[1]
    assert process.returncode == 130, err
    assert answered < 1.0, f"answered Ctrl-C after {answered:.2f} s"
    assert listing(out) == ["a.xlsx", "r.json"]
    assert (out / "a.xlsx").read_bytes() == b"last month's workbook"
    assert (out / "r.json").read_text(encoding="utf-8") == "{}"
    assert listing(scratch) == []  # openpyxl's own temporary files are gone too


def test_a_ctrl_c_while_outputs_are_renamed_is_dropped_not_raised() -> None:
    """Once every output is renamed into place the work is done: a Ctrl-C that came during
    the renames must not make the command claim that nothing was written."""
    from model.xlsx import _signals_held

    try:
        with _signals_held():
            os.kill(os.getpid(), signal.SIGINT)  # held back until the block ends
        time.sleep(0.05)  # a KeyboardInterrupt, had the signal been let through, comes now
    except KeyboardInterrupt:
        pytest.fail("the Ctrl-C held back during the renames was raised after them")
