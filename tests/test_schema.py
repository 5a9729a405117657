"""The data dictionary is consistent, and docs/inputs.md's tables follow it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from model.schema import (
    ACCEPT_UNUSUAL,
    CONTRIBUTION_RATIO_MAX,
    GROWTH_DRIVERS,
    GROWTH_MAX,
    GROWTH_SD_MAX,
    PARAMETER_FIELDS,
    PROVINCE_FIELDS,
    Field,
    header_aliases,
    normalise_header,
)
from model.workbook.plan_fields import SHEET_FIELDS

INPUTS_DOC = Path(__file__).resolve().parent.parent / "docs" / "inputs.md"


def _row(field: Field) -> str:
    if field.required:
        required = "yes"
    elif field.default in (None, ""):
        required = "no (blank)"
    elif isinstance(field.default, float):
        required = f"no ({field.default:g})"
    else:
        required = f"no ({field.default})"
    return f"| `{field.key}` | {field.label} | {required} | {field.expected} |"


def _readme_table(name: str) -> list[str]:
    text = INPUTS_DOC.read_text(encoding="utf-8")
    match = re.search(rf"<!-- input-table:{name} -->\n(.*?)<!-- /input-table -->", text, re.S)
    assert match, f"docs/inputs.md has no input-table:{name} block"
    return [line for line in match.group(1).splitlines()[2:] if line.strip()]


@pytest.mark.parametrize(
    ("name", "fields"),
    [
        ("provinces", PROVINCE_FIELDS),
        ("parameters", PARAMETER_FIELDS),
        *SHEET_FIELDS.items(),
    ],
)
def test_readme_input_table_matches_schema(name: str, fields: tuple[Field, ...]) -> None:
    assert _readme_table(name) == [_row(f) for f in fields]


def test_keys_carry_their_unit() -> None:
    for field in PROVINCE_FIELDS + PARAMETER_FIELDS:
        if field.unit == "亿元":
            assert field.key.endswith("_100m")
        if field.unit == "万人":
            assert field.key.endswith("_10k")
        if field.unit == "元":
            assert field.key.endswith("_yuan")


def test_every_spelling_of_a_header_maps_to_its_key() -> None:
    aliases = header_aliases(PROVINCE_FIELDS)
    for field in PROVINCE_FIELDS:
        assert aliases[normalise_header(field.key)] == field.key
        assert aliases[normalise_header(field.label)] == field.key
        assert aliases[normalise_header(field.zh)] == field.key
        assert aliases[normalise_header(field.label.upper())] == field.key


def test_labels_are_unique() -> None:
    for fields in (PROVINCE_FIELDS, PARAMETER_FIELDS, *SHEET_FIELDS.values()):
        labels = [normalise_header(f.label) for f in fields]
        assert len(set(labels)) == len(labels)


RATIOS = ("contribution_ratio", "ratio_max", "ratio_step_max")
"""The contribution ratio and the bounds of an optimised ratio path."""


def test_fractions_are_bounded_by_one() -> None:
    """Every share lies in 0..1; a contribution ratio (and the ceiling and yearly step of an
    optimised path) is held tighter, at 0.2, since a ratio above the pension contribution
    rate itself is a typo, not a policy; an annual growth rate may fall as well as rise, by
    at most GROWTH_MAX, so that 3 typed for 3% is read as the percentage slip it is."""
    for field in PROVINCE_FIELDS + PARAMETER_FIELDS:
        if not field.fraction:
            continue
        if field.key in GROWTH_DRIVERS:
            assert (field.minimum, field.maximum) == (-GROWTH_MAX, GROWTH_MAX), field.key
        elif field.key in RATIOS:
            assert (field.minimum, field.maximum) == (0, CONTRIBUTION_RATIO_MAX), field.key
        elif field.key.endswith("_growth_sd"):  # a shock's s.d.: 1 typed for 1% is refused
            assert (field.minimum, field.maximum) == (0, GROWTH_SD_MAX), field.key
        else:
            assert (field.minimum, field.maximum) == (0, 1), field.key


def test_every_fraction_is_bounded_by_a_rule() -> None:
    """The rules above cover the four growth drivers and the three ratios, all fractions."""
    by_key = {f.key: f for f in PARAMETER_FIELDS}
    assert all(by_key[key].fraction for key in (*GROWTH_DRIVERS, *RATIOS))
    assert GROWTH_MAX < 1  # 1% typed as 1 must fall outside the bound


def test_every_field_says_what_it_expects_in_both_languages() -> None:
    plan = [f for fields in SHEET_FIELDS.values() for f in fields]
    for field in (*PROVINCE_FIELDS, *PARAMETER_FIELDS, ACCEPT_UNUSUAL, *plan):
        assert field.expected and field.expected_zh, field.key


def test_a_plan_sheet_column_reads_blank_as_not_given() -> None:
    """In growth and projection a blank is the national default or the growth model,
    never the provinces sheet's default (0 would stop a unit's growth)."""
    for name in ("growth", "projection"):
        for field in SHEET_FIELDS[name]:
            if field.key not in ("code", "year"):
                assert (field.required, field.default) == (False, None), (name, field.key)


def test_parameters_defaults_are_the_schemas() -> None:
    """``Parameters`` repeats each optional key's default so code can build one directly;
    a workbook's blank cell takes the schema's. The two must never drift apart."""
    import dataclasses

    from model.schema import PARAMETER_BY_KEY
    from model.workbook.scenarios import Parameters

    fields = [f for f in dataclasses.fields(Parameters) if not PARAMETER_BY_KEY[f.name].required]
    assert fields
    for field in fields:
        assert field.default == PARAMETER_BY_KEY[field.name].default, field.name
