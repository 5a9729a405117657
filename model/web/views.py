"""Jinja templates and the filters that format figures on a page.

Autoescaping is always on: province and scenario names are planners' text and must never
become markup. Chart data goes into ``<script type="application/json">`` through the
``tojson`` filter, which escapes ``<``, ``>`` and ``&``.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup, escape
from starlette.responses import HTMLResponse

from model import __version__
from model.schema import PARAMETER_FIELDS
from model.vocabulary import (
    BENEFICIARY,
    CONTRIBUTOR,
    DISPLAY_ZERO,
    EQUITY_METRICS,
    EVEN,
    FIGURES,
    MONTHS,
    NEVER,
    ROLES,
    SHORT_STATUSES,
    STATES,
    STATUSES,
    UNITS,
    ROUGHLY_EVEN_100m,
)
from model.web.plan_charts import heat_class

TEMPLATES = Path(__file__).with_name("templates")
ROLE_CLASSES = {CONTRIBUTOR: "neg", BENEFICIARY: "pos", EVEN: "zero"}
"""A net transfer is coloured by its role (``vocabulary.ROUGHLY_EVEN_100m``), as in the
workbook, so a few 亿 either way read as even rather than as a gain or a loss."""


def number(value: Any, digits: int = 2) -> str:
    """``1,234.56`` with a true minus sign; a dash for an undefined value."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "是 yes" if value else "否 no"
    if isinstance(value, int | float):
        if round(value, digits) == 0:
            value = 0.0  # −0.04 shown to one decimal is 0.0, not −0.0
        return f"{value + 0.0:,.{digits}f}".replace("-", "−")
    return str(value)


def signed(value: Any, digits: int = 2) -> str:
    """``+1,234.56`` or ``−12.00``; a change that rounds to nothing has no sign."""
    if value is None:
        return "—"
    if round(value, digits) == 0:
        return f"{0.0:.{digits}f}"
    return f"{value + 0.0:+,.{digits}f}".replace("-", "−")


def breakable(text: Any) -> Markup:
    """Escaped text that may wrap after ``=``, ``_`` and ``,`` (long scenario names)."""
    parts = re.split(r"(?<=[=_,])", str(text))
    return Markup("<wbr>").join(escape(part) for part in parts)


def sign_class(value: Any) -> str:
    """A CSS class for positive and negative figures; one that reads 0.00 has none."""
    if value is None or abs(value) < DISPLAY_ZERO:
        return "zero"
    return "pos" if value > 0 else "neg"


def percent(value: Any) -> str:
    """A ratio as a percentage: ``4.5%``; a dash for an undefined value."""
    return "—" if value is None else f"{value * 100:.4g}%"


def figure(value: Any, key: str) -> str:
    """A figure of the plan's national table, to the digits its unit deserves: a ratio as a
    percentage, months to one decimal, counts whole, money to two decimals."""
    if key == "contribution_ratio":
        return percent(value)
    unit = FIGURES[key].unit if key in FIGURES else ""
    return number(value, {MONTHS: 1, UNITS: 0}.get(unit, 2))


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        number=number,
        signed=signed,
        sign_class=sign_class,
        breakable=breakable,
        percent=percent,
        figure=figure,
        heat=heat_class,
    )
    env.globals.update(
        version=__version__,
        parameter_fields=PARAMETER_FIELDS,
        figures=FIGURES,
        states=STATES,
        statuses=STATUSES,
        short_statuses=SHORT_STATUSES,
        roles=ROLES,
        metrics=EQUITY_METRICS,
        role_classes=ROLE_CLASSES,
        roughly_even=ROUGHLY_EVEN_100m,
        never=NEVER,
        parameter_labels={f.key: f.label for f in PARAMETER_FIELDS},
    )
    return env


ENVIRONMENT = _environment()


def render(name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render a template into an HTML response."""
    context.setdefault("token_required", False)
    html = ENVIRONMENT.get_template(name).render(**context)
    return HTMLResponse(html, status_code=status_code)


PAGES_AT_ONCE = 1
"""Result pages built at once. Loading and rendering a page of 20,000 units holds the GIL
for seconds; threads cannot share it faster, and every one more of them slows the event
loop's turn (``/healthz``, uploads) further. So they take turns."""
_PAGES = threading.BoundedSemaphore(PAGES_AT_ONCE)
Handler = TypeVar("Handler", bound=Callable[..., Any])


def page_handler(handler: Handler) -> Handler:
    """Mark a route that loads and renders a stored result: a plain function, which FastAPI
    runs on a thread (never on the event loop), one such page at a time."""

    @functools.wraps(handler)
    def in_turn(*args: Any, **kwargs: Any) -> Any:
        with _PAGES:
            return handler(*args, **kwargs)

    return in_turn  # type: ignore[return-value]
