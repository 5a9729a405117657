"""Fixtures for the web tests: Debian's Chromium for Playwright, and a live server.

Browser tests use Debian's ``/usr/bin/chromium`` (``make test`` installs it), never a
browser downloaded by Playwright. They fail, rather than skip, when it is missing.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser_type_launch_args() -> dict[str, Any]:
    """pytest-playwright: launch Debian's Chromium headless; fail when it is not there."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"Debian's chromium is missing at {CHROMIUM}: `make test` installs it as root, "
            "or run apt-get install -y chromium",
            pytrace=False,
        )
    return {"executable_path": CHROMIUM, "args": CHROMIUM_FLAGS}


class LiveServer:
    """A uvicorn server on a free loopback port, in a background thread."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True
        )

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
        self.socket.close()


@pytest.fixture(scope="session")
def web_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The live server's data folder."""
    return tmp_path_factory.mktemp("runs")


@pytest.fixture(scope="session")
def live_server(web_data_dir: Path) -> Iterator[LiveServer]:
    """The app served by uvicorn on 127.0.0.1, shared by the browser and HTTP tests."""
    from model.web.app import create_app

    with LiveServer(create_app(web_data_dir, workers=2)) as server:
        yield server


SAMPLE = Path(__file__).resolve().parents[1] / "inputs" / "sample_2020.xlsx"


@pytest.fixture(scope="session")
def web_sample() -> Path:
    """The shipped sample workbook: it ships, so a missing sample fails the tests."""
    assert SAMPLE.is_file(), f"the shipped sample is missing: {SAMPLE}"
    return SAMPLE


@pytest.fixture(scope="session")
def web_broken(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workbook with three problems: a blank name, a negative wage, a percentage ratio."""
    from tests.workbooks import WORKED_EXAMPLE, write_workbook

    units = [dict(u) for u in WORKED_EXAMPLE]
    units[0]["name_zh"] = None
    units[1]["avg_wage_yuan"] = -5
    path = tmp_path_factory.mktemp("web") / "broken.xlsx"
    return write_workbook(path, units, {"year": 2020, "contribution_ratio": 4})


def pytest_configure(config: pytest.Config) -> None:
    """Silence pytest-playwright's own deprecation (its ``base_url`` fixture), not ours."""
    config.addinivalue_line(
        "filterwarnings",
        "ignore:Session-scoped fixtures defined as instance methods"
        ":pytest.PytestRemovedIn10Warning",
    )
