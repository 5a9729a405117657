"""The audit trail: every run, comparison and multi-year plan in the ``runs`` table.

A request that asks for work is recorded in three steps, so a row tells what happened
even when a step never came:

1. ``AuditIndex.begin``, in the server when the request arrives: who (the planner, the
   client's address), what kind, when it was queued, the caf and HiGHS versions.
2. ``Audited``, wrapped around the job in the worker: when it started, the uploaded file's
   name, size and SHA-256 (of the bytes the job reads), the parameters asked for; then
   when it finished, its status, the parameters used and the totals.
3. ``AuditIndex.settle``, in the server with the answer: a job that never started (no
   workbook, a refused upload, a full queue) or whose worker died is closed here.

The table lives in the data folder's database (``database``), owned by ``audit``; its
schema grows by appending a step to ``MIGRATIONS``. Runs swept by ``--keep-days`` keep
their row, with ``removed`` set.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from model import __version__
from model.errors import InputError
from model.vocabulary import FIGURES, STATUS_FULL, STATUS_GAP, Label
from model.web import database
from model.web.storage import RunStore

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

Work = Callable[..., Awaitable[dict[str, Any] | None]]
"""``Site.work``: run a job in the pool; None when it failed unexpectedly."""

log = logging.getLogger(__name__)

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

KIND_PLAN = "plan"
KINDS: dict[str, Label] = {
    "run": Label("计算", "Run"),
    "compare": Label("比较", "Comparison"),
    KIND_PLAN: Label("多年规划", "Multi-year plan"),
}

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
        """A short-lived connection: the server and its workers each open their own."""
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
                (RUNNING, run_id, source_name, digest, size, _json(asked), now, now, entry, *OPEN),
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
        self.finished(entry, status, error=reason or (f"HTTP {http_status}" if http_status else ""))

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
        with self.connection() as db:
            row = db.execute(f"SELECT count(*) FROM runs WHERE {where}", arguments).fetchone()
        return int(row[0])

    def rows(self, filters: Filters, limit: int, offset: int = 0) -> list[dict[str, Any]]:
        """Matching rows, newest first, as dictionaries keyed by ``COLUMNS``."""
        where, arguments = filters.where()
        with self.connection() as db:
            found = db.execute(
                f"SELECT * FROM runs WHERE {where} ORDER BY queued DESC, id DESC LIMIT ? OFFSET ?",
                [*arguments, limit, offset],
            ).fetchall()
        return [{key: row[key] for key in COLUMNS} for row in found]

    def users(self) -> list[str | None]:
        """Every planner the trail names, for an admin's filter (None: no login)."""
        with self.connection() as db:
            found = db.execute("SELECT DISTINCT user FROM runs ORDER BY user").fetchall()
        return [row[0] for row in found]


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def asked_parameters(kind: str, extra: tuple[Any, ...]) -> dict[str, Any]:
    """What the planner asked for, from a job's extra arguments: the scenario and the
    form's non-blank values (a run, a plan) or the typed sweep (a comparison)."""
    if kind == "compare":
        return {"sweep": list(extra[0]) if extra else []}
    scenario, form = (*extra, "", {})[:2]
    overrides = {k: v for k, v in dict(form).items() if str(v).strip()}
    return {"scenario": scenario, "overrides": overrides}


def outcome(
    kind: str, result: dict[str, Any], folder: Path, asked: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    """A finished job's status and the figures the trail keeps, read from what it wrote:
    a run's and a plan's totals (a plan's over its horizon), a comparison's scenario
    count, how many have a gap, and its base scenario's totals. A plan's overrides are its
    run's, which is what it was asked with."""
    figures: dict[str, Any] = {}
    if kind == KIND_PLAN:
        figures["overrides"] = _json([[k, v] for k, v in asked.get("overrides", {}).items()])
    problems = result.get("problems")
    if problems:
        return PROBLEMS, {**figures, "problems": len(problems)}
    meta = result.get("meta", {})
    status = str(meta.get("status", FAILED))
    if kind == "compare":
        document = json.loads((folder / "comparison.json").read_text(encoding="utf-8"))
        scenarios = document["scenarios"]
        base = scenarios[0]
        figures["scenarios"] = len(scenarios)
        figures["gap_scenarios"] = sum(s["status"] == STATUS_GAP for s in scenarios)
    else:
        name = "result.json" if kind == "run" else "page.json"
        base = json.loads((folder / name).read_text(encoding="utf-8"))
        if "overrides" in meta:
            figures["overrides"] = _json(meta["overrides"])
    figures["used_parameters"] = _json(base.get("parameters", {}))
    figures.update({key: base.get("totals", {}).get(key) for key in TOTALS})
    return status, figures


@dataclass(frozen=True)
class Audited:
    """A job of ``model.web.jobs`` that records its start and its end in the trail.

    Pickled to a worker with the job: ``(input path, display name, folder, *extra)`` as
    every job takes them. ``run_id`` is the run a plan belongs to; a run or a comparison
    is the staging folder's id, which becomes its address when published.
    """

    data_dir: str
    entry: int
    kind: str
    job: Callable[..., dict[str, Any]]
    run_id: str | None = field(default=None)

    @property
    def __name__(self) -> str:
        """The job's name, for the worker pool's log lines."""
        return str(getattr(self.job, "__name__", "a job"))

    def __call__(
        self, input_path: str, source_name: str, folder: str, *extra: Any
    ) -> dict[str, Any]:
        index = AuditIndex(Path(self.data_dir))
        asked = asked_parameters(self.kind, extra)
        run_id = self.run_id or Path(folder).name
        _logged(index.started, self.entry, run_id, Path(input_path), source_name, asked)
        try:
            result = self.job(input_path, source_name, folder, *extra)
        except BaseException as error:
            _logged(index.finished, self.entry, FAILED, error=type(error).__name__)
            raise
        try:
            status, figures = outcome(self.kind, result, Path(folder), asked)
        except (OSError, ValueError, KeyError, TypeError):
            log.exception("the audit trail could not read a finished job's figures")
            status, figures = str(result.get("meta", {}).get("status", FAILED)), {}
        _logged(index.finished, self.entry, status, **figures)
        return result


def _logged(record: Callable[..., None], *args: Any, **kwargs: Any) -> None:
    """Write to the trail from a worker; a failed write is logged, never the job's end."""
    try:
        record(*args, **kwargs)
    except (sqlite3.Error, OSError):
        log.exception("the audit trail could not be written")


def index_of(request: Request) -> AuditIndex:
    """The trail of the app serving ``request``."""
    index: AuditIndex = request.app.state.audit
    return index


def who(request: Request) -> tuple[str | None, bool]:
    """The planner making the request and whether they may see everyone's runs.

    The login middleware sets ``request.state.user`` and ``is_admin``; without it (no
    accounts: loopback or one shared token) whoever reaches the server sees everything.
    """
    state = request.state
    user = getattr(state, "user", None)
    return user, bool(getattr(state, "is_admin", not hasattr(state, "user")))


def _client(request: Request) -> str | None:
    return request.client.host if request.client else None


async def recorded(
    request: Request,
    kind: str,
    job: Callable[..., dict[str, Any]],
    submit: Callable[[Audited], Awaitable[Response]],
) -> Response:
    """Submit a run or a comparison with its job wrapped in ``Audited``, and settle the
    row with the answer."""
    index = index_of(request)
    entry = await asyncio.to_thread(index.begin, kind, who(request)[0], _client(request))
    try:
        response = await submit(Audited(str(index.data_dir), entry, kind, job))
    except InputError as error:  # the form's own problems, found before any job
        index.finished(entry, PROBLEMS, problems=len(error.problems))
        raise
    except BaseException as error:
        index.settle(entry, None, type(error).__name__)
        raise
    await asyncio.to_thread(index.settle, entry, response.status_code)
    return response


def planned(request: Request, run_id: str, work: Work) -> Work:
    """Record the plan of ``run_id`` being asked for; return ``work`` (``Site.work``) that
    runs it audited and settles the row when the worker answers."""
    index = index_of(request)
    entry = index.begin(KIND_PLAN, who(request)[0], _client(request))

    async def audited(job: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any] | None:
        wrapped = Audited(str(index.data_dir), entry, KIND_PLAN, job, run_id)
        try:
            result = await work(wrapped, *args)
        except BaseException as error:
            index.settle(entry, None, type(error).__name__)
            raise
        await asyncio.to_thread(index.settle, entry, 500 if result is None else 200)
        return result

    return audited


def sweep(store: RunStore, index: AuditIndex, keep_days: float) -> list[str]:
    """Delete the runs older than ``keep_days`` and mark them removed in the trail; with
    ``keep_days`` 0 (or less) every run is kept."""
    if keep_days <= 0:
        return []
    removed = store.remove_older_than(keep_days)
    index.mark_removed(removed)
    if removed:
        log.info("removed %d runs older than %g days", len(removed), keep_days)
    return removed


SWEEP_SECONDS = 3600.0
"""How often a running server looks for runs past ``--keep-days``."""


async def keep_sweeping(store: RunStore, index: AuditIndex, keep_days: float) -> None:
    """Sweep now and then every ``SWEEP_SECONDS`` until cancelled (0 days: never)."""
    if keep_days <= 0:
        return
    while True:
        try:
            await asyncio.to_thread(sweep, store, index, keep_days)
        except (OSError, sqlite3.Error):
            log.exception("the keep-days sweep failed; trying again later")
        await asyncio.sleep(SWEEP_SECONDS)
