"""What a comparison swept, read from its scenarios' overrides, so its charts can follow it.

A chart joins points with a line only where they differ in one ordered parameter and in
nothing else; ``slices`` finds those runs of scenarios. The page data (``page.json``) holds
each scenario's ``overrides`` and the base's parameters, so no solve is needed here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


def _value(scenario: dict[str, Any], key: str, base: dict[str, Any]) -> Any:
    """The scenario's value of ``key``: its override, else the base's."""
    for name, value in scenario["overrides"]:
        if name == key:
            return value
    return base.get(key)


def _same(a: Any, b: Any) -> bool:
    return json.dumps(a) == json.dumps(b)


def varying_keys(scenarios: list[dict[str, Any]], base: dict[str, Any]) -> list[str]:
    """The overridden parameters that take more than one value across the scenarios (the
    base counting with its own values), in the order the overrides first name them."""
    keys: list[str] = []
    for scenario in scenarios:
        keys.extend(k for k, _ in scenario["overrides"] if k not in keys)
    return [key for key in keys if len({json.dumps(_value(s, key, base)) for s in scenarios}) > 1]


def _numeric(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass(frozen=True)
class Slice:
    """Scenarios that differ only in ``key``, one per value, in the chart's order.

    Attributes:
        key: the parameter along the x axis.
        held: the scenario whose other swept values the slice holds ("base" when it can).
        members: positions of the scenarios in the comparison, in x order.
        values: the parameter's value in each member.
        ordered: whether the values are numbers (sorted, so a line may join them); a
            blank value beside numbers is left out of the slice.
    """

    key: str
    held: str
    members: tuple[int, ...]
    values: tuple[Any, ...]
    ordered: bool


def slices(scenarios: list[dict[str, Any]], base: dict[str, Any], keys: list[str]) -> list[Slice]:
    """One slice per swept parameter, the others held at the base's values; where no
    scenario holds them there (a sweep that never returns to the base), at the first swept
    scenario's. A parameter with fewer than two values in either has no slice."""
    found = []
    for key in keys:
        others = [k for k in keys if k != key]
        for reference in (0, 1)[: len(scenarios)]:
            held = {k: _value(scenarios[reference], k, base) for k in others}
            members: list[int] = []
            values: list[Any] = []
            for i, scenario in enumerate(scenarios):
                value = _value(scenario, key, base)
                fits = all(_same(_value(scenario, k, base), held[k]) for k in others)
                if fits and not any(_same(value, v) for v in values):
                    members.append(i)
                    values.append(value)
            if len(values) >= 2:
                found.append(_sorted(key, scenarios[reference]["name"], members, values))
                break
    return found


def _sorted(key: str, held: str, members: list[int], values: list[Any]) -> Slice:
    """The slice in x order. A value left blank (no band) is no point on a numeric axis, so
    beside two or more numbers it is dropped and the numbers make a line."""
    numbers = [(v, m) for v, m in zip(values, members, strict=True) if _numeric(v)]
    if len(numbers) >= 2 and all(_numeric(v) or v is None for v in values):
        values, members = [v for v, _ in numbers], [m for _, m in numbers]
    ordered = all(_numeric(v) for v in values)
    pairs = (
        sorted(zip(values, members, strict=True))
        if ordered
        else list(zip(values, members, strict=True))
    )
    return Slice(
        key,
        held,
        tuple(m for _, m in pairs),
        tuple(v for v, _ in pairs),
        ordered,
    )


def line_slice(
    scenarios: list[dict[str, Any]], base: dict[str, Any], keys: list[str]
) -> Slice | None:
    """The slice to draw as lines when the whole comparison is one line: a single swept
    parameter with numeric values, every scenario's value on it (the base, which repeats
    one of the swept values, included). ``None`` when the scenarios need bars."""
    cuts = slices(scenarios, base, keys)
    if len(keys) != 1 or not cuts or not cuts[0].ordered:
        return None
    cut = cuts[0]
    if all(any(_same(_value(s, cut.key, base), v) for v in cut.values) for s in scenarios):
        return cut
    return None
