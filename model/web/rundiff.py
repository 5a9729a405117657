"""Two earlier runs side by side, from their stored ``result.json`` files.

The runs may come from different workbooks, so provinces are matched by code and a
province missing from one run shows blanks rather than a zero that was never computed.
"""

from __future__ import annotations

from typing import Any

from model.vocabulary import FIGURES

FIGURE_KEYS: tuple[str, ...] = ("net_transfer_100m", "subsidy_100m", "months_optimized")
"""The per-unit figures compared, headed by ``vocabulary.FIGURES``."""
TOTAL_KEYS: tuple[str, ...] = (
    "fund_100m",
    "local_subsidy_100m",
    "central_subsidy_100m",
    "unfunded_gap_100m",
)


def _figure(province: dict[str, Any], key: str) -> float | None:
    if key == "subsidy_100m":
        local, central = province.get("local_subsidy_100m"), province.get("central_subsidy_100m")
        return None if local is None or central is None else float(local) + float(central)
    value = province.get(key)
    return None if value is None else float(value)


def change(a: float | None, b: float | None) -> float | None:
    """``b − a``, or None when either is missing."""
    return None if a is None or b is None else b - a


def diff_runs(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Parameters, totals and per-province figures of run ``a`` and run ``b``, with changes."""
    pa, pb = a.get("parameters", {}), b.get("parameters", {})
    parameters = [
        {"key": k, "a": pa.get(k), "b": pb.get(k), "differs": pa.get(k) != pb.get(k)}
        for k in dict.fromkeys([*pa, *pb])
    ]
    ta, tb = a.get("totals", {}), b.get("totals", {})
    totals = [
        {
            "label": FIGURES[k].text,
            "a": ta.get(k),
            "b": tb.get(k),
            "change": change(ta.get(k), tb.get(k)),
        }
        for k in TOTAL_KEYS
    ]
    by_code_a = {str(p["code"]): p for p in a.get("provinces", [])}
    by_code_b = {str(p["code"]): p for p in b.get("provinces", [])}
    rows = []
    for code in sorted(set(by_code_a) | set(by_code_b)):
        pa_, pb_ = by_code_a.get(code, {}), by_code_b.get(code, {})
        cells = []
        for key in FIGURE_KEYS:
            va, vb = _figure(pa_, key), _figure(pb_, key)
            cells.append({"a": va, "b": vb, "change": change(va, vb)})
        rows.append(
            {"code": code, "name_zh": pa_.get("name_zh") or pb_.get("name_zh", ""), "cells": cells}
        )
    rows.sort(key=lambda r: -abs(r["cells"][0]["change"] or 0.0))
    return {
        "parameters": parameters,
        "totals": totals,
        "figures": [FIGURES[key].text for key in FIGURE_KEYS],
        "rows": rows,
        "status": (a.get("status"), b.get("status")),
    }
