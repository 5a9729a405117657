"""The data dictionary is consistent, and docs/inputs.md's tables follow it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from model.schema import (
    ACCEPT_UNUSUAL,
    CONTRIBUTION_RATIO_MAX,
    PARAMETER_FIELDS,
    PROVINCE_FIELDS,
    Field,
    header_aliases,
    normalise_header,
)

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
    ("name", "fields"), [("provinces", PROVINCE_FIELDS), ("parameters", PARAMETER_FIELDS)]
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
    for fields in (PROVINCE_FIELDS, PARAMETER_FIELDS):
        labels = [normalise_header(f.label) for f in fields]
        assert len(set(labels)) == len(labels)


def test_fractions_are_bounded_by_one() -> None:
    """Every share lies in 0..1; the contribution ratio is held tighter, at 0.2, since a
    ratio above the pension contribution rate itself is a typo, not a policy."""
    for field in PROVINCE_FIELDS + PARAMETER_FIELDS:
        if field.fraction:
            expected = CONTRIBUTION_RATIO_MAX if field.key == "contribution_ratio" else 1
            assert field.maximum == expected
            assert field.minimum == 0


def test_every_field_says_what_it_expects_in_both_languages() -> None:
    for field in (*PROVINCE_FIELDS, *PARAMETER_FIELDS, ACCEPT_UNUSUAL):
        assert field.expected and field.expected_zh, field.key
