"""Fifty planners uploading the sample at once to a ``caf serve`` on loopback.

Starts ``caf serve`` on ``127.0.0.1`` (a free port, a scratch data folder), waits for
``/healthz``, then sends ``--uploads`` concurrent ``POST /runs`` of
``inputs/sample_2020.xlsx`` and reports, per answer code, how many and how fast:

- ``ok``: 303 to a published run; ``busy``: 503 (the queue is full), with ``Retry-After``;
- ``errors``: any other code, or no answer within ``--timeout`` seconds;
- latency p50/p95/max over the successful uploads and over all answers;
- with ``--retries N``, a planner told 503 waits its ``Retry-After`` and tries again, N
  times at most: then the latency runs from the first try to the last answer, and
  ``answers_503`` counts every 503 met on the way.

Every request loop is bounded (one request per upload, a deadline for the whole batch), and
every process started here is stopped by its own PID: the server, then any of its worker
processes still alive. ``--against DIR`` first measures DIR's checkout (an older commit
unpacked with ``git archive``) in the same way, so before and after share the machine state.

Usage: ``python benchmarks/load.py [--uploads 50] [--workers 2] [--retries N] [--json FILE]
[--against DIR] [-- extra caf serve options]``
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "inputs" / "sample_2020.xlsx"
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
SERVING = re.compile(r"caf serving http://127\.0\.0\.1:(\d+)/")


def children(pid: int) -> list[int]:
    """The PIDs of ``pid``'s child processes (Linux ``/proc``), or none elsewhere."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found.extend(int(c) for c in (task / "children").read_text().split())
        except OSError:
            continue
    return found


def start_server(root: Path, data: Path, workers: int, extra: list[str]) -> tuple[Any, int]:
    """``caf serve`` from the checkout at ``root``; its process and its port."""
    command = [sys.executable, "-c", "from model.cli import entry; entry()", "serve"]
    command += ["--host", "127.0.0.1", "--port", "0", "--data-dir", str(data)]
    command += ["--workers", str(workers), *extra]
    env = {**os.environ, "PYTHONPATH": str(root)}
    process = subprocess.Popen(
        command,
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    found = SERVING.search(line)
    if found is None:
        stop(process)
        raise RuntimeError(f"caf serve did not start: {line!r}")
    return process, int(found.group(1))


def stop(process: Any) -> None:
    """Stop the server by its PID (Ctrl+C, then SIGKILL), then its leftover workers."""
    workers = children(process.pid)
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    deadline = time.monotonic() + 10
    for pid in workers:
        while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
            time.sleep(0.1)
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            continue


def wait_healthy(base: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("caf serve did not answer /healthz")


def upload(base: str, timeout: float, retries: int, results: list[tuple[int, float, int]]) -> None:
    """One planner, as a browser: open the upload form (its cookie and CSRF token, where
    the server has them), then upload the sample; after a 503, wait its ``Retry-After``
    (at most 60 s) and try again, ``retries`` times at most. The last status (0: no
    answer), the seconds from the first upload to the last answer, and the 503s met."""
    status, seconds, busy = 0, 0.0, 0
    started = time.perf_counter()
    try:
        with httpx.Client(base_url=base, timeout=timeout) as browser:
            form = browser.get("/")
            found = CSRF.search(form.text)
            fields = {"csrf_token": found.group(1)} if found else {}
            started = time.perf_counter()
            for attempt in range(retries + 1):
                with SAMPLE.open("rb") as handle:
                    files = {"workbook": (SAMPLE.name, handle, "application/octet-stream")}
                    answer = browser.post(
                        "/runs", files=files, data=fields, headers={"Origin": base}
                    )
                status = answer.status_code
                if status != 503:
                    break
                busy += 1
                if attempt < retries:
                    time.sleep(min(60.0, float(answer.headers.get("retry-after", "1"))))
            seconds = time.perf_counter() - started
    except httpx.HTTPError:
        status, seconds = 0, time.perf_counter() - started
    results.append((status, seconds, busy))


def percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(share * len(ordered)))], 2)


def summary(results: list[tuple[int, float, int]], wall: float) -> dict[str, Any]:
    ok = [s for code, s, _ in results if code == 303]
    every = [s for _, s, _ in results]
    codes: dict[str, int] = {}
    for code, _, _ in results:
        codes[str(code)] = codes.get(str(code), 0) + 1
    return {
        "uploads": len(results),
        "ok": len(ok),
        "busy_503": codes.get("503", 0),
        "answers_503": sum(busy for _, _, busy in results),
        "errors": len(results) - len(ok) - codes.get("503", 0),
        "codes": codes,
        "ok_p50_s": percentile(ok, 0.5),
        "ok_p95_s": percentile(ok, 0.95),
        "ok_max_s": round(max(ok), 2) if ok else None,
        "all_p50_s": percentile(every, 0.5),
        "all_p95_s": percentile(every, 0.95),
        "wall_s": round(wall, 2),
        "uploads_per_s": round(len(ok) / wall, 2) if wall else None,
    }


def measure(
    root: Path, uploads: int, workers: int, timeout: float, retries: int, extra: list[str]
) -> dict[str, Any]:
    """Start ``root``'s server, send the uploads at once, stop everything; the figures."""
    with tempfile.TemporaryDirectory() as scratch:
        process, port = start_server(root, Path(scratch), workers, extra)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_healthy(base)
            upload(base, timeout, 0, [])  # the first run warms the workers; not counted
            results: list[tuple[int, float, int]] = []
            threads = [
                threading.Thread(target=upload, args=(base, timeout, retries, results), daemon=True)
                for _ in range(uploads)
            ]
            started = time.perf_counter()
            for thread in threads:
                thread.start()
            deadline = time.monotonic() + (timeout + 60) * (retries + 1)
            for thread in threads:
                thread.join(max(0.0, deadline - time.monotonic()))
            wall = time.perf_counter() - started
            results += [(0, wall, 0)] * (uploads - len(results))
        finally:
            stop(process)
    return summary(results[:uploads], wall)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uploads", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=300, help="seconds per request")
    parser.add_argument(
        "--retries", type=int, default=0, help="tries again after a 503's Retry-After (max 10)"
    )
    parser.add_argument("--json", type=Path)
    parser.add_argument("--against", type=Path, help="an older checkout to measure first")
    parser.add_argument("serve_options", nargs="*", help="after --: more caf serve options")
    args = parser.parse_args(argv)
    figures: dict[str, Any] = {}
    retries = max(0, min(10, args.retries))
    if args.against is not None:
        figures["before"] = measure(
            args.against.resolve(), args.uploads, args.workers, args.timeout, retries, []
        )
        print("before:", json.dumps(figures["before"]), flush=True)
    figures["this"] = measure(
        ROOT, args.uploads, args.workers, args.timeout, retries, args.serve_options
    )
    print("this:  ", json.dumps(figures["this"]), flush=True)
    if args.json is not None:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
