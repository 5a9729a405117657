"""The run index: the ``runs`` table of the data folder's database, and how it is read.

One row per run, comparison or multi-year plan asked for (``audit`` writes them). The
table is owned by ``audit`` in ``database``'s migrations: its schema grows by appending a
step to ``MIGRATIONS``, never by editing one. ``COLUMNS`` names every column in both
languages, in the order the history page's exports write them.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

from model import __version__
from model.vocabulary import FIGURES, STATUS_FULL, STATUS_GAP, Label
from model.web import database

OWNER = "audit"
MIGRATIONS: list[database.Step] = [
    """
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL,
        run_id TEXT,
        user TEXT,
        client TEXT,
        source_name TEXT,
        source_sha256 TEXT,
        source_bytes INTEGER,
        parameters TEXT,
        used_parameters TEXT,
        status TEXT NOT NULL,
        problems INTEGER,
        scenarios INTEGER,
        gap_scenarios INTEGER,
        fund_100m REAL,
        local_subsidy_100m REAL,
        central_subsidy_100m REAL,
        unfunded_gap_100m REAL,
        queued REAL NOT NULL,
        started REAL,
        finished REAL,
        wait_seconds REAL,
        solve_seconds REAL,
        caf_version TEXT,
        highs_version TEXT,
        error TEXT,
        removed REAL
    );
    CREATE INDEX runs_by_time ON runs (queued);
    CREATE INDEX runs_by_user ON runs (user, queued);
    CREATE INDEX runs_by_run ON runs (run_id);
    """,
    # the values that differ from the scenario's, as the result page lists them: a form
    # prefilled from the workbook sends every field, so what was asked says too much
    "ALTER TABLE runs ADD COLUMN overrides TEXT",
]

KIND_PLAN, KIND_RISK = "plan", "risk"
KINDS: dict[str, Label] = {
    "run": Label("计算", "Run"),
    "compare": Label("比较", "Comparison"),
    KIND_PLAN: Label("多年规划", "Multi-year plan"),
    KIND_RISK: Label("风险分析", "Plan under uncertainty"),
}
"""A plan and a plan under uncertainty belong to a run: their rows carry its ``run_id``."""

QUEUED, RUNNING, PROBLEMS, FAILED, REFUSED = "queued", "running", "problems", "failed", "refused"
OPEN = (QUEUED, RUNNING)
"""Statuses of a row whose job has not ended; ``settle`` closes them."""
OUTCOMES: dict[str, Label] = {
    STATUS_FULL: Label("足额", "Full payment"),
    STATUS_GAP: Label("缺口", "Unfunded gap"),
    PROBLEMS: Label("输入有误", "Input problems"),
    FAILED: Label("失败", "Failed"),
    REFUSED: Label("被拒绝", "Refused"),
    QUEUED: Label("排队中", "Queued"),
    RUNNING: Label("计算中", "Running"),
}
REMOVED = "removed"
"""A status filter, not a status: rows whose run the keep-days sweep deleted."""

TOTALS = ("fund_100m", "local_subsidy_100m", "central_subsidy_100m", "unfunded_gap_100m")

COLUMNS: dict[str, Label] = {
    "id": Label("编号", "Entry"),
    "kind": Label("类型", "Kind"),
    "run_id": Label("运行编号", "Run id"),
    "user": Label("用户", "User"),
    "client": Label("客户端地址", "Client address"),
    "source_name": Label("文件", "File"),
    "source_sha256": Label("文件 SHA-256", "File SHA-256"),
    "source_bytes": Label("文件大小", "File size", "字节 bytes"),
    "parameters": Label("所填参数", "Parameters asked"),
    "overrides": Label("改动的参数", "Parameters changed"),
    "used_parameters": Label("实际参数", "Parameters used"),
    "status": Label("状态", "Status"),
    "problems": Label("问题数", "Problems"),
    "scenarios": Label("情景数", "Scenarios"),
    "gap_scenarios": Label("有缺口的情景", "Scenarios with a gap"),
    **{key: FIGURES[key] for key in TOTALS},
    "queued": Label("提交时间", "Queued", "UTC"),
    "started": Label("开始时间", "Started", "UTC"),
    "finished": Label("结束时间", "Finished", "UTC"),
    "wait_seconds": Label("等待", "Waited", "秒 s"),
    "solve_seconds": Label("计算用时", "Worked", "秒 s"),
    "caf_version": Label("caf 版本", "caf version"),
    "highs_version": Label("HiGHS 版本", "HiGHS version"),
    "error": Label("原因", "Reason"),
    "removed": Label("删除时间", "Removed", "UTC"),
}
"""Every column of the trail, in the order the exports write them."""
TIMES = ("queued", "started", "finished", "removed")


@cache
def highs_version() -> str:
    """HiGHS's version as highspy ships it, read without importing the solver."""
    try:
        return metadata.version("highspy")
    except metadata.PackageNotFoundError:
        return ""


def utc(seconds: float | None) -> str:
    """``2026-12-03 11:40:12``: a stored time as the page and the exports show it."""
    if seconds is None:
        return ""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S")


def sha256_of(path: Path) -> tuple[str, int]:
    """The file's SHA-256 (hex) and size, read in chunks."""
    with path.open("rb") as handle:
        digest = hashlib.file_digest(handle, "sha256").hexdigest()
    return digest, path.stat().st_size


@dataclass(frozen=True)
class Filters:
    """What the history page and the exports show; blank means any.

    ``user`` is a planner's name, or None for runs started without a login; ``anyone``
    drops the user filter (an admin who chose no planner).
    """

    user: str | None = None
    anyone: bool = False
    kind: str = ""
    status: str = ""
    since: date | None = None
    until: date | None = None
    file: str = ""

    def where(self) -> tuple[str, list[Any]]:
        """The SQL ``WHERE`` clause and its arguments."""
        clauses: list[str] = ["1 = 1"]
        arguments: list[Any] = []
        if not self.anyone:
            clauses.append("user IS ?")
            arguments.append(self.user)
        if self.kind:
            clauses.append("kind = ?")
            arguments.append(self.kind)
        if self.status == REMOVED:
            clauses.append("removed IS NOT NULL")
        elif self.status:
            clauses.append("status = ?")
            arguments.append(self.status)
        if self.since is not None:
            clauses.append("queued >= ?")
            arguments.append(_midnight(self.since))
        if self.until is not None:
            clauses.append("queued < ?")
            arguments.append(_midnight(self.until + timedelta(days=1)))
        if self.file:
            clauses.append("source_name LIKE ? ESCAPE '\\'")
            escaped = self.file.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            arguments.append(f"%{escaped}%")
        return " AND ".join(clauses), arguments


def _midnight(day: date) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()


_OPEN: dict[tuple[int, str], tuple[sqlite3.Connection, threading.Lock]] = {}
_OPEN_LOCK = threading.Lock()


@dataclass(frozen=True)
class AuditIndex:
    """The ``runs`` table of a data folder's database."""

    data_dir: Path

    @classmethod
    def open(cls, data_dir: str | Path) -> AuditIndex:
        """Create or migrate the table; the server calls it once at start."""
        index = cls(Path(data_dir))
        with index.connection() as db:
            database.migrate(db, OWNER, MIGRATIONS)
        return index

    @contextlib.contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        """This process's connection to the table, held by one thread at a time.

        Each process (the server, every worker) keeps one open: opening and closing one
        per write cost 10 ms a request, most of it the checkpoint SQLite runs when the
        last connection to a WAL database closes.
        """
        key = (os.getpid(), str(self.data_dir.resolve()))
        with _OPEN_LOCK:
            held = _OPEN.get(key)
            if held is None:
                held = _OPEN[key] = (database.connect(self.data_dir), threading.Lock())
        db, lock = held
        with lock:
            yield db

    @contextlib.contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """A connection of its own for the history page and the exports: a long read never
        holds up the writes of the runs (WAL lets them go on while it reads)."""
        db = database.connect(self.data_dir)
        try:
            yield db
        finally:
            db.close()

    def begin(self, kind: str, user: str | None, client: str | None) -> int:
        """Record a request for work as it arrives; return the row's id."""
        with self.connection() as db:
            cursor = db.execute(
                "INSERT INTO runs (kind, user, client, status, queued, caf_version,"
                " highs_version) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (kind, user, client, QUEUED, time.time(), __version__, highs_version()),
            )
            return int(cursor.lastrowid or 0)

    def started(
        self, entry: int, run_id: str, source: Path, source_name: str, asked: dict[str, Any]
    ) -> None:
        """The job has started in a worker: record its input and the parameters asked."""
        digest, size = sha256_of(source)
        now = time.time()
        with self.connection() as db:
            db.execute(
                "UPDATE runs SET status = ?, run_id = ?, source_name = ?, source_sha256 = ?,"
                " source_bytes = ?, parameters = ?, started = ?, wait_seconds = ? - queued"
                " WHERE id = ? AND status IN (?, ?)",
                (
                    RUNNING,
                    run_id,
                    source_name,
                    digest,
                    size,
                    as_json(asked),
                    now,
                    now,
                    entry,
                    *OPEN,
                ),
            )

    def finished(self, entry: int, status: str, **figures: Any) -> None:
        """The job has ended with ``status``; ``figures`` are columns of the table."""
        unknown = set(figures) - set(COLUMNS)
        assert not unknown, unknown
        now = time.time()
        names = "".join(f", {name} = ?" for name in figures)
        with self.connection() as db:
            db.execute(
                f"UPDATE runs SET status = ?, finished = ?,"
                f" solve_seconds = ? - started{names} WHERE id = ?",
                (status, now, now, *figures.values(), entry),
            )

    def settle(self, entry: int, http_status: int | None, reason: str = "") -> None:
        """Close the row with the answer sent (``http_status``; None when the request
        raised): a job that never started was refused (or had no workbook: problems), one
        that started and did not end failed, and so did one whose run was not published."""
        with self.connection() as db:
            row = db.execute("SELECT status FROM runs WHERE id = ?", (entry,)).fetchone()
        if row is None:
            return
        was = row["status"]
        if was not in OPEN and (http_status != 500 or was == FAILED):
            return
        if was == QUEUED and http_status == 422:
            status = PROBLEMS
        elif was == QUEUED and http_status != 500:
            status = REFUSED
        else:
            status = FAILED
        if not reason:
            answer = f"HTTP {http_status}" if http_status else "no answer"
            stopped = "its worker stopped before the job ended" if was == RUNNING else ""
            reason = f"{stopped} ({answer})" if stopped else answer
        self.finished(entry, status, error=reason)

    def mark_removed(self, run_ids: list[str], when: float | None = None) -> None:
        """The keep-days sweep deleted these runs from disk."""
        if not run_ids:
            return
        with self.connection() as db, database.transaction(db):
            db.executemany(
                "UPDATE runs SET removed = ? WHERE run_id = ? AND removed IS NULL",
                [(when or time.time(), run_id) for run_id in run_ids],
            )

    def close_orphans(self) -> int:
        """Fail the rows a stopped server left open (its jobs ended with it); at start."""
        with self.connection() as db:
            cursor = db.execute(
                "UPDATE runs SET status = ?, error = ?, finished = ? WHERE status IN (?, ?)",
                (FAILED, "server stopped", time.time(), *OPEN),
            )
            return cursor.rowcount

    def count(self, filters: Filters) -> int:
        """How many rows match."""
        where, arguments = filters.where()
        with self.reading() as db:
            row = db.execute(f"SELECT count(*) FROM runs WHERE {where}", arguments).fetchone()
        return int(row[0])

    def rows(self, filters: Filters, limit: int, offset: int = 0) -> list[dict[str, Any]]:
        """Matching rows, newest first, as dictionaries keyed by ``COLUMNS``."""
        where, arguments = filters.where()
        with self.reading() as db:
            found = db.execute(
                f"SELECT * FROM runs WHERE {where} ORDER BY queued DESC, id DESC LIMIT ? OFFSET ?",
                [*arguments, limit, offset],
            ).fetchall()
        return [{key: row[key] for key in COLUMNS} for row in found]

    def users(self) -> list[str | None]:
        """Every planner the trail names, for an admin's filter (None: no login)."""
        with self.reading() as db:
            found = db.execute("SELECT DISTINCT user FROM runs ORDER BY user").fetchall()
        return [row[0] for row in found]


def as_json(value: Any) -> str:
    """A value as the table stores JSON: keys sorted, Chinese as typed."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True)
