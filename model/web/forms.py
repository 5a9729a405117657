"""What the forms send, reduced to plain, checked values before anything uses them.

Only known field names are read; everything else in a request is ignored. The
workbook's file name is kept as display text only: the stored file is always called
``input.xlsx`` (or ``input.xlsm``, so the macro check sees the planner's extension).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from model.schema import PARAMETER_FIELDS
from model.web.storage import RUN_ID, valid_run_id

RECENT_COOKIE = "caf_recent"
RECENT_LIMIT = 20
NAME_LIMIT = 120
MAX_SWEEP_LINES = 10
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f]")
MACRO_SUFFIXES = (".xlsm", ".xltm")


def text_field(form: Any, name: str, limit: int = 1000) -> str:
    """A text field's value, trimmed and cut to ``limit``; blank when absent or a file."""
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


def parameter_fields(form: Any) -> dict[str, str]:
    """The parameter fields of a form that are not blank (blank keeps the workbook's value)."""
    values = {f.key: text_field(form, f.key, 100) for f in PARAMETER_FIELDS}
    return {k: v for k, v in values.items() if v}


def sweep_lines(text: str) -> list[str]:
    """One ``key=v1,v2`` per line (or separated by ``;``), blank lines dropped."""
    lines = [line.strip() for line in re.split(r"[\n;]", text)]
    return [line for line in lines if line][:MAX_SWEEP_LINES]


def display_name(filename: str | None) -> str:
    """The upload's file name for display: no folders, no control characters, not too long."""
    name = re.split(r"[\\/]", filename or "")[-1]
    name = _UNSAFE_NAME.sub("", name).strip()[:NAME_LIMIT]
    return name or "workbook.xlsx"


def stored_name(name: str) -> str:
    """``input.xlsm`` for a macro extension (refused by the reader), else ``input.xlsx``."""
    return "input.xlsm" if name.lower().endswith(MACRO_SUFFIXES) else "input.xlsx"


def run_id_from(text: str) -> str | None:
    """A run id typed or pasted as an id or as a link to a run; None when there is none."""
    text = text.strip()
    if valid_run_id(text):
        return text
    found = RUN_ID.findall(text)
    return found[-1] if found else None


def recent_runs(cookie: str | None) -> list[str]:
    """Ids of the runs this browser made, newest first (malformed entries dropped)."""
    ids = (cookie or "").split(".")
    return [i for i in dict.fromkeys(ids) if valid_run_id(i)][:RECENT_LIMIT]


def remember(cookie: str | None, run_id: str) -> str:
    """The cookie value with ``run_id`` first."""
    return ".".join([run_id, *[i for i in recent_runs(cookie) if i != run_id]][:RECENT_LIMIT])


def form_text(value: object) -> str:
    """A parameter value as the form shows it (blank for None)."""
    return "" if value is None else str(value)


def form_values(parameters: dict[str, Any]) -> dict[str, str]:
    """Parameter values as the form shows them."""
    return {k: form_text(v) for k, v in parameters.items()}


CLEARED = "blank"
"""What a form field holds for a value a run cleared: a blank field would keep the
workbook's value, so a cleared band must be written for the next run to stay free."""


def override_text(value: object) -> str:
    """An override as a form would send it again: ``blank`` for a cleared value."""
    return CLEARED if value is None else str(value)


def rerun_values(parameters: dict[str, Any], overrides: Iterable[Any]) -> dict[str, str]:
    """The "run again" form of a run: its parameters, with ``blank`` where the run cleared a
    value its scenario sets, so running it again unchanged solves the same scenario."""
    values = form_values(parameters)
    for key, value in overrides:
        if value is None:
            values[key] = CLEARED
    return values


def unique(items: Iterable[str]) -> list[str]:
    """Items in order, first occurrence kept."""
    return list(dict.fromkeys(items))
