"""Bounded work in ``caf serve``: sweeps counted before they are built, a bounded queue,
each job's time and memory, worker faults, slow clients and large pages.

The HTTP tests post as the app's own pages do (``browser``: the page's CSRF token and
this server's ``Origin``) to a real uvicorn on loopback, in this process (``LiveServer``)
or as a ``caf serve`` subprocess when the test kills the server or floods its sockets.
Every loop is bounded in count and time, and every process started is stopped by its PID.
"""

from __future__ import annotations

import asyncio
import io
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from model.cli import main
from model.errors import InputError
from model.web.app import create_app
from model.web.limits import Limits
from model.web.workers import Workers
from model.workbook.scenarios import Parameters, sweep_scenarios, sweep_size
from tests.conftest import LiveServer
from tests.web_client import outside_any_loop
from tests.workbooks import WORKED_EXAMPLE, WORKED_PARAMETERS, write_workbook

ROOT = Path(__file__).resolve().parents[1]
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]*)"')
SERVING = re.compile(r"caf serving http://127\.0\.0\.1:(\d+)/")
RUN_LOCATION = re.compile(r"^/runs/[0-9a-f]{32}$")
RATIOS = ",".join(f"0.0{n}" for n in range(30, 40))
HUGE_SWEEP = "\n".join(
    f"{key}={values}"
    for key, values in [
        ("contribution_ratio", RATIOS),
        ("wage_base_share", ",".join(f"0.{n}" for n in range(80, 90))),
        ("reserve_months_floor", ",".join(str(n) for n in range(10))),
        ("max_rule_deviation", ",".join(f"0.{n}" for n in range(10, 20))),
        ("central_subsidy_budget_100m", ",".join(str(n * 100) for n in range(10))),
        ("wage_growth", ",".join(f"0.0{n}" for n in range(10))),
        ("insured_growth", ",".join(f"0.0{n}" for n in range(10))),
        ("retiree_growth", ",".join(f"0.0{n}" for n in range(10))),
        ("benefit_growth", ",".join(f"0.0{n}" for n in range(10))),
        ("min_return_share", ",".join(f"0.{n}" for n in range(10, 20))),
    ]
)
"""Ten axes of ten values: 10¹⁰ + 1 scenarios from a few hundred characters."""


# --- helpers ------------------------------------------------------------------------------


@contextmanager
def browser(url: str, timeout: float = 180) -> Iterator[httpx.Client]:
    """A client that posts as the app's pages do: their CSRF token, this server's Origin."""
    with httpx.Client(base_url=url, timeout=timeout) as client:
        found = CSRF.search(client.get("/").text)
        if found:
            client.headers["x-csrf-token"] = found.group(1)
        client.headers["origin"] = url
        yield client


def post(client: httpx.Client, path: str, workbook: Path, **fields: str) -> httpx.Response:
    token = client.headers.get("x-csrf-token")
    data = {**fields, **({"csrf_token": token} if token else {})}
    files = {"workbook": (workbook.name, workbook.read_bytes(), "application/octet-stream")}
    return client.post(path, files=files, data=data)


def upload(url: str, workbook: Path) -> httpx.Response:
    """One planner's upload to ``/runs``, from opening the form to the answer."""
    with browser(url) as client:
        return post(client, "/runs", workbook)


def children(pid: int) -> list[int]:
    """The PIDs of ``pid``'s child processes, from Linux's ``/proc``."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found.extend(int(c) for c in (task / "children").read_text().split())
        except OSError:
            continue
    return found


def alive(pid: int) -> bool:
    """Whether ``pid`` is a running process (a zombie counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def wait_for(condition: Any, seconds: float, step: float = 0.05) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return bool(condition())


class Serve:
    """``caf serve`` as a subprocess on a free loopback port; stopped by its PID."""

    def __init__(self, data: Path, *options: str) -> None:
        command = [sys.executable, "-c", "from model.cli import entry; entry()", "serve"]
        command += ["--port", "0", "--data-dir", str(data), *options]
        self.log = data / "serve.log"
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=self.log.open("wb"),
            text=True,
        )
        assert self.process.stdout is not None
        found = SERVING.search(self.process.stdout.readline())
        assert found, self.log.read_text()
        self.url = f"http://127.0.0.1:{found.group(1)}"
        assert wait_for(self._healthy, 60, 0.2), "caf serve did not answer /healthz"

    def _healthy(self) -> bool:
        try:
            return httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        workers = children(self.process.pid)
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=30)
        for pid in workers:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def worked(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("limits") / "worked.xlsx"
    return write_workbook(path, WORKED_EXAMPLE, WORKED_PARAMETERS)


@pytest.fixture(scope="module")
def slow(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2,500 synthetic units: a run of several seconds, well inside the reading limits."""
    from benchmarks.scale import synthetic_workbook

    return synthetic_workbook(tmp_path_factory.mktemp("limits") / "units2500.xlsx", 2500)


@pytest.fixture
def one_worker(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[LiveServer]:
    """One worker, with the test's ``Limits`` (``@pytest.mark.parametrize`` indirect)."""
    limits = getattr(request, "param", Limits())
    with LiveServer(create_app(tmp_path / "runs", workers=1, limits=limits)) as server:
        yield server


def pool_of(server: LiveServer) -> Workers:
    pool: Workers = server.server.config.app.state.site.pool
    return pool


def in_thread(target: Any, *args: Any) -> tuple[threading.Thread, list[Any]]:
    """Run ``target(*args)`` on a thread; its result, or the ``httpx.HTTPError`` it met
    (a server killed under it), lands in the returned list."""
    box: list[Any] = []

    def run() -> None:
        try:
            box.append(target(*args))
        except httpx.HTTPError as error:
            box.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, box


# --- sweeps are counted before they are built --------------------------------------------


def test_a_sweep_is_counted_from_its_axes_and_refused_before_expansion() -> None:
    base = Parameters(year=2020, contribution_ratio=0.04)
    lines = HUGE_SWEEP.splitlines()
    assert sweep_size(base, lines) == 10**10 + 1
    assert sweep_size(base, ["contribution_ratio=0.04,4%,0.05"]) == 3  # 0.04 = 4%: one value
    started = time.perf_counter()
    with pytest.raises(InputError) as refused:
        sweep_scenarios(base, lines)
    assert time.perf_counter() - started < 2
    (problem,) = refused.value.problems
    assert problem.where == "--sweep"
    assert "10,000,000,001 scenarios, over the limit of 10,000" in problem.what
    assert problem.what_zh and problem.fix_zh
    assert len(sweep_scenarios(base, ["contribution_ratio=0.03,0.04"], limit=3)) == 3
    with pytest.raises(InputError):
        sweep_scenarios(base, ["contribution_ratio=0.03,0.04,0.05"], limit=3)


def test_caf_compare_refuses_a_huge_sweep_at_once(worked: Path, tmp_path: Path) -> None:
    argv = ["compare", str(worked), "-o", str(tmp_path / "c.xlsx")]
    for line in HUGE_SWEEP.splitlines():
        argv += ["--sweep", line]
    err = io.StringIO()
    started = time.perf_counter()
    assert main(argv, out=io.StringIO(), err=err) == 2
    assert time.perf_counter() - started < 10
    assert "10,000,000,001" in err.getvalue()
    assert "Traceback" not in err.getvalue()
    assert not (tmp_path / "c.xlsx").exists()


def test_a_4000_character_sweep_field_is_refused_fast(
    live_server: LiveServer, worked: Path
) -> None:
    field = HUGE_SWEEP + "\n" + "#" * (4000 - len(HUGE_SWEEP) - 1)
    assert len(field) == 4000
    with browser(live_server.url) as client:
        started = time.perf_counter()
        answer = post(client, "/compare", worked, sweep=field)
        seconds = time.perf_counter() - started
    assert answer.status_code == 422, answer.text[:300]
    assert seconds < 3
    assert "form sweep" in answer.text
    assert "10,000,000,001 scenarios, over the web limit of 50" in answer.text
    assert "Traceback" not in answer.text


@pytest.mark.parametrize("one_worker", [Limits(max_units=2)], indirect=True)
def test_the_reading_limits_reach_the_workers(one_worker: LiveServer, worked: Path) -> None:
    """``caf serve --max-units 2``: the worked example's three units are one too many."""
    with browser(one_worker.url) as client:
        answer = post(client, "/runs", worked)
    assert answer.status_code == 422, answer.text[:300]
    assert "found more than 2 pooling units" in answer.text


def test_every_limit_is_a_caf_serve_option_named_in_the_readme() -> None:
    import argparse

    from model.web.limits import OPTIONS, limits_from_arguments
    from model.web.server import add_arguments

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    assert limits_from_arguments(parser.parse_args([])) == Limits()
    flags = [flag for flag, _, _ in OPTIONS.values()]
    chosen = parser.parse_args(["--queue", "3", "--job-seconds", "1.5", "--max-units", "7"])
    assert limits_from_arguments(chosen) == Limits(queue=3, job_seconds=1.5, max_units=7)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert [flag for flag in flags if f"`{flag} " not in readme] == []
    with pytest.raises(SystemExit):
        parser.parse_args(["--queue", "-1"])


# --- the queue ----------------------------------------------------------------------------


@pytest.mark.parametrize("one_worker", [Limits(queue=1)], indirect=True)
def test_a_full_queue_answers_503_with_retry_after(
    one_worker: LiveServer, slow: Path, worked: Path
) -> None:
    pool = pool_of(one_worker)
    first, _ = in_thread(upload, one_worker.url, slow)
    assert wait_for(lambda: pool.running == 1, 60)
    second, queued = in_thread(upload, one_worker.url, worked)
    assert wait_for(lambda: pool.admitted == 2, 30)
    with browser(one_worker.url) as client:
        started = time.perf_counter()
        refused = post(client, "/runs", worked)
        assert time.perf_counter() - started < 5
        assert client.get("/healthz").status_code == 200
    assert refused.status_code == 503
    assert int(refused.headers["retry-after"]) >= 1
    assert "服务器正忙" in refused.text and "try again in about" in refused.text
    second.join(180)
    assert queued and queued[0].status_code == 303
    first.join(180)


# --- each job's time and memory -----------------------------------------------------------


@pytest.mark.parametrize("one_worker", [Limits(job_seconds=0.5)], indirect=True)
def test_a_job_over_its_time_limit_is_stopped_and_reported(
    one_worker: LiveServer, slow: Path, worked: Path
) -> None:
    pool = pool_of(one_worker)
    assert wait_for(lambda: len(pool.pids()) == 1, 60)
    (before,) = pool.pids()
    with browser(one_worker.url) as client:
        started = time.perf_counter()
        answer = post(client, "/runs", slow)
        assert time.perf_counter() - started < 60
    assert answer.status_code == 422, answer.text[:300]
    assert "units2500.xlsx" in answer.text
    assert "longer than this server&#39;s limit of 0.5 s per run" in answer.text
    assert "计算时间超过了本服务器每次计算 0.5 秒的上限" in answer.text
    assert "caf serve --job-seconds" in answer.text
    assert wait_for(lambda: not alive(before), 10), "the worker over time was not stopped"
    assert wait_for(lambda: len(pool.pids()) == 1 and pool.pids() != [before], 30)


@pytest.mark.parametrize("one_worker", [Limits(job_memory_mib=1)], indirect=True)
def test_a_job_over_its_memory_limit_fails_cleanly(one_worker: LiveServer, slow: Path) -> None:
    with browser(one_worker.url) as client:
        answer = post(client, "/runs", slow)
        assert client.get("/healthz").status_code == 200
    assert answer.status_code == 422, answer.text[:300]
    assert "Traceback" not in answer.text
    assert "more memory than this server&#39;s limit of 1 MiB per run" in answer.text
    assert "caf serve --job-memory" in answer.text


def test_the_memory_cap_is_set_in_the_worker(tmp_path: Path) -> None:
    """Unit level: a job that allocates past the cap meets MemoryError in its worker, and
    the next job runs on a fresh one."""

    async def scenario() -> tuple[Any, Any]:
        pool = Workers(1, Limits(job_memory_mib=64))
        try:
            over = await pool.run(bytearray, 512 * 2**20)
            under = await pool.run(len, "fine")
        finally:
            await asyncio.to_thread(pool.shutdown)
        return over, under

    over, under = outside_any_loop(scenario())
    assert "more memory than this server's limit of 64 MiB" in over["problems"][0][1]
    assert under == 4


# --- worker faults ------------------------------------------------------------------------


def test_killing_a_worker_fails_only_its_job_and_the_queued_one_succeeds(
    one_worker: LiveServer, slow: Path, worked: Path
) -> None:
    pool = pool_of(one_worker)
    assert wait_for(lambda: len(pool.pids()) == 1, 60)
    first, running = in_thread(upload, one_worker.url, slow)
    assert wait_for(lambda: pool.running == 1, 60)
    second, queued = in_thread(upload, one_worker.url, worked)
    assert wait_for(lambda: pool.admitted == 2, 30)
    (victim,) = pool.pids()
    os.kill(victim, signal.SIGKILL)
    first.join(120)
    second.join(180)
    assert running and running[0].status_code == 500
    page = running[0].text
    assert "计算进程在计算中途意外终止" in page and "stopped before it finished" in page
    assert "Traceback" not in page
    assert queued and queued[0].status_code == 303
    assert RUN_LOCATION.match(queued[0].headers["location"])
    assert victim not in pool.pids()


def test_a_job_whose_worker_dies_before_it_starts_is_retried_once() -> None:
    """A worker killed while it still imports the solver has not started the job it was
    handed: the job runs on its successor."""

    async def scenario() -> tuple[int, int]:
        pool = Workers(1)
        try:
            pool.warm()
            while not pool.pids():
                await asyncio.sleep(0.01)
            (first,) = pool.pids()
            job = asyncio.ensure_future(pool.run(os.getpid))
            await asyncio.sleep(0.2)
            os.kill(first, signal.SIGKILL)
            return first, await asyncio.wait_for(job, 120)
        finally:
            await asyncio.to_thread(pool.shutdown)

    first, ran_on = outside_any_loop(scenario())
    assert ran_on != first


def test_killing_the_server_makes_its_workers_exit(tmp_path: Path, slow: Path) -> None:
    """SIGKILL, while one worker solves and the other idles: both leave within seconds."""
    served = Serve(tmp_path, "--workers", "2")
    try:
        assert wait_for(lambda: len(children(served.process.pid)) >= 2, 30)
        workers = children(served.process.pid)
        asked, _ = in_thread(upload, served.url, slow)
        time.sleep(4)
        os.kill(served.process.pid, signal.SIGKILL)
        served.process.wait(timeout=10)
        assert wait_for(lambda: not any(alive(pid) for pid in workers), 5), [
            pid for pid in workers if alive(pid)
        ]
        asked.join(30)
    finally:
        served.stop()


def test_ctrl_c_does_not_wait_for_a_long_solve(tmp_path: Path, slow: Path) -> None:
    served = Serve(tmp_path, "--workers", "1")
    try:
        assert wait_for(lambda: len(children(served.process.pid)) >= 1, 30)
        workers = children(served.process.pid)
        asked, _ = in_thread(upload, served.url, slow)
        time.sleep(3)
        started = time.monotonic()
        served.process.send_signal(signal.SIGINT)
        served.process.wait(timeout=40)
        assert time.monotonic() - started < 25
        assert wait_for(lambda: not any(alive(pid) for pid in workers), 5)
        asked.join(30)
    finally:
        served.stop()


# --- slow clients and large pages ---------------------------------------------------------


def test_slow_partial_headers_do_not_starve_healthz(tmp_path: Path) -> None:
    """Four times the connection cap in slow clients: a new connection takes the place of
    the one waiting longest for its headers, so ``/healthz`` answers well before the
    header deadline frees any; then the deadline closes every slow one."""
    served = Serve(tmp_path, "--max-connections", "50", "--header-timeout", "5")
    sockets: list[socket.socket] = []
    try:
        port = int(served.url.rsplit(":", 1)[1])
        for _ in range(200):
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            sockets.append(sock)
        started = time.monotonic()

        def healthy() -> bool:
            try:
                return httpx.get(f"{served.url}/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        assert wait_for(healthy, 3, 0.2)
        assert time.monotonic() - started < 3
        time.sleep(max(0.0, started + 6 - time.monotonic()))
        closed = 0
        for sock in sockets:
            try:
                sock.settimeout(0.5)
                sock.sendall(b"a")
                data = sock.recv(1024)
                closed += data == b"" or data.startswith(b"HTTP/1.1 503")
            except OSError:
                closed += 1
        assert closed == len(sockets)
        assert "Traceback" not in served.log.read_text(errors="replace")
    finally:
        for sock in sockets:
            sock.close()
        served.stop()


def test_a_slow_upload_is_cut_off_and_frees_its_place(tmp_path: Path, worked: Path) -> None:
    """A body trickled a byte at a time holds a place in the queue (``--queue 0``: the
    only one) until ``--body-timeout`` drops it, quietly; then the place serves the next
    upload."""
    served = Serve(tmp_path, "--workers", "1", "--queue", "0", "--body-timeout", "2")
    try:
        with browser(served.url) as client:
            port = int(served.url.rsplit(":", 1)[1])
            token = client.headers.get("x-csrf-token", "")
            cookies = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
            head = (
                f"POST /runs HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                f"Origin: {served.url}\r\nX-CSRF-Token: {token}\r\nCookie: {cookies}\r\n"
                "Content-Type: multipart/form-data; boundary=x\r\n"
                "Content-Length: 100000\r\n\r\n"
            )
            with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
                sock.sendall(head.encode() + b"--x\r\n")
                started, closed = time.monotonic(), False
                time.sleep(0.5)
                with pytest.raises(TimeoutError):  # no answer: the upload is being read
                    sock.settimeout(0.2)
                    sock.recv(1)
                assert post(client, "/runs", worked).status_code == 503  # it holds the place
                while time.monotonic() - started < 8:
                    try:
                        sock.sendall(b"a")
                        sock.settimeout(0.5)
                        if sock.recv(4096) == b"":
                            closed = True
                            break
                    except TimeoutError:
                        continue
                    except OSError:
                        closed = True
                        break
                assert closed, "the slow upload was not cut off"
                assert 1.5 < time.monotonic() - started < 6
            answer = post(client, "/runs", worked)
        assert answer.status_code == 303, answer.text[:300]
        assert "Traceback" not in served.log.read_text(errors="replace")
    finally:
        served.stop()


def test_a_large_result_page_does_not_block_healthz(tmp_path: Path, worked: Path) -> None:
    """A page of 20,000 units is rendered on a thread: five views of it at once leave
    ``/healthz`` answering (on the event loop it waited for all five)."""
    from model.web.storage import RunStore
    from tests.test_web import publish_page

    served = Serve(tmp_path, "--workers", "1")
    try:
        with browser(served.url) as client:
            answer = post(client, "/runs", worked)
            assert answer.status_code == 303
        run_id = answer.headers["location"].rsplit("/", 1)[1]
        page = RunStore.open(tmp_path).load(run_id, "page.json", "run")
        rows = page["rows"]
        page["rows"] = [
            {**rows[i % len(rows)], "code": f"{i:05d}", "name_zh": f"单位{i}"}
            for i in range(20_000)
        ]
        big = publish_page(tmp_path, page)
        views: list[float] = []

        def view() -> None:
            started = time.perf_counter()
            assert httpx.get(f"{served.url}/runs/{big}", timeout=300).status_code == 200
            views.append(time.perf_counter() - started)

        threads = [threading.Thread(target=view, daemon=True) for _ in range(5)]
        for thread in threads:
            thread.start()
        health: list[float] = []
        while any(t.is_alive() for t in threads) and len(health) < 600:
            started = time.perf_counter()
            assert httpx.get(f"{served.url}/healthz", timeout=60).status_code == 200
            health.append(time.perf_counter() - started)
            time.sleep(0.05)
        for thread in threads:
            thread.join(300)
    finally:
        served.stop()
    assert len(views) == 5
    print(f"views {sorted(views)}; healthz max {max(health):.2f} s, n {len(health)}")
    assert max(health) < 2.0, (max(health), views)
    assert min(views) > 2 * max(health)
