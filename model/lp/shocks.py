"""Growth shocks of the plan under uncertainty: how far draw ``n`` moves every unit's rate of
every driver in every year after the base year (docs/formulation.md, the plan under
uncertainty):

``g_{n,p,d,t} = ĝ_{p,d} + σ_d · (ρ · z_{n,d,t} + √(1−ρ²) · ε_{n,p,d,t})``, with
``z, ε ~ N(0,1)`` independent: ``z`` the national shock all units share that year, ``ε``
each unit's own. The combined shock has variance ``σ_d²`` whatever ``ρ``.

Draw ``n`` is a function of ``(seed, n)`` alone: its generator is seeded with the pair
(NumPy's ``SeedSequence``), never drawn from a stream shared with other draws, so the
results do not depend on how draws are split among workers or batches.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from model.schema import GROWTH_DRIVERS
from model.workbook.scenarios import Parameters

SD_KEYS: tuple[str, ...] = tuple(f"{driver}_sd" for driver in GROWTH_DRIVERS)
"""Each driver's shock s.d. parameter, in the order of ``GROWTH_DRIVERS``."""


@dataclass(frozen=True)
class ShockModel:
    """The law of the growth shocks.

    Attributes:
        seed: fixes every draw.
        sigma: each driver's s.d. ``σ_d``, in the order of ``GROWTH_DRIVERS``.
        correlation: ``ρ``, the weight of the national shock.
    """

    seed: int
    sigma: tuple[float, ...]
    correlation: float

    @classmethod
    def of(cls, parameters: Parameters) -> ShockModel:
        """The shocks a scenario's parameters describe."""
        return cls(
            seed=int(parameters.seed),
            sigma=tuple(float(getattr(parameters, key)) for key in SD_KEYS),
            correlation=float(parameters.shock_correlation),
        )

    @property
    def certain(self) -> bool:
        """Whether every s.d. is 0: each draw is then the deterministic plan."""
        return not any(self.sigma)

    def draw(self, n: int, years: int, units: int) -> np.ndarray:
        """Draw ``n``'s shocks, shape (years, units, drivers); the base year's row is 0,
        since the base year is the workbook itself.

        The national shocks ``z`` (years − 1 × drivers) are drawn first, then the units'
        own ``ε`` (years − 1 × units × drivers), always in that order.
        """
        rng = np.random.default_rng([self.seed, n])
        later = years - 1
        drivers = len(self.sigma)
        national = rng.standard_normal((later, drivers))
        own = rng.standard_normal((later, units, drivers))
        rho = self.correlation
        mixed = rho * national[:, None, :] + math.sqrt(max(0.0, 1.0 - rho * rho)) * own
        shocks = np.zeros((years, units, drivers))
        shocks[1:] = np.asarray(self.sigma)[None, None, :] * mixed
        return shocks
