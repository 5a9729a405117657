"""Reading one cell's value against its field in the data dictionary.

Shared by the workbook reader, the scenario overrides (``--set``, ``--sweep``, the web
form) so that a bad value is described in the same words wherever it comes from.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

from model.schema import Field


@dataclass(frozen=True)
class Uncached:
    formula: str


def blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def column_letter(index: int) -> str:
    """1 → A, 27 → AA."""
    letters = ""
    while index > 0:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def coerce_cell(field: Field, raw: object) -> tuple[Any, tuple[str, str] | None]:
    """Read one value for ``field``: (value, None) or (None, (what was found, the fix)).

    Blank cells take the default of optional fields. Text that reads entirely as a number
    is accepted, since ``--set`` and web forms deliver text.
    """
    expected = f"expected {field.expected}"
    if isinstance(raw, Uncached):
        return None, (
            f"found the formula {raw.formula} with no saved value",
            "open and save the workbook in Excel so the value is calculated, or type the value",
        )
    if blank(raw):
        if field.required:
            return None, ("found a blank cell", f"{expected}; fill it in")
        return field.default, None
    if field.kind == "text":
        return text_of(raw), None
    if field.kind == "choice":
        text = text_of(raw)
        for choice in field.choices:
            if text.casefold() == choice.casefold():
                return choice, None
        return None, (f'found "{text}"', expected)
    number = _number(raw)
    if number is None:
        shown = raw.isoformat() if isinstance(raw, dt.date | dt.datetime) else raw
        return None, (f'found "{shown}"', expected)
    if field.kind == "integer":
        if number != int(number):
            return None, (f'found "{raw}"', expected)
        number = int(number)
    return _bounded(field, number, raw)


def _bounded(field: Field, number: float, raw: object) -> tuple[Any, tuple[str, str] | None]:
    expected = f"expected {field.expected}"
    if field.minimum is not None and number < field.minimum:
        if field.minimum < 0:
            what = f"found {_fmt(number)}, below the minimum {_fmt(field.minimum)}"
        else:
            what = (
                f"found {_fmt(number)}, a negative value" if number < 0 else f"found {_fmt(number)}"
            )
        return None, (what, expected)
    if field.positive and number == 0:
        return None, ("found 0, which makes no sense here", expected)
    if field.maximum is not None and number > field.maximum:
        if field.fraction and number <= 100:
            return None, (
                f"found {_fmt(number)}, which looks like a percentage",
                f"{expected}: write {_fmt(number / 100)} for {_fmt(number)}%",
            )
        return None, (f"found {_fmt(number)}, above the maximum {_fmt(field.maximum)}", expected)
    return number, None


def _fmt(number: float) -> str:
    return f"{number:g}"


def text_of(raw: object) -> str:
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    return str(raw).strip()


def _number(raw: object) -> float | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int | float):
        return float(raw) if math.isfinite(raw) else None
    if isinstance(raw, str):
        try:
            value = float(raw.strip())
        except ValueError:
            return None
        return value if math.isfinite(value) else None
    return None
