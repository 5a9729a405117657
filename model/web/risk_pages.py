"""What the plan-under-uncertainty page shows, as plain data (``page.json``), computed once
in the worker from the ``RiskResult``; the page only lays it out.

A run's risk page has one scenario: the run's own policy, over its draws.
"""

from __future__ import annotations

from typing import Any

from model.analysis.risk import FAN, MONEY, REGIMES, RiskResult
from model.analysis.risk_narrative import risk_sentences
from model.lp.shocks import SD_KEYS
from model.web.risk_charts import BINS


def probability_class(probability: float) -> str:
    """The heat class of a probability of running out (``risk_charts.BINS``)."""
    for upper, css, _ in BINS:
        if probability <= upper:
            return css
    return BINS[-1][1]


UNIT_ORDER = "rule"
"""Units are listed by their probability of running out under the statutory rule by the
horizon's end, the likeliest first: what a ministry reads first."""


def risk_page(result: RiskResult) -> dict[str, Any]:
    """The page data of a run's plan under uncertainty (its single scenario)."""
    risk = result.scenarios[0]
    last = risk.years[-1]
    units: list[dict[str, Any]] = [
        {
            "code": code,
            "name_zh": name,
            "gap_probability": float(risk.unit_gap_probability[code]),
            **{
                f"{regime}_by_end": float(risk.depletion[regime].at[code, last])
                for regime in REGIMES
            },
            "rule_by_year": [
                [float(p), probability_class(float(p))]
                for p in risk.depletion["rule"].loc[code].tolist()
            ],
        }
        for code, name in zip(risk.codes, risk.names, strict=True)
    ]
    units.sort(key=lambda u: (-u[f"{UNIT_ORDER}_by_end"], -u["before_by_end"], u["code"]))
    return {
        "scenario": risk.scenario,
        "source": {"name": result.source.name, "sha256": result.source.sha256},
        "years": list(risk.years),
        "draws": risk.draws,
        "solved": risk.solved,
        "failed": [[n, reason] for n, reason in risk.failed[:20]],
        "failed_count": len(risk.failed),
        "seed": result.seed,
        "correlation": result.correlation,
        "sigma": dict(zip(SD_KEYS, result.sigma, strict=True)),
        "seconds": round(result.seconds, 1),
        "gap_probability": risk.gap_probability,
        "money": {
            key: {column: float(risk.money.at[key, column]) for column in risk.money.columns}
            for key in MONEY
        },
        "national_depletion": [
            [None if year is None else int(year), float(p)]
            for year, p in risk.national_depletion.items()
            if p > 0
        ],
        "fan": {
            "plan": {f"p{q}": risk.fan_plan[f"p{q}"].tolist() for q in FAN},
            "before": {f"p{q}": risk.fan_before[f"p{q}"].tolist() for q in FAN},
        },
        "units": units,
        "summary": [list(line) for line in risk_sentences(result)],
    }
