"""The thresholds that decide what an output calls zero, even, or worth a sentence.

Each is defined here once and read by the results, the sentences, the workbook, the web
page and the terminal alike (style habits 13 and 14), so no two surfaces disagree about a
count. A later issue moves them into the output vocabulary.

There are three kinds, and they must not be confused:

- **Round-off** depends on the data. Money below ``solve.negligible(money_scale)`` is what
  the solver leaves behind, not policy: ``results.extract`` reports every per-unit money
  figure below it as exactly 0 and records the threshold on the ``Allocation`` as
  ``round_off``. Anything that counts units ("needing subsidy", "having a gap") therefore
  counts only figures above it. That function is the only test of what money is zero.
- **Roles** are policy: ``ROUGHLY_EVEN_100m`` (domain.md §7).
- **Display** is typography: ``DISPLAY_ZERO`` is half the last digit a figure is shown to.
"""

from __future__ import annotations

ROUGHLY_EVEN_100m = 5.0
"""亿元. A unit is a net contributor when its net transfer is below −5亿, a net beneficiary
when it is above +5亿, and roughly even otherwise: the split the published 2020 figures use
(7 contributors, 22 beneficiaries, 3 roughly even)."""

DISPLAY_ZERO = 0.005
"""Half the last displayed digit of a figure shown to two decimals (0.01亿, or a dual value
of 0.01亿/亿): a value smaller than this reads 0.00, so it is shown as 0, unsigned and
uncoloured. It decides display only, never a count or a role."""
