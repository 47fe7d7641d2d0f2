"""Numbers a spreadsheet would run as a formula are refused wherever a release names one.

A part or model number is shown, exported and pasted into spreadsheets; one starting with
``= + - @`` is a formula there. Look-alike dashes are one dash: dropped in normal form, written
as ``-`` where the number is spelled.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from parts_catalog.errors import InvalidRelease
from parts_catalog.importer import import_release
from parts_catalog.models import PartVersion, Release
from parts_catalog.numbers import normalise
from parts_catalog.services import get_part, release_for
from tests.parts_catalog.releases import BASE_PARTS, base_release, model, part

LOOK_ALIKE_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"
FORMULA_STARTS = ["=1+2", "+1-2", "-1-2", "@SUM(A1)", '=HYPERLINK("http://x")', "\u22121-2"]


def problems_of(session: Session, folder: Path) -> list[str]:
    with pytest.raises(InvalidRelease) as caught:
        import_release(session, path=folder, label="bad")
    assert session.scalar(select(func.count()).select_from(Release)) == 0
    return [str(p) for p in caught.value.problems]


@pytest.mark.parametrize("number", [*FORMULA_STARTS, *(d + "12" for d in LOOK_ALIKE_DASHES)])
@pytest.mark.parametrize(
    ("file", "column", "line"),
    [
        ("parts", "part_number", 7),
        ("models", "model_number", 4),
        ("fitments", "model_number", 2),
        ("fitments", "part_number", 2),
        ("supersessions", "old_part_number", 2),
        ("supersessions", "new_part_number", 2),
    ],
)
def test_a_number_starting_a_formula_is_refused_in_every_column(
    session: Session, tmp_path: Path, number: str, file: str, column: str, line: int
) -> None:
    rows = {
        "parts": [*BASE_PARTS, part(number)],
        "models": [model("KDL-55W800C"), model("DSC-RX100M3"), model(number)],
        "fitments": [{"model_number": "KDL-55W800C", "part_number": "1-474-594-11"}],
        "supersessions": [{"old_part_number": "1-474-594-11", "new_part_number": "1-474-594-12"}],
    }
    if file in ("fitments", "supersessions"):
        rows[file] = [{**rows[file][0], column: number}]
    problems = problems_of(session, base_release(tmp_path / "bad", **rows))
    assert any(
        p.startswith(f"{file}.csv:{line} [{column}]: ") and "formula" in p for p in problems
    ), problems


@pytest.mark.parametrize("cell", ["\t=1+2", "\r=1+2", " \t-5"])
def test_a_leading_tab_or_return_does_not_hide_a_formula(
    session: Session, tmp_path: Path, cell: str
) -> None:
    folder = base_release(tmp_path / "bad", fitments=[], supersessions=[])
    with open(folder / "parts.csv", "a", encoding="utf-8", newline="") as handle:
        handle.write(f'"{cell}",SNEAKY,,,,,,\n')
    assert any(
        "parts.csv:7 [part_number]" in p and "formula" in p for p in problems_of(session, folder)
    )


@pytest.mark.parametrize("dash", LOOK_ALIKE_DASHES)
def test_look_alike_dashes_are_one_dash(session: Session, tmp_path: Path, dash: str) -> None:
    assert normalise(f"1{dash}474{dash}594{dash}11") == normalise("1-474-594-11")
    parts = [part(f"9{dash}100{dash}200", "LOOK-ALIKE"), *BASE_PARTS]
    import_release(session, path=base_release(tmp_path / "r", parts=parts), label="r")
    found = get_part(session, "9-100-200", release=release_for(session))
    assert found.number == "9-100-200"  # spelled with a plain dash where it is shown
    stored = session.scalars(select(PartVersion.number).where(PartVersion.number_norm == "9100200"))
    assert stored.one() == "9-100-200"


def test_a_dash_inside_a_number_is_still_fine(session: Session, tmp_path: Path) -> None:
    import_release(session, path=base_release(tmp_path / "r"), label="r")
    assert get_part(session, "1-474-594-11", release=release_for(session)).number == "1-474-594-11"


def test_a_short_quoted_row_is_reported_not_a_crash(session: Session, tmp_path: Path) -> None:
    folder = base_release(tmp_path / "bad", fitments=[], supersessions=[])
    with open(folder / "parts.csv", "a", encoding="utf-8", newline="") as handle:
        handle.write('"9-9",SHORT\n')
    assert "parts.csv:7: has 2 fields, the header has 8" in problems_of(session, folder)
