"""The search box finds a unit: a model number typed with a serial."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from app.repairs.lookup import Unit, unit_in
from parts_catalog.importer import import_release
from tests.parts_catalog.releases import base_release


@pytest.fixture
def catalogue(session: Session, tmp_path: Path) -> None:
    import_release(session, path=base_release(tmp_path / "r"), label="r")


@pytest.mark.usefixtures("catalogue")
@pytest.mark.parametrize(
    ("typed", "unit"),
    [
        ("kdl-55w800c 4012345", Unit("KDL-55W800C", "4012345")),
        ("4012345 KDL55W800C", Unit("KDL-55W800C", "4012345")),
        ("KDL-55W800C serial 4012345", Unit("KDL-55W800C", "4012345")),
        ("kdl-55w800c 1-474-594-11", None),  # a part number with a model: the catalogue answers
        ("power board kdl-55w800c", None),  # words with a model
        ("kdl-55w800c", None),
        ("xyz-1 4012345", None),  # not a model in the catalogue
        ("kdl-55w800c 4012345 9", None),
        ("kdl-55w800c #251", None),  # a reference number on the exploded view
        ("kdl-55w800c ref 251", None),
    ],
)
def test_a_model_with_a_serial_names_a_unit(
    session: Session, typed: str, unit: Unit | None
) -> None:
    assert unit_in(session, typed) == unit
