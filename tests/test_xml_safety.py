"""openpyxl parses a planner's workbook with defusedxml, so an XML entity bomb is refused.

openpyxl falls back to the standard library's parsers, silently, when ``defusedxml`` is
not importable or ``OPENPYXL_DEFUSEDXML`` is not ``True``; the project depends on
defusedxml for exactly this, and these tests hold it.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import defusedxml
import openpyxl
import pytest

from model.errors import InputError
from model.workbook.reader import read_workbook
from tests.workbooks import WORKED_EXAMPLE, WORKED_PARAMETERS, write_workbook

ENTITIES = (
    '<?xml version="1.0"?><!DOCTYPE worksheet ['
    '<!ENTITY a "aaaaaaaaaa">'
    '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
    "]>"
)


def with_entities(tmp_path: Path) -> Path:
    """The worked example with an entity declared, and used, in the provinces sheet."""
    plain = write_workbook(tmp_path / "plain.xlsx", WORKED_EXAMPLE, WORKED_PARAMETERS)
    path = tmp_path / "entities.xlsx"
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(path, "w") as target:
        for name in source.namelist():
            content = source.read(name)
            if name == "xl/worksheets/sheet1.xml":
                text = content.decode("utf-8").replace("<t>code</t>", "<t>&b;</t>", 1)
                assert "&b;" in text
                content = (ENTITIES + text).encode("utf-8")
            target.writestr(name, content)
    return path


def test_openpyxl_runs_with_defusedxml() -> None:
    import openpyxl.xml
    import openpyxl.xml.functions

    assert openpyxl.xml.DEFUSEDXML is True
    assert openpyxl.xml.functions.fromstring.__module__.startswith("defusedxml.")
    assert openpyxl.xml.functions.iterparse.__module__.startswith("defusedxml.")


def test_openpyxl_refuses_an_entity_declaration(tmp_path: Path) -> None:
    with pytest.raises(ValueError) as raised:
        openpyxl.load_workbook(with_entities(tmp_path), read_only=True)
    assert isinstance(raised.value.__cause__, defusedxml.EntitiesForbidden)


def test_the_reader_refuses_an_entity_declaration_as_bad_input(tmp_path: Path) -> None:
    with pytest.raises(InputError) as raised:
        read_workbook(with_entities(tmp_path))
    assert len(raised.value.problems) == 1
