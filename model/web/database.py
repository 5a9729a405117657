"""The server's own database: one SQLite file beside the runs, ``<data dir>/caf.sqlite``.

Several modules keep tables in it, each owning its own (``accounts``: users, sessions,
login attempts; ``audit``: runs). Each owner brings an ordered list of migration steps and
calls ``migrate`` when it opens the file; ``schema_version`` remembers, per owner, how many
steps have been applied, so a step runs once in the life of a data directory, and adding a
table or a column is one more step at the end of the list, never an edit of an old one.

Connections are in autocommit mode (``isolation_level=None``): a statement is its own
transaction unless ``transaction`` opens one. WAL lets the pages read while a run is
being recorded, and the busy timeout makes a writer wait for another instead of failing.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

DB_NAME = "caf.sqlite"
BUSY_TIMEOUT_MS = 10_000

Step = str | Callable[[sqlite3.Connection], None]
"""One migration step: SQL (one or several statements) or a function given the connection."""


def path_of(data_dir: str | Path) -> Path:
    """Where the database of a data directory lives."""
    return Path(data_dir) / DB_NAME


def connect(data_dir: str | Path) -> sqlite3.Connection:
    """Open (creating if needed) the data directory's database.

    The connection may be used from any thread, one at a time (``check_same_thread`` is
    off so a connection opened on the event loop can be handed to ``asyncio.to_thread``).
    Rows come back as ``sqlite3.Row``.
    """
    folder = Path(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(
        path_of(folder),
        timeout=BUSY_TIMEOUT_MS / 1000,
        isolation_level=None,
        check_same_thread=False,
    )
    connection.row_factory = sqlite3.Row
    connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA foreign_keys = ON")
    connection.execute("PRAGMA synchronous = NORMAL")
    connection.execute(
        "CREATE TABLE IF NOT EXISTS schema_version ("
        " owner TEXT PRIMARY KEY, version INTEGER NOT NULL)"
    )
    return connection


@contextmanager
def transaction(connection: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` … ``COMMIT``, or ``ROLLBACK`` when the block raises.

    Immediate: the write lock is taken at the start, so two processes reading then
    writing the same row cannot both succeed on a stale read.
    """
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield connection
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


def statements(sql: str) -> list[str]:
    """Split SQL into whole statements (``sqlite3.complete_statement`` knows triggers)."""
    found: list[str] = []
    buffer = ""
    for piece in sql.split(";"):
        buffer += piece + ";"
        if sqlite3.complete_statement(buffer):
            if buffer.strip(" \t\r\n;"):
                found.append(buffer.strip())
            buffer = ""
    if buffer.strip(" \t\r\n;"):
        found.append(buffer.strip().rstrip(";"))
    return found


def version(connection: sqlite3.Connection, owner: str) -> int:
    """How many of ``owner``'s steps this database has applied (0 when none)."""
    row = connection.execute(
        "SELECT version FROM schema_version WHERE owner = ?", (owner,)
    ).fetchone()
    return int(row[0]) if row else 0


def migrate(connection: sqlite3.Connection, owner: str, steps: Sequence[Step]) -> int:
    """Apply ``owner``'s steps not yet applied, all in one transaction; return the version.

    Raises:
        RuntimeError: the database is newer than this caf (more steps applied than known).
    """
    with transaction(connection):
        done = version(connection, owner)
        if done > len(steps):
            raise RuntimeError(
                f"{DB_NAME}: '{owner}' tables are at version {done}, this caf knows "
                f"{len(steps)}; use a newer caf or another --data-dir"
            )
        for step in steps[done:]:
            if callable(step):
                step(connection)
            else:
                for statement in statements(step):
                    connection.execute(statement)
        connection.execute(
            "INSERT INTO schema_version (owner, version) VALUES (?, ?)"
            " ON CONFLICT (owner) DO UPDATE SET version = excluded.version",
            (owner, len(steps)),
        )
    return len(steps)
