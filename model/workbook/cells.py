"""Reading one cell's value against its field in the data dictionary.

Shared by the workbook reader, the scenario overrides (``--set``, ``--sweep``, the web
form) so that a bad value is described in the same words wherever it comes from.

Text is NFKC-normalised here, once, before anything else looks at it: a full-width
``５０００．０`` or a code typed as ``２３`` on a Chinese keyboard reads exactly as its
half-width spelling, so the same figure can never be accepted in one cell and refused (or
made a new code) in the next.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from model.errors import Problem
from model.schema import CEILINGS, Field


@dataclass(frozen=True)
class Uncached:
    formula: str


@dataclass(frozen=True)
class Fault:
    """Why one value was refused, in both languages; the caller adds where and what field."""

    what: str
    fix: str
    what_zh: str
    fix_zh: str

    def at(self, where: str, about: str, about_zh: str) -> Problem:
        """The located problem; ``about`` (``in retirees_10k``) and ``about_zh``
        (``“离退休人数”列``) name the field as the planner wrote it."""
        return Problem(
            where, f"{self.what} {about}", self.fix, f"{about_zh}：{self.what_zh}", self.fix_zh
        )


def normalise_text(value: str) -> str:
    """NFKC-fold text (full-width digits, letters and punctuation become half-width)."""
    return unicodedata.normalize("NFKC", value)


BLANK_WORDS: frozenset[str] = frozenset({"blank", "none", "空", "留空", "无"})
"""Written where a blank cell would inherit (a scenario, ``--sweep``, the web form), these
mean "blank" itself: no band, no guardrail. Only fields whose blank means "none" take them."""


def _says_blank(text: str) -> bool:
    return normalise_text(text).strip().casefold() in BLANK_WORDS


def blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and normalise_text(value).strip() == "")


def column_letter(index: int) -> str:
    """1 → A, 27 → AA."""
    letters = ""
    while index > 0:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def coerce_cell(field: Field, raw: object) -> tuple[Any, Fault | None]:
    """Read one value for ``field``: (value, None) or (None, the fault).

    Blank cells take the default of optional fields. Text that reads entirely as a number
    is accepted, since ``--set`` and web forms deliver text; so are thousands separators
    (``1,234.5``) and, for fractions, a percent sign (``4%`` is 0.04).
    """
    expected, expected_zh = f"expected {field.expected}", f"应为{field.expected_zh}"
    if isinstance(raw, Uncached):
        return None, Fault(
            f"found the formula {raw.formula} with no saved value",
            "open and save the workbook in Excel so the value is calculated, or type the value",
            f"公式 {raw.formula} 没有保存的计算结果",
            "请在 Excel 中打开并保存工作簿以计算该值，或直接填写数值",
        )
    if isinstance(raw, str):
        raw = normalise_text(raw)
    if isinstance(raw, str) and _says_blank(raw) and not field.required and field.default is None:
        return None, None
    if blank(raw):
        if field.required:
            return None, Fault(
                "found a blank cell",
                f"{expected}; fill it in",
                "单元格为空",
                f"{expected_zh}，请填写",
            )
        return field.default, None
    if field.kind == "text":
        return text_of(raw), None
    if field.kind == "choice":
        text = text_of(raw)
        choice = field.choice_of(text)
        if choice is None:
            return None, Fault(f'found "{text}"', expected, f"发现“{text}”", expected_zh)
        return choice, None
    number = _number(raw, field.fraction)
    if number is None:
        shown = raw.isoformat() if isinstance(raw, dt.date | dt.datetime) else raw
        return None, Fault(f'found "{shown}"', expected, f"发现“{shown}”", expected_zh)
    if field.kind == "integer":
        if number != int(number):
            return None, Fault(f'found "{raw}"', expected, f"发现“{raw}”", expected_zh)
        number = int(number)
    return _bounded(field, number)


def _bounded(field: Field, number: float) -> tuple[Any, Fault | None]:
    expected, expected_zh = f"expected {field.expected}", f"应为{field.expected_zh}"
    shown = _fmt(number)
    if field.minimum is not None and number < field.minimum:
        if field.minimum < 0:
            what = f"found {shown}, below the minimum {_fmt(field.minimum)}"
            what_zh = f"发现 {shown}，低于下限 {_fmt(field.minimum)}"
        elif number < 0:
            what, what_zh = f"found {shown}, a negative value", f"发现负数 {shown}"
        else:
            what, what_zh = f"found {shown}", f"发现 {shown}"
        return None, Fault(what, expected, what_zh, expected_zh)
    if field.positive and number == 0:
        return None, Fault(
            "found 0, which makes no sense here", expected, "发现 0，此处不能为零", expected_zh
        )
    if field.maximum is not None and number > field.maximum:
        if field.fraction and 1 <= number <= 100:
            share = _fmt(number / 100)
            return None, Fault(
                f"found {shown}, which looks like a percentage",
                f"{expected}: write {share} for {shown}%",
                f"发现 {shown}，像是百分数",
                f"{expected_zh}：{shown}% 应写作 {share}",
            )
        if field.unit in CEILINGS:
            # Beyond the ceiling of its unit a figure is a unit slip, not a big number.
            expected += f"; check the unit: this column is in {field.unit}"
            expected_zh += f"；请核对计量单位：本列以{field.unit}计"
        return None, Fault(
            f"found {shown}, above the maximum {_fmt(field.maximum)}",
            expected,
            f"发现 {shown}，高于上限 {_fmt(field.maximum)}",
            expected_zh,
        )
    return number, None


def _fmt(number: float) -> str:
    return f"{number:g}"


def text_of(raw: object) -> str:
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    text = normalise_text(raw) if isinstance(raw, str) else str(raw)
    return text.strip()


_THOUSANDS = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?")


def _number(raw: object, fraction: bool = False) -> float | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int | float):
        return float(raw) if math.isfinite(raw) else None
    if isinstance(raw, str):
        text = normalise_text(raw).strip()
        scale = 1.0
        if fraction and text.endswith("%"):
            text, scale = text[:-1].strip(), 100.0
        if _THOUSANDS.fullmatch(text):
            text = text.replace(",", "")
        try:
            value = float(text) / scale
        except ValueError:
            return None
        return value if math.isfinite(value) else None
    return None
