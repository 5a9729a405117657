"""The equity–rule frontier in a planner's terms: what each step towards equity moves.

Free transfers with ``maximin`` can move several times the money the rule moves. The
frontier (docs/formulation.md §4) shows the price of equity rather than one extreme point:
for imbalance targets from the allocation nearest the rule (``e₀``) to the imbalance
optimum (``e*``), the least distance to the rule, the money moved between units, the
lowest reserve months and the number of net contributors. The knee is the point after
which each extra month for the worst-off unit costs the most reallocation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from model.lp.formulation import Coefficients
from model.lp.solve import FrontierSolution
from model.schema import MONTHS_PER_YEAR
from model.vocabulary import ROUGHLY_EVEN_100m

DEFAULT_POINTS = 11
"""Points on the frontier of every ``caf run`` unless told otherwise."""
LARGE_MODEL_UNITS = 1000
"""From this many units the frontier is off unless asked for: each point is one more solve
of the rule-distance level, seconds each at county scale."""


def default_points(units: int, asked: int | None = None) -> int:
    """The frontier's points: as asked (0 turns it off), else the default below county
    scale."""
    if asked is not None:
        return max(0, asked)
    return DEFAULT_POINTS if units < LARGE_MODEL_UNITS else 0


@dataclass(frozen=True)
class FrontierPoint:
    """One point of the frontier.

    Attributes:
        imbalance: the imbalance reached (the equity level's measure; for ``maximin`` minus
            the lowest months).
        rule_distance_100m: ``Σ |a − rule|``, minimised at this imbalance.
        moved_100m: money moved between units, ``Σ |a − contribution| / 2``.
        lowest_months: the worst-off unit's reserve months.
        contributors: units handing up more than they get back by over 5亿.
    """

    imbalance: float
    rule_distance_100m: float
    moved_100m: float
    lowest_months: float
    contributors: int

    def to_json(self) -> dict[str, Any]:
        """The JSON point of docs/outputs.md."""
        return {
            "imbalance": self.imbalance,
            "rule_distance_100m": self.rule_distance_100m,
            "moved_100m": self.moved_100m,
            "lowest_months": self.lowest_months,
            "contributors": self.contributors,
        }


@dataclass(frozen=True)
class Frontier:
    """The frontier of one run, from nearest the rule to the run's own optimum.

    Attributes:
        points: ordered from ``e₀`` (nearest the rule) to ``e*`` (the run itself).
        knee: the index of the knee, or None with fewer than three points or no rise in
            the lowest months to price.
        rule_moved_100m: what the statutory rule itself moves, for the chart's mark.
        rule_lowest_months: the worst-off unit's months under the rule.
    """

    points: tuple[FrontierPoint, ...]
    knee: int | None
    rule_moved_100m: float
    rule_lowest_months: float

    def slope(self, index: int) -> float | None:
        """亿 moved per extra month for the worst-off unit, from point ``index`` to the next."""
        if index < 0 or index + 1 >= len(self.points):
            return None
        a, b = self.points[index], self.points[index + 1]
        months = b.lowest_months - a.lowest_months
        return (b.moved_100m - a.moved_100m) / months if months > 1e-6 else None


def frontier(coeffs: Coefficients, solutions: tuple[FrontierSolution, ...]) -> Frontier:
    """Price each frontier solution and find the knee."""
    points = tuple(_point(coeffs, s) for s in solutions)
    rule_closing = coeffs.held + coeffs.rule_allocation
    rule_moved = float(np.abs(coeffs.rule_allocation - coeffs.contribution).sum() / 2)
    rule_months = float((MONTHS_PER_YEAR * rule_closing / coeffs.expenditure).min())
    shell = Frontier(points, None, rule_moved, rule_months)
    return Frontier(points, _knee(shell), rule_moved, rule_months)


def _point(coeffs: Coefficients, solution: FrontierSolution) -> FrontierPoint:
    transfer = solution.values["transfer"]
    subsidy = solution.values["local_subsidy"] + solution.values["central_subsidy"]
    net = transfer - coeffs.contribution
    closing = coeffs.held + transfer + subsidy
    return FrontierPoint(
        imbalance=float(solution.imbalance),
        rule_distance_100m=float(solution.rule_distance),
        moved_100m=float(np.abs(net).sum() / 2),
        lowest_months=float((MONTHS_PER_YEAR * closing / coeffs.expenditure).min()),
        contributors=int((net < -ROUGHLY_EVEN_100m).sum()),
    )


KNEE_RISE = 1.5
"""A knee is named only where a month for the worst-off unit costs at least half as much
again after the point as before it; a gently curving frontier has no knee worth naming."""


def _knee(shell: Frontier) -> int | None:
    """The point where the price of a month for the worst-off unit rises most: the largest
    ratio of the slope after a point to the slope before it, if at least ``KNEE_RISE``."""
    best, knee = KNEE_RISE, None
    for index in range(1, len(shell.points) - 1):
        before, after = shell.slope(index - 1), shell.slope(index)
        if before is None or after is None or before <= 1e-9:
            continue
        if after / before >= best:
            best, knee = after / before, index
    return knee
