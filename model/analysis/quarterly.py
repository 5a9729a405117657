"""The year's fund as quarterly advances and a year-end settlement (国发〔2018〕18号).

The fund moves quarterly as advances (预拨) and is settled at year end (年终清算). Each unit's
advance in each quarter is ``advance_share × annual net transfer``; the settlement is what
is left, ``annual net transfer − Σ advances``, which is zero when each quarter advances a
quarter of the year.
"""

from __future__ import annotations

import pandas as pd

from model.analysis.results import Allocation
from model.vocabulary import DISPLAY_ZERO

QUARTERS: tuple[str, ...] = ("q1", "q2", "q3", "q4")
ADVANCE_SHARE = 0.25
"""Default share of the annual net transfer advanced in each quarter."""

ADVANCE_KEYS: tuple[str, ...] = tuple(f"advance_{q}_100m" for q in QUARTERS)
MONEY_KEYS: tuple[str, ...] = (
    "contribution_100m",
    "allocation_100m",
    "net_transfer_100m",
    *ADVANCE_KEYS,
    "settlement_100m",
)


def quarterly_schedule(
    allocation: Allocation, advance_share: float = ADVANCE_SHARE
) -> pd.DataFrame:
    """One row per unit: annual flows, the four quarterly advances and the settlement.

    Args:
        allocation: the solved allocation.
        advance_share: the share of the annual net transfer advanced in each quarter.

    Returns:
        A frame indexed by code with ``code``, ``name_zh``, ``name_en`` and the money
        columns of ``MONEY_KEYS`` (亿元).
    """
    table = allocation.table
    schedule = table[["code", "name_zh", "name_en"]].copy()
    schedule["contribution_100m"] = table["contribution_100m"]
    schedule["allocation_100m"] = table["allocation_100m"]
    net = table["net_transfer_100m"]
    schedule["net_transfer_100m"] = net
    for key in ADVANCE_KEYS:
        schedule[key] = advance_share * net
    # net × (1 − 4 × share) is net − Σ advances without round-off (and never −0.0).
    schedule["settlement_100m"] = net * (1.0 - len(QUARTERS) * advance_share) + 0.0
    return schedule


def schedule_totals(schedule: pd.DataFrame) -> dict[str, float]:
    """Column totals of the money columns; the net columns sum to 0 as the fund balances,
    so a total that would read ±0.00 (``thresholds.DISPLAY_ZERO``) is shown as 0."""
    totals = {}
    for key in MONEY_KEYS:
        total = float(schedule[key].sum())
        totals[key] = 0.0 if abs(total) < DISPLAY_ZERO else total
    return totals
