"""Run directories under the data folder, and the only place a request meets the disk.

Every run lives in ``<data_dir>/<run_id>/``. It is written in a staging directory
(``<data_dir>/.partial/<run_id>/``) and renamed into place only when complete, so a page
never sees half a run. A run's multi-year plan, computed later on request, is published the
same way into ``<data_dir>/<run_id>/plan/`` (its plan under uncertainty into ``risk/``):
the part's files, or the problems that stopped it. A run id comes from a request, so it is
checked against a strict pattern and the resolved path must stay inside the data folder
before anything touches the file system; file names inside a run are fixed by the code,
never by the request.

Runs are not kept for ever: those published more than ``--keep-days`` ago are deleted
(``remove_older_than``; the audit trail marks them removed), and whatever is left in the
staging folder when the server starts is a crashed request's and is swept (``clean_partial``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import secrets
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RUN_ID = re.compile(r"[0-9a-f]{32}")
"""128 random bits as lowercase hex: unguessable, and harmless in a path or a cookie."""

PARTIAL = ".partial"
STALE_SECONDS = 24 * 3600
DEFAULT_KEEP_DAYS = 90.0
"""``caf serve --keep-days``: a run is deleted this long after it was published."""
META = "meta.json"
PAGE = "page.json"

KIND_RUN = "run"
KIND_COMPARE = "compare"

RUN_FILES = frozenset({"allocation.xlsx", "result.json"})
COMPARE_FILES = frozenset({"comparison.xlsx", "comparison.json"})
PLAN_DIR = "plan"
PLAN_PROBLEMS = "problems.json"
PLAN_FILES = frozenset({"plan.xlsx", "plan.json", PAGE, PLAN_PROBLEMS})
RISK_DIR = "risk"
RISK_FILES = frozenset({"risk.xlsx", "risk.json", PAGE, PLAN_PROBLEMS})
PART_FILES: dict[str, frozenset[str]] = {PLAN_DIR: PLAN_FILES, RISK_DIR: RISK_FILES}
"""The parts a run may gain after it is published, each in its own folder: its multi-year
plan and its plan under uncertainty; the files each may hold."""


def keep_days_argument(text: str) -> float:
    """``caf serve --keep-days``: a number of days, 0 or more (0 keeps every run)."""
    try:
        days = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--keep-days takes a number, not {text!r}") from None
    if not days >= 0 or days == float("inf"):
        raise argparse.ArgumentTypeError(f"--keep-days must be 0 or more days, not {text}")
    return days


class UnknownRun(LookupError):
    """No complete run of the wanted kind has this id (or the id is malformed)."""


def new_run_id() -> str:
    """A fresh run id with 128 bits from the operating system's CSPRNG."""
    return secrets.token_hex(16)


def valid_run_id(text: object) -> bool:
    """Whether ``text`` has exactly the shape of a run id."""
    return isinstance(text, str) and RUN_ID.fullmatch(text) is not None


def write_json_atomic(path: Path, payload: Any) -> None:
    """Write JSON beside ``path`` and rename it over, so readers never see a partial file."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    temporary.write_text(json.dumps(payload, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(temporary, path)


@dataclass(frozen=True)
class RunStore:
    """The data folder: creates staging directories, publishes and reads runs."""

    root: Path

    @classmethod
    def open(cls, data_dir: str | Path) -> RunStore:
        """Create the folder if needed and forget staging directories left by a crash."""
        root = Path(data_dir).expanduser().resolve()
        (root / PARTIAL).mkdir(parents=True, exist_ok=True)
        store = cls(root)
        store.clean_stale()
        return store

    def _inside(self, path: Path) -> Path:
        resolved = path.resolve()
        if not resolved.is_relative_to(self.root) or resolved == self.root:
            raise UnknownRun(str(path.name))
        return resolved

    def run_dir(self, run_id: str) -> Path:
        """The published directory of ``run_id``, checked before any file-system use.

        Raises:
            UnknownRun: the id is malformed or points outside the data folder.
        """
        if not valid_run_id(run_id):
            raise UnknownRun(repr(run_id)[:80])
        return self._inside(self.root / run_id)

    @contextlib.contextmanager
    def staging(self) -> Iterator[tuple[str, Path]]:
        """Yield a new id and an empty staging directory; remove it unless published."""
        while True:
            run_id = new_run_id()
            folder = self.root / PARTIAL / run_id
            if not (self.root / run_id).exists():
                try:
                    folder.mkdir()
                    break
                except FileExistsError:
                    continue
        try:
            yield run_id, folder
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def publish(self, run_id: str, folder: Path, meta: dict[str, Any]) -> None:
        """Write ``meta.json`` and move the staging directory into place in one rename."""
        write_json_atomic(folder / META, meta)
        os.rename(folder, self.run_dir(run_id))

    def meta(self, run_id: str, kind: str | None = None) -> dict[str, Any]:
        """The metadata of a published run, optionally requiring its kind.

        Raises:
            UnknownRun: no such run, or a run of another kind.
        """
        path = self.run_dir(run_id) / META
        try:
            meta: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        except (FileNotFoundError, NotADirectoryError, json.JSONDecodeError):
            raise UnknownRun(run_id) from None
        if kind is not None and meta.get("kind") != kind:
            raise UnknownRun(run_id)
        return meta

    def file(self, run_id: str, name: str, kind: str) -> Path:
        """A fixed output file of a run (``allocation.xlsx``, ``result.json``, ...)."""
        allowed = RUN_FILES if kind == KIND_RUN else COMPARE_FILES
        if name not in allowed | {PAGE}:
            raise UnknownRun(name)
        self.meta(run_id, kind)
        path = self.run_dir(run_id) / name
        if not path.is_file():
            raise UnknownRun(run_id)
        return path

    def load(self, run_id: str, name: str, kind: str) -> Any:
        """A JSON file of a run, parsed."""
        return json.loads(self.file(run_id, name, kind).read_text(encoding="utf-8"))

    def publish_part(self, run_id: str, part: str, folder: Path, meta: dict[str, Any]) -> bool:
        """Move a staged part of a run (its plan, its risk run) into the run's ``part``
        folder in one rename.

        Returns False, leaving the staging folder, when the run already has that part.

        Raises:
            UnknownRun: no run of this id.
        """
        self.meta(run_id, KIND_RUN)
        write_json_atomic(folder / META, meta)
        try:
            os.rename(folder, self.run_dir(run_id) / part)
        except OSError:
            if (self.run_dir(run_id) / part).is_dir():
                return False
            raise
        return True

    def part_meta(self, run_id: str, part: str) -> dict[str, Any] | None:
        """The metadata of a run's published part; None while it has none.

        Raises:
            UnknownRun: no run of this id.
        """
        self.meta(run_id, KIND_RUN)
        path = self.run_dir(run_id) / part / META
        try:
            meta: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        except (FileNotFoundError, NotADirectoryError, json.JSONDecodeError):
            return None
        return meta

    def part_file(self, run_id: str, part: str, name: str) -> Path:
        """A fixed file of a run's published part (``plan.xlsx``, ``risk.json``, ...).

        Raises:
            UnknownRun: no such run, no such part yet, or no such file in it.
        """
        if name not in PART_FILES.get(part, ()):
            raise UnknownRun(name)
        self.meta(run_id, KIND_RUN)
        path = self.run_dir(run_id) / part / name
        if not path.is_file():
            raise UnknownRun(run_id)
        return path

    def load_part(self, run_id: str, part: str, name: str) -> Any:
        """A JSON file of a run's part, parsed."""
        return json.loads(self.part_file(run_id, part, name).read_text(encoding="utf-8"))

    def input_of(self, run_id: str) -> tuple[Path, str]:
        """The stored upload of a run and the name the planner gave it."""
        meta = self.meta(run_id)
        path = self.run_dir(run_id) / str(meta.get("input", ""))
        if path.name not in ("input.xlsx", "input.xlsm") or not path.is_file():
            raise UnknownRun(run_id)
        return path, str(meta.get("source", path.name))

    def clean_stale(self) -> None:
        """Remove staging directories older than a day (a crash or a kill mid-request)."""
        cutoff = time.time() - STALE_SECONDS
        for folder in (self.root / PARTIAL).iterdir():
            with contextlib.suppress(OSError):
                if folder.stat().st_mtime < cutoff:
                    shutil.rmtree(folder, ignore_errors=True)

    def clean_partial(self) -> int:
        """Remove everything in the staging folder; at start, when nothing can be using it.

        Returns how many entries were removed.
        """
        removed = 0
        for entry in (self.root / PARTIAL).iterdir():
            with contextlib.suppress(OSError):
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry)
                else:
                    entry.unlink()
                removed += 1
        return removed

    def remove_older_than(self, keep_days: float, now: float | None = None) -> list[str]:
        """Delete the published runs published more than ``keep_days`` ago; return their ids.

        A run's age is that of its ``meta.json``, written when it was published. Each is
        first renamed into the staging folder, so a page sees the whole run or none of it,
        then deleted; a crash in between leaves a leftover that the next start sweeps.
        """
        cutoff = (time.time() if now is None else now) - keep_days * 86400
        removed = []
        for folder in sorted(self.root.iterdir()):
            if not valid_run_id(folder.name) or folder.is_symlink():
                continue
            try:
                if (folder / META).stat().st_mtime >= cutoff:
                    continue
                doomed = self.root / PARTIAL / f"{folder.name}.removed"
                os.rename(folder, doomed)
            except OSError:
                continue
            shutil.rmtree(doomed, ignore_errors=True)
            removed.append(folder.name)
        return removed
