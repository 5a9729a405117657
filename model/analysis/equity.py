"""Equity metrics of docs/formulation.md §6: spread of reserve months, Gini and Theil T.

Every function takes plain arrays and returns a ``Metric``, whose ``value`` is None with a
``note`` saying why when the metric is undefined (for example Theil with a non-positive
resource), so reports say so plainly instead of printing NaN.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from model.vocabulary import EQUITY_METRICS

METRICS: tuple[str, ...] = tuple(EQUITY_METRICS)
"""The metrics in table order; their labels and meanings are ``vocabulary.EQUITY_METRICS``."""


@dataclass(frozen=True)
class Metric:
    """A metric's value, or None and the reason it is undefined."""

    value: float | None
    note: str = ""


def months_metrics(months: np.ndarray, national_months: float) -> dict[str, Metric]:
    """Min, max, range, MAD from the national months, and CV of reserve months."""
    if months.size == 0:
        empty = Metric(None, "no units")
        return {
            k: empty
            for k in ("months_min", "months_max", "months_range", "months_mad", "months_cv")
        }
    mean = float(months.mean())
    cv = (
        Metric(float(months.std()) / mean)
        if mean > 0
        else Metric(None, "undefined: mean reserve months is not positive")
    )
    return {
        "months_min": Metric(float(months.min())),
        "months_max": Metric(float(months.max())),
        "months_range": Metric(float(months.max() - months.min())),
        "months_mad": Metric(float(np.abs(months - national_months).mean())),
        "months_cv": cv,
    }


def gini(values: np.ndarray) -> Metric:
    """Gini coefficient with equal unit weights: ``Σ_i Σ_j |x_i − x_j| / (2 n² x̄)``."""
    if values.size == 0:
        return Metric(None, "no units")
    if np.any(values < 0):
        return Metric(None, "undefined: a unit has negative resources per retiree")
    mean = float(values.mean())
    if mean <= 0:
        return Metric(None, "undefined: mean resources per retiree is zero")
    ordered = np.sort(values)
    n = ordered.size
    ranks = np.arange(1, n + 1)
    return Metric(float((2.0 * (ranks * ordered).sum() / (n * ordered.sum())) - (n + 1) / n))


def theil(values: np.ndarray, groups: np.ndarray) -> dict[str, Metric]:
    """Theil T with its decomposition over ``groups`` (equal unit weights).

    ``T = (1/n) Σ (x_i/x̄) ln(x_i/x̄)``; ``T_between = Σ_g (n_g/n)(x̄_g/x̄) ln(x̄_g/x̄)``;
    ``T_within = Σ_g (n_g/n)(x̄_g/x̄) T_g``, so ``T = T_between + T_within``.
    """
    keys = ("theil", "theil_between", "theil_within")
    if values.size == 0:
        return dict.fromkeys(keys, Metric(None, "no units"))
    if np.any(values <= 0):
        return dict.fromkeys(
            keys, Metric(None, "undefined: a unit has zero or negative resources per retiree")
        )
    mean = float(values.mean())
    total = float(np.mean(values / mean * np.log(values / mean)))
    n = values.size
    between = 0.0
    within = 0.0
    for group in np.unique(groups):
        members = values[groups == group]
        share = members.size / n * float(members.mean()) / mean
        group_mean = float(members.mean())
        between += share * np.log(group_mean / mean)
        within += share * float(np.mean(members / group_mean * np.log(members / group_mean)))
    return {
        "theil": Metric(total),
        "theil_between": Metric(float(between)),
        "theil_within": Metric(float(within)),
    }


def equity_metrics(
    months: np.ndarray,
    national_months: float,
    resources: np.ndarray,
    retirees: np.ndarray,
    regions: np.ndarray,
) -> dict[str, Metric]:
    """Every metric of docs/formulation.md §6 for one state (before, rule or optimised).

    Args:
        months: reserve months per unit.
        national_months: ``12 Σ closing / Σ expenditure``.
        resources: the year's available resources per unit in 亿元.
        retirees: retirees per unit in 万人; resources per retiree is resources/retirees.
        regions: the region of each unit.
    """
    per_retiree = resources / retirees
    metrics = months_metrics(months, national_months)
    metrics["gini"] = gini(per_retiree)
    metrics.update(theil(per_retiree, regions))
    return metrics
