"""Planner accounts, their sessions, and the record of failed logins.

Kept in the data directory's database (``database.py``), in the tables this module owns:
``users`` (a name, an argon2id hash of the password, an admin flag), ``sessions`` (the
SHA-256 of each session cookie, whose it is and when it expires: a cookie is worth
nothing once its row is gone, so logout and expiry are decided here, not by the browser),
``login_attempts`` (failures per account name and per client address, for the backoff)
and ``site_keys`` (the secret the CSRF tokens are signed with).

Passwords are hashed by argon2-cffi with its default parameters (argon2id, 64 MiB, three
passes); no plain password and no plain session cookie is ever stored.
"""

from __future__ import annotations

import functools
import hashlib
import re
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from model.errors import InputError, Problem
from model.web import database

OWNER = "accounts"
MIGRATIONS: list[database.Step] = [
    """
    CREATE TABLE users (
        name TEXT PRIMARY KEY COLLATE NOCASE,
        password_hash TEXT NOT NULL,
        admin INTEGER NOT NULL DEFAULT 0,
        created TEXT NOT NULL
    );
    CREATE TABLE sessions (
        key_hash TEXT PRIMARY KEY,
        user TEXT NOT NULL,
        admin INTEGER NOT NULL,
        created REAL NOT NULL,
        expires REAL NOT NULL
    );
    CREATE INDEX sessions_by_user ON sessions (user);
    CREATE TABLE login_attempts (
        key TEXT PRIMARY KEY,
        failures INTEGER NOT NULL,
        last_failure REAL NOT NULL,
        blocked_until REAL NOT NULL
    );
    CREATE TABLE site_keys (name TEXT PRIMARY KEY, value BLOB NOT NULL);
    """,
]

TOKEN_USER = "token"
"""The planner of a session opened with the shared access token (``--token-file``)."""
NAME_PATTERN = re.compile(r"[\w.-]{1,64}")
MIN_PASSWORD_CHARS = 10
MAX_PASSWORD_CHARS = 1024
SESSION_SECONDS = 12 * 3600
FREE_FAILURES = 5
"""Wrong passwords in a row allowed before each further one costs a growing wait."""
MAX_BACKOFF_SECONDS = 15 * 60
FORGET_FAILURES_SECONDS = 3600
"""Failures older than this no longer count: a planner who mistyped yesterday starts fresh."""

HASHER = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the name is unknown, so a wrong name costs what a wrong
    password costs and the timing does not tell which names exist."""
    return HASHER.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class User:
    """An account as listed: never its hash."""

    name: str
    admin: bool
    created: str


@dataclass(frozen=True)
class Session:
    """Whose a live session is and until when (seconds since the epoch)."""

    user: str
    admin: bool
    expires: float


def digest(cookie: str) -> str:
    """What the database keeps of a session cookie."""
    return hashlib.sha256(cookie.encode()).hexdigest()


def check_name(name: str) -> str:
    """The account name, checked.

    Raises:
        InputError: empty, too long, with blanks or signs, or the reserved ``token``.
    """
    if NAME_PATTERN.fullmatch(name) and name.lower() != TOKEN_USER:
        return name
    raise InputError(
        [
            Problem(
                f"user {name!r}",
                "found a name that is empty, reserved, longer than 64 characters or holds "
                "blanks or signs",
                "use letters, digits, '.', '_' or '-' (and not 'token')",
                what_zh="用户名为空、为保留字、超过64个字符或含有空白及符号",
                fix_zh="请只用字母、数字、“.”、“_”或“-”（且不得为 token）",
            )
        ]
    )


def check_password(name: str, password: str) -> str:
    """The new password, checked for length.

    Raises:
        InputError: shorter than ``MIN_PASSWORD_CHARS`` or absurdly long.
    """
    if MIN_PASSWORD_CHARS <= len(password) <= MAX_PASSWORD_CHARS:
        return password
    raise InputError(
        [
            Problem(
                f"user {name} password",
                f"found a password of {len(password)} characters",
                f"use {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters",
                what_zh=f"密码长度为{len(password)}个字符",
                fix_zh=f"请使用{MIN_PASSWORD_CHARS}至{MAX_PASSWORD_CHARS}个字符的密码",
            )
        ]
    )


def _no_such_user(name: str) -> InputError:
    return InputError(
        [
            Problem(
                f"user {name}",
                "found no account of this name",
                "see the accounts with: caf user list",
                what_zh="没有这个用户",
                fix_zh="可用 caf user list 查看所有用户",
            )
        ]
    )


class Accounts:
    """The account tables of one data directory.

    One connection, used by one thread at a time (the lock): the web app calls these
    methods through ``asyncio.to_thread``.
    """

    def __init__(self, data_dir: str | Path) -> None:
        self.connection = database.connect(data_dir)
        self.lock = threading.Lock()
        database.migrate(self.connection, OWNER, MIGRATIONS)

    def close(self) -> None:
        self.connection.close()

    # --- accounts ---------------------------------------------------------------------

    def add_user(self, name: str, password: str, admin: bool = False) -> User:
        """Create an account.

        Raises:
            InputError: a bad name or password, or the name is taken.
        """
        check_name(name)
        hashed = HASHER.hash(check_password(name, password))
        created = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        with self.lock, database.transaction(self.connection) as db:
            if db.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone():
                raise InputError(
                    [
                        Problem(
                            f"user {name}",
                            "found an account of this name already",
                            "choose another name, or change its password with caf user passwd",
                            what_zh="已有同名用户",
                            fix_zh="请另选用户名，或用 caf user passwd 修改其密码",
                        )
                    ]
                )
            db.execute(
                "INSERT INTO users (name, password_hash, admin, created) VALUES (?, ?, ?, ?)",
                (name, hashed, int(admin), created),
            )
        return User(name, admin, created)

    def set_password(self, name: str, password: str) -> None:
        """Change a password and end every session of the account.

        Raises:
            InputError: no such account, or a bad password.
        """
        hashed = HASHER.hash(check_password(name, password))
        with self.lock, database.transaction(self.connection) as db:
            changed = db.execute(
                "UPDATE users SET password_hash = ? WHERE name = ?", (hashed, name)
            ).rowcount
            if not changed:
                raise _no_such_user(name)
            db.execute("DELETE FROM sessions WHERE user = ?", (name,))

    def remove_user(self, name: str) -> None:
        """Remove an account and end its sessions.

        Raises:
            InputError: no such account.
        """
        with self.lock, database.transaction(self.connection) as db:
            if not db.execute("DELETE FROM users WHERE name = ?", (name,)).rowcount:
                raise _no_such_user(name)
            db.execute("DELETE FROM sessions WHERE user = ? COLLATE NOCASE", (name,))

    def users(self) -> list[User]:
        """Every account, by name."""
        with self.lock:
            rows = self.connection.execute(
                "SELECT name, admin, created FROM users ORDER BY name"
            ).fetchall()
        return [User(row["name"], bool(row["admin"]), row["created"]) for row in rows]

    def has_users(self) -> bool:
        with self.lock:
            return self.connection.execute("SELECT 1 FROM users LIMIT 1").fetchone() is not None

    def verify(self, name: str, password: str) -> User | None:
        """The account when ``password`` is its password; None otherwise (same cost)."""
        with self.lock:
            row = self.connection.execute(
                "SELECT name, password_hash, admin, created FROM users WHERE name = ?",
                (name,),
            ).fetchone()
        try:
            HASHER.verify(row["password_hash"] if row else _dummy_hash(), password)
        except (VerificationError, InvalidHashError):
            return None
        if row is None:
            return None
        if HASHER.check_needs_rehash(row["password_hash"]):
            with self.lock:
                self.connection.execute(
                    "UPDATE users SET password_hash = ? WHERE name = ?",
                    (HASHER.hash(password), row["name"]),
                )
        return User(row["name"], bool(row["admin"]), row["created"])

    # --- sessions ---------------------------------------------------------------------

    def start_session(self, user: str, admin: bool, seconds: float = SESSION_SECONDS) -> str:
        """A new session cookie (256 random bits); only its digest is stored."""
        cookie = secrets.token_urlsafe(32)
        now = time.time()
        with self.lock, database.transaction(self.connection) as db:
            db.execute("DELETE FROM sessions WHERE expires <= ?", (now,))
            db.execute(
                "INSERT INTO sessions (key_hash, user, admin, created, expires)"
                " VALUES (?, ?, ?, ?, ?)",
                (digest(cookie), user, int(admin), now, now + seconds),
            )
        return cookie

    def session(self, cookie: str) -> Session | None:
        """The live session of this cookie; None when unknown, ended or expired."""
        with self.lock:
            row = self.connection.execute(
                "SELECT user, admin, expires FROM sessions WHERE key_hash = ? AND expires > ?",
                (digest(cookie), time.time()),
            ).fetchone()
        return Session(row["user"], bool(row["admin"]), row["expires"]) if row else None

    def end_session(self, cookie: str) -> None:
        """Forget a session: its cookie opens nothing any more."""
        with self.lock:
            self.connection.execute("DELETE FROM sessions WHERE key_hash = ?", (digest(cookie),))

    # --- failed logins ----------------------------------------------------------------

    def wait_seconds(self, keys: list[str]) -> float:
        """How long these keys (``name:…``, ``client:…``) must wait before another try."""
        now = time.time()
        marks = ",".join("?" * len(keys))
        with self.lock:
            row = self.connection.execute(
                f"SELECT MAX(blocked_until) FROM login_attempts WHERE key IN ({marks})",
                keys,
            ).fetchone()
        return max(0.0, (row[0] or 0.0) - now)

    def record_failure(self, keys: list[str]) -> None:
        """Count a wrong login; past ``FREE_FAILURES`` each one doubles the wait."""
        now = time.time()
        with self.lock, database.transaction(self.connection) as db:
            db.execute(
                "DELETE FROM login_attempts WHERE last_failure < ? AND blocked_until < ?",
                (now - FORGET_FAILURES_SECONDS, now),
            )
            for key in keys:
                row = db.execute(
                    "SELECT failures, last_failure FROM login_attempts WHERE key = ?", (key,)
                ).fetchone()
                fresh = row is not None and now - row["last_failure"] < FORGET_FAILURES_SECONDS
                failures = (row["failures"] if fresh else 0) + 1
                over = failures - FREE_FAILURES
                wait = min(2.0 ** (over - 1), MAX_BACKOFF_SECONDS) if over > 0 else 0.0
                db.execute(
                    "INSERT INTO login_attempts (key, failures, last_failure, blocked_until)"
                    " VALUES (?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET"
                    " failures = excluded.failures, last_failure = excluded.last_failure,"
                    " blocked_until = excluded.blocked_until",
                    (key, failures, now, now + wait),
                )

    def record_success(self, keys: list[str]) -> None:
        """A right login clears the count of these keys."""
        marks = ",".join("?" * len(keys))
        with self.lock:
            self.connection.execute(f"DELETE FROM login_attempts WHERE key IN ({marks})", keys)

    # --- the CSRF signing key ---------------------------------------------------------

    def site_key(self) -> bytes:
        """This data directory's secret for signing CSRF tokens, made once."""
        with self.lock, database.transaction(self.connection) as db:
            row = db.execute("SELECT value FROM site_keys WHERE name = 'csrf'").fetchone()
            if row is not None:
                return bytes(row[0])
            key = secrets.token_bytes(32)
            db.execute("INSERT INTO site_keys (name, value) VALUES ('csrf', ?)", (key,))
            return key
